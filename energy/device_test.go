package energy

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

func TestGroupOf(t *testing.T) {
	for _, tt := range []struct {
		kind sampler.Kind
		want Group
	}{
		{sampler.KindGPU, GroupGPU},
		{sampler.KindCPUPackage, GroupCPUDRAM},
		{sampler.KindDRAM, GroupCPUDRAM},
		{sampler.KindOther, GroupNone},
		{"fpga", GroupNone},
		{"", GroupNone},
	} {
		if got := GroupOf(tt.kind); got != tt.want {
			t.Errorf("GroupOf(%q) = %v; want %v", tt.kind, got, tt.want)
		}
	}
	for _, g := range []Group{GroupGPU, GroupCPUDRAM} {
		for _, k := range g.Kinds() {
			if GroupOf(k) != g {
				t.Errorf("%v.Kinds() holds %q, whose group is %v", g, k, GroupOf(k))
			}
		}
	}
	if k := GroupNone.Kinds(); k != nil {
		t.Errorf("GroupNone.Kinds() = %v; want nil", k)
	}
	// The figures' kinds are the groups' kinds.
	if got, want := FigureKinds(KeyEnergyJoulesCPUDRAM), GroupCPUDRAM.Kinds(); !slices.Equal(got, want) {
		t.Errorf("FigureKinds(%s) = %v; want %v", KeyEnergyJoulesCPUDRAM, got, want)
	}
	if got, want := FigureKinds(KeyEnergyJoulesGPU), GroupGPU.Kinds(); !slices.Equal(got, want) {
		t.Errorf("FigureKinds(%s) = %v; want %v", KeyEnergyJoulesGPU, got, want)
	}
}

func TestCounterPower(t *testing.T) {
	inf := math.Inf(1)
	for _, tt := range []struct {
		name   string
		t0     time.Duration
		e0     float64
		t1     time.Duration
		e1     float64
		want   float64
		wantOK bool
	}{
		{"100 W over 1 s", 0, 1000, time.Second, 1100, 100, true},
		{"50 W over 25 ms", 10 * time.Millisecond, 7, 35 * time.Millisecond, 8.25, 50, true},
		{"idle", 0, 5, time.Second, 5, 0, true},
		{"the counter went down", 0, 5, time.Second, 4, 0, false},
		{"same time", time.Second, 5, time.Second, 6, 0, false},
		{"backwards in time", 2 * time.Second, 5, time.Second, 6, 0, false},
		{"first not read", 0, nan, time.Second, 6, 0, false},
		{"second not read", 0, 5, time.Second, nan, 0, false},
		{"infinite", 0, 5, time.Second, inf, 0, false},
	} {
		w, ok := CounterPower(tt.t0, tt.e0, tt.t1, tt.e1)
		if ok != tt.wantOK || (ok && math.Abs(w-tt.want) > 1e-9) {
			t.Errorf("%s: CounterPower = %v, %v; want %v, %v", tt.name, w, ok, tt.want, tt.wantOK)
		}
	}
}

// TestCounterPowerIntegratesToTheFigure: the step powers of a device's
// counter, integrated over the window, give energy_joules_cpu_dram — the
// page that draws them and the envelope agree.
func TestCounterPowerIntegratesToTheFigure(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := Window{Start: sec(2.3), End: sec(17.9)}
	a, err := NewAccumulator(w)
	if err != nil {
		t.Fatal(err)
	}
	var (
		prevT time.Duration
		prevE float64
		area  float64 // J
	)
	e := 1e6
	for i, at := 0, sec(0.5); at < sec(20); i, at = i+1, at+sec(0.01+0.05*rng.Float64()) {
		e += rng.Float64() * 9
		d := sampler.NewDeviceReading("dram-0", sampler.KindDRAM)
		d.EnergyJ = e
		a.Add(sampler.Reading{Sampler: "rapl", Tick: int64(i), At: at, Devices: []sampler.DeviceReading{d}})
		if i > 0 {
			p, ok := CounterPower(prevT, prevE, at, e)
			if !ok {
				t.Fatalf("step %d: no power", i)
			}
			if lo, hi := max(prevT, w.Start), min(at, w.End); hi > lo {
				area += p * (hi - lo).Seconds()
			}
		}
		prevT, prevE = at, e
	}
	r, err := a.Report(0)
	if err != nil {
		t.Fatal(err)
	}
	got := r.EnergyJoulesCPUDRAM
	if !got.Measured || math.Abs(got.Value-area) > 1e-9*area {
		t.Errorf("%s = %v; the step powers integrate to %v J", KeyEnergyJoulesCPUDRAM, got, area)
	}
}
