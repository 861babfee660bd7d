package energy

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/benchprof/benchprof/sampler"
)

// stepGPUs returns readings of sampler smp every step seconds over
// [0, end]: n GPUs where gpu i draws power(i, t) watts at util(t) percent,
// piecewise constant with changes on the reading grid, each with an energy
// counter that is the exact integral of its power (left Riemann sum on the
// grid, so exact for such power).
func stepGPUs(smp string, n int, step, end float64, power func(i int, t float64) float64, util func(t float64) float64, counters bool) []sampler.Reading {
	var rs []sampler.Reading
	e := make([]float64, n)
	k := int(math.Round(end / step))
	for j := 0; j <= k; j++ {
		t := float64(j) * step
		var devs []dev
		for i := range n {
			d := gpu(fmt.Sprintf("gpu%d", i), power(i, t), e[i], util(t))
			if !counters {
				d.e = nan
			}
			devs = append(devs, d)
			e[i] += power(i, t) * step
		}
		rs = append(rs, reading(smp, t, devs...))
	}
	return rs
}

func near(t *testing.T, what string, got Figure, want, tol float64) {
	t.Helper()
	if !got.Measured || math.Abs(got.Value-want) > tol*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %v; want %v", what, got, want)
	}
}

// TestIdleBaseline: two GPUs idle at 100 W each until 2 s, then loaded at
// 400 W each. The idle window [0.5, 1.5] gives 200 W; the window [4, 9]
// holds 4000 J, 3000 J of it above idle.
func TestIdleBaseline(t *testing.T) {
	power := func(_ int, t float64) float64 {
		if t < 2-1e-9 {
			return 100
		}
		return 400
	}
	util := func(t float64) float64 {
		if t < 2-1e-9 {
			return 0
		}
		return 90
	}
	for _, counters := range []bool{true, false} {
		t.Run(fmt.Sprint("counters=", counters), func(t *testing.T) {
			rs := stepGPUs("g", 2, 0.1, 10, power, util, counters)
			rep, err := Compute(timeline(t, rs), Window{sec(4), sec(9)}, 1000, WithIdleWindow(Window{sec(0.5), sec(1.5)}))
			if err != nil {
				t.Fatal(err)
			}
			near(t, KeyPowerIdleW, rep.PowerIdleW, 200, 1e-9)
			near(t, KeyEnergyJoulesGPU, rep.EnergyJoulesGPU, 4000, 1e-9)
			near(t, KeyEnergyJoulesGPUAboveIdle, rep.EnergyJoulesGPUAboveIdle, 3000, 1e-9)
			near(t, KeyJoulesPerTokenAboveIdle, rep.JoulesPerTokenAboveIdle, 3, 1e-9)
			for _, d := range rep.Devices {
				near(t, d.Device+" idle power", d.IdlePowerW, 100, 1e-9)
				near(t, d.Device+" idle util", d.IdleUtilPct, 0, 1e-9)
			}
			if rep.IdleWindow != (Window{sec(0.5), sec(1.5)}) {
				t.Errorf("IdleWindow %v", rep.IdleWindow)
			}
		})
	}
}

func TestIdleNotIdle(t *testing.T) {
	flat := func(int, float64) float64 { return 100 }
	zero := func(float64) float64 { return 0 }
	cases := []struct {
		name  string
		power func(int, float64) float64
		util  func(float64) float64
		idle  Window
		opts  []Option
		want  string // in the reason
		warn  bool
	}{
		{"busy", flat, func(t float64) float64 { return 30 }, Window{sec(0.5), sec(1.5)}, nil, "utilization above 10 %", true},
		{"busy below a raised threshold", flat, func(t float64) float64 { return 30 }, Window{sec(0.5), sec(1.5)},
			[]Option{WithIdleUtilThreshold(40)}, "", false},
		{"cooling down", func(_ int, t float64) float64 {
			if t < 1-1e-9 {
				return 150
			}
			return 100
		}, zero, Window{sec(0.5), sec(1.5)}, nil, "did not settle", true},
		{"noise within the floor", func(_ int, t float64) float64 {
			if t < 1-1e-9 {
				return 2.5
			}
			return 2
		}, zero, Window{sec(0.5), sec(1.5)}, nil, "", false},
		{"readings start late", flat, zero, Window{-sec(1), sec(1)}, nil, "do not span the idle phase", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rs := stepGPUs("g", 2, 0.1, 5, tc.power, tc.util, true)
			rep, err := Compute(timeline(t, rs), Window{sec(3), sec(4)}, 10, append(tc.opts, WithIdleWindow(tc.idle))...)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if !rep.PowerIdleW.Measured {
					t.Fatalf("power_idle_w %v", rep.PowerIdleW)
				}
				return
			}
			if rep.PowerIdleW.Measured || !strings.Contains(rep.PowerIdleW.Reason, tc.want) {
				t.Errorf("power_idle_w %v; want absent with %q", rep.PowerIdleW, tc.want)
			}
			for _, f := range []Figure{rep.EnergyJoulesGPUAboveIdle, rep.JoulesPerTokenAboveIdle} {
				if f.Measured || !strings.Contains(f.Reason, tc.want) {
					t.Errorf("%v; want absent with %q", f, tc.want)
				}
			}
			if warned := strings.Contains(strings.Join(rep.Warnings, "\n"), "not idle"); warned != tc.warn {
				t.Errorf("warned %v; want %v: %q", warned, tc.warn, rep.Warnings)
			}
		})
	}
}

// TestGPUsApart: eight GPUs, gpu i drawing 100 + 10·i W; the engine's are
// gpu2 and gpu5. Every GPU figure covers those two; the six others are
// listed apart.
func TestGPUsApart(t *testing.T) {
	power := func(i int, _ float64) float64 { return 100 + 10*float64(i) }
	util := func(float64) float64 { return 80 }
	rs := stepGPUs("nvml", 8, 0.1, 10, power, util, true)
	rep, err := Compute(timeline(t, rs), Window{sec(2), sec(7)}, 100,
		WithGPUs(DeviceID{"nvml", "gpu2"}, DeviceID{"nvml", "gpu5"}, DeviceID{"nvml", "gpu9"}),
		WithIdleWindow(Window{sec(0.5), sec(1.5)}), WithIdleUtilThreshold(100))
	if err != nil {
		t.Fatal(err)
	}
	near(t, KeyEnergyJoulesGPU, rep.EnergyJoulesGPU, (120+150)*5, 1e-9)
	near(t, KeyPowerAvgW, rep.PowerAvgW, 270, 1e-9)
	near(t, KeyPowerPeakW, rep.PowerPeakW, 270, 1e-9)
	near(t, KeyPowerAvgWUnderLoad, rep.PowerAvgWUnderLoad, 270, 1e-9)
	near(t, KeyPowerIdleW, rep.PowerIdleW, 270, 1e-9)
	near(t, KeyEnergyJoulesGPUAboveIdle, rep.EnergyJoulesGPUAboveIdle, 0, 1e-9)
	others := 6*100 + 10*(0+1+3+4+6+7) // W
	near(t, KeyPowerAvgWOtherGPUs, rep.PowerAvgWOtherGPUs, float64(others), 1e-9)
	near(t, KeyEnergyJoulesGPUOtherGPUs, rep.EnergyJoulesGPUOtherGPUs, float64(others)*5, 1e-9)
	var apart []string
	for _, d := range rep.Devices {
		if d.Apart {
			apart = append(apart, d.Device)
		}
	}
	if got := strings.Join(apart, ","); got != "gpu0,gpu1,gpu3,gpu4,gpu6,gpu7" {
		t.Errorf("apart: %s", got)
	}
	if w := strings.Join(rep.Warnings, "\n"); !strings.Contains(w, "gpu9 (nvml)") {
		t.Errorf("no warning about gpu9, which is not in the timeline: %q", rep.Warnings)
	}
	// A selection that matches no GPU of the timeline.
	rep, err = Compute(timeline(t, rs), Window{sec(2), sec(7)}, 100, WithGPUs(DeviceID{"dcgm", "gpu2"}))
	if err != nil {
		t.Fatal(err)
	}
	if rep.EnergyJoulesGPU.Measured || !strings.Contains(rep.EnergyJoulesGPU.Reason, "none of the GPUs counted") {
		t.Errorf("energy_joules_gpu %v", rep.EnergyJoulesGPU)
	}
}

func TestIdleAndGPUOptionErrors(t *testing.T) {
	w := Window{0, sec(1)}
	for _, o := range []Option{
		WithIdleWindow(Window{sec(1), sec(1)}),
		WithIdleUtilThreshold(-1),
		WithIdleUtilThreshold(math.NaN()),
		WithIdleSettleTolerance(0),
		WithIdleSettleTolerance(math.Inf(1)),
		WithGPUs(),
		WithGPUs(DeviceID{"nvml", ""}),
		WithAttributionBin(0),
		WithPrefillWeight(-0.5),
		WithPrefillWeight(math.NaN()),
	} {
		if _, err := NewAccumulator(w, o); err == nil {
			t.Errorf("option %#v accepted", o)
		}
	}
}
