package rapl

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// counter is a fake zone counter that a goroutine advances at a known
// power, wrapping at its range as RAPL does.
type counter struct {
	zone   string
	start  uint64  // µJ at time 0
	watts  float64 // µJ per µs
	rangeU uint64  // max_energy_range_uj
}

func (c counter) at(d time.Duration) uint64 {
	return (c.start + uint64(c.watts*float64(d.Microseconds()))) % c.rangeU
}

// TestRunEnergyAccuracy runs the real scheduler, sampler.Run, at 25 ms for
// 300 ms over the client fixture (package, core, uncore, dram, psys and the
// mmio duplicate) while a goroutine advances every counter at a known
// power; package-0's range is small, so it wraps during the run. The
// CPU+DRAM energy (cpu_package + dram readings) between the first and the
// last reading must be within 2 % of the truth, 50 W over that time.
//
// Under the fake clock of testing/synctest the run is deterministic. On
// the real clock the files are only as fresh as the writer goroutine is
// prompt, whereas a real counter is computed when read: a run in which the
// counters were stale by more than 1 % of the run when first or last read
// (the writer stalled on a loaded machine) proves nothing and is retried,
// and the test is skipped if every try was stale.
func TestRunEnergyAccuracy(t *testing.T) {
	t.Run("fake clock", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			if stall := runEnergyAccuracy(t, time.Millisecond); stall != "" {
				t.Fatal(stall)
			}
		})
	})
	t.Run("real clock", func(t *testing.T) {
		if testing.Short() {
			t.Skip("takes 300 ms of real time")
		}
		var stall string
		for range 3 {
			if stall = runEnergyAccuracy(t, 200*time.Microsecond); stall == "" {
				return
			}
			t.Log(stall)
		}
		t.Skipf("the machine is too loaded for a real-time check: %s", stall)
	})
}

// runEnergyAccuracy does one run, writing the counters every writeEvery.
// It returns why the run proves nothing (the writer stalled), or "" after
// checking the energy.
func runEnergyAccuracy(t *testing.T, writeEvery time.Duration) (stall string) {
	const (
		interval  = 25 * time.Millisecond
		duration  = 300 * time.Millisecond
		truthW    = 45.0 + 5.0 // package-0 + dram-0
		tolerance = 0.02
	)
	root := extractTree(t, "client", memTempDir(t))
	// package-0 wraps 100 ms into the run (at 45 W, 4.5 J before its 10 J
	// range).
	counters := []counter{
		{zone: "intel-rapl:0", start: 5_500_000, watts: 45, rangeU: 10_000_000},
		{zone: "intel-rapl:0:0", start: 31_223_344_556, watts: 30, rangeU: pkgRange},
		{zone: "intel-rapl:0:1", start: 1_223_344_556, watts: 3, rangeU: pkgRange},
		{zone: "intel-rapl:0:2", start: 4_223_344_556, watts: 5, rangeU: pkgRange},
		{zone: "intel-rapl:1", start: 81_223_344_556, watts: 80, rangeU: pkgRange},
		{zone: "intel-rapl-mmio:0", start: 5_500_000, watts: 45, rangeU: 10_000_000},
	}
	for _, c := range counters {
		writeFile(t, zonePath(root, c.zone, "max_energy_range_uj"), strconv.FormatUint(c.rangeU, 10)+"\n")
		setCounter(t, root, c.zone, c.at(0))
	}
	s, err := Open(WithRoot(root))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(t.Context(), duration)
	defer cancel()
	// A round of writes stores every counter's value at d after t0 and is
	// complete at w.
	type round struct{ d, w time.Duration }
	t0 := time.Now()
	rounds := []round{{0, 0}}
	var (
		wg       sync.WaitGroup
		writeErr error
	)
	wg.Go(func() {
		for ctx.Err() == nil {
			time.Sleep(writeEvery)
			d := time.Since(t0)
			for _, c := range counters {
				if err := replaceFile(zonePath(root, c.zone, "energy_uj"), strconv.FormatUint(c.at(d), 10)+"\n"); err != nil {
					writeErr = err
					return
				}
			}
			rounds = append(rounds, round{d, time.Since(t0)})
		}
	})
	var rs []sampler.Reading
	st, err := sampler.Run(ctx, s, interval, t0, func(r sampler.Reading) { rs = append(rs, r) })
	wg.Wait()
	if err != nil || writeErr != nil {
		t.Fatal(err, writeErr)
	}
	if len(rs) < 2 {
		t.Fatalf("%d readings, stats %+v", len(rs), st)
	}
	// stale bounds how old the counters read at a were: a minus the time
	// of the last round complete before a. (A round in progress may have
	// made some fresher.)
	stale := func(a time.Duration) time.Duration {
		i, _ := slices.BinarySearchFunc(rounds, a, func(r round, a time.Duration) int { return cmp.Compare(r.w, a) })
		return a - rounds[max(i-1, 0)].d
	}
	var gap time.Duration
	for i := 1; i < len(rounds); i++ {
		gap = max(gap, rounds[i].d-rounds[i-1].d)
	}
	first, last := rs[0], rs[len(rs)-1]
	maxStale := (last.At - first.At) / 100
	if s0, s1 := stale(first.At), stale(last.At); s0 > maxStale || s1 > maxStale || gap > 100*time.Millisecond {
		return fmt.Sprintf("the counters were %v old when first read and %v when last read (more than %v), the longest time between writes %v", s0, s1, maxStale, gap)
	}
	if st.Errors != 0 || len(rs) < 8 {
		t.Fatalf("%d readings, stats %+v; want at least 8 and no errors", len(rs), st)
	}
	cpuDRAM := func(r sampler.Reading) (j float64) {
		for _, d := range r.Devices {
			if d.Kind == sampler.KindCPUPackage || d.Kind == sampler.KindDRAM {
				j += d.EnergyJ
			}
		}
		return j
	}
	got := cpuDRAM(last) - cpuDRAM(first)
	want := truthW * (last.At - first.At).Seconds()
	if rel := math.Abs(got-want) / want; rel > tolerance {
		t.Errorf("CPU+DRAM energy %.4f J over %v; want %.4f J (%.0f W), off by %.2f %%", got, last.At-first.At, want, truthW, 100*rel)
	}
	if z := s.Zones()[0]; z.Device != "package-0" || z.Wraps == 0 {
		t.Errorf("zone %+v; want package-0 to have wrapped", z)
	}
	t.Logf("%d readings, CPU+DRAM %.4f J over %v (truth %.4f J), writes every %v at worst, achieved interval p50 %v, read p99 %v",
		len(rs), got, last.At-first.At, want, gap, st.IntervalP50, st.ReadP99)
	return ""
}
