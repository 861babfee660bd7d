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
	// sinkBuffer is how many finished results may wait for the sink before
	// request goroutines block on it.
	sinkBuffer = 1024
)

// Requester sends one request and records it in r. *Client implements it;
// tests and users can substitute their own. Do is called from many
// goroutines at once and must honour ctx, classifying a cancellation whose
// cause is ErrCutOff as OutcomeCutOff.
type Requester interface {
	Do(ctx context.Context, clock Clock, prompt string, r *Result)
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

func (ClosedLoop) mode() string   { return "closed_loop" }
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
}

// WithDuration sets how long requests are issued. By default it is
// DefaultDuration (30 s).
func WithDuration(d time.Duration) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.duration = d })
}

// WithGrace sets how long requests still in flight at the end of the
// duration may take to finish before they are cancelled and counted as cut
// off. By default it is DefaultGrace (30 s). Zero cuts them off at once.
func WithGrace(d time.Duration) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.grace = d })
}

// WithWarmup marks the first n requests by issue order as warmup: they are
// sent and recorded but excluded from metrics. By default n is
// DefaultWarmup (3, as the reference).
func WithWarmup(n int) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.warmup = n })
}

// WithMaxInFlight caps the requests in flight in the open-loop modes; an
// arrival that finds the cap reached waits (its wait is its queue time). By
// default the cap is max(8, 8·RPS), as the reference.
func WithMaxInFlight(n int) DriverOption {
	return driverOptionFunc(func(c *driverConfig) { c.maxInFlight = n })
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
func NewDriver(req Requester, prompts []string, mode Mode, opts ...DriverOption) (*Driver, error) {
	c := driverConfig{duration: DefaultDuration, grace: DefaultGrace, warmup: DefaultWarmup}
	for _, o := range opts {
		o.applyDriver(&c)
	}
	var errs []error
	if req == nil {
		errs = append(errs, errors.New("no requester"))
	}
	if len(prompts) == 0 {
		errs = append(errs, errors.New("no prompts"))
	}
	switch m := mode.(type) {
	case ClosedLoop:
		if m.Concurrency < 1 {
			errs = append(errs, fmt.Errorf("concurrency must be at least 1, got %d", m.Concurrency))
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
	if c.duration <= 0 {
		errs = append(errs, fmt.Errorf("duration must be positive, got %v", c.duration))
	}
	if c.grace < 0 {
		errs = append(errs, fmt.Errorf("grace period must not be negative, got %v", c.grace))
	}
	if c.warmup < 0 {
		errs = append(errs, fmt.Errorf("warmup must not be negative, got %d", c.warmup))
	}
	if c.maxInFlight < 0 {
		errs = append(errs, fmt.Errorf("max in flight must not be negative, got %d", c.maxInFlight))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loadgen driver: %w", err)
	}
	return &Driver{req: req, prompts: prompts, mode: mode, cfg: c}, nil
}

func checkRate(rps float64) error {
	if !(rps > 0) || math.IsInf(rps, 0) {
		return fmt.Errorf("rate must be a positive number of requests per second, got %v", rps)
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
}

// Run drives one run: requests are issued for the duration, those still in
// flight then get the grace period, and the rest are cancelled and reported
// as OutcomeCutOff. Every request reaches sink (which may be nil) before
// Run returns, and no goroutine Run started outlives it. Cancelling ctx stops
// issuing and cancels requests in flight (OutcomeCancelled); Run then returns
// the results so far with an error wrapping ctx's error.
func (d *Driver) Run(ctx context.Context, sink Sink) (*RunInfo, error) {
	if sink == nil {
		sink = func(Result) {}
	}
	clock := Clock{Start: time.Now(), Now: time.Now}
	info := &RunInfo{Start: clock.Start, Mode: d.mode.mode(), Duration: d.cfg.duration, Grace: d.cfg.grace, Warmup: d.cfg.warmup}
	issueEnd := clock.Start.Add(d.cfg.duration)
	reqCtx, cancel := context.WithDeadlineCause(ctx, issueEnd.Add(d.cfg.grace), ErrCutOff)
	defer cancel()

	results := make(chan Result, sinkBuffer)
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
		issued = d.closedLoop(ctx, reqCtx, clock, m.Concurrency, results)
	case Poisson:
		info.RPS = m.RPS
		info.MaxInFlight = d.maxInFlight(m.RPS)
		rng := rand.New(rand.NewPCG(m.Seed, m.Seed^0x9E3779B97F4A7C15))
		t := 0.0
		next := func(int) time.Duration {
			t += rng.ExpFloat64() / m.RPS
			return seconds(t)
		}
		issued, info.Dropped = d.openLoop(ctx, reqCtx, clock, next, info.MaxInFlight, results)
	case ConstantRate:
		info.RPS = m.RPS
		info.MaxInFlight = d.maxInFlight(m.RPS)
		next := func(i int) time.Duration { return seconds(float64(i) / m.RPS) }
		issued, info.Dropped = d.openLoop(ctx, reqCtx, clock, next, info.MaxInFlight, results)
	}
	close(results)
	collected.Wait()
	info.Issued, info.CutOff, info.Elapsed = issued, cutOff, lastEnd
	if err := ctx.Err(); err != nil {
		return info, fmt.Errorf("load run interrupted: %w", context.Cause(ctx))
	}
	return info, nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

func (d *Driver) maxInFlight(rps float64) int {
	if d.cfg.maxInFlight > 0 {
		return d.cfg.maxInFlight
	}
	return max(8, int(rps*8))
}

func (d *Driver) newResult(i, worker int) Result {
	return Result{Index: i, Worker: worker, Prompt: i % len(d.prompts), Warmup: i < d.cfg.warmup}
}

// closedLoop runs n workers until the duration ends and returns how many
// requests were issued.
func (d *Driver) closedLoop(ctx, reqCtx context.Context, clock Clock, n int, results chan<- Result) int {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range n {
		wg.Go(func() {
			for ctx.Err() == nil && clock.since() < d.cfg.duration {
				i := int(next.Add(1) - 1)
				r := d.newResult(i, w)
				r.Scheduled = clock.since()
				d.req.Do(reqCtx, clock, d.prompts[r.Prompt], &r)
				r.Scheduled = r.Sent // a closed loop sends as soon as it may
				results <- r
			}
		})
	}
	wg.Wait()
	return int(next.Load())
}

// openLoop issues request i at start+arrival(i) while that is within the
// duration, at most maxInFlight at a time, and returns how many were issued
// and how many arrivals were dropped because no slot freed up before the
// end of the duration.
func (d *Driver) openLoop(ctx, reqCtx context.Context, clock Clock, arrival func(int) time.Duration, maxInFlight int, results chan<- Result) (issued, dropped int) {
	slots := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	deadline := time.NewTimer(d.cfg.duration - clock.since())
	defer deadline.Stop()
	wait := time.NewTimer(0)
	defer wait.Stop()
	for i := 0; ; i++ {
		at := arrival(i)
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
				dropped = 1
				for j := i + 1; arrival(j) < d.cfg.duration; j++ {
					dropped++
				}
				return issued, dropped
			case <-ctx.Done():
				return issued, dropped
			}
		}
		r := d.newResult(i, -1)
		r.Scheduled = at
		issued++
		wg.Go(func() {
			d.req.Do(reqCtx, clock, d.prompts[r.Prompt], &r)
			<-slots
			results <- r
		})
	}
}
