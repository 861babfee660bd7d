package loadgen

import (
	"errors"
	"testing"
	"time"
)

func TestParseBounds(t *testing.T) {
	bs, err := ParseBounds("ttft_p99=500ms, tpot_p99=50,itl_p999=0.5s,total_p50=1.5")
	if err != nil {
		t.Fatal(err)
	}
	want := []Bound{{"ttft", 99, 500 * time.Millisecond}, {"tpot", 99, 50 * time.Millisecond},
		{"itl", 99.9, 500 * time.Millisecond}, {"total", 50, 1500 * time.Microsecond}}
	if len(bs) != len(want) {
		t.Fatalf("got %v", bs)
	}
	for i := range want {
		if bs[i] != want[i] {
			t.Errorf("bound %d = %+v; want %+v", i, bs[i], want[i])
		}
	}
	if got := bs[2].String(); got != "itl_p999=500ms" {
		t.Errorf("String() = %q", got)
	}
	if got := bs[3].String(); got != "total_p50=1.5ms" {
		t.Errorf("String() = %q", got)
	}
	for _, bad := range []string{"", "ttft_p99", "ttft_p98=5ms", "ttfb_p99=5ms", "ttft_p99=0", "ttft_p99=-5ms",
		"ttft_p99=fast", "ttft_p99=5ms,ttft_p99=6ms", "ttft_p99=NaN", "ttft_p99=Inf"} {
		if _, err := ParseBounds(bad); !errors.Is(err, ErrInvalidBound) {
			t.Errorf("ParseBounds(%q): %v; want ErrInvalidBound", bad, err)
		}
	}
}

func TestBoundHolds(t *testing.T) {
	s := Summary{TTFT: Quantiles{N: 100, P50: 40, P99: 480}, TPOT: Quantiles{N: 100, P99: 51}}
	for _, tt := range []struct {
		b    Bound
		want bool
	}{
		{Bound{"ttft", 99, 500 * time.Millisecond}, true},
		{Bound{"ttft", 99, 480 * time.Millisecond}, true}, // at most
		{Bound{"ttft", 99, 479 * time.Millisecond}, false},
		{Bound{"tpot", 99, 50 * time.Millisecond}, false},
		{Bound{"itl", 99, time.Hour}, false}, // not measured: does not hold
	} {
		if got := tt.b.Holds(s); got != tt.want {
			t.Errorf("%v holds = %v; want %v", tt.b, got, tt.want)
		}
	}
	if err := (Bound{"ttft", 98, time.Second}).Validate(); !errors.Is(err, ErrInvalidBound) {
		t.Errorf("p98: %v", err)
	}
}
