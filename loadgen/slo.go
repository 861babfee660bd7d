package loadgen

import (
	"math"
	"math/big"
	"strings"

	"github.com/benchprof/benchprof/internal/stats"
)

// Predicate is one SLO threshold on a per-request value, as the reference's
// SLOPredicate: the request passes it if the value of Field compares with
// Value by Op. The reference's templates only use "<".
type Predicate struct {
	// Name is the short name rendered in the resolved template ("ttft").
	Name string
	// Field is the per-request value tested: "ttft_ms", "tpot_ms" or
	// "total_ms" (see [Summarize] for how each is computed).
	Field string
	// Op is one of "<", "<=", ">", ">=", "==".
	Op string
	// Value is the threshold (after any hardware scaling).
	Value float64
}

// Holds reports whether v satisfies the predicate. NaN never does, and
// neither does any value when Op is not one of the five operators (the
// reference would treat an unknown operator as "==", but its templates never
// use one).
func (p Predicate) Holds(v float64) bool {
	if math.IsNaN(v) {
		return false
	}
	switch p.Op {
	case "<":
		return v < p.Value
	case "<=":
		return v <= p.Value
	case ">":
		return v > p.Value
	case ">=":
		return v >= p.Value
	case "==":
		return v == p.Value
	}
	return false
}

// String renders the predicate as the reference's format_resolved does:
// name, operator, the threshold as int(v) if it is integral and as Python's
// f"{v:g}" otherwise, then "ms" if Field ends in "_ms" ("ttft<440ms" for
// 440.00000000000006).
func (p Predicate) String() string {
	unit := ""
	if strings.HasSuffix(p.Field, "_ms") {
		unit = "ms"
	}
	return p.Name + p.Op + formatThreshold(p.Value) + unit
}

// SLO is the predicates a request must all meet to count as passing in
// [Summarize], with the labels the metrics report them under. The zero SLO
// has no predicates, so every ok request passes. Build one by hand, or
// resolve a template of the reference's catalogue for a hardware class with
// catalog.ResolveSLO.
type SLO struct {
	// Template names where the predicates came from (e.g. "llm.standard");
	// a label only.
	Template string
	// HardwareClass is the class the thresholds were scaled for, reported
	// as the slo_hardware_class metric; a label only.
	HardwareClass string
	// Predicates are tested in order; empty, every ok request passes.
	Predicates []Predicate
}

// Resolved renders the predicates as the reference's slo_template_resolved
// metric: each [Predicate.String], joined by ", "; "" without predicates.
func (s SLO) Resolved() string {
	parts := make([]string, len(s.Predicates))
	for i, p := range s.Predicates {
		parts[i] = p.String()
	}
	return strings.Join(parts, ", ")
}

// formatThreshold renders v as the reference does: Python's int(v) when v
// is integral, else f"{v:g}".
func formatThreshold(v float64) string {
	if !math.IsInf(v, 0) && !math.IsNaN(v) && v == math.Trunc(v) {
		// int(v) is the exact integer, even beyond 2^53.
		i, _ := new(big.Float).SetFloat64(v).Int(nil)
		return i.String()
	}
	return pyFormatG(v)
}

// pyFormatG is Python's format(v, "g"): 6 significant digits, exponent
// form ("1e-05", "1.23457e+06") when the decimal exponent after rounding is
// < -4 or >= 6.
func pyFormatG(v float64) string { return stats.PyFormat(v, 'g', 6) }
