//go:build !linux || !cgo

package nvml

import (
	"context"
	"fmt"
	"runtime"

	"github.com/benchprof/benchprof/sampler"
)

// Sampler would sample NVIDIA GPUs; in this build (no cgo, or not Linux)
// Open always fails and no Sampler is ever made.
type Sampler struct{ _ struct{} }

var (
	_ sampler.Sampler       = (*Sampler)(nil)
	_ sampler.Describer     = (*Sampler)(nil)
	_ sampler.ProcessLister = (*Sampler)(nil)
)

// Open validates the options and returns an error wrapping
// sampler.ErrUnavailable: this build cannot reach NVML.
func Open(opts ...Option) (*Sampler, error) {
	c := newConfig(opts)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return nil, errStub()
}

func errStub() error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("%w: nvml: not linux (%s): GPU sampling through NVML is built for Linux only", sampler.ErrUnavailable, runtime.GOOS)
	}
	return fmt.Errorf("%w: nvml: built without cgo (CGO_ENABLED=0): rebuild with cgo and a C compiler to sample GPUs", sampler.ErrUnavailable)
}

// Name returns "nvml".
func (s *Sampler) Name() string { return "nvml" }

// Sample fails with an error wrapping sampler.ErrUnavailable.
func (s *Sampler) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	return dst, errStub()
}

// Close does nothing.
func (s *Sampler) Close() error { return nil }

// Describe returns an empty Info.
func (s *Sampler) Describe() sampler.Info { return sampler.Info{} }

// Inventory returns an empty Inventory.
func (s *Sampler) Inventory() Inventory { return Inventory{} }

// Health returns nil.
func (s *Sampler) Health() []DeviceHealth { return nil }

// Processes fails with an error wrapping sampler.ErrUnavailable.
func (s *Sampler) Processes() ([]GPUProcesses, error) { return nil, errStub() }

// DeviceProcesses fails with an error wrapping sampler.ErrUnavailable.
func (s *Sampler) DeviceProcesses() ([]sampler.DeviceProcesses, error) { return nil, errStub() }
