package svgplot

import (
	"math"
	"slices"
	"testing"
)

func TestHelpers(t *testing.T) {
	for raw, want := range map[float64]float64{0.7: 1, 1.1: 2, 3: 5, 7: 10, 0.013: 0.02, 0: 1, -3: 1, math.Inf(1): 1} {
		if got := NiceStep(raw); math.Abs(got-want) > 1e-12 {
			t.Errorf("NiceStep(%v) = %v, want %v", raw, got, want)
		}
	}
	if got := Ticks(0.1, 1, 0.25); !slices.Equal(got, []float64{0.25, 0.5, 0.75, 1}) {
		t.Errorf("Ticks = %v", got)
	}
	if got := len(Ticks(0, 1e9, 1)); got != maxTicks {
		t.Errorf("%d ticks; want at most %d", got, maxTicks)
	}
	for _, c := range []struct {
		v, step float64
		want    string
	}{{0.5, 0.25, "0.5"}, {3, 1, "3"}, {1e-12, 0.1, "0.0"}} {
		if got := TickLabel(c.v, c.step); got != c.want {
			t.Errorf("TickLabel(%v, %v) = %q, want %q", c.v, c.step, got, c.want)
		}
	}
	if Coord(12.34) != "12.3" || Coord(-0.01) != "0" || Coord(5) != "5" {
		t.Errorf("Coord: %q %q %q", Coord(12.34), Coord(-0.01), Coord(5))
	}
	if got := Esc("a<b>\x1b[8m&\xff"); got != "a&lt;b&gt;[8m&amp;\uFFFD" {
		t.Errorf("Esc = %q", got)
	}
}
