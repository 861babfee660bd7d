// Package profile re-runs the benchmark recorded in a signed envelope
// against a live OpenAI-compatible engine, samples GPU and CPU/DRAM
// telemetry while it runs, and writes a new signed envelope that says where
// the throughput and the joules went: the Go port of InferenceBench's
// `bench profile`.
//
//	res, err := profile.Run(ctx, src,
//		profile.WithBaseURL("http://localhost:8000/v1"),
//		profile.WithNVMLInterval(10*time.Millisecond))
//
// # What Run does
//
// In the reference's order: verify the source envelope (a bad signature
// refuses to run; an intact one from an unpinned signer runs with a loud
// warning recorded in the new envelope, or fails under WithRequireTrusted);
// require a base URL; find the suite (loadgen/catalog); check the engine
// name (one of loadgen's built-in engine kinds, or one described with
// WithEngineKinds). Then, before any load is sent, everything that could
// fail later: the signer (a dev key's validity, keyless readiness), the
// dataset, the sweep point, the engine (version probe, served model).
// Samplers start before the load and stop after it; the load runs for the
// duration plus a grace period.
//
// # Runs from nothing, sweeps and peaks
//
// [RunSource] runs any [Source]: a signed envelope's benchmark
// ([FromEnvelope]; Run is RunSource of one), or a bundled suite from
// nothing ([FromSuite]: suite id, served model, engine kind), for a user
// with an engine and no envelope. A suite run verifies nothing, runs at
// the suite's first point unless WithPoint says otherwise, and writes
// <hash12>.json (by default in DefaultFreshOutputDir, "results"), as the
// reference's `bench run` names a fresh envelope; that envelope is a
// source like any other.
//
// [Sweep] runs a source at several points (concurrencies or rates) with
// the same telemetry, opened once, writing each point's envelope as
// profile-c16-<hash12>.json (c16-<hash12>.json for a suite run from
// nothing) and a summary of the curve (report/sweep). [FindPeak] searches
// for the highest load that holds a [PeakSLO] — latency percentile bounds
// ("ttft_p99=500ms") or the SLO template — by bracketing and bisection in
// a bounded number of short probes, each a sweep point with its own
// envelope; its documentation states the search and its stopping rule.
//
// # Definitions
//
// The measurement window runs from the first post-warmup request's send to
// the last post-warmup request's end. Every rate, power and energy figure
// refers to it (the reference divides by the whole driver time, warmup and
// sampler start-up included).
//
//   - measure_window_s: the window's length in seconds.
//   - nvml_sample_count / rapl_sample_count: the ticks inside the window
//     that read a GPU / a CPU package or DRAM, whichever sampler read them;
//     one NVML tick reads every selected GPU (30 s at 10 ms ≈ 3000).
//   - nvml_interval_p99_ms: p99 of the achieved interval between the GPU
//     sampler's ticks (with several GPU samplers, the largest p99).
//   - power_avg_w / power_peak_w: GPU power summed over the selected GPUs
//     (as the reference), the average time-weighted.
//   - energy_joules_gpu: the GPUs' energy counters' difference over the
//     window, summed; energy_joules_gpu_integral: ∫P dt of the same trace.
//   - energy_joules_cpu_dram: RAPL package and DRAM energy over the window.
//   - energy_joules_total: GPU + CPU/DRAM; joules_per_token: that over the
//     output tokens of ok requests.
//   - gpu_util_avg_pct, power_avg_w_under_load: see package energy.
//   - token_source: where output token counts came from (usage, chunks or mixed).
//
// A figure that was not measured is absent from the envelope, never 0, and
// a warning says why.
//
// # Samplers
//
// [OpenDefaultSamplers] opens the built-in samplers — NVML for the GPUs,
// RAPL for CPU packages and DRAM — as WithNVMLInterval, WithGPUs,
// WithNVMLLibrary, WithRAPLInterval and WithSystemRoot configure them. Run
// calls it unless WithoutDefaultSamplers is given and schedules what it
// opened beside the samplers of WithSampler, all alike. What a sampler
// measures is told by its devices' kinds (its readings, and
// sampler.Describer), never by its name: a DCGM exporter, a remote host or
// a sampler of your own gives the GPU figures, sample counts and progress
// power exactly as NVML does. The figures of a kind of device that no
// sampler reads are unavailable, with the reason: why the built-in sampler
// did not open, or that the built-in samplers are disabled. The hardware
// fingerprint's GPUs come from NVML's inventory of this host.
//
// # Files
//
// The envelope is written atomically as profile-<content_hash[:12]>.json in
// the output directory, beside two side files named after the run's start
// time: <stem>.requests.jsonl (one loadgen.Result per request) and
// <stem>.timeline.csv (sampler.TimelineColumns). The stem is
// <prefix>-<UTC time>-<random>, with the envelope's prefix: profile,
// profile-c16 for a sweep point, run (a suite run from nothing) or c16 (its
// sweep points), so that a point's side files are recognisably its own. The envelope's
// distributions name both with their SHA-256, so the signature covers them.
// If the run is interrupted, the side files written so far stay and no
// envelope is written.
//
// # Provenance
//
// software_provenance.pip_freeze_hash is the SHA-256 of the Go build
// information's module list; git_commit is the build's VCS revision, or
// forty zeros when the binary has none. model.revision, endpoint_hash and
// config_hash keep the reference's placeholders.
package profile
