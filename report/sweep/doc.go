// Package sweep renders a sweep — the envelopes of one benchmark run at
// several load points — or a peak search, whose probes are such points:
// a summary table (point, throughput, TTFT and TPOT p50/p99, goodput, ok
// rate, GPU power, J/token), the same as a JSON document, and a
// self-contained HTML page with the curves: latency against throughput,
// energy per token against throughput, and GPU power against load, with
// the knee and a search's peak marked.
//
// Like package report, it draws from envelopes alone (each point's signed
// envelope, and plain fields saying what ran and how a search judged it),
// so a summary can be rebuilt from the files a sweep wrote. It imports
// only envelope, report and the module's internal helpers.
//
// # The knee
//
// [Knee] finds where latency starts to climb faster than throughput, on
// TTFT p99 against output throughput: with both scaled to [0, 1] across
// the points, in order of load, the knee is the point farthest above the
// diagonal (largest throughput − latency: Kneedle's difference curve),
// never the lowest- or highest-load point. Past the knee, more load buys
// little throughput and much latency. A search's peak is another matter:
// the highest load whose run still meets the SLO.
package sweep
