// Package sampler reads telemetry on a schedule a performance engineer can
// trust: GPU power, energy counters, utilization and clocks (NVML, in the
// leaf package sampler/nvml, the only cgo in the module), CPU package and
// DRAM energy (RAPL, sampler/rapl), and remote hosts' Prometheus exporters
// (sampler/remote).
//
// A [Sampler] reads every device of its source once per tick. [Run] calls
// it on ticks due at absolute times — tick i at origin + i·interval — so
// the schedule never drifts; a tick that a slow read made more than half an
// interval late is skipped and counted as missed, never queued. Every
// [Reading] carries the monotonic time it was actually taken, and [Stats]
// reports the instrument itself: readings, missed ticks, errors, the
// achieved interval (mean, p50, p99) and the read time.
//
// Missing hardware or permission is [ErrUnavailable], wrapped in an error
// that says why and what to do; a profile degrades it to a warning.
//
// A [TimelineWriter] streams readings to a CSV timeline on disk (layout in
// [TimelineColumns]), so hour-long runs at 10 ms do not grow memory; the
// energy package computes its figures from that file.
package sampler
