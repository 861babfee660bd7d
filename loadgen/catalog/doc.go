// Package catalog is the benchmark catalogue of InferenceBench's
// llm.inference plugin, ported: what a benchmark is, as opposed to how load
// is driven (package loadgen, which knows nothing of suites or envelopes).
//
//   - Suites: the five bundled benchmark specs ([Suites], [LookupSuite]),
//     each with its dataset, driver kind, sweep, duration, warmup, seed and
//     SLO template.
//   - Datasets: the reference's URI schemes and prompt files
//     ([LoadPrompts]: builtin://, file:// JSONL or ShareGPT, refusing
//     hf:// and fixtures:// offline), its sizing rule ([SizePrompts]) and
//     its dataset hash ([Dataset.Hash], envelope.DatasetHash), so that a
//     re-run records the dataset.id and dataset.hash the reference would.
//   - SLO templates and hardware classes: [ResolveSLO] scales a template's
//     thresholds for the class [ClassifyHardware] finds, giving the
//     loadgen.SLO that loadgen.Summarize tests.
//   - Sweep points: [ResolvePoint] chooses the point at which to re-run a
//     suite from a source envelope (its driver_options, or its file name as
//     `bench run --sweep` writes it, [PointFromFileName]), else the suite's
//     default. [FilePrefix] names a point's envelope as `bench run
//     --sweep` does ("c16", "rps0p5").
//   - Runs from nothing: [FreshSource] is what a source envelope would tell
//     a re-run of a suite (suite, model, engine kind, dataset id, seed,
//     SLO template), with nothing measured, so that a suite can be run
//     without an envelope by the same stages that re-run one.
//
// The catalogue reads envelopes (package envelope); the engine does not.
// A harness that only drives load imports loadgen alone and gives it
// prompts and a loadgen.Point of its own.
package catalog
