//go:build !linux || !cgo

package nvml

import (
	"context"
	"errors"
	"testing"

	"github.com/benchprof/benchprof/sampler"
)

func TestStubUnavailable(t *testing.T) {
	s, err := Open()
	if s != nil || !errors.Is(err, sampler.ErrUnavailable) {
		t.Fatalf("Open() = %v, %v; want nil and an error wrapping ErrUnavailable", s, err)
	}
	var z Sampler
	if _, err := z.Sample(context.Background(), nil); !errors.Is(err, sampler.ErrUnavailable) {
		t.Fatalf("Sample: %v", err)
	}
	if _, err := z.Processes(); !errors.Is(err, sampler.ErrUnavailable) {
		t.Fatalf("Processes: %v", err)
	}
	if _, err := z.DeviceProcesses(); !errors.Is(err, sampler.ErrUnavailable) {
		t.Fatalf("DeviceProcesses: %v", err)
	}
	if z.Name() != "nvml" || z.Close() != nil {
		t.Fatal("stub Name/Close")
	}
}
