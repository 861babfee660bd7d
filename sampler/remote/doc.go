// Package remote samples the telemetry of the other hosts of a multi-host
// engine by scraping the Prometheus text endpoints of their exporters:
// NVIDIA's dcgm-exporter for GPUs (port 9400) and node_exporter's rapl
// collector for CPU package and DRAM energy (port 9100).
//
//	s, err := remote.Open(ctx, []string{
//		"http://gpu-node-1:9400/metrics",
//		"http://gpu-node-1:9100/metrics",
//	}, remote.WithScrapeTimeout(time.Second))
//	if errors.Is(err, sampler.ErrUnavailable) { /* warn and go on without */ }
//	defer s.Close()
//	stats, err := sampler.Run(ctx, s, 2*time.Second, origin, sink)
//
// # Devices and fields
//
// Every target yields its host's devices, named "<host>/gpu<N>",
// "<host>/package-<N>" and "<host>/dram-<N>"; see Open for how the host is
// chosen. The dcgm-exporter series read, all per GPU (label gpu):
//
//	DCGM_FI_DEV_POWER_USAGE               W          PowerW
//	DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION  mJ ÷ 1000  EnergyJ (counter since driver load)
//	DCGM_FI_DEV_GPU_UTIL                  %          UtilPct
//	DCGM_FI_DEV_MEM_COPY_UTIL             %          MemUtilPct
//	DCGM_FI_DEV_FB_USED                   MiB × 2²⁰  MemUsedBytes
//	DCGM_FI_DEV_SM_CLOCK                  MHz        SMClockMHz
//	DCGM_FI_DEV_MEM_CLOCK                 MHz        MemClockMHz
//	DCGM_FI_DEV_GPU_TEMP                  °C         TempC
//
// The GPU's model comes from the modelName label (see Describe). Under MIG,
// where dcgm-exporter repeats a GPU's fields per GPU instance (GPU_I_ID),
// a whole-GPU series is preferred; failing one, memory used is summed over
// the instances and the device-wide fields come from the first instance.
//
// From node_exporter, the energy counters (J) of the RAPL package and dram
// zones become EnergyJ of KindCPUPackage and KindDRAM devices, N being the
// index label: node_rapl_package_joules_total and
// node_rapl_dram_joules_total by default, or node_rapl_joules_total with
// rapl_zone="package" or "dram" under
// --collector.rapl.enable-zone-label. The core, uncore and psys zones are
// left out, since they overlap package and DRAM, and so are the
// intel-rapl-mmio zones, which repeat the package zones. PowerW of these
// devices is absent: power is a difference of energies, for the energy
// package to compute.
//
// Fields a target does not expose are NaN. EnergyJ is made monotonic per
// device: a counter that goes down (a driver reload resets DCGM's, RAPL's
// wraps at max_energy_range_uj) continues from its last value, and the
// decrease is counted in Stats.CounterResets. The energy between the last
// reading before a wrap and the wrap itself is lost, as in Prometheus's
// rate; sample often enough that it stays small.
//
// # Failures
//
// Open scrapes every target once: a target that is unreachable, answers
// with an error status, times out, serves malformed exposition or exposes
// no device (ErrNoDevices; a node_exporter on a VM without RAPL zones, say)
// fails Open with an error wrapping sampler.ErrUnavailable and a
// *TargetError naming it. While sampling, a failing target is counted in
// Stats and its devices are absent for that tick, as is a device missing
// from a scrape; Sample fails only when every target fails.
//
// # Timing
//
// Exporters refresh at their own pace: dcgm-exporter at its
// --collect-interval (30 s by default; lower it, e.g. to 1000 ms), while
// node_exporter reads RAPL at each scrape. Sample at 1–5 s, not at the
// 10 ms of a local sampler, and keep the scrape timeout (DefaultScrapeTimeout,
// 2 s) below the interval: a Sample lasts up to the timeout, and the
// scheduler skips the ticks a slow read overruns.
//
// The Sampler owns no goroutine between calls: Sample starts one per
// concurrent scrape and waits for them all before it returns.
package remote
