package energy

import (
	"slices"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// The per-device rules that other views of a timeline share with the
// figures (the HTML timeline page draws with them), so that a page and an
// envelope never disagree on what adds up or on what a counter says.

// Group is the sum that a device's figures are added into, decided by the
// device's kind alone, never by its sampler's name.
type Group int

const (
	// GroupNone holds KindOther (a platform's psys domain, CPU core
	// subzones) and any kind this package does not know: such devices
	// overlap the others, so they have their own figures in
	// Report.Devices but are never added into a sum.
	GroupNone Group = iota
	// GroupGPU holds KindGPU: energy_joules_gpu, the power figures,
	// gpu_util_avg_pct, nvml_sample_count.
	GroupGPU
	// GroupCPUDRAM holds KindCPUPackage and KindDRAM:
	// energy_joules_cpu_dram and rapl_sample_count.
	GroupCPUDRAM
)

// groupKinds lists the kinds of each summed group: the one place a kind is
// assigned to a sum.
var groupKinds = [...][]sampler.Kind{
	GroupGPU:     {sampler.KindGPU},
	GroupCPUDRAM: {sampler.KindCPUPackage, sampler.KindDRAM},
}

// GroupOf returns the group of devices of kind k.
func GroupOf(k sampler.Kind) Group {
	for g, kinds := range groupKinds {
		if slices.Contains(kinds, k) {
			return Group(g)
		}
	}
	return GroupNone
}

// Kinds returns the kinds of group g; nil for GroupNone, which is every
// other kind.
func (g Group) Kinds() []sampler.Kind {
	if g <= GroupNone || int(g) >= len(groupKinds) {
		return nil
	}
	return slices.Clone(groupKinds[g])
}

// counterGrowth returns the growth of an energy counter from e0 to e1, and
// false when it went down: samplers correct wraps, so a decrease is a
// reset they did not correct, and the step cannot be trusted.
func counterGrowth(e0, e1 float64) (float64, bool) {
	if !finite(e0) || !finite(e1) || e1 < e0 {
		return 0, false
	}
	return e1 - e0, true
}

// CounterPower returns a device's mean power, in watts, between two
// consecutive readings of its energy counter (sampler.DeviceReading
// EnergyJ): e0 joules at t0 and e1 at t1. ok is false when t1 is not
// after t0, when either value was not measured (NaN or infinite), or when
// the counter went down — a reset the sampler did not correct, which
// energy_joules_* also refuse to count across.
//
// It is the slope of the linear interpolation between the two readings
// that the counter figures use: the growth a device's energy counter
// contributes to energy_joules_cpu_dram or energy_joules_gpu over a
// window is the integral of these step powers over the window (clipped to
// the first and last readings).
func CounterPower(t0 time.Duration, e0 float64, t1 time.Duration, e1 float64) (w float64, ok bool) {
	if t1 <= t0 {
		return 0, false
	}
	d, ok := counterGrowth(e0, e1)
	if !ok {
		return 0, false
	}
	return d / (float64(t1-t0) / 1e9), true
}
