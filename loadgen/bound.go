package loadgen

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ErrInvalidBound is wrapped by the errors of [ParseBounds] and
// [Bound.Validate].
var ErrInvalidBound = errors.New("invalid latency bound")

// Bound is an upper bound on one latency percentile of a run, such as
// "TTFT p99 at most 500 ms": a service-level objective on the run as a
// whole, where an [SLO]'s predicates judge each request. A run holds it
// when the percentile of its ok requests' values is at most Max.
type Bound struct {
	// Metric is the per-request value: "ttft", "tpot", "itl" (per token,
	// see Summary.ITL) or "total".
	Metric string
	// Percentile is one of the percentiles a Summary keeps: 50, 75, 90, 95,
	// 99 or 99.9.
	Percentile float64
	// Max is the largest value that holds.
	Max time.Duration
}

// boundMetrics are the metrics a Bound may name, with their quantiles.
var boundMetrics = map[string]func(Summary) Quantiles{
	"ttft":  func(s Summary) Quantiles { return s.TTFT },
	"tpot":  func(s Summary) Quantiles { return s.TPOT },
	"itl":   func(s Summary) Quantiles { return s.ITL },
	"total": func(s Summary) Quantiles { return s.Total },
}

// boundPercentiles maps a percentile's name in a key to its value.
var boundPercentiles = []struct {
	name string
	p    float64
	of   func(Quantiles) float64
}{
	{"p50", p50, func(q Quantiles) float64 { return q.P50 }},
	{"p75", p75, func(q Quantiles) float64 { return q.P75 }},
	{"p90", p90, func(q Quantiles) float64 { return q.P90 }},
	{"p95", p95, func(q Quantiles) float64 { return q.P95 }},
	{"p99", p99, func(q Quantiles) float64 { return q.P99 }},
	{"p999", p999, func(q Quantiles) float64 { return q.P999 }},
}

// Key names the bounded value as the envelope metrics do, without the
// unit: "ttft_p99", "itl_p50", "total_p999" (for 99.9).
func (b Bound) Key() string {
	for _, p := range boundPercentiles {
		if p.p == b.Percentile {
			return b.Metric + "_" + p.name
		}
	}
	return b.Metric + "_p" + strconv.FormatFloat(b.Percentile, 'g', -1, 64)
}

// String renders the bound as ParseBounds reads it: "ttft_p99=500ms".
func (b Bound) String() string { return b.Key() + "=" + formatMs(b.Max) }

// Validate reports a bound that names no known metric or percentile, or
// whose Max is not positive, as an error wrapping [ErrInvalidBound].
func (b Bound) Validate() error {
	if _, ok := boundMetrics[b.Metric]; !ok {
		return fmt.Errorf("%w: metric %q: want ttft, tpot, itl or total", ErrInvalidBound, b.Metric)
	}
	if b.percentile() == nil {
		return fmt.Errorf("%w: percentile %g: want 50, 75, 90, 95, 99 or 99.9", ErrInvalidBound, b.Percentile)
	}
	if b.Max <= 0 {
		return fmt.Errorf("%w: %s: the bound must be above 0", ErrInvalidBound, b.Key())
	}
	return nil
}

func (b Bound) percentile() func(Quantiles) float64 {
	for _, p := range boundPercentiles {
		if p.p == b.Percentile {
			return p.of
		}
	}
	return nil
}

// Measure returns the bounded percentile of s in milliseconds; ok is false
// when s has no value for it (no ok request, or none with an inter-token
// gap) or the bound is not valid.
func (b Bound) Measure(s Summary) (ms float64, ok bool) {
	q, known := boundMetrics[b.Metric]
	of := b.percentile()
	if !known || of == nil {
		return 0, false
	}
	qs := q(s)
	if qs.N == 0 {
		return 0, false
	}
	return of(qs), true
}

// Holds reports whether s holds the bound: its percentile is measured and
// at most Max. A run without a value for it does not hold it.
func (b Bound) Holds(s Summary) bool {
	ms, ok := b.Measure(s)
	return ok && ms <= msOf(b.Max)
}

// ParseBounds reads a comma-separated list of bounds, each
// "<metric>_p<percentile>=<value>": "ttft_p99=500ms,tpot_p99=50ms". The
// metric is ttft, tpot, itl or total; the percentile p50, p75, p90, p95,
// p99 or p999 (99.9); the value a duration ("500ms", "0.5s") or a plain
// number of milliseconds ("500"), above 0. A metric and percentile given
// twice is an error, as is an empty list. Errors wrap [ErrInvalidBound].
func ParseBounds(spec string) ([]Bound, error) {
	var out []Bound
	seen := map[string]bool{}
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		key, val, found := strings.Cut(item, "=")
		if !found {
			return nil, fmt.Errorf("%w: %q: want <metric>_p<percentile>=<value>, e.g. ttft_p99=500ms", ErrInvalidBound, item)
		}
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		metric, pname, _ := strings.Cut(key, "_")
		b := Bound{Metric: metric, Percentile: math.NaN()}
		for _, p := range boundPercentiles {
			if p.name == pname {
				b.Percentile = p.p
			}
		}
		if math.IsNaN(b.Percentile) {
			return nil, fmt.Errorf("%w: %q: the percentile must be p50, p75, p90, p95, p99 or p999", ErrInvalidBound, key)
		}
		d, err := parseMs(val)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidBound, key, err)
		}
		b.Max = d
		if err := b.Validate(); err != nil {
			return nil, err
		}
		if seen[b.Key()] {
			return nil, fmt.Errorf("%w: %s is given twice", ErrInvalidBound, b.Key())
		}
		seen[b.Key()] = true
		out = append(out, b)
	}
	return out, nil
}

// parseMs reads a duration ("500ms") or a number of milliseconds ("500").
func parseMs(s string) (time.Duration, error) {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		if !(v > 0) || v > float64(MaxDuration/time.Millisecond) {
			return 0, fmt.Errorf("%q ms: want a number of milliseconds above 0", s)
		}
		return time.Duration(v * float64(time.Millisecond)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a duration (500ms) nor a number of milliseconds", s)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q: want a duration above 0", s)
	}
	return d, nil
}

// formatMs renders d in milliseconds: "500ms", "0.25ms".
func formatMs(d time.Duration) string {
	return strconv.FormatFloat(msOf(d), 'f', -1, 64) + "ms"
}
