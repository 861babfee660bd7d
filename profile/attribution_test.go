package profile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/sampler"
)

// loadGPUs is a fake GPU sampler with exact energy: GPU i draws
// IdleW[i] while no generation request is in flight at the engine and
// LoadW[i] while one is (the engine's middleware calls set on every
// change), and its energy counter is the exact integral of that power.
// It lists PIDs[i] as the processes running on GPU i.
type loadGPUs struct {
	IdleW, LoadW []float64
	PIDs         [][]int

	mu     sync.Mutex
	start  time.Time
	last   time.Time
	loaded bool
	energy []float64
}

var (
	_ sampler.Sampler       = (*loadGPUs)(nil)
	_ sampler.Describer     = (*loadGPUs)(nil)
	_ sampler.ProcessLister = (*loadGPUs)(nil)
)

func (g *loadGPUs) power(i int) float64 {
	if g.loaded {
		return g.LoadW[i]
	}
	return g.IdleW[i]
}

// advance integrates the power up to now; g.mu is held.
func (g *loadGPUs) advance(now time.Time) {
	if g.energy == nil {
		g.energy = make([]float64, len(g.IdleW))
		g.last = now
	}
	dt := now.Sub(g.last).Seconds()
	for i := range g.energy {
		g.energy[i] += g.power(i) * dt
	}
	g.last = now
}

func (g *loadGPUs) set(loaded bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance(time.Now())
	g.loaded = loaded
}

func (g *loadGPUs) Name() string { return "fake-nvml" }
func (g *loadGPUs) Close() error { return nil }

func (g *loadGPUs) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.advance(time.Now())
	for i := range g.IdleW {
		d := sampler.NewDeviceReading(fmt.Sprintf("gpu%d", i), sampler.KindGPU)
		d.PowerW, d.EnergyJ, d.UtilPct = g.power(i), g.energy[i], 0
		if g.loaded && g.LoadW[i] > g.IdleW[i] {
			d.UtilPct = 90
		}
		dst = append(dst, d)
	}
	return dst, nil
}

func (g *loadGPUs) Describe() sampler.Info {
	var info sampler.Info
	for i := range g.IdleW {
		info.Devices = append(info.Devices, sampler.DeviceInfo{Device: fmt.Sprintf("gpu%d", i), Kind: sampler.KindGPU, Model: "Fake H100",
			SensorPeriod: 20 * time.Millisecond, PowerAveraged: i%2 == 1})
	}
	return info
}

func (g *loadGPUs) DeviceProcesses() ([]sampler.DeviceProcesses, error) {
	var out []sampler.DeviceProcesses
	for i := range g.IdleW {
		var pids []int
		if i < len(g.PIDs) {
			pids = slices.Clone(g.PIDs[i])
		}
		out = append(out, sampler.DeviceProcesses{Device: fmt.Sprintf("gpu%d", i), PIDs: pids})
	}
	return out, nil
}

// loadEngine starts a fake engine on loopback that tells gpus when
// generation requests are in flight.
func loadEngine(t *testing.T, f *fixture, gpus *loadGPUs) string {
	t.Helper()
	h, err := enginetest.NewHandler(enginetest.WithModels(f.src.Model.ID), enginetest.WithVersion("0.22.1-fake"),
		enginetest.WithTTFT(5*time.Millisecond), enginetest.WithITL(time.Millisecond), enginetest.WithOutputTokens(16))
	if err != nil {
		t.Fatal(err)
	}
	var loaded atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gen := strings.HasSuffix(r.URL.Path, "/completions")
		// The GPUs go to load power at the first generation request and
		// stay there: a closed loop's short gaps between requests (longer
		// on a loaded machine) would otherwise make the truth, load power
		// times the window, depend on the scheduler.
		if gen && loaded.CompareAndSwap(false, true) {
			gpus.set(true)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(func() { h.Close(); srv.Close() })
	return srv.URL
}

// replaceEngine returns the fixture's options with the engine at url and
// the GPU sampler g.
func replaceEngine(f *fixture, url string, g sampler.Sampler, extra ...profile.Option) []profile.Option {
	opts := slices.Clone(f.opts[:len(f.opts)-1]) // all but the fixture's GPU sampler
	opts = append(opts, profile.WithBaseURL(url+"/v1"), profile.WithSampler(g, 10*time.Millisecond))
	return append(opts, extra...)
}

// trace sums the per-request joules of a trace and counts the requests
// that have them.
func traceJoules(t *testing.T, path string) (sum float64, with, without int) {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	err = loadgen.ReadJSONL(fh, func(r loadgen.Result) error {
		if r.GPUJoules == nil {
			without++
			return nil
		}
		with++
		sum += *r.GPUJoules
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sum, with, without
}

func metric(t *testing.T, e *envelope.Envelope, key string) float64 {
	t.Helper()
	v, ok := e.Metric(key)
	if !ok {
		t.Fatalf("metric %s missing", key)
	}
	return v
}

func within(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Abs(want) {
		t.Errorf("%s = %.6g; want %.6g within %.3g %%", what, got, want, 100*rel)
	}
}

// TestEngineGPUsIdleAndJoules is the acceptance check with known truth:
// eight GPUs, of which the engine (this process, listening on loopback)
// runs on gpu2 and gpu5; every GPU draws a known idle power while the
// engine serves nothing and a known load power while it does.
//
//   - the energy figures cover gpu2 and gpu5 only, within 1 %; the six
//     others are listed apart;
//   - power_idle_w is their idle draw within 2 %, and the energy above
//     idle within 2 %;
//   - the per-request joules in the rewritten trace sum to the window's
//     GPU energy within 1 %, and the envelope hashes the rewritten trace;
//   - no sampler's readings end before the window.
func TestEngineGPUsIdleAndJoules(t *testing.T) {
	f := newFixture(t)
	gpus := &loadGPUs{PIDs: make([][]int, 8)}
	for i := range 8 {
		gpus.IdleW = append(gpus.IdleW, 60+float64(i))
		gpus.LoadW = append(gpus.LoadW, 300+10*float64(i))
	}
	gpus.PIDs[2] = []int{os.Getpid()}
	gpus.PIDs[5] = []int{1, os.Getpid()} // another process shares it
	gpus.PIDs[0] = []int{1}              // not the engine
	url := loadEngine(t, f, gpus)
	res, err := profile.Run(context.Background(), f.src, replaceEngine(f, url, gpus, profile.WithIdlePhase(500*time.Millisecond))...)
	if err != nil {
		t.Fatal(err)
	}
	env := res.Envelope
	window := metric(t, env, "measure_window_s")
	idleW := gpus.IdleW[2] + gpus.IdleW[5]
	loadW := gpus.LoadW[2] + gpus.LoadW[5]

	// 1. The engine's GPUs.
	if res.GPUs.How != profile.GPUsOfEngine || !slices.Contains(res.GPUs.EnginePIDs, os.Getpid()) {
		t.Fatalf("GPU selection %+v", res.GPUs)
	}
	var counted []string
	for _, g := range res.GPUs.GPUs {
		if g.Counted {
			counted = append(counted, g.Device)
		}
	}
	if strings.Join(counted, ",") != "gpu2,gpu5" {
		t.Fatalf("counted GPUs %v; want gpu2, gpu5", counted)
	}
	within(t, "energy_joules_gpu", metric(t, env, "energy_joules_gpu"), loadW*window, 0.01)
	within(t, "power_avg_w_under_load", metric(t, env, "power_avg_w_under_load"), loadW, 0.01)
	var others float64
	for _, i := range []int{0, 1, 3, 4, 6, 7} {
		others += gpus.LoadW[i]
	}
	within(t, "power_avg_w_other_gpus", metric(t, env, "power_avg_w_other_gpus"), others, 0.01)
	within(t, "energy_joules_gpu_other_gpus", metric(t, env, "energy_joules_gpu_other_gpus"), others*window, 0.01)
	tel, _ := env.DriverOptions.Get("telemetry")
	to, _ := tel.AsObject()
	if v, _ := to.Get("gpu_selection"); v.GoString() != `"engine"` {
		t.Errorf("driver_options.telemetry.gpu_selection = %s", v.GoString())
	}
	gv, _ := to.Get("gpus")
	if gv.Len() != 8 {
		t.Fatalf("driver_options.telemetry.gpus has %d entries", gv.Len())
	}
	for i, g := range gv.Elems() {
		o, _ := g.AsObject()
		c, _ := o.Get("counted")
		field, _ := o.Get("power_field")
		period, _ := o.Get("sensor_period_ms")
		want := map[bool]string{false: `"instant"`, true: `"average_1s"`}[i%2 == 1]
		if b, _ := c.AsBool(); b != (i == 2 || i == 5) || field.GoString() != want {
			t.Errorf("gpu%d: %s", i, g.GoString())
		}
		if ms, _ := period.AsFloat64(); ms != 20 {
			t.Errorf("gpu%d: %s", i, g.GoString())
		}
	}

	// 2. Idle baseline.
	within(t, "power_idle_w", metric(t, env, "power_idle_w"), idleW, 0.02)
	within(t, "energy_joules_gpu_above_idle", metric(t, env, "energy_joules_gpu_above_idle"), (loadW-idleW)*window, 0.02)
	tokens := metric(t, env, "throughput_tok_per_s") * window
	within(t, "joules_per_token_above_idle", metric(t, env, "joules_per_token_above_idle"), (loadW-idleW)*window/tokens, 0.02)

	// 3. Joules per request.
	sum, with, _ := traceJoules(t, res.TracePath)
	gpuJ := metric(t, env, "energy_joules_gpu")
	within(t, "the trace's per-request joules", sum, gpuJ, 0.01)
	if gaps := metric(t, env, "energy_joules_gpu_idle_gaps"); math.Abs(sum+gaps-gpuJ) > 1e-6*gpuJ {
		t.Errorf("requests %v J + gaps %v J != energy_joules_gpu %v J", sum, gaps, gpuJ)
	}
	if n := metric(t, env, "n_requests"); float64(with) < n {
		t.Errorf("%d requests have joules; the window holds %v", with, n)
	}
	p50, p99 := metric(t, env, "joules_per_request_p50"), metric(t, env, "joules_per_request_p99")
	if !(p50 > 0 && p99 >= p50) || !(metric(t, env, "joules_per_output_token_p50") > 0) {
		t.Errorf("joules per request p50 %v p99 %v", p50, p99)
	}
	v, _ := env.Distributions.Get("requests")
	s, _ := v.AsString()
	b, err := os.ReadFile(res.TracePath)
	if err != nil {
		t.Fatal(err)
	}
	sha := sha256.Sum256(b)
	if !strings.HasSuffix(s, "#sha256="+hex.EncodeToString(sha[:])) || !strings.HasPrefix(s, ".requests.jsonl#") {
		t.Errorf("distributions.requests %q does not hash the rewritten trace", s)
	}

	// 4. Honest sensors: the power chart's lines say which reading each
	// is and its sensor's period; every sampler reads to the window's end.
	page, err := os.ReadFile(res.HTMLPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"gpu2 (instant, updates ~20ms)", "gpu1 (1 s average, updates ~20ms; not counted)", "idle phase: "} {
		if !strings.Contains(string(page), want) {
			t.Errorf("the HTML page lacks %q", want)
		}
	}
	if w := strings.Join(res.Warnings, "\n"); strings.Contains(w, "before it ends") || strings.Contains(w, "not only the engine's") {
		t.Errorf("warnings:\n%s", w)
	}
}

// TestEngineGPUsFallback: a remote engine, and no process listing, fall
// back to every GPU, saying why.
func TestEngineGPUsFallback(t *testing.T) {
	f := newFixture(t)
	gpus := &loadGPUs{IdleW: []float64{50, 50}, LoadW: []float64{200, 200}, PIDs: [][]int{{1}, nil}}
	url := loadEngine(t, f, gpus)
	res, err := profile.Run(context.Background(), f.src, replaceEngine(f, url, gpus, profile.WithIdlePhase(0))...)
	if err != nil {
		t.Fatal(err)
	}
	if res.GPUs.How != profile.GPUsAll || !strings.Contains(res.GPUs.Reason, "none of the engine's processes") {
		t.Errorf("GPU selection %+v", res.GPUs)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "every sampled GPU") }) {
		t.Errorf("no warning: %q", res.Warnings)
	}
	if _, ok := res.Envelope.Metric("power_avg_w_other_gpus"); ok {
		t.Error("power_avg_w_other_gpus with every GPU counted")
	}
	if r := res.Unavailable["power_idle_w"]; !strings.Contains(r, "skipped") {
		t.Errorf("power_idle_w unavailable: %q", r)
	}
	within(t, "energy_joules_gpu", metric(t, res.Envelope, "energy_joules_gpu"), 400*metric(t, res.Envelope, "measure_window_s"), 0.01)
}

// childEngineEnv makes the test binary serve a fake engine for the model
// it names, instead of running tests (TestEngineGPUsOfAnotherProcess).
const childEngineEnv = "BENCHPROF_TEST_CHILD_ENGINE"

// serveChildEngine serves a fake engine on loopback, prints its URL and
// serves until killed (or a minute passes).
func serveChildEngine(model string) {
	srv, err := enginetest.Start(enginetest.WithModels(model), enginetest.WithVersion("0.22.1-fake"),
		enginetest.WithTTFT(5*time.Millisecond), enginetest.WithITL(time.Millisecond), enginetest.WithOutputTokens(16))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("%s %d\n", srv.URL(), os.Getpid())
	time.Sleep(time.Minute)
	srv.Close()
}

// TestIdleBaselineEndsBeforeTheLoad: the idle window's last energy of
// record is interpolated between the readings around its end, so the load
// waits for every sampler to read past the end. With a sampler reading
// every 150 ms and the GPUs at load power from the first request on, a
// load that started at once would leak tens of watts into the baseline;
// with the wait the baseline is the idle power exactly.
func TestIdleBaselineEndsBeforeTheLoad(t *testing.T) {
	f := newFixture(t)
	gpus := &loadGPUs{IdleW: []float64{60, 70}, LoadW: []float64{400, 500}, PIDs: [][]int{{os.Getpid()}, {os.Getpid()}}}
	url := loadEngine(t, f, gpus)
	opts := slices.Clone(f.opts[:len(f.opts)-1])
	opts = append(opts, profile.WithBaseURL(url+"/v1"), profile.WithSampler(gpus, 150*time.Millisecond), profile.WithIdlePhase(600*time.Millisecond))
	res, err := profile.Run(context.Background(), f.src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	within(t, "power_idle_w", metric(t, res.Envelope, "power_idle_w"), 130, 0.001)
}
