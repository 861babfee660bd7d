package rapl

import (
	"testing"

	"github.com/benchprof/benchprof/sampler"
)

// BenchmarkSample measures one tick over the two-socket tree: six zones
// (two packages, their core and dram subzones), each energy_uj opened, read
// and closed.
func BenchmarkSample(b *testing.B) {
	root := loadTree(b, "two-sockets")
	s, err := Open(WithRoot(root))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	buf := make([]sampler.DeviceReading, 0, 8)
	b.ReportAllocs()
	for b.Loop() {
		if buf, err = s.Sample(b.Context(), buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(buf)), "ns/zone")
}
