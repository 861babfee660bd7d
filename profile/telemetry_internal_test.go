package profile

import (
	"math"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/benchprof/benchprof/sampler"
)

// TestProgressPowerByKind: the progress display's GPU power adds up the
// devices of kind GPU of every sampler, whatever the samplers' names.
func TestProgressPowerByKind(t *testing.T) {
	dev := func(name string, kind sampler.Kind, w float64) sampler.DeviceReading {
		d := sampler.NewDeviceReading(name, kind)
		d.PowerW = w
		return d
	}
	nan := math.NaN()
	tests := []struct {
		name     string
		readings [][]sampler.DeviceReading // the latest reading of each sampler
		want     float64
	}{
		{"no reading", [][]sampler.DeviceReading{nil, nil}, nan},
		{"GPUs of one sampler", [][]sampler.DeviceReading{{dev("gpu0", sampler.KindGPU, 300), dev("gpu1", sampler.KindGPU, 250)}}, 550},
		{"CPU power is not GPU power", [][]sampler.DeviceReading{{dev("package-0", sampler.KindCPUPackage, 80), dev("dram-0", sampler.KindDRAM, 20)}}, nan},
		{"a GPU without power", [][]sampler.DeviceReading{{dev("gpu0", sampler.KindGPU, nan), dev("gpu1", sampler.KindGPU, 250)}}, 250},
		{"GPUs of two samplers add up", [][]sampler.DeviceReading{
			{dev("gpu0", sampler.KindGPU, 300)},
			{dev("package-0", sampler.KindCPUPackage, 80)},
			{dev("h7/gpu0", sampler.KindGPU, 400), dev("h7/package-0", sampler.KindCPUPackage, 90)},
		}, 700},
	}
	for _, tt := range tests {
		latest := make([]atomic.Uint64, len(tt.readings))
		for i, devs := range tt.readings {
			latest[i].Store(math.Float64bits(nan))
			if w, ok := gpuPowerW(devs); ok {
				latest[i].Store(math.Float64bits(w))
			}
		}
		if diff := cmp.Diff(tt.want, latestGPUPowerW(latest), cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("%s: GPU power (-want +got):\n%s", tt.name, diff)
		}
	}
}
