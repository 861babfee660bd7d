package timeline

import (
	"math"
	"slices"
	"time"
)

// ---- Bins ----------------------------------------------------------------

// Times below are int64 nanoseconds on one clock: the timeline's for the
// sampled series, the trace's for its bins.

// baseBin is the narrowest bin of the sampled series and the in-flight
// count; bins widen by doubling from it.
const baseBin = int64(time.Millisecond)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// grid is a run of consecutive fixed-width time bins: bin k covers
// [k·width, (k+1)·width). It never holds more than limit bins; when a new
// time would need more, the width doubles and neighbouring bins merge, as
// often as needed. Times may arrive in any order.
type grid[B any] struct {
	width int64
	lo    int64 // index of b[0]
	b     []B
	limit int
	merge func(dst, src *B)
	// flatten, if set, is called before bins merge (see areaBin).
	flatten func(g *grid[B])
}

// fit makes room for times t0 ≤ t1, widening the bins if needed.
func (g *grid[B]) fit(t0, t1 int64) {
	for {
		k0, k1 := floorDiv(t0, g.width), floorDiv(t1, g.width)
		lo, hi := k0, k1
		if len(g.b) > 0 {
			lo, hi = min(lo, g.lo), max(hi, g.lo+int64(len(g.b))-1)
		}
		if hi-lo < int64(g.limit) {
			g.grow(lo, hi)
			return
		}
		g.coarsen()
	}
}

func (g *grid[B]) grow(lo, hi int64) {
	if len(g.b) == 0 {
		g.lo, g.b = lo, make([]B, hi-lo+1)
		return
	}
	if lo < g.lo {
		g.b = append(make([]B, g.lo-lo, int64(len(g.b))+g.lo-lo), g.b...)
		g.lo = lo
	}
	if n := hi - g.lo + 1; n > int64(len(g.b)) {
		g.b = append(g.b, make([]B, n-int64(len(g.b)))...)
	}
}

func (g *grid[B]) coarsen() {
	if len(g.b) > 0 {
		if g.flatten != nil {
			g.flatten(g)
		}
		nlo := floorDiv(g.lo, 2)
		nb := make([]B, floorDiv(g.lo+int64(len(g.b))-1, 2)-nlo+1)
		for i := range g.b {
			g.merge(&nb[floorDiv(g.lo+int64(i), 2)-nlo], &g.b[i])
		}
		g.lo, g.b = nlo, nb
	}
	g.width *= 2
}

// bin returns the bin of t, which fit must have made room for.
func (g *grid[B]) bin(t int64) *B { return &g.b[floorDiv(t, g.width)-g.lo] }

// start returns the start time of b[i].
func (g *grid[B]) start(i int) int64 { return (g.lo + int64(i)) * g.width }

type pt struct {
	t int64
	v float64
}

// m4 keeps the first, lowest, highest and last point of a bin (the M4
// aggregation: drawing these four per pixel column draws the same line as
// all the points).
type m4 struct {
	n                      int64
	first, last, low, high pt
}

func (b *m4) add(p pt) {
	if b.n == 0 {
		*b = m4{n: 1, first: p, last: p, low: p, high: p}
		return
	}
	b.n++
	if p.t < b.first.t {
		b.first = p
	}
	if p.t >= b.last.t {
		b.last = p
	}
	if p.v < b.low.v {
		b.low = p
	}
	if p.v > b.high.v {
		b.high = p
	}
}

func mergeM4(dst, src *m4) {
	if src.n == 0 {
		return
	}
	if dst.n == 0 {
		*dst = *src
		return
	}
	dst.n += src.n
	if src.first.t < dst.first.t {
		dst.first = src.first
	}
	if src.last.t >= dst.last.t {
		dst.last = src.last
	}
	if src.low.v < dst.low.v {
		dst.low = src.low
	}
	if src.high.v > dst.high.v {
		dst.high = src.high
	}
}

// series is a sampled quantity, downsampled with m4 bins.
type series struct {
	g grid[m4]
	n int64 // points added
}

func newSeries(maxPoints int) *series {
	return &series{g: grid[m4]{width: baseBin, limit: max(maxPoints/4, 1), merge: mergeM4}}
}

func (s *series) add(t int64, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	s.n++
	s.g.fit(t, t)
	s.g.bin(t).add(pt{t, v})
}

// points returns the kept points in time order.
func (s *series) points() []pt {
	var out []pt
	for i := range s.g.b {
		b := &s.g.b[i]
		if b.n == 0 {
			continue
		}
		four := []pt{b.first, b.low, b.high, b.last}
		slices.SortStableFunc(four, func(x, y pt) int { return cmpInt(x.t, y.t) })
		for _, p := range four {
			if len(out) > 0 && out[len(out)-1] == p {
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// areaBin accumulates the time integral of a count. Intervals that cover a
// bin wholly add to a difference array (full) instead of bin by bin, so an
// interval costs O(1) whatever its length; flatten folds full into area
// before bins merge.
type areaBin struct {
	area int64 // count·ns from intervals that end or start inside the bin
	full int64 // difference of the number of intervals covering whole bins
}

func mergeArea(dst, src *areaBin) { dst.area += src.area; dst.full += src.full }

func flattenArea(g *grid[areaBin]) {
	var c int64
	for i := range g.b {
		c += g.b[i].full
		g.b[i].area += c * g.width
		g.b[i].full = 0
	}
}

// addInterval adds 1 over [s, e).
func addInterval(g *grid[areaBin], s, e int64) {
	g.fit(s, e)
	ks, ke := floorDiv(s, g.width), floorDiv(e, g.width)
	if ks == ke {
		g.b[ks-g.lo].area += e - s
		return
	}
	g.b[ks-g.lo].area += (ks+1)*g.width - s
	g.b[ke-g.lo].area += e - ke*g.width
	if ke > ks+1 {
		g.b[ks+1-g.lo].full++
		g.b[ke-g.lo].full--
	}
}

// areaMeans returns the time-weighted mean count of each bin.
func areaMeans(g *grid[areaBin]) []float64 {
	out := make([]float64, len(g.b))
	var c int64
	for i, b := range g.b {
		c += b.full
		out[i] = float64(b.area+c*g.width) / float64(g.width)
	}
	return out
}

// steps turns per-bin values into the corners of a step line, moved by
// offset.
func steps[B any](g *grid[B], vals []float64, offset, end int64) []pt {
	var out []pt
	for i, v := range vals {
		t := g.start(i) + offset
		if i == 0 {
			out = append(out, pt{t, v})
		} else if v != vals[i-1] {
			out = append(out, pt{t, vals[i-1]}, pt{t, v})
		}
	}
	if len(vals) > 0 { // the last step ends with the data, not with its bin
		out = append(out, pt{min(g.start(len(vals)), max(end, g.start(len(vals)-1))) + offset, vals[len(vals)-1]})
	}
	return out
}

// span tracks the earliest and latest time seen.
type span struct {
	ok     bool
	lo, hi int64
}

func (s *span) add(t int64) {
	if !s.ok {
		s.ok, s.lo, s.hi = true, t, t
		return
	}
	s.lo, s.hi = min(s.lo, t), max(s.hi, t)
}

// shift returns s moved by d.
func (s span) shift(d int64) span {
	if s.ok {
		s.lo, s.hi = s.lo+d, s.hi+d
	}
	return s
}

func (s *span) join(o span) {
	if o.ok {
		s.add(o.lo)
		s.add(o.hi)
	}
}
