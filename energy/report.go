package energy

import (
	"slices"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// Energy sources of a device's energy of record.
const (
	SourceCounter  = "counter"
	SourceIntegral = "integral"
)

// Report holds the figures over one window. See the package documentation
// for their definitions.
type Report struct {
	Window       Window
	OutputTokens int64
	// LoadThresholdPct is the utilization threshold of
	// PowerAvgWUnderLoad.
	LoadThresholdPct float64

	EnergyJoulesTotal       Figure // energy_joules_total
	EnergyJoulesGPU         Figure // energy_joules_gpu
	EnergyJoulesGPUIntegral Figure // energy_joules_gpu_integral
	GPUIntegralCounterRatio Figure // energy_gpu_integral_to_counter_ratio
	EnergyJoulesCPUDRAM     Figure // energy_joules_cpu_dram
	PowerAvgW               Figure // power_avg_w
	PowerPeakW              Figure // power_peak_w
	PowerAvgWUnderLoad      Figure // power_avg_w_under_load
	GPUUtilAvgPct           Figure // gpu_util_avg_pct
	JoulesPerToken          Figure // joules_per_token
	JoulesPerTokenGPU       Figure // joules_per_token_gpu

	// Samplers lists every sampler in the timeline, in order of first
	// appearance.
	Samplers []SamplerSummary
	// Devices lists every device in the timeline (of every kind, KindOther
	// included), in order of first appearance.
	Devices []Device
	// Warnings are remarks on the measurement: partial coverage, fallbacks,
	// devices left out of a sum. They are not errors.
	Warnings []string
}

// SamplerSummary counts one sampler's readings.
type SamplerSummary struct {
	Name string
	// Readings counts the sampler's readings (ticks) in the timeline.
	Readings int64
	// InWindow counts those whose time is inside the window: the
	// <name>_sample_count figure.
	InWindow int64
}

// Device holds one device's figures over the window.
type Device struct {
	Sampler string
	Device  string
	Kind    sampler.Kind
	// Rows counts the device's rows inside the window.
	Rows int64
	// First and Last are the times of the device's first and last rows in
	// the whole timeline.
	First, Last time.Duration
	// EnergyJ is the device's energy of record: EnergyCounterJ when
	// measured, else EnergyIntegralJ; EnergySource says which
	// (SourceCounter, SourceIntegral, or "" when absent).
	EnergyJ      Figure
	EnergySource string
	// EnergyCounterJ is the energy counter's growth over the window.
	EnergyCounterJ Figure
	// EnergyIntegralJ is ∫P dt over the window.
	EnergyIntegralJ Figure
	// PowerAvgW is the time-weighted mean power over the part of the
	// window the power trace covers.
	PowerAvgW Figure
	// PowerPeakW is the largest power reading inside the window.
	PowerPeakW Figure
	// UtilAvgPct is the time-weighted mean utilization, like PowerAvgW.
	UtilAvgPct Figure
}

// SampleCount returns the <name>_sample_count figure: the number of the
// sampler's readings inside the window, absent when the sampler has no
// reading in the timeline.
func (r *Report) SampleCount(samplerName string) Figure {
	for _, s := range r.Samplers {
		if s.Name == samplerName {
			return Measured(float64(s.InWindow))
		}
	}
	return Absent("no " + samplerName + " readings in the timeline")
}

// Figures returns every figure with its metric key and unit, in a fixed
// order: the energy, power and utilization figures, the per-token figures,
// then the sample counts of "nvml" and "rapl" (always listed) and of every
// other sampler in the timeline, in order of first appearance.
func (r *Report) Figures() []Named {
	out := []Named{
		{KeyEnergyJoulesTotal, UnitJoules, r.EnergyJoulesTotal},
		{KeyEnergyJoulesGPU, UnitJoules, r.EnergyJoulesGPU},
		{KeyEnergyJoulesGPUIntegral, UnitJoules, r.EnergyJoulesGPUIntegral},
		{KeyGPUIntegralCounterRatio, UnitRatio, r.GPUIntegralCounterRatio},
		{KeyEnergyJoulesCPUDRAM, UnitJoules, r.EnergyJoulesCPUDRAM},
		{KeyPowerAvgW, UnitWatts, r.PowerAvgW},
		{KeyPowerPeakW, UnitWatts, r.PowerPeakW},
		{KeyPowerAvgWUnderLoad, UnitWatts, r.PowerAvgWUnderLoad},
		{KeyGPUUtilAvgPct, UnitPercent, r.GPUUtilAvgPct},
		{KeyJoulesPerToken, UnitJoulesPerToken, r.JoulesPerToken},
		{KeyJoulesPerTokenGPU, UnitJoulesPerToken, r.JoulesPerTokenGPU},
		{KeyNVMLSampleCount, UnitCount, r.SampleCount("nvml")},
		{KeyRAPLSampleCount, UnitCount, r.SampleCount("rapl")},
	}
	for _, s := range r.Samplers {
		if s.Name != "nvml" && s.Name != "rapl" {
			out = append(out, Named{SampleCountKey(s.Name), UnitCount, Measured(float64(s.InWindow))})
		}
	}
	return out
}

// Figure returns the figure named key (as listed by Figures) and whether
// there is one.
func (r *Report) Figure(key string) (Figure, bool) {
	fs := r.Figures()
	i := slices.IndexFunc(fs, func(n Named) bool { return n.Key == key })
	if i < 0 {
		return Figure{}, false
	}
	return fs[i].Figure, true
}
