package remote

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/benchprof/benchprof/sampler/internal/exporters"
)

// ErrNoDevices is wrapped by the error of a scrape that succeeded but
// exposed none of the GPU or RAPL series this package reads; the wrapping
// error says what the exposition held instead.
var ErrNoDevices = errors.New("no dcgm-exporter GPU or node_exporter RAPL series")

const collectorSuccess = "node_scrape_collector_success"

// device is one device's values from one scrape, named without its host;
// EnergyJ is still the exporter's raw counter.
type device = exporters.Device

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
	var b exporters.Builder
	for _, name := range seriesOrder {
		for _, m := range fams[name].GetMetric() {
			v, ok := value(m)
			if !ok {
				continue
			}
			label := func(l string) string { return labelOf(m, l) }
			if b.Add(name, label, v) && e.host == "" && strings.HasPrefix(name, "DCGM_") {
				e.host = exporters.HostLabel(label)
			}
		}
	}
	e.devices = b.Devices()
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
		if labelOf(m, "collector") == "rapl" {
			v, has := value(m)
			return has && v == 1, true
		}
	}
	return false, false
}

// seriesOrder lists the metrics read, in the order their series are
// added: of duplicate series, the first counts.
var seriesOrder = func() []string {
	var names []string
	for _, f := range exporters.GPUFields {
		names = append(names, f.Metric)
	}
	return append(names, exporters.RAPLMetrics...)
}()

// labelOf returns the value of m's label name, "" if it has none.
func labelOf(m *dto.Metric, name string) string {
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
