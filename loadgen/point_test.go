package loadgen

import (
	"errors"
	"math"
	"testing"
)

func TestPointValidate(t *testing.T) {
	tests := []struct {
		p          Point
		ok         bool
		wantDriver DriverKind
		wantString string
	}{
		{Point{Concurrency: 4}, true, DriverClosedLoop, "concurrency 4"},
		{Point{RPS: 0.5}, true, DriverOpenLoop, "rps 0.5"},
		{Point{}, false, "", "none"},
		{Point{Concurrency: -1}, false, DriverClosedLoop, "concurrency -1"},
		{Point{RPS: -2}, false, DriverOpenLoop, "rps -2"},
		{Point{RPS: math.NaN()}, false, DriverOpenLoop, "rps NaN"},
		{Point{RPS: math.Inf(1)}, false, DriverOpenLoop, "rps +Inf"},
		{Point{Concurrency: 4, RPS: 1}, false, DriverClosedLoop, "concurrency 4"},
		{Point{Concurrency: MaxConcurrency}, true, DriverClosedLoop, "concurrency 65536"},
		{Point{Concurrency: MaxConcurrency + 1}, false, DriverClosedLoop, "concurrency 65537"},
		{Point{RPS: MaxRPS}, true, DriverOpenLoop, "rps 10000"},
		{Point{RPS: 1e12}, false, DriverOpenLoop, "rps 1e+12"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if (err == nil) != tt.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", tt.p, err, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidPoint) {
			t.Errorf("%+v.Validate() = %v, does not wrap ErrInvalidPoint", tt.p, err)
		}
		if got := tt.p.Driver(); got != tt.wantDriver {
			t.Errorf("%+v.Driver() = %q, want %q", tt.p, got, tt.wantDriver)
		}
		if got := tt.p.String(); got != tt.wantString {
			t.Errorf("%+v.String() = %q, want %q", tt.p, got, tt.wantString)
		}
	}
}
