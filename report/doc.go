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
// The package imports only envelope and the module's internal helpers:
// the tables are drawn from what an envelope says, never from readings or
// results. The HTML timeline of a run, which is drawn from those, is
// package report/timeline.
package report
