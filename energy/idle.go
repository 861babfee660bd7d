package energy

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/benchprof/benchprof/sampler"
)

// Defaults of the idle baseline's checks (see the package documentation,
// "Idle baseline").
const (
	// DefaultIdleUtilPct is the mean utilization above which a GPU was
	// busy during the idle window, so the engine was not idle.
	DefaultIdleUtilPct = 10.0
	// DefaultIdleSettlePct is how far apart, in percent of their mean, the
	// summed GPU power of the idle window's two halves may be for the
	// power to have settled.
	DefaultIdleSettlePct = 5.0
	// IdleSettleFloorW is the smallest drift between the halves, per GPU,
	// that counts as unsettled whatever DefaultIdleSettlePct says: a
	// sensor's noise on a GPU idling at a few watts is not a trend.
	IdleSettleFloorW = 1.0
)

// WithIdleWindow gives the idle window: a stretch of the timeline, before
// the load, during which the engine was expected to serve nothing. The
// report then has power_idle_w, energy_joules_gpu_above_idle and
// joules_per_token_above_idle, and each GPU its IdlePowerW and
// IdleUtilPct, computed in the same pass as the other figures. Its End must
// be after its Start. By default, if this option is not used, the idle
// figures are absent. A repeat replaces the earlier window.
func WithIdleWindow(w Window) Option {
	return optionFunc(func(c *config) { c.idle, c.idleSet = w, true })
}

// WithIdleUtilThreshold sets the mean GPU utilization, in percent, above
// which a GPU was busy during the idle window (then the idle figures are
// absent). It must be in [0, 100]. By default, if this option is not
// used, it is DefaultIdleUtilPct (10). A repeat replaces the earlier value.
func WithIdleUtilThreshold(pct float64) Option {
	return optionFunc(func(c *config) { c.idleUtilPct = pct })
}

// WithIdleSettleTolerance sets how far apart, in percent of their mean,
// the summed GPU power of the idle window's halves may be (then the idle
// figures are absent: the power had not settled). It must be above 0. By
// default, if this option is not used, it is DefaultIdleSettlePct (5). A
// repeat replaces the earlier value.
func WithIdleSettleTolerance(pct float64) Option {
	return optionFunc(func(c *config) { c.idleSettlePct = pct })
}

func (c *config) validateIdle() error {
	var errs []error
	if c.idleSet && c.idle.End <= c.idle.Start {
		errs = append(errs, fmt.Errorf("energy: idle window end %v is not after its start %v", c.idle.End, c.idle.Start))
	}
	if !(c.idleUtilPct >= 0 && c.idleUtilPct <= 100) {
		errs = append(errs, fmt.Errorf("energy: idle utilization threshold %v%% is outside [0, 100]", c.idleUtilPct))
	}
	if !(c.idleSettlePct > 0) || math.IsInf(c.idleSettlePct, 0) {
		errs = append(errs, fmt.Errorf("energy: idle settle tolerance %v%% is not above 0", c.idleSettlePct))
	}
	return errors.Join(errs...)
}

// devWin follows one device over a sub-window of the timeline: its power
// and utilization traces and its energy counter, clipped to [s, e].
type devWin struct {
	s, e        float64
	power, util linTrace
	counter     counterTrace
}

func (w *devWin) add(t float64, d *sampler.DeviceReading) {
	if finite(d.PowerW) {
		w.power.add(t, d.PowerW, w.s, w.e)
	}
	if finite(d.UtilPct) {
		w.util.add(t, d.UtilPct, w.s, w.e)
	}
	if ct := counterTime(t, d); finite(d.EnergyJ) && (w.counter.n == 0 || ct > w.counter.prevT) {
		w.counter.add(ct, d.EnergyJ, w.s, w.e)
	}
}

// energy returns the device's energy over the whole sub-window: the
// counter's growth when its readings span the sub-window (one at or before
// its start, one at or after its end), else ∫P dt when the power readings
// span it; the reason otherwise. Unlike the window's figures, nothing is
// clamped: a baseline from part of the idle window would be a guess.
func (w *devWin) energy() (float64, string) {
	c := &w.counter
	if c.n > 0 && c.firstT <= w.s && c.endOK && !c.decreased {
		if v, why := c.delta(w.s, w.e); why == "" {
			return v, ""
		}
	}
	if w.power.n > 0 && w.power.covered >= (w.e-w.s)*(1-1e-12) {
		return w.power.area / 1e9, ""
	}
	if c.decreased {
		return 0, "the energy counter went down during the idle phase and the power readings do not span it"
	}
	return 0, "the readings do not span the idle phase"
}

// idleState follows a device over the idle window's two halves.
type idleState [2]devWin

func newIdleState(w Window) *idleState {
	s, e := float64(w.Start), float64(w.End)
	mid := s + (e-s)/2
	return &idleState{{s: s, e: mid}, {s: mid, e: e}}
}

func (st *idleState) add(t float64, d *sampler.DeviceReading) {
	st[0].add(t, d)
	st[1].add(t, d)
}

// idleDevice is one device's idle figures.
type idleDevice struct {
	power, util Figure
	half        [2]float64 // mean power over each half
	halvesOK    bool
}

func (st *idleState) figures() idleDevice {
	var out idleDevice
	e0, why0 := st[0].energy()
	e1, why1 := st[1].energy()
	switch {
	case why0 != "":
		out.power = Absent(why0)
	case why1 != "":
		out.power = Absent(why1)
	default:
		d0, d1 := (st[0].e-st[0].s)/1e9, (st[1].e-st[1].s)/1e9
		out.power = Measured((e0 + e1) / (d0 + d1))
		out.half = [2]float64{e0 / d0, e1 / d1}
		out.halvesOK = true
	}
	area := st[0].util.area + st[1].util.area
	covered := st[0].util.covered + st[1].util.covered
	if covered > 0 {
		out.util = Measured(area / covered)
	} else {
		out.util = Absent("no utilization readings span the idle phase")
	}
	return out
}

// idleFigures fills the idle baseline: each GPU's IdlePowerW and
// IdleUtilPct, then power_idle_w over the counted GPUs (those not apart),
// energy_joules_gpu_above_idle and joules_per_token_above_idle.
func (a *Accumulator) idleFigures(r *Report, gpuE sums) {
	if !a.cfg.idleSet {
		why := "no idle phase was measured (energy.WithIdleWindow)"
		r.PowerIdleW, r.EnergyJoulesGPUAboveIdle, r.JoulesPerTokenAboveIdle = Absent(why), Absent(why), Absent(why)
		return
	}
	r.IdleWindow = a.cfg.idle
	var (
		sum, h0, h1 float64
		n           int
		missing     []string
		busy        []string
		halvesOK    = true
	)
	for i, ds := range a.devOrder {
		if GroupOf(ds.kind) != GroupGPU || ds.idle == nil {
			continue
		}
		f := ds.idle.figures()
		r.Devices[i].IdlePowerW, r.Devices[i].IdleUtilPct = f.power, f.util
		if ds.apart {
			continue
		}
		name := DeviceID{ds.sampler, ds.device}.String()
		if !f.power.Measured {
			missing = append(missing, name+": "+f.power.Reason)
			continue
		}
		n++
		sum += f.power.Value
		if f.halvesOK {
			h0 += f.half[0]
			h1 += f.half[1]
		} else {
			halvesOK = false
		}
		if f.util.Measured && f.util.Value > a.cfg.idleUtilPct {
			busy = append(busy, fmt.Sprintf("%s at %.3g %%", name, f.util.Value))
		}
	}
	var why string
	switch {
	case n == 0 && len(missing) == 0:
		why = "no GPU readings in the idle phase"
	case len(missing) > 0:
		why = "no idle power for " + strings.Join(missing, "; ")
	case len(busy) > 0:
		why = fmt.Sprintf("the engine was not idle: GPU utilization above %v %% during the idle phase (%s): another client's requests, or work still running",
			a.cfg.idleUtilPct, strings.Join(busy, ", "))
	case halvesOK && math.Abs(h1-h0) > max(a.cfg.idleSettlePct/100*(h0+h1)/2, IdleSettleFloorW*float64(n)):
		why = fmt.Sprintf("the engine was not idle: GPU power did not settle during the idle phase (%.4g W in its first half, %.4g W in its second, more than %v %% apart)",
			h0, h1, a.cfg.idleSettlePct)
	}
	if why != "" {
		r.PowerIdleW = Absent(why)
		if strings.HasPrefix(why, "the engine was not idle") {
			r.warnf("%s is absent: %s", KeyPowerIdleW, why)
		}
	} else {
		r.PowerIdleW = Measured(sum)
	}
	g := r.EnergyJoulesGPU
	switch {
	case !r.PowerIdleW.Measured:
		r.EnergyJoulesGPUAboveIdle = Absent(KeyPowerIdleW + " is absent: " + r.PowerIdleW.Reason)
	case !g.Measured:
		r.EnergyJoulesGPUAboveIdle = Absent(KeyEnergyJoulesGPU + " is absent: " + g.Reason)
	case len(gpuE.missing) > 0:
		r.EnergyJoulesGPUAboveIdle = Absent(KeyEnergyJoulesGPU + " leaves out GPUs whose idle power is counted")
	default:
		r.EnergyJoulesGPUAboveIdle = Measured(g.Value - r.PowerIdleW.Value*(a.e-a.s)/1e9)
	}
	r.JoulesPerTokenAboveIdle = perToken(r.EnergyJoulesGPUAboveIdle, KeyEnergyJoulesGPUAboveIdle, r.OutputTokens)
}
