package prometheus

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/internal/exporters"
)

// WindowEnergy returns each device's energy over [start, end] from
// Prometheus's own samples of its energy counter, queried after the fact:
// one range selector per selector, over the window plus three sample
// intervals before it (three update periods for a counter the exporter
// holds between collections), evaluated once samples past end have landed
// (WindowEnergy waits up to two sample intervals past end for them,
// within ctx).
//
// The counter's corrected curve (see the package documentation) is
// interpolated at both edges between the samples on either side, so the
// figure depends on no sample falling on an edge, nor on whether the
// server's range selectors include the range's start (Prometheus 2.x) or
// not (3.x). Where no sample past end has landed yet, the curve is
// extrapolated from its last two values, as increase() does, by at most
// 1.5 sample intervals. Each device's Warnings say when its counter was
// reset inside the window (how much energy was bridged), when its series
// began late or ended early (the coverage, and whether its target is down),
// and when its exporter updates the counter less often than it is scraped.
// A device without an energy counter, or without samples in the window,
// has EnergyJ NaN.
//
// The figure over a window is Prometheus's increase() computed from the
// same samples, with resets bridged rather than losing the energy between
// the last sample before a reset and the reset, and with edges
// interpolated rather than extrapolated wherever samples allow.
func (s *Sampler) WindowEnergy(ctx context.Context, start, end time.Time) ([]sampler.DeviceEnergy, error) {
	if !end.After(start) {
		return nil, fmt.Errorf("prometheus: window energy: end %v is not after start %v", end, start)
	}
	if !s.enter() {
		return nil, ErrClosed
	}
	defer s.inflight.Done()

	t0, t1 := start.UnixMilli(), end.UnixMilli()
	s.mu.Lock()
	var sp, held int64
	for _, d := range s.devices {
		if d.energy != nil {
			sp = max(sp, d.energy.spacing())
			held = max(held, d.energy.heldFor())
		}
	}
	s.mu.Unlock()
	if sp == 0 {
		sp = 1000
	}
	// Samples from three intervals before start (three update periods of
	// a held counter) put the start edge between two points of the curve.
	margin := 3 * max(sp, held)
	deadline := t1 + 2*sp
	// The wait is bounded on the server's clock (deadline) and, should
	// that clock not move, in real time by the same length.
	budget := time.Duration(deadline-s.now().UnixMilli()) * time.Millisecond
	waitStart := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		now := s.now()
		curves, err := s.curves(ctx, now, t0-margin)
		if err != nil {
			return nil, err
		}
		waiting := false
		for _, c := range curves {
			if c.lastT < t1 && c.live(now.UnixMilli()) {
				waiting = true
			}
		}
		if !waiting || now.UnixMilli() >= deadline || time.Since(waitStart) >= budget {
			return s.windowEnergy(ctx, curves, t0, t1, end), nil
		}
		timer.Reset(min(s.poll, time.Duration(sp/4)*time.Millisecond, time.Duration(deadline-now.UnixMilli())*time.Millisecond))
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("prometheus: window energy: %w", ctx.Err())
		case <-timer.C:
		}
	}
}

// curves queries, at now, the samples since from (Unix ms) of the energy
// series Open fixed, and returns each one's full curve by series key.
func (s *Sampler) curves(ctx context.Context, now time.Time, from int64) (map[string]*series, error) {
	out := map[string]*series{}
	var errs []error
	for _, g := range s.groups {
		if !g.matched {
			continue
		}
		r := time.Duration(now.UnixMilli()-from) * time.Millisecond
		raw, _, err := s.c.querySamples(ctx, g.used.vector(g.energy)+rangeOf(r), now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s query: %w", g.what, err))
			continue
		}
		s.mu.Lock()
		for _, rs := range raw {
			if g.series[rs.key] == nil {
				continue // not a series Open fixed
			}
			if sr := newSeries(g, rs, true); sr != nil {
				out[rs.key] = sr
			}
		}
		s.mu.Unlock()
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("prometheus: window energy: %w", err)
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("prometheus: window energy: %w", errors.Join(errs...))
	}
	return out, nil
}

// windowEnergy computes each device's figure from the curves.
func (s *Sampler) windowEnergy(ctx context.Context, curves map[string]*series, t0, t1 int64, end time.Time) []sampler.DeviceEnergy {
	var out []sampler.DeviceEnergy
	win := float64(t1 - t0)
	for _, d := range s.devices {
		de := sampler.DeviceEnergy{Device: d.name, Kind: d.kind, EnergyJ: sampler.Absent()}
		if d.energy == nil {
			de.Warnings = append(de.Warnings, "no energy counter among its series (integrate its power instead)")
			out = append(out, de)
			continue
		}
		c := curves[d.energy.key]
		if c == nil || c.lastT < t0 || c.firstT > t1 {
			de.Warnings = append(de.Warnings, fmt.Sprintf("no sample of %s inside the window", d.energy.key))
			out = append(out, de)
			continue
		}
		j := exporters.JoulesPer(c.metric)
		de.EnergyJ = (c.valueAt(t1) - c.valueAt(t0)) * j
		from, to := max(t0, c.firstT), t1
		ended := c.lastT < t1 && !c.live(t1)
		if ended {
			to = c.lastT
		}
		de.Covered = time.Duration(max(to-from, 0)) * time.Millisecond
		at := func(t int64) string { return strconv.FormatFloat(float64(t-t0)/1000, 'f', 1, 64) + " s" }
		if c.firstT > t0 {
			de.Warnings = append(de.Warnings, fmt.Sprintf("its series has no sample before %s into the window: the energy before is not counted (%.1f%% of the window covered)", at(c.firstT), 100*float64(to-from)/win))
		}
		if ended {
			w := fmt.Sprintf("its series' last sample is at %s, %.1f s before the window's end: the energy after it is not counted (%.1f%% of the window covered)", at(c.lastT), float64(t1-c.lastT)/1000, 100*float64(to-from)/win)
			if up := s.targetUp(ctx, c, end); up != "" {
				w += "; " + up
			}
			de.Warnings = append(de.Warnings, w)
		} else if c.lastT < t1 {
			de.Warnings = append(de.Warnings, fmt.Sprintf("no sample past the window's end yet: its last %.1f s are extrapolated from the counter's last slope", float64(t1-c.lastT)/1000))
		}
		var resets []string
		var bridged float64
		for i, rt := range c.resetsAt {
			if rt > t0 && rt <= t1+c.spacing() {
				resets = append(resets, at(rt))
				bridged += c.bridgedAt[i] * j
			}
		}
		if len(resets) > 0 {
			de.Warnings = append(de.Warnings, fmt.Sprintf("its counter was reset %d times in the window (seen at %s): each reset is bridged with the slope before it, which adds %.4g J (%.2f%% of the figure) that the raw values lose",
				len(resets), strings.Join(resets, ", "), bridged, 100*bridged/de.EnergyJ))
		}
		if c.heldFor() > 0 {
			de.Warnings = append(de.Warnings, heldNote(d.name, c))
		}
		out = append(out, de)
	}
	return out
}

// targetUp says whether the target that exposed c is up at end, "" when
// Prometheus cannot say.
func (s *Sampler) targetUp(ctx context.Context, c *series, end time.Time) string {
	job, inst := c.label("job"), c.label("instance")
	if job == "" || inst == "" {
		return ""
	}
	sel := selector{{"job", "=", job}, {"instance", "=", inst}}
	v, err := s.c.queryVector(ctx, "up{"+sel.String()+"}", end)
	switch {
	case err != nil:
		return ""
	case len(v) == 0:
		return fmt.Sprintf("its target %s/%s is no longer scraped", job, inst)
	case v[0].Value == 0:
		return fmt.Sprintf("its target %s/%s is down (up == 0)", job, inst)
	default:
		return fmt.Sprintf("its target %s/%s is up: the series itself is gone (a GPU, pod or label change)", job, inst)
	}
}
