package profile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/report/sweep"
)

// MaxSweepPoints bounds the points of one Sweep.
const MaxSweepPoints = 64

// PointResult is one point of a sweep, or one probe of a peak search.
type PointResult struct {
	// Point is the load it ran at.
	Point loadgen.Point
	// Result is what the point's run returned, as Run returns it (nil
	// only when the point never started); Result.Path is its envelope.
	Result *Result
	// Err is why the point wrote no envelope; nil when it wrote one.
	Err error
	// Interrupted: the sweep was stopped (ctx) while this point ran.
	Interrupted bool
	// Probe numbers FindPeak's probes from 1, in the order they ran; 0 in
	// a Sweep.
	Probe int
	// Holds and Verdict are FindPeak's judgement of the point against its
	// SLO: Verdict is "holds", or says why not. Verdict is "" in a Sweep.
	Holds   bool
	Verdict string

	// loadSent: the point's load started.
	loadSent bool
}

// SweepResult is a sweep's points and its summary.
type SweepResult struct {
	// Points are the points that ran, in order, the interrupted one last.
	Points []PointResult
	// Summary is the sweep as report/sweep renders it (table, JSON, HTML);
	// SummaryJSONPath and SummaryHTMLPath are where it was written, in the
	// output directory ("" when a write failed; Warnings say why). Summary
	// is nil when the sweep stopped before any point sent load.
	Summary         *sweep.Summary
	SummaryJSONPath string
	SummaryHTMLPath string
	// Warnings are about the summary files.
	Warnings []string
}

// Envelopes returns the paths of the envelopes the sweep wrote, in order.
func (s *SweepResult) Envelopes() []string {
	var out []string
	for _, p := range s.Points {
		if p.Err == nil && p.Result != nil && p.Result.Path != "" {
			out = append(out, p.Result.Path)
		}
	}
	return out
}

// Sweep runs src at each of points in turn, each as Run runs one point:
// every point has its own signed envelope, verifiable on its own, named
// with the point — profile-c16-<hash12>.json and profile-rps2-<hash12>.json
// for a source envelope, c16-<hash12>.json for a suite run from nothing,
// as the reference's `bench run --sweep` names its points — and its own
// side files, whose names start with the same prefix (profile-c16-<time>-…
// .requests.jsonl, .timeline.csv). Points are all concurrencies (closed
// loop) or all rates (open loop), so that they lie on one curve; each must
// be valid, none repeated, at most MaxSweepPoints. catalog.Suite.Points
// gives a suite's own list.
//
// The points share what does not change from one to the next: the source
// is verified and the signer readied once, by the first point, and the
// telemetry is opened once for the whole sweep — the default samplers and
// those of WithSampler, which Run would close after one point — and read
// only while a point's load runs, from a fresh origin, into that point's
// own timeline. Everything else (the probe of the engine, the load) is per
// point.
//
// A point that fails after its load was sent (every warmup request failed,
// no GPU telemetry under WithRequireGPU) is recorded with its error and
// the sweep goes on; a failure before any load was sent (an unverified
// source, an unreachable engine, a signer that is not ready) would meet
// every point alike, so the sweep stops and returns it. When ctx is
// cancelled the sweep stops: every finished point's envelope is kept, the
// interrupted point keeps its partial side files and signs nothing, and
// the error (wrapping ErrInterrupted) names that point.
//
// In every case the summary — a table of every point's throughput,
// latencies, goodput, ok rate, GPU power and J/token, the same as JSON,
// and an HTML page of the curves with the knee marked (report/sweep) — is
// written to the output directory as <prefix>sweep-<time>-<random>.json
// and .html, and the SweepResult holds what ran. Sweep refuses WithPoint
// (the points are given), WithLoadGenerator and FindPeak's options.
func Sweep(ctx context.Context, src Source, points []loadgen.Point, opts ...Option) (*SweepResult, error) {
	c, err := newConfigFor(entrySweep, src, opts)
	if err != nil {
		return nil, err
	}
	if err := checkPoints(points); err != nil {
		return nil, fmt.Errorf("profile: %w: %w", ErrOptions, err)
	}
	sw := newSweeper(c, src, "sweep")
	defer sw.close()
	res := &SweepResult{}
	var stop error
	for i, p := range points {
		if ctx.Err() != nil {
			stop = sw.stoppedBefore(ctx, p, i, len(points), res.Points)
			break
		}
		pr, err := sw.runPoint(ctx, p, 0)
		res.Points = append(res.Points, pr)
		if err != nil {
			stop = sw.stoppedAt(err, pr, i, len(points), res.Points)
			break
		}
	}
	if anyLoad(res.Points) {
		sw.writeSummary(res, sw.summary(res.Points, "", ""))
	}
	return res, stop
}

// anyLoad reports whether some point sent load: a sweep stopped before any
// did (an unverified source, say) has nothing to summarize.
func anyLoad(points []PointResult) bool {
	return slices.ContainsFunc(points, func(p PointResult) bool { return p.loadSent })
}

// checkPoints validates the points of a sweep.
func checkPoints(points []loadgen.Point) error {
	if len(points) == 0 {
		return errors.New("Sweep needs at least one point")
	}
	if len(points) > MaxSweepPoints {
		return fmt.Errorf("Sweep takes at most %d points, got %d", MaxSweepPoints, len(points))
	}
	seen := map[loadgen.Point]bool{}
	var errs []error
	for i, p := range points {
		if err := p.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("point %d: %w", i+1, err))
			continue
		}
		if seen[p] {
			errs = append(errs, fmt.Errorf("point %d (%s) is given twice", i+1, p))
		}
		if p.Driver() != points[0].Driver() {
			errs = append(errs, fmt.Errorf("point %d (%s) and point 1 (%s) drive the load differently; a sweep is all concurrencies or all rates", i+1, p, points[0]))
		}
		seen[p] = true
	}
	return errors.Join(errs...)
}

// sweeper runs the points of one Sweep or the probes of one FindPeak.
type sweeper struct {
	c    *config
	src  Source
	kind string // "sweep" or "peak", for the summary's title and file names
	sh   *shared
}

func newSweeper(c *config, src Source, kind string) *sweeper {
	return &sweeper{c: c, src: src, kind: kind, sh: &shared{}}
}

func (sw *sweeper) close() { sw.sh.close() }

// runPoint runs one point through Run's stages. Its error is not nil when
// the sweep must stop: the point was interrupted, or failed before any
// load was sent (as every point would).
func (sw *sweeper) runPoint(ctx context.Context, p loadgen.Point, probe int) (PointResult, error) {
	cc := *sw.c
	cc.point = p
	r := newRun(&cc, sw.src, pointPrefix(sw.src, p))
	r.shared = sw.sh
	r.log.Info("sweep point", "point", p.String(), "probe", probe)
	err := r.stages(ctx)
	pr := PointResult{Point: p, Result: r.res, Err: err, Probe: probe, loadSent: r.loadSent}
	switch {
	case err == nil:
		return pr, nil
	case errors.Is(err, ErrInterrupted) || ctx.Err() != nil:
		pr.Interrupted = true
		return pr, err
	case !r.loadSent:
		return pr, err
	}
	return pr, nil
}

// stoppedAt is the error of a sweep stopped at point i (of n) by err:
// where it stopped, and which envelopes were kept.
func (sw *sweeper) stoppedAt(err error, pr PointResult, i, n int, done []PointResult) error {
	label := catalog.FilePrefix(pr.Point)
	if pr.Interrupted {
		// err says it already: "profile interrupted: no envelope was
		// written; partial … in …"; say it once.
		why := strings.TrimPrefix(err.Error(), ErrInterrupted.Error()+": ")
		return &stopError{msg: fmt.Sprintf("%v: the %s stopped during %s: %s; %s",
			ErrInterrupted, sw.noun(), sw.where(label, i, n), why, keptText(done)), errs: []error{ErrInterrupted, err}}
	}
	return fmt.Errorf("profile: the %s stopped at %s, before any load was sent (every point would fail alike); %s: %w",
		sw.noun(), sw.where(label, i, n), keptText(done), err)
}

// stopError is a sweep's stop: its own message, wrapping the sentinel and
// the point's error (and through it the cause, such as a signal).
type stopError struct {
	msg  string
	errs []error
}

func (e *stopError) Error() string   { return e.msg }
func (e *stopError) Unwrap() []error { return e.errs }

// stoppedBefore is the error of a sweep stopped (ctx) between two points.
func (sw *sweeper) stoppedBefore(ctx context.Context, next loadgen.Point, i, n int, done []PointResult) error {
	return fmt.Errorf("%w: the %s stopped before %s; %s: %w",
		ErrInterrupted, sw.noun(), sw.where(catalog.FilePrefix(next), i, n), keptText(done), context.Cause(ctx))
}

// noun names what the sweeper runs: "sweep" or "peak search".
func (sw *sweeper) noun() string {
	if sw.kind == "peak" {
		return "peak search"
	}
	return "sweep"
}

// where names the i-th (from 0) of n points: "point c16 (2 of 4)", or
// "probe c16 (2 of at most 10)" in a search, whose n is its budget.
func (sw *sweeper) where(label string, i, n int) string {
	if sw.kind == "peak" {
		return fmt.Sprintf("probe %s (%d of at most %d)", label, i+1, n)
	}
	return fmt.Sprintf("point %s (%d of %d)", label, i+1, n)
}

// keptText says which finished points' envelopes are kept.
func keptText(done []PointResult) string {
	var kept []string
	for _, p := range done {
		if p.Err == nil && p.Result != nil {
			kept = append(kept, catalog.FilePrefix(p.Point)+" "+p.Result.Path)
		}
	}
	switch len(kept) {
	case 0:
		return "no point had finished"
	case 1:
		return "the envelope of the finished point is kept (" + kept[0] + ")"
	}
	return fmt.Sprintf("the envelopes of the %d finished points are kept (%s)", len(kept), strings.Join(kept, ", "))
}

// summary builds the sweep's summary from its points.
func (sw *sweeper) summary(points []PointResult, slo, stop string) *sweep.Summary {
	src := sw.src.env
	what := sw.noun()
	if !sw.src.fresh {
		what = "profile " + what
	}
	s := &sweep.Summary{Title: "benchprof " + what + " of " + src.SuiteID, SuiteID: src.SuiteID, Model: src.Model.ID, Engine: src.Engine.Name,
		SLO: slo, Stop: stop}
	for _, pr := range points {
		sp := sweep.Point{Label: catalog.FilePrefix(pr.Point), Driver: string(pr.Point.Driver()), Load: pointLoad(pr.Point),
			Interrupted: pr.Interrupted, Probe: pr.Probe, Holds: pr.Holds, Verdict: pr.Verdict}
		if r := pr.Result; r != nil {
			if r.ServedModel != "" {
				s.Model = r.ServedModel
			}
			if r.Engine != nil {
				s.Engine = r.Engine.Kind
			}
			if pr.Err == nil {
				sp.Envelope, sp.Path = r.Envelope, r.Path
				sp.Files = map[string]string{"requests": r.TracePath, "timeline": r.TimelinePath}
				if r.HTMLPath != "" {
					sp.Files["html"] = r.HTMLPath
				}
			}
		}
		if pr.Err != nil {
			sp.Error = shortReason(pr)
		}
		s.Points = append(s.Points, sp)
	}
	return s
}

// shortReason says in a few words why a point wrote no envelope, for the
// summary's table (the error itself is in PointResult.Err).
func shortReason(pr PointResult) string {
	switch err := pr.Err; {
	case pr.Interrupted:
		return "nothing signed; its partial side files are kept"
	case errors.Is(err, ErrWarmupFailed):
		return "every warmup request failed"
	case errors.Is(err, ErrNoGPUTelemetry):
		return "no GPU telemetry (WithRequireGPU)"
	default:
		return firstLine(err.Error(), 160)
	}
}

// pointLoad is a point's concurrency or rate.
func pointLoad(p loadgen.Point) float64 {
	if p.Driver() == loadgen.DriverClosedLoop {
		return float64(p.Concurrency)
	}
	return p.RPS
}

// writeSummary writes the summary's JSON and HTML to the output
// directory, as <prefix>sweep-<time>-<random> (profile-sweep-…, sweep-…,
// profile-peak-…, peak-…). They are views, not signed data: a failure is a
// warning.
func (sw *sweeper) writeSummary(res *SweepResult, s *sweep.Summary) {
	res.Summary = s
	prefix := sw.kind
	if !sw.src.fresh {
		prefix = FilePrefix + "-" + sw.kind
	}
	stem, err := sideFileStem(prefix, sw.c.now())
	if err == nil {
		stem = filepath.Join(sw.c.outputDir, stem)
		var b bytes.Buffer
		if err = sweep.WriteJSON(&b, s); err == nil {
			if err = envelope.WriteFileAtomic(stem+".json", b.Bytes(), 0o644); err == nil {
				res.SummaryJSONPath = stem + ".json"
			}
		}
		b.Reset()
		if herr := sweep.WriteHTML(&b, s); herr == nil {
			if herr = envelope.WriteFileAtomic(stem+".html", b.Bytes(), 0o644); herr == nil {
				res.SummaryHTMLPath = stem + ".html"
			}
			err = errors.Join(err, herr)
		} else {
			err = errors.Join(err, herr)
		}
	}
	if err != nil {
		res.Warnings = append(res.Warnings, "sweep summary not written: "+err.Error())
	}
}
