package loadgen

import (
	"math"
	"slices"
)

// ITL accuracy. Inter-token latencies are kept exactly, as (value, weight)
// pairs with weightedQuantiles' bit-exact percentiles, until a run has
// ExactITLGaps chunk gaps; beyond that they are folded into a logarithmic
// histogram whose percentiles are within ITLRelativeError of the exact
// ones, so an hour of streaming costs a few kilobytes instead of one entry
// per chunk. TTFT, TPOT and end-to-end latency are always exact (one value
// per request, as the reference computes them).
const (
	// ExactITLGaps is how many chunk gaps a run keeps exactly.
	ExactITLGaps = 1 << 16
	// ITLRelativeError bounds |approx − exact| / exact of every ITL
	// percentile once the sketch is in use.
	ITLRelativeError = 0.005
)

// itlSketch is a logarithmic histogram of positive values: bucket i holds
// the values in (γ^(i−1), γ^i], γ = (1+α)/(1−α), and answers with
// 2γ^i/(γ+1), which is within α of every value in the bucket. Zeros (two
// chunks read at the same instant) are counted apart; negative and
// non-finite values are dropped, as the exact path drops non-finite ones.
type itlSketch struct {
	gamma, lnGamma float64
	zeros          int64
	offset         int     // bucket index of counts[0]
	counts         []int64 // by bucket index − offset
	min, max       float64
	n              int64
	overflow       bool
}

func newITLSketch() *itlSketch {
	g := (1 + ITLRelativeError) / (1 - ITLRelativeError)
	return &itlSketch{gamma: g, lnGamma: math.Log(g), min: math.Inf(1), max: math.Inf(-1)}
}

// add counts v weight times.
func (s *itlSketch) add(v float64, weight int64) {
	if weight < 1 || !(v >= 0) || math.IsInf(v, 0) {
		return
	}
	if weight > math.MaxInt64-s.n {
		s.overflow = true
		return
	}
	s.n += weight
	s.min, s.max = min(s.min, v), max(s.max, v)
	if v == 0 {
		s.zeros += weight
		return
	}
	i := int(math.Ceil(math.Log(v) / s.lnGamma))
	switch {
	case len(s.counts) == 0:
		s.offset, s.counts = i, []int64{0}
	case i < s.offset:
		s.counts = append(make([]int64, s.offset-i), s.counts...)
		s.offset = i
	case i >= s.offset+len(s.counts):
		s.counts = append(s.counts, make([]int64, i-s.offset-len(s.counts)+1)...)
	}
	s.counts[i-s.offset] += weight
}

// value returns the representative of the element of rank r (0-based).
func (s *itlSketch) value(r int64) float64 {
	if r < s.zeros {
		return 0
	}
	r -= s.zeros
	for j, c := range s.counts {
		if r < c {
			v := 2 * math.Pow(s.gamma, float64(s.offset+j)) / (s.gamma + 1)
			return min(max(v, s.min), s.max) // the extremes are known exactly
		}
		r -= c
	}
	return s.max
}

// quantiles interpolates between the representatives of ranks floor(h)
// and floor(h)+1, as Percentile does between exact values.
func (s *itlSketch) quantiles() (Quantiles, bool) {
	if s.overflow || uint64(s.n) > math.MaxInt {
		return Quantiles{}, false
	}
	if s.n == 0 {
		return Quantiles{}, true
	}
	pct := func(p float64) float64 {
		h := float64(s.n-1) * p / 100
		lo := math.Floor(h)
		a := s.value(int64(lo))
		if lo >= float64(s.n-1) {
			return a
		}
		return a + (s.value(int64(lo)+1)-a)*(h-lo)
	}
	return Quantiles{
		N: int(s.n), Min: s.min, Max: s.max,
		P50: pct(p50), P75: pct(p75), P90: pct(p90), P95: pct(p95), P99: pct(p99), P999: pct(p999),
	}, true
}

// itlAccumulator keeps ITL gaps exactly up to ExactITLGaps, then in a
// sketch.
type itlAccumulator struct {
	exact  []weightedValue
	sketch *itlSketch
}

func (a *itlAccumulator) add(v float64, weight int64) {
	if a.sketch != nil {
		a.sketch.add(v, weight)
		return
	}
	a.exact = append(a.exact, weightedValue{V: v, Weight: weight})
	if len(a.exact) > ExactITLGaps {
		a.sketch = newITLSketch()
		for _, x := range a.exact {
			a.sketch.add(x.V, x.Weight)
		}
		a.exact = nil
	}
}

// quantiles returns the exact quantiles, or the sketch's; approx reports
// which.
func (a *itlAccumulator) quantiles() (q Quantiles, ok, approx bool) {
	if a.sketch != nil {
		q, ok = a.sketch.quantiles()
		return q, ok, true
	}
	q, ok = weightedQuantiles(slices.Clone(a.exact))
	return q, ok, false
}
