package energy

import (
	"bufio"
	"flag"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

var benchMinutes = flag.Float64("energy.minutes", 6,
	"length in minutes of the timeline BenchmarkComputeTimeline generates (60 for the full hour)")

// writeTimeline writes a realistic timeline of d: NVML reading 8 GPUs
// every 10 ms (power, energy, utilization, memory; clocks and temperature
// every 100 ms) and RAPL reading 2 packages and 2 DRAM domains every
// 25 ms, interleaved in time order. It returns the number of rows.
func writeTimeline(tb testing.TB, path string, d time.Duration) int64 {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := sampler.NewTimelineWriter(bw)
	rng := rand.New(rand.NewPCG(1, 2))
	const gpus = 8
	var (
		gpuE  [gpus]float64
		gpuP  [gpus]float64
		raplE [4]float64
		buf   []sampler.DeviceReading
	)
	names := [gpus]string{"gpu0", "gpu1", "gpu2", "gpu3", "gpu4", "gpu5", "gpu6", "gpu7"}
	rnames := [4]string{"package-0", "package-1", "dram-0", "dram-1"}
	rkinds := [4]sampler.Kind{sampler.KindCPUPackage, sampler.KindCPUPackage, sampler.KindDRAM, sampler.KindDRAM}
	nvmlTicks := int64(d / (10 * time.Millisecond))
	var raplTick int64
	for k := int64(0); k <= nvmlTicks; k++ {
		at := time.Duration(k)*10*time.Millisecond + time.Duration(rng.IntN(200_000))
		for ; time.Duration(raplTick)*25*time.Millisecond <= at; raplTick++ {
			rt := time.Duration(raplTick)*25*time.Millisecond + time.Duration(rng.IntN(50_000))
			buf = buf[:0]
			for i := range raplE {
				raplE[i] += 0.025 * (180 + 40*rng.Float64())
				r := sampler.NewDeviceReading(rnames[i], rkinds[i])
				r.EnergyJ = math.Round(raplE[i]*1e6) / 1e6 // µJ resolution
				buf = append(buf, r)
			}
			if err := w.Write(sampler.Reading{Sampler: "rapl", Tick: raplTick, At: rt, Devices: buf}); err != nil {
				tb.Fatal(err)
			}
		}
		buf = buf[:0]
		for i := range gpus {
			gpuP[i] = 300 + 400*rng.Float64()
			gpuE[i] += 0.010 * gpuP[i]
			g := sampler.NewDeviceReading(names[i], sampler.KindGPU)
			g.PowerW = math.Round(gpuP[i]*1000) / 1000 // mW resolution
			g.EnergyJ = math.Round(gpuE[i]*1000) / 1000
			g.UtilPct = float64(rng.IntN(101))
			g.MemUtilPct = float64(rng.IntN(101))
			g.MemUsedBytes = float64(70<<30 + rng.IntN(1<<30))
			if k%10 == 0 {
				g.SMClockMHz, g.MemClockMHz, g.TempC = 1980, 2619, float64(55+rng.IntN(20))
				g.ClockEventReasons, g.HasClockEvents = 0, true
			}
			buf = append(buf, g)
		}
		if err := w.Write(sampler.Reading{Sampler: "nvml", Tick: k, At: at, Devices: buf}); err != nil {
			tb.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return w.Rows()
}

// peakHeap samples the heap until stop is closed and returns the largest
// heap in use (live and not yet collected objects) and the largest live
// heap (what the last garbage collection found reachable), in bytes.
func peakHeap(stop <-chan struct{}) <-chan [2]uint64 {
	out := make(chan [2]uint64, 1)
	go func() {
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
		var peak [2]uint64
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak[0] = max(peak[0], s[0].Value.Uint64())
			peak[1] = max(peak[1], s[1].Value.Uint64())
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

// BenchmarkComputeTimeline measures Compute over a generated timeline
// (-energy.minutes, 6 by default: a tenth of an hour at 10 ms × 8 GPUs)
// and reports rows per second and the peak heap while it runs: in use
// (including garbage not yet collected) and live after a collection.
func BenchmarkComputeTimeline(b *testing.B) {
	d := time.Duration(*benchMinutes * float64(time.Minute))
	path := filepath.Join(b.TempDir(), "timeline.csv")
	start := time.Now()
	rows := writeTimeline(b, path, d)
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("timeline: %v, %d rows, %.1f MB, generated in %v", d, rows, float64(st.Size())/1e6, time.Since(start).Round(time.Millisecond))
	win := Window{Start: 30 * time.Second, End: d - 30*time.Second}
	runtime.GC()
	stop := make(chan struct{})
	peak := peakHeap(stop)
	var last atomic.Pointer[Report]
	b.ResetTimer()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := Compute(f, win, 1_000_000)
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		last.Store(rep)
	}
	b.StopTimer()
	close(stop)
	p := <-peak
	perOp := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(rows)/perOp, "rows/s")
	b.ReportMetric(float64(p[0])/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(p[1])/(1<<20), "peak-live-MiB")
	b.ReportMetric(0, "ns/op")
	rep := last.Load()
	if !rep.EnergyJoulesGPU.Measured || !rep.EnergyJoulesCPUDRAM.Measured || len(rep.Devices) != 12 {
		b.Fatalf("unexpected report: %+v", rep)
	}
}
