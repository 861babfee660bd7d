package energy_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// TestSimulatedHour runs the whole telemetry path of a one-hour profile —
// the scheduler at 10 ms over 8 fake GPUs, the on-disk timeline, and the
// energy computation over it — on a fake clock, and reports peak RSS.
// It writes a 160 MB timeline, so it runs only with BENCHPROF_LONG=1:
//
//	BENCHPROF_LONG=1 go test -run TestSimulatedHour -v ./energy
func TestSimulatedHour(t *testing.T) {
	if os.Getenv("BENCHPROF_LONG") == "" {
		t.Skip("set BENCHPROF_LONG=1 to run the simulated one-hour memory check")
	}
	path := filepath.Join(t.TempDir(), "timeline.csv")
	var stats sampler.Stats
	var rows int64
	synctest.Test(t, func(t *testing.T) {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w := sampler.NewTimelineWriter(f)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		stats, err = sampler.Run(ctx, &samplertest.GPU{Devices: 8, PowerW: 300, UtilPct: 75}, 10*time.Millisecond, time.Now(), func(r sampler.Reading) { _ = w.Write(r) })
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		rows = w.Rows()
	})
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := energy.Compute(f, energy.Window{Start: time.Minute, End: 59 * time.Minute}, 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fi, _ := os.Stat(path)
	gpu, _ := rep.EnergyJoulesGPU.Get()
	t.Logf("readings %d, rows %d, timeline %.0f MB, GPU energy %.0f J (want %.0f), peak RSS %.1f MiB",
		stats.Readings, rows, float64(fi.Size())/1e6, gpu, 8*300*58*60.0, float64(ru.Maxrss)/1024)
	if ru.Maxrss > 64*1024 {
		t.Errorf("peak RSS %.1f MiB exceeds 64 MiB", float64(ru.Maxrss)/1024)
	}
}
