//go:build linux && cgo

package nvml_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/nvml"
)

// Open fails with sampler.ErrUnavailable where there is no driver; a
// profile degrades that to a warning. Otherwise the scheduler samples every
// GPU at 10 ms into a sink, and Describe tells how far to trust the trace.
func ExampleOpen() {
	s, err := nvml.Open(nvml.WithLibraryPath("/nonexistent/libnvidia-ml.so.1"))
	if errors.Is(err, sampler.ErrUnavailable) {
		fmt.Println("no GPU telemetry; library missing:", errors.Is(err, nvml.ERROR_LIBRARY_NOT_FOUND))
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer s.Close()

	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	stats, _ := sampler.Run(ctx, s, 10*time.Millisecond, time.Now(), func(r sampler.Reading) {
		// Stream r to a timeline; keep nothing per tick in memory.
	})
	fmt.Println(stats.Readings, stats.IntervalP99)
	for _, note := range s.Describe().Notes {
		fmt.Println(note)
	}
	// Output: no GPU telemetry; library missing: true
}
