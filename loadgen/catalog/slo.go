package catalog

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/benchprof/benchprof/loadgen"
)

// ErrUnknownHardwareClass is returned (wrapped) by [ResolveSLO] for a
// hardware class that is not one of [HardwareClasses].
var ErrUnknownHardwareClass = errors.New("unknown hardware class")

// SLO template names used by the bundled suites (FACTS §6.3).
const (
	// SLOStandard: ttft < 200 ms, tpot < 50 ms, total < 3000 ms (scaled by
	// hardware class).
	SLOStandard = "llm.standard"
	// SLORelaxed: ttft < 1000 ms, total < 10000 ms (scaled by hardware class).
	SLORelaxed = "llm.relaxed"
)

// baseTemplates are the reference's _SLO_TEMPLATES (FACTS §6.3), anchored
// to an H100.
var baseTemplates = map[string][]loadgen.Predicate{
	SLOStandard: {
		{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 200},
		{Name: "tpot", Field: "tpot_ms", Op: "<", Value: 50},
		{Name: "total", Field: "total_ms", Op: "<", Value: 3000},
	},
	SLORelaxed: {
		{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 1000},
		{Name: "total", Field: "total_ms", Op: "<", Value: 10000},
	},
}

// SLOTemplates returns the names of the SLO templates that have
// predicates, sorted. [ResolveSLO] accepts any other name too, giving no
// predicates, as the reference does; callers can use this list to warn.
func SLOTemplates() []string {
	names := make([]string, 0, len(baseTemplates))
	for n := range baseTemplates {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// hardwareClass is one row of the reference's HARDWARE_CLASSES and
// _GPU_MATCHERS (slo_profiles.py). Every class scales ttft, tpot and total
// by the same multiplier.
type hardwareClass struct {
	key     string
	mult    float64
	needles []string // lowercase substrings of the GPU model; none for m-series and cpu
}

// hardwareTable is in matching order: the first class with a needle in the
// GPU model wins (FACTS §6.3). m-series and cpu are CPU fallbacks.
var hardwareTable = []hardwareClass{
	{"h200", 0.6, []string{"h200"}},
	{"h100", 1.0, []string{"h100"}},
	{"a100", 1.5, []string{"a100"}},
	{"l4", 2.5, []string{"l4"}}, // also matches L40 and L40S, as the reference
	{"rtx-5090", 1.2, []string{"rtx 5090", "rtx-5090", "rtx5090"}},
	{"rtx-4090", 1.8, []string{"rtx 4090", "rtx-4090", "rtx4090"}},
	{"rtx-4080", 2.2, []string{"rtx 4080", "rtx-4080", "rtx4080"}},
	{"rtx-4070", 2.8, []string{"rtx 4070", "rtx-4070", "rtx4070"}},
	{"rtx-3090", 3.0, []string{"rtx 3090", "rtx-3090", "rtx3090"}},
	{"rtx-ada-laptop", 5.0, []string{"ada generation laptop", "ada laptop"}},
	{"rtx-ada-workstation", 2.0, []string{"rtx 5000 ada", "rtx 6000 ada", "rtx 4500 ada", "rtx 4000 ada", "ada generation"}},
	{"mi300x", 1.2, []string{"mi300x"}},
	{"m-series", 5.0, nil},
	{"cpu", 20.0, nil},
}

// HardwareClasses returns the hardware class keys in the reference's
// matching order, ending with the CPU fallbacks "m-series" and "cpu".
func HardwareClasses() []string {
	keys := make([]string, len(hardwareTable))
	for i, c := range hardwareTable {
		keys[i] = c.key
	}
	return keys
}

// HardwareMultiplier returns the factor that scales the ttft, tpot and total
// thresholds for class (1.0 for h100, the anchor), and whether class is known.
func HardwareMultiplier(class string) (float64, bool) {
	for _, c := range hardwareTable {
		if c.key == class {
			return c.mult, true
		}
	}
	return 0, false
}

// ClassifyHardware maps a host to its hardware class as the reference's
// classify does: a case-insensitive substring match of the first GPU's
// model (surrounding whitespace trimmed) against the needles of each class
// in order; if there is no GPU, its model is blank or nothing matches, a CPU
// model containing "apple m" gives "m-series" and anything else "cpu".
//
// Only gpuModels[0] is consulted, as in the reference (FACTS §10.19): a host
// whose first GPU is unrecognised falls back to the CPU classes even if a
// later GPU would match. Substring matching also means that "l4" matches
// L40 and L40S.
func ClassifyHardware(gpuModels []string, cpuModel string) string {
	if len(gpuModels) > 0 {
		if primary := strings.ToLower(strings.TrimSpace(gpuModels[0])); primary != "" {
			for _, c := range hardwareTable {
				for _, needle := range c.needles {
					if strings.Contains(primary, needle) {
						return c.key
					}
				}
			}
		}
	}
	if strings.Contains(strings.ToLower(cpuModel), "apple m") {
		return "m-series"
	}
	return "cpu"
}

// ResolveSLO returns the predicates of template scaled for hardwareClass:
// each threshold is base·multiplier as a plain float64 product, so
// llm.standard on rtx-4080 compares ttft against 440.00000000000006, as the
// reference does. An unknown template gives no predicates (compliance then
// equals the ok rate and the resolved string is ""), as in the reference;
// see [SLOTemplates]. An unknown hardware class is an error wrapping
// [ErrUnknownHardwareClass]; [ClassifyHardware] only returns known ones.
func ResolveSLO(template, hardwareClass string) (loadgen.SLO, error) {
	mult, ok := HardwareMultiplier(hardwareClass)
	if !ok {
		return loadgen.SLO{}, fmt.Errorf("resolving SLO template %q: %w %q (want one of %s)",
			template, ErrUnknownHardwareClass, hardwareClass, strings.Join(HardwareClasses(), ", "))
	}
	base := baseTemplates[template]
	s := loadgen.SLO{Template: template, HardwareClass: hardwareClass}
	if len(base) > 0 {
		s.Predicates = make([]loadgen.Predicate, len(base))
		for i, p := range base {
			p.Value *= mult
			s.Predicates[i] = p
		}
	}
	return s, nil
}
