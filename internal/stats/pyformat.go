package stats

import (
	"math"
	"strconv"
)

// PyFormat formats v as Python's format(v, f".{prec}{verb}") does for the
// verbs 'e', 'f' and 'g': strconv follows the same C rules (correct rounding,
// ties to even on the exact binary value, %g's trailing-zero removal and
// two-digit exponents); only the spelling of infinities and NaN differs,
// which PyFormat fixes ("inf", "-inf", "nan").
func PyFormat(v float64, verb byte, prec int) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, verb, prec, 64)
}
