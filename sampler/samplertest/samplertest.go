// Package samplertest provides fake telemetry samplers for tests of code
// that consumes sampler readings, in the spirit of net/http/httptest: no
// hardware, deterministic values, exact energy.
package samplertest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// GPU is a fake GPU sampler: Devices GPUs that each draw PowerW watts at
// UtilPct utilization, with an energy counter that is the exact integral of
// that power since the sampler was made (so counter energy over a window is
// PowerW × its length). Its name is "nvml" unless SamplerName is set, so the
// breakdown treats it as the GPU source. It is safe for concurrent use.
type GPU struct {
	Devices     int
	PowerW      float64
	UtilPct     float64
	SamplerName string

	once  sync.Once
	start time.Time
}

var _ sampler.Sampler = (*GPU)(nil)

// Name returns SamplerName or "nvml".
func (g *GPU) Name() string {
	if g.SamplerName != "" {
		return g.SamplerName
	}
	return "nvml"
}

// Sample appends one reading per GPU.
func (g *GPU) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	g.once.Do(func() { g.start = time.Now() })
	elapsed := time.Since(g.start).Seconds()
	for i := range g.Devices {
		d := sampler.NewDeviceReading(fmt.Sprintf("gpu%d", i), sampler.KindGPU)
		d.PowerW = g.PowerW
		d.EnergyJ = g.PowerW * elapsed
		d.UtilPct = g.UtilPct
		dst = append(dst, d)
	}
	return dst, nil
}

// Close does nothing.
func (g *GPU) Close() error { return nil }

// Describe names the fake devices.
func (g *GPU) Describe() sampler.Info {
	info := sampler.Info{Notes: []string{"fake GPU sampler (samplertest)"}}
	for i := range g.Devices {
		info.Devices = append(info.Devices, sampler.DeviceInfo{Device: fmt.Sprintf("gpu%d", i), Kind: sampler.KindGPU, Model: "Fake GPU"})
	}
	return info
}
