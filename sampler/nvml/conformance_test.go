//go:build linux && cgo

package nvml

import (
	"testing"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// TestConformance runs the sampler.Sampler contract checks through the
// fake Library of four H100s and through the fake libnvidia-ml.so.1 (the
// real cgo path; skipped without a C compiler).
func TestConformance(t *testing.T) {
	t.Run("fake interface", func(t *testing.T) {
		samplertest.Conformance(t, func() (sampler.Sampler, error) {
			return Open(WithInterface(newRig(4).lib), WithSensorProbe(0))
		})
	})
	t.Run("fake library", func(t *testing.T) {
		lib := buildFake(t)
		fakeEnv(t, map[string]string{"FAKENVML_GPUS": "2"})
		samplertest.Conformance(t, func() (sampler.Sampler, error) {
			return Open(WithLibraryPath(lib), WithSensorProbe(0))
		})
	})
}
