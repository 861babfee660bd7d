package energy_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/sampler"
)

// A 10-second run: one GPU drawing 300 W at 90 % utilization, read every
// second, and one CPU package drawing 50 W, read every two seconds. The
// measurement window is [2 s, 8 s] (warmup excluded) and 3600 output tokens
// were generated in it. The samplers' names are only labels: the GPU
// figures and nvml_sample_count come from the devices of kind gpu, whatever
// sampler read them.
func ExampleCompute() {
	var timeline bytes.Buffer
	w := sampler.NewTimelineWriter(&timeline)
	for i := range 11 {
		at := time.Duration(i) * time.Second
		g := sampler.NewDeviceReading("gpu0", sampler.KindGPU)
		g.PowerW, g.EnergyJ, g.UtilPct = 300, 300*float64(i), 90
		_ = w.Write(sampler.Reading{Sampler: "gpu-sampler", Tick: int64(i), At: at, Devices: []sampler.DeviceReading{g}})
		if i%2 == 0 {
			p := sampler.NewDeviceReading("package-0", sampler.KindCPUPackage)
			p.EnergyJ = 50 * float64(i)
			_ = w.Write(sampler.Reading{Sampler: "cpu-sampler", Tick: int64(i / 2), At: at, Devices: []sampler.DeviceReading{p}})
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}

	// The scheduler's account of the GPU sampler (sampler.Run's Stats).
	stats := sampler.Stats{Sampler: "gpu-sampler", Interval: time.Second, Readings: 11, IntervalP99: 1002 * time.Millisecond}
	rep, err := energy.Compute(&timeline, energy.Window{Start: 2 * time.Second, End: 8 * time.Second}, 3600,
		energy.WithSamplerStats(stats))
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
	// power_avg_w                           W      300
	// power_peak_w                          W      300
	// energy_joules_total                   J      2100
	// joules_per_token                      J/token 0.5833333333333334
	// gpu_util_avg_pct                      %      90
	// energy_joules_gpu                     J      1800
	// energy_joules_cpu_dram                J      300
	// power_avg_w_under_load                W      300
	// energy_joules_gpu_integral            J      1800
	// energy_gpu_integral_to_counter_ratio  ratio  1
	// joules_per_token_gpu                  J/token 0.5
	// nvml_sample_count                     count  7
	// rapl_sample_count                     count  4
	// nvml_interval_p99_ms                  ms     1002
	// power_idle_w                          W      absent: no idle phase was measured (energy.WithIdleWindow)
	// energy_joules_gpu_above_idle          J      absent: no idle phase was measured (energy.WithIdleWindow)
	// joules_per_token_above_idle           J/token absent: no idle phase was measured (energy.WithIdleWindow)
	// power_avg_w_other_gpus                W      absent: no GPU is left out of the figures (energy.WithGPUs)
	// energy_joules_gpu_other_gpus          J      absent: no GPU is left out of the figures (energy.WithGPUs)
	// energy_joules_gpu_idle_gaps           J      absent: per-request attribution was not computed (energy.Attribution)
	// joules_per_request_p50                J      absent: per-request attribution was not computed (energy.Attribution)
	// joules_per_request_p99                J      absent: per-request attribution was not computed (energy.Attribution)
	// joules_per_output_token_p50           J/token absent: per-request attribution was not computed (energy.Attribution)
	// joules_per_output_token_p99           J/token absent: per-request attribution was not computed (energy.Attribution)
}

// One GPU drawing 200 W, read every 100 ms, and two requests in flight
// over the window [0 s, 1 s]: a streams 2 tokens per 100 ms, b 1 token
// per 100 ms, both from the start. The attribution splits the window's
// 200 J between them by the tokens each streamed, 2:1, and says that
// nothing was left with no request in flight.
func ExampleAccumulator_Attribution() {
	acc, err := energy.NewAccumulator(energy.Window{Start: 0, End: time.Second},
		energy.WithAttributionBin(100*time.Millisecond), energy.WithPrefillWeight(0))
	if err != nil {
		panic(err)
	}
	for i := range 11 {
		g := sampler.NewDeviceReading("gpu0", sampler.KindGPU)
		g.PowerW, g.EnergyJ = 200, 20*float64(i)
		acc.Add(sampler.Reading{Sampler: "nvml", Tick: int64(i), At: time.Duration(i) * 100 * time.Millisecond, Devices: []sampler.DeviceReading{g}})
	}
	stream := func(tokensPerChunk int) energy.Request {
		r := energy.Request{Start: 0, End: time.Second, OutputTokens: 10 * tokensPerChunk, Measured: true}
		for i := 1; i <= 10; i++ {
			r.Chunks = append(r.Chunks, energy.Chunk{At: time.Duration(i) * 100 * time.Millisecond, Tokens: tokensPerChunk})
		}
		return r
	}
	a, b := stream(2), stream(1)
	att, err := acc.Attribution()
	if err != nil {
		panic(err)
	}
	att.AddWork(a) // first pass: every request's work
	att.AddWork(b)
	ja, _ := att.Attribute(a) // second pass: each request's share
	jb, _ := att.Attribute(b)
	rep, err := acc.Report(30)
	if err != nil {
		panic(err)
	}
	att.Fill(rep)
	fmt.Printf("a %.2f J, b %.2f J, gaps %v J, of %v J\n", ja, jb, rep.EnergyJoulesGPUIdleGaps, rep.EnergyJoulesGPU)
	// Output:
	// a 133.33 J, b 66.67 J, gaps 0 J, of 200 J
}
