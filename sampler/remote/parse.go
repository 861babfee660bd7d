package remote

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/benchprof/benchprof/sampler"
)

// ErrNoDevices is wrapped by the error of a scrape that succeeded but
// exposed none of the GPU or RAPL series this package reads; the wrapping
// error says what the exposition held instead.
var ErrNoDevices = errors.New("no dcgm-exporter GPU or node_exporter RAPL series")

const mib = 1 << 20

// gpuField maps one dcgm-exporter metric onto a DeviceReading field.
type gpuField struct {
	metric string
	set    func(r *sampler.DeviceReading, v float64)
	// sum adds the values of a MIG GPU's instances (memory used); other
	// fields are device-wide and take one instance's value.
	sum bool
}

var gpuFields = []gpuField{
	{metric: "DCGM_FI_DEV_POWER_USAGE", set: func(r *sampler.DeviceReading, v float64) { r.PowerW = v }},
	{metric: "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", set: func(r *sampler.DeviceReading, v float64) { r.EnergyJ = v / 1000 }},
	{metric: "DCGM_FI_DEV_GPU_UTIL", set: func(r *sampler.DeviceReading, v float64) { r.UtilPct = v }},
	{metric: "DCGM_FI_DEV_MEM_COPY_UTIL", set: func(r *sampler.DeviceReading, v float64) { r.MemUtilPct = v }},
	{metric: "DCGM_FI_DEV_FB_USED", set: func(r *sampler.DeviceReading, v float64) { r.MemUsedBytes = v * mib }, sum: true},
	{metric: "DCGM_FI_DEV_SM_CLOCK", set: func(r *sampler.DeviceReading, v float64) { r.SMClockMHz = v }},
	{metric: "DCGM_FI_DEV_MEM_CLOCK", set: func(r *sampler.DeviceReading, v float64) { r.MemClockMHz = v }},
	{metric: "DCGM_FI_DEV_GPU_TEMP", set: func(r *sampler.DeviceReading, v float64) { r.TempC = v }},
}

// RAPL metric families of node_exporter's rapl collector: one family per
// zone name by default, one family with a rapl_zone label under
// --collector.rapl.enable-zone-label.
const (
	raplPackageMetric = "node_rapl_package_joules_total"
	raplDRAMMetric    = "node_rapl_dram_joules_total"
	raplZoneMetric    = "node_rapl_joules_total"
	collectorSuccess  = "node_scrape_collector_success"
)

// device is one device's values from one scrape, named without its host;
// EnergyJ is still the exporter's raw counter.
type device struct {
	name  string // "gpu0", "package-0", "dram-0"
	index int
	model string
	r     sampler.DeviceReading
}

// exposition is what one scrape yielded.
type exposition struct {
	// host is the dcgm-exporter Hostname (or hostname) label of the GPU
	// series, "" when they carry none.
	host    string
	devices []device // sorted: GPUs, packages, DRAM, each by index
	// dcgm and node tell which exporters the exposition looked like
	// (metric names DCGM_*, node_*), for notes and error messages.
	dcgm, node bool
}

// parseExposition reads the Prometheus text format from in and extracts
// the GPU and RAPL devices. A parse error is an expfmt.ParseError; an
// exposition without any device is an error wrapping ErrNoDevices.
func parseExposition(in io.Reader) (exposition, error) {
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(in)
	if err != nil {
		return exposition{}, fmt.Errorf("malformed exposition: %w", err)
	}
	var e exposition
	e.host = gpuDevices(fams, &e.devices)
	raplDevices(fams, &e.devices)
	slices.SortFunc(e.devices, func(a, b device) int {
		return cmp.Or(cmp.Compare(kindOrder(a.r.Kind), kindOrder(b.r.Kind)), cmp.Compare(a.index, b.index))
	})
	for name := range fams {
		switch {
		case strings.HasPrefix(name, "DCGM_"):
			e.dcgm = true
		case strings.HasPrefix(name, "node_"):
			e.node = true
		}
	}
	if len(e.devices) == 0 {
		return e, noDevices(fams, e)
	}
	return e, nil
}

func kindOrder(k sampler.Kind) int {
	switch k {
	case sampler.KindGPU:
		return 0
	case sampler.KindCPUPackage:
		return 1
	default:
		return 2
	}
}

// noDevices explains an exposition that had no device.
func noDevices(fams map[string]*dto.MetricFamily, e exposition) error {
	switch {
	case e.dcgm:
		return fmt.Errorf("%w: dcgm-exporter exposes none of the mapped DCGM_FI_DEV_* fields per GPU (check its counters CSV)", ErrNoDevices)
	case e.node:
		ok, found := raplCollectorSuccess(fams)
		switch {
		case !found:
			return fmt.Errorf("%w: node_exporter's rapl collector is not enabled (run it with --collector.rapl)", ErrNoDevices)
		case !ok:
			return fmt.Errorf("%w: node_exporter's rapl collector failed (node_scrape_collector_success{collector=\"rapl\"} 0): the host has no powercap RAPL zones (a VM?) or energy_uj is not readable by the exporter's user (root-only since Linux 5.10)", ErrNoDevices)
		default:
			return fmt.Errorf("%w: node_exporter's rapl collector exposes no package or dram zone", ErrNoDevices)
		}
	default:
		return fmt.Errorf("%w: the endpoint serves neither dcgm-exporter (DCGM_*) nor node_exporter (node_*) metrics", ErrNoDevices)
	}
}

// raplCollectorSuccess reads node_scrape_collector_success{collector="rapl"}.
func raplCollectorSuccess(fams map[string]*dto.MetricFamily) (ok, found bool) {
	for _, m := range fams[collectorSuccess].GetMetric() {
		if label(m, "collector") == "rapl" {
			v, has := value(m)
			return has && v == 1, true
		}
	}
	return false, false
}

// gpuAcc accumulates the series of one GPU.
type gpuAcc struct {
	model string
	vals  []float64 // per gpuFields entry, in the exporter's unit; NaN if absent
	whole []bool    // per field: taken from a whole-GPU series
	mig   []map[string]bool
}

// gpuDevices appends one device per dcgm-exporter GPU (series with a
// numeric gpu label and at least one mapped field) and returns the host
// label (Hostname, or hostname since dcgm-exporter 4.x) of the first such
// series.
//
// With MIG, dcgm-exporter reports a GPU's fields once per GPU instance
// (labels GPU_I_PROFILE, GPU_I_ID). A whole-GPU series (no GPU_I_ID) is
// preferred where there is one; otherwise memory used is summed over the
// instances, and device-wide fields (power, energy, clocks, temperature)
// take the first instance's value. Of duplicate series (extra labels such
// as Kubernetes pod mapping), the first counts.
func gpuDevices(fams map[string]*dto.MetricFamily, out *[]device) (host string) {
	gpus := map[int]*gpuAcc{}
	for fi, f := range gpuFields {
		for _, m := range fams[f.metric].GetMetric() {
			idx, err := strconv.Atoi(label(m, "gpu"))
			if err != nil || idx < 0 {
				continue
			}
			v, ok := value(m)
			if !ok {
				continue
			}
			g := gpus[idx]
			if g == nil {
				g = &gpuAcc{
					model: label(m, "modelName"),
					vals:  make([]float64, len(gpuFields)),
					whole: make([]bool, len(gpuFields)),
					mig:   make([]map[string]bool, len(gpuFields)),
				}
				for i := range g.vals {
					g.vals[i] = math.NaN()
				}
				gpus[idx] = g
			}
			if host == "" {
				host = cmp.Or(label(m, "Hostname"), label(m, "hostname"))
			}
			switch inst := label(m, "GPU_I_ID"); {
			case inst == "":
				if !g.whole[fi] {
					g.whole[fi] = true
					g.vals[fi] = v
				}
			case g.whole[fi] || g.mig[fi][inst]:
				// A whole-GPU value wins; an instance counts once.
			case g.mig[fi] == nil:
				g.mig[fi] = map[string]bool{inst: true}
				g.vals[fi] = v
			default:
				g.mig[fi][inst] = true
				if f.sum {
					g.vals[fi] += v
				}
			}
		}
	}
	for idx, g := range gpus {
		r := sampler.NewDeviceReading("", sampler.KindGPU)
		for fi, f := range gpuFields {
			if sampler.Has(g.vals[fi]) {
				f.set(&r, g.vals[fi])
			}
		}
		*out = append(*out, device{name: "gpu" + strconv.Itoa(idx), index: idx, model: g.model, r: r})
	}
	return host
}

// raplDevices appends one device per node_exporter RAPL package or dram
// zone, in either label form. Other zones (core, uncore, psys) overlap
// these and are left out; so are the intel-rapl-mmio zones, which repeat
// the MSR package zones. Of duplicate zones, the first counts.
func raplDevices(fams map[string]*dto.MetricFamily, out *[]device) {
	seen := map[string]bool{}
	add := func(kind sampler.Kind, prefix string, m *dto.Metric) {
		if strings.Contains(label(m, "path"), "intel-rapl-mmio") {
			return
		}
		idx, err := strconv.Atoi(label(m, "index"))
		if err != nil || idx < 0 {
			return
		}
		v, ok := value(m)
		if !ok {
			return
		}
		name := prefix + strconv.Itoa(idx)
		if seen[name] {
			return
		}
		seen[name] = true
		r := sampler.NewDeviceReading("", kind)
		r.EnergyJ = v
		*out = append(*out, device{name: name, index: idx, r: r})
	}
	for _, m := range fams[raplPackageMetric].GetMetric() {
		add(sampler.KindCPUPackage, "package-", m)
	}
	for _, m := range fams[raplDRAMMetric].GetMetric() {
		add(sampler.KindDRAM, "dram-", m)
	}
	for _, m := range fams[raplZoneMetric].GetMetric() {
		// node_exporter strips the zone's "-N" suffix into the index
		// label (rapl_zone="package", index="0"); accept it unstripped.
		zone := label(m, "rapl_zone")
		if base, num, ok := strings.Cut(zone, "-"); ok {
			if _, err := strconv.Atoi(num); err == nil {
				zone = base
			}
		}
		switch zone {
		case "package":
			add(sampler.KindCPUPackage, "package-", m)
		case "dram":
			add(sampler.KindDRAM, "dram-", m)
		}
	}
}

// label returns the value of m's label name, "" if it has none.
func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// value returns the value of a gauge, counter or untyped sample; ok is
// false for other types and for NaN or infinite values.
func value(m *dto.Metric) (v float64, ok bool) {
	switch {
	case m.GetGauge() != nil:
		v = m.GetGauge().GetValue()
	case m.GetCounter() != nil:
		v = m.GetCounter().GetValue()
	case m.GetUntyped() != nil:
		v = m.GetUntyped().GetValue()
	default:
		return 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}
