package prometheus

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/sampler"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// cluster returns a fake Prometheus holding ten minutes (from epoch) of a
// GPU node's series: GPUs 0 and 1 (400 and 300 W) of pod vllm-0, GPU 2
// (100 W) of pod other-0, and the node's RAPL counters (80 and 10 W).
func cluster(t *testing.T) *fakeProm {
	f := newFakeProm(t)
	end := epoch.Add(10 * time.Minute)
	f.addGPU(0, 400, epoch, end, "namespace", "llm", "pod", "vllm-0")
	f.addGPU(1, 300, epoch, end, "namespace", "llm", "pod", "vllm-0")
	f.addGPU(2, 100, epoch, end, "namespace", "llm", "pod", "other-0")
	f.addRAPL("gpu-node-1", 80, 10, epoch, end)
	return f
}

// openAt opens a sampler on f with a clock at start that advances by step
// at every read.
func openAt(t *testing.T, f *fakeProm, start time.Time, step time.Duration, opts ...Option) (*Sampler, *clock) {
	t.Helper()
	clk := &clock{t: start, step: step}
	s, err := Open(t.Context(), f.srv.URL, append([]Option{withClock(clk.now, time.Millisecond)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk
}

func deviceNames(info sampler.Info) []string {
	var out []string
	for _, d := range info.Devices {
		out = append(out, d.Device+" ("+string(d.Kind)+")")
	}
	return out
}

func TestSample(t *testing.T) {
	f := cluster(t)
	start := epoch.Add(5 * time.Minute)
	s, clk := openAt(t, f, start, 0, WithGPUSelector(`namespace="llm", pod=~"vllm-.*"`), WithNodeSelector(`job="node"`))
	want := []string{
		"gpu-node-1/gpu0 (gpu)", "gpu-node-1/gpu1 (gpu)",
		"gpu-node-1:9100/package-0 (cpu_package)", "gpu-node-1:9100/dram-0 (dram)",
	}
	if diff := cmp.Diff(want, deviceNames(s.Describe())); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
	if m := s.Describe().Devices[0].Model; m != "NVIDIA H100 80GB HBM3" {
		t.Errorf("model %q", m)
	}

	// A tick 0.5 s after a scrape: energy is extrapolated to the tick.
	clk.set(start.Add(10500 * time.Millisecond))
	got, err := s.Sample(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d readings; want 4: %+v", len(got), got)
	}
	elapsed := start.Add(10500 * time.Millisecond).Sub(epoch).Seconds()
	g0 := got[0]
	if g0.Device != "gpu-node-1/gpu0" || g0.PowerW != 400 || g0.UtilPct != 97 {
		t.Errorf("gpu0 reading %+v", g0)
	}
	near(t, "gpu0 EnergyJ", g0.EnergyJ, 1e6+400*elapsed)
	near(t, "package EnergyJ", got[2].EnergyJ, 80*elapsed)
	if sampler.Has(got[2].PowerW) {
		t.Errorf("a RAPL zone has a power reading: %+v", got[2])
	}
	st := s.Stats()
	if st.Queries != 2 || st.Failures != 0 {
		t.Errorf("stats %+v; want 2 queries, no failure", st)
	}
	// The second tick asks only for what is new: a range of a few
	// seconds, not Open's lookback.
	clk.set(start.Add(11500 * time.Millisecond))
	if _, err := s.Sample(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	q := f.queryLog()
	if last := q[len(q)-1]; !strings.HasSuffix(last, "[4000ms]") {
		t.Errorf("second tick's query %s; want a range of 1 s since the last query plus 3 intervals", last)
	}
}

func TestOpenWaits(t *testing.T) {
	f := cluster(t)
	f.notReady = 3
	f.unknownFor = 2
	s, _ := openAt(t, f, epoch.Add(time.Minute), 0, WithGPUSelector(`pod="vllm-0"`))
	if n := len(s.Describe().Devices); n != 2 {
		t.Errorf("%d devices; want 2", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.notReady != 0 || f.unknownFor != 0 {
		t.Errorf("Open did not wait for /-/ready and the first scrapes: %d, %d left", f.notReady, f.unknownFor)
	}
}

// TestOpenFreshPrometheus: a Prometheus that has just started holds two
// samples of each counter; Open waits for the third.
func TestOpenFreshPrometheus(t *testing.T) {
	f := cluster(t)
	clk := &clock{t: epoch.Add(1500 * time.Millisecond), step: 100 * time.Millisecond}
	s, err := Open(t.Context(), f.srv.URL, withClock(clk.now, time.Millisecond), WithGPUSelector(`pod="vllm-0"`))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if now := clk.now(); now.Before(epoch.Add(2 * time.Second)) {
		t.Errorf("Open returned at %v, before a third sample", now.Sub(epoch))
	}
}

func TestOpenExportedLabels(t *testing.T) {
	f := newFakeProm(t)
	// A ServiceMonitor without honorLabels: the target labels namespace and
	// pod are dcgm-exporter's own; the exporter's become exported_*.
	f.addGPU(0, 400, epoch, epoch.Add(10*time.Minute),
		"namespace", "gpu-operator", "pod", "dcgm-exporter-x7k2p",
		"exported_namespace", "llm", "exported_pod", "vllm-0")
	s, _ := openAt(t, f, epoch.Add(5*time.Minute), 0, WithGPUSelector(`namespace="llm", pod=~"vllm-.*"`))
	if diff := cmp.Diff([]string{"gpu-node-1/gpu0 (gpu)"}, deviceNames(s.Describe())); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
	notes := strings.Join(s.Describe().Notes, "\n")
	if !strings.Contains(notes, `GPU series selected by {exported_namespace="llm",exported_pod=~"vllm-.*"}, matched on exported_namespace, exported_pod`) {
		t.Errorf("notes do not say which form matched:\n%s", notes)
	}
	if _, err := s.Sample(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	q := f.queryLog()
	if last := q[len(q)-1]; !strings.Contains(last, `exported_pod=~"vllm-.*"`) {
		t.Errorf("Sample queried %s; want the exported_ form", last)
	}
}

func TestOpenNoSeries(t *testing.T) {
	f := cluster(t)
	_, err := Open(t.Context(), f.srv.URL, withClock((&clock{t: epoch.Add(time.Minute)}).now, time.Millisecond),
		WithGPUSelector(`namespace="nope"`))
	if !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, ErrNoSeries) {
		t.Fatalf("Open = %v; want ErrUnavailable and ErrNoSeries", err)
	}
	if !strings.Contains(err.Error(), `GPU selector {namespace="nope"} matches no series (nor with exported_namespace)`) {
		t.Errorf("error %q does not say what matched nothing", err)
	}
}

// TestOpenOnlyStoppedSeries: series that match but stopped (the pods are
// gone) are not a source.
func TestOpenOnlyStoppedSeries(t *testing.T) {
	f := newFakeProm(t)
	f.addGPU(0, 400, epoch, epoch.Add(90*time.Second), "pod", "vllm-0")
	f.addGPU(1, 400, epoch, epoch.Add(10*time.Minute), "pod", "other-0")
	_, err := Open(t.Context(), f.srv.URL, withClock((&clock{t: epoch.Add(3 * time.Minute)}).now, time.Millisecond),
		WithGPUSelector(`pod="vllm-0"`))
	if !errors.Is(err, ErrNoSeries) || !strings.Contains(err.Error(), `{pod="vllm-0"} matches only series that have stopped (the last 1m30s ago)`) {
		t.Fatalf("Open = %v; want ErrNoSeries saying the series stopped", err)
	}
}

// TestOpenOneSelectorUnmatched: a node selector that matches nothing once
// every target is scraped is a note, not a failure.
func TestOpenOneSelectorUnmatched(t *testing.T) {
	f := cluster(t)
	s, _ := openAt(t, f, epoch.Add(time.Minute), 0, WithGPUSelector(`pod="vllm-0"`), WithNodeSelector(`job="node-exporter"`))
	if n := len(s.Describe().Devices); n != 2 {
		t.Errorf("%d devices; want the 2 GPUs", n)
	}
	if notes := strings.Join(s.Describe().Notes, "\n"); !strings.Contains(notes, `RAPL selector {job="node-exporter"} matches no series: no RAPL reading`) {
		t.Errorf("notes:\n%s", notes)
	}
}

func TestOpenTimeout(t *testing.T) {
	f := cluster(t)
	f.notReady = 1 << 30
	_, err := Open(t.Context(), f.srv.URL, withClock(time.Now, time.Millisecond),
		WithGPUSelector(""), WithStartTimeout(50*time.Millisecond))
	if !errors.Is(err, sampler.ErrUnavailable) || !strings.Contains(err.Error(), "/-/ready answers 503 Service Unavailable") {
		t.Fatalf("Open = %v; want ErrUnavailable saying /-/ready answers 503", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	f := cluster(t)
	url := f.srv.URL
	f.srv.Close()
	_, err := Open(t.Context(), url, WithGPUSelector(""), WithStartTimeout(50*time.Millisecond))
	if !errors.Is(err, sampler.ErrUnavailable) || !strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("Open = %v; want ErrUnavailable saying not reachable", err)
	}
}

func TestOpenServerRejects(t *testing.T) {
	f := cluster(t)
	f.queryErr = &APIError{StatusCode: http.StatusBadRequest, Type: "bad_data", Message: "parse error"}
	_, err := Open(t.Context(), f.srv.URL, WithGPUSelector(""))
	var ae *APIError
	if !errors.As(err, &ae) || ae.Type != "bad_data" || ae.Message != "parse error" || ae.Endpoint != "/api/v1/query" {
		t.Fatalf("Open = %v; want the server's *APIError", err)
	}
}

func TestOpenCancelled(t *testing.T) {
	f := cluster(t)
	f.notReady = 1 << 30
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Open(ctx, f.srv.URL, WithGPUSelector(""))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Open = %v; want context.Canceled", err)
	}
}

func TestOptions(t *testing.T) {
	for _, tt := range []struct {
		name string
		url  string
		opts []Option
		want []string
	}{
		{"nil", "http://p:9090", []Option{WithGPUSelector(""), nil}, []string{"nil Option"}},
		{"no selector", "http://p:9090", nil, []string{"neither WithGPUSelector nor WithNodeSelector"}},
		{"bad selectors", "http://p:9090", []Option{WithGPUSelector(`pod=x`), WithNodeSelector(`__name__="up"`)},
			[]string{"WithGPUSelector(\"pod=x\")", "WithNodeSelector"}},
		{"durations", "http://p:9090", []Option{WithGPUSelector(""), WithQueryTimeout(0), WithStartTimeout(-1)},
			[]string{"WithQueryTimeout(0s)", "WithStartTimeout(-1ns)"}},
		{"client", "http://p:9090", []Option{WithGPUSelector(""), WithHTTPClient(nil)}, []string{"WithHTTPClient: nil client"}},
		{"url", "p:9090", []Option{WithGPUSelector("")}, []string{"base URL"}},
		{"url with query", "http://p:9090/?x=1", []Option{WithGPUSelector("")}, []string{"without query"}},
		{"url and option", "ftp://p", []Option{WithQueryTimeout(0), WithGPUSelector("")}, []string{"base URL", "WithQueryTimeout"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(t.Context(), tt.url, tt.opts...)
			if !errors.Is(err, ErrInvalidOption) {
				t.Fatalf("Open = %v; want ErrInvalidOption", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestSampleResetAndVanish: GPU 0's counter restarts from 0 (a driver
// reload) and GPU 1's series end (its pod gone) during sampling.
func TestSampleResetAndVanish(t *testing.T) {
	f := newFakeProm(t)
	start := epoch.Add(time.Minute)
	reset := start.Add(4500 * time.Millisecond)
	vanish := start.Add(6 * time.Second)
	f.add(dcgmLabels("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 0), epoch, epoch.Add(10*time.Minute), time.Second, func(t time.Time) float64 {
		if t.Before(reset) {
			return 1e9 + 400e3*t.Sub(epoch).Seconds()
		}
		return 400e3 * t.Sub(reset).Seconds()
	})
	f.addGPU(1, 300, epoch, vanish)
	s, clk := openAt(t, f, start, 0, WithGPUSelector(""))
	var readings [][]sampler.DeviceReading
	for i := range 12 {
		clk.set(start.Add(time.Duration(i)*time.Second + 200*time.Millisecond))
		got, err := s.Sample(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		readings = append(readings, got)
	}
	// GPU 0's energy grows by 400 J a second throughout: the reset is
	// bridged.
	first, last := readings[0][0], readings[11][0]
	near(t, "gpu0 growth over 11 s", last.EnergyJ-first.EnergyJ, 400*11)
	for i := 1; i < len(readings); i++ {
		if readings[i][0].EnergyJ < readings[i-1][0].EnergyJ {
			t.Errorf("tick %d: energy went down", i)
		}
	}
	// GPU 1 is read until its series has missed two scrapes, then left out.
	var gpu1 []int
	for i, rs := range readings {
		if slices.ContainsFunc(rs, func(r sampler.DeviceReading) bool { return r.Device == "gpu-node-1/gpu1" }) {
			gpu1 = append(gpu1, i)
		}
	}
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4, 5, 6, 7, 8}, gpu1); diff != "" {
		t.Errorf("ticks reading gpu1 (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if diff := cmp.Diff(map[string]int64{"gpu-node-1/gpu0": 1}, st.CounterResets); diff != "" {
		t.Errorf("CounterResets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int64{"gpu-node-1/gpu1": 3}, st.StaleTicks); diff != "" {
		t.Errorf("StaleTicks (-want +got):\n%s", diff)
	}
}

func TestSampleQueryFails(t *testing.T) {
	f := cluster(t)
	s, _ := openAt(t, f, epoch.Add(time.Minute), 0, WithGPUSelector(""))
	f.mu.Lock()
	f.queryErr = &APIError{StatusCode: http.StatusServiceUnavailable, Type: "unavailable", Message: "overloaded"}
	f.mu.Unlock()
	_, err := s.Sample(t.Context(), nil)
	var ae *APIError
	if !errors.As(err, &ae) || ae.Type != "unavailable" {
		t.Fatalf("Sample = %v; want the server's *APIError", err)
	}
	if st := s.Stats(); st.Failures != 1 || !errors.As(st.LastErr, &ae) {
		t.Errorf("stats %+v", st)
	}
}

func TestClosed(t *testing.T) {
	f := cluster(t)
	s, _ := openAt(t, f, epoch.Add(time.Minute), 0, WithGPUSelector(""))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sample(t.Context(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Sample after Close = %v", err)
	}
	if _, err := s.WindowEnergy(t.Context(), epoch, epoch.Add(time.Second)); !errors.Is(err, ErrClosed) {
		t.Errorf("WindowEnergy after Close = %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestHeldCounterNoted(t *testing.T) {
	f := newFakeProm(t)
	// Updated every 5 s, scraped every second.
	f.add(dcgmLabels("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 0), epoch, epoch.Add(10*time.Minute), time.Second, func(t time.Time) float64 {
		return 400e3 * float64(t.Sub(epoch).Truncate(5*time.Second).Seconds())
	})
	s, _ := openAt(t, f, epoch.Add(time.Minute), 0, WithGPUSelector(""))
	notes := strings.Join(s.Describe().Notes, "\n")
	if !strings.Contains(notes, "gpu-node-1/gpu0: the exporter updates the energy counter only about every 5s while Prometheus samples it every 1s") {
		t.Errorf("notes:\n%s", notes)
	}
}

func TestDuplicateSeries(t *testing.T) {
	f := newFakeProm(t)
	end := epoch.Add(10 * time.Minute)
	f.addGPU(0, 400, epoch, end)
	f.addGPU(0, 400, epoch, end, "job", "dcgm-podmonitor")
	s, _ := openAt(t, f, epoch.Add(time.Minute), 0, WithGPUSelector(""))
	if n := len(s.Describe().Devices); n != 1 {
		t.Errorf("%d devices; want 1", n)
	}
	if notes := strings.Join(s.Describe().Notes, "\n"); !strings.Contains(notes, "several energy series feed one device; the first is read") {
		t.Errorf("notes:\n%s", notes)
	}
	got, err := s.Sample(t.Context(), nil)
	if err != nil || len(got) != 1 || got[0].PowerW != 400 {
		t.Errorf("Sample = %+v, %v", got, err)
	}
}

func TestWindowEnergy(t *testing.T) {
	for _, closed := range []bool{true, false} {
		name := map[bool]string{true: "ranges include their start (2.x)", false: "ranges exclude their start (3.x)"}[closed]
		t.Run(name, func(t *testing.T) {
			f := newFakeProm(t)
			start := epoch.Add(time.Minute)
			reset := start.Add(5300 * time.Millisecond)
			f.closedRange = closed
			f.addGPU(0, 400, epoch, epoch.Add(10*time.Minute))
			f.add(dcgmLabels("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 1), epoch, epoch.Add(10*time.Minute), time.Second, func(t time.Time) float64 {
				if t.Before(reset) {
					return 1e9 + 300e3*t.Sub(epoch).Seconds()
				}
				return 300e3 * t.Sub(reset).Seconds()
			})
			f.addGPU(2, 200, epoch, start.Add(6*time.Second))
			f.add(map[string]string{"__name__": "up", "job": "dcgm", "instance": "10.0.0.7:9400"}, epoch, epoch.Add(10*time.Minute), time.Second,
				func(time.Time) float64 { return 1 })
			f.addRAPL("gpu-node-1", 80, 10, epoch, epoch.Add(10*time.Minute))
			s, clk := openAt(t, f, start, 0, WithGPUSelector(""), WithNodeSelector(""))
			clk.set(start.Add(time.Minute))
			for _, w := range []struct{ t0, t1 time.Duration }{
				{time.Second, 11 * time.Second},                     // edges on samples
				{1300 * time.Millisecond, 10700 * time.Millisecond}, // edges between samples
			} {
				des, err := s.WindowEnergy(t.Context(), start.Add(w.t0), start.Add(w.t1))
				if err != nil {
					t.Fatal(err)
				}
				win := w.t1 - w.t0
				by := map[string]sampler.DeviceEnergy{}
				for _, de := range des {
					by[de.Device] = de
				}
				near(t, "gpu0", by["gpu-node-1/gpu0"].EnergyJ, 400*win.Seconds())
				near(t, "gpu1 across its reset", by["gpu-node-1/gpu1"].EnergyJ, 300*win.Seconds())
				near(t, "package", by["gpu-node-1:9100/package-0"].EnergyJ, 80*win.Seconds())
				if c := by["gpu-node-1/gpu0"].Covered; c != win || len(by["gpu-node-1/gpu0"].Warnings) != 0 {
					t.Errorf("gpu0 covered %v, warnings %q", c, by["gpu-node-1/gpu0"].Warnings)
				}
				if ws := strings.Join(by["gpu-node-1/gpu1"].Warnings, "\n"); !strings.Contains(ws, "reset 1 times in the window (seen at") {
					t.Errorf("gpu1 warnings %q", ws)
				}
				gone := by["gpu-node-1/gpu2"]
				near(t, "gpu2 until it ended", gone.EnergyJ, 200*(6*time.Second-w.t0).Seconds())
				if gone.Covered != 6*time.Second-w.t0 {
					t.Errorf("gpu2 covered %v; want %v", gone.Covered, 6*time.Second-w.t0)
				}
				if ws := strings.Join(gone.Warnings, "\n"); !strings.Contains(ws, "s before the window's end") || !strings.Contains(ws, "its target dcgm/10.0.0.7:9400 is up: the series itself is gone") {
					t.Errorf("gpu2 warnings %q", ws)
				}
			}
			if _, err := s.WindowEnergy(t.Context(), start, start); err == nil {
				t.Error("an empty window gave no error")
			}
		})
	}
}

// TestWindowEnergyWaits: asked right at the window's end, WindowEnergy
// waits for a sample past it, then interpolates.
func TestWindowEnergyWaits(t *testing.T) {
	f := cluster(t)
	start := epoch.Add(time.Minute)
	s, clk := openAt(t, f, start, 0, WithGPUSelector(`pod="vllm-0"`))
	end := start.Add(10500 * time.Millisecond)
	clk.mu.Lock()
	clk.t, clk.step = end, 100*time.Millisecond
	clk.mu.Unlock()
	des, err := s.WindowEnergy(t.Context(), start, end)
	if err != nil {
		t.Fatal(err)
	}
	near(t, "gpu0", des[0].EnergyJ, 400*10.5)
	if len(des[0].Warnings) != 0 {
		t.Errorf("warnings %q", des[0].Warnings)
	}
	if now := clk.now(); now.Before(end.Add(500 * time.Millisecond)) {
		t.Errorf("WindowEnergy returned at %v past the end, before a sample past it", now.Sub(end))
	}

}

// TestWindowEnergyExtrapolates: when no sample past the window's end lands
// in time (the series' last sample is 0.7 s before it, then scrapes stop),
// the last stretch is extrapolated, and said so.
func TestWindowEnergyExtrapolates(t *testing.T) {
	f := newFakeProm(t)
	start := epoch.Add(time.Minute)
	f.addGPU(0, 400, epoch, start.Add(12*time.Second))
	s, clk := openAt(t, f, start, 0, WithGPUSelector(""))
	clk.set(start.Add(15 * time.Second))
	des, err := s.WindowEnergy(t.Context(), start, start.Add(12700*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	near(t, "gpu0 extrapolated", des[0].EnergyJ, 400*12.7)
	if ws := strings.Join(des[0].Warnings, "\n"); !strings.Contains(ws, "its last 0.7 s are extrapolated") {
		t.Errorf("warnings %q", ws)
	}
}

func TestWindowEnergyNoCounter(t *testing.T) {
	f := newFakeProm(t)
	f.add(dcgmLabels("DCGM_FI_DEV_POWER_USAGE", 0), epoch, epoch.Add(10*time.Minute), time.Second, func(time.Time) float64 { return 400 })
	s, _ := openAt(t, f, epoch.Add(time.Minute), 0, WithGPUSelector(""))
	des, err := s.WindowEnergy(t.Context(), epoch, epoch.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(des) != 1 || !math.IsNaN(des[0].EnergyJ) || !strings.Contains(des[0].Warnings[0], "no energy counter") {
		t.Errorf("WindowEnergy = %+v", des)
	}
}
