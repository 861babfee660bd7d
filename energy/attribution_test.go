package energy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// streaming returns a request sent at start that streams one chunk of k
// tokens every gap, n chunks, and ends with the last.
func streaming(start, gap float64, n, k int) Request {
	r := Request{Start: sec(start), End: sec(start + gap*float64(n)), OutputTokens: n * k, Measured: true}
	for i := 1; i <= n; i++ {
		r.Chunks = append(r.Chunks, Chunk{At: sec(start + gap*float64(i)), Tokens: k})
	}
	return r
}

// attribute runs both passes over rs and returns each request's joules
// (NaN when it has none) and the report filled.
func attribute(t *testing.T, readings []sampler.Reading, w Window, rs []Request, opts ...Option) ([]float64, *Report) {
	t.Helper()
	a, err := NewAccumulator(w, append([]Option{WithAttributionBin(100 * time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readings {
		a.Add(r)
	}
	att, err := a.Attribution()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		att.AddWork(r)
	}
	out := make([]float64, len(rs))
	for i, r := range rs {
		j, ok := att.Attribute(r)
		if !ok {
			j = math.NaN()
		}
		out[i] = j
	}
	rep, err := a.Report(0)
	if err != nil {
		t.Fatal(err)
	}
	att.Fill(rep)
	return out, rep
}

func TestAttributionRule(t *testing.T) {
	flat := stepGPUs("g", 1, 0.1, 5, func(int, float64) float64 { return 100 }, func(float64) float64 { return 90 }, true)
	r1 := streaming(0, 0.1, 10, 2)            // 2 tokens per 0.1 s over [0, 1]
	r2 := streaming(0, 0.1, 10, 1)            // 1 token per 0.1 s over [0, 1]
	r3 := Request{Start: sec(1), End: sec(2)} // failed: in flight, no work
	r4 := Request{Start: sec(2), End: sec(2.5), PromptTokens: 100, OutputTokens: 1, Measured: true,
		Chunks: []Chunk{{At: sec(2.5), Tokens: 1}}} // prefill 100 × 0.1 + 1 over [2, 2.5]
	r5 := streaming(2, 0.1, 5, 1) // 5 tokens over [2, 2.5]
	warm := streaming(-1, 0.1, 15, 1)
	warm.Measured = false // warmup: [−1, 0.5], 5 of its 15 tokens in the window, beside r1 and r2
	early := streaming(-2, 0.1, 5, 1)
	rs := []Request{r1, r2, r3, r4, r5, warm, early}
	got, rep := attribute(t, flat, Window{0, sec(3)}, rs)

	// [0, 0.5]: r1 2, r2 1, warm 1 per bin; [0.5, 1]: r1 2, r2 1.
	want := []float64{
		50*2.0/4 + 50*2.0/3,
		50*1.0/4 + 50*1.0/3,
		100,
		50 * 11.0 / 16,
		50 * 5.0 / 16,
		50 * 1.0 / 4,
		math.NaN(),
	}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-9) {
			t.Errorf("request %d: %v J; want %v", i, got[i], want[i])
		}
	}
	near(t, KeyEnergyJoulesGPUIdleGaps, rep.EnergyJoulesGPUIdleGaps, 50, 1e-9)
	var sum float64
	for _, j := range got {
		if !math.IsNaN(j) {
			sum += j
		}
	}
	if math.Abs(sum+50-300) > 1e-9 {
		t.Errorf("requests %v J + gaps 50 J; want energy_joules_gpu 300 J", sum)
	}
	// Percentiles over the measured ones: r1, r2, r4, r5 (r3 is measured
	// false by default; warm is warmup).
	if w := strings.Join(rep.Warnings, "\n"); strings.Contains(w, "attribution") {
		t.Errorf("warnings: %q", rep.Warnings)
	}
	per := []float64{got[4], got[1], got[3], got[0]} // sorted
	near(t, KeyJoulesPerRequestP50, rep.JoulesPerRequestP50, (per[1]+per[2])/2, 1e-9)
	near(t, KeyJoulesPerRequestP99, rep.JoulesPerRequestP99, per[2]+0.97*(per[3]-per[2]), 1e-9)
	if !rep.JoulesPerOutputTokenP50.Measured || !rep.JoulesPerOutputTokenP99.Measured {
		t.Errorf("per-token figures %v %v", rep.JoulesPerOutputTokenP50, rep.JoulesPerOutputTokenP99)
	}
}

// TestAttributionConserves: a square-wave load and requests of every
// shape; the requests' joules and the gaps add up to energy_joules_gpu,
// with counters and with power traces alone.
func TestAttributionConserves(t *testing.T) {
	power := func(i int, t float64) float64 { return 100 + 50*float64(i) + 200*math.Mod(math.Floor(t*3), 2) }
	util := func(float64) float64 { return 50 }
	var rs []Request
	for i := range 200 {
		s := 0.05 * float64(i)
		r := Request{Start: sec(s), End: sec(s + 0.3 + 0.01*float64(i%7)), PromptTokens: 10 * (i % 5), OutputTokens: i % 9, Measured: i%4 != 0}
		for k := range i % 9 {
			r.Chunks = append(r.Chunks, Chunk{At: sec(s + 0.05 + 0.02*float64(k)), Tokens: 1 + k%3})
		}
		rs = append(rs, r)
	}
	for _, counters := range []bool{true, false} {
		readings := stepGPUs("g", 3, 0.01, 14, power, util, counters)
		got, rep := attribute(t, readings, Window{sec(1), sec(12)}, rs, WithPrefillWeight(0.2))
		var sum float64
		for _, j := range got {
			if !math.IsNaN(j) {
				sum += j
			}
		}
		if e := rep.EnergyJoulesGPU.Value; math.Abs(sum+rep.EnergyJoulesGPUIdleGaps.Value-e) > 1e-9*e {
			t.Errorf("counters=%v: requests %v J + gaps %v J; want %v J", counters, sum, rep.EnergyJoulesGPUIdleGaps.Value, e)
		}
		if w := strings.Join(rep.Warnings, "\n"); strings.Contains(w, "attribution") {
			t.Errorf("counters=%v: warnings %q", counters, rep.Warnings)
		}
		if !rep.EnergyJoulesGPUIdleGaps.Measured || rep.EnergyJoulesGPUIdleGaps.Value <= 0 {
			t.Errorf("counters=%v: gaps %v; the requests end before 11 s", counters, rep.EnergyJoulesGPUIdleGaps)
		}
	}
	// A request attributed twice is noticed.
	readings := stepGPUs("g", 1, 0.01, 14, power, util, true)
	a, _ := NewAccumulator(Window{sec(1), sec(12)}, WithAttributionBin(10*time.Millisecond))
	for _, r := range readings {
		a.Add(r)
	}
	att, _ := a.Attribution()
	att.AddWork(rs[30])
	att.Attribute(rs[30])
	att.Attribute(rs[30])
	rep, _ := a.Report(0)
	att.Fill(rep)
	if w := strings.Join(rep.Warnings, "\n"); !strings.Contains(w, "twice") {
		t.Errorf("no warning: %q", rep.Warnings)
	}
}

func TestAttributionAbsent(t *testing.T) {
	a, _ := NewAccumulator(Window{0, sec(1)})
	if _, err := a.Attribution(); err == nil {
		t.Error("Attribution without bins")
	}
	a, _ = NewAccumulator(Window{0, sec(1)}, WithAttributionBin(time.Millisecond))
	att, err := a.Attribution()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := att.Attribute(streaming(0, 0.1, 3, 1)); ok {
		t.Error("attributed without GPU energy")
	}
	rep, _ := a.Report(0)
	att.Fill(rep)
	if rep.JoulesPerRequestP50.Measured || !strings.Contains(rep.JoulesPerRequestP50.Reason, "energy_joules_gpu is absent") {
		t.Errorf("joules_per_request_p50 %v", rep.JoulesPerRequestP50)
	}
	// The bins widen past MaxAttributionBins.
	g := newGrid(Window{0, 100 * time.Hour}, time.Millisecond)
	if g.n > MaxAttributionBins || g.n < MaxAttributionBins-1 {
		t.Errorf("%d bins", g.n)
	}
}
