package main

import (
	"fmt"
	"io"
)

// Calls is the -calls report: how long each NVML call takes on this
// driver, how often the power and energy values change, and whether NVML
// serialises calls on one GPU.
type Calls struct {
	N       int           `json:"n"`
	Timings []CallTiming  `json:"timings"`
	Updates []ValueUpdate `json:"updates"`
	Overlap []Overlap     `json:"overlap"`
}

// CallTiming is one NVML call's durations over N back-to-back calls, in µs.
// Status is SUCCESS or the last failure's status.
type CallTiming struct {
	Device string  `json:"device"`
	Call   string  `json:"call"`
	N      int     `json:"n"`
	Status string  `json:"status"`
	MeanUS float64 `json:"mean_us"`
	P50US  float64 `json:"p50_us"`
	P90US  float64 `json:"p90_us"`
	P99US  float64 `json:"p99_us"`
	MaxUS  float64 `json:"max_us"`
}

// ValueUpdate is how often a field value changed in a second of
// back-to-back reads: ChangeGapP50MS by our clock, TimestampGap… by the
// timestamps NVML gave the value, Age… how old the value was (our clock
// minus its timestamp) when read.
type ValueUpdate struct {
	Device            string  `json:"device"`
	Value             string  `json:"value"`
	Reads             int     `json:"reads"`
	Failed            int     `json:"failed"`
	Changes           int     `json:"changes"`
	ValueType         int     `json:"value_type"`
	LatencyUS         int64   `json:"latency_usec"`
	ChangeGapP50MS    float64 `json:"change_gap_p50_ms"`
	TimestampGapP50MS float64 `json:"timestamp_gap_p50_ms"`
	TimestampGapMaxMS float64 `json:"timestamp_gap_max_ms"`
	AgeP50MS          float64 `json:"age_p50_ms"`
	AgeP99MS          float64 `json:"age_p99_ms"`
	// ChangesAtMS are the times of the first 40 changes, in ms from the
	// start.
	ChangesAtMS []float64 `json:"changes_at_ms,omitempty"`
}

// Overlap compares two calls' p50 durations, each alone and both at once
// from two goroutines on the same GPU.
type Overlap struct {
	Device         string  `json:"device"`
	A              string  `json:"a"`
	B              string  `json:"b"`
	AloneAP50US    float64 `json:"alone_a_p50_us"`
	AloneBP50US    float64 `json:"alone_b_p50_us"`
	TogetherAP50US float64 `json:"together_a_p50_us"`
	TogetherBP50US float64 `json:"together_b_p50_us"`
}

func writeCalls(w io.Writer, c *Calls) {
	fmt.Fprintf(w, "NVML calls, %d back to back each (at most 2 s), µs:\n", c.N)
	fmt.Fprintf(w, "  %-6s %-42s %5s %9s %9s %9s %9s %9s  %s\n", "device", "call", "n", "mean", "p50", "p90", "p99", "max", "status")
	for _, t := range c.Timings {
		fmt.Fprintf(w, "  %-6s %-42s %5d %9.1f %9.1f %9.1f %9.1f %9.1f  %s\n", t.Device, t.Call, t.N, t.MeanUS, t.P50US, t.P90US, t.P99US, t.MaxUS, t.Status)
	}
	fmt.Fprintln(w, "value changes in 1 s of back-to-back reads:")
	for _, u := range c.Updates {
		fmt.Fprintf(w, "  %s %s: %d reads (%d failed), %d changes, gap p50 %g ms; NVML timestamps: gap p50 %g ms, max %g ms; value age p50 %g ms, p99 %g ms; type %d, latency %d µs\n",
			u.Device, u.Value, u.Reads, u.Failed, u.Changes, u.ChangeGapP50MS, u.TimestampGapP50MS, u.TimestampGapMaxMS, u.AgeP50MS, u.AgeP99MS, u.ValueType, u.LatencyUS)
		fmt.Fprintf(w, "    changes at (ms): %v\n", u.ChangesAtMS)
	}
	fmt.Fprintln(w, "two calls at once on one GPU (p50, µs):")
	for _, o := range c.Overlap {
		fmt.Fprintf(w, "  %s %s alone %g, together %g | %s alone %g, together %g\n", o.Device, o.A, o.AloneAP50US, o.TogetherAP50US, o.B, o.AloneBP50US, o.TogetherBP50US)
	}
}
