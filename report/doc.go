// Package report renders a profile — a source envelope beside the profile
// envelope made from it — as the reference's three tables ("Profile
// summary", "Headline metrics (source vs profile)", "Profiling breakdown")
// in plain or colored text, Markdown and JSON. It reads only envelopes, so
// it can render any pair, and it never imports the profile package.
//
// Cell formats follow the reference (FACTS §8.3): headline values as
// Python's .4g, "% time on host" as 100 − GPU utilization with .2f, the
// energy split as GPU/(CPU+DRAM) with .3f, power with .2f W, sample counts
// as integers. Where the reference prints a fallback that a real run
// always hits, this package says why the figure is missing
// ("unavailable: <reason>") and never labels a total as GPU energy.
//
// [WriteHTMLTimeline] renders a profile's telemetry timeline and request
// trace as one self-contained HTML page (inline SVG, no scripts, fonts or
// network references): per-GPU power and utilization, CPU+DRAM power,
// in-flight requests and output tokens per second on one time axis, with
// the measurement window shaded, downsampled so an hour stays small.
package report
