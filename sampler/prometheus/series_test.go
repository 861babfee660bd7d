package prometheus

import (
	"math"
	"testing"

	"github.com/prometheus/common/model"
)

// samples builds samples at times ts (ms) with values vs.
func samples(ts []int64, vs []float64) []model.SamplePair {
	out := make([]model.SamplePair, len(ts))
	for i := range ts {
		out[i] = model.SamplePair{Timestamp: model.Time(ts[i]), Value: model.SampleValue(vs[i])}
	}
	return out
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v; want %v", what, got, want)
	}
}

func TestCounterCurve(t *testing.T) {
	// 100 units/s sampled every second.
	s := &series{counter: true, keepAll: true}
	s.add(samples([]int64{0, 1000, 2000, 3000}, []float64{0, 100, 200, 300}))
	near(t, "interpolated", s.valueAt(1500), 150)
	near(t, "before the first sample", s.valueAt(-500), 0)
	near(t, "extrapolated 1 interval", s.valueAt(4000), 400)
	near(t, "extrapolated 1.5 intervals", s.valueAt(4500), 450)
	near(t, "not live: held at the last sample", s.valueAt(4600), 300)
	if s.spacing() != 1000 || s.heldFor() != 0 || s.resets != 0 {
		t.Errorf("spacing %d, heldFor %d, resets %d; want 1000, 0, 0", s.spacing(), s.heldFor(), s.resets)
	}
	// Samples already seen are not added twice.
	s.add(samples([]int64{2000, 3000, 4000}, []float64{200, 300, 400}))
	if s.samples != 5 {
		t.Errorf("%d samples after an overlapping add; want 5", s.samples)
	}
}

// TestCounterFirstSegment: the segment from the first sample gives no
// slope, as the first sample may fall inside a held value.
func TestCounterFirstSegment(t *testing.T) {
	s := &series{counter: true}
	s.add(samples([]int64{0, 1000}, []float64{0, 300})) // 3 s of energy appeared 1 s after the first sample
	if _, ok := s.slope(); ok {
		t.Fatal("a slope from the first sample")
	}
	near(t, "held without a slope", s.valueAt(1500), 300)
	s.add(samples([]int64{2000, 3000, 4000}, []float64{300, 300, 600}))
	if sl, ok := s.slope(); !ok || sl != 0.1 {
		t.Errorf("slope = %v, %v; want 0.1 per ms", sl, ok)
	}
}

// TestCounterReset: a counter that restarts from 0 goes on from its last
// point by the slope before the reset over the step, when that is larger
// than the raw value after it.
func TestCounterReset(t *testing.T) {
	s := &series{counter: true, keepAll: true}
	// 100/s; restarts from 0 at 2.5 s, so reads 50 at 3 s.
	s.add(samples([]int64{0, 1000, 2000, 3000, 4000}, []float64{1000, 1100, 1200, 50, 150}))
	if s.resets != 1 || len(s.resetsAt) != 1 || s.resetsAt[0] != 3000 {
		t.Fatalf("resets %d at %v; want 1 at 3000", s.resets, s.resetsAt)
	}
	near(t, "bridged", s.bridgedAt[0], 50)
	near(t, "after the reset", s.valueAt(4000), 1400)
	near(t, "growth over the reset", s.valueAt(3500)-s.valueAt(1500), 200)

	// A raw value above the slope's estimate (the power rose) counts.
	s = &series{counter: true}
	s.add(samples([]int64{0, 1000, 2000, 3000}, []float64{1000, 1100, 1200, 180}))
	near(t, "raw growth kept", s.valueAt(3000), 1380)
	near(t, "nothing bridged", s.bridgedAt[0], 0)

	// No slope before the reset: the raw value only.
	s = &series{counter: true}
	s.add(samples([]int64{0, 1000}, []float64{1000, 30}))
	near(t, "no slope", s.valueAt(1000), 1030)
}

// TestCounterHeld: an exporter that updates its counter every 5 s, scraped
// every second; values count from their first appearance.
func TestCounterHeld(t *testing.T) {
	s := &series{counter: true, keepAll: true}
	var ts []int64
	var vs []float64
	for i := int64(0); i <= 30; i++ { // the first sample at 2 s into a hold
		ts = append(ts, i*1000)
		vs = append(vs, float64((i+2)/5*5)*100) // 100/s, updated at multiples of 5 s (-2 s)
	}
	s.add(samples(ts, vs))
	if got := s.heldFor(); got != 5000 {
		t.Errorf("heldFor = %d; want 5000", got)
	}
	if s.repeats == 0 {
		t.Error("no repeats counted")
	}
	// Points at the first appearances (3 s, 8 s, …) carry the values of
	// the updates, so differences between them are exact.
	near(t, "growth between first appearances", s.valueAt(23000)-s.valueAt(8000), 1500)
	near(t, "growth at any offset", s.valueAt(20500)-s.valueAt(10500), 1000)
}

func TestStale(t *testing.T) {
	s := &series{}
	s.add(samples([]int64{0, 1000, 2000}, []float64{1, 2, 3}))
	if s.stale(5000) || !s.stale(5001) {
		t.Errorf("stale(5000) = %v, stale(5001) = %v; want false, true (three intervals)", s.stale(5000), s.stale(5001))
	}
	one := &series{}
	one.add(samples([]int64{0}, []float64{1}))
	if one.stale(1e9) {
		t.Error("a series with one sample, whose interval is unknown, is stale")
	}
}
