package profile_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// Profile a signed envelope against an engine. Here the engine is the fake
// enginetest server and the GPU a fake sampler; against a real deployment
// only the base URL changes (and the built-in NVML and RAPL samplers do the
// sampling).
func ExampleRun() {
	src, err := envelope.Load("testdata/2026-06-13-llm-h100_c16-b91875fdf860.json")
	if err != nil {
		panic(err)
	}
	engine, err := enginetest.Start(enginetest.WithModels(src.Model.ID), enginetest.WithTTFT(5*time.Millisecond), enginetest.WithOutputTokens(16))
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	dir, _ := os.MkdirTemp("", "profile-example-")
	defer os.RemoveAll(dir)
	key := filepath.Join(dir, "cosign.key")
	if _, err := envelope.GenerateKeyPair(key); err != nil {
		panic(err)
	}

	res, err := profile.Run(context.Background(), src,
		profile.WithBaseURL(engine.URL()+"/v1"),
		profile.WithSourcePath("c16-b91875fdf860.json"), // the c16- prefix is the sweep point
		profile.WithDuration(time.Second),
		profile.WithDevKey(key),
		profile.WithOutputDir(filepath.Join(dir, "out")),
		profile.WithoutDefaultSamplers(), // a fake GPU and CPU instead of NVML and RAPL
		profile.WithSampler(&samplertest.GPU{Devices: 8, PowerW: 350, UtilPct: 90}, 10*time.Millisecond),
		profile.WithSampler(&samplertest.CPU{Packages: 2, DRAM: 2, PackageW: 150, DRAMW: 20}, 25*time.Millisecond),
	)
	if err != nil {
		panic(err)
	}
	fmt.Println("point:", res.Point.Point, "from", res.Point.Source)
	fmt.Println("written:", strings.HasPrefix(filepath.Base(res.Path), "profile-"))
	fmt.Println("ok_rate:", res.OKRate())
	_, gpu := res.Envelope.Metric("energy_joules_gpu")
	_, cpu := res.Envelope.Metric("energy_joules_cpu_dram")
	fmt.Println("GPU energy measured:", gpu, "- CPU+DRAM measured:", cpu)
	// Output:
	// point: concurrency 16 from file name prefix c16
	// written: true
	// ok_rate: 1
	// GPU energy measured: true - CPU+DRAM measured: true
}
