package loadgen

import (
	"context"
	"errors"
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
		if info.Elapsed != 10*time.Second {
			t.Errorf("elapsed %v; want 10s", info.Elapsed)
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
