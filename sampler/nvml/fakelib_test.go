//go:build linux && cgo

package nvml

// Tests of the real cgo path: the package's binding (dl.go) loads
// testdata/fakenvml, a fake libnvidia-ml.so.1 built here with the C
// compiler, through WithLibraryPath.
//
// Each variant of the fake (built with different -D flags) is built once
// per test process, in a directory of its own: the binding dlopens a
// library by path and resolves its functions per library, so variants
// load side by side, and a library stays loaded once loaded (see
// TestRealLibraryReopen). Tests configure the fake through FAKENVML_*
// variables, which it reads at each nvmlInit.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

var fakeBuild struct {
	sync.Mutex
	dir   string
	libs  map[string]string
	errs  map[string]error
	skips map[string]string
}

// buildFake compiles the fake library with extra C flags (-D…) and returns
// its path; it skips the test when there is no C compiler.
func buildFake(t testing.TB, cflags ...string) string {
	t.Helper()
	fakeBuild.Lock()
	defer fakeBuild.Unlock()
	key := strings.Join(cflags, " ")
	if p, ok := fakeBuild.libs[key]; ok {
		return p
	}
	if msg, ok := fakeBuild.skips[key]; ok {
		t.Skip(msg)
	}
	if err, ok := fakeBuild.errs[key]; ok {
		t.Fatal(err)
	}
	if fakeBuild.libs == nil {
		fakeBuild.libs, fakeBuild.errs, fakeBuild.skips = map[string]string{}, map[string]error{}, map[string]string{}
	}
	cc := os.Getenv("CC")
	if cc == "" {
		cc = "gcc"
	}
	if _, err := exec.LookPath(cc); err != nil {
		fakeBuild.skips[key] = fmt.Sprintf("no C compiler (%s) to build the fake libnvidia-ml.so.1, so the real cgo path is untested: %v", cc, err)
		t.Skip(fakeBuild.skips[key])
	}
	if fakeBuild.dir == "" {
		dir, err := os.MkdirTemp("", "fakenvml-")
		if err != nil {
			t.Fatal(err)
		}
		fakeBuild.dir = dir
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
	}
	sub := filepath.Join(fakeBuild.dir, strconv.Itoa(len(fakeBuild.libs)))
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	lib := filepath.Join(sub, "libnvidia-ml.so.1")
	args := append([]string{"-shared", "-fPIC", "-O2", "-Wall", "-o", lib}, cflags...)
	args = append(args, filepath.Join("testdata", "fakenvml", "fakenvml.c"), "-lm")
	if out, err := exec.Command(cc, args...).CombinedOutput(); err != nil {
		fakeBuild.errs[key] = fmt.Errorf("building the fake NVML: %s %s: %v\n%s", cc, strings.Join(args, " "), err, out)
		t.Fatal(fakeBuild.errs[key])
	}
	fakeBuild.libs[key] = lib
	return lib
}

// fakeEnv sets every FAKENVML_ variable: the given values, and empty (the
// fake's default) for the others.
func fakeEnv(t testing.TB, vars map[string]string) {
	for _, k := range []string{"GPUS", "LATENCY_US", "LATENCY_SPIN", "POWER", "GPU_STEP_W", "EPOCH_UNIX_NS",
		"SENSOR_PERIOD_US", "ENERGY_OFFSET_MJ", "ENERGY_RESET_MS", "UNSUPPORTED", "FAIL", "FAIL_RETURN",
		"INIT_RETURN", "DRIVER", "CUDA", "CALL_LOG", "PROCS", "PROCESS_STRIDE", "HANG", "HANG_AFTER_MS"} {
		t.Setenv("FAKENVML_"+k, "")
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
}

// squareWave is the true power of the fake: segments of (watts, duration)
// repeated from the epoch, plus stepW per GPU index.
type squareWave struct {
	segs  []struct{ w, ms float64 }
	stepW float64
}

func (q squareWave) String() string {
	var parts []string
	for _, s := range q.segs {
		parts = append(parts, fmt.Sprintf("%g:%g", s.w, s.ms))
	}
	return strings.Join(parts, ",")
}

// energy is the exact integral of GPU gpu's power over [0, t], in joules.
func (q squareWave) energy(gpu int, t time.Duration) float64 {
	var cycle, cycleJ float64
	for _, s := range q.segs {
		cycle += s.ms / 1000
		cycleJ += s.w * s.ms / 1000
	}
	sec := t.Seconds()
	n := math.Floor(sec / cycle)
	e := n * cycleJ
	rest := sec - n*cycle
	for _, s := range q.segs {
		d := math.Min(rest, s.ms/1000)
		e += s.w * d
		rest -= d
		if rest <= 0 {
			break
		}
	}
	return e + q.stepW*float64(gpu)*sec
}

// TestRealLibraryEightGPUsAt10ms runs the scheduler at 10 ms for 2 s over 8
// fake GPUs whose every NVML call takes 100 µs, and checks the sample rate,
// the achieved interval, and the energy against the scripted truth.
func TestRealLibraryEightGPUsAt10ms(t *testing.T) {
	lib := buildFake(t)
	wave := squareWave{segs: []struct{ w, ms float64 }{{150, 50}, {400, 50}}, stepW: 10}
	epoch := time.Now()
	fakeEnv(t, map[string]string{
		"FAKENVML_GPUS":             "8",
		"FAKENVML_LATENCY_US":       "100",
		"FAKENVML_POWER":            wave.String(),
		"FAKENVML_GPU_STEP_W":       "10",
		"FAKENVML_SENSOR_PERIOD_US": "20000",
		"FAKENVML_EPOCH_UNIX_NS":    strconv.FormatInt(epoch.UnixNano(), 10),
	})
	opened := time.Now()
	s, err := Open(WithLibraryPath(lib)) // default 300 ms probe, 100 ms slow interval
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	t.Logf("Open took %v (300 ms of it the sensor probe)", time.Since(opened).Round(time.Millisecond))

	const (
		interval = 10 * time.Millisecond
		duration = 2 * time.Second
	)
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	origin := time.Now()
	var rs []sampler.Reading
	timed := &timedSampler{Sampler: s}
	st, err := sampler.Run(ctx, timed, interval, origin, func(r sampler.Reading) { rs = append(rs, r) })
	if err != nil {
		t.Fatal(err)
	}
	offset := origin.Sub(epoch) // reading At → the fake's time
	// Timing-dependent checks (the schedule, the sensor period measured by
	// polling, the cadence of slow reads, the power integral over the
	// achieved ticks) are asserted only where this machine held the
	// schedule, or a no-op sampler shows it could; correctness checks
	// always are, with bounds computed from what the run measured.
	timing := ratio(st, duration, interval) >= 0.95 && st.IntervalP99 <= 15*time.Millisecond
	var ctl sampler.Stats
	if !timing {
		ctl = controlRun(t, interval, time.Second)
		timing = ctl.IntervalP99 <= 11*time.Millisecond && ctl.Missed == 0
		if !timing {
			t.Logf("this machine is too loaded for a 10 ms schedule (a no-op sampler got p99 %v and %d missed ticks): timing checks are logged, not asserted",
				ctl.IntervalP99, ctl.Missed)
		}
	}
	check := func(ok bool, format string, args ...any) {
		t.Helper()
		switch {
		case ok:
		case timing:
			t.Errorf(format, args...)
		default:
			t.Logf("(not asserted on a loaded machine) "+format, args...)
		}
	}

	// The instrument.
	want := int64(duration / interval)
	ratio := ratio(st, duration, interval)
	var ivs []float64
	for i := 1; i < len(rs); i++ {
		ivs = append(ivs, float64(rs[i].At-rs[i-1].At))
	}
	slices.Sort(ivs)
	t.Logf("readings %d of %d (%.1f%%), missed %d, errors %d; interval mean %v p50 %v p99 %v max %v; read mean %v p99 %v",
		st.Readings, want, 100*ratio, st.Missed, st.Errors, st.IntervalMean, st.IntervalP50, st.IntervalP99,
		time.Duration(ivs[len(ivs)-1]), st.ReadMean, st.ReadP99)
	if st.Errors != 0 {
		t.Errorf("%d failed ticks: %s", st.Errors, st.LastError)
	}

	// Energy: the counter against the scripted truth, and the integral of
	// the power readings.
	first, last := rs[0], rs[len(rs)-1]
	var worstCounter, worstPower float64
	for g := range 8 {
		truth := wave.energy(g, offset+last.At) - wave.energy(g, offset+first.At)
		counter := last.Devices[g].EnergyJ - first.Devices[g].EnergyJ
		var integral float64
		for i := 1; i < len(rs); i++ {
			a, b := rs[i-1].Devices[g].PowerW, rs[i].Devices[g].PowerW
			integral += (a + b) / 2 * (rs[i].At - rs[i-1].At).Seconds()
		}
		ce, pe := (counter-truth)/truth, (integral-truth)/truth
		worstCounter, worstPower = max(worstCounter, math.Abs(ce)), max(worstPower, math.Abs(pe))
		if g == 0 || g == 7 {
			t.Logf("gpu%d: truth %.2f J, counter %.2f J (%+.3f%%), power integral %.2f J (%+.3f%%)", g, truth, counter, 100*ce, integral, 100*pe)
		}
		// The counter is read somewhere inside the first and the last
		// Sample call, whose midpoints are the readings' times: the truth at
		// those times may differ by the power times half of each call.
		skew := 400 * (timed.durations[0] + timed.durations[len(timed.durations)-1]).Seconds() / 2
		if math.Abs(counter-truth) > 0.01*truth+skew {
			t.Errorf("gpu%d: counter energy %.2f J vs truth %.2f J: %+.2f%% (allowed 1%% + %.2f J of read skew)", g, counter, truth, 100*ce, skew)
		}
		// The power trace is a 20 ms sensor average, held, and sampled every
		// 10 ms: its integral carries an error at every change of the held
		// value (about ±1 % over 2 s, measured) where the counter is exact.
		check(math.Abs(pe) <= 0.05, "gpu%d: power integral %.2f J vs truth %.2f J: %+.2f%%", g, integral, truth, 100*pe)
	}
	t.Logf("worst over 8 GPUs: counter %.3f%%, power integral %.3f%%", 100*worstCounter, 100*worstPower)

	// Values, cadence and description.
	slowTicks := 0
	for _, r := range rs {
		if len(r.Devices) != 8 {
			t.Fatalf("tick %d: %d devices", r.Tick, len(r.Devices))
		}
		if sampler.Has(r.Devices[0].SMClockMHz) {
			slowTicks++
		}
		for g, d := range r.Devices {
			if d.Device != fmt.Sprintf("gpu%d", g) || !sampler.Has(d.PowerW) ||
				!sampler.Has(d.UtilPct) || d.MemUsedBytes != float64(uint64(g+1)<<30) {
				t.Fatalf("tick %d: reading %+v", r.Tick, d)
			}
			// The energy counter keeps the slow values' cadence (both 100 ms).
			if sampler.Has(d.EnergyJ) != sampler.Has(d.SMClockMHz) {
				t.Fatalf("tick %d: energy and slow values out of step: %+v", r.Tick, d)
			}
			if sampler.Has(d.SMClockMHz) && (d.SMClockMHz != 1980 || d.MemClockMHz != 2619 || d.TempC != float64(40+g) || !d.HasClockEvents) {
				t.Fatalf("tick %d: slow values %+v", r.Tick, d)
			}
		}
	}
	if slowTicks == 0 {
		t.Errorf("no slow reads in 2 s at 100 ms")
	}
	check(slowTicks >= 17 && slowTicks <= 22, "%d slow reads in 2 s at 100 ms", slowTicks)
	for _, d := range s.Describe().Devices {
		if d.PowerAveraged {
			t.Errorf("%+v: want instant power", d)
		}
		check(d.SensorPeriod >= 17*time.Millisecond && d.SensorPeriod <= 23*time.Millisecond, "%+v: want a ~20 ms sensor period", d)
	}
	t.Logf("notes: %q", s.Describe().Notes)
	for _, h := range s.Health() {
		if h.FieldErrors != nil || h.EnergyResets != 0 {
			t.Errorf("health %+v", h)
		}
	}

	// The schedule. The p99 is 10.2-10.3 ms on the quiet 2-core
	// development machine (GOMAXPROCS=2), 10.05 ms for a no-op sampler;
	// the bound here is loose so that a shared CI machine passes, and the
	// figure itself is BenchmarkSchedule8GPUsAt10ms's (docs/BENCHMARKS.md).
	// (That the GPUs are read in parallel is TestGPUsReadInParallel's job.)
	check(ratio >= 0.95, "%d readings in %v at %v: %.1f%% < 95%% (a no-op sampler: p99 %v)", st.Readings, duration, interval, 100*ratio, ctl.IntervalP99)
	check(st.IntervalP99 <= 15*time.Millisecond, "achieved interval p99 %v > 15ms (a no-op sampler: p99 %v)", st.IntervalP99, ctl.IntervalP99)
}

// ratio is the share of the ticks due in d that were read.
func ratio(st sampler.Stats, d, interval time.Duration) float64 {
	return float64(st.Readings) / float64(int64(d/interval))
}

// timedSampler records how long each Sample call took.
type timedSampler struct {
	sampler.Sampler
	durations []time.Duration
}

func (s *timedSampler) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	return s.timed(ctx, dst, s.Sampler.Sample)
}

// SampleFull times the wrapped sampler's SampleFull, which sampler.Run
// calls for the closing reading.
func (s *timedSampler) SampleFull(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	return s.timed(ctx, dst, s.Sampler.(sampler.FullSampler).SampleFull)
}

func (s *timedSampler) timed(ctx context.Context, dst []sampler.DeviceReading,
	sample func(context.Context, []sampler.DeviceReading) ([]sampler.DeviceReading, error)) ([]sampler.DeviceReading, error) {
	start := time.Now()
	out, err := sample(ctx, dst)
	if err == nil {
		s.durations = append(s.durations, time.Since(start))
	}
	return out, err
}

// noopSampler returns at once; it measures what the machine's scheduling
// allows.
type noopSampler struct{}

func (noopSampler) Name() string { return "noop" }
func (noopSampler) Close() error { return nil }
func (noopSampler) Sample(_ context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	return append(dst, sampler.NewDeviceReading("noop", sampler.KindOther)), nil
}

func controlRun(t *testing.T, interval, d time.Duration) sampler.Stats {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	st, err := sampler.Run(ctx, noopSampler{}, interval, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("control (no-op sampler): %d readings, missed %d, interval p99 %v", st.Readings, st.Missed, st.IntervalP99)
	return st
}

func TestRealLibraryInventoryFallbacksAndResets(t *testing.T) {
	lib := buildFake(t)
	wave := squareWave{segs: []struct{ w, ms float64 }{{200, 1000}}}
	epoch := time.Now()
	fakeEnv(t, map[string]string{
		"FAKENVML_GPUS":            "4",
		"FAKENVML_POWER":           wave.String(),
		"FAKENVML_EPOCH_UNIX_NS":   strconv.FormatInt(epoch.UnixNano(), 10),
		"FAKENVML_ENERGY_RESET_MS": "250",
		"FAKENVML_UNSUPPORTED":     "power_instant,energy_field@1,temperature@0,serial@2,handle@3",
		"FAKENVML_FAIL":            "clock_mem@1,name@2,pci@2,vbios@2",
		"FAKENVML_DRIVER":          "580.65.06",
		"FAKENVML_CUDA":            "13000",
	})
	s, err := Open(WithLibraryPath(lib), WithSensorProbe(0), WithSlowInterval(0), WithDevices("GPU-FA4E0000-0000-4000-8000-000000000001", "0", "2"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	inv := s.Inventory()
	wantInv := Inventory{Driver: "580.65.06", CUDA: "13.0", GPUs: []GPU{
		{0, "GPU-fa4e0000-0000-4000-8000-000000000000", "Fake NVIDIA H100 80GB HBM3", "00000000:18:00.0", "FAKE01650000", "96.00.99.00.00"},
		{1, "GPU-fa4e0000-0000-4000-8000-000000000001", "Fake NVIDIA H100 80GB HBM3", "00000000:28:00.0", "FAKE01650001", "96.00.99.00.01"},
		{2, "GPU-fa4e0000-0000-4000-8000-000000000002", "NVIDIA-GPU-2", "0000:00:02.0", "unknown", "unknown"},
	}}
	if fmt.Sprint(inv) != fmt.Sprint(wantInv) {
		t.Fatalf("inventory\n got %+v\nwant %+v", inv, wantInv)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	origin := time.Now()
	var rs []sampler.Reading
	if _, err := sampler.Run(ctx, s, 10*time.Millisecond, origin, func(r sampler.Reading) { rs = append(rs, r) }); err != nil {
		t.Fatal(err)
	}
	// Close first, so that no read cut off by the end of the run is still
	// counting; Describe and Health work after Close.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	h := s.Health()
	for _, r := range rs {
		d0, d1 := r.Devices[0], r.Devices[1]
		if r.Devices[2].Device != "gpu2" || sampler.Has(d0.TempC) || !sampler.Has(d1.TempC) || sampler.Has(d1.MemClockMHz) || !sampler.Has(d0.MemClockMHz) {
			t.Fatalf("tick %d: readings %+v", r.Tick, r.Devices)
		}
		// The fallback power is the 1-second average: 200 W after the first
		// second, and the average since the epoch before that (200 W too).
		if math.Abs(d0.PowerW-200) > 0.01 {
			t.Fatalf("tick %d: power %v", r.Tick, d0.PowerW)
		}
	}
	info := s.Describe()
	for _, d := range info.Devices {
		if !d.PowerAveraged {
			t.Errorf("%s: PowerAveraged false with FI_DEV_POWER_INSTANT unsupported", d.Device)
		}
	}
	notes := strings.Join(info.Notes, "\n")
	for _, want := range []string{
		"GPU 3 left out: nvmlDeviceGetHandleByIndex: ERROR_NOT_SUPPORTED",
		"gpu0, gpu1, gpu2: power is nvmlDeviceGetPowerUsage",
		"gpu1: energy from nvmlDeviceGetTotalEnergyConsumption",
		"gpu0: not supported, so absent: temperature",
		"gpu1: " + strconv.FormatInt(h[1].Reads, 10) + " failed read(s) of " + strconv.FormatInt(h[1].Reads, 10) + " ticks (mem_clock",
		"gpu0: the energy counter went backwards 1 time(s)",
		"gpu1: the energy counter went backwards 1 time(s)",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	if h[1].FieldErrors[FieldMemClock] != h[1].Reads || h[1].Reads < int64(len(rs)) || !errors.Is(h[1].LastError, ERROR_UNKNOWN) {
		t.Errorf("gpu1 health %+v", h[1])
	}
	// Monotonic across the reset; what is lost is at most the energy
	// between two readings of the counter (100 ms apart by default).
	for g := range 3 {
		prev, prevAt := math.Inf(-1), time.Duration(-1)
		var maxGap time.Duration
		for _, r := range rs {
			e := r.Devices[g].EnergyJ
			if !sampler.Has(e) {
				continue
			}
			if e < prev {
				t.Fatalf("gpu%d: energy decreased at tick %d", g, r.Tick)
			}
			if prevAt >= 0 {
				maxGap = max(maxGap, r.At-prevAt)
			}
			prev, prevAt = e, r.At
		}
		first, last := rs[0], rs[len(rs)-1]
		truth := (last.At - first.At).Seconds() * 200
		got := last.Devices[g].EnergyJ - first.Devices[g].EnergyJ
		// The energy between the last reading before the reset and the
		// reset is lost: at most one gap between the counter's readings,
		// whatever the machine's load made that gap (a read just after a
		// tick is reported with the next, so add one tick).
		maxGap += 10 * time.Millisecond
		if got > truth+0.5 || got < truth-200*maxGap.Seconds()-0.5 {
			t.Errorf("gpu%d: %.2f J across a reset, truth %.2f J (at most one gap of %v, %.2f J, may be lost)", g, got, truth, maxGap, 200*maxGap.Seconds())
		}
		if h[g].EnergyResets != 1 {
			t.Errorf("gpu%d: %d resets", g, h[g].EnergyResets)
		}
	}
}

func TestRealLibraryFailedInitCallsNothingElse(t *testing.T) {
	lib := buildFake(t)
	log := filepath.Join(t.TempDir(), "calls")
	fakeEnv(t, map[string]string{"FAKENVML_INIT_RETURN": "9", "FAKENVML_CALL_LOG": log})
	s, err := Open(WithLibraryPath(lib))
	if s != nil || !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, ERROR_DRIVER_NOT_LOADED) {
		t.Fatalf("Open = %v, %v", s, err)
	}
	t.Logf("error: %v", err)
	if calls, _ := os.ReadFile(log); string(calls) != "nvmlInit_v2\n" {
		t.Fatalf("calls after a failed init:\n%s", calls)
	}

	// The library stays usable; a good Open/Close calls Shutdown once.
	fakeEnv(t, map[string]string{"FAKENVML_CALL_LOG": log, "FAKENVML_GPUS": "2"})
	s, err = Open(WithLibraryPath(lib), WithSensorProbe(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sample(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	calls, _ := os.ReadFile(log)
	if n := strings.Count(string(calls), "nvmlShutdown\n"); n != 1 {
		t.Fatalf("%d nvmlShutdown calls:\n%s", n, calls)
	}
}

func TestRealLibraryMissing(t *testing.T) {
	s, err := Open(WithLibraryPath(filepath.Join(t.TempDir(), "libnvidia-ml.so.1")))
	if s != nil || !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, ERROR_LIBRARY_NOT_FOUND) {
		t.Fatalf("Open = %v, %v", s, err)
	}
	if !strings.Contains(err.Error(), "--gpus") {
		t.Fatalf("no hint in %q", err)
	}
}

// TestRealLibraryReopen opens and closes the library repeatedly. The
// binding never dlcloses NVML (it is not made to be unloaded): the library
// stays mapped after Close, and the next Open loads the same copy again;
// the test checks that.
func TestRealLibraryReopen(t *testing.T) {
	lib := buildFake(t)
	fakeEnv(t, map[string]string{"FAKENVML_GPUS": "3"})
	for i := range 5 {
		s, err := Open(WithLibraryPath(lib), WithSensorProbe(0))
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		rs, err := s.Sample(context.Background(), nil)
		if err != nil || len(rs) != 3 {
			t.Fatalf("Sample %d: %d readings, %v", i, len(rs), err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		maps, err := os.ReadFile("/proc/self/maps")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(maps), lib) {
			t.Fatalf("Close %d unmapped %s", i, lib)
		}
	}
}

// TestRealLibraryLegacyDriver runs, in a child process, a fake library
// that lacks nvmlDeviceGetFieldValues, nvmlDeviceGetTotalEnergyConsumption
// and nvmlDeviceGetCurrentClocksEventReasons, as an old driver would.
// Calling a missing function would kill the process (hence the child): the
// binding must find them missing and answer ERROR_FUNCTION_NOT_FOUND, and
// the sampler fall back.
func TestRealLibraryLegacyDriver(t *testing.T) {
	if lib := os.Getenv("BENCHPROF_FAKENVML_LEGACY"); lib != "" {
		legacyChild(t, lib)
		return
	}
	lib := buildFake(t, "-DFAKENVML_NO_FIELD_VALUES", "-DFAKENVML_NO_TOTAL_ENERGY", "-DFAKENVML_NO_EVENT_REASONS")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRealLibraryLegacyDriver$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), "BENCHPROF_FAKENVML_LEGACY="+lib)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestRealLibraryLegacyDriver") {
		t.Fatalf("child: %v\n%s", err, out)
	}
}

func legacyChild(t *testing.T, lib string) {
	fakeEnv(t, map[string]string{"FAKENVML_GPUS": "2", "FAKENVML_POWER": "250:1000"})
	s, err := Open(WithLibraryPath(lib), WithSensorProbe(50*time.Millisecond), WithSlowInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.Sample(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range rs {
		if math.Abs(d.PowerW-250) > 0.01 || sampler.Has(d.EnergyJ) || !d.HasClockEvents || d.ClockEventReasons != 0 {
			t.Fatalf("reading %+v", d)
		}
	}
	notes := strings.Join(s.Describe().Notes, "\n")
	for _, want := range []string{
		"gpu0, gpu1: power is nvmlDeviceGetPowerUsage, which Ampere and later GPUs average over 1 s (NVML documentation), so it lags and smooths the load; the energy counter is not affected (the driver's NVML lacks nvmlDeviceGetFieldValues)",
		"gpu0, gpu1: no energy counter",
		"gpu0, gpu1: clock-event reasons from the older nvmlDeviceGetCurrentClocksThrottleReasons",
	} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes lack %q:\n%s", want, notes)
		}
	}
	for _, d := range s.Describe().Devices {
		if !d.PowerAveraged {
			t.Errorf("%+v", d)
		}
	}
}

// TestRealLibraryProcesses lists processes through each version of the
// process functions that the binding may find (_v3, _v2, the first), and
// through a _v3 that writes the 32-byte entries of some R535 drivers: each
// must give the same processes. gpu0 runs 40, more than the binding's
// first buffer holds, so its list is read again at the size NVML asks for.
// A library without the functions still opens and samples.
func TestRealLibraryProcesses(t *testing.T) {
	var procs []string
	var want0 []Process
	for i := range 40 {
		pid := 1000 + 7*i
		procs = append(procs, fmt.Sprintf("0:%d:c:%d", pid, i+1))
		want0 = append(want0, Process{PID: pid, Compute: true, UsedMemoryBytes: int64(i+1) << 20, GPUInstance: -1, ComputeInstance: -1})
	}
	procs = append(procs, "1:4242:cg:2048", "1:77:g")
	want1 := []Process{
		{PID: 77, Graphics: true, UsedMemoryBytes: -1, GPUInstance: -1, ComputeInstance: -1},
		{PID: 4242, Compute: true, Graphics: true, UsedMemoryBytes: 2048 << 20, GPUInstance: -1, ComputeInstance: -1},
	}
	const compute = "nvmlDeviceGetComputeRunningProcesses"
	for _, tc := range []struct {
		name   string
		cflags []string
		stride string // FAKENVML_PROCESS_STRIDE
		call   string // the compute function the binding must call
		want   Return // SUCCESS, or what gpu0's Err wraps
	}{
		{"v3", nil, "", compute + "_v3", SUCCESS},
		{"v3 writing 32-byte entries", nil, "32", compute + "_v3", SUCCESS},
		{"v2", []string{"-DFAKENVML_NO_PROCESSES_V3"}, "", compute + "_v2", SUCCESS},
		{"v1", []string{"-DFAKENVML_NO_PROCESSES_V3", "-DFAKENVML_NO_PROCESSES_V2"}, "", compute, SUCCESS},
		{"unknown entry size", nil, "40", compute + "_v3", ERROR_ARGUMENT_VERSION_MISMATCH},
		{"no process functions", []string{"-DFAKENVML_NO_PROCESSES"}, "", "", ERROR_FUNCTION_NOT_FOUND},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib := buildFake(t, tc.cflags...)
			log := filepath.Join(t.TempDir(), "calls")
			fakeEnv(t, map[string]string{
				"FAKENVML_GPUS":           "3",
				"FAKENVML_PROCS":          strings.Join(procs, ","),
				"FAKENVML_PROCESS_STRIDE": tc.stride,
				"FAKENVML_UNSUPPORTED":    "graphics_procs@2",
				"FAKENVML_CALL_LOG":       log,
			})
			s, err := Open(WithLibraryPath(lib), WithSensorProbe(0))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if rs, err := s.Sample(context.Background(), nil); err != nil || len(rs) != 3 {
				t.Fatalf("Sample: %d readings, %v", len(rs), err)
			}
			got, err := s.Processes()
			if err != nil || len(got) != 3 {
				t.Fatalf("Processes: %d GPUs, %v", len(got), err)
			}
			calls, _ := os.ReadFile(log)
			for _, fn := range []string{compute + "_v3", compute + "_v2", compute} {
				if called := slices.Contains(strings.Split(string(calls), "\n"), fn); called != (fn == tc.call) {
					t.Errorf("%s called: %v; want only %q", fn, called, tc.call)
				}
			}
			if tc.want != SUCCESS {
				if g := got[0]; !errors.Is(g.Err, tc.want) || len(g.Processes) != 0 {
					t.Fatalf("gpu0: %+v; want no processes and an error wrapping %v", g, tc.want)
				}
				t.Logf("gpu0: %v", got[0].Err)
				return
			}
			for i, want := range [][]Process{want0, want1, nil} {
				if g := got[i]; g.Err != nil || g.Index != i || fmt.Sprint(g.Processes) != fmt.Sprint(want) {
					t.Errorf("gpu%d: %+v\nwant processes %+v", i, g, want)
				}
			}
			// DeviceProcesses: the same lists by reading name.
			dp, err := s.DeviceProcesses()
			if err != nil || len(dp) != 3 || dp[1].Device != "gpu1" || !slices.Equal(dp[1].PIDs, []int{77, 4242}) {
				t.Errorf("DeviceProcesses: %+v, %v", dp, err)
			}
		})
	}
}

// TestRealLibraryHungGPU: a GPU whose NVML calls stop returning (fallen
// off the bus) must not hang the sampler's caller. Sampling ends with its
// context, Close returns within its bound naming the GPU, and a process
// listing that hangs returns an error instead of blocking its caller.
//
// The hung calls leave goroutines blocked in the fake driver for good, so
// the test runs in a child process of its own (this process checks for
// leaked goroutines when its tests end).
func TestRealLibraryHungGPU(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out the 2 s and 5 s bounds")
	}
	if !inHungChild(t) {
		return
	}
	lib := buildFake(t)
	fakeEnv(t, map[string]string{
		"FAKENVML_GPUS":          "2",
		"FAKENVML_HANG":          "utilization@1,compute_procs@0",
		"FAKENVML_HANG_AFTER_MS": "300",
	})
	s, err := Open(WithLibraryPath(lib), WithSensorProbe(0))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	var last sampler.Reading
	start := time.Now()
	st, err := sampler.Run(ctx, s, 10*time.Millisecond, start, func(r sampler.Reading) { last = r })
	if err != nil {
		t.Fatal(err)
	}
	ran := time.Since(start)
	if ran > 3*time.Second {
		t.Errorf("sampling a hung GPU for 1 s took %v", ran)
	}
	// The readings stop when gpu1 hangs (about 300 ms in): the ticks after
	// that wait for it until the context ends.
	if st.Readings == 0 || last.At > 600*time.Millisecond {
		t.Errorf("%d readings, the last at %v; want them to stop about 300 ms in", st.Readings, last.At)
	}

	begin := time.Now()
	_, err = s.Processes()
	if took := time.Since(begin); !errors.Is(err, ErrNotResponding) || took > processesWait+time.Second {
		t.Errorf("Processes with a hung GPU: %v after %v; want ErrNotResponding after %v", err, took, processesWait)
	}

	begin = time.Now()
	err = s.Close()
	took := time.Since(begin)
	if !errors.Is(err, ErrNotResponding) || !strings.Contains(err.Error(), "gpu1") || took > closeWait+time.Second {
		t.Errorf("Close with a hung GPU: %v after %v; want ErrNotResponding naming gpu1 after about %v", err, took, closeWait)
	}
	if again := s.Close(); again != err {
		t.Errorf("second Close: %v; want the first's result", again)
	}
	t.Logf("Close: %v", err)
}

// inHungChild runs the calling test again in a child process, without the
// leak check (its hung calls leave goroutines in the fake driver on
// purpose), and reports false; in that child it reports true.
func inHungChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv(hungChildEnv) != "" {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), hungChildEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child running %s failed: %v\n%s", t.Name(), err, out)
	}
	t.Logf("child:\n%s", out)
	return false
}

// TestRealLibraryHungOpen: a driver that hangs while Open lists the GPUs
// makes Open fail, unavailable, once WithOpenTimeout has passed.
func TestRealLibraryHungOpen(t *testing.T) {
	if !inHungChild(t) {
		return
	}
	lib := buildFake(t)
	fakeEnv(t, map[string]string{
		"FAKENVML_GPUS": "2",
		"FAKENVML_HANG": "name@1",
	})
	start := time.Now()
	s, err := Open(WithLibraryPath(lib), WithSensorProbe(0), WithOpenTimeout(500*time.Millisecond))
	took := time.Since(start)
	if s != nil || !errors.Is(err, ErrNotResponding) || !errors.Is(err, sampler.ErrUnavailable) || took > 1500*time.Millisecond {
		t.Fatalf("Open with a hung driver: %v, %v after %v; want ErrUnavailable and ErrNotResponding after 500ms", s, err, took)
	}
	t.Logf("Open: %v", err)
}
