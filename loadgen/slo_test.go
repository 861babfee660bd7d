package loadgen

import (
	"math"
	"testing"
)

func TestPredicateHolds(t *testing.T) {
	p := Predicate{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 440.00000000000006}
	for _, tc := range []struct {
		v    float64
		want bool
	}{
		{440, true},
		{440.00000000000006, false}, // strict
		{math.NaN(), false},
		{math.Inf(-1), true},
		{0, true},
	} {
		if got := p.Holds(tc.v); got != tc.want {
			t.Errorf("(%v).Holds(%v) = %v, want %v", p, tc.v, got, tc.want)
		}
	}
	ops := map[string][3]bool{ // value below, equal, above the threshold
		"<":  {true, false, false},
		"<=": {true, true, false},
		">":  {false, false, true},
		">=": {false, true, true},
		"==": {false, true, false},
		"!=": {false, false, false}, // unknown operators never hold
	}
	for op, want := range ops {
		q := Predicate{Op: op, Value: 10}
		got := [3]bool{q.Holds(9), q.Holds(10), q.Holds(11)}
		if got != want {
			t.Errorf("op %q: Holds(9, 10, 11) = %v, want %v", op, got, want)
		}
		if q.Holds(math.NaN()) {
			t.Errorf("op %q: NaN holds", op)
		}
	}
}

func TestPredicateString(t *testing.T) {
	for _, tc := range []struct {
		p    Predicate
		want string
	}{
		{Predicate{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 440.00000000000006}, "ttft<440ms"},
		{Predicate{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 200}, "ttft<200ms"},
		{Predicate{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 0.5}, "ttft<0.5ms"},
		{Predicate{Name: "tok", Field: "tokens_out", Op: ">=", Value: 16}, "tok>=16"},
		{Predicate{Name: "x", Field: "x_ms", Op: "<", Value: 1e20}, "x<100000000000000000000ms"},
		// int(v) is exact: int(1e23) == 99999999999999991611392.
		{Predicate{Name: "x", Field: "x", Op: "<", Value: 1e23}, "x<99999999999999991611392"},
		{Predicate{Name: "x", Field: "x", Op: "<", Value: math.Copysign(0, -1)}, "x<0"},
		{Predicate{Name: "x", Field: "x", Op: "<", Value: 1234567.5}, "x<1.23457e+06"},
	} {
		if got := tc.p.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.p, got, tc.want)
		}
	}
}

// TestPyFormatG compares with Python 3.11's f"{v:g}" for each value.
func TestPyFormatG(t *testing.T) {
	for _, tc := range []struct {
		v    float64
		want string
	}{
		{440.00000000000006, "440"},
		{0.5, "0.5"},
		{1e-05, "1e-05"},
		{0.0001, "0.0001"},
		{0.00012345678, "0.000123457"},
		{123456.5, "123456"},
		{1234567.5, "1.23457e+06"},
		{100000.5, "100000"},
		{999999.5, "1e+06"},
		{9999995.0, "1e+07"},
		{1e+16, "1e+16"},
		{1.5e+300, "1.5e+300"},
		{5e-324, "4.94066e-324"},
		{-2.5, "-2.5"},
		{0.1, "0.1"},
		{0.3333333333333333, "0.333333"},
		{666.6666666666666, "666.667"},
		{123.4565, "123.457"},
		{0.000123456, "0.000123456"},
		{99999.95, "99999.9"},
		{0.30000000000000004, "0.3"},
		{12345.65, "12345.6"},
		{1e+21, "1e+21"},
		{1234567.0, "1.23457e+06"},
		{math.Inf(1), "inf"},
		{math.Inf(-1), "-inf"},
		{math.NaN(), "nan"},
		{2.5e-07, "2.5e-07"},
		{3.14159265, "3.14159"},
	} {
		if got := pyFormatG(tc.v); got != tc.want {
			t.Errorf("pyFormatG(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
