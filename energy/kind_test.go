package energy

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/benchprof/benchprof/sampler"
)

// ticks returns one reading per second at 0..n s from the sampler smp,
// each of the devices devs.
func ticks(smp string, n int, devs ...dev) []sampler.Reading {
	var rs []sampler.Reading
	for i := 0; i <= n; i++ {
		rs = append(rs, reading(smp, float64(i), devs...))
	}
	return rs
}

// TestFiguresKeyOnKinds: the sample counts count the ticks that read a
// kind of device, whatever the sampler's name, and a name never stands in
// for a kind.
func TestFiguresKeyOnKinds(t *testing.T) {
	w := Window{sec(1), sec(3)} // ticks 1, 2 and 3 of 0..4 are inside
	gpu0 := gpu("gpu0", 100, nan, 50)
	pkg := rapl("package-0", sampler.KindCPUPackage, 10)
	psys := rapl("psys", sampler.KindOther, 10)
	noGPU := Absent("no GPU readings in the timeline")
	noCPU := Absent("no CPU package or DRAM readings in the timeline")
	runCases(t, []energyCase{{
		name: "a GPU sampler named nvml", readings: ticks("nvml", 4, gpu0), window: w,
		want: map[string]Figure{KeyNVMLSampleCount: Measured(3), KeyRAPLSampleCount: noCPU, KeyPowerAvgW: Measured(100)},
	}, {
		name: "the same GPU sampler under another name", readings: ticks("dcgm", 4, gpu0), window: w,
		want: map[string]Figure{KeyNVMLSampleCount: Measured(3), KeyRAPLSampleCount: noCPU, KeyPowerAvgW: Measured(100)},
	}, {
		name: "a CPU sampler named nvml counts as CPU", readings: ticks("nvml", 4, pkg), window: w,
		want: map[string]Figure{KeyNVMLSampleCount: noGPU, KeyRAPLSampleCount: Measured(3), KeyPowerAvgW: noGPU},
	}, {
		name: "a GPU sampler named rapl counts as GPU", readings: ticks("rapl", 4, gpu0), window: w,
		want: map[string]Figure{KeyNVMLSampleCount: Measured(3), KeyRAPLSampleCount: noCPU},
	}, {
		name: "a sampler of GPUs and CPUs counts in both", readings: ticks("remote", 4, gpu0, pkg), window: w,
		want: map[string]Figure{KeyNVMLSampleCount: Measured(3), KeyRAPLSampleCount: Measured(3)},
	}, {
		name: "two GPU samplers add up", readings: mergeByTime(ticks("a", 4, gpu0), shift(ticks("b", 4, gpu("h/gpu0", 100, nan, 50)), 0.5)), window: w,
		// a: 1, 2, 3; b: 1.5, 2.5.
		want: map[string]Figure{KeyNVMLSampleCount: Measured(5)},
	}, {
		name: "a sampler of other devices has its own count", readings: ticks("platform", 4, psys), window: w,
		want: map[string]Figure{"platform_sample_count": Measured(3), KeyNVMLSampleCount: noGPU, KeyRAPLSampleCount: noCPU},
	}, {
		name: "a sampler of other devices named nvml cannot make nvml_sample_count", readings: ticks("nvml", 4, psys), window: w,
		want: map[string]Figure{KeyNVMLSampleCount: noGPU, KeyRAPLSampleCount: noCPU},
		wantWarnings: []string{
			"nvml: the sampler reads no GPU, CPU package or DRAM, but its own sample count would be named nvml_sample_count, which is a figure's key: it is left out",
		},
	}})
}

// shift moves readings by d seconds.
func shift(rs []sampler.Reading, d float64) []sampler.Reading {
	for i := range rs {
		rs[i].At += sec(d)
	}
	return rs
}

// mergeByTime merges two time-ordered reading lists.
func mergeByTime(a, b []sampler.Reading) []sampler.Reading {
	out := append(slices.Clone(a), b...)
	slices.SortStableFunc(out, func(x, y sampler.Reading) int { return int(x.At - y.At) })
	return out
}

// TestGPUIntervalP99: nvml_interval_p99_ms is the largest achieved p99 of
// the samplers that read a GPU, whatever their names.
func TestGPUIntervalP99(t *testing.T) {
	w := Window{0, sec(4)}
	gpuTicks := mergeByTime(ticks("local", 4, gpu("gpu0", 100, nan, 50)), shift(ticks("dcgm", 4, gpu("h/gpu0", 100, nan, 50)), 0.5))
	withCPU := mergeByTime(ticks("local", 4, gpu("gpu0", 100, nan, 50)), shift(ticks("nvml", 4, rapl("package-0", sampler.KindCPUPackage, 10)), 0.5))
	st := func(name string, readings int64, p99 time.Duration) sampler.Stats {
		return sampler.Stats{Sampler: name, Readings: readings, IntervalP99: p99}
	}
	key := func(f Figure) map[string]Figure { return map[string]Figure{KeyNVMLIntervalP99Ms: f} }
	runCases(t, []energyCase{{
		name: "no GPU sampler", readings: nil, window: w,
		want: key(Absent("no GPU readings in the timeline")),
	}, {
		name: "no stats", readings: gpuTicks, window: w,
		want: key(Absent("no sampler statistics were given (energy.WithSamplerStats)")),
	}, {
		name: "the largest of two GPU samplers", readings: gpuTicks, window: w,
		opts: []Option{WithSamplerStats(st("local", 5, 12*time.Millisecond), st("dcgm", 5, 1500*time.Millisecond))},
		want: key(Measured(1500)),
	}, {
		name: "stats added by repeats", readings: gpuTicks, window: w,
		opts: []Option{WithSamplerStats(st("local", 5, 12*time.Millisecond)), WithSamplerStats(st("dcgm", 5, 11*time.Millisecond))},
		want: key(Measured(12)),
	}, {
		name: "a CPU sampler named nvml is not a GPU sampler", readings: withCPU, window: w,
		opts: []Option{WithSamplerStats(st("local", 5, 10500*time.Microsecond), st("nvml", 5, 900*time.Millisecond))},
		want: key(Measured(10.5)),
	}, {
		name: "one reading has no interval", readings: gpuTicks, window: w,
		opts: []Option{WithSamplerStats(st("local", 1, 0), st("dcgm", 1, 0))},
		want: key(Absent("no GPU sampler took two readings")),
	}})
}

// TestMetricsOrder: the envelope's order of the figures, kept from the
// reference, and every figure placed in it once.
func TestMetricsOrder(t *testing.T) {
	var rs []sampler.Reading
	for i := 0; i <= 4; i++ {
		ti := float64(i)
		rs = append(rs, reading("g", ti, gpu("gpu0", 100, 100*ti, 80)))
		rs = append(rs, reading("c", ti+0.25, rapl("package-0", sampler.KindCPUPackage, 10*ti)))
		rs = append(rs, reading("p", ti+0.5, rapl("psys", sampler.KindOther, 10*ti)))
	}
	rep, err := Compute(timeline(t, rs), Window{0, sec(4)}, 100, WithSamplerStats(sampler.Stats{Sampler: "g", Readings: 5, IntervalP99: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	head, tail := rep.Metrics()
	keys := func(ns []Named) []string {
		var ks []string
		for _, n := range ns {
			ks = append(ks, n.Key)
		}
		return ks
	}
	wantHead := []string{KeyPowerAvgW, KeyPowerPeakW, KeyEnergyJoulesTotal, KeyJoulesPerToken}
	wantTail := []string{KeyGPUUtilAvgPct, KeyEnergyJoulesGPU, KeyEnergyJoulesCPUDRAM, KeyPowerAvgWUnderLoad,
		KeyEnergyJoulesGPUIntegral, KeyGPUIntegralCounterRatio, KeyJoulesPerTokenGPU,
		KeyNVMLSampleCount, KeyRAPLSampleCount, KeyNVMLIntervalP99Ms, "p_sample_count"}
	if diff := cmp.Diff(wantHead, keys(head)); diff != "" {
		t.Errorf("head (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantTail, keys(tail)); diff != "" {
		t.Errorf("tail (-want +got):\n%s", diff)
	}
	// Figures lists every key in the same order, absent ones included.
	absent := []string{KeyPowerIdleW, KeyEnergyJoulesGPUAboveIdle, KeyJoulesPerTokenAboveIdle,
		KeyPowerAvgWOtherGPUs, KeyEnergyJoulesGPUOtherGPUs, KeyEnergyJoulesGPUIdleGaps,
		KeyJoulesPerRequestP50, KeyJoulesPerRequestP99, KeyJoulesPerOutputTokenP50, KeyJoulesPerOutputTokenP99}
	all := slices.Concat(wantHead, wantTail[:len(wantTail)-1], absent)
	if diff := cmp.Diff(append(slices.Clone(all), "p_sample_count"), keys(rep.Figures())); diff != "" {
		t.Errorf("Figures (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(all, Keys()); diff != "" {
		t.Errorf("Keys (-want +got):\n%s", diff)
	}
	// Only measured figures are metrics.
	empty, _ := Compute(timeline(t, nil), Window{0, sec(4)}, 100)
	if h, tl := empty.Metrics(); len(h)+len(tl) != 0 {
		t.Errorf("metrics of an empty timeline: %v %v", h, tl)
	}
}

func TestFigureKinds(t *testing.T) {
	gpuK := []sampler.Kind{sampler.KindGPU}
	cpuK := []sampler.Kind{sampler.KindCPUPackage, sampler.KindDRAM}
	allK := []sampler.Kind{sampler.KindGPU, sampler.KindCPUPackage, sampler.KindDRAM}
	tests := []struct {
		key  string
		want []sampler.Kind
	}{
		{KeyEnergyJoulesGPU, gpuK},
		{KeyPowerAvgWUnderLoad, gpuK},
		{KeyNVMLSampleCount, gpuK},
		{KeyNVMLIntervalP99Ms, gpuK},
		{KeyEnergyJoulesCPUDRAM, cpuK},
		{KeyRAPLSampleCount, cpuK},
		{KeyEnergyJoulesTotal, allK},
		{KeyJoulesPerToken, allK},
		{"platform_sample_count", nil},
		{"nope", nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, FigureKinds(tt.key), cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("FigureKinds(%s) (-want +got):\n%s", tt.key, diff)
		}
	}
	// Every figure of a report carries its kinds.
	rep, _ := Compute(timeline(t, nil), Window{0, sec(1)}, 0)
	for _, n := range rep.Figures() {
		if diff := cmp.Diff(FigureKinds(n.Key), n.Kinds); diff != "" {
			t.Errorf("%s: Kinds (-FigureKinds +Named):\n%s", n.Key, diff)
		}
	}
}

// TestNameCannotSpoofKind: a sampler named nvml that reads no GPU adds no
// second nvml_sample_count, measured or not, to Figures or Metrics.
func TestNameCannotSpoofKind(t *testing.T) {
	for _, devs := range [][]dev{{rapl("psys", sampler.KindOther, 10)}, {rapl("package-0", sampler.KindCPUPackage, 10)}} {
		rep, err := Compute(timeline(t, ticks("nvml", 4, devs...)), Window{0, sec(4)}, 0,
			WithSamplerStats(sampler.Stats{Sampler: "nvml", Readings: 5, IntervalP99: time.Second}))
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, f := range rep.Figures() {
			if f.Key == KeyNVMLSampleCount || f.Key == KeyNVMLIntervalP99Ms {
				n++
				if f.Measured {
					t.Errorf("%s kind: %s measured: %v", devs[0].kind, f.Key, f.Figure)
				}
			}
		}
		if n != 2 {
			t.Errorf("%s kind: nvml_sample_count and nvml_interval_p99_ms listed %d times together; want once each", devs[0].kind, n)
		}
		_, tail := rep.Metrics()
		for _, m := range tail {
			if m.Key == KeyNVMLSampleCount || m.Key == KeyNVMLIntervalP99Ms {
				t.Errorf("%s kind: metric %s = %v", devs[0].kind, m.Key, m.Figure)
			}
		}
	}
}
