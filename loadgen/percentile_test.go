package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestPercentileVectors checks Percentile bit for bit against
// numpy.percentile(a, p, method="linear") on the vectors that
// scripts/gen-percentile-vectors.py wrote. Run it also with GOAMD64=v3 (or
// on arm64), where the compiler fuses multiply-adds unless told not to.
func TestPercentileVectors(t *testing.T) {
	f, err := os.Open("testdata/percentile/vectors.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)

	var header struct {
		Numpy  string `json:"numpy"`
		Cases  int    `json:"cases"`
		Checks int    `json:"checks"`
	}
	if !sc.Scan() {
		t.Fatalf("empty vector file: %v", sc.Err())
	}
	if err := json.Unmarshal(sc.Bytes(), &header); err != nil || header.Numpy == "" {
		t.Fatalf("bad header line %q: %v", sc.Text(), err)
	}

	cases, checks := 0, 0
	for sc.Scan() {
		var c struct {
			Name string   `json:"name"`
			A    []string `json:"a"`
			P    []string `json:"p"`
			Want []string `json:"want"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatalf("line %d: %v", cases+2, err)
		}
		a := parseFloats(t, c.A)
		ps := parseFloats(t, c.P)
		want := parseFloats(t, c.Want)
		if len(ps) != len(want) {
			t.Fatalf("%s: %d p but %d want", c.Name, len(ps), len(want))
		}
		sorted := slices.Clone(a)
		slices.Sort(sorted)
		for k, p := range ps {
			got := Percentile(sorted, p)
			if !sameFloat(got, want[k]) {
				t.Errorf("%s (n=%d): Percentile(p=%v) = %v (%#016x), numpy %v (%#016x)",
					c.Name, len(a), p, got, math.Float64bits(got), want[k], math.Float64bits(want[k]))
			}
			if got2 := PercentileOf(a, p); !sameFloat(got2, got) {
				t.Errorf("%s: PercentileOf(p=%v) = %v, Percentile of the sorted copy = %v", c.Name, p, got2, got)
			}
			checks++
		}
		cases++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cases != header.Cases || checks != header.Checks {
		t.Fatalf("read %d cases, %d checks; header says %d, %d", cases, checks, header.Cases, header.Checks)
	}
	t.Logf("%d cases, %d checks against numpy %s", cases, checks, header.Numpy)
}

func parseFloats(t *testing.T, ss []string) []float64 {
	t.Helper()
	out := make([]float64, len(ss))
	for i, s := range ss {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// sameFloat reports whether a and b have the same bits, or are both NaN.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}

func TestPercentileEdges(t *testing.T) {
	negZero := math.Copysign(0, -1)
	for _, tc := range []struct {
		name string
		in   []float64
		p    float64
		want float64
	}{
		{"empty", nil, 50, math.NaN()},
		{"single", []float64{3}, 99, 3},
		{"single -0 stays -0", []float64{negZero}, 50, negZero},
		{"p0 is the minimum", []float64{1, 2, 3}, 0, 1},
		{"p100 is the maximum", []float64{1, 2, 3}, 100, 3},
		{"midpoint", []float64{1, 2}, 50, 1.5},
		{"NaN anywhere gives NaN", []float64{math.NaN(), 1, 2}, 50, math.NaN()},
		{"infinite neighbour", []float64{1, math.Inf(1)}, 50, math.NaN()},
		{"infinite top at p100", []float64{1, math.Inf(1)}, 100, math.NaN()},
		{"infinite top below", []float64{1, 2, math.Inf(1)}, 25, 1.5},
		// numpy's two-branch lerp: t >= 0.5 interpolates down from hi.
		{"upper branch", []float64{0.1, 0.7}, 90, 0.7 - (0.7-0.1)*(1-0.9)},
		{"lower branch", []float64{0.1, 0.7}, 10, 0.1 + (0.7-0.1)*0.1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percentile(tc.in, tc.p); !sameFloat(got, tc.want) {
				t.Errorf("Percentile(%v, %v) = %v, want %v", tc.in, tc.p, got, tc.want)
			}
		})
	}
}

func TestPercentilePanicsOnBadP(t *testing.T) {
	for _, p := range []float64{-1, 100.0000001, math.NaN(), math.Inf(1)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Percentile(p=%v) did not panic", p)
				}
			}()
			Percentile([]float64{1}, p)
		}()
	}
}

func TestPercentileOfLeavesInputAlone(t *testing.T) {
	in := []float64{3, 1, 2}
	if got := PercentileOf(in, 50); got != 2 {
		t.Errorf("PercentileOf = %v, want 2", got)
	}
	if !slices.Equal(in, []float64{3, 1, 2}) {
		t.Errorf("input modified: %v", in)
	}
}

func ExamplePercentile() {
	latenciesMS := []float64{12, 15, 11, 40, 13, 14, 12, 90, 13, 12}
	sorted := slices.Clone(latenciesMS)
	slices.Sort(sorted)
	fmt.Println(Percentile(sorted, 50))
	fmt.Println(Percentile(sorted, 90)) // numpy gives 44.999999999999986 too
	fmt.Println(Percentile(sorted, 99))
	// Output:
	// 13
	// 44.999999999999986
	// 85.5
}

// expand is the multiset a weighted list stands for.
func expand(vs []weightedValue) []float64 {
	var out []float64
	for _, x := range vs {
		for range x.Weight {
			out = append(out, x.V)
		}
	}
	return out
}

// TestWeightedQuantilesMatchExpansion: the weighted computation equals
// quantilesOf over the expanded values, bit for bit.
func TestWeightedQuantilesMatchExpansion(t *testing.T) {
	w := func(pairs ...float64) []weightedValue {
		var out []weightedValue
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, weightedValue{V: pairs[i], Weight: int64(pairs[i+1])})
		}
		return out
	}
	cases := map[string][]weightedValue{
		"empty":                   nil,
		"single element":          w(3.5, 1),
		"single value, weight 7":  w(3.5, 7),
		"weights 1":               w(5, 1, 1, 1, 4, 1, 2, 1, 3, 1),
		"many equal values":       w(5, 3, 5, 4, 5, 1, 2, 2),
		"two values":              w(10, 1, 20, 1),
		"negative and unsorted":   w(-1.5, 2, 7, 3, -8, 1, 0, 4),
		"non-finite and weight 0": w(math.NaN(), 2, 1, 2, math.Inf(1), 1, 2, 0, 3, 1),
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for i := range 300 {
		var vs []weightedValue
		for range 1 + rng.IntN(40) {
			v := rng.NormFloat64() * 10
			if i%2 == 0 {
				v = float64(rng.IntN(5)) // ties
			}
			vs = append(vs, weightedValue{V: v, Weight: 1 + rng.Int64N(12)})
		}
		cases[fmt.Sprintf("random %d", i)] = vs
	}
	for name, vs := range cases {
		want := quantilesOf(expand(vs))
		got, ok := weightedQuantiles(slices.Clone(vs))
		if !ok {
			t.Errorf("%s: overflow reported", name)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-expanded +weighted):\n%s", name, diff)
		}
	}
}

// TestWeightedQuantilesHugeWeights: weights no slice could hold are
// computed without expanding; an overflowing total is refused.
func TestWeightedQuantilesHugeWeights(t *testing.T) {
	const w40 = int64(1) << 40
	got, ok := weightedQuantiles([]weightedValue{{2, w40}, {1, w40}})
	// N = 2^41: h = (2^41−1)·p/100. p50: h = 2^40 − 0.5 lies between the
	// last 1 (rank 2^40−1) and the first 2, halfway.
	want := Quantiles{N: 1 << 41, Min: 1, Max: 2, P50: 1.5, P75: 2, P90: 2, P95: 2, P99: 2, P999: 2}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("two values of weight 2^40, ok %v (-want +got):\n%s", ok, diff)
	}
	got, ok = weightedQuantiles([]weightedValue{{1, math.MaxInt64 - 1}, {2, 1}})
	want = Quantiles{N: math.MaxInt64, Min: 1, Max: 2, P50: 1, P75: 1, P90: 1, P95: 1, P99: 1, P999: 1}
	if diff := cmp.Diff(want, got); !ok || diff != "" {
		t.Errorf("a total of MaxInt64, ok %v (-want +got):\n%s", ok, diff)
	}
	if got, ok := weightedQuantiles([]weightedValue{{1, math.MaxInt64}, {2, 1}}); ok || got != (Quantiles{}) {
		t.Errorf("an overflowing total: %+v, ok %v; want zero and not ok", got, ok)
	}
}
