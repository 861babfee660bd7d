package prometheus

import (
	"testing"
	"time"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// TestConformance runs the sampler.Sampler contract checks against a fake
// Prometheus holding a GPU node's dcgm-exporter and node_exporter series,
// with a clock that moves 250 ms at every read.
func TestConformance(t *testing.T) {
	f := cluster(t)
	samplertest.Conformance(t, func() (sampler.Sampler, error) {
		clk := &clock{t: epoch.Add(time.Minute), step: 250 * time.Millisecond}
		return Open(t.Context(), f.srv.URL, withClock(clk.now, time.Millisecond),
			WithGPUSelector(`namespace="llm"`), WithNodeSelector(`job="node"`))
	})
}
