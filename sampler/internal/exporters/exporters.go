// Package exporters maps the series of NVIDIA's dcgm-exporter and of
// node_exporter's rapl collector onto sampler device readings. It is
// shared by the samplers that read those series, whether scraped from the
// exporters themselves (sampler/remote) or queried from a Prometheus
// server that scrapes them (sampler/prometheus), so that both name devices
// and map fields alike.
//
// A series is given as its metric name, a label lookup and its value;
// where the value came from (an exposition, a query result) and how a
// counter was corrected is the caller's business.
package exporters

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/benchprof/benchprof/sampler"
)

const mib = 1 << 20

// GPUField maps one dcgm-exporter metric onto a DeviceReading field.
type GPUField struct {
	Metric string
	// Set stores a value in the exporter's unit into its field.
	Set func(r *sampler.DeviceReading, v float64)
	// Sum adds the values of a MIG GPU's instances (memory used); other
	// fields are device-wide and take one instance's value.
	Sum bool
}

// The dcgm-exporter metrics of the fields that are counters.
const (
	// GPUEnergyMetric is the GPU's energy counter, in mJ since the driver
	// was loaded.
	GPUEnergyMetric = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
	// GPUPowerMetric is the GPU's power draw in W.
	GPUPowerMetric = "DCGM_FI_DEV_POWER_USAGE"
)

// GPUFields lists the dcgm-exporter metrics read, in the order they are
// read.
var GPUFields = []GPUField{
	{Metric: GPUPowerMetric, Set: func(r *sampler.DeviceReading, v float64) { r.PowerW = v }},
	{Metric: GPUEnergyMetric, Set: func(r *sampler.DeviceReading, v float64) { r.EnergyJ = v / 1000 }},
	{Metric: "DCGM_FI_DEV_GPU_UTIL", Set: func(r *sampler.DeviceReading, v float64) { r.UtilPct = v }},
	{Metric: "DCGM_FI_DEV_MEM_COPY_UTIL", Set: func(r *sampler.DeviceReading, v float64) { r.MemUtilPct = v }},
	{Metric: "DCGM_FI_DEV_FB_USED", Set: func(r *sampler.DeviceReading, v float64) { r.MemUsedBytes = v * mib }, Sum: true},
	{Metric: "DCGM_FI_DEV_SM_CLOCK", Set: func(r *sampler.DeviceReading, v float64) { r.SMClockMHz = v }},
	{Metric: "DCGM_FI_DEV_MEM_CLOCK", Set: func(r *sampler.DeviceReading, v float64) { r.MemClockMHz = v }},
	{Metric: "DCGM_FI_DEV_GPU_TEMP", Set: func(r *sampler.DeviceReading, v float64) { r.TempC = v }},
}

// RAPL metric families of node_exporter's rapl collector: one family per
// zone name by default, one family with a rapl_zone label under
// --collector.rapl.enable-zone-label. All are energy counters in J.
const (
	RAPLPackageMetric = "node_rapl_package_joules_total"
	RAPLDRAMMetric    = "node_rapl_dram_joules_total"
	RAPLZoneMetric    = "node_rapl_joules_total"
)

// RAPLMetrics lists the RAPL metrics read, in the order they are read.
var RAPLMetrics = []string{RAPLPackageMetric, RAPLDRAMMetric, RAPLZoneMetric}

// IsEnergyCounter reports whether metric is one of the energy counters
// read (the GPU's, or a RAPL zone's).
func IsEnergyCounter(metric string) bool {
	return metric == GPUEnergyMetric || slices.Contains(RAPLMetrics, metric)
}

// JoulesPer returns the joules in one unit of an energy counter metric
// (the GPU counter is in mJ, RAPL's in J).
func JoulesPer(metric string) float64 {
	if metric == GPUEnergyMetric {
		return 1e-3
	}
	return 1
}

// Label looks up a label of a series: its value, "" when the series has
// none.
type Label func(name string) string

// Device is one device's values, named without its host ("gpu0",
// "package-0", "dram-0").
type Device struct {
	Name  string
	Index int
	Model string
	// Reading has Device unset and EnergyJ as given (a caller corrects
	// counters before or after).
	Reading sampler.DeviceReading
}

// Target is the device (and, for a GPU, the field) a series feeds.
type Target struct {
	// Name is the device's name without its host.
	Name  string
	Index int
	Kind  sampler.Kind
	// Field indexes GPUFields for a GPU series; -1 for a RAPL series.
	Field int
	// Instance is a MIG GPU instance (the GPU_I_ID label), "" for a
	// whole-GPU series.
	Instance string
}

// Classify says which device a series of metric with labels feeds; ok is
// false for series that feed none (metrics not read, a missing or
// non-numeric gpu or index label, RAPL zones other than package and dram,
// intel-rapl-mmio zones).
func Classify(metric string, label Label) (t Target, ok bool) {
	if fi := slices.IndexFunc(GPUFields, func(f GPUField) bool { return f.Metric == metric }); fi >= 0 {
		idx, err := strconv.Atoi(label("gpu"))
		if err != nil || idx < 0 {
			return t, false
		}
		return Target{Name: "gpu" + strconv.Itoa(idx), Index: idx, Kind: sampler.KindGPU, Field: fi, Instance: label("GPU_I_ID")}, true
	}
	var kind sampler.Kind
	switch metric {
	case RAPLPackageMetric:
		kind = sampler.KindCPUPackage
	case RAPLDRAMMetric:
		kind = sampler.KindDRAM
	case RAPLZoneMetric:
		// node_exporter strips the zone's "-N" suffix into the index
		// label (rapl_zone="package", index="0"); accept it unstripped.
		zone := label("rapl_zone")
		if base, num, ok := strings.Cut(zone, "-"); ok {
			if _, err := strconv.Atoi(num); err == nil {
				zone = base
			}
		}
		switch zone {
		case "package":
			kind = sampler.KindCPUPackage
		case "dram":
			kind = sampler.KindDRAM
		default:
			return t, false
		}
	default:
		return t, false
	}
	if strings.Contains(label("path"), "intel-rapl-mmio") {
		return t, false
	}
	idx, err := strconv.Atoi(label("index"))
	if err != nil || idx < 0 {
		return t, false
	}
	prefix := "package-"
	if kind == sampler.KindDRAM {
		prefix = "dram-"
	}
	return Target{Name: prefix + strconv.Itoa(idx), Index: idx, Kind: kind, Field: -1}, true
}

// HostLabel returns dcgm-exporter's host label of a series: Hostname, or
// hostname since dcgm-exporter 4.x; "" if it has neither.
func HostLabel(label Label) string { return cmp.Or(label("Hostname"), label("hostname")) }

// Builder collects the series of one host into devices.
//
// With MIG, dcgm-exporter reports a GPU's fields once per GPU instance
// (labels GPU_I_PROFILE, GPU_I_ID). A whole-GPU series (no GPU_I_ID) is
// preferred where there is one; otherwise memory used is summed over the
// instances, and device-wide fields (power, energy, clocks, temperature)
// take the first instance's value. Of duplicate series (extra labels such
// as Kubernetes pod mapping, or a RAPL zone exposed twice), the first
// counts. The zero Builder is ready to use.
type Builder struct {
	gpus map[int]*gpuAcc
	rapl []Device
	seen map[string]bool
}

// gpuAcc accumulates the series of one GPU.
type gpuAcc struct {
	model string
	vals  []float64 // per GPUFields entry, in the exporter's unit; NaN if absent
	whole []bool    // per field: taken from a whole-GPU series
	mig   []map[string]bool
}

// Add accounts for one series of metric with labels and value v (in the
// exporter's unit; it must be finite). It reports whether the series
// feeds a device (see Classify); a duplicate that does not count still
// feeds one.
func (b *Builder) Add(metric string, label Label, v float64) bool {
	t, ok := Classify(metric, label)
	if !ok {
		return false
	}
	if t.Kind != sampler.KindGPU {
		if b.seen == nil {
			b.seen = map[string]bool{}
		}
		if !b.seen[t.Name] {
			b.seen[t.Name] = true
			r := sampler.NewDeviceReading("", t.Kind)
			r.EnergyJ = v
			b.rapl = append(b.rapl, Device{Name: t.Name, Index: t.Index, Reading: r})
		}
		return true
	}
	if b.gpus == nil {
		b.gpus = map[int]*gpuAcc{}
	}
	g := b.gpus[t.Index]
	if g == nil {
		g = &gpuAcc{
			model: label("modelName"),
			vals:  make([]float64, len(GPUFields)),
			whole: make([]bool, len(GPUFields)),
			mig:   make([]map[string]bool, len(GPUFields)),
		}
		for i := range g.vals {
			g.vals[i] = math.NaN()
		}
		b.gpus[t.Index] = g
	}
	fi, inst := t.Field, t.Instance
	switch {
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
		if GPUFields[fi].Sum {
			g.vals[fi] += v
		}
	}
	return true
}

// Devices returns the devices collected: GPUs, then CPU packages, then
// DRAM, each by index.
func (b *Builder) Devices() []Device {
	out := make([]Device, 0, len(b.gpus)+len(b.rapl))
	for idx, g := range b.gpus {
		r := sampler.NewDeviceReading("", sampler.KindGPU)
		for fi, f := range GPUFields {
			if sampler.Has(g.vals[fi]) {
				f.Set(&r, g.vals[fi])
			}
		}
		out = append(out, Device{Name: "gpu" + strconv.Itoa(idx), Index: idx, Model: g.model, Reading: r})
	}
	out = append(out, b.rapl...)
	SortDevices(out)
	return out
}

// SortDevices sorts devices of one host: GPUs, then CPU packages, then
// DRAM, each by index.
func SortDevices(ds []Device) {
	slices.SortFunc(ds, func(a, b Device) int {
		return cmp.Or(cmp.Compare(KindOrder(a.Reading.Kind), KindOrder(b.Reading.Kind)), cmp.Compare(a.Index, b.Index))
	})
}

// KindOrder orders kinds as devices are listed: GPUs, CPU packages, DRAM,
// others.
func KindOrder(k sampler.Kind) int {
	switch k {
	case sampler.KindGPU:
		return 0
	case sampler.KindCPUPackage:
		return 1
	case sampler.KindDRAM:
		return 2
	default:
		return 3
	}
}
