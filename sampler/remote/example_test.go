package remote_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/remote"
)

func Example() {
	// A stand-in for dcgm-exporter on a GPU host, serving a recorded
	// exposition of four H100s.
	body, err := os.ReadFile("testdata/dcgm-h100x4.prom")
	if err != nil {
		panic(err)
	}
	dcgm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(body)
	}))
	defer dcgm.Close()

	ctx := context.Background()
	s, err := remote.Open(ctx, []string{dcgm.URL + "/metrics"})
	if errors.Is(err, sampler.ErrUnavailable) {
		fmt.Println("warning: no remote telemetry:", err)
		return
	}
	if err != nil {
		panic(err)
	}
	defer s.Close()

	readings, err := s.Sample(ctx, nil)
	if err != nil {
		panic(err)
	}
	for _, r := range readings {
		fmt.Printf("%s: %.1f W, %.0f%% busy, %.0f GiB used\n", r.Device, r.PowerW, r.UtilPct, r.MemUsedBytes/(1<<30))
	}
	// Output:
	// gpu-node-01/gpu0: 412.4 W, 97% busy, 70 GiB used
	// gpu-node-01/gpu1: 419.9 W, 96% busy, 70 GiB used
	// gpu-node-01/gpu2: 427.4 W, 95% busy, 70 GiB used
	// gpu-node-01/gpu3: 434.9 W, 94% busy, 70 GiB used
}
