package profile

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
)

// FindPeak's defaults and limits.
const (
	// DefaultPeakFactor is how much the bracketing multiplies the load
	// from one probe to the next.
	DefaultPeakFactor = 4.0
	// DefaultPeakPrecision: the search stops once the point past the
	// peak is within 10 % of it.
	DefaultPeakPrecision = 0.1
	// DefaultMaxProbes bounds the probes of one search.
	DefaultMaxProbes = 10
	// MaxPeakProbes bounds WithMaxProbes.
	MaxPeakProbes = 100
	// DefaultAttainment is the share of requests that must meet a
	// per-request SLO template for a point to hold it (PeakSLO.Template).
	DefaultAttainment = 0.99
	// DefaultPeakMinOKRate is the ok rate a point needs to hold any SLO.
	DefaultPeakMinOKRate = 0.99
	// MinPeakRPS is the lowest rate the search probes when it goes down.
	MinPeakRPS = 0.01
)

// PeakSLO is what FindPeak requires of a point for it to hold. A point
// holds when its run wrote an envelope, its ok rate is at least MinOKRate,
// every bound holds on its latency percentiles, and, with Template, enough
// of its requests met the per-request SLO template. At least one of Bounds
// and Template must be given.
type PeakSLO struct {
	// Bounds are upper bounds on the run's latency percentiles
	// (loadgen.ParseBounds: "ttft_p99=500ms,tpot_p99=50ms"); every one
	// must hold.
	Bounds []loadgen.Bound
	// Template requires the per-request SLO each run is judged by — the
	// source's SLO template (else its suite's) scaled for this host's
	// hardware class, e.g. llm.standard's ttft < 200 ms, tpot < 50 ms,
	// total < 3000 ms on an H100 — to be met by at least Attainment of the
	// point's requests (its compliance_rate; failed requests count as
	// missing it).
	Template bool
	// Attainment is the share of requests that must meet the template,
	// in (0, 1]. Zero means DefaultAttainment (0.99).
	Attainment float64
	// MinOKRate is the ok rate a point needs, in [0, 1]. Zero means
	// DefaultPeakMinOKRate (0.99).
	MinOKRate float64
}

func (s PeakSLO) attainment() float64 { return orDefault(s.Attainment, DefaultAttainment) }
func (s PeakSLO) minOKRate() float64  { return orDefault(s.MinOKRate, DefaultPeakMinOKRate) }

func orDefault(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

// String renders the SLO: "ttft_p99=500ms, ok_rate>=0.99", or with the
// template "SLO template met by >=99% of requests, ok_rate>=0.99".
func (s PeakSLO) String() string {
	var parts []string
	for _, b := range s.Bounds {
		parts = append(parts, b.String())
	}
	if s.Template {
		parts = append(parts, "SLO template met by >="+strconv.FormatFloat(100*s.attainment(), 'g', -1, 64)+"% of requests")
	}
	parts = append(parts, "ok_rate>="+strconv.FormatFloat(s.minOKRate(), 'g', -1, 64))
	return strings.Join(parts, ", ")
}

func (s PeakSLO) validate() error {
	var errs []error
	if len(s.Bounds) == 0 && !s.Template {
		errs = append(errs, errors.New("the peak SLO is empty: give latency bounds (PeakSLO.Bounds) or the SLO template (PeakSLO.Template)"))
	}
	seen := map[string]bool{}
	for _, b := range s.Bounds {
		if err := b.Validate(); err != nil {
			errs = append(errs, err)
		} else if seen[b.Key()] {
			errs = append(errs, fmt.Errorf("the peak SLO bounds %s twice", b.Key()))
		}
		seen[b.Key()] = true
	}
	if !(s.Attainment >= 0 && s.Attainment <= 1) {
		errs = append(errs, fmt.Errorf("PeakSLO.Attainment %g must be in (0, 1] (0: the default)", s.Attainment))
	}
	if !(s.MinOKRate >= 0 && s.MinOKRate <= 1) {
		errs = append(errs, fmt.Errorf("PeakSLO.MinOKRate %g must be in [0, 1] (0: the default)", s.MinOKRate))
	}
	return errors.Join(errs...)
}

// judge says whether a probe holds the SLO, and if not why.
func (s PeakSLO) judge(pr *PointResult) (bool, string) {
	if pr.Err != nil || pr.Result == nil || pr.Result.Envelope == nil {
		why := "the run failed"
		if errors.Is(pr.Err, ErrWarmupFailed) {
			why = "every warmup request failed"
		} else if pr.Err != nil {
			why = "the run failed: " + firstLine(pr.Err.Error(), 160)
		}
		return false, why
	}
	sum := pr.Result.Summary
	var fails []string
	if ok := sum.OKRate; ok < s.minOKRate() {
		fails = append(fails, fmt.Sprintf("ok_rate %.4g < %g", ok, s.minOKRate()))
	}
	for _, b := range s.Bounds {
		ms, ok := b.Measure(sum)
		switch {
		case !ok:
			fails = append(fails, b.Key()+" not measured")
		case !b.Holds(sum):
			fails = append(fails, fmt.Sprintf("%s %.4g ms > %s", b.Key(), ms, strings.TrimPrefix(b.String(), b.Key()+"=")))
		}
	}
	if s.Template {
		if c := sum.ComplianceRate; c < s.attainment() {
			fails = append(fails, fmt.Sprintf("%.4g%% of requests met %s (%s), < %g%%", 100*c, sum.SLO.Template, sum.SLO.Resolved(), 100*s.attainment()))
		}
	}
	if len(fails) == 0 {
		return true, "holds"
	}
	return false, strings.Join(fails, "; ")
}

func firstLine(s string, n int) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// PeakResult is a finished (or stopped) peak search.
type PeakResult struct {
	// Probes are the probes that ran, as a sweep: each a point with its
	// own envelope, its verdict in PointResult.Holds and Verdict, and
	// the summary (table, JSON, HTML) with the peak marked.
	Probes *SweepResult
	// SLO is what a probe had to meet.
	SLO PeakSLO
	// Peak is the highest probe that held the SLO, nil when none did;
	// PastPeak is the lowest probe above it that did not, nil when every
	// probe held. Both point into Probes.Points.
	Peak     *PointResult
	PastPeak *PointResult
	// Converged: the search stopped because the peak and the point past
	// it are within the precision (WithPeakPrecision).
	Converged bool
	// Stop says why the search stopped.
	Stop string
}

// JoulesPerToken returns the peak's joules per output token, when there is
// a peak and it was measured.
func (r *PeakResult) JoulesPerToken() (float64, bool) {
	if r.Peak == nil || r.Peak.Result == nil || r.Peak.Result.Envelope == nil {
		return 0, false
	}
	return r.Peak.Result.Envelope.Metric("joules_per_token")
}

// FindPeak finds the highest load at which src's benchmark holds slo: the
// highest concurrency (closed loop) or rate (open loop) whose run meets
// it, in a bounded number of short probes. Each probe is a point of a
// Sweep — its own signed envelope, named with the point, and side files;
// the shared verification, signer and telemetry — so every probe is kept
// and recorded in the summary, with its verdict. Keep probes short with
// WithDuration (a few seconds against a real engine) and WithGrace, but
// long enough that the lowest load sends more than the suite's warmup
// requests: a probe with no measured request does not hold.
//
// The search, on the load x (a concurrency is always a whole number):
//
//  1. The first probe is at the start (WithPeakStart; by default the
//     point Run would run).
//  2. Bracketing: while every probe has held, the next is the last times
//     the factor (WithPeakFactor, 4), at most the limit (WithPeakLimit);
//     while none has, the last divided by the factor, at least 1 (or
//     MinPeakRPS). This ends with a bracket: the highest load that held
//     (lo) and the lowest above it that did not (hi).
//  3. Bisection: the next probe is the geometric middle √(lo·hi) (for a
//     concurrency, rounded and kept strictly between lo and hi); it
//     replaces lo if it holds, hi if not.
//
// Stopping rule: the search stops as soon as one of these holds, checked
// after every probe in this order: the bracket is narrow enough, hi at most
// (1 + precision)·lo (WithPeakPrecision, 10 %) or, for a concurrency,
// hi = lo + 1 (converged); every probe held up to the limit (the peak is
// at or past it); no probe held down to the floor (there is no peak); the
// probes are spent (WithMaxProbes, 10); or a probe could not run (the
// context was cancelled, or a failure before any load was sent: the search
// stops and returns it). The search assumes that holding the SLO is
// monotone in the load; it never probes one load twice.
//
// A probe holds when it wrote an envelope and meets slo (see PeakSLO); a
// probe whose run failed after its load started (every warmup request
// failed) does not hold. The peak is lo, the point past it hi; with
// converged bisection the true peak lies in [lo, hi), so lo is within
// the precision of it. PeakResult.JoulesPerToken is the energy per token
// at the peak. FindPeak refuses WithPoint (use WithPeakStart) and
// WithLoadGenerator.
func FindPeak(ctx context.Context, src Source, slo PeakSLO, opts ...Option) (*PeakResult, error) {
	c, err := newConfigFor(entryPeak, src, opts)
	if err != nil {
		return nil, err
	}
	if err := slo.validate(); err != nil {
		return nil, fmt.Errorf("profile: %w: %w", ErrOptions, err)
	}
	start := c.peakStart
	if start.IsZero() {
		start = defaultStart(src, c.sourcePath)
	}
	limit := c.peakLimit
	if limit.IsZero() {
		limit = loadgen.Point{Concurrency: loadgen.MaxConcurrency}
		if start.Driver() == loadgen.DriverOpenLoop {
			limit = loadgen.Point{RPS: loadgen.MaxRPS}
		}
	}
	if start.Driver() != limit.Driver() {
		return nil, fmt.Errorf("profile: %w: the search's start (%s) and its limit (%s, WithPeakLimit) drive the load differently; give both of one kind",
			ErrOptions, start, limit)
	}
	if pointLoad(start) > pointLoad(limit) {
		return nil, fmt.Errorf("profile: %w: the search's start (%s) is above its limit (%s, WithPeakLimit)", ErrOptions, start, limit)
	}
	s := &search{c: c, slo: slo, sw: newSweeper(c, src, "peak"), closed: start.Driver() == loadgen.DriverClosedLoop,
		limit: pointLoad(limit), res: &PeakResult{SLO: slo, Probes: &SweepResult{}}}
	defer s.sw.close()
	s.floor = MinPeakRPS
	if s.closed {
		s.floor = 1
	}
	s.floor = math.Min(s.floor, pointLoad(start))
	runErr := s.run(ctx, pointLoad(start))
	s.finish()
	return s.res, runErr
}

// defaultStart is the point Run would run src at: the source's (or a
// fresh suite's first). A source whose point cannot be resolved starts at
// its suite's default, or concurrency 1, and the first probe reports why.
func defaultStart(src Source, sourcePath string) loadgen.Point {
	if src.env == nil {
		return loadgen.Point{Concurrency: 1}
	}
	suite, err := catalog.LookupSuite(src.env.SuiteID)
	if err != nil {
		return loadgen.Point{Concurrency: 1}
	}
	r, err := catalog.ResolvePoint(suite, src.env, sourcePath, loadgen.Point{})
	if err != nil || r.Point.Validate() != nil {
		return suite.DefaultPoint()
	}
	return r.Point
}

// validatePeak checks FindPeak's options.
func (c *config) validatePeak() error {
	var errs []error
	for _, p := range []struct {
		name string
		p    loadgen.Point
	}{{"WithPeakStart", c.peakStart}, {"WithPeakLimit", c.peakLimit}} {
		if c.uses(p.name) {
			if err := p.p.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
			}
		}
	}
	if !(c.peakFactor > 1 && c.peakFactor <= 100) {
		errs = append(errs, fmt.Errorf("WithPeakFactor(%g): the factor must be above 1 and at most 100", c.peakFactor))
	}
	if !(c.peakPrecision > 0 && c.peakPrecision <= 1) {
		errs = append(errs, fmt.Errorf("WithPeakPrecision(%g): the precision must be above 0 and at most 1", c.peakPrecision))
	}
	if c.maxProbes < 1 || c.maxProbes > MaxPeakProbes {
		errs = append(errs, fmt.Errorf("WithMaxProbes(%d): give 1 to %d probes", c.maxProbes, MaxPeakProbes))
	}
	return errors.Join(errs...)
}

// search is one FindPeak.
type search struct {
	c      *config
	slo    PeakSLO
	sw     *sweeper
	closed bool
	floor  float64
	limit  float64
	res    *PeakResult
	// lo and hi index the bracket's probes in res.Probes.Points (-1: none).
	lo, hi int
}

func (s *search) point(x float64) loadgen.Point {
	if s.closed {
		return loadgen.Point{Concurrency: int(x)}
	}
	return loadgen.Point{RPS: x}
}

func (s *search) load(i int) float64 { return pointLoad(s.res.Probes.Points[i].Point) }

func (s *search) label(i int) string { return catalog.FilePrefix(s.res.Probes.Points[i].Point) }

// run probes from start until the stopping rule holds.
func (s *search) run(ctx context.Context, start float64) error {
	s.lo, s.hi = -1, -1
	pts := &s.res.Probes.Points
	x := start
	for n := 1; ; n++ {
		if ctx.Err() != nil {
			s.res.Stop = "stopped before probe " + catalog.FilePrefix(s.point(x)) + ": " + context.Cause(ctx).Error()
			return s.sw.stoppedBefore(ctx, s.point(x), n-1, s.c.maxProbes, *pts)
		}
		pr, err := s.sw.runPoint(ctx, s.point(x), n)
		pr.Holds, pr.Verdict = s.slo.judge(&pr)
		*pts = append(*pts, pr)
		if err != nil {
			pr.Verdict = "not judged: " + pr.Verdict
			if pr.Interrupted {
				pr.Verdict = "not judged: interrupted"
			}
			(*pts)[len(*pts)-1] = pr
			s.res.Stop = "probe " + catalog.FilePrefix(pr.Point) + " could not run"
			return s.sw.stoppedAt(err, pr, n-1, s.c.maxProbes, *pts)
		}
		if pr.Holds {
			s.lo = len(*pts) - 1
		} else {
			s.hi = len(*pts) - 1
		}
		next, stop := s.next(x)
		if stop != "" {
			s.res.Stop = stop
			return nil
		}
		if n == s.c.maxProbes {
			s.res.Stop = s.budgetSpent()
			return nil
		}
		x = next
	}
}

// next returns the next load to probe after x, or why the search stops.
func (s *search) next(x float64) (float64, string) {
	switch {
	case s.hi < 0: // every probe held: go up
		if x >= s.limit {
			return 0, fmt.Sprintf("every probe held, up to the limit %s: the peak is there or beyond (WithPeakLimit)", s.label(s.lo))
		}
		next := math.Min(x*s.c.peakFactor, s.limit)
		if s.closed {
			next = math.Max(math.Round(next), x+1)
		}
		return next, ""
	case s.lo < 0: // no probe held: go down
		if x <= s.floor {
			return 0, fmt.Sprintf("no probe held, down to %s: there is no peak at or above it", s.label(s.hi))
		}
		next := math.Max(x/s.c.peakFactor, s.floor)
		if s.closed {
			next = math.Max(math.Min(math.Floor(next), x-1), 1)
		}
		return next, ""
	}
	lo, hi := s.load(s.lo), s.load(s.hi)
	if hi <= lo*(1+s.c.peakPrecision) || (s.closed && hi-lo <= 1) {
		s.res.Converged = true
		return 0, fmt.Sprintf("converged: %s holds and %s does not, within %g%% (WithPeakPrecision)",
			s.label(s.lo), s.label(s.hi), 100*s.c.peakPrecision)
	}
	mid := math.Sqrt(lo * hi)
	if s.closed {
		mid = math.Min(math.Max(math.Round(mid), lo+1), hi-1)
	}
	return mid, ""
}

// budgetSpent says where the search stood when its probes ran out.
func (s *search) budgetSpent() string {
	spent := fmt.Sprintf("the probes are spent (WithMaxProbes: %d)", s.c.maxProbes)
	switch {
	case s.lo >= 0 && s.hi >= 0:
		return spent + fmt.Sprintf(": the peak lies between %s (holds) and %s (does not)", s.label(s.lo), s.label(s.hi))
	case s.lo >= 0:
		return spent + ": every probe held, up to " + s.label(s.lo)
	}
	return spent + ": no probe held, down to " + s.label(s.hi)
}

// finish marks the peak and the point past it and writes the summary
// (unless no probe sent load).
func (s *search) finish() {
	pts := s.res.Probes.Points
	if !anyLoad(pts) {
		return
	}
	// lo and hi were set while probing; a probe that could not run is
	// neither.
	if s.lo >= 0 {
		s.res.Peak = &pts[s.lo]
	}
	if s.hi >= 0 && (s.lo < 0 || s.load(s.hi) > s.load(s.lo)) {
		s.res.PastPeak = &pts[s.hi]
	}
	sum := s.sw.summary(pts, s.sloText(), s.res.Stop)
	if s.res.Peak != nil {
		sum.Points[s.lo].Role = "peak"
	}
	if s.res.PastPeak != nil {
		sum.Points[s.hi].Role = "past peak"
	}
	s.sw.writeSummary(s.res.Probes, sum)
}

// sloText is the SLO as the summary shows it, with the template's
// predicates as the probes resolved them.
func (s *search) sloText() string {
	text := s.slo.String()
	if !s.slo.Template {
		return text
	}
	for _, p := range s.res.Probes.Points {
		if r := p.Result; r != nil && r.Envelope != nil {
			return text + " (template " + r.Summary.SLO.Template + ": " + r.Summary.SLO.Resolved() + ")"
		}
	}
	return text
}
