package sampler

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/benchprof/benchprof/internal/stats"
)

// Stats is the scheduler's account of one sampler over a run: the
// instrument's own quality, reported beside its readings.
type Stats struct {
	Sampler  string
	Interval time.Duration
	// Readings counts ticks whose Sample succeeded; Errors those whose
	// Sample failed; Missed the ticks skipped because a read overran.
	Readings int64
	Errors   int64
	Missed   int64
	// LastError is the text of the most recent Sample error.
	LastError string
	// IntervalMean, IntervalP50 and IntervalP99 describe the achieved
	// interval between consecutive readings (numpy-linear percentiles).
	IntervalMean time.Duration
	IntervalP50  time.Duration
	IntervalP99  time.Duration
	// ReadMean and ReadP99 describe how long one Sample call took.
	ReadMean time.Duration
	ReadP99  time.Duration
}

// ClosingTick is the Tick of the closing reading Run takes when its
// context ends: it was not due on the schedule.
const ClosingTick = -1

// Run samples s at ticks due at origin + i·interval, i = 0, 1, …, until ctx
// is done, and passes every reading to sink (from Run's goroutine; sink
// must not block long). A tick starts when due; if the previous read
// overran so that a tick is more than half an interval late, that tick is
// skipped and counted as missed, never queued, so the schedule does not
// drift. Each reading carries the monotonic offset from origin at the
// midpoint of its read. A failing Sample counts as an error and sampling
// goes on.
//
// When ctx is done, Run takes one closing reading (Tick ClosingTick) at
// once — with SampleFull when s is a FullSampler, so that it holds every
// value — with a context that is not cancelled but bounded by the larger of
// the interval and 100 ms, so that the readings reach the moment sampling
// was stopped: a window that ends between two ticks is covered to its end,
// and no energy at its edge is lost. Then Run returns; it starts no
// goroutines.
func Run(ctx context.Context, s Sampler, interval time.Duration, origin time.Time, sink func(Reading)) (Stats, error) {
	st := Stats{Sampler: s.Name(), Interval: interval}
	if interval <= 0 {
		return st, fmt.Errorf("sampler %s: interval must be positive, got %v", st.Sampler, interval)
	}
	if sink == nil {
		sink = func(Reading) {}
	}
	var (
		intervals []time.Duration
		reads     []time.Duration
		lastAt    time.Duration = -1
		buf       []DeviceReading
	)
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	tolerance := interval / 2
	lead := min(wakeLead, interval/4)
	tick := int64(0)
	// Start at the first tick not already past.
	if late := time.Since(origin); late > tolerance {
		tick = int64((late - tolerance + interval - 1) / interval)
	}
	for {
		due := origin.Add(time.Duration(tick) * interval)
		if !waitUntil(ctx, timer, due, lead) {
			return st.close(ctx, s, origin, interval, intervals, reads, buf, sink), nil
		}
		before := time.Now()
		var err error
		buf, err = s.Sample(ctx, buf[:0])
		after := time.Now()
		reads = append(reads, after.Sub(before))
		at := before.Add(after.Sub(before) / 2).Sub(origin)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				return st.close(ctx, s, origin, interval, intervals, reads, buf, sink), nil
			}
			st.Errors++
			st.LastError = err.Error()
		} else {
			st.Readings++
			if lastAt >= 0 {
				intervals = append(intervals, at-lastAt)
			}
			lastAt = at
			sink(Reading{Sampler: st.Sampler, Tick: tick, At: at, Devices: slices.Clone(buf)})
		}
		// The next tick that is not more than tolerance late.
		next := tick + 1
		if late := after.Sub(origin.Add(time.Duration(next) * interval)); late > tolerance {
			skip := int64((late - tolerance + interval - 1) / interval)
			st.Missed += skip
			next += skip
		}
		tick = next
	}
}

// wakeLead is how long before a tick is due the scheduler's timer fires.
// On Linux, Go's timers wake an idle program up to about a millisecond
// late: the runtime's poller sleeps in whole milliseconds (a 9.4 ms wait
// is 9 ms, then 1 ms), so a tick due at 10 ms starts anywhere in
// [10.0, 11.1] ms, and an achieved-interval p99 of 11 ms is that and
// nothing else. The timer therefore fires one lead early, and the rest
// is slept in one high-resolution sleep (see preciseSleep).
const wakeLead = 1250 * time.Microsecond

// waitUntil blocks until due and reports true, or false if ctx ended
// first. It sleeps on timer until lead before due, then sleeps what is
// left precisely: this blocks the goroutine's thread for at most lead,
// without spinning, and a cancellation then waits at most that long.
//
// The precise sleep covers only the part of the wait the timer could not:
// it is used when the timer woke inside the lead, as a real clock's timer
// does. A timer that woke exactly at its target, as a fake clock's does
// (testing/synctest), finishes the wait itself, since a real sleep would
// not move a fake clock; so does a wait shorter than the lead, which no
// timer preceded.
func waitUntil(ctx context.Context, timer *time.Timer, due time.Time, lead time.Duration) bool {
	wait := time.Until(due)
	if wait <= 0 {
		return ctx.Err() == nil
	}
	if wait > lead {
		timer.Reset(wait - lead)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return false
		}
		if rem := time.Until(due); rem > 0 && rem < lead {
			preciseSleep(due)
		}
	}
	if rem := time.Until(due); rem > 0 {
		timer.Reset(rem)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return false
		}
	}
	return ctx.Err() == nil
}

// close takes the closing reading and returns the final Stats. The closing
// reading counts as a reading (or an error) but not in the achieved
// intervals, since it was not on the schedule.
func (st Stats) close(ctx context.Context, s Sampler, origin time.Time, interval time.Duration,
	intervals, reads []time.Duration, buf []DeviceReading, sink func(Reading)) Stats {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(interval, 100*time.Millisecond))
	defer cancel()
	sample := s.Sample
	if f, ok := s.(FullSampler); ok {
		sample = f.SampleFull
	}
	before := time.Now()
	buf, err := sample(cctx, buf[:0])
	after := time.Now()
	reads = append(reads, after.Sub(before))
	if err != nil {
		st.Errors++
		st.LastError = err.Error()
	} else {
		st.Readings++
		at := before.Add(after.Sub(before) / 2).Sub(origin)
		sink(Reading{Sampler: st.Sampler, Tick: ClosingTick, At: at, Devices: slices.Clone(buf)})
	}
	return st.finish(intervals, reads)
}

func (st Stats) finish(intervals, reads []time.Duration) Stats {
	st.IntervalMean, st.IntervalP50, st.IntervalP99 = summarize(intervals)
	st.ReadMean, _, st.ReadP99 = summarize(reads)
	return st
}

// summarize returns the mean, p50 and p99 of ds.
func summarize(ds []time.Duration) (mean, p50, p99 time.Duration) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	fs := make([]float64, len(ds))
	var sum float64
	for i, d := range ds {
		fs[i] = float64(d)
		sum += fs[i]
	}
	slices.Sort(fs)
	return time.Duration(sum / float64(len(fs))), time.Duration(stats.Percentile(fs, 50)), time.Duration(stats.Percentile(fs, 99))
}
