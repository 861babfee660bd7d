// Package sampler reads telemetry on a schedule a performance engineer can
// trust: GPU power, energy counters, utilization and clocks (NVML, in the
// leaf package sampler/nvml, the only cgo in the module), CPU package and
// DRAM energy (RAPL, sampler/rapl), and remote hosts' Prometheus exporters,
// scraped directly (sampler/remote) or read through a cluster's Prometheus
// (sampler/prometheus).
//
// A [Sampler] reads every device of its source once per tick. [Run] calls
// it on ticks due at absolute times — tick i at origin + i·interval — so
// the schedule never drifts; a tick that a slow read made more than half an
// interval late is skipped and counted as missed, never queued. Every
// [Reading] carries the monotonic time it was actually taken, and [Stats]
// reports the instrument itself: readings, missed ticks, errors, the
// achieved interval (mean, p50, p99) and the read time.
//
// # Compose by kind, never by name
//
// Every [DeviceReading] says what it measures with its [Kind]: [KindGPU],
// [KindCPUPackage], [KindDRAM] or [KindOther]. Everything downstream keys on
// that: the energy package adds up GPUs and CPU packages plus DRAM from any
// sampler, counts the ticks that read a GPU as nvml_sample_count, and a
// profile decides whether a GPU is sampled at all from the kinds its
// samplers read or describe ([Describer]). A sampler's Name only tells its
// readings apart from another sampler's; the built-in samplers are not
// special, and a GPU sampler a user brings (a DCGM exporter, a remote
// host, their own) is treated exactly like NVML. The contract every
// implementation keeps is in [Sampler]'s documentation, and
// sampler/samplertest.Conformance checks it.
//
// A sampler whose source keeps the history of its energy counters (a
// Prometheus server) may also implement [WindowEnergyReader], giving each
// device's energy over a window after the fact from the source's own
// samples.
//
// Missing hardware or permission is [ErrUnavailable], wrapped in an error
// that says why and what to do; a profile degrades it to a warning.
//
// A [TimelineWriter] streams readings to a CSV timeline on disk (layout in
// [TimelineColumns]), so hour-long runs at 10 ms do not grow memory; the
// energy package computes its figures from that file.
package sampler
