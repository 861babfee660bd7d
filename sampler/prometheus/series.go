package prometheus

import (
	"slices"
	"sort"

	"github.com/prometheus/common/model"

	"github.com/benchprof/benchprof/sampler/internal/exporters"
)

// ring keeps the last few durations (ms) for a median.
type ring struct {
	v [15]int64
	n int // values written so far
}

func (r *ring) push(d int64) { r.v[r.n%len(r.v)] = d; r.n++ }

// count returns how many values the ring holds.
func (r *ring) count() int { return min(r.n, len(r.v)) }

// median returns the median of the values held, 0 when there are none.
func (r *ring) median() int64 {
	k := r.count()
	if k == 0 {
		return 0
	}
	s := slices.Clone(r.v[:k])
	slices.Sort(s)
	return s[k/2]
}

// point is a counter's corrected value (in the exporter's unit) at a time
// (Unix ms).
type point struct {
	t int64
	c float64
}

// series is what the sampler knows of one Prometheus series: its identity,
// the device it feeds, its last sample, and, for an energy counter, the
// curve of its corrected values.
//
// The curve of a counter is made of points: the first sample of each run
// of equal raw values (a value an exporter holds between its collections,
// as dcgm-exporter does, was measured when it first appeared, not when it
// was scraped again), corrected so that it never decreases. A decrease is
// a reset (a driver reload, a RAPL wrap): the counter goes on from its last
// point by the larger of the raw value after the reset (the growth since a
// restart from zero) and the growth the slope before the reset gives over
// the step (the energy between the last sample and the reset, which the
// raw values lose). Between points the curve is linear; past the last
// point it goes on with the last slope (see valueAt). The segment from the
// series' first sample has no slope of its own (see slope).
type series struct {
	metric string
	labels model.Metric
	key    string // labels.String()
	target exporters.Target
	device string // "<host>/<target.Name>"

	samples   int64
	firstT    int64 // Unix ms of the first and last samples
	lastT     int64
	last      float64 // the last raw value
	gaps      ring    // intervals between samples
	counter   bool    // an energy counter: the fields below are kept
	keepAll   bool    // keep every point (a window's curve), not only the last two
	pts       []point
	offset    float64 // corrected = offset + raw, since the last reset
	resets    int64
	repeats   int64     // samples equal to the one before
	changes   ring      // intervals between points
	resetsAt  []int64   // times of the samples after resets, for warnings
	bridgedAt []float64 // the growth each reset added beyond the raw value
}

func (s *series) label(name string) string { return string(s.labels[model.LabelName(name)]) }

// add accounts for the samples of p later than the last one added.
func (s *series) add(p []model.SamplePair) {
	for _, sp := range p {
		t, v := int64(sp.Timestamp), float64(sp.Value)
		if s.samples > 0 && t <= s.lastT {
			continue
		}
		s.addSample(t, v)
	}
}

func (s *series) addSample(t int64, v float64) {
	s.samples++
	if s.samples == 1 {
		s.firstT, s.lastT, s.last = t, t, v
		if s.counter {
			s.pts = append(s.pts, point{t, v})
		}
		return
	}
	s.gaps.push(t - s.lastT)
	prev := s.last
	s.lastT, s.last = t, v
	if !s.counter {
		return
	}
	lp := s.pts[len(s.pts)-1]
	switch {
	case v == prev:
		s.repeats++
		return
	case v > prev:
		s.push(point{t, s.offset + v})
	default: // a reset or a wrap
		s.resets++
		s.resetsAt = append(s.resetsAt, t)
		growth := v
		if slope, ok := s.slope(); ok {
			growth = max(growth, slope*float64(t-lp.t))
		}
		s.bridgedAt = append(s.bridgedAt, growth-v)
		c := lp.c + growth
		s.offset = c - v
		s.push(point{t, c})
	}
	if lp.t != s.firstT {
		s.changes.push(t - lp.t)
	}
}

func (s *series) push(p point) {
	s.pts = append(s.pts, p)
	if !s.keepAll && len(s.pts) > 2 {
		s.pts = append(s.pts[:0], s.pts[len(s.pts)-2:]...)
	}
}

// slope returns the slope of the curve's last segment, per ms. A segment
// from the series' first sample has none: that sample may fall anywhere in
// a period the exporter held its value, so it need not be the value's
// first appearance.
func (s *series) slope() (float64, bool) {
	n := len(s.pts)
	if n < 2 || s.pts[n-1].t <= s.pts[n-2].t || s.pts[n-2].t == s.firstT {
		return 0, false
	}
	a, b := s.pts[n-2], s.pts[n-1]
	return (b.c - a.c) / float64(b.t-a.t), true
}

// spacing returns the median interval between samples (ms), 0 when
// unknown.
func (s *series) spacing() int64 { return s.gaps.median() }

// live reports whether the series' last sample is recent enough at t for
// the counter to be extrapolated to t: no more than 1.5 sample intervals
// before it.
func (s *series) live(t int64) bool {
	sp := s.spacing()
	return sp > 0 && t-s.lastT <= sp*3/2
}

// stale reports whether the series has missed at least two scrapes at t:
// its device's field is then left out of a reading.
func (s *series) stale(t int64) bool {
	sp := s.spacing()
	if sp == 0 {
		return false
	}
	return t-s.lastT > 3*sp
}

// valueAt returns the counter's corrected value at t: interpolated between
// points; before the first point, the first point's value; past the last
// point, extrapolated with the last slope up to t if the series is live at
// t, else only up to its last sample (a series that stopped is not
// extrapolated into the time it was not scraped).
func (s *series) valueAt(t int64) float64 {
	if t > s.lastT && !s.live(t) {
		t = s.lastT
	}
	pts := s.pts
	n := len(pts)
	switch {
	case t <= pts[0].t:
		return pts[0].c
	case t >= pts[n-1].t:
		slope, _ := s.slope()
		return pts[n-1].c + slope*float64(t-pts[n-1].t)
	}
	i := sort.Search(n, func(i int) bool { return pts[i].t >= t })
	a, b := pts[i-1], pts[i]
	return a.c + (b.c-a.c)*float64(t-a.t)/float64(b.t-a.t)
}

// heldFor returns how long the exporter holds the counter's value, when it
// updates it less often than Prometheus scrapes it (the median interval
// between value changes is at least twice the median sample interval,
// over at least two changes); 0 otherwise.
func (s *series) heldFor() int64 {
	if !s.counter || s.changes.count() < 2 {
		return 0
	}
	if ch, sp := s.changes.median(), s.spacing(); sp > 0 && ch >= 2*sp {
		return ch
	}
	return 0
}
