package profile

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/hostinfo"
)

// telemetry holds the samplers of one run.
type telemetry struct {
	samplers []ScheduledSampler
	// host is the GPU inventory for the hardware fingerprint, from the
	// default samplers (nil without them or without NVML).
	host     *hostGPUs
	warnings []string
	// missing maps each device kind the energy figures add up (GPU, CPU
	// package, DRAM) that no sampler is known to read to why.
	missing map[sampler.Kind]string
	// unavailable maps the metric keys of the figures that no sampler can
	// provide, as far as is known before the run, to why.
	unavailable map[string]string
}

func (t *telemetry) close() {
	for _, s := range t.samplers {
		_ = s.Sampler.Close()
	}
}

// openTelemetry opens the default samplers (unless disabled) and adds the
// caller's, all alike. Which kinds of device are sampled is decided by what
// the samplers describe (sampler.Describer), never by their names: a kind
// that none describes is missing, with the reason the default sampler that
// would have read it gave, or because the defaults are disabled, and the
// figures computed only from missing kinds are marked unavailable.
func (c *config) openTelemetry(ctx context.Context) *telemetry {
	t := &telemetry{missing: map[sampler.Kind]string{}}
	if c.defaultSamplers {
		d := c.openDefaultSamplers()
		t.samplers = append(t.samplers, d.Samplers...)
		t.warnings = append(t.warnings, d.Warnings...)
		t.host = d.host
		maps.Copy(t.missing, d.Unavailable)
	} else {
		t.missing[sampler.KindGPU] = "no GPU sampler: the built-in samplers are disabled and no sampler given describes a GPU"
		cpu := "no CPU package or DRAM sampler: the built-in samplers are disabled and no sampler given describes one"
		t.missing[sampler.KindCPUPackage], t.missing[sampler.KindDRAM] = cpu, cpu
	}
	for _, s := range c.samplers {
		t.samplers = append(t.samplers, ScheduledSampler{s.s, s.interval})
	}
	for _, info := range t.describe() {
		for _, d := range info.Devices {
			delete(t.missing, d.Kind)
		}
	}
	t.unavailable = map[string]string{}
	for _, key := range energy.Keys() {
		if reason := t.missingReason(energy.FigureKinds(key), nil); reason != "" {
			t.unavailable[key] = reason
		}
	}
	return t
}

// uniqueNames checks that no two samplers share a name: the timeline keys
// readings by sampler and device, so two samplers of one name (two remote
// hosts' exporters, a user sampler named like a default one) would mix.
func (t *telemetry) uniqueNames() error {
	seen := map[string]bool{}
	for _, s := range t.samplers {
		n := s.Sampler.Name()
		if seen[n] {
			return fmt.Errorf("two samplers are named %q: their readings would mix in the timeline; give each its own name", n)
		}
		seen[n] = true
	}
	return nil
}

// describe returns what the samplers that implement sampler.Describer say
// about their devices, in sampler order.
func (t *telemetry) describe() []sampler.Info {
	var infos []sampler.Info
	for _, s := range t.samplers {
		if d, ok := s.Sampler.(sampler.Describer); ok {
			infos = append(infos, d.Describe())
		}
	}
	return infos
}

// missingReason says why a figure computed from kinds cannot be measured
// when none of them was read (read[k] false) and no sampler reads any of
// them: the distinct reasons of the missing kinds. It returns "" when some
// kind was read or is not missing.
func (t *telemetry) missingReason(kinds []sampler.Kind, read map[sampler.Kind]bool) string {
	var reasons []string
	for _, k := range kinds {
		r, missing := t.missing[k]
		if !missing || read[k] {
			return ""
		}
		if !slices.Contains(reasons, r) {
			reasons = append(reasons, r)
		}
	}
	return strings.Join(reasons, "; ")
}

// fingerprint collects the host's hardware fingerprint, with the GPUs of
// the default samplers' inventory. It returns the models of the sampled
// GPUs, as their samplers describe them (DeviceInfo.Model of kind GPU, in
// sampler order), for the SLO hardware class.
//
// The fingerprint's GPUs cannot come from sampler.Describer without
// changing its bytes: it records every GPU of the host (not only the
// sampled ones) with PCI bus id, serial and VBIOS, and the driver and CUDA
// versions, none of which a DeviceInfo carries, and it describes this host,
// which a remote sampler's GPUs are not.
func (c *config) fingerprint(ctx context.Context, t *telemetry) (envelope.HardwareFingerprint, []string, []string) {
	opts := []hostinfo.Option{hostinfo.WithRoot(c.sysRoot)}
	if t.host != nil {
		opts = append(opts, hostinfo.WithGPUs(t.host.gpus, t.host.driver, t.host.cuda))
	}
	var models []string
	for _, info := range t.describe() {
		for _, d := range info.Devices {
			if d.Kind == sampler.KindGPU && d.Model != "" {
				models = append(models, d.Model)
			}
		}
	}
	res, err := hostinfo.Collect(ctx, opts...)
	if err != nil {
		return envelope.HardwareFingerprint{}, models, []string{"hardware fingerprint: " + err.Error()}
	}
	return res.Fingerprint, models, res.Warnings
}

// resolveSLO resolves the source's SLO template (else the suite's) for the
// host's hardware class.
func resolveSLO(src *envelope.Envelope, suite catalog.Suite, gpuModels []string, cpuModel string) (loadgen.SLO, error) {
	template := src.SLOTemplate
	if template == "" {
		template = suite.SLOTemplate
	}
	return catalog.ResolveSLO(template, catalog.ClassifyHardware(gpuModels, cpuModel))
}

// gpuPowerW sums the power of the devices of kind GPU in a reading; ok is
// false when none has a power reading.
func gpuPowerW(devs []sampler.DeviceReading) (w float64, ok bool) {
	for _, d := range devs {
		if d.Kind == sampler.KindGPU && sampler.Has(d.PowerW) {
			w += d.PowerW
			ok = true
		}
	}
	return w, ok
}

// latestGPUPowerW adds up the latest GPU power of every sampler (float64
// bits, NaN for a sampler that has read none): NaN when no sampler has.
func latestGPUPowerW(latest []atomic.Uint64) float64 {
	sum, ok := 0.0, false
	for i := range latest {
		if w := math.Float64frombits(latest[i].Load()); !math.IsNaN(w) {
			sum += w
			ok = true
		}
	}
	if !ok {
		return math.NaN()
	}
	return sum
}

// noteUnavailable records why figures are missing, for every figure of the
// energy report: a figure computed only from kinds of device that no
// sampler read and no sampler reads says why (no GPU sampler, and why the
// default one did not open); any other absent figure gives the energy
// report's reason; a measured figure is not unavailable.
func noteUnavailable(res *Result, rep *energy.Report, t *telemetry) {
	read := map[sampler.Kind]bool{}
	apart := false
	for _, d := range rep.Devices {
		read[d.Kind] = true
		apart = apart || d.Apart
	}
	for _, n := range rep.Figures() {
		switch {
		case !apart && (n.Key == energy.KeyPowerAvgWOtherGPUs || n.Key == energy.KeyEnergyJoulesGPUOtherGPUs):
			// Not missing: no GPU was left out, so there is nothing to report apart.
			delete(res.Unavailable, n.Key)
		case n.Measured:
			delete(res.Unavailable, n.Key)
		case len(n.Kinds) > 0 && t.missingReason(n.Kinds, read) != "":
			res.Unavailable[n.Key] = t.missingReason(n.Kinds, read)
		case n.Reason != "":
			res.Unavailable[n.Key] = n.Reason
		}
	}
}

func orElse(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
