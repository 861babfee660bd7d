package energy

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/benchprof/benchprof/sampler"
)

// sec converts seconds to a Duration.
func sec(s float64) time.Duration { return time.Duration(math.Round(s * 1e9)) }

// dev is a device row; NaN fields are absent.
type dev struct {
	name string
	kind sampler.Kind
	p, e float64
	u    float64
}

func gpu(name string, p, e, u float64) dev {
	return dev{name: name, kind: sampler.KindGPU, p: p, e: e, u: u}
}

func rapl(name string, kind sampler.Kind, e float64) dev {
	return dev{name: name, kind: kind, p: nan, e: e, u: nan}
}

var nan = math.NaN()

func reading(smp string, t float64, devs ...dev) sampler.Reading {
	r := sampler.Reading{Sampler: smp, Tick: int64(math.Round(t * 1000)), At: sec(t)}
	for _, d := range devs {
		dr := sampler.NewDeviceReading(d.name, d.kind)
		dr.PowerW, dr.EnergyJ, dr.UtilPct = d.p, d.e, d.u
		r.Devices = append(r.Devices, dr)
	}
	return r
}

// timeline writes readings to a CSV timeline.
func timeline(t testing.TB, rs []sampler.Reading) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	w := sampler.NewTimelineWriter(&buf)
	for _, r := range rs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return &buf
}

// figures returns the report's figures by key.
func figures(r *Report) map[string]Figure {
	m := make(map[string]Figure)
	for _, n := range r.Figures() {
		m[n.Key] = n.Figure
	}
	return m
}

type energyCase struct {
	name     string
	readings []sampler.Reading
	window   Window
	tokens   int64
	opts     []Option
	// want lists the figures to check (others are not checked).
	want map[string]Figure
	// wantWarnings, when not nil, is the exact list of warnings.
	wantWarnings []string
}

func runCases(t *testing.T, cases []energyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Through the CSV timeline, as the profile package uses it.
			rep, err := Compute(timeline(t, tc.readings), tc.window, tc.tokens, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			got := figures(rep)
			for k := range got {
				if _, ok := tc.want[k]; !ok {
					delete(got, k)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("figures (-want +got):\n%s", diff)
			}
			if tc.wantWarnings != nil {
				if diff := cmp.Diff(tc.wantWarnings, rep.Warnings, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("warnings (-want +got):\n%s", diff)
				}
			}
			// The accumulator on the same readings gives the same report.
			a, err := NewAccumulator(tc.window, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range tc.readings {
				a.Add(r)
			}
			rep2, err := a.Report(tc.tokens)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rep, rep2); diff != "" {
				t.Errorf("Compute and Accumulator differ (-Compute +Accumulator):\n%s", diff)
			}
		})
	}
}

// constant returns nvml readings of one GPU at 1-second ticks 0..n s with
// power p and, if withCounter, an energy counter of p·t.
func constant(n int, p float64, withCounter bool) []sampler.Reading {
	var rs []sampler.Reading
	for i := 0; i <= n; i++ {
		e := nan
		if withCounter {
			e = p * float64(i)
		}
		rs = append(rs, reading("nvml", float64(i), gpu("gpu0", p, e, nan)))
	}
	return rs
}

// TestReferencePowerCases runs the reference's power tests (FACTS §7.4,
// harness/tests/test_power.py) and says where, and why, we differ.
func TestReferencePowerCases(t *testing.T) {
	w10 := Window{0, sec(10)}
	runCases(t, []energyCase{
		{
			// test_gpu_constant_power_integrates_to_energy: 100 W for 10 s
			// gives avg 100, peak 100 and exactly 1000 J.
			name:     "constant 100 W for 10 s, power trace only",
			readings: constant(10, 100, false),
			window:   w10,
			want: map[string]Figure{
				KeyPowerAvgW:               Measured(100),
				KeyPowerPeakW:              Measured(100),
				KeyEnergyJoulesGPUIntegral: Measured(1000),
				// No counter: the energy of record falls back to ∫P dt.
				KeyEnergyJoulesGPU:         Measured(1000),
				KeyGPUIntegralCounterRatio: Absent("no GPU has both an energy counter and a power trace over the window"),
				KeyNVMLSampleCount:         Measured(11),
			},
			wantWarnings: []string{
				"gpu0 (nvml): energy from ∫P dt, as there is no energy counter figure (no energy counter readings)",
				"energy_joules_total covers the GPUs only: energy_joules_cpu_dram is absent (no CPU package or DRAM readings in the timeline)",
			},
		},
		{
			name:     "constant 100 W for 10 s with a counter",
			readings: constant(10, 100, true),
			window:   w10,
			tokens:   1000,
			want: map[string]Figure{
				KeyPowerAvgW:               Measured(100),
				KeyPowerPeakW:              Measured(100),
				KeyEnergyJoulesGPU:         Measured(1000),
				KeyEnergyJoulesGPUIntegral: Measured(1000),
				KeyGPUIntegralCounterRatio: Measured(1),
				KeyEnergyJoulesTotal:       Measured(1000),
				// test_joules_per_token_basic: 1000 J over 1000 tokens.
				KeyJoulesPerToken:    Measured(1),
				KeyJoulesPerTokenGPU: Measured(1),
			},
		},
		{
			// test_gpu_peak_distinct_from_avg. The reference's plain mean
			// of ticks is 100 W; the time-weighted mean is 125 W.
			name: "peak distinct from average",
			readings: []sampler.Reading{
				reading("nvml", 0, gpu("gpu0", 50, nan, nan)),
				reading("nvml", 1, gpu("gpu0", 200, nan, nan)),
				reading("nvml", 2, gpu("gpu0", 50, nan, nan)),
			},
			window: Window{0, sec(2)},
			want: map[string]Figure{
				KeyPowerPeakW:              Measured(200),
				KeyPowerAvgW:               Measured(125),
				KeyEnergyJoulesGPUIntegral: Measured(250),
			},
		},
		{
			// test_gpu_handles_missing_power_field: the reference counts a
			// missing power_w as 0 W and reports 50 J. A missing reading is
			// not a 0 W reading: with one power reading nothing spans the
			// window, so the energy is absent.
			name: "missing power is not 0 W",
			readings: []sampler.Reading{
				reading("nvml", 0, gpu("gpu0", 100, nan, nan)),
				reading("nvml", 1, gpu("gpu0", nan, nan, 50)),
			},
			window: Window{0, sec(1)},
			want: map[string]Figure{
				KeyEnergyJoulesGPUIntegral: Absent("no GPU power readings span the window (gpu0 (nvml): fewer than two power readings span the window)"),
				KeyEnergyJoulesGPU:         Absent("no GPU energy measured (gpu0 (nvml): no energy counter readings; fewer than two power readings span the window)"),
				KeyPowerAvgW:               Absent("no GPU power readings span the window (gpu0 (nvml): fewer than two power readings span the window)"),
				// The 0 s tick has all its GPUs' power: it is a peak.
				KeyPowerPeakW:        Measured(100),
				KeyEnergyJoulesTotal: Absent("neither GPU nor CPU/DRAM energy was measured"),
				KeyGPUUtilAvgPct:     Absent("no GPU utilization readings span the window (gpu0 (nvml): fewer than two utilization readings span the window)"),
			},
		},
		{
			// The same gap between two readings: interpolated across
			// (200 J), where the reference's 0 W gives 100 J.
			name: "missing power is interpolated across",
			readings: []sampler.Reading{
				reading("nvml", 0, gpu("gpu0", 100, nan, nan)),
				reading("nvml", 1, gpu("gpu0", nan, nan, 50)),
				reading("nvml", 2, gpu("gpu0", 100, nan, nan)),
			},
			window: Window{0, sec(2)},
			want: map[string]Figure{
				KeyEnergyJoulesGPUIntegral: Measured(200),
				KeyPowerAvgW:               Measured(100),
				// The tick without power has no per-tick sum.
				KeyPowerPeakW: Measured(100),
			},
		},
		{
			// test_rapl_integrates_delta: 100M → 1100M µJ is 1000 J.
			name: "RAPL delta",
			readings: []sampler.Reading{
				reading("rapl", 0, rapl("package-0", sampler.KindCPUPackage, 100)),
				reading("rapl", 10, rapl("package-0", sampler.KindCPUPackage, 1100)),
			},
			window: w10,
			tokens: 1000,
			want: map[string]Figure{
				KeyEnergyJoulesCPUDRAM: Measured(1000),
				KeyEnergyJoulesTotal:   Measured(1000),
				KeyJoulesPerToken:      Measured(1),
				KeyJoulesPerTokenGPU:   Absent("energy_joules_gpu is absent: no GPU readings in the timeline"),
				KeyRAPLSampleCount:     Measured(2),
				KeyNVMLSampleCount:     Absent("no GPU readings in the timeline"),
			},
			wantWarnings: []string{
				"energy_joules_total covers CPU and DRAM only: energy_joules_gpu is absent (no GPU readings in the timeline)",
			},
		},
		{
			// test_rapl_wraparound_is_treated_as_zero: the reference reports
			// 0 J. Our samplers correct wraps; a counter that still goes
			// down cannot be trusted, so the figure is absent.
			name: "RAPL counter going down",
			readings: []sampler.Reading{
				reading("rapl", 0, rapl("package-0", sampler.KindCPUPackage, 5000)),
				reading("rapl", 1, rapl("package-0", sampler.KindCPUPackage, 1000)),
			},
			window: Window{0, sec(1)},
			want: map[string]Figure{
				KeyEnergyJoulesCPUDRAM: Absent("no CPU package or DRAM energy measured (package-0 (rapl): the energy counter went down by 4000 J at 1s (a reset or wrap the sampler did not correct); no power readings)"),
			},
		},
		{
			// test_zero_tokens_yields_nan_jpt: absent rather than NaN.
			name:     "zero tokens",
			readings: constant(1, 100, true),
			window:   Window{0, sec(1)},
			want: map[string]Figure{
				KeyEnergyJoulesTotal: Measured(100),
				KeyJoulesPerToken:    Absent("no output tokens"),
				KeyJoulesPerTokenGPU: Absent("no output tokens"),
			},
		},
	})
}

// TestWindowEdges checks clipping to the window with interpolation at the
// edges, and clamping when the readings do not reach the edges.
func TestWindowEdges(t *testing.T) {
	// Power 100, 200, 300, 400 W at 0..3 s; the counter grows by the
	// step's mean power; utilization 0, 50, 100, 50 %.
	ramp := []sampler.Reading{
		reading("nvml", 0, gpu("gpu0", 100, 0, 0)),
		reading("nvml", 1, gpu("gpu0", 200, 150, 50)),
		reading("nvml", 2, gpu("gpu0", 300, 400, 100)),
		reading("nvml", 3, gpu("gpu0", 400, 750, 50)),
	}
	runCases(t, []energyCase{
		{
			// Counter: E(0.5 s) = 75, E(2.5 s) = 575: 500 J. Integral:
			// [0.5, 1] 0.5·(150+200)/2 = 87.5, [1, 2] 250, [2, 2.5]
			// 0.5·(300+350)/2 = 162.5: 500 J. Utilization: (18.75 + 75 +
			// 43.75) / 2 s = 68.75 %. Ticks inside: 1 s and 2 s. Under
			// load (> 50 %): only the 2 s tick, whose cell [1.5, 2.5] s
			// lies inside: 300 W.
			name:     "interpolated edges",
			window:   Window{sec(0.5), sec(2.5)},
			readings: ramp, tokens: 250,
			want: map[string]Figure{
				KeyEnergyJoulesGPU:         Measured(500),
				KeyEnergyJoulesGPUIntegral: Measured(500),
				KeyGPUIntegralCounterRatio: Measured(1),
				KeyPowerAvgW:               Measured(250),
				KeyPowerPeakW:              Measured(300),
				KeyPowerAvgWUnderLoad:      Measured(300),
				KeyGPUUtilAvgPct:           Measured(68.75),
				KeyNVMLSampleCount:         Measured(2),
				KeyJoulesPerTokenGPU:       Measured(2),
			},
		},
		{
			name:     "edges on readings",
			window:   Window{sec(1), sec(2)},
			readings: ramp,
			want: map[string]Figure{
				KeyEnergyJoulesGPU:         Measured(250),
				KeyEnergyJoulesGPUIntegral: Measured(250),
				KeyPowerPeakW:              Measured(300),
				KeyNVMLSampleCount:         Measured(2),
			},
		},
		{
			// The readings cover [1, 3] s of [0.9, 3.1] s (91 %): the
			// counter's edge values are clamped to the first and last
			// readings (energy outside them is not counted: 750 − 150 J),
			// the power trace is integrated where it exists (250 + 350 J),
			// and the average is over the covered time.
			name:     "clamped edges",
			window:   Window{sec(0.9), sec(3.1)},
			readings: ramp[1:],
			want: map[string]Figure{
				KeyEnergyJoulesGPU:         Measured(600),
				KeyEnergyJoulesGPUIntegral: Measured(600),
				KeyPowerAvgW:               Measured(300),
			},
			wantWarnings: []string{
				"gpu0 (nvml): readings start 100ms after the window starts and end 100ms before it ends, covering 2s of the 2.2s window; energy outside them is not counted",
				"energy_joules_total covers the GPUs only: energy_joules_cpu_dram is absent (no CPU package or DRAM readings in the timeline)",
			},
		},
		{
			// The readings cover [1, 3] s of [0, 4] s, less than
			// MinCoverage: the device's energy is absent rather than half
			// of the window's reported as the whole (a sampler that
			// stopped answering mid-run).
			name:     "too little coverage",
			window:   Window{0, sec(4)},
			readings: ramp[1:],
			want: map[string]Figure{
				KeyEnergyJoulesGPU:         Absent("no GPU energy measured (gpu0 (nvml): readings start 1s after the window starts and end 1s before it ends, covering 2s of the 4s window (less than 90 %: a sampler that stopped answering?))"),
				KeyEnergyJoulesGPUIntegral: Absent("no GPU power readings span the window (gpu0 (nvml): readings start 1s after the window starts and end 1s before it ends, covering 2s of the 4s window (less than 90 %: a sampler that stopped answering?))"),
				KeyPowerAvgW:               Measured(300),
			},
			wantWarnings: []string{
				"gpu0 (nvml): readings start 1s after the window starts and end 1s before it ends, covering 2s of the 4s window: its energy is left out, not counted short",
			},
		},
		{
			name:     "window before the readings",
			window:   Window{sec(-2), sec(-1)},
			readings: ramp,
			want: map[string]Figure{
				KeyEnergyJoulesGPU: Absent("no GPU energy measured (gpu0 (nvml): the energy counter readings start after the window ends; fewer than two power readings span the window)"),
				KeyNVMLSampleCount: Measured(0),
			},
		},
		{
			name:     "window after the readings",
			window:   Window{sec(4), sec(5)},
			readings: ramp,
			want: map[string]Figure{
				KeyEnergyJoulesGPU:    Absent("no GPU energy measured (gpu0 (nvml): the energy counter readings end before the window starts; fewer than two power readings span the window)"),
				KeyPowerPeakW:         Absent("nvml: no tick inside the window has power readings of all its GPUs"),
				KeyPowerAvgWUnderLoad: Absent("nvml: no tick in the window had a mean GPU utilization above 50 % and power readings of all its GPUs"),
			},
		},
		{
			name:     "one reading inside",
			window:   Window{sec(1.5), sec(2.5)},
			readings: ramp[2:3],
			want: map[string]Figure{
				KeyEnergyJoulesGPU: Absent("no GPU energy measured (gpu0 (nvml): fewer than two energy counter readings span the window; fewer than two power readings span the window)"),
				KeyPowerPeakW:      Measured(300),
				KeyNVMLSampleCount: Measured(1),
			},
		},
	})
}

// TestCounterVersusIntegral shows why the counter is the figure of record:
// a GPU drawing 500 W for 25 ms and 100 W for 75 ms of every 100 ms,
// whose power is read every 100 ms always in the 500 W phase (aliasing,
// as with NVML's partial-time power sampling), integrates to 2.5 times the
// energy its counter measures.
func TestCounterVersusIntegral(t *testing.T) {
	var rs []sampler.Reading
	for k := 0; k <= 100; k++ {
		tk := 0.010 + 0.1*float64(k)
		// 200 W average: 20 J per period, plus the 5 J of the first 10 ms.
		rs = append(rs, reading("nvml", tk, gpu("gpu0", 500, 20*float64(k)+5, 100)))
	}
	runCases(t, []energyCase{{
		name:     "square wave",
		window:   Window{sec(0.010), sec(10.010)},
		readings: rs,
		want: map[string]Figure{
			KeyEnergyJoulesGPU:         Measured(2000),
			KeyEnergyJoulesGPUIntegral: Measured(5000),
			KeyGPUIntegralCounterRatio: Measured(2.5),
			KeyPowerAvgW:               Measured(500),
			KeyNVMLSampleCount:         Measured(101),
		},
	}})
}

// TestUnderLoad checks the under-load filter on two GPUs with ticks at
// 0..4 s. Mean utilization per tick: 0, 60, 100, 50, 60 %; summed power
// 100, 400, 600, 300, 500 W; tick cells [0,0.5], [0.5,1.5], [1.5,2.5],
// [2.5,3.5], [3.5,4]. Loaded (> 50 %): ticks 1, 2 and 4:
// (400·1 + 600·1 + 500·0.5) / 2.5 = 500 W. Under a 90 % threshold only
// tick 2 is loaded: 600 W.
func TestUnderLoad(t *testing.T) {
	p := [][2]float64{{50, 50}, {250, 150}, {300, 300}, {150, 150}, {300, 200}}
	u := [][2]float64{{0, 0}, {100, 20}, {100, 100}, {50, 50}, {90, 30}}
	var rs []sampler.Reading
	for i := range p {
		rs = append(rs, reading("nvml", float64(i),
			gpu("gpu0", p[i][0], nan, u[i][0]), gpu("gpu1", p[i][1], nan, u[i][1])))
	}
	// gpu0: ∫P = 150+275+225+225 = 875 J, ∫U = 50+100+75+70 = 295;
	// gpu1: 100+225+225+175 = 725 J, ∫U = 10+60+75+40 = 185.
	common := map[string]Figure{
		KeyPowerAvgW:               Measured(875.0/4 + 725.0/4),
		KeyPowerPeakW:              Measured(600),
		KeyEnergyJoulesGPUIntegral: Measured(1600),
		KeyGPUUtilAvgPct:           Measured((295.0/4 + 185.0/4) / 2),
	}
	with := func(k string, f Figure) map[string]Figure {
		m := map[string]Figure{k: f}
		for k, v := range common {
			m[k] = v
		}
		return m
	}
	runCases(t, []energyCase{
		{name: "default threshold", readings: rs, window: Window{0, sec(4)},
			want: with(KeyPowerAvgWUnderLoad, Measured(500))},
		{name: "threshold 90", readings: rs, window: Window{0, sec(4)}, opts: []Option{WithLoadThreshold(90)},
			want: with(KeyPowerAvgWUnderLoad, Measured(600))},
		{name: "threshold 99.9 and 0", readings: rs, window: Window{0, sec(4)},
			opts: []Option{WithLoadThreshold(99.9), WithLoadThreshold(0)}, // the last one wins
			// Ticks above 0 %: 1..4: (400 + 600 + 300 + 500·0.5) / 3.5.
			want: with(KeyPowerAvgWUnderLoad, Measured((400+600+300+500*0.5)/3.5))},
	})
	if got := common[KeyPowerAvgW].Value; got != 400 {
		t.Errorf("power_avg_w = %v; want 400", got)
	}
	if got := common[KeyGPUUtilAvgPct].Value; got != 60 {
		t.Errorf("gpu_util_avg_pct = %v; want 60", got)
	}
}

// TestSamplersInterleaved mixes a local NVML sampler (two GPUs), RAPL
// (package, DRAM and a psys domain that must not be added) and a remote
// sampler with one GPU, interleaved in time order as the timeline writer
// receives them.
func TestSamplersInterleaved(t *testing.T) {
	var rs []sampler.Reading
	for i := 0; i <= 4; i++ {
		ti := float64(i)
		rs = append(rs, reading("nvml", ti, gpu("gpu0", 100, 100*ti, 100), gpu("gpu1", 100, 100*ti, 100)))
		rs = append(rs, reading("remote", ti+0.25, gpu("h2/gpu0", 200, 200*(ti+0.25), 80)))
		tr := ti + 0.5
		rs = append(rs, reading("rapl", tr,
			rapl("package-0", sampler.KindCPUPackage, 50*tr),
			rapl("dram-0", sampler.KindDRAM, 10*tr),
			rapl("psys", sampler.KindOther, 1000*tr)))
	}
	runCases(t, []energyCase{{
		name:     "nvml, remote and rapl",
		readings: rs,
		window:   Window{sec(1), sec(4)},
		tokens:   600,
		want: map[string]Figure{
			KeyEnergyJoulesGPU:         Measured(1200),
			KeyEnergyJoulesGPUIntegral: Measured(1200),
			KeyGPUIntegralCounterRatio: Measured(1),
			KeyEnergyJoulesCPUDRAM:     Measured(150 + 30),
			KeyEnergyJoulesTotal:       Measured(1380),
			KeyJoulesPerToken:          Measured(1380.0 / 600),
			KeyJoulesPerTokenGPU:       Measured(2),
			KeyPowerAvgW:               Measured(400),
			KeyPowerPeakW:              Measured(400),
			KeyPowerAvgWUnderLoad:      Measured(400),
			KeyGPUUtilAvgPct:           Measured((100.0 + 100 + 80) / 3),
			// Ticks that read a GPU: 4 of nvml and 3 of remote; the
			// remote sampler reads GPUs, so it has no count of its own.
			KeyNVMLSampleCount: Measured(4 + 3),
			KeyRAPLSampleCount: Measured(3),
		},
		wantWarnings: []string{
			"GPUs come from 2 samplers (nvml, remote) whose ticks are not simultaneous: power_peak_w and power_avg_w_under_load are the sums of each sampler's figure (the peak is an upper bound)",
		},
	}})

	// The per-device view: psys is listed with its energy but not added.
	rep, err := Compute(timeline(t, rs), Window{sec(1), sec(4)}, 600)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, d := range rep.Devices {
		names = append(names, d.Sampler+"/"+d.Device+"="+d.EnergyJ.String()+" "+d.EnergySource)
	}
	want := []string{"nvml/gpu0=300 counter", "nvml/gpu1=300 counter", "remote/h2/gpu0=600 counter",
		"rapl/package-0=150 counter", "rapl/dram-0=30 counter", "rapl/psys=3000 counter"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("devices (-want +got):\n%s", diff)
	}
	wantS := []SamplerSummary{
		{"nvml", 5, 4, []sampler.Kind{sampler.KindGPU}},
		{"remote", 5, 3, []sampler.Kind{sampler.KindGPU}},
		{"rapl", 5, 3, []sampler.Kind{sampler.KindCPUPackage, sampler.KindDRAM, sampler.KindOther}},
	}
	if diff := cmp.Diff(wantS, rep.Samplers); diff != "" {
		t.Errorf("samplers (-want +got):\n%s", diff)
	}
}

// TestAbsentFigures checks that nothing measured is reported as absent
// with a reason, never as 0 (the reference emits joules_per_token 0.0
// without telemetry, FACTS §10.18).
func TestAbsentFigures(t *testing.T) {
	noGPU := "no GPU readings in the timeline"
	runCases(t, []energyCase{{
		name:     "empty timeline",
		window:   Window{0, sec(10)},
		tokens:   1000,
		readings: nil,
		want: map[string]Figure{
			KeyEnergyJoulesTotal:       Absent("neither GPU nor CPU/DRAM energy was measured"),
			KeyEnergyJoulesGPU:         Absent(noGPU),
			KeyEnergyJoulesGPUIntegral: Absent(noGPU),
			KeyGPUIntegralCounterRatio: Absent(noGPU),
			KeyEnergyJoulesCPUDRAM:     Absent("no CPU package or DRAM readings in the timeline"),
			KeyPowerAvgW:               Absent(noGPU),
			KeyPowerPeakW:              Absent(noGPU),
			KeyPowerAvgWUnderLoad:      Absent(noGPU),
			KeyGPUUtilAvgPct:           Absent(noGPU),
			KeyJoulesPerToken:          Absent("energy_joules_total is absent: neither GPU nor CPU/DRAM energy was measured"),
			KeyJoulesPerTokenGPU:       Absent("energy_joules_gpu is absent: no GPU readings in the timeline"),
			KeyNVMLSampleCount:         Absent("no GPU readings in the timeline"),
			KeyRAPLSampleCount:         Absent("no CPU package or DRAM readings in the timeline"),
		},
		wantWarnings: []string{},
	}, {
		name:   "GPUs without utilization",
		window: Window{0, sec(1)},
		readings: []sampler.Reading{
			reading("nvml", 0, gpu("gpu0", 100, 0, nan)),
			reading("nvml", 1, gpu("gpu0", 100, 100, nan)),
		},
		want: map[string]Figure{
			KeyEnergyJoulesGPU:    Measured(100),
			KeyGPUUtilAvgPct:      Absent("no GPU utilization readings span the window (gpu0 (nvml): no utilization readings)"),
			KeyPowerAvgWUnderLoad: Absent("nvml: no GPU utilization readings"),
		},
	}, {
		name:   "an infinite power reading is not a reading",
		window: Window{0, sec(2)},
		readings: []sampler.Reading{
			reading("nvml", 0, gpu("gpu0", 100, nan, nan)),
			reading("nvml", 1, gpu("gpu0", math.Inf(1), nan, nan)),
			reading("nvml", 2, gpu("gpu0", 100, nan, nan)),
		},
		want: map[string]Figure{
			KeyEnergyJoulesGPUIntegral: Measured(200),
			KeyPowerPeakW:              Measured(100),
		},
	}, {
		name:   "one GPU of two without a counter",
		window: Window{0, sec(1)},
		readings: []sampler.Reading{
			reading("nvml", 0, gpu("gpu0", 100, 0, 10), gpu("gpu1", nan, nan, 10)),
			reading("nvml", 1, gpu("gpu0", 100, 100, 10), gpu("gpu1", nan, nan, 10)),
		},
		want: map[string]Figure{
			KeyEnergyJoulesGPU: Measured(100),
			KeyPowerPeakW:      Absent("nvml: no tick inside the window has power readings of all its GPUs"),
		},
		wantWarnings: []string{
			"energy_joules_gpu leaves out gpu1 (nvml): no energy counter readings; no power readings",
			"energy_joules_gpu_integral leaves out gpu1 (nvml): no power trace spans the window",
			"power_avg_w leaves out gpu1 (nvml): no power readings",
			"energy_joules_total covers the GPUs only: energy_joules_cpu_dram is absent (no CPU package or DRAM readings in the timeline)",
		},
	}})
}

func TestOutOfOrder(t *testing.T) {
	rs := []sampler.Reading{
		reading("nvml", 0, gpu("gpu0", 100, 0, nan)),
		reading("nvml", 2, gpu("gpu0", 100, 200, nan)),
		reading("nvml", 1, gpu("gpu0", 900, 9999, nan)), // late: ignored
		reading("nvml", 2, gpu("gpu0", 900, 9999, nan)), // repeated time: ignored
	}
	runCases(t, []energyCase{{
		name: "late readings", readings: rs, window: Window{0, sec(2)},
		want: map[string]Figure{
			KeyEnergyJoulesGPU: Measured(200),
			KeyPowerPeakW:      Measured(100),
			KeyNVMLSampleCount: Measured(2),
		},
		wantWarnings: []string{
			"nvml: 2 readings not later than the sampler's previous one were ignored",
			"energy_joules_total covers the GPUs only: energy_joules_cpu_dram is absent (no CPU package or DRAM readings in the timeline)",
		},
	}})
}

func TestErrors(t *testing.T) {
	if _, err := Compute(strings.NewReader(""), Window{sec(1), sec(1)}, 0); err == nil {
		t.Error("empty window accepted")
	}
	if _, err := Compute(strings.NewReader(""), Window{0, sec(1)}, -1); err == nil {
		t.Error("negative tokens accepted")
	}
	_, err := NewAccumulator(Window{sec(2), sec(1)}, WithLoadThreshold(100))
	if err == nil || !strings.Contains(err.Error(), "window end") || !strings.Contains(err.Error(), "load threshold") {
		t.Errorf("want both problems reported, got %v", err)
	}
	if _, err := NewAccumulator(Window{0, sec(1)}, WithLoadThreshold(math.NaN())); err == nil {
		t.Error("NaN threshold accepted")
	}
	bad := "t_ns,sampler\n1,nvml\n"
	if _, err := Compute(strings.NewReader(bad), Window{0, sec(1)}, 0); err == nil {
		t.Error("malformed timeline accepted")
	}
	stop := errors.New("read failure")
	if _, err := Compute(&failingReader{err: stop}, Window{0, sec(1)}, 0); !errors.Is(err, stop) {
		t.Errorf("read error not wrapped: %v", err)
	}
}

type failingReader struct{ err error }

func (f *failingReader) Read([]byte) (int, error) { return 0, f.err }

// TestReportIsRepeatable checks that Report does not consume the
// accumulator's state.
func TestReportIsRepeatable(t *testing.T) {
	a, err := NewAccumulator(Window{0, sec(4)})
	if err != nil {
		t.Fatal(err)
	}
	rs := constant(4, 100, true)
	for _, r := range rs[:3] {
		a.Add(r)
	}
	r1, _ := a.Report(10)
	r2, _ := a.Report(10)
	if diff := cmp.Diff(r1, r2); diff != "" {
		t.Errorf("second Report differs (-first +second):\n%s", diff)
	}
	for _, r := range rs[3:] {
		a.Add(r)
	}
	r3, _ := a.Report(10)
	if got := r3.EnergyJoulesGPU; got != Measured(400) {
		t.Errorf("after more readings: energy_joules_gpu = %v; want 400", got)
	}
	if !slices.ContainsFunc(r1.Warnings, func(s string) bool { return strings.Contains(s, "end 2s before it ends") }) {
		t.Errorf("partial report lacks the coverage warning: %q", r1.Warnings)
	}
}

func TestFigureString(t *testing.T) {
	if got := Measured(1.5).String(); got != "1.5" {
		t.Errorf("Measured(1.5) = %q", got)
	}
	if got := Absent("why").String(); got != "absent: why" {
		t.Errorf("Absent = %q", got)
	}
	var zero Figure
	if _, ok := zero.Get(); ok {
		t.Error("the zero Figure is measured")
	}
	rep, _ := Compute(strings.NewReader(""), Window{0, sec(1)}, 0)
	if f, ok := rep.Figure(KeyPowerAvgW); !ok || f.Measured {
		t.Errorf("Figure(power_avg_w) = %v, %v", f, ok)
	}
	if _, ok := rep.Figure("nope"); ok {
		t.Error("unknown key found")
	}
}
