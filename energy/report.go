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
	GPUSampleCount          Figure // nvml_sample_count
	CPUDRAMSampleCount      Figure // rapl_sample_count
	GPUIntervalP99Ms        Figure // nvml_interval_p99_ms

	PowerIdleW               Figure // power_idle_w
	EnergyJoulesGPUAboveIdle Figure // energy_joules_gpu_above_idle
	JoulesPerTokenAboveIdle  Figure // joules_per_token_above_idle
	PowerAvgWOtherGPUs       Figure // power_avg_w_other_gpus
	EnergyJoulesGPUOtherGPUs Figure // energy_joules_gpu_other_gpus
	EnergyJoulesGPUIdleGaps  Figure // energy_joules_gpu_idle_gaps
	JoulesPerRequestP50      Figure // joules_per_request_p50
	JoulesPerRequestP99      Figure // joules_per_request_p99
	JoulesPerOutputTokenP50  Figure // joules_per_output_token_p50
	JoulesPerOutputTokenP99  Figure // joules_per_output_token_p99

	// IdleWindow is the idle window (WithIdleWindow); zero without one.
	IdleWindow Window

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
	// InWindow counts those whose time is inside the window.
	InWindow int64
	// Kinds lists the kinds of the devices the sampler read, in order of
	// first appearance: what the sampler is, whatever its name.
	Kinds []sampler.Kind
}

// Device holds one device's figures over the window.
type Device struct {
	Sampler string
	Device  string
	Kind    sampler.Kind
	// Apart marks a GPU left out of the GPU figures (WithGPUs): its own
	// figures are here, and its power and energy add into
	// power_avg_w_other_gpus and energy_joules_gpu_other_gpus only.
	Apart bool
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
	// IdlePowerW is a GPU's mean power over the idle window (its energy of
	// record over the window divided by its length) and IdleUtilPct its
	// mean utilization there; absent without WithIdleWindow, and for other
	// kinds than GPU (the zero Figure).
	IdlePowerW, IdleUtilPct Figure
}

// SampleCount returns the number of the named sampler's readings inside
// the window, absent when the sampler has no reading in the timeline. It
// is the sampler's own count, not a figure of a device kind: see
// GPUSampleCount and CPUDRAMSampleCount for those.
func (r *Report) SampleCount(samplerName string) Figure {
	for _, s := range r.Samplers {
		if s.Name == samplerName {
			return Measured(float64(s.InWindow))
		}
	}
	return Absent("no " + samplerName + " readings in the timeline")
}

var (
	gpuKinds     = GroupGPU.Kinds()
	cpuDRAMKinds = GroupCPUDRAM.Kinds()
	summedKinds  = slices.Concat(gpuKinds, cpuDRAMKinds)
)

type figureDef struct {
	key, unit string
	kinds     []sampler.Kind
	head      bool
	get       func(*Report) Figure
}

// figureIndex returns the index of key in figureTable, or -1.
func figureIndex(key string) int {
	return slices.IndexFunc(figureTable, func(f figureDef) bool { return f.key == key })
}

// figureTable lists the figures in the order an envelope lists them: the
// one place a figure is added. head marks the figures the reference puts
// after throughput_tok_per_s and before the SLO keys (FACTS §4.9); the
// others follow the load generator's metrics.
var figureTable = []figureDef{
	{KeyPowerAvgW, UnitWatts, gpuKinds, true, func(r *Report) Figure { return r.PowerAvgW }},
	{KeyPowerPeakW, UnitWatts, gpuKinds, true, func(r *Report) Figure { return r.PowerPeakW }},
	{KeyEnergyJoulesTotal, UnitJoules, summedKinds, true, func(r *Report) Figure { return r.EnergyJoulesTotal }},
	{KeyJoulesPerToken, UnitJoulesPerToken, summedKinds, true, func(r *Report) Figure { return r.JoulesPerToken }},
	{KeyGPUUtilAvgPct, UnitPercent, gpuKinds, false, func(r *Report) Figure { return r.GPUUtilAvgPct }},
	{KeyEnergyJoulesGPU, UnitJoules, gpuKinds, false, func(r *Report) Figure { return r.EnergyJoulesGPU }},
	{KeyEnergyJoulesCPUDRAM, UnitJoules, cpuDRAMKinds, false, func(r *Report) Figure { return r.EnergyJoulesCPUDRAM }},
	{KeyPowerAvgWUnderLoad, UnitWatts, gpuKinds, false, func(r *Report) Figure { return r.PowerAvgWUnderLoad }},
	{KeyEnergyJoulesGPUIntegral, UnitJoules, gpuKinds, false, func(r *Report) Figure { return r.EnergyJoulesGPUIntegral }},
	{KeyGPUIntegralCounterRatio, UnitRatio, gpuKinds, false, func(r *Report) Figure { return r.GPUIntegralCounterRatio }},
	{KeyJoulesPerTokenGPU, UnitJoulesPerToken, gpuKinds, false, func(r *Report) Figure { return r.JoulesPerTokenGPU }},
	{KeyNVMLSampleCount, UnitCount, gpuKinds, false, func(r *Report) Figure { return r.GPUSampleCount }},
	{KeyRAPLSampleCount, UnitCount, cpuDRAMKinds, false, func(r *Report) Figure { return r.CPUDRAMSampleCount }},
	{KeyNVMLIntervalP99Ms, UnitMilliseconds, gpuKinds, false, func(r *Report) Figure { return r.GPUIntervalP99Ms }},
	{KeyPowerIdleW, UnitWatts, gpuKinds, false, func(r *Report) Figure { return r.PowerIdleW }},
	{KeyEnergyJoulesGPUAboveIdle, UnitJoules, gpuKinds, false, func(r *Report) Figure { return r.EnergyJoulesGPUAboveIdle }},
	{KeyJoulesPerTokenAboveIdle, UnitJoulesPerToken, gpuKinds, false, func(r *Report) Figure { return r.JoulesPerTokenAboveIdle }},
	{KeyPowerAvgWOtherGPUs, UnitWatts, gpuKinds, false, func(r *Report) Figure { return r.PowerAvgWOtherGPUs }},
	{KeyEnergyJoulesGPUOtherGPUs, UnitJoules, gpuKinds, false, func(r *Report) Figure { return r.EnergyJoulesGPUOtherGPUs }},
	{KeyEnergyJoulesGPUIdleGaps, UnitJoules, gpuKinds, false, func(r *Report) Figure { return r.EnergyJoulesGPUIdleGaps }},
	{KeyJoulesPerRequestP50, UnitJoules, gpuKinds, false, func(r *Report) Figure { return r.JoulesPerRequestP50 }},
	{KeyJoulesPerRequestP99, UnitJoules, gpuKinds, false, func(r *Report) Figure { return r.JoulesPerRequestP99 }},
	{KeyJoulesPerOutputTokenP50, UnitJoulesPerToken, gpuKinds, false, func(r *Report) Figure { return r.JoulesPerOutputTokenP50 }},
	{KeyJoulesPerOutputTokenP99, UnitJoulesPerToken, gpuKinds, false, func(r *Report) Figure { return r.JoulesPerOutputTokenP99 }},
}

// Keys returns the metric keys of the figures every Report has, in the
// order of Figures (the samplers' own counts, which depend on the
// timeline, are not among them).
func Keys() []string {
	keys := make([]string, len(figureTable))
	for i, f := range figureTable {
		keys[i] = f.key
	}
	return keys
}

// FigureKinds returns the device kinds the figure named key is computed
// from (nil for a sampler's own count or an unknown key): without a
// sampler that reads one of them, the figure cannot be measured.
func FigureKinds(key string) []sampler.Kind {
	for _, f := range figureTable {
		if f.key == key {
			return slices.Clone(f.kinds)
		}
	}
	return nil
}

// Figures returns every figure with its metric key, unit and kinds, in
// the order an envelope lists them (see Metrics): power_avg_w,
// power_peak_w, energy_joules_total, joules_per_token, gpu_util_avg_pct,
// energy_joules_gpu, energy_joules_cpu_dram, power_avg_w_under_load,
// energy_joules_gpu_integral, energy_gpu_integral_to_counter_ratio,
// joules_per_token_gpu, nvml_sample_count, rapl_sample_count,
// nvml_interval_p99_ms, power_idle_w, energy_joules_gpu_above_idle,
// joules_per_token_above_idle, power_avg_w_other_gpus,
// energy_joules_gpu_other_gpus, energy_joules_gpu_idle_gaps,
// joules_per_request_p50, joules_per_request_p99,
// joules_per_output_token_p50, joules_per_output_token_p99 (all always
// listed), then the own sample counts of
// the samplers that read no GPU, CPU package or DRAM, in order of first
// appearance.
func (r *Report) Figures() []Named {
	out := make([]Named, 0, len(figureTable)+len(r.Samplers))
	for _, f := range figureTable {
		out = append(out, Named{Key: f.key, Unit: f.unit, Kinds: slices.Clone(f.kinds), Figure: f.get(r)})
	}
	for _, s := range r.Samplers {
		if key, ok := ownCountKey(s); ok {
			out = append(out, Named{Key: key, Unit: UnitCount, Figure: Measured(float64(s.InWindow))})
		}
	}
	return out
}

// ownCountKey returns the key of s's own sample count, if it has one: if
// it reads no kind that a figure's sample count covers, and its key is no
// figure's key.
func ownCountKey(s SamplerSummary) (string, bool) {
	key := SampleCountKey(s.Name)
	return key, !readsSummedKind(s) && figureIndex(key) < 0
}

// readsSummedKind reports whether s read a GPU, CPU package or DRAM.
func readsSummedKind(s SamplerSummary) bool {
	return slices.ContainsFunc(s.Kinds, func(k sampler.Kind) bool { return GroupOf(k) != GroupNone })
}

// Metrics returns the measured figures, in the order an envelope lists
// them, in two runs: head (power_avg_w, power_peak_w, energy_joules_total,
// joules_per_token), which the reference places after
// throughput_tok_per_s and before the SLO keys, and tail, the others, which
// follow the load generator's metrics. Absent figures are left out. A
// writer of envelopes writes UnitCount figures as integers.
func (r *Report) Metrics() (head, tail []Named) {
	for _, n := range r.Figures() {
		if !n.Measured {
			continue
		}
		if i := figureIndex(n.Key); i >= 0 && figureTable[i].head {
			head = append(head, n)
		} else {
			tail = append(tail, n)
		}
	}
	return head, tail
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
