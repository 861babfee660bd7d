package profile

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/hostinfo"
	"github.com/benchprof/benchprof/sampler/nvml"
	"github.com/benchprof/benchprof/sampler/rapl"
)

// ScheduledSampler is a sampler and the interval it is read at.
type ScheduledSampler struct {
	Sampler  sampler.Sampler
	Interval time.Duration
}

// DefaultSamplers are the built-in samplers of this host, as
// OpenDefaultSamplers opened them.
type DefaultSamplers struct {
	// Samplers are the ones that opened, in order: NVML (the selected
	// GPUs, read every NVML interval), then RAPL (CPU packages and DRAM,
	// read every RAPL interval). Run schedules them exactly as the
	// samplers given with WithSampler; nothing downstream asks which they
	// are.
	Samplers []ScheduledSampler
	// Unavailable maps each device kind a built-in sampler would have read,
	// but that none could, to the reason (the constructor's error): KindGPU
	// when NVML did not open, KindCPUPackage and KindDRAM when RAPL did not.
	Unavailable map[sampler.Kind]string
	// Warnings say what did not open and why, and what NVML noted about
	// its sensors.
	Warnings []string

	// host is NVML's inventory of this host's GPUs, for the hardware
	// fingerprint; nil when NVML did not open.
	host *hostGPUs
}

// hostGPUs is the GPU part of the hardware fingerprint.
type hostGPUs struct {
	gpus         []hostinfo.GPU
	driver, cuda string
}

// OpenDefaultSamplers opens the built-in samplers, configured by the
// options that concern them (WithNVMLInterval, WithGPUs, WithNVMLLibrary,
// WithRAPLInterval, WithSystemRoot; the others are ignored): NVML for the
// selected GPUs and RAPL under the system root. It is the one place that
// knows the built-in samplers: Run uses it unless WithoutDefaultSamplers is
// given. A sampler that cannot open is not an error: it is left out, with
// a warning and the kinds it would have read in Unavailable. The error is
// for invalid options. The caller closes the samplers (Close). To schedule
// them yourself beside others, pass each with WithSampler and give
// WithoutDefaultSamplers, so that Run does not open a second set (Run
// closes the samplers it is given); the hardware fingerprint then lists no
// GPU, since its GPUs (PCI bus ids, serials, VBIOS, driver and CUDA
// versions of every GPU of the host: more than a sampler.Describer tells)
// come from the inventory taken when Run opens the defaults itself.
func OpenDefaultSamplers(opts ...Option) (*DefaultSamplers, error) {
	c := defaults()
	var errs []error
	for i, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("option %d is nil", i+1))
			continue
		}
		o.apply(c)
	}
	if c.nvmlInterval <= 0 {
		errs = append(errs, fmt.Errorf("NVML interval must be positive, got %v", c.nvmlInterval))
	}
	if c.raplInterval <= 0 {
		errs = append(errs, fmt.Errorf("RAPL interval must be positive, got %v", c.raplInterval))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return c.openDefaultSamplers(), nil
}

// openDefaultSamplers opens NVML and RAPL as c configures them.
func (c *config) openDefaultSamplers() *DefaultSamplers {
	d := &DefaultSamplers{Unavailable: map[sampler.Kind]string{}}
	var nopts []nvml.Option
	if len(c.gpus) > 0 {
		nopts = append(nopts, nvml.WithDevices(c.gpus...))
	}
	if c.nvmlLibrary != "" {
		nopts = append(nopts, nvml.WithLibraryPath(c.nvmlLibrary))
	}
	if g, err := nvml.Open(nopts...); err != nil {
		d.Warnings = append(d.Warnings, "GPU telemetry unavailable: "+err.Error())
		d.Unavailable[sampler.KindGPU] = "no GPU sampler: NVML did not open (the warning says why)"
	} else {
		d.Samplers = append(d.Samplers, ScheduledSampler{g, c.nvmlInterval})
		for _, n := range g.Describe().Notes {
			d.Warnings = append(d.Warnings, g.Name()+": "+n)
		}
		inv := g.Inventory()
		d.host = &hostGPUs{driver: inv.Driver, cuda: inv.CUDA}
		for _, gi := range inv.GPUs {
			d.host.gpus = append(d.host.gpus, hostinfo.GPU{Index: gi.Index, Model: gi.Name, PCIID: gi.PCIBusID, Serial: gi.Serial, VBIOS: gi.VBIOS})
		}
	}
	if r, err := rapl.Open(rapl.WithRoot(filepath.Join(c.sysRoot, "sys"))); err != nil {
		d.Warnings = append(d.Warnings, "CPU/DRAM energy unavailable: "+err.Error())
		reason := "no CPU package or DRAM sampler: RAPL did not open (the warning says why)"
		d.Unavailable[sampler.KindCPUPackage] = reason
		d.Unavailable[sampler.KindDRAM] = reason
	} else {
		d.Samplers = append(d.Samplers, ScheduledSampler{r, c.raplInterval})
	}
	return d
}

// Close closes the samplers.
func (d *DefaultSamplers) Close() error {
	var errs []error
	for _, s := range d.Samplers {
		errs = append(errs, s.Sampler.Close())
	}
	return errors.Join(errs...)
}
