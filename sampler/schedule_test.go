package sampler

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// sleepy takes read of (fake) time per Sample and fails when fail says so.
type sleepy struct {
	read time.Duration
	fail func(n int) bool
	n    int
}

func (s *sleepy) Name() string { return "fake" }
func (s *sleepy) Close() error { return nil }
func (s *sleepy) Sample(ctx context.Context, dst []DeviceReading) ([]DeviceReading, error) {
	s.n++
	time.Sleep(s.read)
	if s.fail != nil && s.fail(s.n) {
		return dst, errors.New("read failed")
	}
	d := NewDeviceReading("gpu0", KindGPU)
	d.PowerW = 100
	return append(dst, d), nil
}

func runFor(t *testing.T, s Sampler, interval, d time.Duration) ([]Reading, Stats) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var rs []Reading
	st, err := Run(ctx, s, interval, time.Now(), func(r Reading) { rs = append(rs, r) })
	if err != nil {
		t.Fatal(err)
	}
	return rs, st
}

func TestRunHoldsSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs, st := runFor(t, &sleepy{read: time.Millisecond}, 10*time.Millisecond, time.Second+5*time.Millisecond)
		if len(rs) != 102 || st.Readings != 102 || st.Missed != 0 || st.Errors != 0 {
			t.Fatalf("%d readings, stats %+v; want 101 on time and the closing one", len(rs), st)
		}
		// The closing reading is taken when the context ends, 5 ms after
		// the last tick: the readings reach the end of the window.
		if c := rs[101]; c.Tick != ClosingTick || c.At != time.Second+5*time.Millisecond+500*time.Microsecond {
			t.Fatalf("closing reading tick %d at %v; want tick %d at 1.0055s", c.Tick, c.At, ClosingTick)
		}
		for i, r := range rs[:101] {
			if want := time.Duration(i)*10*time.Millisecond + 500*time.Microsecond; r.At != want || r.Tick != int64(i) {
				t.Fatalf("reading %d at %v tick %d; want %v", i, r.At, r.Tick, want)
			}
		}
		if st.IntervalP50 != 10*time.Millisecond || st.IntervalP99 != 10*time.Millisecond || st.ReadP99 != time.Millisecond {
			t.Errorf("stats %+v", st)
		}
	})
}

// TestRunSkipsOverruns: a read longer than the interval makes ticks late;
// those more than half an interval late are missed, not queued.
func TestRunSkipsOverruns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs, st := runFor(t, &sleepy{read: 15 * time.Millisecond}, 10*time.Millisecond, 300*time.Millisecond)
		if st.Missed == 0 {
			t.Fatalf("stats %+v; want missed ticks", st)
		}
		if rs[len(rs)-1].Tick != ClosingTick {
			t.Fatalf("the last reading is not the closing one: %+v", rs[len(rs)-1])
		}
		rs = rs[:len(rs)-1]
		last := rs[len(rs)-1].Tick
		// The skip after the last reading may already be counted.
		if got := st.Readings - 1 + st.Missed; got < last+1 || got > last+2 {
			t.Errorf("readings %d + missed %d do not account for %d ticks", st.Readings, st.Missed, last+1)
		}
		for _, r := range rs {
			due := time.Duration(r.Tick) * 10 * time.Millisecond
			if start := r.At - 7500*time.Microsecond; start-due > 5*time.Millisecond {
				t.Errorf("tick %d started %v late", r.Tick, start-due)
			}
		}
	})
}

func TestRunCountsErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Ten scheduled reads, every second one failing, and the closing
		// read (the eleventh), which succeeds.
		rs, st := runFor(t, &sleepy{fail: func(n int) bool { return n%2 == 0 }}, 10*time.Millisecond, 95*time.Millisecond)
		if st.Errors != 5 || st.Readings != 6 || len(rs) != 6 || st.LastError != "read failed" {
			t.Fatalf("stats %+v, %d readings", st, len(rs))
		}
	})
}

func TestRunRejectsBadInterval(t *testing.T) {
	if _, err := Run(context.Background(), &sleepy{}, 0, time.Now(), nil); err == nil {
		t.Fatal("interval 0 accepted")
	}
}
