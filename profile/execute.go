package profile

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/report/timeline"
	"github.com/benchprof/benchprof/sampler"
)

// execute opens the telemetry and the side files and runs the load between
// the samplers' start and stop. The execution it returns (also on error,
// once the telemetry is open) must be closed.
func (r *run) execute(ctx context.Context, p *plan) (*execution, error) {
	x := &execution{}
	switch {
	case r.shared == nil:
		x.tel, x.ownTel = r.c.openTelemetry(ctx), true
	case r.shared.tel == nil:
		r.shared.tel = r.c.openTelemetry(ctx) // open once; the sweep closes it
		fallthrough
	default:
		x.tel = r.shared.tel
	}
	x.origin, x.point = time.Now(), r.res.Point.Point
	if err := x.tel.uniqueNames(); err != nil {
		return x, fmt.Errorf("profile: %w: %w", ErrOptions, err)
	}
	for _, w := range x.tel.warnings {
		r.warn(w)
	}
	if reason, missing := x.tel.missing[sampler.KindGPU]; missing && r.c.requireGPU {
		return x, fmt.Errorf("%w (profile.WithRequireGPU): %s; no load was sent", ErrNoGPUTelemetry, reason)
	}
	for k, v := range x.tel.unavailable {
		r.res.Unavailable[k] = v
	}
	x.gpus = r.c.selectGPUs(x.tel)
	r.res.GPUs = *x.gpus
	if x.gpus.How == GPUsAll && len(x.gpus.GPUs) > 0 {
		r.warn("the energy figures count every sampled GPU, not only the engine's: " + x.gpus.Reason)
	}
	files, err := r.openSideFiles()
	if err != nil {
		return x, err
	}
	// The fingerprint and the SLO come first: the results are summarized
	// as they arrive, and none is kept.
	fp, gpuModels, fpWarn := r.c.fingerprint(ctx, x.tel)
	x.fp = fp
	if len(fpWarn) > 0 { // one line: the same few fields are unreadable in every container
		r.warn("hardware fingerprint: " + strings.Join(fpWarn, "; "))
	}
	slo, err := resolveSLO(r.src, p.suite, gpuModels, fp.CPU.Model)
	if err != nil {
		r.warn(err.Error())
	}
	x.summarizer = loadgen.NewSummarizer(slo)
	if r.c.html {
		if x.page, err = timeline.NewBuilder(timeline.Options{}); err != nil {
			return x, fmt.Errorf("profile: timeline page: %w", err)
		}
	}
	var runErr error
	r.loadSent = true
	x.info, x.stats, runErr = r.c.orchestrate(ctx, p.gen, x, files)
	r.res.Run, r.res.Samplers = x.info, x.stats
	x.gpus.refreshSensors(x.tel)
	r.res.GPUs = *x.gpus
	flushErr := files.close()
	switch {
	case errors.Is(runErr, loadgen.ErrWarmupFailed) && ctx.Err() == nil:
		return x, fmt.Errorf("%w, so the run stopped before its measured window and no envelope was written (per-request trace in %s): %w",
			ErrWarmupFailed, r.res.TracePath, runErr)
	case runErr != nil || ctx.Err() != nil:
		return x, fmt.Errorf("%w: no envelope was written; partial per-request trace in %s, telemetry timeline in %s: %w",
			ErrInterrupted, r.res.TracePath, r.res.TimelinePath, whyStopped(runErr, context.Cause(ctx)))
	case flushErr != nil:
		return x, fmt.Errorf("profile: writing side files: %w", flushErr)
	}
	return x, nil
}

// sideFiles are the per-request trace and the telemetry timeline, open for
// writing.
type sideFiles struct {
	traceFile, timelineFile *os.File
	trace                   *loadgen.JSONLWriter
	timeline                *sampler.TimelineWriter
}

// openSideFiles creates the trace and the timeline in the output directory,
// never over an existing file, and names them in the Result.
func (r *run) openSideFiles() (*sideFiles, error) {
	if err := os.MkdirAll(r.c.outputDir, 0o755); err != nil {
		return nil, fmt.Errorf("profile: output directory: %w", err)
	}
	stem, err := sideFileStem(sideStem(r.prefix), r.c.now())
	if err != nil {
		return nil, err
	}
	r.res.TracePath = filepath.Join(r.c.outputDir, stem+".requests.jsonl")
	r.res.TimelinePath = filepath.Join(r.c.outputDir, stem+".timeline.csv")
	f := &sideFiles{}
	if f.traceFile, err = createNew(r.res.TracePath); err != nil {
		return nil, err
	}
	if f.timelineFile, err = createNew(r.res.TimelinePath); err != nil {
		f.traceFile.Close()
		return nil, err
	}
	f.trace = loadgen.NewJSONLWriter(f.traceFile)
	f.timeline = sampler.NewTimelineWriter(f.timelineFile)
	return f, nil
}

// close flushes, syncs and closes both files, returning the first errors.
func (f *sideFiles) close() error {
	return errors.Join(f.trace.Flush(), f.timeline.Flush(), f.traceFile.Sync(), f.timelineFile.Sync(),
		f.traceFile.Close(), f.timelineFile.Close())
}

// sideFileStem names files before the envelope's hash is known:
// <prefix>-<UTC time>-<random> (profile-…, profile-c16-…, run-…, c16-…).
func sideFileStem(prefix string, now time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return prefix + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

func createNew(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("profile: create %s: %w", path, err)
	}
	return f, nil
}

// whyStopped is the reason a run stopped: the load's error, which usually
// wraps the cancellation cause already, else the cause, or both.
func whyStopped(runErr, cause error) error {
	switch {
	case runErr == nil:
		return cause
	case cause == nil || errors.Is(runErr, cause):
		return runErr
	}
	return errors.Join(runErr, cause)
}

// orchestrate runs the samplers around the load: they start before it and
// stop after it, and every goroutine has ended on return. Each result goes
// to the trace and to z as it arrives; none is kept.
func (c *config) orchestrate(ctx context.Context, gen loadgen.Generator, x *execution, files *sideFiles) (*loadgen.RunInfo, []sampler.Stats, error) {
	sampCtx, stopSamplers := context.WithCancel(ctx)
	defer stopSamplers()
	power := newGPUPower(len(x.tel.samplers))
	first := newFirstReadings(len(x.tel.samplers))
	g, stats := startSamplers(sampCtx, x, files.timeline, power, first)
	if err := c.idle(ctx, x, first); err != nil {
		stopSamplers()
		_ = g.Wait()
		return nil, stats, err
	}
	var counts progressCounts
	stopProgress := c.startProgress(x.point, &counts, power)

	var mu sync.Mutex // a Generator calls its sink from one goroutine at a time; a user's might not
	info, runErr := gen.Run(ctx, func(r loadgen.Result) {
		_ = files.trace.Write(&r) // the first error is kept and reported at Flush
		counts.add(&r)
		if x.page != nil {
			x.page.AddResult(r)
		}
		mu.Lock()
		x.summarizer.Add(&r)
		mu.Unlock()
	})
	stopProgress()
	stopSamplers()
	if err := g.Wait(); err != nil && runErr == nil && ctx.Err() == nil {
		runErr = err
	}
	return info, stats, runErr
}

// gpuPower holds, per sampler, the float64 bits of the latest GPU power
// summed over the devices of kind GPU it read (NaN until it reads one).
type gpuPower []atomic.Uint64

func newGPUPower(n int) gpuPower {
	p := make(gpuPower, n)
	for i := range p {
		p[i].Store(math.Float64bits(math.NaN()))
	}
	return p
}

// startSamplers runs every sampler on its own goroutine, writing its
// readings to the timeline CSV (and the page builder), until ctx ends; g.Wait waits for them, after
// which stats holds each one's account.
func startSamplers(ctx context.Context, x *execution, csv *sampler.TimelineWriter, power gpuPower, first *firstReadings) (*errgroup.Group, []sampler.Stats) {
	g, gctx := errgroup.WithContext(ctx)
	stats := make([]sampler.Stats, len(x.tel.samplers))
	for i, s := range x.tel.samplers {
		g.Go(func() error {
			st, err := sampler.Run(gctx, s.Sampler, s.Interval, x.origin, func(r sampler.Reading) {
				first.saw(i, &r)
				if x.page != nil {
					x.page.AddReading(r)
				}
				if err := csv.Write(r); err != nil {
					return // the first error is kept by the writer and reported at Flush
				}
				if w, ok := gpuPowerW(r.Devices); ok {
					power[i].Store(math.Float64bits(w))
				}
			})
			stats[i] = st
			return err
		})
	}
	return g, stats
}

// firstReadings closes all once every sampler has taken a reading, and
// follows how far each one's readings reach (waitPast).
type firstReadings struct {
	seen  []atomic.Bool
	left  atomic.Int64
	all   chan struct{}
	reach []atomic.Int64 // per sampler: when the oldest value of its latest reading was read
	news  chan struct{}  // holds a token after a reading, for waitPast
}

func newFirstReadings(n int) *firstReadings {
	f := &firstReadings{seen: make([]atomic.Bool, n), all: make(chan struct{}), reach: make([]atomic.Int64, n), news: make(chan struct{}, 1)}
	f.left.Store(int64(n))
	for i := range f.reach {
		f.reach[i].Store(math.MinInt64)
	}
	if n == 0 {
		close(f.all)
	}
	return f
}

// saw records sampler i's reading r. An energy counter read before the
// tick (DeviceReading.EnergyLag) reaches only as far as its own time.
func (f *firstReadings) saw(i int, r *sampler.Reading) {
	t := r.At
	for _, d := range r.Devices {
		t = min(t, r.At-d.EnergyLag)
	}
	f.reach[i].Store(int64(t))
	select {
	case f.news <- struct{}{}:
	default:
	}
	if !f.seen[i].Swap(true) && f.left.Add(-1) == 0 {
		close(f.all)
	}
}

// waitPast returns once every sampler's latest reading holds only values
// read at or after t (on the telemetry's clock), or after timeout (a
// sampler that fails its ticks does not hold the run up); it returns ctx's
// cause if ctx ends first.
func (f *firstReadings) waitPast(ctx context.Context, t, timeout time.Duration) error {
	limit := time.NewTimer(timeout)
	defer limit.Stop()
	for {
		past := true
		for i := range f.reach {
			past = past && time.Duration(f.reach[i].Load()) >= t
		}
		if past {
			return nil
		}
		select {
		case <-f.news:
		case <-limit.C:
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
}

// idle runs the idle phase (WithIdlePhase): once every sampler has taken
// its first reading (or after firstReadingWait), nothing is sent for the
// phase's length and until every sampler has read past its end (or
// idleEndWait), and its window on the telemetry's clock is recorded for
// the idle baseline. Without a GPU sampler there is no baseline to take,
// and no phase is run.
func (c *config) idle(ctx context.Context, x *execution, first *firstReadings) error {
	if _, noGPU := x.tel.missing[sampler.KindGPU]; c.idlePhase == 0 || noGPU {
		return nil
	}
	var longest time.Duration
	for _, s := range x.tel.samplers {
		longest = max(longest, s.Interval)
	}
	wait := time.NewTimer(firstReadingWait + 2*longest)
	defer wait.Stop()
	select {
	case <-first.all:
	case <-wait.C:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	start := time.Since(x.origin)
	phase := time.NewTimer(c.idlePhase)
	defer phase.Stop()
	select {
	case <-phase.C:
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	end := time.Since(x.origin)
	x.idle = &energy.Window{Start: start, End: end}
	// The window's last energy of record is interpolated between the
	// readings around its end: the load waits until every sampler has read
	// past the end, or a request's power would leak into the baseline.
	return first.waitPast(ctx, end, 2*longest+idleEndWait)
}

// idleEndWait bounds the wait after the idle phase for readings past its
// end (beside twice the longest interval): NVML's energy counter is read
// on its own cadence, 100 ms by default.
const idleEndWait = 500 * time.Millisecond

// firstReadingWait bounds the wait for every sampler's first reading
// before the idle phase (beside twice the longest interval): a sampler
// that fails every tick does not hold the run up.
const firstReadingWait = 2 * time.Second

// progressCounts are the counters the progress reports read.
type progressCounts struct {
	ok, failed, tokens atomic.Int64
}

func (p *progressCounts) add(r *loadgen.Result) {
	if r.OK() {
		p.ok.Add(1)
		p.tokens.Add(int64(r.OutputTokens))
	} else {
		p.failed.Add(1)
	}
}

// startProgress calls the progress callback four times a second from a
// goroutine it owns, until the returned stop function (which waits for it)
// is called. Without a callback it does nothing.
func (c *config) startProgress(point loadgen.Point, counts *progressCounts, power gpuPower) (stop func()) {
	if c.progress == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		lastTokens, lastAt := int64(0), start
		rate := 0.0
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				if now.Sub(lastAt) >= time.Second {
					n := counts.tokens.Load()
					rate = float64(n-lastTokens) / now.Sub(lastAt).Seconds()
					lastTokens, lastAt = n, now
				}
				c.progress(Progress{Point: point, Elapsed: now.Sub(start), Duration: c.duration, OK: int(counts.ok.Load()), Failed: int(counts.failed.Load()),
					TokensPerSec: rate, GPUPowerW: latestGPUPowerW(power)})
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
