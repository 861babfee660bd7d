package remote

import (
	"testing"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// TestConformance runs the sampler.Sampler contract checks against the
// test exporters: a dcgm-exporter with four H100s and a node_exporter
// with RAPL zones, scraped by one sampler.
func TestConformance(t *testing.T) {
	dcgm := newExporter(t, "dcgm-h100x4.prom")
	node := newExporter(t, "node-rapl.prom")
	samplertest.Conformance(t, func() (sampler.Sampler, error) {
		return Open(t.Context(), []string{dcgm.url(), node.url()})
	})
}
