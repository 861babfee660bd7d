package catalog

import (
	"errors"
	"math"
	"testing"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/google/go-cmp/cmp"
)

func TestClassifyHardware(t *testing.T) {
	for _, tc := range []struct {
		gpus []string
		cpu  string
		want string
	}{
		{[]string{"NVIDIA H200"}, "", "h200"},
		{[]string{"NVIDIA H100 80GB HBM3"}, "", "h100"},
		{[]string{"NVIDIA H100 NVL"}, "AMD EPYC 9654", "h100"},
		{[]string{"NVIDIA A100-SXM4-80GB"}, "", "a100"},
		{[]string{"NVIDIA L4"}, "", "l4"},
		{[]string{"NVIDIA L40S"}, "", "l4"}, // substring match, as the reference
		{[]string{"NVIDIA GeForce RTX 5090"}, "", "rtx-5090"},
		{[]string{"rtx-5090"}, "", "rtx-5090"},
		{[]string{"NVIDIA GeForce RTX 4090"}, "", "rtx-4090"},
		{[]string{"GEFORCE RTX4090"}, "", "rtx-4090"},
		{[]string{"NVIDIA GeForce RTX 4080 SUPER"}, "", "rtx-4080"},
		{[]string{"NVIDIA GeForce RTX 4070 Ti"}, "", "rtx-4070"},
		{[]string{"NVIDIA GeForce RTX 3090"}, "", "rtx-3090"},
		{[]string{"NVIDIA RTX 4000 Ada Generation Laptop GPU"}, "", "rtx-ada-laptop"},
		{[]string{"RTX 3500 Ada Laptop"}, "", "rtx-ada-laptop"},
		{[]string{"NVIDIA RTX 6000 Ada Generation"}, "", "rtx-ada-workstation"},
		{[]string{"NVIDIA RTX 4500 Ada"}, "", "rtx-ada-workstation"},
		{[]string{"AMD Instinct MI300X"}, "", "mi300x"},
		{[]string{"  nvidia h100  "}, "", "h100"},
		// h200 is checked before h100.
		{[]string{"H200 (H100 successor)"}, "", "h200"},
		// Only the first GPU counts (FACTS §10.19).
		{[]string{"Tesla T4", "NVIDIA H100"}, "Intel Xeon", "cpu"},
		{[]string{"NVIDIA H100", "Tesla T4"}, "", "h100"},
		// CPU fallbacks.
		{nil, "Apple M2 Pro", "m-series"},
		{[]string{"Apple M3 Max"}, "Apple M3 Max", "m-series"},
		{[]string{"   "}, "apple m1", "m-series"},
		{[]string{"Tesla T4"}, "", "cpu"},
		{nil, "Intel(R) Xeon(R) Platinum 8480+", "cpu"},
		{nil, "", "cpu"},
	} {
		if got := ClassifyHardware(tc.gpus, tc.cpu); got != tc.want {
			t.Errorf("ClassifyHardware(%q, %q) = %q, want %q", tc.gpus, tc.cpu, got, tc.want)
		}
	}
}

func TestHardwareClassesAreResolvable(t *testing.T) {
	want := []string{"h200", "h100", "a100", "l4", "rtx-5090", "rtx-4090", "rtx-4080", "rtx-4070",
		"rtx-3090", "rtx-ada-laptop", "rtx-ada-workstation", "mi300x", "m-series", "cpu"}
	if diff := cmp.Diff(want, HardwareClasses()); diff != "" {
		t.Errorf("HardwareClasses() (-want +got):\n%s", diff)
	}
	if m, ok := HardwareMultiplier("rtx-4080"); !ok || m != 2.2 {
		t.Errorf("HardwareMultiplier(rtx-4080) = %v, %v; want 2.2, true", m, ok)
	}
	if _, ok := HardwareMultiplier("tpu"); ok {
		t.Error("HardwareMultiplier(tpu) reported a known class")
	}
}

// TestResolveSLO checks every class and template against values produced by
// the reference's formula in Python (base*mult, format_resolved).
func TestResolveSLO(t *testing.T) {
	for _, tc := range []struct {
		class, template string
		values          []float64
		resolved        string
	}{
		{"h200", "llm.standard", []float64{120.0, 30.0, 1800.0}, "ttft<120ms, tpot<30ms, total<1800ms"},
		{"h200", "llm.relaxed", []float64{600.0, 6000.0}, "ttft<600ms, total<6000ms"},
		{"h100", "llm.standard", []float64{200.0, 50.0, 3000.0}, "ttft<200ms, tpot<50ms, total<3000ms"},
		{"h100", "llm.relaxed", []float64{1000.0, 10000.0}, "ttft<1000ms, total<10000ms"},
		{"a100", "llm.standard", []float64{300.0, 75.0, 4500.0}, "ttft<300ms, tpot<75ms, total<4500ms"},
		{"a100", "llm.relaxed", []float64{1500.0, 15000.0}, "ttft<1500ms, total<15000ms"},
		{"l4", "llm.standard", []float64{500.0, 125.0, 7500.0}, "ttft<500ms, tpot<125ms, total<7500ms"},
		{"l4", "llm.relaxed", []float64{2500.0, 25000.0}, "ttft<2500ms, total<25000ms"},
		{"rtx-5090", "llm.standard", []float64{240.0, 60.0, 3600.0}, "ttft<240ms, tpot<60ms, total<3600ms"},
		{"rtx-5090", "llm.relaxed", []float64{1200.0, 12000.0}, "ttft<1200ms, total<12000ms"},
		{"rtx-4090", "llm.standard", []float64{360.0, 90.0, 5400.0}, "ttft<360ms, tpot<90ms, total<5400ms"},
		{"rtx-4090", "llm.relaxed", []float64{1800.0, 18000.0}, "ttft<1800ms, total<18000ms"},
		{"rtx-4080", "llm.standard", []float64{440.00000000000006, 110.00000000000001, 6600.000000000001}, "ttft<440ms, tpot<110ms, total<6600ms"},
		{"rtx-4080", "llm.relaxed", []float64{2200.0, 22000.0}, "ttft<2200ms, total<22000ms"},
		{"rtx-4070", "llm.standard", []float64{560.0, 140.0, 8400.0}, "ttft<560ms, tpot<140ms, total<8400ms"},
		{"rtx-4070", "llm.relaxed", []float64{2800.0, 28000.0}, "ttft<2800ms, total<28000ms"},
		{"rtx-3090", "llm.standard", []float64{600.0, 150.0, 9000.0}, "ttft<600ms, tpot<150ms, total<9000ms"},
		{"rtx-3090", "llm.relaxed", []float64{3000.0, 30000.0}, "ttft<3000ms, total<30000ms"},
		{"rtx-ada-workstation", "llm.standard", []float64{400.0, 100.0, 6000.0}, "ttft<400ms, tpot<100ms, total<6000ms"},
		{"rtx-ada-workstation", "llm.relaxed", []float64{2000.0, 20000.0}, "ttft<2000ms, total<20000ms"},
		{"rtx-ada-laptop", "llm.standard", []float64{1000.0, 250.0, 15000.0}, "ttft<1000ms, tpot<250ms, total<15000ms"},
		{"rtx-ada-laptop", "llm.relaxed", []float64{5000.0, 50000.0}, "ttft<5000ms, total<50000ms"},
		{"mi300x", "llm.standard", []float64{240.0, 60.0, 3600.0}, "ttft<240ms, tpot<60ms, total<3600ms"},
		{"mi300x", "llm.relaxed", []float64{1200.0, 12000.0}, "ttft<1200ms, total<12000ms"},
		{"m-series", "llm.standard", []float64{1000.0, 250.0, 15000.0}, "ttft<1000ms, tpot<250ms, total<15000ms"},
		{"m-series", "llm.relaxed", []float64{5000.0, 50000.0}, "ttft<5000ms, total<50000ms"},
		{"cpu", "llm.standard", []float64{4000.0, 1000.0, 60000.0}, "ttft<4000ms, tpot<1000ms, total<60000ms"},
		{"cpu", "llm.relaxed", []float64{20000.0, 200000.0}, "ttft<20000ms, total<200000ms"},
		// Unknown templates have no predicates (FACTS §6.3).
		{"h100", "llm.realtime", nil, ""},
		{"cpu", "", nil, ""},
	} {
		s, err := ResolveSLO(tc.template, tc.class)
		if err != nil {
			t.Fatalf("ResolveSLO(%q, %q): %v", tc.template, tc.class, err)
		}
		if s.Template != tc.template || s.HardwareClass != tc.class {
			t.Errorf("ResolveSLO(%q, %q) = template %q, class %q", tc.template, tc.class, s.Template, s.HardwareClass)
		}
		var got []float64
		for _, p := range s.Predicates {
			if p.Op != "<" {
				t.Errorf("%s/%s: predicate %v has op %q, want <", tc.class, tc.template, p, p.Op)
			}
			got = append(got, p.Value)
		}
		// Bits, not approximate equality: 440.00000000000006 is what the
		// reference compares against.
		if len(got) != len(tc.values) {
			t.Errorf("%s/%s: thresholds %v, want %v", tc.class, tc.template, got, tc.values)
		} else {
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(tc.values[i]) {
					t.Errorf("%s/%s: threshold %d = %v, want %v", tc.class, tc.template, i, got[i], tc.values[i])
				}
			}
		}
		if r := s.Resolved(); r != tc.resolved {
			t.Errorf("%s/%s: Resolved() = %q, want %q", tc.class, tc.template, r, tc.resolved)
		}
	}
}

func TestResolveSLOPredicateFields(t *testing.T) {
	s, err := ResolveSLO(SLOStandard, "h100")
	if err != nil {
		t.Fatal(err)
	}
	want := []loadgen.Predicate{
		{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 200},
		{Name: "tpot", Field: "tpot_ms", Op: "<", Value: 50},
		{Name: "total", Field: "total_ms", Op: "<", Value: 3000},
	}
	if diff := cmp.Diff(want, s.Predicates); diff != "" {
		t.Errorf("predicates (-want +got):\n%s", diff)
	}
	// The template table is not shared with callers.
	s.Predicates[0].Value = 1
	if again, _ := ResolveSLO(SLOStandard, "h100"); again.Predicates[0].Value != 200 {
		t.Errorf("changing a resolved SLO changed the template: %v", again.Predicates[0])
	}
}

func TestResolveSLOUnknownClass(t *testing.T) {
	_, err := ResolveSLO(SLOStandard, "tpu-v5")
	if !errors.Is(err, ErrUnknownHardwareClass) {
		t.Fatalf("ResolveSLO with an unknown class: err = %v, want ErrUnknownHardwareClass", err)
	}
}

func TestSLOTemplates(t *testing.T) {
	if diff := cmp.Diff([]string{"llm.relaxed", "llm.standard"}, SLOTemplates()); diff != "" {
		t.Errorf("SLOTemplates() (-want +got):\n%s", diff)
	}
}
