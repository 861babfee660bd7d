package timeline

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
)

// TestBuilderMatchesFiles: a builder fed the readings and results live
// draws the page that the files of the same run draw (the golden file).
func TestBuilderMatchesFiles(t *testing.T) {
	b, err := NewBuilder(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range synthReadings() {
		b.AddReading(r)
	}
	for _, r := range synthResults() {
		b.AddResult(r)
	}
	var out bytes.Buffer
	if err := b.WriteHTML(&out, synthPage); err != nil {
		t.Fatal(err)
	}
	checkSelfContained(t, out.String())
	checkWellFormed(t, out.String())
	golden(t, "synthetic.golden.html", out.Bytes())

	// Writing leaves the builder as it was.
	var again bytes.Buffer
	if err := b.WriteHTML(&again, synthPage); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Error("a second WriteHTML draws another page")
	}
}

// TestBuilderConcurrent feeds each sampler from its own goroutine, the
// results from two more, and writes pages while they run (go test -race
// checks the locking); the final page is the golden one, whatever the
// interleaving, since each sampler's readings keep their order.
func TestBuilderConcurrent(t *testing.T) {
	b, err := NewBuilder(Options{})
	if err != nil {
		t.Fatal(err)
	}
	bySampler := map[string][]sampler.Reading{}
	for _, r := range synthReadings() {
		bySampler[r.Sampler] = append(bySampler[r.Sampler], r)
	}
	results := synthResults()
	var wg sync.WaitGroup
	for _, rs := range bySampler {
		wg.Go(func() {
			for _, r := range rs {
				b.AddReading(r)
			}
		})
	}
	for half := range 2 {
		wg.Go(func() {
			for i := half; i < len(results); i += 2 {
				b.AddResult(results[i])
			}
		})
	}
	done := make(chan struct{})
	var writer sync.WaitGroup
	writer.Go(func() {
		for {
			var out bytes.Buffer
			if err := b.WriteHTML(&out, synthPage); err != nil {
				t.Error(err)
				return
			}
			checkWellFormed(t, out.String())
			select {
			case <-done:
				return
			default:
			}
		}
	})
	wg.Wait()
	close(done)
	writer.Wait()
	var out bytes.Buffer
	if err := b.WriteHTML(&out, synthPage); err != nil {
		t.Fatal(err)
	}
	golden(t, "synthetic.golden.html", out.Bytes())
}

// TestBuilderMemoryBounded feeds an hour of 8 GPUs read every 10 ms
// (360,000 readings) and 28,800 requests through the builder, and checks
// that what it retains does not grow with the number of readings: the
// heap after 7.5 minutes and after the hour (each after a GC) are the
// same to within a few KiB, while retaining even one pointer per reading
// would add 2.5 MiB.
func TestBuilderMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("feeds an hour of synthetic telemetry")
	}
	heap := func() int64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return int64(m.HeapAlloc)
	}
	const (
		hour   = time.Hour
		every  = 10 * time.Millisecond
		gpus   = 8
		eighth = hour / 8
	)
	before := heap()
	b, err := NewBuilder(Options{})
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, gpus)
	for g := range names {
		names[g] = "gpu" + string(rune('0'+g))
	}
	devs := make([]sampler.DeviceReading, gpus) // reused: the builder must not keep it
	chunks := make([]loadgen.Chunk, 0, 50)
	var tick int64
	var i int
	nextRequest := time.Duration(0)
	feed := func(until time.Duration) {
		for at := time.Duration(tick) * every; at <= until; tick, at = tick+1, at+every {
			for g := range devs {
				d := sampler.NewDeviceReading(names[g], sampler.KindGPU)
				d.PowerW = square(at+time.Duration(g)*time.Second, 650, 120) + float64(tick%7)
				d.UtilPct = square(at+time.Duration(g)*time.Second, 98, 3)
				devs[g] = d
			}
			b.AddReading(sampler.Reading{Sampler: "nvml", Tick: tick, At: at, Devices: devs})
			// 16 requests every 2 s, each 1.99 s long with a chunk every 40 ms.
			for ; nextRequest+2*time.Second <= at; nextRequest += 2 * time.Second {
				for w := range 16 {
					sent := nextRequest + time.Duration(w)*ms
					r := loadgen.Result{Index: i, Warmup: i < 16, Worker: w, Outcome: loadgen.OutcomeOK, Sent: sent, Scheduled: sent,
						FirstToken: sent + 100*ms, End: sent + 1990*ms, Chunks: chunks[:0]}
					for c := r.FirstToken; c < r.End; c += 40 * ms {
						r.Chunks = append(r.Chunks, loadgen.Chunk{At: c, Tokens: 1})
					}
					b.AddResult(r)
					i++
				}
			}
		}
	}
	feed(eighth)
	mid := heap()
	readingsMid := tick
	feed(hour)
	end := heap()
	runtime.KeepAlive(b)
	t.Logf("builder retains %d B after %d readings, %d B after %d readings (%d requests)", mid-before, readingsMid, end-before, tick, i)
	if grew := end - mid; grew > 16<<10 {
		t.Errorf("the builder's heap grew by %d B from %d to %d readings; want it bounded (at most 16 KiB of noise)", grew, readingsMid, tick)
	}
	if retained := end - before; retained > 2<<20 {
		t.Errorf("the builder retains %d B; want under 2 MiB for 8 GPUs", retained)
	}
	var out bytes.Buffer
	if err := b.WriteHTML(&out, Page{}); err != nil {
		t.Fatal(err)
	}
	for name, counts := range polylines(t, out.String()) {
		for _, c := range counts {
			if c > DefaultMaxPoints {
				t.Errorf("%s: %d points; want at most %d", name, c, DefaultMaxPoints)
			}
		}
	}
}
