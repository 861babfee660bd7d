package loadgen

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"testing"
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
