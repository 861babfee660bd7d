package envelope

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestPyRepr checks the canonical float format against Python's own repr of
// 5000 doubles (testdata/pyrepr.txt, made with CPython).
func TestPyRepr(t *testing.T) {
	f, err := os.Open("testdata/pyrepr.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		hexBits, want, _ := strings.Cut(line, " ")
		bits, err := strconv.ParseUint(hexBits, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		x := math.Float64frombits(bits)
		if got := string(appendPyRepr(nil, x)); got != want {
			t.Errorf("repr(%v) = %s; want %s", x, got, want)
		}
		n++
	}
	if n < 1000 {
		t.Fatalf("only %d cases read", n)
	}
}

// TestPydanticFloat pins the file float format (FACTS §2.5): fixed notation
// for 1e-5 <= |x| < 1e16, else scientific with an unpadded signed exponent.
func TestPydanticFloat(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1, "1.0"},
		{1e-5, "0.00001"},
		{9.99e-5, "0.0000999"},
		{1e-7, "1e-7"},
		{9.99e-6, "9.99e-6"},
		{1.5e-7, "1.5e-7"},
		{1e15, "1000000000000000.0"},
		{1e16, "1e+16"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{0.30000000000000004, "0.30000000000000004"},
		{2311.803, "2311.803"},
		{-42.125, "-42.125"},
	}
	for _, tt := range tests {
		if got := string(appendPydanticFloat(nil, tt.in)); got != tt.want {
			t.Errorf("pydantic float %v = %s; want %s", tt.in, got, tt.want)
		}
	}
}
