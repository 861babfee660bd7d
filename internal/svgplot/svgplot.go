package svgplot

import (
	"html"
	"math"
	"strconv"
	"strings"
)

// maxTicks bounds the ticks of one axis.
const maxTicks = 100

// NiceStep returns 1, 2 or 5 times a power of ten, at least raw; 1 for a
// raw that is not a positive finite number.
func NiceStep(raw float64) float64 {
	if !(raw > 0) || math.IsInf(raw, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// Ticks returns the multiples of step from the first at or after lo to the
// last at or before hi, at most 100 of them.
func Ticks(lo, hi, step float64) []float64 {
	var out []float64
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9 && len(out) < maxTicks; k++ {
		out = append(out, k*step)
	}
	return out
}

// TickLabel formats a tick with as many decimals as step needs.
func TickLabel(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	if math.Abs(v) < step*1e-9 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// Coord formats an SVG coordinate with one decimal, without a trailing ".0".
func Coord(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// Esc escapes text for HTML and SVG, dropping control characters (but tab
// and newline) and replacing invalid UTF-8.
func Esc(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return html.EscapeString(s)
}
