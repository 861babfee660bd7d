package energy

import (
	"strconv"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// Figure is one measured value, or the reason it could not be measured.
// The zero Figure is absent (with no reason): a figure is never 0 merely
// because nothing was measured.
type Figure struct {
	// Value is the figure; it is meaningless unless Measured.
	Value float64
	// Measured reports whether Value was measured.
	Measured bool
	// Reason says why the figure is absent; empty when Measured.
	Reason string
}

// Measured returns a measured figure.
func Measured(v float64) Figure { return Figure{Value: v, Measured: true} }

// Absent returns an absent figure with the reason it could not be measured.
func Absent(reason string) Figure { return Figure{Reason: reason} }

// Get returns the value and whether it was measured.
func (f Figure) Get() (float64, bool) { return f.Value, f.Measured }

// String returns the value in Go's shortest float form, or "absent: " and
// the reason.
func (f Figure) String() string {
	if f.Measured {
		return strconv.FormatFloat(f.Value, 'g', -1, 64)
	}
	return "absent: " + f.Reason
}

// Metric keys of the figures, as the profile package writes them into an
// envelope's metrics and its breakdown table reads them (FACTS §6.5). The
// sample-count and interval keys keep the reference's names, but they are
// about device kinds, not about samplers of those names:
// KeyNVMLSampleCount counts the ticks that read a GPU (of any sampler),
// KeyRAPLSampleCount those that read a CPU package or DRAM, and
// KeyNVMLIntervalP99Ms is the achieved interval of the GPU samplers. A
// sampler that reads none of those kinds has its own count, named
// [SampleCountKey](sampler name).
const (
	KeyEnergyJoulesTotal       = "energy_joules_total"
	KeyEnergyJoulesGPU         = "energy_joules_gpu"
	KeyEnergyJoulesGPUIntegral = "energy_joules_gpu_integral"
	KeyGPUIntegralCounterRatio = "energy_gpu_integral_to_counter_ratio"
	KeyEnergyJoulesCPUDRAM     = "energy_joules_cpu_dram"
	KeyPowerAvgW               = "power_avg_w"
	KeyPowerPeakW              = "power_peak_w"
	KeyPowerAvgWUnderLoad      = "power_avg_w_under_load"
	KeyGPUUtilAvgPct           = "gpu_util_avg_pct"
	KeyJoulesPerToken          = "joules_per_token"
	KeyJoulesPerTokenGPU       = "joules_per_token_gpu"
	KeyNVMLSampleCount         = "nvml_sample_count"
	KeyRAPLSampleCount         = "rapl_sample_count"
	KeyNVMLIntervalP99Ms       = "nvml_interval_p99_ms"

	KeyPowerIdleW               = "power_idle_w"
	KeyEnergyJoulesGPUAboveIdle = "energy_joules_gpu_above_idle"
	KeyJoulesPerTokenAboveIdle  = "joules_per_token_above_idle"
	KeyPowerAvgWOtherGPUs       = "power_avg_w_other_gpus"
	KeyEnergyJoulesGPUOtherGPUs = "energy_joules_gpu_other_gpus"
	KeyEnergyJoulesGPUIdleGaps  = "energy_joules_gpu_idle_gaps"
	KeyJoulesPerRequestP50      = "joules_per_request_p50"
	KeyJoulesPerRequestP99      = "joules_per_request_p99"
	KeyJoulesPerOutputTokenP50  = "joules_per_output_token_p50"
	KeyJoulesPerOutputTokenP99  = "joules_per_output_token_p99"
)

// Units of [Named] figures.
const (
	UnitJoules         = "J"
	UnitWatts          = "W"
	UnitPercent        = "%"
	UnitRatio          = "ratio"
	UnitJoulesPerToken = "J/token"
	UnitMilliseconds   = "ms"
	// UnitCount marks an integer count.
	UnitCount = "count"
)

// SampleCountKey returns the metric key of the own sample count of a
// sampler that reads no GPU, CPU package or DRAM: "<name>_sample_count".
// A name whose key is already a figure's (a sampler named "nvml" makes
// "nvml_sample_count") gets no count of its own: a name never stands in
// for a device kind.
func SampleCountKey(samplerName string) string { return samplerName + "_sample_count" }

// Named is a figure with its metric key and unit.
type Named struct {
	// Key is the metric key (KeyPowerAvgW, …).
	Key string
	// Unit is one of the Unit constants.
	Unit string
	// Kinds are the device kinds the figure is computed from: with no
	// reading of any of them in the timeline, the figure is absent.
	// Empty for a sampler's own sample count.
	Kinds []sampler.Kind
	Figure
}

// Window is the measurement window, as offsets from the run's origin (the
// origin of the readings' At). A reading at exactly Start or End is inside.
type Window struct {
	Start, End time.Duration
}

// Duration returns End − Start.
func (w Window) Duration() time.Duration { return w.End - w.Start }

// Contains reports whether t is inside the window (edges included).
func (w Window) Contains(t time.Duration) bool { return t >= w.Start && t <= w.End }
