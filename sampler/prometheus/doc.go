// Package prometheus reads cluster telemetry from the Prometheus that a
// Kubernetes cluster already runs: the series of NVIDIA's dcgm-exporter
// (GPU energy counters, power, utilization, memory, clocks) and of
// node_exporter's rapl collector (CPU package and DRAM energy) that it
// scrapes, selected by label matchers for the engine's pods or nodes,
// through the Prometheus HTTP API, without reaching any exporter.
//
//	s, err := prometheus.Open(ctx, "http://prometheus.monitoring:9090",
//		prometheus.WithGPUSelector(`namespace="llm", pod=~"vllm-.*"`),
//		prometheus.WithNodeSelector(`job="node-exporter", instance=~"gpu-node-(1|2)"`))
//	if errors.Is(err, sampler.ErrUnavailable) { /* warn and go on without */ }
//	defer s.Close()
//	stats, err := sampler.Run(ctx, s, time.Second, origin, sink)
//	…
//	perDevice, err := s.WindowEnergy(ctx, origin.Add(w.Start), origin.Add(w.End))
//
// # Devices and fields
//
// Devices and fields are those of sampler/remote, which scrapes the same
// exporters directly (its documentation has the table of fields): GPUs are
// "<host>/gpu<N>", RAPL zones "<host>/package-<N>" and "<host>/dram-<N>",
// the host taken from the series' labels (see Open). The devices are fixed
// by Open for the sampler's life.
//
// # Energy: on ticks, and over a window after the fact
//
// Prometheus holds each energy counter as samples taken at its scrape
// interval. The sampler draws each counter's corrected curve through them:
// a value the exporter holds between its collections (dcgm-exporter's
// --collect-interval, 30 s by default) counts from the scrape where it
// first appeared; a decrease (a driver reload, a RAPL wrap) is a reset,
// bridged with the slope before it, so that the energy between the last
// sample before the reset and the reset is not lost (Prometheus's
// increase() loses it); the curve never decreases.
//
// Sample is polled on ticks, as every sampler is: it reads the samples the
// selected series gained since the last tick and reports each counter's
// curve extrapolated to the reading's time from its last two values (by at
// most 1.5 sample intervals past its last sample), beside the last power,
// utilization and memory values. The readings alone give the energy
// package's figures (counters preferred over ∫P dt): in this package's test
// against Debian's Prometheus 2.42 scraping a fake exporter every second,
// within 0.01 % of the exporter's truth over a 10.5 s window, across a
// power step and a counter reset.
//
// WindowEnergy (the optional sampler.WindowEnergyReader) gives a window's
// energy per device after the fact, from Prometheus's samples on both
// sides of each edge, interpolated: exact wherever samples exist past the
// window's end, independent of the sampling ticks, and with warnings for
// what the readings cannot see (resets, a series that ended early with
// its coverage and whether its target is down, a counter held between
// collections).
//
// # Pitfalls handled
//
//   - /-/ready answers before the first scrape lands: Open also waits
//     until every target of the selected series' jobs has been scraped
//     (/api/v1/targets), and until each energy counter has changed twice
//     after its first sample, so that its slope is known (WithStartTimeout).
//   - A ServiceMonitor without honorLabels renames the exporter's
//     namespace, pod and container labels to exported_*: a selector that
//     matches nothing is tried again on those (Describe says which form
//     matched).
//   - Series that disappear (a GPU, pod or exporter gone): a device whose
//     series have missed two scrapes is left out of ticks (Stats.StaleTicks),
//     and WindowEnergy reports the coverage.
//   - dcgm-exporter's collection interval coarser than the scrape: detected
//     from repeated values, noted in Describe and WindowEnergy.
//   - Prometheus 2.x includes a range's start sample and 3.x does not: no
//     figure depends on a sample at an edge.
//
// Times are Prometheus's sample timestamps, taken as the local clock's
// (keep the hosts in NTP sync): an offset between the two shifts readings
// in time, but not the energy of a steady load. Prometheus stamps a sample
// with the time its scrape started; an exporter that answers late (a
// loaded host) shifts that value by the delay, an error of delay × power
// at a window's edges and across a bridged reset that no reader of
// Prometheus can see (on a loaded 2-core test machine, 0.2 s, up to 2 % of
// a 10 s window).
//
// # Timing and cost
//
// Sample at 1–5 s, not at the 10 ms of a local sampler; each tick sends one
// range query per selector, for the few samples gained since the last one,
// each within the query timeout (DefaultQueryTimeout, 2 s). Sample starts
// one goroutine per selector and waits for them before it returns; the
// Sampler owns none between calls. Answers are bounded by MaxResponseBytes
// and MaxSeries.
package prometheus
