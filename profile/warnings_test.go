package profile

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCollapseWarnings(t *testing.T) {
	in := []string{
		"source signer untrusted: …",
		"energy: gpu0 (nvml): readings end 1.78ms before it ends",
		"energy: gpu1 (nvml): readings end 1.91ms before it ends",
		"metrics: p99 latencies come from 45 ok requests (fewer than 100)",
		"energy: gpu2 (nvml): readings end 1.8ms before it ends",
		"source signer untrusted: …",
	}
	want := []string{
		"source signer untrusted: …",
		"energy: gpu0 (nvml): readings end 1.78ms before it ends (and 2 more like it: gpu1, gpu2)",
		"metrics: p99 latencies come from 45 ok requests (fewer than 100)",
	}
	got := collapseWarnings(in)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
