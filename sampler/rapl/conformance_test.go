package rapl

import (
	"testing"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// TestConformance runs the sampler.Sampler contract checks on fixture
// trees: two sockets with DRAM, and a platform with psys and core
// subzones (kind other).
func TestConformance(t *testing.T) {
	for _, tree := range []string{"two-sockets", "psys"} {
		t.Run(tree, func(t *testing.T) {
			root := loadTree(t, tree)
			samplertest.Conformance(t, func() (sampler.Sampler, error) { return Open(WithRoot(root)) })
		})
	}
}
