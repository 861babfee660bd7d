// Package benchprof is a Go library for profiling LLM serving engines
// (vLLM, SGLang, TensorRT-LLM, llama.cpp servers): it re-runs the benchmark
// recorded in a signed result envelope against a live OpenAI-compatible
// engine, samples GPU telemetry through NVML and CPU/DRAM energy through
// RAPL, explains where the throughput and the joules went, and writes a new
// signed envelope. It is a faithful, stricter Go port of InferenceBench's
// `bench profile`.
//
// The packages, each with one job, and the only direction imports may go:
//
//   - envelope: the v1 result envelope — parsing with the reference's
//     validation, canonical JSON and content hash byte-compatible with the
//     reference, atomic writing, dev-key signing and verification with a
//     trust policy. It imports no other package of ours, and no Sigstore.
//   - envelope/keyless: Sigstore keyless signing and verification, the only
//     package that compiles Sigstore (and its gRPC stack); plugged into
//     envelope.Verify with envelope.WithMethodVerifier.
//   - loadgen: drives the engine (OpenAI-compatible streaming client, closed
//     and open loop drivers, engine probe, latency metrics). It imports no
//     envelope: a harness gives it prompts, a point and SLO predicates.
//   - loadgen/catalog: the reference's benchmark catalogue (suites, their
//     datasets and dataset hashes, SLO templates and hardware classes, the
//     sweep point a source envelope ran at); imports loadgen and envelope.
//   - sampler: telemetry (NVML in one cgo leaf, RAPL, remote Prometheus
//     endpoints) on absolute-time ticks. Independent of loadgen.
//   - energy: turns sampler readings into joules and watts.
//   - report: renders results as tables from envelopes alone (it imports
//     only envelope and internal/).
//   - report/timeline: the HTML timeline page of a run, from readings and
//     results (fed live or read from the side files), with energy's
//     per-device rules.
//   - profile: composes all of the above into Run(ctx, env, opts...).
//   - examples/bench: a thin CLI over the library; nothing imports it.
//
// Shared helpers live under internal/.
package benchprof
