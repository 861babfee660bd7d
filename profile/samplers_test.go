package profile_test

import (
	"context"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/report"
	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// breakdown returns the rows of the profile's breakdown table.
func breakdown(t *testing.T, f *fixture, res *profile.Result) [][]string {
	t.Helper()
	for _, tb := range report.Tables(report.Profile{
		Source: f.src, Profile: res.Envelope, Unavailable: res.Unavailable,
		NVMLInterval: res.NVMLInterval, RAPLInterval: res.RAPLInterval,
	}) {
		if tb.Title == "Profiling breakdown" {
			return tb.Rows
		}
	}
	t.Fatal("no breakdown table")
	return nil
}

var energyNote = regexp.MustCompile(`^[0-9.e+]+ J / [0-9.e+]+ J$`)

// TestUserSamplersAreFirstClass: a GPU and a CPU sampler passed with
// WithSampler under names of their own give the same metrics and the same
// breakdown as under the built-in samplers' names, every row filled: what a
// reading is comes from its devices' kinds.
func TestUserSamplersAreFirstClass(t *testing.T) {
	type outcome struct {
		Keys        []string   // the envelope's metric keys, in order
		Rows        [][]string // the breakdown, run-dependent numbers masked
		Unavailable map[string]string
	}
	run := func(t *testing.T, gpuName, cpuName string) outcome {
		f := newFixture(t)
		opts := append(f.opts[:len(f.opts)-1:len(f.opts)-1], // all but the fixture's GPU sampler
			profile.WithSampler(&samplertest.GPU{Devices: 2, PowerW: 300, UtilPct: 80, SamplerName: gpuName}, 10*time.Millisecond),
			profile.WithSampler(&samplertest.CPU{Packages: 1, DRAM: 1, PackageW: 80, DRAMW: 20, SamplerName: cpuName}, 25*time.Millisecond))
		res, err := profile.Run(context.Background(), f.src, opts...)
		if err != nil {
			t.Fatal(err)
		}
		var o outcome
		o.Keys = res.Envelope.Metrics.Keys()
		// The fake GPUs run at 80 % utilization in the idle phase too, so
		// the engine was not idle there: the idle figures are absent, with
		// a reason that names the GPUs.
		o.Unavailable = maps.Clone(res.Unavailable)
		for _, k := range []string{"power_idle_w", "energy_joules_gpu_above_idle", "joules_per_token_above_idle"} {
			if !strings.Contains(o.Unavailable[k], "not idle") {
				t.Errorf("%s/%s: %s unavailable: %q; want the engine not idle", gpuName, cpuName, k, o.Unavailable[k])
			}
			delete(o.Unavailable, k)
		}
		for _, k := range []string{"nvml_sample_count", "rapl_sample_count"} {
			if v, _ := res.Envelope.Metrics.Get(k); v.Kind() != envelope.KindInt {
				t.Errorf("%s/%s: metric %s = %#v; want an integer", gpuName, cpuName, k, v)
			}
		}
		if _, ok := res.Envelope.Metric("nvml_interval_p99_ms"); !ok {
			t.Errorf("%s/%s: metric nvml_interval_p99_ms missing", gpuName, cpuName)
		}
		// 600 W against 100 W, but each sampler's readings may stop up to
		// an interval (or a late tick) before the window ends, and energy
		// outside the readings is not counted: hence the wide bounds.
		gpuJ, _ := res.Envelope.Metric("energy_joules_gpu")
		cpuJ, _ := res.Envelope.Metric("energy_joules_cpu_dram")
		if r := gpuJ / cpuJ; !(r > 5 && r < 7.5) {
			t.Errorf("%s/%s: GPU %v J / CPU+DRAM %v J = %v; want about 6", gpuName, cpuName, gpuJ, cpuJ, r)
		}
		for _, row := range breakdown(t, f, res) {
			row = slices.Clone(row)
			switch row[0] {
			case "NVML sample count", "RAPL sample count":
				if n, err := strconv.Atoi(row[1]); err != nil || n <= 0 {
					t.Errorf("%s/%s: %s = %q; want a positive count", gpuName, cpuName, row[0], row[1])
				}
				row[1] = "N"
			case "Energy GPU vs CPU+DRAM":
				if r, err := strconv.ParseFloat(row[1], 64); err != nil || !(r > 5 && r < 7.5) || !energyNote.MatchString(row[2]) {
					t.Errorf("%s/%s: energy row %q", gpuName, cpuName, row)
				}
				row[1], row[2] = "R", "G J / C J"
			case "Idle vs under-load power":
				// The fake GPUs run at 80 % in the idle phase too.
				if row[1] != "-" || !strings.Contains(row[2], "not idle") {
					t.Errorf("%s/%s: idle row %q", gpuName, cpuName, row)
				}
				row[2] = "not idle"
			case "Joules per request p50/p99":
				if !strings.HasSuffix(row[1], " J") || !strings.Contains(row[2], "J/output token") {
					t.Errorf("%s/%s: joules per request row %q", gpuName, cpuName, row)
				}
				row[1], row[2] = "P J / Q J", "T J/output token"
			}
			o.Rows = append(o.Rows, row)
		}
		return o
	}
	builtinNames := run(t, "nvml", "rapl")
	ownNames := run(t, "dcgm-node7", "node-exporter-node7")
	if diff := cmp.Diff(builtinNames, ownNames); diff != "" {
		t.Errorf("samplers named like the built-in ones and named otherwise differ (-built-in names +own names):\n%s", diff)
	}
	wantRows := [][]string{
		{"% time on host", "20.00%", "100 - avg GPU util (80.00%)"},
		{"Energy GPU vs CPU+DRAM", "R", "G J / C J"},
		{"Avg power under load", "600.00 W", "samples where util_gpu > 50%"},
		{"NVML sample count", "N", "interval=10 ms"},
		{"RAPL sample count", "N", "interval=25 ms"},
		{"Idle vs under-load power", "-", "not idle"},
		{"Joules per request p50/p99", "P J / Q J", "T J/output token"},
	}
	if diff := cmp.Diff(wantRows, ownNames.Rows); diff != "" {
		t.Errorf("breakdown (-want +got):\n%s", diff)
	}
	if len(ownNames.Unavailable) != 0 {
		t.Errorf("figures unavailable with a GPU and a CPU sampler: %v", ownNames.Unavailable)
	}
	for _, k := range ownNames.Keys {
		if strings.HasPrefix(k, "dcgm") || strings.HasPrefix(k, "node") {
			t.Errorf("metric %s is keyed by a sampler's name", k)
		}
	}
}

// TestSamplerNameIsNoKind: a sampler named nvml that reads CPU packages
// does not make the GPU figures: they are unavailable for want of a GPU
// sampler, and its ticks count as RAPL's.
func TestSamplerNameIsNoKind(t *testing.T) {
	f := newFixture(t)
	opts := append(f.opts[:len(f.opts)-1:len(f.opts)-1],
		profile.WithSampler(&samplertest.CPU{Packages: 2, PackageW: 50, SamplerName: "nvml"}, 10*time.Millisecond))
	res, err := profile.Run(context.Background(), f.src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"nvml_sample_count", "nvml_interval_p99_ms", "energy_joules_gpu", "gpu_util_avg_pct", "power_avg_w_under_load"} {
		if v, ok := res.Envelope.Metrics.Get(k); ok {
			t.Errorf("metric %s = %#v from a sampler that reads no GPU", k, v)
		}
		if r := res.Unavailable[k]; !strings.HasPrefix(r, "no GPU sampler: ") {
			t.Errorf("Unavailable[%s] = %q; want the missing GPU sampler", k, r)
		}
	}
	if _, ok := res.Envelope.Metric("energy_joules_cpu_dram"); !ok {
		t.Error("energy_joules_cpu_dram missing")
	}
	if v, ok := res.Envelope.Metrics.Get("rapl_sample_count"); !ok {
		t.Error("rapl_sample_count missing")
	} else if n, _ := strconv.Atoi(v.GoString()); n <= 0 {
		t.Errorf("rapl_sample_count = %s", v.GoString())
	}
	rows := breakdown(t, f, res)
	if got := rows[3]; got[0] != "NVML sample count" || got[1] != "-" || !strings.Contains(got[2], "unavailable: no GPU sampler: ") {
		t.Errorf("NVML sample count row %q", got)
	}
}

// TestOpenDefaultSamplers: a built-in sampler that cannot open is left out
// with a warning, and the kinds it would have read say why.
func TestOpenDefaultSamplers(t *testing.T) {
	root := t.TempDir() // no /sys/class/powercap
	d, err := profile.OpenDefaultSamplers(profile.WithNVMLLibrary(filepath.Join(root, "libnvidia-ml.so.1")), profile.WithSystemRoot(root),
		profile.WithDuration(-1)) // not a sampler option: ignored
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if len(d.Samplers) != 0 {
		t.Fatalf("samplers opened: %v", d.Samplers)
	}
	var kinds []sampler.Kind
	for k, reason := range d.Unavailable {
		kinds = append(kinds, k)
		if !strings.Contains(reason, "did not open (the warning says why)") {
			t.Errorf("%s: reason %q", k, reason)
		}
	}
	slices.Sort(kinds)
	if diff := cmp.Diff([]sampler.Kind{sampler.KindCPUPackage, sampler.KindDRAM, sampler.KindGPU}, kinds); diff != "" {
		t.Errorf("unavailable kinds (-want +got):\n%s", diff)
	}
	if len(d.Warnings) != 2 || !strings.HasPrefix(d.Warnings[0], "GPU telemetry unavailable: ") || !strings.HasPrefix(d.Warnings[1], "CPU/DRAM energy unavailable: ") {
		t.Errorf("warnings %q", d.Warnings)
	}
	if _, err := profile.OpenDefaultSamplers(profile.WithNVMLInterval(0), profile.WithRAPLInterval(-time.Second)); err == nil ||
		!strings.Contains(err.Error(), "NVML interval") || !strings.Contains(err.Error(), "RAPL interval") {
		t.Errorf("invalid intervals: %v", err)
	}
}

// TestRunDefaultsUnavailable: with the built-in samplers on but unable to
// open, a user's GPU sampler of any name provides the GPU figures, and the
// CPU figures say why the built-in RAPL sampler gave none.
func TestRunDefaultsUnavailable(t *testing.T) {
	f := newFixture(t)
	root := t.TempDir()
	opts := append(slices.Clone(f.opts[:len(f.opts)-2]), // keep the defaults on; replace the fixture's GPU sampler
		profile.WithSampler(&samplertest.GPU{Devices: 1, PowerW: 200, UtilPct: 90, SamplerName: "h7-dcgm"}, 10*time.Millisecond),
		profile.WithNVMLLibrary(filepath.Join(root, "libnvidia-ml.so.1")), profile.WithSystemRoot(root))
	res, err := profile.Run(context.Background(), f.src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"nvml_sample_count", "nvml_interval_p99_ms", "energy_joules_gpu", "power_avg_w_under_load"} {
		if _, ok := res.Envelope.Metrics.Get(k); !ok {
			t.Errorf("metric %s missing with a GPU sampler named h7-dcgm", k)
		}
		if r, ok := res.Unavailable[k]; ok {
			t.Errorf("%s measured, but Unavailable says %q", k, r)
		}
	}
	for _, k := range []string{"energy_joules_cpu_dram", "rapl_sample_count"} {
		if r := res.Unavailable[k]; !strings.HasPrefix(r, "no CPU package or DRAM sampler: RAPL did not open") {
			t.Errorf("Unavailable[%s] = %q", k, r)
		}
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.HasPrefix(w, "GPU telemetry unavailable: ") }) {
		t.Errorf("no warning about NVML: %q", res.Warnings)
	}
}
