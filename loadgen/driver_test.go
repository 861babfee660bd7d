package loadgen

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// fakeRequester takes a fixed time per request on the (fake) clock:
// the first token after ttft, the end after total.
type fakeRequester struct {
	ttft, total time.Duration
}

func (f fakeRequester) Do(ctx context.Context, clock Clock, prompt string, r *Result) {
	r.Sent = clock.since()
	t := time.NewTimer(f.total)
	defer t.Stop()
	select {
	case <-t.C:
		r.FirstToken = r.Sent + f.ttft
		r.Chunks = []Chunk{{At: r.FirstToken, Tokens: 1}}
		r.OutputTokens = 1
		r.Outcome = OutcomeOK
	case <-ctx.Done():
		if errors.Is(context.Cause(ctx), ErrCutOff) {
			r.Outcome = OutcomeCutOff
		} else {
			r.Outcome = OutcomeCancelled
		}
	}
	r.End = clock.since()
}

func collect(t *testing.T, d *Driver, ctx context.Context) ([]Result, *RunInfo, error) {
	t.Helper()
	var mu sync.Mutex
	var rs []Result
	info, err := d.Run(ctx, func(r Result) { mu.Lock(); rs = append(rs, r); mu.Unlock() })
	return rs, info, err
}

func mustDriver(t *testing.T, req Requester, mode Mode, opts ...DriverOption) *Driver {
	t.Helper()
	d, err := NewDriver(req, []string{"a", "b", "c"}, mode, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestClosedLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := mustDriver(t, fakeRequester{ttft: 100 * time.Millisecond, total: time.Second}, ClosedLoop{Concurrency: 4}, WithDuration(10*time.Second))
		rs, info, err := collect(t, d, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 40 || info.Issued != 40 || info.CutOff != 0 {
			t.Fatalf("got %d results, info %+v; want 40 issued, none cut off", len(rs), info)
		}
		warm := 0
		for _, r := range rs {
			if r.Warmup {
				warm++
				if r.Index >= 3 {
					t.Errorf("request %d marked warmup", r.Index)
				}
			}
			if r.Scheduled != r.Sent || r.Outcome != OutcomeOK || r.Prompt != r.Index%3 {
				t.Errorf("result %+v", r)
			}
		}
		if warm != 3 {
			t.Errorf("%d warmup requests; want 3", warm)
		}
		// fakeRequester never reports its response begun, so the workers
		// start DefaultStartStep apart: worker 3 at 3 ms, and its tenth
		// request ends 3 ms after the others'.
		if info.StartStep != DefaultStartStep || info.Started != 4 || info.LastStart != 3*time.Millisecond {
			t.Errorf("start step %v, %d started, the last at %v; want 1ms, 4 and 3ms", info.StartStep, info.Started, info.LastStart)
		}
		if info.Elapsed != 10*time.Second+3*time.Millisecond {
			t.Errorf("elapsed %v; want 10.003s", info.Elapsed)
		}
	})
}

// beganRequester reports its response begun `began` after sending (never
// when began is 0) and ends after total.
type beganRequester struct {
	began, total time.Duration
}

func (b beganRequester) Do(ctx context.Context, clock Clock, prompt string, r *Result) {
	r.Sent = clock.since()
	if b.began > 0 {
		t := time.AfterFunc(b.began, func() { ResponseBegun(ctx) })
		defer t.Stop()
	}
	select {
	case <-time.After(b.total):
		r.Outcome = OutcomeOK
	case <-ctx.Done():
		r.Outcome = OutcomeCutOff
	}
	r.End = clock.since()
}

// firstSends returns each worker's first Sent, by worker.
func firstSends(rs []Result, n int) []time.Duration {
	first := make([]time.Duration, n)
	seen := make([]bool, n)
	for _, r := range rs { // the sink sees a worker's requests in order
		if !seen[r.Worker] {
			first[r.Worker], seen[r.Worker] = r.Sent, true
		}
	}
	return first
}

// TestClosedLoopStart: the workers start one after another, each when the
// previous one's response began, or at the latest w·step from the start;
// with step 0 all at once. Times are exact on synctest's clock.
func TestClosedLoopStart(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		req     Requester
		opts    []DriverOption
		step    time.Duration             // want RunInfo.StartStep
		firstAt func(w int) time.Duration // want worker w's first Sent
		last    time.Duration             // want RunInfo.LastStart
	}{
		{"paced by the engine's answers", 8, beganRequester{began: 200 * time.Microsecond, total: time.Second}, nil,
			DefaultStartStep, func(w int) time.Duration { return time.Duration(w) * 200 * time.Microsecond }, 1400 * time.Microsecond},
		{"slow answers: the step bounds each start", 8, beganRequester{began: 5 * time.Millisecond, total: time.Second}, nil,
			DefaultStartStep, func(w int) time.Duration { return time.Duration(w) * time.Millisecond }, 7 * time.Millisecond},
		{"no answers reported: the step, from the start", 8, beganRequester{total: time.Second}, []DriverOption{WithStartStep(3 * time.Millisecond)},
			3 * time.Millisecond, func(w int) time.Duration { return time.Duration(w) * 3 * time.Millisecond }, 21 * time.Millisecond},
		{"a request that ends early lets the next one go", 4, beganRequester{total: 100 * time.Microsecond}, nil,
			DefaultStartStep, func(w int) time.Duration { return time.Duration(w) * 100 * time.Microsecond }, 300 * time.Microsecond},
		{"step 0: all at once", 8, beganRequester{total: time.Second}, []DriverOption{WithStartStep(0)},
			0, func(int) time.Duration { return 0 }, 0},
		{"many workers: the default start takes at most a second", 4000, beganRequester{total: 10 * time.Second}, nil,
			250 * time.Microsecond, func(w int) time.Duration { return time.Duration(w) * 250 * time.Microsecond }, 3999 * 250 * time.Microsecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				opts := append([]DriverOption{WithDuration(5 * time.Second), WithWarmup(0)}, tt.opts...)
				d := mustDriver(t, tt.req, ClosedLoop{Concurrency: tt.n}, opts...)
				rs, info, err := collect(t, d, context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if info.StartStep != tt.step || info.Started != tt.n || info.LastStart != tt.last {
					t.Errorf("start step %v, %d started, the last at %v; want %v, %d and %v", info.StartStep, info.Started, info.LastStart, tt.step, tt.n, tt.last)
				}
				for w, at := range firstSends(rs, tt.n) {
					if want := tt.firstAt(w); at != want {
						t.Fatalf("worker %d sent its first request at %v; want %v", w, at, want)
					}
				}
				for _, r := range rs {
					if r.Scheduled != r.Sent {
						t.Fatalf("request %d scheduled at %v, sent at %v; a closed loop sends when due", r.Index, r.Scheduled, r.Sent)
					}
				}
			})
		})
	}
}

// TestClosedLoopStartEnds: the duration ending or ctx being cancelled
// during the start stops the workers still waiting, and Run returns with
// no goroutine left behind.
func TestClosedLoopStartEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := mustDriver(t, beganRequester{total: time.Second}, ClosedLoop{Concurrency: 100}, WithDuration(50*time.Millisecond), WithWarmup(0))
		rs, info, err := collect(t, d, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// Workers 0..49 are due before 50 ms; the others never send.
		if len(rs) != 50 || info.Issued != 50 || info.Started != 50 || info.LastStart != 49*time.Millisecond {
			t.Errorf("%d results, %d issued, %d started, the last at %v; want 50, 50, 50 and 49ms", len(rs), info.Issued, info.Started, info.LastStart)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		d := mustDriver(t, beganRequester{total: time.Minute}, ClosedLoop{Concurrency: 100}, WithDuration(time.Minute), WithStartStep(time.Second))
		time.AfterFunc(2500*time.Millisecond, cancel)
		start := time.Now()
		rs, _, err := collect(t, d, ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run error %v; want context.Canceled", err)
		}
		if len(rs) != 3 || time.Since(start) != 2500*time.Millisecond {
			t.Errorf("%d results after %v; want the 3 started workers' requests, cancelled at 2.5s", len(rs), time.Since(start))
		}
	})
}

func TestGraceThenCutOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := mustDriver(t, fakeRequester{total: 100 * time.Second}, ClosedLoop{Concurrency: 4}, WithDuration(10*time.Second), WithGrace(5*time.Second))
		start := time.Now()
		rs, info, err := collect(t, d, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := time.Since(start); got != 15*time.Second {
			t.Errorf("Run took %v; want duration + grace = 15s", got)
		}
		if len(rs) != 4 || info.CutOff != 4 {
			t.Fatalf("results %d, info %+v; want 4 cut off", len(rs), info)
		}
		for _, r := range rs {
			if r.Outcome != OutcomeCutOff {
				t.Errorf("outcome %s; want cut_off", r.Outcome)
			}
		}
	})
}

func TestConstantRate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := mustDriver(t, fakeRequester{total: 100 * time.Millisecond}, ConstantRate{RPS: 2}, WithDuration(10*time.Second))
		rs, info, err := collect(t, d, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 20 || info.Dropped != 0 {
			t.Fatalf("results %d, info %+v; want 20, none dropped", len(rs), info)
		}
		for _, r := range rs {
			if want := time.Duration(r.Index) * 500 * time.Millisecond; r.Scheduled != want || r.Sent != want {
				t.Errorf("request %d scheduled %v sent %v; want both %v", r.Index, r.Scheduled, r.Sent, want)
			}
		}
	})
}

// TestOpenLoopQueueAndDrops: at the in-flight cap, arrivals wait (queue
// time) and those not sent by the end of the duration are dropped.
func TestOpenLoopQueueAndDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := mustDriver(t, fakeRequester{total: 1100 * time.Millisecond}, ConstantRate{RPS: 10}, WithDuration(5*time.Second), WithMaxInFlight(1))
		rs, info, err := collect(t, d, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Issued != 5 || info.Dropped != 45 || len(rs) != 5 {
			t.Fatalf("info %+v, %d results; want 5 issued, 45 dropped", info, len(rs))
		}
		for _, r := range rs {
			wantSent := time.Duration(r.Index) * 1100 * time.Millisecond
			if r.Sent != wantSent || r.Scheduled != time.Duration(r.Index)*100*time.Millisecond {
				t.Errorf("request %d: scheduled %v sent %v; want sent %v", r.Index, r.Scheduled, r.Sent, wantSent)
			}
		}
	})
}

func TestPoissonDeterministic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		run := func() []time.Duration {
			d := mustDriver(t, fakeRequester{total: 10 * time.Millisecond}, Poisson{RPS: 5, Seed: 42}, WithDuration(100*time.Second))
			rs, _, err := collect(t, d, context.Background())
			if err != nil {
				t.Fatal(err)
			}
			out := make([]time.Duration, len(rs))
			for _, r := range rs {
				out[r.Index] = r.Scheduled
			}
			return out
		}
		a, b := run(), run()
		if len(a) != len(b) {
			t.Fatalf("runs differ in length: %d vs %d", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("arrival %d differs: %v vs %v", i, a[i], b[i])
			}
		}
		if n := len(a); n < 420 || n > 580 {
			t.Errorf("%d arrivals in 100 s at 5 rps; want about 500", n)
		}
	})
}

func TestCancelStopsRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		d := mustDriver(t, fakeRequester{total: 10 * time.Second}, ClosedLoop{Concurrency: 2}, WithDuration(time.Minute))
		time.AfterFunc(3*time.Second, cancel)
		rs, _, err := collect(t, d, ctx)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run error %v; want context.Canceled", err)
		}
		if len(rs) != 2 || rs[0].Outcome != OutcomeCancelled {
			t.Fatalf("results %+v; want 2 cancelled", rs)
		}
	})
}

func TestNewDriverRejects(t *testing.T) {
	req := fakeRequester{}
	tests := []struct {
		name string
		mode Mode
		opts []DriverOption
		ps   []string
	}{
		{"zero concurrency", ClosedLoop{}, nil, []string{"a"}},
		{"zero rate", Poisson{}, nil, []string{"a"}},
		{"negative duration", ClosedLoop{1}, []DriverOption{WithDuration(-1)}, []string{"a"}},
		{"negative grace", ClosedLoop{1}, []DriverOption{WithGrace(-1)}, []string{"a"}},
		{"no prompts", ClosedLoop{1}, nil, nil},
		{"no mode", nil, nil, []string{"a"}},
	}
	for _, tt := range tests {
		if _, err := NewDriver(req, tt.ps, tt.mode, tt.opts...); err == nil {
			t.Errorf("%s: NewDriver accepted it", tt.name)
		}
	}
}

// scriptedRequester answers request i with script(i): an outcome and error
// text after a delay, or, with OutcomeOK and no delay, waits for ctx.
type scriptedRequester struct {
	script func(i int) (after time.Duration, outcome Outcome, msg string)
}

func (s scriptedRequester) Do(ctx context.Context, clock Clock, prompt string, r *Result) {
	r.Sent = clock.since()
	after, outcome, msg := s.script(r.Index)
	if after == 0 {
		after = 100 * time.Hour
	}
	t := time.NewTimer(after)
	defer t.Stop()
	select {
	case <-t.C:
		r.Outcome, r.Error = outcome, msg
	case <-ctx.Done():
		switch {
		case errors.Is(context.Cause(ctx), ErrCutOff):
			r.Outcome = OutcomeCutOff
		default:
			r.Outcome = OutcomeCancelled
		}
		r.Error = context.Cause(ctx).Error()
	}
	r.End = clock.since()
}

// failWarmup fails requests below n after a second, and makes the others
// run until they are cancelled.
func failWarmup(n int) scriptedRequester {
	return scriptedRequester{func(i int) (time.Duration, Outcome, string) {
		if i < n {
			return time.Second, OutcomeHTTPStatus, "HTTP 500: injected failure"
		}
		return 0, OutcomeOK, ""
	}}
}

func TestWarmupFailureStopsRun(t *testing.T) {
	const want = "every warmup request failed (3 of 3); the first: http_status: HTTP 500: injected failure"
	for _, tt := range []struct {
		name string
		mode Mode
	}{
		{"closed loop", ClosedLoop{Concurrency: 4}},
		{"constant rate", ConstantRate{RPS: 10}},
		{"poisson", Poisson{RPS: 10, Seed: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := mustDriver(t, failWarmup(3), tt.mode, WithDuration(time.Minute))
				start := time.Now()
				rs, info, err := collect(t, d, context.Background())
				if !errors.Is(err, ErrWarmupFailed) || err.Error() != want {
					t.Fatalf("Run: %v; want %q", err, want)
				}
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("Run took %v; want it to stop at the verdict, after about 1s", took)
				}
				if info == nil || len(rs) != info.Issued {
					t.Fatalf("%d results, info %+v; want every issued request reported", len(rs), info)
				}
				for _, r := range rs {
					if r.Index >= 3 && r.Outcome != OutcomeCancelled {
						t.Errorf("measured request %d: %s; want cancelled", r.Index, r.Outcome)
					}
				}
				if _, ok := tt.mode.(ClosedLoop); ok && info.Issued > 3+4 {
					t.Errorf("%d requests issued; a closed loop of 4 should not run ahead of the warmup verdict", info.Issued)
				}
			})
		})
	}
}

// TestWarmupVerdictNeedsEveryFailure: one ok warmup request, a warmup
// request that was cut off, or no warmup at all lets the run go on.
func TestWarmupVerdictNeedsEveryFailure(t *testing.T) {
	fail := func(time.Duration) (time.Duration, Outcome, string) {
		return time.Second, OutcomeHTTPStatus, "HTTP 500"
	}
	for _, tt := range []struct {
		name   string
		warmup int
		script func(i int) (time.Duration, Outcome, string)
	}{
		{"one ok warmup request", 3, func(i int) (time.Duration, Outcome, string) {
			if i == 1 {
				return time.Second, OutcomeOK, ""
			}
			return fail(0)
		}},
		{"a warmup request cut off", 2, func(i int) (time.Duration, Outcome, string) {
			if i == 0 {
				return 0, OutcomeOK, "" // runs until cut off
			}
			return fail(0)
		}},
		{"no warmup", 0, func(int) (time.Duration, Outcome, string) { return fail(0) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				d := mustDriver(t, scriptedRequester{tt.script}, ClosedLoop{Concurrency: 2},
					WithWarmup(tt.warmup), WithDuration(10*time.Second), WithGrace(time.Second))
				start := time.Now()
				_, _, err := collect(t, d, context.Background())
				if err != nil {
					t.Fatalf("Run: %v; want no error", err)
				}
				if took := time.Since(start); took < 10*time.Second {
					t.Errorf("Run took %v; want the whole duration", took)
				}
			})
		})
	}
}

// TestWarmupFirstFailureByIndex: the error names the warmup failure with
// the lowest Index, not the first to finish.
func TestWarmupFirstFailureByIndex(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := mustDriver(t, scriptedRequester{func(i int) (time.Duration, Outcome, string) {
			if i == 0 {
				return 2 * time.Second, OutcomeTimeout, "no complete response"
			}
			return time.Second, OutcomeTransport, "connection refused"
		}}, ClosedLoop{Concurrency: 2}, WithWarmup(2), WithDuration(time.Minute))
		_, _, err := collect(t, d, context.Background())
		const want = "every warmup request failed (2 of 2); the first: timeout: no complete response"
		if err == nil || err.Error() != want {
			t.Errorf("Run: %v; want %q", err, want)
		}
	})
}

// TestDriverLimits: options beyond the documented limits are refused with
// ErrInvalidOption; values at the limits are accepted.
func TestDriverLimits(t *testing.T) {
	req := fakeRequester{}
	bad := []struct {
		name string
		mode Mode
		opts []DriverOption
	}{
		{"concurrency beyond MaxConcurrency", ClosedLoop{MaxConcurrency + 1}, nil},
		{"poisson rate 1e12", Poisson{RPS: 1e12}, nil},
		{"constant rate beyond MaxRPS", ConstantRate{RPS: MaxRPS * 1.0001}, nil},
		{"infinite rate", ConstantRate{RPS: math.Inf(1)}, nil},
		{"NaN rate", Poisson{RPS: math.NaN()}, nil},
		{"duration beyond MaxDuration", ClosedLoop{1}, []DriverOption{WithDuration(MaxDuration + 1)}},
		{"huge duration", ClosedLoop{1}, []DriverOption{WithDuration(math.MaxInt64)}},
		{"grace beyond MaxDuration", ClosedLoop{1}, []DriverOption{WithGrace(MaxDuration + 1)}},
		{"max in flight beyond MaxConcurrency", ConstantRate{RPS: 1}, []DriverOption{WithMaxInFlight(MaxConcurrency + 1)}},
		{"negative max in flight", ConstantRate{RPS: 1}, []DriverOption{WithMaxInFlight(-1)}},
		{"negative warmup", ClosedLoop{1}, []DriverOption{WithWarmup(-1)}},
		{"negative start step", ClosedLoop{1}, []DriverOption{WithStartStep(-1)}},
		{"start step beyond MaxDuration", ClosedLoop{1}, []DriverOption{WithStartStep(MaxDuration + 1)}},
	}
	for _, tt := range bad {
		if _, err := NewDriver(req, []string{"a"}, tt.mode, tt.opts...); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("%s: %v; want ErrInvalidOption", tt.name, err)
		}
	}
	atLimit := []DriverOption{WithDuration(MaxDuration), WithGrace(MaxDuration), WithMaxInFlight(MaxConcurrency), WithStartStep(MaxDuration)}
	for _, mode := range []Mode{ClosedLoop{MaxConcurrency}, Poisson{RPS: MaxRPS}, ConstantRate{RPS: MaxRPS}} {
		if _, err := NewDriver(req, []string{"a"}, mode, atLimit...); err != nil {
			t.Errorf("%#v at the limits: %v", mode, err)
		}
	}
	d := mustDriver(t, req, ConstantRate{RPS: MaxRPS})
	if got := d.maxInFlight(MaxRPS); got != MaxConcurrency {
		t.Errorf("default in-flight cap at MaxRPS = %d; want MaxConcurrency", got)
	}
}

// TestConstantArrivals: the closed form counts exactly the arrivals
// constantArrival puts before the end, and is immediate at the limits.
func TestConstantArrivals(t *testing.T) {
	count := func(rps float64, d time.Duration) int {
		n := 0
		for constantArrival(rps, n) < d {
			n++
		}
		return n
	}
	rng := rand.New(rand.NewPCG(3, 4))
	cases := [][2]float64{{2, 10}, {10, 5}, {3, 1}, {0.1, 25}, {7, 0.001}, {1000, 0.3}}
	for range 200 {
		cases = append(cases, [2]float64{rng.Float64() * 100, rng.Float64() * 10})
	}
	for _, c := range cases {
		rps, d := c[0], seconds(c[1])
		if d <= 0 || rps <= 0 {
			continue
		}
		if got, want := constantArrivals(rps, d), count(rps, d); got != want {
			t.Errorf("constantArrivals(%v, %v) = %d; want %d", rps, d, got, want)
		}
	}
	if got := constantArrivals(MaxRPS, MaxDuration); got != 864_000_000 {
		t.Errorf("constantArrivals at the limits = %d; want 864000000", got)
	}
}

func TestConstantRateDropsInClosedForm(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := mustDriver(t, fakeRequester{total: time.Hour}, ConstantRate{RPS: MaxRPS}, WithDuration(MaxDuration), WithMaxInFlight(1), WithGrace(0))
		_, info, err := collect(t, d, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if info.Issued+info.Dropped != 864_000_000 {
			t.Errorf("issued %d + dropped %d; want 864000000 arrivals", info.Issued, info.Dropped)
		}
	})
}
