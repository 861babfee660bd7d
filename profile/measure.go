package profile

import (
	"fmt"

	"github.com/benchprof/benchprof/energy"
)

// measure computes what the run measured: the latency metrics over the
// measurement window and the energy figures over the same window.
func (r *run) measure(x *execution) (*measurement, error) {
	m := &measurement{summary: x.summarizer.Summary()}
	r.res.Summary = m.summary
	for _, w := range m.summary.Warnings {
		r.warn("metrics: " + w)
	}
	// Result offsets count from the load's start; readings from x.origin.
	if x.info != nil && !x.info.Start.IsZero() {
		m.offset = x.info.Start.Sub(x.origin)
		r.res.TraceOffset = m.offset
	} else {
		r.warn("the load generator reported no start time; telemetry is aligned with the requests as if the load started with the samplers")
	}
	m.window = energy.Window{Start: m.offset + m.summary.WindowStart, End: m.offset + m.summary.WindowEnd}
	rep, err := r.energyReport(x, m.window, m.summary.OutputTokens, m.offset)
	if err != nil {
		return nil, fmt.Errorf("profile: energy: %w", err)
	}
	m.energy, r.res.Energy = rep, rep
	for _, w := range rep.Warnings {
		r.warn("energy: " + w)
	}
	noteUnavailable(r.res, rep, x.tel)
	if f, _ := rep.Figure(energy.KeyEnergyJoulesGPU); r.c.requireGPU && !f.Measured {
		return nil, fmt.Errorf("%w (profile.WithRequireGPU): no GPU energy was measured over the window (%s); nothing was signed, the trace is in %s and the timeline in %s",
			ErrNoGPUTelemetry, f.Reason, r.res.TracePath, r.res.TimelinePath)
	}
	r.res.Warnings = collapseWarnings(r.res.Warnings)
	return m, nil
}
