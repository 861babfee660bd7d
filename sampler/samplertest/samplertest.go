package samplertest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// Default names of the fakes. Nothing treats them specially: a consumer
// tells a GPU from a CPU package by its devices' kinds.
const (
	DefaultGPUName = "fake-gpu"
	DefaultCPUName = "fake-cpu"
)

// clock is the time origin of a fake's energy counters: the first Sample.
type clock struct {
	once  sync.Once
	start time.Time
}

// elapsed returns the seconds since the first call.
func (c *clock) elapsed() float64 {
	c.once.Do(func() { c.start = time.Now() })
	return time.Since(c.start).Seconds()
}

// GPU is a fake GPU sampler: Devices GPUs ("gpu0", "gpu1", …, of kind
// sampler.KindGPU) that each draw PowerW watts at UtilPct utilization, with
// an energy counter that is the exact integral of that power since the
// first Sample (so counter energy over a window is PowerW × its length).
// Its name is SamplerName, or DefaultGPUName ("fake-gpu") when that is
// empty; it is a GPU source because its devices are GPUs, whatever its
// name. The other fields of its readings are absent (NaN). It is safe for
// concurrent use.
type GPU struct {
	Devices     int
	PowerW      float64
	UtilPct     float64
	SamplerName string

	clock clock
}

var (
	_ sampler.Sampler   = (*GPU)(nil)
	_ sampler.Describer = (*GPU)(nil)
)

// Name returns SamplerName or DefaultGPUName.
func (g *GPU) Name() string {
	if g.SamplerName != "" {
		return g.SamplerName
	}
	return DefaultGPUName
}

// Sample appends one reading per GPU.
func (g *GPU) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	elapsed := g.clock.elapsed()
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

// CPU is a fake CPU energy sampler, shaped like RAPL: Packages CPU packages
// ("package-0", …, of kind sampler.KindCPUPackage) that each draw
// PackageW watts, then DRAM domains ("dram-0", …, of kind sampler.KindDRAM)
// that each draw DRAMW watts. Every device has PowerW and an energy
// counter that is the exact integral of that power since the first Sample
// (so CPU+DRAM energy over a window is (Packages·PackageW + DRAM·DRAMW) ×
// its length). Its name is SamplerName, or DefaultCPUName ("fake-cpu")
// when that is empty. It is safe for concurrent use.
type CPU struct {
	Packages    int
	DRAM        int
	PackageW    float64
	DRAMW       float64
	SamplerName string

	clock clock
}

var (
	_ sampler.Sampler   = (*CPU)(nil)
	_ sampler.Describer = (*CPU)(nil)
)

// Name returns SamplerName or DefaultCPUName.
func (c *CPU) Name() string {
	if c.SamplerName != "" {
		return c.SamplerName
	}
	return DefaultCPUName
}

// Sample appends one reading per package, then one per DRAM domain.
func (c *CPU) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	elapsed := c.clock.elapsed()
	add := func(name string, kind sampler.Kind, w float64) {
		d := sampler.NewDeviceReading(name, kind)
		d.PowerW = w
		d.EnergyJ = w * elapsed
		dst = append(dst, d)
	}
	for i := range c.Packages {
		add(fmt.Sprintf("package-%d", i), sampler.KindCPUPackage, c.PackageW)
	}
	for i := range c.DRAM {
		add(fmt.Sprintf("dram-%d", i), sampler.KindDRAM, c.DRAMW)
	}
	return dst, nil
}

// Close does nothing.
func (c *CPU) Close() error { return nil }

// Describe names the fake devices.
func (c *CPU) Describe() sampler.Info {
	info := sampler.Info{Notes: []string{"fake CPU sampler (samplertest)"}}
	for i := range c.Packages {
		info.Devices = append(info.Devices, sampler.DeviceInfo{Device: fmt.Sprintf("package-%d", i), Kind: sampler.KindCPUPackage, Model: "Fake CPU"})
	}
	for i := range c.DRAM {
		info.Devices = append(info.Devices, sampler.DeviceInfo{Device: fmt.Sprintf("dram-%d", i), Kind: sampler.KindDRAM, Model: "Fake DRAM"})
	}
	return info
}
