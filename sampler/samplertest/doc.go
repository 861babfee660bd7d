// Package samplertest helps test code around telemetry samplers, in the
// spirit of net/http/httptest.
//
// For code that consumes readings it provides fake samplers with no
// hardware, deterministic values and exact energy: [GPU] (GPUs of kind
// sampler.KindGPU) and [CPU] (CPU packages and DRAM domains, shaped like
// RAPL). Their names are neutral ("fake-gpu", "fake-cpu"): like every
// sampler they are told apart by their devices' kinds, so a profile or an
// energy report treats a fake GPU exactly as it treats NVML.
//
// For code that implements sampler.Sampler it provides [Conformance], which
// checks the contract written in sampler.Sampler's documentation against
// any implementation, from that implementation's own tests:
//
//	func TestConformance(t *testing.T) {
//		samplertest.Conformance(t, func() (sampler.Sampler, error) {
//			return mysampler.Open(mysampler.WithEndpoint(fake.URL))
//		})
//	}
package samplertest
