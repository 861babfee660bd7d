package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestITLSketchRelativeError: every percentile of the sketch is within
// ITLRelativeError of the exact one, on distributions an engine produces
// (a tight mode, a long tail, bursts of equal values, zeros).
func TestITLSketchRelativeError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, gen := range map[string]func() (float64, int64){
		"tight 5 ms":       func() (float64, int64) { return 5 + rng.NormFloat64()*0.2, 1 },
		"lognormal tail":   func() (float64, int64) { return math.Exp(1.5 + rng.NormFloat64()), 1 },
		"chunks of k":      func() (float64, int64) { return 2 + rng.Float64()*30, 1 + rng.Int64N(8) },
		"stalls and zeros": func() (float64, int64) { return []float64{0, 0.01, 4, 4, 4, 2000}[rng.IntN(6)], 1 },
	} {
		t.Run(name, func(t *testing.T) {
			var exact []weightedValue
			sk := newITLSketch()
			for range 200_000 {
				v, w := gen()
				v = max(v, 0)
				exact = append(exact, weightedValue{v, w})
				sk.add(v, w)
			}
			want, _ := weightedQuantiles(slices.Clone(exact))
			got, ok := sk.quantiles()
			if !ok || got.N != want.N || got.Min != want.Min || got.Max != want.Max {
				t.Fatalf("sketch N/min/max %d %v %v, want %d %v %v", got.N, got.Min, got.Max, want.N, want.Min, want.Max)
			}
			for _, pair := range [][2]float64{{got.P50, want.P50}, {got.P75, want.P75}, {got.P90, want.P90},
				{got.P95, want.P95}, {got.P99, want.P99}, {got.P999, want.P999}} {
				if d := math.Abs(pair[0] - pair[1]); d > ITLRelativeError*math.Abs(pair[1])+1e-12 {
					t.Errorf("percentile %v vs exact %v: relative error %.4f > %.4f", pair[0], pair[1], d/pair[1], ITLRelativeError)
				}
			}
		})
	}
}

// TestSummarizerSwitchesToTheSketch: past ExactITLGaps gaps the ITL comes
// from the sketch (with a warning) and stays within its error; before, it is
// exact.
func TestSummarizerSwitchesToTheSketch(t *testing.T) {
	z := NewSummarizer(SLO{})
	rng := rand.New(rand.NewPCG(3, 4))
	var all []weightedValue
	for i := range 2000 {
		r := Result{Index: i, Outcome: OutcomeOK, Sent: time.Duration(i) * time.Millisecond, OutputTokens: 64}
		at := r.Sent + 40*time.Millisecond
		r.FirstToken = at
		for range 64 {
			r.Chunks = append(r.Chunks, Chunk{At: at, Tokens: 1})
			gap := time.Duration(4e6 + rng.Int64N(2e6))
			all = append(all, weightedValue{msOf(gap), 1})
			at += gap
		}
		all = all[:len(all)-1] // the last gap is not a chunk's
		r.End = at
		z.Add(&r)
	}
	s := z.Summary()
	want, _ := weightedQuantiles(all)
	if s.ITL.N != want.N || math.Abs(s.ITL.P99-want.P99) > ITLRelativeError*want.P99 {
		t.Errorf("ITL N %d p99 %v; want %d, %v within %.1f%%", s.ITL.N, s.ITL.P99, want.N, want.P99, 100*ITLRelativeError)
	}
	if !slices.ContainsFunc(s.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "the inter-token latency percentiles come from a histogram")
	}) {
		t.Errorf("no warning that the ITL is approximate: %q", s.Warnings)
	}
}

// TestSummarizerOrderAndRepeat: the summary does not depend on the order
// of Add calls, and Summary may be called again.
func TestSummarizerOrderAndRepeat(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var rs []Result
	for i := range 300 {
		r := Result{Index: i, Warmup: i < 3, Outcome: OutcomeOK, Scheduled: time.Duration(i) * time.Millisecond, OutputTokens: 3}
		r.Sent = r.Scheduled + time.Duration(rng.Int64N(3))*time.Millisecond // some queue, most not
		r.FirstToken = r.Sent + time.Duration(20+rng.Int64N(30))*time.Millisecond
		r.Chunks = []Chunk{{r.FirstToken, 1}, {r.FirstToken + 5*time.Millisecond, 1}, {r.FirstToken + 9*time.Millisecond, 1}}
		r.End = r.FirstToken + 10*time.Millisecond
		if i%17 == 0 {
			r.Outcome, r.Error, r.Chunks = OutcomeHTTPStatus, "HTTP 503", nil
		}
		rs = append(rs, r)
	}
	want := Summarize(rs, SLO{})
	z := NewSummarizer(SLO{})
	for _, i := range rng.Perm(len(rs)) {
		z.Add(&rs[i])
	}
	for range 2 {
		got := z.Summary()
		if got.TTFT != want.TTFT || got.TTFTFromScheduled != want.TTFTFromScheduled || got.Queue != want.Queue ||
			got.ITL != want.ITL || got.OK != want.OK || got.FirstErrors[OutcomeHTTPStatus] != "HTTP 503" {
			t.Fatalf("summary in another order differs:\n%+v\n%+v", got, want)
		}
	}
}
