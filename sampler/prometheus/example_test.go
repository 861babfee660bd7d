package prometheus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/prometheus"
)

func Example() {
	// A stand-in for a cluster's Prometheus: it holds one H100 of pod
	// vllm-0 drawing 400 W, scraped every second, and answers every query
	// with the samples of the last few seconds before the query's time.
	prom := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/-/ready":
			return
		case "/api/v1/targets":
			fmt.Fprint(w, `{"status":"success","data":{"activeTargets":[{"labels":{"job":"dcgm","instance":"10.0.0.7:9400"},"health":"up"}]}}`)
			return
		}
		at, _ := strconv.ParseFloat(r.FormValue("time"), 64)
		series := func(name string, value func(t float64) float64) map[string]any {
			var values [][2]any
			for t := float64(int64(at)) - 4; t <= at; t++ {
				values = append(values, [2]any{t, strconv.FormatFloat(value(t), 'f', -1, 64)})
			}
			return map[string]any{"metric": map[string]string{
				"__name__": name, "gpu": "0", "Hostname": "gpu-node-1", "modelName": "NVIDIA H100 80GB HBM3",
				"namespace": "llm", "pod": "vllm-0", "job": "dcgm", "instance": "10.0.0.7:9400",
			}, "values": values}
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{
			"resultType": "matrix", "result": []any{
				series("DCGM_FI_DEV_POWER_USAGE", func(float64) float64 { return 400 }),
				series("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", func(t float64) float64 { return 400e3 * t }), // mJ
			},
		}})
	}))
	defer prom.Close()

	ctx := context.Background()
	s, err := prometheus.Open(ctx, prom.URL, prometheus.WithGPUSelector(`namespace="llm", pod=~"vllm-.*"`))
	if errors.Is(err, sampler.ErrUnavailable) {
		fmt.Println("warning: no cluster telemetry:", err)
		return
	}
	if err != nil {
		panic(err)
	}
	defer s.Close()

	for _, d := range s.Describe().Devices {
		fmt.Printf("%s: %s (%s)\n", d.Device, d.Model, d.Kind)
	}
	readings, err := s.Sample(ctx, nil)
	if err != nil {
		panic(err)
	}
	for _, r := range readings {
		fmt.Printf("%s: %.0f W\n", r.Device, r.PowerW)
	}

	// After the run, the energy over its window, from Prometheus's own
	// samples on both sides of the window's edges.
	end := time.Now().Add(-2 * time.Second)
	energy, err := s.WindowEnergy(ctx, end.Add(-2*time.Second), end)
	if err != nil {
		panic(err)
	}
	for _, e := range energy {
		fmt.Printf("%s: %.0f J over %v\n", e.Device, e.EnergyJ, e.Covered)
	}
	// Output:
	// gpu-node-1/gpu0: NVIDIA H100 80GB HBM3 (gpu)
	// gpu-node-1/gpu0: 400 W
	// gpu-node-1/gpu0: 800 J over 2s
}
