package profile

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/hostinfo"
	"github.com/benchprof/benchprof/sampler/nvml"
	"github.com/benchprof/benchprof/sampler/rapl"
)

// scheduled is a sampler with its interval.
type scheduled struct {
	s        sampler.Sampler
	interval time.Duration
	kind     string // "nvml", "rapl" or the sampler's name
}

// telemetry holds the samplers of one run.
type telemetry struct {
	origin      time.Time
	samplers    []scheduled
	gpu         *nvml.Sampler // nil without NVML
	warnings    []string
	unavailable map[string]string
}

func (t *telemetry) close() {
	for _, s := range t.samplers {
		_ = s.s.Close()
	}
}

// openTelemetry opens NVML and RAPL (unless disabled) and adds the caller's
// samplers. A missing source is a warning, and the breakdown figures it
// would have provided are marked unavailable with the reason.
func (c *config) openTelemetry(ctx context.Context) *telemetry {
	t := &telemetry{unavailable: map[string]string{}}
	if c.defaultSamplers {
		var nopts []nvml.Option
		if len(c.gpus) > 0 {
			nopts = append(nopts, nvml.WithDevices(c.gpus...))
		}
		if c.nvmlLibrary != "" {
			nopts = append(nopts, nvml.WithLibraryPath(c.nvmlLibrary))
		}
		if g, err := nvml.Open(nopts...); err != nil {
			reason := "no NVML GPU telemetry on this host (see warnings)"
			t.warnings = append(t.warnings, "GPU telemetry unavailable: "+err.Error())
			for _, k := range []string{energy.KeyGPUUtilAvgPct, energy.KeyEnergyJoulesGPU, energy.KeyPowerAvgWUnderLoad, energy.KeyNVMLSampleCount} {
				t.unavailable[k] = reason
			}
		} else {
			t.gpu = g
			t.samplers = append(t.samplers, scheduled{g, c.nvmlInterval, "nvml"})
			for _, n := range g.Describe().Notes {
				t.warnings = append(t.warnings, "nvml: "+n)
			}
		}
		if r, err := rapl.Open(rapl.WithRoot(filepath.Join(c.sysRoot, "sys"))); err != nil {
			reason := "no RAPL energy counters on this host (see warnings)"
			t.warnings = append(t.warnings, "CPU/DRAM energy unavailable: "+err.Error())
			for _, k := range []string{energy.KeyEnergyJoulesCPUDRAM, energy.KeyRAPLSampleCount} {
				t.unavailable[k] = reason
			}
		} else {
			t.samplers = append(t.samplers, scheduled{r, c.raplInterval, "rapl"})
		}
	} else {
		for _, k := range []string{energy.KeyGPUUtilAvgPct, energy.KeyEnergyJoulesGPU, energy.KeyPowerAvgWUnderLoad, energy.KeyNVMLSampleCount, energy.KeyEnergyJoulesCPUDRAM, energy.KeyRAPLSampleCount} {
			t.unavailable[k] = "built-in samplers disabled"
		}
	}
	for _, s := range c.samplers {
		t.samplers = append(t.samplers, scheduled{s.s, s.interval, s.s.Name()})
	}
	t.origin = time.Now()
	return t
}

// fingerprint collects the host's hardware fingerprint, with the GPUs NVML
// reported; it returns the GPU models for the SLO hardware class.
func (c *config) fingerprint(ctx context.Context, t *telemetry) (envelope.HardwareFingerprint, []string, []string) {
	var opts []hostinfo.Option
	opts = append(opts, hostinfo.WithRoot(c.sysRoot))
	var models []string
	if t.gpu != nil {
		inv := t.gpu.Inventory()
		gpus := make([]hostinfo.GPU, len(inv.GPUs))
		for i, g := range inv.GPUs {
			gpus[i] = hostinfo.GPU{Index: g.Index, Model: g.Name, PCIID: g.PCIBusID, Serial: g.Serial, VBIOS: g.VBIOS}
			models = append(models, g.Name)
		}
		opts = append(opts, hostinfo.WithGPUs(gpus, inv.Driver, inv.CUDA))
	}
	res, err := hostinfo.Collect(ctx, opts...)
	if err != nil {
		return envelope.HardwareFingerprint{}, models, []string{"hardware fingerprint: " + err.Error()}
	}
	return res.Fingerprint, models, res.Warnings
}

// resolveSLO resolves the source's SLO template (else the suite's) for the
// host's hardware class.
func resolveSLO(src *envelope.Envelope, suite loadgen.Suite, gpuModels []string, cpuModel string) (loadgen.SLO, error) {
	template := src.SLOTemplate
	if template == "" {
		template = suite.SLOTemplate
	}
	return loadgen.ResolveSLO(template, loadgen.ClassifyHardware(gpuModels, cpuModel))
}

func energyReport(timelinePath string, w energy.Window, tokens int) (*energy.Report, error) {
	f, err := os.Open(timelinePath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if w.End <= w.Start {
		w.End = w.Start + time.Nanosecond
	}
	return energy.Compute(f, w, int64(tokens))
}

// noteUnavailable records why breakdown figures are missing, from the
// energy report's reasons when the samplers were there but measured nothing.
func noteUnavailable(res *Result, rep *energy.Report, t *telemetry) {
	for _, n := range rep.Figures() {
		if n.Measured {
			continue
		}
		if _, ok := res.Unavailable[n.Key]; !ok && n.Reason != "" {
			res.Unavailable[n.Key] = n.Reason
		}
	}
	for _, s := range []string{"nvml", "rapl"} {
		key := energy.SampleCountKey(s)
		if f := rep.SampleCount(s); !f.Measured {
			if _, ok := res.Unavailable[key]; !ok {
				res.Unavailable[key] = orElse(f.Reason, "no "+s+" readings in the measurement window")
			}
		}
	}
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
