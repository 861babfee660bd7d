package profile

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
)

// Placeholders the reference writes for fields it does not measure
// (FACTS §1.8).
const (
	modelRevision = "unknown00"
	zeroCommit    = "0000000000000000000000000000000000000000"
)

// SoftwareProvenance describes the running binary: pip_freeze_hash is the
// SHA-256 of the Go build information's module list (one "path version sum"
// line per dependency, sorted), the Go counterpart of the reference's
// `pip freeze` hash; git_commit is the build's VCS revision (vcs.revision),
// or forty zeros when the binary carries none (go run, -buildvcs=false), as
// the reference writes on failure.
func SoftwareProvenance() envelope.SoftwareProvenance {
	sp := envelope.SoftwareProvenance{PipFreezeHash: envelope.EmptySHA256, GitCommit: zeroCommit, Extra: &envelope.Object{}}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return sp
	}
	lines := []string{bi.Main.Path + " " + bi.Main.Version}
	for _, d := range bi.Deps {
		m := d
		if d.Replace != nil {
			m = d.Replace
		}
		lines = append(lines, m.Path+" "+m.Version+" "+m.Sum)
	}
	sort.Strings(lines[1:])
	sum := sha256.Sum256([]byte(strings.Join(lines, "\n") + "\n"))
	sp.PipFreezeHash = hex.EncodeToString(sum[:])
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 7 {
			sp.GitCommit = s.Value[:min(40, len(s.Value))]
		}
	}
	return sp
}

// metricValue converts a loadgen metric value to an envelope value.
func metricValue(v any) (envelope.Value, bool) {
	switch v := v.(type) {
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return envelope.Value{}, false
		}
		return envelope.Float(v), true
	case int:
		return envelope.Int(int64(v)), true
	case int64:
		return envelope.Int(v), true
	case string:
		return envelope.String(v), true
	}
	return envelope.Value{}, false
}

// energyMetrics converts energy figures to metrics, counts as integers.
func energyMetrics(ns []energy.Named) []loadgen.Metric {
	out := make([]loadgen.Metric, len(ns))
	for i, n := range ns {
		out[i] = loadgen.Metric{Key: n.Key, Value: n.Value}
		if n.Unit == energy.UnitCount {
			out[i].Value = int64(n.Value)
		}
	}
	return out
}

// telemetryRecord is driver_options.telemetry: which GPUs the energy
// figures count and how they were found (gpu_selection: "engine", "all"
// or "option"; gpu_selection_reason when "all"; engine_pids), the idle
// window on the timeline's clock (idle_window_s, [start, end]), and per
// sampled GPU: its sampler, device and model, whether it is counted, the
// engine's PIDs on it, its power field ("instant", or "average_1s" for
// NVML's 1-second moving average) and measured sensor update period
// (sensor_period_ms, absent when unknown), its power_avg_w over the window
// and its idle_power_w and idle_util_pct when measured. Text and lists
// live here, since metrics stay numeric.
func telemetryRecord(sel *GPUSelection, rep *energy.Report) *envelope.Object {
	o := &envelope.Object{}
	o.Set("gpu_selection", envelope.String(sel.How))
	if sel.Reason != "" {
		o.Set("gpu_selection_reason", envelope.String(sel.Reason))
	}
	o.Set("engine_pids", intArray(sel.EnginePIDs))
	if w := rep.IdleWindow; w != (energy.Window{}) {
		o.Set("idle_window_s", envelope.Array(envelope.Float(w.Start.Seconds()), envelope.Float(w.End.Seconds())))
	}
	gpus := make([]envelope.Value, 0, len(sel.GPUs))
	for _, g := range sel.GPUs {
		d := &envelope.Object{}
		d.Set("sampler", envelope.String(g.Sampler))
		d.Set("device", envelope.String(g.Device))
		d.Set("model", envelope.String(g.Model))
		d.Set("counted", envelope.Bool(g.Counted))
		d.Set("engine_pids", intArray(g.EnginePIDs))
		field := "instant"
		if g.PowerAveraged {
			field = "average_1s"
		}
		d.Set("power_field", envelope.String(field))
		if g.SensorPeriod > 0 {
			d.Set("sensor_period_ms", envelope.Float(float64(g.SensorPeriod)/1e6))
		}
		for _, dev := range rep.Devices {
			if dev.Sampler != g.Sampler || dev.Device != g.Device {
				continue
			}
			for _, f := range []struct {
				key string
				f   energy.Figure
			}{{"power_avg_w", dev.PowerAvgW}, {"energy_j", dev.EnergyJ}, {"idle_power_w", dev.IdlePowerW}, {"idle_util_pct", dev.IdleUtilPct}} {
				if f.f.Measured && !math.IsNaN(f.f.Value) && !math.IsInf(f.f.Value, 0) {
					d.Set(f.key, envelope.Float(f.f.Value))
				}
			}
		}
		gpus = append(gpus, envelope.ObjectValue(d))
	}
	o.Set("gpus", envelope.Array(gpus...))
	return o
}

func intArray(xs []int) envelope.Value {
	vs := make([]envelope.Value, len(xs))
	for i, x := range xs {
		vs[i] = envelope.Int(int64(x))
	}
	return envelope.Array(vs...)
}

// buildEnvelope assembles the new envelope (unsigned).
func (c *config) buildEnvelope(src *envelope.Envelope, suite catalog.Suite, ds catalog.Dataset, info *loadgen.EngineInfo,
	fp envelope.HardwareFingerprint, sum loadgen.Summary, rep *energy.Report, res *Result) (*envelope.Envelope, error) {

	metrics := &envelope.Object{}
	set := func(key string, v any) {
		if ev, ok := metricValue(v); ok {
			metrics.Set(key, ev)
		}
	}
	// Power and energy go where the reference puts them: after throughput,
	// before the SLO keys (FACTS §4.9); then the rest, in the order the
	// energy package lists them (the breakdown keys the reference's tables
	// read, ours, the sample counts and the achieved GPU interval).
	head, tail := rep.Metrics()
	for _, m := range append(sum.Metrics(energyMetrics(head)...), energyMetrics(tail)...) {
		set(m.Key, m.Value)
	}

	driver := &envelope.Object{}
	p := res.Point.Point
	driver.Set("driver", envelope.String(string(p.Driver())))
	if p.Driver() == loadgen.DriverClosedLoop {
		driver.Set("concurrency", envelope.Int(int64(p.Concurrency)))
	} else {
		driver.Set("rps", envelope.Float(p.RPS))
		driver.Set("arrival", envelope.String("poisson"))
	}
	driver.Set("point_source", envelope.String(res.Point.Source))
	driver.Set("duration_s", envelope.Float(c.duration.Seconds()))
	driver.Set("grace_s", envelope.Float(c.grace.Seconds()))
	driver.Set("warmup_requests", envelope.Int(int64(suite.WarmupRequests)))
	driver.Set("max_tokens", envelope.Int(int64(suite.MaxTokens)))
	driver.Set("token_source", envelope.String(sum.TokenSource))
	driver.Set("nvml_interval_ms", envelope.Float(float64(c.nvmlInterval)/1e6))
	driver.Set("rapl_interval_ms", envelope.Float(float64(c.raplInterval)/1e6))
	// The trace's times count from the load's start, the timeline's from
	// the samplers' origin: a trace time plus this is a timeline time.
	driver.Set("trace_offset_s", envelope.Float(res.TraceOffset.Seconds()))
	if res.Run != nil {
		driver.Set("issued", envelope.Int(int64(res.Run.Issued)))
		driver.Set("dropped", envelope.Int(int64(res.Run.Dropped)))
		driver.Set("cut_off", envelope.Int(int64(res.Run.CutOff)))
		if res.Run.Mode == string(loadgen.DriverClosedLoop) {
			// How the workers started: one after another, at most this
			// step apart (0: all at once), and when the last one went.
			driver.Set("start_step_ms", envelope.Float(float64(res.Run.StartStep)/1e6))
			driver.Set("workers_started", envelope.Int(int64(res.Run.Started)))
			driver.Set("last_start_s", envelope.Float(res.Run.LastStart.Seconds()))
		}
	}
	idle := 0.0
	if rep.IdleWindow.Duration() > 0 {
		idle = c.idlePhase.Seconds()
	}
	driver.Set("idle_phase_s", envelope.Float(idle)) // 0 when none was run
	driver.Set("telemetry", envelope.ObjectValue(telemetryRecord(&res.GPUs, rep)))

	// A side file is named like the envelope, with its suffix
	// (profile-<hash12>.requests.jsonl): the envelope's name is its content
	// hash, of which the side files' own hashes are part, so the
	// distributions give the suffix and the SHA-256.
	dist := &envelope.Object{}
	for key, path := range map[string]string{"requests": res.TracePath, "timeline": res.TimelinePath} {
		h, err := fileSHA256(path)
		if err != nil {
			return nil, fmt.Errorf("hash %s: %w", path, err)
		}
		dist.Set(key, envelope.String(sideSuffix(path)+"#sha256="+h))
	}
	// Keep a stable order: requests, then timeline.
	ordered := &envelope.Object{}
	for _, k := range []string{"requests", "timeline"} {
		v, _ := dist.Get(k)
		ordered.Set(k, v)
	}

	var quant *envelope.Quantization
	if src.Quantization != nil && src.Quantization.Format != "" {
		quant = &envelope.Quantization{Format: src.Quantization.Format, Method: "", Extra: &envelope.Object{}}
	}
	engineExtra := &envelope.Object{}
	// Whether the engine itself said what it is (see loadgen.Probe); a
	// reader can tell a probed kind from one copied from the source.
	engineExtra.Set("kind_confirmed", envelope.Bool(info.Confirmed))
	warnings := append([]string{}, res.Warnings...)
	template := &envelope.Envelope{
		SuiteID:      suite.ID,
		SuiteVersion: suite.Version,
		Model: envelope.Model{
			ID: res.ServedModel, Revision: modelRevision, Provider: info.Kind, EndpointHash: envelope.ZeroHash, Extra: &envelope.Object{},
		},
		Engine: envelope.Engine{
			Name: info.Kind, Version: orElse(info.Version, "unknown"), ConfigHash: envelope.ZeroHash, Extra: engineExtra,
		},
		Quantization:        quant,
		HardwareFingerprint: fp,
		SoftwareProvenance:  SoftwareProvenance(),
		Dataset:             envelope.Dataset{ID: ds.ID, Hash: ds.Hash, Extra: &envelope.Object{}},
		Seed:                src.Seed,
		DriverOptions:       driver,
		Metrics:             metrics,
		Distributions:       ordered,
		SLOTemplate:         orElse(src.SLOTemplate, suite.SLOTemplate),
		Warnings:            warnings,
		Extra:               &envelope.Object{},
	}
	return envelope.Build(template, envelope.WithNow(c.now))
}
