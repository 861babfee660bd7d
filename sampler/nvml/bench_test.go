//go:build linux && cgo

package nvml

import (
	"context"
	"encoding/binary"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// fastLib is a minimal NVML in Go for benchmarks and the memory test: unlike
// fakeLib, it records nothing per call, so whatever memory grows is the
// sampler's. Methods it does not implement panic (the embedded interfaces
// are nil).
type fastLib struct {
	Library
	devs []*fastDevice
}

type fastDevice struct {
	Device
	index  int
	energy uint64
	delay  time.Duration // every sampling call takes this long
}

func (d *fastDevice) wait() {
	if d.delay > 0 {
		time.Sleep(d.delay)
	}
}

func newFastLib(n int) *fastLib {
	l := &fastLib{}
	for i := range n {
		l.devs = append(l.devs, &fastDevice{index: i, energy: 1e9})
	}
	return l
}

func (l *fastLib) Init() Return                     { return SUCCESS }
func (l *fastLib) Shutdown() Return                 { return SUCCESS }
func (l *fastLib) DeviceCount() (int, Return)       { return len(l.devs), SUCCESS }
func (l *fastLib) DriverVersion() (string, Return)  { return "550.54.15", SUCCESS }
func (l *fastLib) CUDADriverVersion() (int, Return) { return 12040, SUCCESS }
func (l *fastLib) DeviceByIndex(i int) (Device, Return) {
	return l.devs[i], SUCCESS
}

func (d *fastDevice) UUID() (string, Return) {
	return "GPU-00000000-0000-0000-0000-00000000000" + strconv.Itoa(d.index), SUCCESS
}
func (d *fastDevice) Name() (string, Return)         { return "fast", SUCCESS }
func (d *fastDevice) PCIInfo() (PCIInfo, Return)     { return PCIInfo{}, SUCCESS }
func (d *fastDevice) Serial() (string, Return)       { return "1", SUCCESS }
func (d *fastDevice) VBIOSVersion() (string, Return) { return "1", SUCCESS }
func (d *fastDevice) FieldValues(vs []FieldValue) Return {
	d.wait()
	for i := range vs {
		v := &vs[i]
		v.Return = SUCCESS
		switch v.FieldID {
		case FI_DEV_POWER_INSTANT:
			v.ValueType = VALUE_TYPE_UNSIGNED_INT
			binary.NativeEndian.PutUint32(v.Value[:], 300_000)
		case FI_DEV_TOTAL_ENERGY_CONSUMPTION:
			d.energy += 3000
			v.ValueType = VALUE_TYPE_UNSIGNED_LONG_LONG
			binary.NativeEndian.PutUint64(v.Value[:], d.energy)
		}
	}
	return SUCCESS
}
func (d *fastDevice) UtilizationRates() (Utilization, Return) {
	d.wait()
	return Utilization{GPU: 90, Memory: 40}, SUCCESS
}
func (d *fastDevice) MemoryInfo() (Memory, Return) {
	d.wait()
	return Memory{Total: 80 << 30, Used: 60 << 30}, SUCCESS
}
func (d *fastDevice) ClockInfo(ClockType) (uint32, Return) {
	d.wait()
	return 1980, SUCCESS
}
func (d *fastDevice) Temperature(TemperatureSensor) (uint32, Return) {
	d.wait()
	return 60, SUCCESS
}
func (d *fastDevice) ClocksEventReasons() (uint64, Return) {
	d.wait()
	return 0, SUCCESS
}

// TestGPUsReadInParallel checks, in fake time, that a tick costs one GPU's
// calls, not eight: with 100 µs per call, a tick of 3 calls per GPU takes
// 300 µs (2.4 ms if the GPUs were read one after the other), and the first
// tick, on which every GPU adds its 4 slow calls, 700 µs. Later slow reads
// are made after their tick: gpu1's, due at 12.5 ms, after the tick at
// 20 ms, which still takes 300 µs, and they come with the tick at 30 ms.
func TestGPUsReadInParallel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lib := newFastLib(8)
		for _, d := range lib.devs {
			d.delay = 100 * time.Microsecond
		}
		s, err := Open(WithInterface(lib), WithSensorProbe(0))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var dst []sampler.DeviceReading
		// The first tick reads every value (8 calls: the power field,
		// utilization, memory, the energy counter, two clocks, temperature,
		// clock events); the others the fast three.
		for i, want := range []time.Duration{800 * time.Microsecond, 300 * time.Microsecond, 300 * time.Microsecond, 300 * time.Microsecond} {
			start := time.Now()
			if dst, err = s.Sample(context.Background(), dst[:0]); err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took != want {
				t.Errorf("tick %d took %v, want %v", i, took, want)
			}
			// gpu1 is due at 100 ms/8 = 12.5 ms: read after tick 2, reported in tick 3.
			if slow := sampler.Has(dst[1].SMClockMHz); slow != (i == 0 || i == 3) {
				t.Errorf("tick %d: gpu1's slow values present = %v", i, slow)
			}
			if energy := sampler.Has(dst[1].EnergyJ); energy != (i == 0 || i == 3) {
				t.Errorf("tick %d: gpu1's energy present = %v", i, energy)
			}
			time.Sleep(10*time.Millisecond - want)
		}
	})
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchSample measures Sample per tick: wall time, CPU time of the whole
// process (workers included) and allocations.
func benchSample(b *testing.B, s *Sampler) {
	ctx := context.Background()
	var dst []sampler.DeviceReading
	var err error
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if dst, err = s.Sample(ctx, dst[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkSample8GPUs is the sampler's own cost per tick with 8 GPUs and
// NVML calls that take no time (an in-Go fake).
func BenchmarkSample8GPUs(b *testing.B) {
	for _, slow := range []time.Duration{DefaultSlowInterval, 0} {
		b.Run("slow="+slow.String(), func(b *testing.B) {
			s, err := Open(WithInterface(newFastLib(8)), WithSensorProbe(0), WithSlowInterval(slow))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchSample(b, s)
		})
	}
}

// BenchmarkSampleFakeLibrary8GPUs is the same through cgo and the fake
// libnvidia-ml.so.1, with calls that take no time and 100 µs.
func BenchmarkSampleFakeLibrary8GPUs(b *testing.B) {
	lib := buildFake(b)
	for _, latency := range []string{"0", "100"} {
		b.Run("latency="+latency+"us", func(b *testing.B) {
			b.Setenv("FAKENVML_GPUS", "8")
			b.Setenv("FAKENVML_LATENCY_US", latency)
			s, err := Open(WithLibraryPath(lib), WithSensorProbe(0))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchSample(b, s)
		})
	}
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// runTicks samples n ticks into a reused buffer and hands each reading to
// a sink that keeps nothing, as a streaming timeline writer would.
func runTicks(tb testing.TB, s *Sampler, n int) {
	ctx := context.Background()
	var dst []sampler.DeviceReading
	var err error
	var sink float64
	for range n {
		if dst, err = s.Sample(ctx, dst[:0]); err != nil {
			tb.Fatal(err)
		}
		for _, d := range dst {
			sink += d.EnergyJ
		}
	}
	if sink == 0 {
		tb.Fatal("no energy")
	}
}

// TestNoPerTickAccumulation checks that the sampler keeps no per-tick
// history: Sample allocates nothing, and the heap does not grow over six
// simulated minutes of 10 ms ticks on 8 GPUs (BenchmarkHourAt10ms8GPUs
// runs the whole hour).
func TestNoPerTickAccumulation(t *testing.T) {
	s, err := Open(WithInterface(newFastLib(8)), WithSensorProbe(0), WithSlowInterval(0))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	runTicks(t, s, 100) // warm up
	dst := make([]sampler.DeviceReading, 0, 8)
	if !raceEnabled {
		allocs := testing.AllocsPerRun(1000, func() {
			dst, _ = s.Sample(context.Background(), dst[:0])
		})
		if allocs != 0 {
			t.Errorf("Sample allocates %v times per tick, want 0", allocs)
		}
	}
	ticks := 36_000
	if testing.Short() || raceEnabled {
		ticks = 3_600
	}
	before := heapInUse()
	runTicks(t, s, ticks)
	after := heapInUse()
	growth := int64(after) - int64(before)
	t.Logf("%d ticks × 8 GPUs: heap %d → %d bytes (%+d)", ticks, before, after, growth)
	if growth > 64<<10 {
		t.Errorf("heap grew by %d bytes over %d ticks", growth, ticks)
	}
}

// BenchmarkHourAt10ms8GPUs samples one hour's worth of 10 ms ticks
// (360,000) on 8 GPUs as fast as it can and reports the heap growth and
// the process CPU time it took. Run with -benchtime=1x.
func BenchmarkHourAt10ms8GPUs(b *testing.B) {
	s, err := Open(WithInterface(newFastLib(8)), WithSensorProbe(0))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const ticks = 360_000
	for b.Loop() {
		before := heapInUse()
		cpu0 := cpuTime()
		runTicks(b, s, ticks)
		cpu := cpuTime() - cpu0
		growth := int64(heapInUse()) - int64(before)
		b.ReportMetric(float64(growth), "heap-growth-B")
		b.ReportMetric(cpu.Seconds(), "cpu-s/hour")
	}
}

// BenchmarkSchedule8GPUsAt10ms is the sampler's clock: the scheduler at
// 10 ms over 8 GPUs of the fake library whose every call takes 100 µs
// (sleeping), for 5 s per iteration, beside a no-op sampler run just
// before it (what the machine's scheduling allows). Reported: the achieved
// interval's p50, p99 and max, the missed ticks and the read's p99, in ms
// (the last iteration's). Run it on a quiet machine (numbers in
// docs/BENCHMARKS.md):
//
//	go test -run '^$' -bench Schedule8GPUs -benchtime 1x -count 3 ./sampler/nvml
func BenchmarkSchedule8GPUsAt10ms(b *testing.B) {
	lib := buildFake(b)
	fakeEnv(b, map[string]string{
		"FAKENVML_GPUS":          "8",
		"FAKENVML_LATENCY_US":    "100",
		"FAKENVML_EPOCH_UNIX_NS": strconv.FormatInt(time.Now().UnixNano(), 10),
	})
	s, err := Open(WithLibraryPath(lib))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	const interval, d = 10 * time.Millisecond, 5 * time.Second
	run := func(smp sampler.Sampler) (sampler.Stats, time.Duration) {
		ctx, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		var last, worst time.Duration = -1, 0
		st, err := sampler.Run(ctx, smp, interval, time.Now(), func(r sampler.Reading) {
			if r.Tick != sampler.ClosingTick {
				if last >= 0 {
					worst = max(worst, r.At-last)
				}
				last = r.At
			}
		})
		if err != nil {
			b.Fatal(err)
		}
		return st, worst
	}
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	for b.Loop() {
		ctl, _ := run(noopSampler{})
		st, worst := run(s)
		b.ReportMetric(ms(ctl.IntervalP99), "noop_p99_ms")
		b.ReportMetric(ms(st.IntervalP50), "p50_ms")
		b.ReportMetric(ms(st.IntervalP99), "p99_ms")
		b.ReportMetric(ms(worst), "max_ms")
		b.ReportMetric(float64(st.Missed), "missed")
		b.ReportMetric(ms(st.ReadP99), "read_p99_ms")
	}
}
