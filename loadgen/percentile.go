package loadgen

import (
	"cmp"
	"math"
	"slices"

	"github.com/benchprof/benchprof/internal/stats"
)

// Percentile returns the p-th percentile (0 ≤ p ≤ 100) of sorted, which must
// be in ascending order, bit for bit as numpy.percentile(sorted, p,
// method="linear") computes it (Hyndman–Fan type 7, the reference's
// estimator).
//
// The floating-point operations are numpy's, in numpy's order:
//
//	q := p / 100
//	v := float64(n-1) * q           // the virtual index
//	i := floor(v); lo, hi := sorted[i], sorted[i+1]
//	if v >= n-1 { i = -1; lo, hi = sorted[n-1], sorted[n-1] } // numpy's _get_indexes
//	t := v - i                      // gamma, against the clamped i
//	d := hi - lo
//	if t >= 0.5 { return hi - d*(1-t) } else { return lo + d*t } // numpy's _lerp
//
// The clamp matters only for signed zeros: a single -0 stays -0 (t is 1 and
// the result hi − 0·0), as in numpy; the one-index form with
// hi = sorted[min(i+1, n−1)] would give +0. Every product is rounded on its
// own, as numpy rounds it: Go may otherwise fuse x*y+z into one FMA
// instruction (it does with GOAMD64=v3 and on arm64), which changes results
// in the last bit.
//
// NaN: numpy sorts NaN last and then returns NaN, so Percentile returns NaN
// if sorted holds any NaN. Summarize drops non-finite values before it
// calls Percentile, as the reference does (np.isfinite); infinities are
// otherwise handled with numpy's IEEE arithmetic (an infinite neighbour
// gives ±Inf or NaN).
//
// Percentile returns NaN for an empty slice (numpy raises) and panics if p
// is NaN or outside [0, 100] (numpy raises ValueError), since that is a
// programming error rather than a property of the data.
func Percentile(sorted []float64, p float64) float64 {
	return stats.Percentile(sorted, p)
}

// PercentileOf returns Percentile of a sorted copy of values; values itself
// is not modified. The same NaN, empty-input and p rules apply.
func PercentileOf(values []float64, p float64) float64 {
	s := slices.Clone(values)
	slices.Sort(s)
	return Percentile(s, p)
}

// sortedFinite returns the finite values of vs, sorted ascending: the
// reference's np.asarray([x for x in samples if np.isfinite(x)]).
func sortedFinite(vs []float64) []float64 {
	out := make([]float64, 0, len(vs))
	for _, v := range vs {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
}

// weightedValue is a value that occurs Weight times in a multiset.
type weightedValue struct {
	V      float64
	Weight int64
}

// weightedQuantiles computes the Quantiles of the multiset in which each
// vs[i].V occurs vs[i].Weight times, bit for bit as quantilesOf computes them
// on the expanded slice, in O(len(vs)) memory however large the weights.
// Non-finite values and weights below 1 are dropped. It sorts vs in place.
//
// The interpolation is Percentile's, with the ranks floor(h) and floor(h)+1
// of the virtual index h = (N−1)·p/100 found by cumulative weight. ok is
// false, and the Quantiles zero, when the total weight N overflows int64
// (or int).
func weightedQuantiles(vs []weightedValue) (q Quantiles, ok bool) {
	vs = slices.DeleteFunc(vs, func(x weightedValue) bool {
		return x.Weight < 1 || math.IsNaN(x.V) || math.IsInf(x.V, 0)
	})
	if len(vs) == 0 {
		return Quantiles{}, true
	}
	slices.SortFunc(vs, func(a, b weightedValue) int { return cmp.Compare(a.V, b.V) })
	cum := make([]int64, len(vs)) // cum[i]: the total weight of vs[:i+1]
	var n int64
	for i, x := range vs {
		if x.Weight > math.MaxInt64-n {
			return Quantiles{}, false
		}
		n += x.Weight
		cum[i] = n
	}
	if uint64(n) > math.MaxInt {
		return Quantiles{}, false
	}
	pct := func(p float64) float64 { return weightedPercentile(vs, cum, p) }
	return Quantiles{
		N:   int(n),
		Min: vs[0].V, Max: vs[len(vs)-1].V,
		P50: pct(p50), P75: pct(p75), P90: pct(p90),
		P95: pct(p95), P99: pct(p99), P999: pct(p999),
	}, true
}

// weightedPercentile is Percentile over the expansion of vs (sorted, with
// cumulative weights cum), as stats.Percentile computes it step by step.
func weightedPercentile(vs []weightedValue, cum []int64, p float64) float64 {
	n := cum[len(cum)-1]
	// at returns the value of rank r (0-based) in the expansion.
	at := func(r int64) float64 {
		r = min(r, n-1) // float rounding of a huge n-1 cannot reach past the end
		i, _ := slices.BinarySearchFunc(cum, r, func(c, r int64) int { return cmp.Compare(c, r+1) })
		return vs[i].V
	}
	q := p / 100
	v := float64(float64(n-1) * q)
	var lo, hi, prev float64
	if v >= float64(n-1) {
		lo, hi, prev = vs[len(vs)-1].V, vs[len(vs)-1].V, -1
	} else {
		prev = math.Floor(v)
		i := int64(prev)
		lo, hi = at(i), at(i+1)
	}
	t := v - prev
	d := hi - lo
	if t >= 0.5 {
		return hi - float64(d*(1-t))
	}
	return lo + float64(d*t)
}
