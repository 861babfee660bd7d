package prometheus

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/sampler"
)

// These tests run the real Prometheus of Debian's prometheus package on
// 127.0.0.1, scraping a fake exporter served by the test, whose energy is
// known exactly; they skip where Prometheus is not installed (.ci/run
// installs it).

// fakeGPU is one GPU of the fake dcgm-exporter.
type fakeGPU struct {
	idx       int
	pod       string
	watts     float64
	stepWatts float64 // power after the step, if not 0
	reset     bool    // the counter restarts from 0 at the reset time
	vanish    bool    // the series is no longer exposed after the vanish time
	holdEvery time.Duration
}

// fakeExporter serves dcgm-exporter-format GPU series on /dcgm and
// node_exporter-format RAPL series on /node, computed from the time of
// each request: every device's energy is an exact function of time.
type fakeExporter struct {
	srv  *httptest.Server
	base time.Time // energy origin
	gpus []fakeGPU

	mu                  sync.Mutex
	step, reset, vanish time.Time // zero until armed
	pkgWatts, dramWatts float64
}

func newFakeExporter(t *testing.T, gpus []fakeGPU) *fakeExporter {
	e := &fakeExporter{base: time.Now(), gpus: gpus, pkgWatts: 80, dramWatts: 10}
	e.srv = httptest.NewServer(http.HandlerFunc(e.serve))
	t.Cleanup(e.srv.Close)
	return e
}

// arm schedules the events: the power step, the counter reset, the
// vanishing series.
func (e *fakeExporter) arm(step, reset, vanish time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.step, e.reset, e.vanish = step, reset, vanish
}

// power returns g's power at t.
func (e *fakeExporter) power(g fakeGPU, t time.Time) float64 {
	e.mu.Lock()
	step := e.step
	e.mu.Unlock()
	if g.stepWatts != 0 && !step.IsZero() && !t.Before(step) {
		return g.stepWatts
	}
	return g.watts
}

// energyJ returns g's true energy since the exporter started, at t.
func (e *fakeExporter) energyJ(g fakeGPU, t time.Time) float64 {
	e.mu.Lock()
	step := e.step
	e.mu.Unlock()
	if g.stepWatts == 0 || step.IsZero() || t.Before(step) {
		return g.watts * t.Sub(e.base).Seconds()
	}
	return g.watts*step.Sub(e.base).Seconds() + g.stepWatts*t.Sub(step).Seconds()
}

// truthJ returns g's true energy over [t0, t1].
func (e *fakeExporter) truthJ(g fakeGPU, t0, t1 time.Time) float64 {
	return e.energyJ(g, t1) - e.energyJ(g, t0)
}

// counterMJ returns what g's DCGM counter reads at t (mJ): the true
// energy plus an offset since driver load, restarted at the reset, held
// between collections.
func (e *fakeExporter) counterMJ(g fakeGPU, t time.Time) float64 {
	if g.holdEvery > 0 {
		t = e.base.Add(t.Sub(e.base).Truncate(g.holdEvery))
	}
	e.mu.Lock()
	reset := e.reset
	e.mu.Unlock()
	if g.reset && !reset.IsZero() && !t.Before(reset) {
		return math.Round((e.energyJ(g, t) - e.energyJ(g, reset)) * 1000)
	}
	return math.Round((5e6 + e.energyJ(g, t)) * 1000)
}

// serve writes the exposition. Each sample carries its timestamp, the time
// its value was computed, which Prometheus honours: a loaded machine that
// delays a scrape by a few hundred ms then shifts no value against its
// time, so the truth at every sample is exact. (Without it, a scrape's
// timestamp is when Prometheus started it, and the delay until the
// exporter answered is an error of delay × power that no sampler can see.)
func (e *fakeExporter) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now().Truncate(time.Millisecond)
	ts := now.UnixMilli()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	var b bytes.Buffer
	switch r.URL.Path {
	case "/dcgm":
		e.mu.Lock()
		vanish := e.vanish
		e.mu.Unlock()
		for _, metric := range []string{"DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_GPU_UTIL"} {
			typ := "gauge"
			if metric == "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" {
				typ = "counter"
			}
			fmt.Fprintf(&b, "# TYPE %s %s\n", metric, typ)
			for _, g := range e.gpus {
				if g.vanish && !vanish.IsZero() && !now.Before(vanish) {
					continue
				}
				var v float64
				switch metric {
				case "DCGM_FI_DEV_POWER_USAGE":
					v = e.power(g, now)
				case "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION":
					v = e.counterMJ(g, now)
				default:
					v = 90
				}
				fmt.Fprintf(&b, "%s{gpu=\"%d\",UUID=\"GPU-%d\",device=\"nvidia%d\",modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"gpu-node-1\",container=\"engine\",namespace=\"llm\",pod=%q} %v %d\n",
					metric, g.idx, g.idx, g.idx, g.pod, v, ts)
			}
		}
	case "/node":
		s := now.Sub(e.base).Seconds()
		fmt.Fprintf(&b, "# TYPE node_rapl_package_joules_total counter\nnode_rapl_package_joules_total{index=\"0\",path=\"/sys/devices/virtual/powercap/intel-rapl/intel-rapl:0\"} %.6f %d\n", 1000+e.pkgWatts*s, ts)
		fmt.Fprintf(&b, "# TYPE node_rapl_dram_joules_total counter\nnode_rapl_dram_joules_total{index=\"0\",path=\"/sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/intel-rapl:0:0\"} %.6f %d\n", 200+e.dramWatts*s, ts)
	default:
		http.NotFound(w, r)
		return
	}
	_, _ = w.Write(b.Bytes())
}

// prometheusBinary returns Debian's prometheus, or skips the test.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("prometheus"); err == nil {
		return p
	}
	t.Skip("prometheus is not installed (apt-get install prometheus); skipping the tests against a real Prometheus")
	return ""
}

// startPrometheus runs Prometheus on a free port of 127.0.0.1 with the
// scrape configuration scrapeConfigs (YAML, under scrape_configs:), every
// target scraped every second, and a temporary storage directory. It
// returns its base URL; the process is killed when the test ends.
func startPrometheus(t *testing.T, scrapeConfigs string) string {
	t.Helper()
	bin := prometheusBinary(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	conf := "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n" + scrapeConfigs
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	var lastOut string
	for range 3 { // the free port may be taken between Close and Prometheus's bind
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		var out bytes.Buffer
		cmd := exec.Command(bin,
			"--config.file="+cfg,
			"--storage.tsdb.path="+filepath.Join(dir, "data"),
			"--web.listen-address="+addr,
			"--log.level=warn",
		)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		base := "http://" + addr
		if waitListening(addr, exited) {
			return base
		}
		lastOut = out.String()
	}
	t.Fatalf("prometheus did not start; its last output:\n%s", lastOut)
	return ""
}

// waitListening waits up to 10 s for addr to accept connections, or the
// process to exit.
func waitListening(addr string, exited <-chan error) bool {
	for range 100 {
		select {
		case <-exited:
			return false
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// within fails the test unless got is within tol (a fraction) of want.
func within(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if dev := math.Abs(got-want) / want; !(dev <= tol) {
		t.Errorf("%s: %.2f J, truth %.2f J: off by %+.3f%%, more than %.1f%%", what, got, want, 100*(got-want)/want, 100*tol)
	} else {
		t.Logf("%s: %.2f J, truth %.2f J (%+.4f%%)", what, got, want, 100*(got-want)/want)
	}
}

// TestRealPrometheus runs the sampler against a real Prometheus that
// scrapes the fake exporter every second, the way a Kubernetes cluster's
// does (target labels namespace and pod, so the exporter's own are renamed
// exported_namespace and exported_pod), and checks the energy over a
// window, from the readings and from WindowEnergy, against the exporter's
// truth: within 1 % for steady GPUs, across a power step and across a
// counter reset; a series that disappears and a counter held between
// collections are reported.
func TestRealPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the real Prometheus test takes about 20 s")
	}
	gpus := []fakeGPU{
		{idx: 0, pod: "vllm-0", watts: 300, stepWatts: 520},
		{idx: 1, pod: "vllm-0", watts: 400, reset: true},
		{idx: 2, pod: "vllm-1", watts: 250, vanish: true},
		{idx: 3, pod: "other-0", watts: 100},
		{idx: 4, pod: "vllm-1", watts: 350, holdEvery: 2 * time.Second},
	}
	exp := newFakeExporter(t, gpus)
	host := strings.TrimPrefix(exp.srv.URL, "http://")
	base := startPrometheus(t, fmt.Sprintf(`  - job_name: dcgm
    metrics_path: /dcgm
    static_configs:
      - targets: [%q]
        labels: {namespace: gpu-operator, pod: dcgm-exporter-x7k2p}
  - job_name: node
    metrics_path: /node
    static_configs:
      - targets: [%q]
        labels: {node: gpu-node-1}
`, host, host))

	ctx := t.Context()
	opened := time.Now()
	s, err := Open(ctx, base,
		WithGPUSelector(`namespace="llm", pod=~"vllm-.*"`),
		WithNodeSelector(`job="node"`),
		WithStartTimeout(20*time.Second))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	t.Logf("Open waited %v for Prometheus", time.Since(opened).Round(time.Millisecond))
	info := s.Describe()
	for _, n := range info.Notes {
		t.Logf("note: %s", n)
	}
	var names []string
	for _, d := range info.Devices {
		names = append(names, d.Device+" ("+string(d.Kind)+")")
	}
	want := "gpu-node-1/gpu0 (gpu), gpu-node-1/gpu1 (gpu), gpu-node-1/gpu2 (gpu), gpu-node-1/gpu4 (gpu), gpu-node-1/package-0 (cpu_package), gpu-node-1/dram-0 (dram)"
	if got := strings.Join(names, ", "); got != want {
		t.Fatalf("devices %s; want %s", got, want)
	}
	if !strings.Contains(strings.Join(info.Notes, "\n"), "matched on exported_namespace, exported_pod") {
		t.Errorf("Describe does not say that the selector matched on exported_namespace, exported_pod: %q", info.Notes)
	}

	origin := time.Now()
	exp.arm(origin.Add(5*time.Second), origin.Add(6500*time.Millisecond), origin.Add(7*time.Second))
	const run = 12 * time.Second
	rctx, cancel := context.WithTimeout(ctx, run)
	defer cancel()
	var readings []sampler.Reading
	st, err := sampler.Run(rctx, s, time.Second, origin, func(r sampler.Reading) {
		r.Devices = append([]sampler.DeviceReading(nil), r.Devices...)
		readings = append(readings, r)
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%d readings, %d errors (%s), %d missed", st.Readings, st.Errors, st.LastError, st.Missed)

	// Each tick's counter against the truth at its time (a constant offset
	// is the lag of values behind their sample times; it cancels out of a
	// window's energy), shown with -v or on failure.
	for _, r := range readings {
		at := origin.Add(r.At)
		var parts []string
		for _, d := range r.Devices {
			var truth float64
			switch d.Device {
			case "gpu-node-1/gpu0":
				truth = 5e6 + exp.energyJ(gpus[0], at)
			case "gpu-node-1/gpu4":
				truth = 5e6 + exp.energyJ(gpus[4], at)
			case "gpu-node-1/package-0":
				truth = 1000 + exp.pkgWatts*at.Sub(exp.base).Seconds()
			default:
				continue
			}
			parts = append(parts, fmt.Sprintf("%s %+.1f J", d.Device, d.EnergyJ-truth))
		}
		t.Logf("tick %d at %v: %s", r.Tick, r.At.Round(time.Millisecond), strings.Join(parts, ", "))
	}

	w := energy.Window{Start: time.Second, End: 11500 * time.Millisecond}
	t0, t1 := origin.Add(w.Start), origin.Add(w.End)
	truth := map[string]float64{}
	for _, g := range gpus {
		truth[fmt.Sprintf("gpu-node-1/gpu%d", g.idx)] = exp.truthJ(g, t0, t1)
	}
	truth["gpu-node-1/package-0"] = exp.pkgWatts * w.Duration().Seconds()
	truth["gpu-node-1/dram-0"] = exp.dramWatts * w.Duration().Seconds()

	// The readings, through the energy package, as a profile computes
	// its figures from them.
	acc, err := energy.NewAccumulator(w)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readings {
		acc.Add(r)
	}
	rep, err := acc.Report(0)
	if err != nil {
		t.Fatal(err)
	}
	fromReadings := map[string]float64{}
	for _, d := range rep.Devices {
		if v, ok := d.EnergyCounterJ.Get(); ok {
			fromReadings[d.Device] = v
		}
	}
	for _, dev := range []string{"gpu-node-1/gpu0", "gpu-node-1/gpu1", "gpu-node-1/package-0", "gpu-node-1/dram-0"} {
		within(t, "readings: "+dev, fromReadings[dev], truth[dev], 0.01)
	}
	within(t, "readings: GPUs gpu0+gpu1", fromReadings["gpu-node-1/gpu0"]+fromReadings["gpu-node-1/gpu1"],
		truth["gpu-node-1/gpu0"]+truth["gpu-node-1/gpu1"], 0.01)
	within(t, "readings: held gpu4 (loosely)", fromReadings["gpu-node-1/gpu4"], truth["gpu-node-1/gpu4"], 0.05)
	stats := s.Stats()
	if stats.CounterResets["gpu-node-1/gpu1"] != 1 {
		t.Errorf("Stats.CounterResets = %v; want gpu1's one reset", stats.CounterResets)
	}
	if stats.StaleTicks["gpu-node-1/gpu2"] == 0 {
		t.Errorf("Stats.StaleTicks = %v; want gpu2's ticks after it vanished", stats.StaleTicks)
	}
	if !strings.Contains(strings.Join(s.Describe().Notes, "\n"), "gpu-node-1/gpu4: the exporter updates the energy counter only about every") {
		t.Errorf("Describe does not note gpu4's held counter: %q", s.Describe().Notes)
	}

	// The window, from Prometheus's samples after the fact.
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	asked := time.Now()
	des, err := s.WindowEnergy(wctx, t0, t1)
	if err != nil {
		t.Fatalf("WindowEnergy: %v", err)
	}
	t.Logf("WindowEnergy took %v", time.Since(asked).Round(time.Millisecond))
	byDev := map[string]sampler.DeviceEnergy{}
	for _, de := range des {
		byDev[de.Device] = de
		t.Logf("%s: %.2f J over %v; warnings %q", de.Device, de.EnergyJ, de.Covered, de.Warnings)
	}
	for _, dev := range []string{"gpu-node-1/gpu0", "gpu-node-1/gpu1", "gpu-node-1/package-0", "gpu-node-1/dram-0"} {
		within(t, "WindowEnergy: "+dev, byDev[dev].EnergyJ, truth[dev], 0.01)
		if de := byDev[dev]; de.Covered != w.Duration() {
			t.Errorf("WindowEnergy: %s covers %v of the %v window", dev, de.Covered, w.Duration())
		}
	}
	within(t, "WindowEnergy: GPUs gpu0+gpu1", byDev["gpu-node-1/gpu0"].EnergyJ+byDev["gpu-node-1/gpu1"].EnergyJ,
		truth["gpu-node-1/gpu0"]+truth["gpu-node-1/gpu1"], 0.01)
	within(t, "WindowEnergy: held gpu4 (loosely)", byDev["gpu-node-1/gpu4"].EnergyJ, truth["gpu-node-1/gpu4"], 0.05)
	if ws := strings.Join(byDev["gpu-node-1/gpu1"].Warnings, "\n"); !strings.Contains(ws, "reset 1 times") {
		t.Errorf("WindowEnergy: gpu1's warnings do not report its reset: %q", ws)
	}
	if ws := strings.Join(byDev["gpu-node-1/gpu4"].Warnings, "\n"); !strings.Contains(ws, "updates the energy counter only about every") {
		t.Errorf("WindowEnergy: gpu4's warnings do not report its held counter: %q", ws)
	}
	// Prometheus's own increase() over the same window, for comparison: it
	// extrapolates each edge with the window's mean rate (exact for a
	// steady counter, off when the power changed, as gpu0's did) and
	// loses the energy between the last sample before a reset and the
	// reset (gpu1).
	for _, c := range []struct{ dev, series string }{
		{"gpu-node-1/package-0", `node_rapl_package_joules_total{job="node"}`},
		{"gpu-node-1/gpu0", `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{exported_pod="vllm-0",gpu="0"}`},
		{"gpu-node-1/gpu1", `DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{exported_pod="vllm-0",gpu="1"}`},
	} {
		q := fmt.Sprintf("increase(%s[%dms])", c.series, w.Duration().Milliseconds())
		v, err := s.c.queryVector(ctx, q, t1)
		if err != nil || len(v) != 1 {
			t.Errorf("%s: %v, %v", q, v, err)
			continue
		}
		got := float64(v[0].Value)
		if strings.HasPrefix(c.series, "DCGM") {
			got /= 1000
		}
		if c.dev == "gpu-node-1/package-0" {
			within(t, "increase(): "+c.dev, got, truth[c.dev], 0.01)
			continue
		}
		t.Logf("increase(): %s: %.2f J, truth %.2f J (%+.3f%%)", c.dev, got, truth[c.dev], 100*(got-truth[c.dev])/truth[c.dev])
	}
	gone := byDev["gpu-node-1/gpu2"]
	if ws := strings.Join(gone.Warnings, "\n"); !strings.Contains(ws, "before the window's end") || gone.Covered > 7*time.Second {
		t.Errorf("WindowEnergy: vanished gpu2 covers %v, warnings %q; want about 6 s and a warning", gone.Covered, ws)
	}
}
