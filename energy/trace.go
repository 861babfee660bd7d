package energy

// Times inside this file are float64 nanoseconds from the run's origin:
// exact for offsets below 2^53 ns (104 days), so that differences of
// integer-nanosecond times are exact. Areas are in unit·ns and divided by
// 1e9 once, at the end, which keeps round figures exact (100 W over ten
// 1-second steps is exactly 1000 J).

// lerp returns the value at x of the line through (ta, va) and (tb, vb),
// exactly va at ta and exactly vb at tb.
func lerp(ta, va, tb, vb, x float64) float64 {
	switch x {
	case ta:
		return va
	case tb:
		return vb
	}
	return va + (vb-va)*((x-ta)/(tb-ta))
}

// linTrace integrates a sampled quantity (power, utilization) over the
// window with the trapezoid rule on the linear interpolation between
// consecutive points, clipped to the window: a step (ta, tb) contributes
// over [max(ta, S), min(tb, E)] with its end values interpolated.
type linTrace struct {
	n            int64
	prevT, prevV float64
	area         float64 // ∫ v dt over the window, unit·ns
	covered      float64 // window time inside steps, ns
	peak         float64 // max v over points inside the window
	peakOK       bool
}

// add appends the point (t, v); t must exceed the previous point's time.
func (l *linTrace) add(t, v, s, e float64) {
	if l.n > 0 {
		u, w := max(l.prevT, s), min(t, e)
		if w > u {
			vu := lerp(l.prevT, l.prevV, t, v, u)
			vw := lerp(l.prevT, l.prevV, t, v, w)
			l.area += (w - u) * (vu + vw) / 2
			l.covered += w - u
		}
	}
	if t >= s && t <= e && (!l.peakOK || v > l.peak) {
		l.peak, l.peakOK = v, true
	}
	l.n++
	l.prevT, l.prevV = t, v
}

// mean returns area / covered, the time-weighted mean over the covered
// part of the window.
func (l *linTrace) mean() (float64, bool) {
	if l.covered <= 0 {
		return 0, false
	}
	return l.area / l.covered, true
}

// counterTrace measures the growth of a cumulative counter between the
// window's edges, each edge value interpolated linearly between the two
// points around it.
type counterTrace struct {
	n              int64
	prevT, prevE   float64
	firstT         float64
	start, end     float64
	startOK, endOK bool
	// decreased records the first step overlapping the window in which
	// the counter went down.
	decreased   bool
	decT, decBy float64
}

func (c *counterTrace) add(t, v, s, e float64) {
	if c.n > 0 && t > s && c.prevT < e && !c.decreased {
		if _, ok := counterGrowth(c.prevE, v); !ok {
			c.decreased, c.decT, c.decBy = true, t, c.prevE-v
		}
	}
	if !c.startOK && t >= s {
		if c.n > 0 {
			c.start = lerp(c.prevT, c.prevE, t, v, s)
		} else {
			c.start = v // clamped: the points start at or after Start
		}
		c.startOK = true
	}
	if !c.endOK && t >= e {
		if c.n > 0 {
			c.end = lerp(c.prevT, c.prevE, t, v, e)
		} else {
			c.end = v
		}
		c.endOK = true
	}
	if c.n == 0 {
		c.firstT = t
	}
	c.n++
	c.prevT, c.prevE = t, v
}

// delta returns the counter's growth over the window: E(End) − E(Start).
// When the points start after Start, E(Start) is the first point's value;
// when they end before End, E(End) is the last point's value (clamping:
// energy outside the points is not counted). ok is false, with a reason,
// when no two points span part of the window or the counter decreased.
func (c *counterTrace) delta(s, e float64) (v float64, reason string) {
	switch {
	case c.n == 0:
		return 0, "no energy counter readings"
	case c.prevT < s:
		return 0, "the energy counter readings end before the window starts"
	case c.firstT > e:
		return 0, "the energy counter readings start after the window ends"
	case min(c.prevT, e)-max(c.firstT, s) <= 0:
		return 0, "fewer than two energy counter readings span the window"
	case c.decreased:
		return 0, "the energy counter went down by " + fmtJ(c.decBy) + " at " + fmtNs(c.decT) +
			" (a reset or wrap the sampler did not correct)"
	}
	end := c.end
	if !c.endOK {
		end = c.prevE
	}
	return end - c.start, ""
}
