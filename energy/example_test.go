package energy_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/sampler"
)

// A 10-second run: one GPU drawing 300 W at 90 % utilization, read by NVML
// every second, and one CPU package drawing 50 W, read by RAPL every two
// seconds. The measurement window is [2 s, 8 s] (warmup excluded) and
// 3600 output tokens were generated in it.
func ExampleCompute() {
	var timeline bytes.Buffer
	w := sampler.NewTimelineWriter(&timeline)
	for i := range 11 {
		at := time.Duration(i) * time.Second
		g := sampler.NewDeviceReading("gpu0", sampler.KindGPU)
		g.PowerW, g.EnergyJ, g.UtilPct = 300, 300*float64(i), 90
		_ = w.Write(sampler.Reading{Sampler: "nvml", Tick: int64(i), At: at, Devices: []sampler.DeviceReading{g}})
		if i%2 == 0 {
			p := sampler.NewDeviceReading("package-0", sampler.KindCPUPackage)
			p.EnergyJ = 50 * float64(i)
			_ = w.Write(sampler.Reading{Sampler: "rapl", Tick: int64(i / 2), At: at, Devices: []sampler.DeviceReading{p}})
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}

	rep, err := energy.Compute(&timeline, energy.Window{Start: 2 * time.Second, End: 8 * time.Second}, 3600)
	if err != nil {
		panic(err)
	}
	for _, f := range rep.Figures() {
		fmt.Printf("%-37s %-6s %s\n", f.Key, f.Unit, f.Figure)
	}
	for _, s := range rep.Warnings {
		fmt.Println("warning:", s)
	}
	// Output:
	// energy_joules_total                   J      2100
	// energy_joules_gpu                     J      1800
	// energy_joules_gpu_integral            J      1800
	// energy_gpu_integral_to_counter_ratio  ratio  1
	// energy_joules_cpu_dram                J      300
	// power_avg_w                           W      300
	// power_peak_w                          W      300
	// power_avg_w_under_load                W      300
	// gpu_util_avg_pct                      %      90
	// joules_per_token                      J/token 0.5833333333333334
	// joules_per_token_gpu                  J/token 0.5
	// nvml_sample_count                     count  7
	// rapl_sample_count                     count  4
}
