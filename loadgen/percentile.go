package loadgen

import (
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
