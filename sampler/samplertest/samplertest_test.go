package samplertest_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

func TestConformance(t *testing.T) {
	t.Run("GPU", func(t *testing.T) {
		samplertest.Conformance(t, func() (sampler.Sampler, error) {
			return &samplertest.GPU{Devices: 2, PowerW: 300, UtilPct: 80}, nil
		})
	})
	t.Run("CPU", func(t *testing.T) {
		samplertest.Conformance(t, func() (sampler.Sampler, error) {
			return &samplertest.CPU{Packages: 2, DRAM: 2, PackageW: 100, DRAMW: 10}, nil
		})
	})
}

func TestNames(t *testing.T) {
	tests := []struct {
		s    sampler.Sampler
		want string
	}{
		{&samplertest.GPU{}, "fake-gpu"},
		{&samplertest.GPU{SamplerName: "dcgm"}, "dcgm"},
		{&samplertest.CPU{}, "fake-cpu"},
		{&samplertest.CPU{SamplerName: "node"}, "node"},
	}
	for _, tt := range tests {
		if got := tt.s.Name(); got != tt.want {
			t.Errorf("%T.Name() = %q; want %q", tt.s, got, tt.want)
		}
	}
}

// TestExactEnergy: the counters are the exact integral of the power, on a
// fake clock.
func TestExactEnergy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &samplertest.GPU{Devices: 1, PowerW: 300, UtilPct: 50}
		c := &samplertest.CPU{Packages: 1, DRAM: 1, PackageW: 100, DRAMW: 10}
		var got [][]sampler.DeviceReading
		for range 2 {
			var rs []sampler.DeviceReading
			var err error
			if rs, err = g.Sample(t.Context(), rs); err != nil {
				t.Fatal(err)
			}
			if rs, err = c.Sample(t.Context(), rs); err != nil {
				t.Fatal(err)
			}
			got = append(got, rs)
			time.Sleep(2 * time.Second)
		}
		reading := func(dev string, kind sampler.Kind, p, e, u float64) sampler.DeviceReading {
			r := sampler.NewDeviceReading(dev, kind)
			r.PowerW, r.EnergyJ, r.UtilPct = p, e, u
			return r
		}
		nan := math.NaN()
		want := [][]sampler.DeviceReading{
			{reading("gpu0", sampler.KindGPU, 300, 0, 50), reading("package-0", sampler.KindCPUPackage, 100, 0, nan), reading("dram-0", sampler.KindDRAM, 10, 0, nan)},
			{reading("gpu0", sampler.KindGPU, 300, 600, 50), reading("package-0", sampler.KindCPUPackage, 100, 200, nan), reading("dram-0", sampler.KindDRAM, 10, 20, nan)},
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("readings (-want +got):\n%s", diff)
		}
	})
}

func TestDescribeCPU(t *testing.T) {
	got := (&samplertest.CPU{Packages: 1, DRAM: 1}).Describe().Devices
	want := []sampler.DeviceInfo{
		{Device: "package-0", Kind: sampler.KindCPUPackage, Model: "Fake CPU"},
		{Device: "dram-0", Kind: sampler.KindDRAM, Model: "Fake DRAM"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}

// broken is a sampler that breaks one rule of the contract.
type broken struct {
	rule  string
	ticks int
}

func (b *broken) Name() string {
	if b.rule == "name changes" && b.ticks > 0 {
		return "other"
	}
	return "broken"
}

func (b *broken) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	if b.rule != "ignores ctx" {
		if err := ctx.Err(); err != nil {
			return dst, err
		}
	}
	b.ticks++
	r := sampler.NewDeviceReading("gpu0", sampler.KindGPU)
	r.PowerW, r.EnergyJ = 100, float64(100*b.ticks)
	switch b.rule {
	case "zeros":
		r = sampler.DeviceReading{Device: "gpu0", Kind: sampler.KindGPU}
	case "no kind":
		r.Kind = ""
	case "energy decreases":
		r.EnergyJ = float64(-b.ticks)
	case "overwrites dst":
		return append(dst[:0], r), nil
	case "device renamed":
		r.Device = "gpu" + string(rune('0'+b.ticks))
	case "undescribed":
		dst = append(dst, r)
		r.Device = "gpu9"
	}
	return append(dst, r), nil
}

func (b *broken) Close() error { return nil }

func (b *broken) Describe() sampler.Info {
	return sampler.Info{Devices: []sampler.DeviceInfo{{Device: "gpu0", Kind: sampler.KindGPU}}}
}

// TestConformanceCatches runs Conformance on samplers that each break one
// rule, in a child process (a failing Conformance fails its test), and
// checks that the failure names the rule.
func TestConformanceCatches(t *testing.T) {
	if rule := os.Getenv("SAMPLERTEST_BROKEN_RULE"); rule != "" {
		samplertest.Conformance(t, func() (sampler.Sampler, error) { return &broken{rule: rule}, nil })
		return
	}
	tests := []struct{ rule, want string }{
		{"name changes", `Name() changed from "broken" to "other"`},
		{"ignores ctx", "want an error wrapping context.Canceled"},
		{"zeros", "must be NaN (start from sampler.NewDeviceReading), not 0"},
		{"no kind", `gpu0 has kind "", not one of gpu, cpu_package, dram, other`},
		{"energy decreases", "gpu0: energy counter went down from -1 to -2 J"},
		{"overwrites dst", "keeping what dst held"},
		{"device renamed", "a healthy source reads the same devices"},
		{"undescribed", "gpu9 (gpu) is read but Describe does not list it"},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestConformanceCatches$", "-test.v")
			cmd.Env = append(os.Environ(), "SAMPLERTEST_BROKEN_RULE="+tt.rule)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("Conformance passed a sampler that %s:\n%s", tt.rule, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("Conformance output does not say %q:\n%s", tt.want, out)
			}
		})
	}
}
