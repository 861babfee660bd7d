package timeline_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/report/timeline"
	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// A builder fed live: the samplers' callbacks add readings, the load's
// sink adds results, and the page is written from memory after the run,
// once the load's start (and so the trace's offset) is known. Here the
// engine is the fake enginetest server and the samplers are fakes; a
// profile run feeds the same calls from its NVML and RAPL samplers and its
// load driver, beside the timeline and trace files it writes.
func ExampleBuilder() {
	engine, err := enginetest.Start(enginetest.WithTTFT(5*time.Millisecond), enginetest.WithOutputTokens(16))
	if err != nil {
		panic(err)
	}
	defer engine.Close()
	client, err := loadgen.NewClient(engine.URL(), enginetest.DefaultModel)
	if err != nil {
		panic(err)
	}
	defer client.CloseIdleConnections()
	load, err := loadgen.NewDriver(client, []string{"Say hello."}, loadgen.ClosedLoop{Concurrency: 2},
		loadgen.WithDuration(300*time.Millisecond), loadgen.WithWarmup(2))
	if err != nil {
		panic(err)
	}

	b, err := timeline.NewBuilder(timeline.Options{})
	if err != nil {
		panic(err)
	}

	// The samplers, each on its own goroutine, feed the builder from their
	// sink (where a run also writes its timeline file).
	ctx, stopSamplers := context.WithCancel(context.Background())
	origin := time.Now()
	var wg sync.WaitGroup
	for _, s := range []struct {
		s        sampler.Sampler
		interval time.Duration
	}{
		{&samplertest.GPU{Devices: 2, PowerW: 350, UtilPct: 90}, 10 * time.Millisecond},
		{&samplertest.CPU{Packages: 1, DRAM: 1, PackageW: 150, DRAMW: 20}, 25 * time.Millisecond},
	} {
		wg.Go(func() {
			_, _ = sampler.Run(ctx, s.s, s.interval, origin, b.AddReading)
		})
	}

	// The load's sink feeds it the results (where a run also writes its
	// trace file), before dropping anything of them.
	info, err := load.Run(context.Background(), b.AddResult)
	stopSamplers()
	wg.Wait()
	if err != nil {
		panic(err)
	}

	// After the run: the trace's clock starts with the load, the
	// timeline's with the samplers. By default the measurement window is
	// the trace's post-warmup requests, as loadgen.Summary's.
	var page bytes.Buffer
	if err := b.WriteHTML(&page, timeline.Page{Title: "live run", TraceOffset: info.Start.Sub(origin)}); err != nil {
		panic(err)
	}
	fmt.Println("charts drawn:", strings.Count(page.String(), "<figure>"), "of 5")
	fmt.Println("window shaded:", strings.Contains(page.String(), `<rect class="win"`))
	// Output:
	// charts drawn: 5 of 5
	// window shaded: true
}
