package loadgen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Driver defaults.
const (
	DefaultDuration = 30 * time.Second
	DefaultGrace    = 30 * time.Second
	DefaultWarmup   = 3
	// DefaultStartStep is the longest a closed-loop worker waits for the
	// previous one before it sends its first request (see WithStartStep).
	DefaultStartStep = time.Millisecond
	// maxDefaultStart bounds the whole start when the step is the default:
	// with many workers the step shrinks to maxDefaultStart/Concurrency.
	maxDefaultStart = time.Second
	// sinkBuffer is how many finished results may wait for the sink before
	// request goroutines block on it.
	sinkBuffer = 1024
)

// Limits on the driver's options. They lie far beyond what one load
// generator process can drive, and keep every quantity derived from the
// options (the in-flight cap, arrival times, deadlines) representable.
const (
	// MaxConcurrency bounds ClosedLoop.Concurrency, WithMaxInFlight and the
	// default open-loop in-flight cap: every request in flight holds a
	// goroutine, a connection and its buffers, and a few thousand already
	// saturate one client host.
	MaxConcurrency = 65536
	// MaxRPS bounds the open-loop rates (Poisson.RPS, ConstantRate.RPS), in
	// requests per second: ten thousand streamed completions a second is
	// beyond one client host, and a rate such as 1e12 would otherwise size
	// the in-flight cap at 8e12 slots.
	MaxRPS = 10000.0
	// MaxDuration bounds WithDuration and WithGrace: a benchmark run is
	// minutes long, and start + duration + grace stays far from
	// time.Duration's overflow at about 292 years.
	MaxDuration = 24 * time.Hour
)

// ErrWarmupFailed is the error Run returns (wrapped) when every warmup
// request failed; it is also the cancellation cause of the requests still
// in flight then.
var ErrWarmupFailed = errors.New("every warmup request failed")

// Requester sends one request and records it in r. *Client implements it;
// tests and users can substitute their own. Do is called from many
// goroutines at once and must honour ctx, classifying a cancellation whose
// cause is ErrCutOff as OutcomeCutOff.
//
// A Requester should call [ResponseBegun] with Do's ctx as soon as the
// engine's response has begun (its first byte arrived), so that a closed
// loop's start goes at the engine's pace (see WithStartStep); one that does
// not is paced by Do's return and the start step alone.
type Requester interface {
	Do(ctx context.Context, clock Clock, prompt string, r *Result)
}

// beganKey is the context key of the callback ResponseBegun calls.
type beganKey struct{}

// ResponseBegun tells the driver that the request Do is sending with ctx
// has its response under way: the engine has accepted it and answered.
// [Client] calls it when the first response byte arrives. It is safe to
// call from any goroutine, more than once, or with a ctx that no driver
// made; only the first call for a request does anything.
func ResponseBegun(ctx context.Context) {
	if f, ok := ctx.Value(beganKey{}).(func()); ok {
		f()
	}
}

var _ Requester = (*Client)(nil)

// Sink receives each finished request. Run calls it from one goroutine at a
// time, in completion order; the Result is the sink's to keep. A sink must
// not block for long: up to 1024 results queue for it, then the request
// goroutines wait, which would distort the load.
type Sink func(Result)

// Generator is a load generator: it drives the engine for one run and
// reports every request to sink. Driver implements it.
type Generator interface {
	Run(ctx context.Context, sink Sink) (*RunInfo, error)
}

// Mode is how requests are issued: [ClosedLoop], [Poisson] or [ConstantRate].
type Mode interface {
	mode() string
}

// ClosedLoop keeps Concurrency requests in flight: each of Concurrency
// workers sends its next request as soon as the previous one ends.
type ClosedLoop struct{ Concurrency int }

// Poisson issues requests at exponentially distributed intervals with mean
// 1/RPS, from a PCG generator seeded with Seed (the envelope's seed), on
// absolute times from the run's start.
type Poisson struct {
	RPS  float64
	Seed uint64
}

// ConstantRate issues request i at i/RPS seconds from the run's start.
type ConstantRate struct{ RPS float64 }

func (ClosedLoop) mode() string   { return string(DriverClosedLoop) }
func (Poisson) mode() string      { return "poisson" }
func (ConstantRate) mode() string { return "constant_rate" }

// DriverOption configures a [Driver].
type DriverOption interface {
	applyDriver(*driverConfig)
}

type driverOptionFunc func(*driverConfig)

func (f driverOptionFunc) applyDriver(c *driverConfig) { f(c) }

type driverConfig struct {
	duration    time.Duration
	grace       time.Duration
	warmup      int
	maxInFlight int
	startStep   time.Duration
	stepSet     bool // WithStartStep was used; else the default applies
}

// WithDuration sets how long requests are issued. By default it is
// DefaultDuration (30 s). It must be positive and at most MaxDuration.
func WithDuration(d time.Duration) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.duration = d })
}

// WithGrace sets how long requests still in flight at the end of the
// duration may take to finish before they are cancelled and counted as cut
// off. By default it is DefaultGrace (30 s). Zero cuts them off at once;
// it must not be negative nor more than MaxDuration.
func WithGrace(d time.Duration) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.grace = d })
}

// WithWarmup marks the first n requests by issue order as warmup: they are
// sent and recorded but excluded from metrics. When every one of them
// fails, the run stops (see [Driver.Run]). By default n is DefaultWarmup
// (3, as the reference); 0 means no warmup.
func WithWarmup(n int) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.warmup = n })
}

// WithMaxInFlight caps the requests in flight in the open-loop modes; an
// arrival that finds the cap reached waits (its wait is its queue time). By
// default, or with 0, the cap is max(8, 8·RPS), as the reference, but at
// most MaxConcurrency. It must not be negative nor more than
// MaxConcurrency.
func WithMaxInFlight(n int) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.maxInFlight = n })
}

// WithStartStep sets how a closed loop's workers start. Worker w sends its
// first request as soon as worker w−1's response has begun (its first byte
// arrived, or its request ended; see [ResponseBegun]), and at the latest w·d
// after the run's start, whichever comes first. The workers then enter the
// engine one after another as fast as it answers, instead of all in the same
// instant: on a small machine a simultaneous start of a few hundred
// connections queues them in the client and in the engine's accept path, and
// that wait, which is neither the engine's generation nor its steady state,
// would land in the first requests' TTFT. Zero starts every worker at once,
// as the reference does. The requests keep Scheduled = Sent: a worker's first
// request is due when the start lets it go, and RunInfo.Started and
// LastStart say how many workers went and when the last one did.
//
// By default, if this option is not used, d is DefaultStartStep (1 ms), but
// at most 1 s / Concurrency, so that the start never takes more than a
// second. It must not be negative nor more than MaxDuration. Open loops
// ignore it: their schedule says when each request is due.
func WithStartStep(d time.Duration) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.startStep, c.stepSet = d, true })
}

// Driver issues a workload of prompts against a Requester in a Mode.
// A Driver may be run several times; runs are independent. It is safe for
// concurrent use.
type Driver struct {
	req     Requester
	prompts []string
	mode    Mode
	cfg     driverConfig
}

var _ Generator = (*Driver)(nil)

// NewDriver validates the configuration and returns a driver. Prompts are
// used in order, cycling, request i getting prompts[i % len(prompts)].
// An invalid argument or option value (including one beyond MaxConcurrency,
// MaxRPS or MaxDuration) gives an error wrapping [ErrInvalidOption].
func NewDriver(req Requester, prompts []string, mode Mode, opts ...DriverOption) (*Driver, error) {
	c := driverConfig{duration: DefaultDuration, grace: DefaultGrace, warmup: DefaultWarmup}
	var errs []error
	for i, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("option %d is nil", i+1))
			continue
		}
		o.applyDriver(&c)
	}
	if req == nil {
		errs = append(errs, errors.New("no requester"))
	}
	if len(prompts) == 0 {
		errs = append(errs, errors.New("no prompts"))
	}
	switch m := mode.(type) {
	case ClosedLoop:
		if m.Concurrency < 1 || m.Concurrency > MaxConcurrency {
			errs = append(errs, fmt.Errorf("concurrency must be between 1 and MaxConcurrency (%d), got %d", MaxConcurrency, m.Concurrency))
		}
	case Poisson:
		errs = append(errs, checkRate(m.RPS))
	case ConstantRate:
		errs = append(errs, checkRate(m.RPS))
	case nil:
		errs = append(errs, errors.New("no mode"))
	default:
		errs = append(errs, fmt.Errorf("unknown mode %T", mode))
	}
	if c.duration <= 0 || c.duration > MaxDuration {
		errs = append(errs, fmt.Errorf("duration must be positive and at most MaxDuration (%v), got %v", MaxDuration, c.duration))
	}
	if c.grace < 0 || c.grace > MaxDuration {
		errs = append(errs, fmt.Errorf("grace period must be between 0 and MaxDuration (%v), got %v", MaxDuration, c.grace))
	}
	if c.warmup < 0 {
		errs = append(errs, fmt.Errorf("warmup must not be negative, got %d", c.warmup))
	}
	if c.startStep < 0 || c.startStep > MaxDuration {
		errs = append(errs, fmt.Errorf("start step must be between 0 and MaxDuration (%v), got %v", MaxDuration, c.startStep))
	}
	if c.maxInFlight < 0 || c.maxInFlight > MaxConcurrency {
		errs = append(errs, fmt.Errorf("max in flight must be between 0 (the default) and MaxConcurrency (%d), got %d", MaxConcurrency, c.maxInFlight))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loadgen driver: %w: %w", ErrInvalidOption, err)
	}
	return &Driver{req: req, prompts: prompts, mode: mode, cfg: c}, nil
}

func checkRate(rps float64) error {
	if !(rps > 0) || rps > MaxRPS {
		return fmt.Errorf("rate must be a positive number of requests per second, at most MaxRPS (%g), got %v", MaxRPS, rps)
	}
	return nil
}

// RunInfo describes a finished run.
type RunInfo struct {
	// Start is the run's time origin: every Result offset counts from it.
	Start time.Time
	// Mode is "closed_loop", "poisson" or "constant_rate".
	Mode        string
	Concurrency int     // closed loop
	RPS         float64 // open loops
	MaxInFlight int     // open loops
	Duration    time.Duration
	Grace       time.Duration
	Warmup      int
	// Issued counts requests sent (warmup included); Dropped counts
	// open-loop arrivals due before the end of the duration that could not
	// be sent by then; CutOff counts requests cancelled after the grace period.
	Issued  int
	Dropped int
	CutOff  int
	// Elapsed is the time from Start until the last request ended.
	Elapsed time.Duration
	// StartStep is the closed loop's start step in effect (see
	// WithStartStep; 0: every worker started at once). Started counts the
	// workers that sent a request (fewer than Concurrency when the run
	// ended or was stopped during the start), and LastStart is when, from
	// Start, the last of them sent its first one.
	StartStep time.Duration
	Started   int
	LastStart time.Duration
}

// Run drives one run: requests are issued for the duration, those still in
// flight then get the grace period, and the rest are cancelled and reported
// as OutcomeCutOff. Every request reaches sink (which may be nil) before
// Run returns, and no goroutine Run started outlives it. Cancelling ctx stops
// issuing and cancels requests in flight (OutcomeCancelled); Run then returns
// the results so far with an error wrapping ctx's error.
//
// When every warmup request has finished and each one failed (a failure
// other than OutcomeCutOff and OutcomeCancelled), Run stops issuing,
// cancels the requests in flight with cause [ErrWarmupFailed] (they are
// reported as OutcomeCancelled), and returns the RunInfo with an error
// wrapping ErrWarmupFailed that carries the first warmup failure (by
// Index): an engine that fails everything is not measured for the whole
// duration. Without warmup (WithWarmup(0)) a run is never stopped early.
func (d *Driver) Run(ctx context.Context, sink Sink) (*RunInfo, error) {
	if sink == nil {
		sink = func(Result) {}
	}
	clock := Clock{Start: time.Now(), Now: time.Now}
	info := &RunInfo{Start: clock.Start, Mode: d.mode.mode(), Duration: d.cfg.duration, Grace: d.cfg.grace, Warmup: d.cfg.warmup}
	issueEnd := clock.Start.Add(d.cfg.duration)
	// runCtx stops issuing (and, through reqCtx, the requests) when ctx is
	// cancelled or the warmup failed; reqCtx also cuts requests off at the
	// end of the grace period.
	runCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	reqCtx, cancel := context.WithDeadlineCause(runCtx, issueEnd.Add(d.cfg.grace), ErrCutOff)
	defer cancel()
	warmup := &warmupWatch{n: d.cfg.warmup, abort: abort}

	results := make(chan Result, sinkBuffer)
	finished := func(r Result) {
		warmup.observe(&r) // before the queue, so a verdict never waits for the sink
		results <- r
	}
	var collected sync.WaitGroup
	var cutOff int
	var lastEnd time.Duration
	collected.Go(func() {
		for r := range results {
			if r.Outcome == OutcomeCutOff {
				cutOff++
			}
			lastEnd = max(lastEnd, r.End)
			sink(r)
		}
	})
	var issued int
	switch m := d.mode.(type) {
	case ClosedLoop:
		info.Concurrency = m.Concurrency
		info.StartStep = d.startStep(m.Concurrency)
		issued, info.Started, info.LastStart = d.closedLoop(runCtx, reqCtx, clock, m.Concurrency, info.StartStep, finished)
	case Poisson:
		info.RPS = m.RPS
		info.MaxInFlight = d.maxInFlight(m.RPS)
		rng := rand.New(rand.NewPCG(m.Seed, m.Seed^0x9E3779B97F4A7C15))
		t := 0.0
		at := func(int) time.Duration {
			t += rng.ExpFloat64() / m.RPS
			return seconds(t)
		}
		dueFrom := func(i int) int { // arrival i is due; count the later ones
			n := 1
			for at(i+n) < d.cfg.duration {
				n++
			}
			return n
		}
		issued, info.Dropped = d.openLoop(runCtx, reqCtx, clock, schedule{at, dueFrom}, info.MaxInFlight, finished)
	case ConstantRate:
		info.RPS = m.RPS
		info.MaxInFlight = d.maxInFlight(m.RPS)
		total := constantArrivals(m.RPS, d.cfg.duration)
		at := func(i int) time.Duration { return constantArrival(m.RPS, i) }
		dueFrom := func(i int) int { return total - i }
		issued, info.Dropped = d.openLoop(runCtx, reqCtx, clock, schedule{at, dueFrom}, info.MaxInFlight, finished)
	}
	close(results)
	collected.Wait()
	info.Issued, info.CutOff, info.Elapsed = issued, cutOff, lastEnd
	if err := ctx.Err(); err != nil {
		return info, fmt.Errorf("load run interrupted: %w", context.Cause(ctx))
	}
	if err := warmup.verdict(); err != nil {
		return info, err
	}
	return info, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// constantArrival is when arrival i of a constant rate is due.
func constantArrival(rps float64, i int) time.Duration { return seconds(float64(i) / rps) }

// constantArrivals counts the arrivals of a constant rate due before d: the
// closed form ⌈d·rps⌉, corrected against constantArrival's rounding by a
// step or two.
func constantArrivals(rps float64, d time.Duration) int {
	n := int(math.Ceil(d.Seconds() * rps))
	for n > 0 && constantArrival(rps, n-1) >= d {
		n--
	}
	for constantArrival(rps, n) < d {
		n++
	}
	return n
}

func (d *Driver) maxInFlight(rps float64) int {
	if d.cfg.maxInFlight > 0 {
		return d.cfg.maxInFlight
	}
	return min(max(8, int(rps*8)), MaxConcurrency)
}

func (d *Driver) newResult(i, worker int) Result {
	return Result{Index: i, Worker: worker, Prompt: i % len(d.prompts), Warmup: i < d.cfg.warmup}
}

// warmupWatch follows the warmup requests (Index < n) and stops the run
// through abort when all of them have failed.
type warmupWatch struct {
	n     int
	abort context.CancelCauseFunc

	mu     sync.Mutex
	done   int
	failed int
	first  Result // the failed warmup request with the lowest Index
	err    error
}

// observe records a finished request; it is called from request
// goroutines.
func (w *warmupWatch) observe(r *Result) {
	if r.Index >= w.n {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done++
	if !r.OK() && r.Outcome != OutcomeCutOff && r.Outcome != OutcomeCancelled {
		if w.failed == 0 || r.Index < w.first.Index {
			w.first = Result{Index: r.Index, Outcome: r.Outcome, Error: r.Error}
		}
		w.failed++
	}
	if w.done == w.n && w.failed == w.n {
		w.err = fmt.Errorf("%w (%d of %d); the first: %s: %s", ErrWarmupFailed, w.failed, w.n, w.first.Outcome, w.first.Error)
		w.abort(ErrWarmupFailed)
	}
}

// verdict returns the error that stopped the run, or nil.
func (w *warmupWatch) verdict() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// startStep is the closed loop's start step for n workers.
func (d *Driver) startStep(n int) time.Duration {
	if d.cfg.stepSet {
		return d.cfg.startStep
	}
	return min(DefaultStartStep, maxDefaultStart/time.Duration(n))
}

// closedLoop runs n workers until the duration ends (or ctx is done) and
// returns how many requests were issued, how many workers sent one, and
// when the last of those sent its first. With a step, the workers start
// one after another (see WithStartStep).
func (d *Driver) closedLoop(ctx, reqCtx context.Context, clock Clock, n int, step time.Duration, finished func(Result)) (issued, started int, lastStart time.Duration) {
	var next atomic.Int64
	var wg sync.WaitGroup
	var start *startRamp
	if step > 0 {
		start = newStartRamp(n, step)
	}
	var mu sync.Mutex
	for w := range n {
		wg.Go(func() {
			rctx := reqCtx
			if start != nil {
				defer start.begun(w) // the next worker never waits on one that sent nothing
				if !start.wait(ctx, clock, w) {
					return
				}
				rctx = context.WithValue(reqCtx, beganKey{}, func() { start.begun(w) })
			}
			for first := true; ctx.Err() == nil && clock.since() < d.cfg.duration; first = false {
				i := int(next.Add(1) - 1)
				r := d.newResult(i, w)
				r.Scheduled = clock.since()
				d.req.Do(rctx, clock, d.prompts[r.Prompt], &r)
				r.Scheduled = r.Sent // a closed loop sends as soon as it may
				if first {
					if start != nil {
						start.begun(w)
						rctx = reqCtx
					}
					mu.Lock()
					started++
					lastStart = max(lastStart, r.Sent)
					mu.Unlock()
				}
				finished(r)
			}
		})
	}
	wg.Wait()
	return int(next.Load()), started, lastStart
}

// startRamp starts a closed loop's workers one after another: worker w
// goes once worker w−1's response has begun, or at w·step from the start.
type startRamp struct {
	step  time.Duration
	begin []chan struct{} // begin[w] is closed once worker w's response began
	once  []sync.Once
}

func newStartRamp(n int, step time.Duration) *startRamp {
	s := &startRamp{step: step, begin: make([]chan struct{}, n), once: make([]sync.Once, n)}
	for w := range s.begin {
		s.begin[w] = make(chan struct{})
	}
	return s
}

// wait blocks until worker w may send its first request; false if ctx
// ended first.
func (s *startRamp) wait(ctx context.Context, clock Clock, w int) bool {
	if w == 0 {
		return ctx.Err() == nil
	}
	late := time.Duration(w)*s.step - clock.since()
	if late <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(late)
	defer t.Stop()
	select {
	case <-s.begin[w-1]:
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	return true
}

// begun marks worker w's first response as begun; only the first call
// counts.
func (s *startRamp) begun(w int) { s.once[w].Do(func() { close(s.begin[w]) }) }

// schedule is an open loop's arrivals: at(i) is when arrival i is due,
// called with i = 0, 1, 2, … in order; dueFrom(i), called once after
// at(i), counts the arrivals from i on (i included) that are due before
// the end of the duration.
type schedule struct {
	at      func(i int) time.Duration
	dueFrom func(i int) int
}

// openLoop issues request i at start+at(i) while that is within the
// duration, at most maxInFlight at a time, and returns how many were issued
// and how many arrivals were dropped because no slot freed up before the
// end of the duration.
func (d *Driver) openLoop(ctx, reqCtx context.Context, clock Clock, sched schedule, maxInFlight int, finished func(Result)) (issued, dropped int) {
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	deadline := time.NewTimer(d.cfg.duration - clock.since())
	defer deadline.Stop()
	wait := time.NewTimer(0)
	defer wait.Stop()
	for i := 0; ; i++ {
		at := sched.at(i)
		if at >= d.cfg.duration {
			return issued, dropped
		}
		if delay := at - clock.since(); delay > 0 {
			wait.Reset(delay)
			select {
			case <-wait.C:
			case <-ctx.Done():
				return issued, dropped
			}
		}
		select {
		case slots <- struct{}{}:
		default:
			select { // at the cap: queue until a slot frees, or give up at the deadline
			case slots <- struct{}{}:
			case <-deadline.C:
				return issued, sched.dueFrom(i)
			case <-ctx.Done():
				return issued, dropped
			}
		}
		if ctx.Err() != nil { // the warmup verdict may have come while this arrival waited
			<-slots
			return issued, dropped
		}
		r := d.newResult(i, -1)
		r.Scheduled = at
		issued++
		wg.Go(func() {
			d.req.Do(reqCtx, clock, d.prompts[r.Prompt], &r)
			<-slots
			finished(r)
		})
	}
}
