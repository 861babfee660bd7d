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
// Then it finds the GPUs the engine runs on (see "The engine's GPUs").
// Samplers start before the load and stop after it, each with a closing
// reading, so the readings reach the end of the window; between their
// start and the load, an idle phase (WithIdlePhase, DefaultIdlePhase 3 s;
// 0 skips it) samples the engine serving nothing, for the idle baseline.
// The load runs for the duration plus a grace period. After it, the GPU
// energy of the window is attributed to the requests, and the trace is
// rewritten with each request's joules before the envelope hashes it.
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
//   - power_idle_w: the counted GPUs' power over the idle phase;
//     energy_joules_gpu_above_idle: energy_joules_gpu less power_idle_w
//     over the window; joules_per_token_above_idle: that per output
//     token. Absent, with a warning, when the engine was not idle (GPU
//     utilization, power not settling; see package energy).
//   - power_avg_w_other_gpus, energy_joules_gpu_other_gpus: the GPUs the
//     engine does not run on, left out of every other GPU figure.
//   - joules_per_request_p50/_p99, joules_per_output_token_p50/_p99: over
//     the ok post-warmup requests, of the GPU energy attributed to each
//     (package energy, "Joules per request"); energy_joules_gpu_idle_gaps:
//     the part of energy_joules_gpu with no request in flight. The trace's
//     gpu_joules (loadgen.Result.GPUJoules) and it add up to
//     energy_joules_gpu.
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
// # The engine's GPUs
//
// Without WithGPUs, NVML samples every GPU, but the energy figures count
// only the engine's when they can be told: Run reads, under the system
// root (WithSystemRoot), /proc/net/tcp and tcp6 for the socket listening
// on the base URL's port, the processes holding it (/proc/<pid>/fd) and
// their descendants and launchers (the ancestors below the first one this
// process shares, or PID 1), and asks each sampler that implements
// sampler.ProcessLister (NVML: its running compute and graphics
// processes) which GPUs run them. The other sampled GPUs are reported
// apart. It falls back to every GPU, with a warning saying why, when the
// base URL's host is not this host (a loopback address, "localhost", this
// host's name or an address of its interfaces; names are not resolved),
// when no socket listens on the port here (another network namespace or
// container), when no visible process holds it (another PID namespace, or
// another user's process), when no sampler lists processes, or when none
// of the engine's processes is listed on a GPU (NVML's PIDs are the host's:
// in a nested PID namespace they differ). WithGPUs overrides it: NVML
// samples the GPUs given and the figures count them all. Result.GPUs and
// the envelope's driver_options.telemetry record the choice: how
// (gpu_selection "engine", "all" or "option", with gpu_selection_reason),
// engine_pids, the idle window, and per sampled GPU its model, whether it
// is counted, the engine's PIDs on it, its power field ("instant" or
// "average_1s") and measured sensor period, its mean power and energy over
// the window and its idle power and utilization.
//
// # Files
//
// The envelope is written atomically as profile-<content_hash[:12]>.json in
// the output directory (profile-c16-… for a sweep point, <hash12>.json for
// a suite run from nothing), and its side files are then renamed after it:
// profile-<hash12>.requests.jsonl (one loadgen.Result per request, with
// its gpu_joules once the run is measured), profile-<hash12>.timeline.csv
// (sampler.TimelineColumns) and, with WithTimelineHTML,
// profile-<hash12>.timeline.html. The envelope's distributions give each
// side file's suffix and SHA-256 (".requests.jsonl#sha256=…"), so the
// signature covers them. Until the envelope exists the side files carry a
// stem of the prefix, the UTC start time and a random part; if the run is
// interrupted they keep it, and no envelope is written.
//
// # Provenance
//
// software_provenance.pip_freeze_hash is the SHA-256 of the Go build
// information's module list; git_commit is the build's VCS revision, or
// forty zeros when the binary has none. model.revision, endpoint_hash and
// config_hash keep the reference's placeholders.
package profile
