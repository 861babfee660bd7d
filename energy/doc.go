// Package energy turns sampler readings into joules and watts you can
// defend.
//
// [Compute] reads a timeline (the CSV a [sampler.TimelineWriter] writes)
// once, streaming, in memory proportional to the number of devices, not to
// the length of the run; an [Accumulator] does the same from readings
// passed one at a time. Both take a measurement [Window] — offsets from the
// run's origin, from the first post-warmup send to the last completion, so
// warmup is excluded — and return a [Report]. A figure that could not be
// measured is absent, with the reason in its Reason field; it is never 0.
// Remarks that do not stop a figure from being measured (partial coverage,
// a fallback, a device left out of a sum) are the report's Warnings.
//
// # Notation
//
// t0 and t1 are the window's Start and End. Each device is identified by its
// sampler's name and its device name. A device's readings are the rows of
// the timeline for it, in time order; a reading at exactly t0 or t1 is inside
// the window. A tick is one [sampler.Reading]: one sampler reading all of
// its devices once (one NVML tick reads every GPU). "GPU" means a device of
// kind [sampler.KindGPU], from any sampler (remote GPUs included); "CPU and
// DRAM" means kinds [sampler.KindCPUPackage] and [sampler.KindDRAM], from
// any sampler. Devices of kind [sampler.KindOther] (psys, core subzones)
// are listed in [Report].Devices with their own figures but never added to
// a sum, since they overlap the others. [GroupOf] says which sum a kind
// goes into, and [CounterPower] what power an energy counter's step
// means: other views of a timeline (the HTML page of report/timeline) use
// them, so that they add up the same devices as the figures. A value that was not read (NaN in
// the reading, an empty cell in the timeline; an infinity is treated the
// same) is not a zero: the device simply has no point for that quantity at
// that time.
//
// # Per-device rules
//
// Counter growth over the window (energy counters, [sampler.DeviceReading]
// EnergyJ, corrected for wraps by the samplers): C(t1) − C(t0), where the
// counter's value at an edge is interpolated linearly between the last
// reading before the edge and the first reading at or after it (a reading
// on the edge gives its value exactly). Clamping: if the readings start
// after t0, C(t0) is the first reading's value; if they end before t1, C(t1) is
// the last reading's value — energy outside the readings is not counted,
// and a warning gives the coverage. When the readings cover less than
// MinCoverage (90 %) of the window, the device's energy of record is
// absent instead (a sampler that stopped answering mid-run must not pass
// part of the window off as the whole). The figure is absent when no two
// readings span part of the window, or when the counter went down during a
// step that overlaps the window (a reset the sampler did not correct
// cannot be trusted).
//
// Integral over the window (power, utilization): the trapezoid rule on the
// linear interpolation between consecutive readings, clipped to the
// window: a step between readings at ta < tb contributes over
// [max(ta, t0), min(tb, t1)], with its end values interpolated. The covered
// time is the total length of those clipped steps; with readings that span
// the window it is t1 − t0. The time-weighted mean is integral / covered
// time. Absent when no two readings span part of the window.
//
// # The figures
//
//   - energy_joules_gpu (J): the sum over GPUs of each GPU's energy of
//     record: the counter growth of its energy counter; for a GPU without
//     a counter figure, ∫P dt instead (with a warning). This is the figure
//     of record: NVML's power reading on A100/H100 is a moving average
//     sampled about 25 % of the time (Yang et al., "Part-time Power
//     Measurements", SC'24), so integrating it can be badly off, while the
//     energy counter accumulates everything.
//   - energy_joules_gpu_integral (J): the sum over GPUs of ∫P dt over the
//     window (the integral rule on the power readings). It is the energy
//     of the power timeline, reported beside the counter.
//   - energy_gpu_integral_to_counter_ratio: Σ ∫P dt / Σ counter growth, over
//     the GPUs that have both. 1 when the power trace is faithful; far from
//     1 when the trace aliases the load.
//   - energy_joules_cpu_dram (J): the sum over CPU packages and DRAM domains
//     of their energy of record (the counter growth of their energy
//     counters: RAPL's, locally or through a remote node_exporter).
//   - energy_joules_total (J): energy_joules_gpu + energy_joules_cpu_dram,
//     or whichever of the two is measured, with a warning naming the part
//     that is missing.
//   - power_avg_w (W): the sum over GPUs of each GPU's time-weighted mean
//     power, ∫P dt / covered time; with readings spanning the window that
//     is Σ ∫P dt / (t1 − t0). The reference takes a plain mean of ticks
//     instead, which over-weights densely sampled stretches.
//   - power_peak_w (W): the largest per-tick sum of GPU power, over the
//     ticks inside the window whose GPUs all have a power reading.
//   - power_avg_w_under_load (W): the time-weighted mean of the per-tick sum
//     of GPU power over the loaded ticks: those whose GPUs all have a power
//     reading and whose mean utilization (over the GPUs that report one)
//     exceeds 50 % ([WithLoadThreshold]). Each tick of a sampler weighs the
//     length of its cell — from the midpoint with the sampler's previous
//     tick to the midpoint with its next one; the first tick's cell starts
//     at its own time and the last one's ends at its own time — clipped to
//     the window. So a tick just outside the window still weighs the part
//     of its cell inside it. Mean = Σ cell·P / Σ cell over loaded ticks.
//   - gpu_util_avg_pct (%): the mean over GPUs of each GPU's time-weighted
//     mean utilization (the integral rule on its utilization readings).
//   - joules_per_token (J/token): energy_joules_total / output tokens.
//   - joules_per_token_gpu (J/token): energy_joules_gpu / output tokens.
//     Both are absent when the energy is absent or there are no output
//     tokens (the reference emits 0.0 without telemetry).
//   - nvml_sample_count (count): the number of ticks inside the window
//     that read at least one GPU, over every sampler (one NVML tick reads
//     every selected GPU; a remote sampler's ticks count too). Absent when
//     no tick in the timeline read a GPU. The key is the reference's; it
//     is about the kind of device, not a sampler's name.
//   - rapl_sample_count (count): the same for the ticks that read a CPU
//     package or DRAM. A tick that read both (a remote host's exporters)
//     counts in both.
//   - nvml_interval_p99_ms (ms): the achieved interval p99 (sampler.Stats
//     IntervalP99, given with [WithSamplerStats]) of the sampler that read
//     GPUs; with several GPU samplers, the largest of their p99s (the
//     worst instrument bounds the timeline's resolution). Only samplers
//     with at least two readings count; absent without GPU readings or
//     stats.
//   - <name>_sample_count (count): the ticks inside the window of a
//     sampler that read no GPU, CPU package or DRAM (only psys-like
//     devices of kind other), which the counts above leave out. A name
//     whose key is already a figure's (a sampler of such devices named
//     "nvml") gets no count of its own, with a warning: a sampler's name
//     never stands in for a kind.
//   - power_idle_w (W): the sum over GPUs of each GPU's idle power: its
//     energy of record over the idle window ([WithIdleWindow]) divided by
//     the window's length (see "Idle baseline").
//   - energy_joules_gpu_above_idle (J): energy_joules_gpu − power_idle_w ×
//     (t1 − t0): what the load cost above idle. It may be negative when
//     the load drew less than the idle phase (it is reported as measured).
//   - joules_per_token_above_idle (J/token): energy_joules_gpu_above_idle /
//     output tokens: the dynamic joules per output token.
//   - power_avg_w_other_gpus (W) and energy_joules_gpu_other_gpus (J): the
//     sums of power_avg_w and of the energy of record over the GPUs left
//     out of the figures by [WithGPUs] (see "Counted GPUs"); absent when
//     none is.
//   - energy_joules_gpu_idle_gaps (J): the part of energy_joules_gpu in
//     the bins with no request in flight (see "Joules per request").
//   - joules_per_request_p50, joules_per_request_p99 (J): the percentiles
//     (numpy-linear) of the joules attributed to each measured request.
//   - joules_per_output_token_p50, joules_per_output_token_p99 (J/token):
//     the same of each measured request's joules divided by its output
//     tokens, over those with output tokens.
//
// The figures are listed by [Report.Figures], each with its key, unit and
// the device kinds it is computed from ([FigureKinds]), in the order an
// envelope lists them; [Report.Metrics] gives the measured ones in that
// order, split where the reference places the load generator's metrics.
//
// When GPUs come from several samplers (local NVML and remote hosts),
// their ticks are not simultaneous, so power_peak_w and
// power_avg_w_under_load are computed per sampler and summed (the summed
// peak is an upper bound), with a warning.
//
// A sum over devices leaves out the devices whose figure is absent, and
// warns; it is absent only when no device has the figure. Readings of a
// sampler or device that are not later than its previous one are ignored,
// with a warning.
//
// # Counted GPUs
//
// [WithGPUs] names the GPUs the figures count (a profile gives those its
// engine runs on). Every other GPU of the timeline is apart: it has its
// own figures in [Report].Devices (Device.Apart), adds into
// power_avg_w_other_gpus and energy_joules_gpu_other_gpus, and into
// nothing else — not energy_joules_gpu, the power and utilization figures,
// nvml_sample_count (a tick counts when it read a counted GPU), the idle
// baseline or the attribution. Without it every GPU counts, and the two
// figures of the others are absent.
//
// # Idle baseline
//
// With [WithIdleWindow], each GPU's idle power is its energy of record
// over the idle window — the counter's growth when its readings span the
// idle window (one at or before its start, one at or after its end), else
// ∫P dt when the power readings span it, never clamped — divided by the
// window's length; its idle utilization is the time-weighted mean of its
// utilization there. power_idle_w adds up the counted GPUs' idle powers.
// It is absent, with the reason, when a counted GPU has no idle power, or
// when the engine was not idle, which is decided so:
//
//   - busy: a counted GPU's idle utilization exceeds the threshold
//     ([WithIdleUtilThreshold], DefaultIdleUtilPct 10 %): another client's
//     requests, or work still running;
//   - not settled: the summed idle power of the window's first half and
//     of its second half differ by more than the tolerance
//     ([WithIdleSettleTolerance], DefaultIdleSettlePct 5 % of their mean)
//     and by more than IdleSettleFloorW (1 W) per counted GPU: a GPU still
//     cooling down from earlier work, or load that started or stopped.
//
// A warning then says the engine was not idle, and
// energy_joules_gpu_above_idle and joules_per_token_above_idle are absent
// with the same reason.
//
// # Joules per request
//
// An [Attribution] ([Accumulator.Attribution], with [WithAttributionBin])
// splits energy_joules_gpu among the requests in flight, so that each
// request's joules can be written into a per-request trace. The rule:
//
//   - Bins. The window is cut into bins of the GPU sampling interval
//     (widened so there are at most MaxAttributionBins). Each bin's energy
//     is the counted GPUs' energy in it: each step of an energy counter
//     spread evenly over the time between its two readings (the slope
//     energy_joules_gpu integrates; the power trace's trapezoids where a
//     GPU's energy of record is ∫P dt), scaled so the bins add up to
//     energy_joules_gpu exactly.
//   - Work. A request works at a constant rate between events: from its
//     send to its first content chunk it does the first chunk's tokens
//     plus its prompt tokens times the prefill weight ([WithPrefillWeight],
//     DefaultPrefillWeight 0.1 output token per prompt token), so a
//     request waiting for its first token takes a share that grows with
//     its prompt; between two chunks it does the later chunk's tokens;
//     after its last chunk, nothing. A request without chunks does its
//     prompt's weight over its whole time in flight.
//   - Split. Each bin's energy goes to the requests in proportion to their
//     work in the bin; in a bin where requests were in flight but none
//     worked (all past their last chunk, or failing), in proportion to
//     their time in flight; a bin with no request in flight goes to
//     energy_joules_gpu_idle_gaps.
//
// So energy is conserved: the requests' joules plus
// energy_joules_gpu_idle_gaps are energy_joules_gpu (up to float64
// rounding). A request partly outside the window (a warmup request still
// in flight when the window starts) has the joules of its part inside;
// one wholly outside has none. The percentiles are over the requests
// marked Measured. The attribution needs two passes over the requests
// (their work first, then their shares), and keeps a few float64 per bin
// and one per measured request, not the requests.
//
// Times are handled as float64 nanoseconds, exact for integer-nanosecond
// offsets below 104 days, and areas are divided into joules once, so that
// round inputs give exact figures (100 W over 10 s is exactly 1000 J).
package energy
