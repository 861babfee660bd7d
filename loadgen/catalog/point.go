package catalog

import (
	"fmt"
	"math"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
)

// FilePrefix returns the file-name prefix the reference's `bench run
// --sweep` / `--rps-sweep` gives the envelope of point p (FACTS §2.5): "c16";
// "rps4" for an integral rate; otherwise "rps" and Python's {v:g} with '.'
// replaced by 'p' ("rps0p5"). It is "" for the zero Point. A prefix written
// from a rate with more than 6 significant digits does not read back
// exactly, as in the reference. [PointFromFileName] reads it back.
func FilePrefix(p loadgen.Point) string {
	switch p.Driver() {
	case loadgen.DriverClosedLoop:
		return "c" + strconv.Itoa(p.Concurrency)
	case loadgen.DriverOpenLoop:
		if p.RPS == math.Trunc(p.RPS) && math.Abs(p.RPS) < 1<<53 {
			return "rps" + strconv.FormatInt(int64(p.RPS), 10)
		}
		return "rps" + strings.ReplaceAll(strconv.FormatFloat(p.RPS, 'g', 6, 64), ".", "p")
	}
	return ""
}

// pointFileName matches a reference sweep envelope's base name: an optional
// "<anything>_" (corpus files are "<run-dir>_c16-<hash12>.json"), the point
// prefix, '-', the 12-hex content-hash prefix and ".json".
var pointFileName = regexp.MustCompile(`^(?:.*_)?(c[0-9]+|rps[0-9]+(?:p[0-9]+)?(?:e[+-][0-9]+)?)-[0-9a-f]{12}\.json$`)

// PointFromFileName reads the sweep point recorded in the base name of an
// envelope file written by the reference's `bench run --sweep` or
// `--rps-sweep`: "c16-b91875fdf860.json", "rps0p5-….json", or the same after
// "<anything>_" ("2026-06-13-llm-h100_c16-b91875fdf860.json"). The name
// must end in "-<12 lowercase hex>.json"; any directory part of path is
// ignored. ok is false when the name carries no point. A prefix whose value
// is not a valid point ("c0-…") gives an error wrapping
// [loadgen.ErrInvalidPoint].
func PointFromFileName(path string) (p loadgen.Point, prefix string, ok bool, err error) {
	m := pointFileName.FindStringSubmatch(filepath.Base(path))
	if m == nil {
		return loadgen.Point{}, "", false, nil
	}
	prefix = m[1]
	if num, isConc := strings.CutPrefix(prefix, "c"); isConc {
		c, perr := strconv.Atoi(num)
		switch {
		case perr != nil:
			err = fmt.Errorf("%w: %v", loadgen.ErrInvalidPoint, perr)
		default:
			p, err = loadgen.Point{Concurrency: c}, checkConcurrency(c)
		}
	} else {
		r, perr := strconv.ParseFloat(strings.ReplaceAll(strings.TrimPrefix(prefix, "rps"), "p", "."), 64)
		switch {
		case perr != nil:
			err = fmt.Errorf("%w: %v", loadgen.ErrInvalidPoint, perr)
		default:
			p, err = loadgen.Point{RPS: r}, checkRPS(r)
		}
	}
	if err != nil {
		return loadgen.Point{}, prefix, true, fmt.Errorf("file name prefix %s: %w", prefix, err)
	}
	return p, prefix, true, nil
}

// Sources of a resolved point, as [PointResolution.Source] reports them.
const (
	// SourceOverride: the caller's explicit point.
	SourceOverride = "override"
	// SourceDriverOptionsConcurrency: the source envelope's
	// driver_options.concurrency.
	SourceDriverOptionsConcurrency = "driver_options.concurrency"
	// SourceDriverOptionsRPS: the source envelope's driver_options.rps.
	SourceDriverOptionsRPS = "driver_options.rps"
	// SourceFileNamePrefix: the source file's name; the Source string is
	// this followed by a space and the prefix ("file name prefix c16").
	SourceFileNamePrefix = "file name prefix"
	// SourceSuiteDefault: the suite's first sweep point.
	SourceSuiteDefault = "suite default"
)

// PointResolution is the point [ResolvePoint] chose and why.
type PointResolution struct {
	// Point is the chosen point; its Driver says which driver runs it,
	// which differs from the suite's only after an explicit override.
	Point loadgen.Point
	// Source says where Point came from, for logs: [SourceOverride],
	// [SourceDriverOptionsConcurrency], [SourceDriverOptionsRPS],
	// "file name prefix c16", or [SourceSuiteDefault].
	Source string
	// Warnings lists source values that were not used, and why: a value for
	// the other driver kind than the suite's, or a file name prefix that
	// disagrees with driver_options. Show them to the user.
	Warnings []string
}

// ResolvePoint chooses the sweep point at which to re-run suite s for the
// source envelope src, read from the file srcPath. The first of these wins:
//
//  1. override, when it is not the zero Point. It may switch the driver
//     kind: Point{RPS: 2} runs a closed-loop suite open-loop at 2 rps.
//  2. src.DriverOptions "concurrency" (closed-loop suites) or "rps"
//     (open-loop suites). JSON null counts as absent.
//  3. the point in srcPath's base name ([PointFromFileName]), for sweep
//     envelopes that the reference wrote without driver_options
//     (FACTS §5.5, §10.7).
//  4. the suite's first sweep point ([Suite.DefaultPoint]), which is what
//     the reference always runs.
//
// A source value for the other driver kind (driver_options.rps or an
// "rps…" file name for a closed-loop suite, and vice versa) is not used:
// only an explicit override switches drivers. It is recorded in Warnings
// and resolution goes on. An invalid value (≤ 0, NaN, infinite, a
// non-integral concurrency, a string, a bool) is an error wrapping
// [loadgen.ErrInvalidPoint] when it is in the override, in driver_options
// (either key: the source is corrupt), in a file name prefix that would
// decide ("c0-…"; only a warning when driver_options decide), or the
// suite's default; so is a suite whose Driver is neither
// [loadgen.DriverClosedLoop] nor [loadgen.DriverOpenLoop]. src may be nil
// and srcPath empty. The override is checked first, so a valid override
// runs even from a corrupt source.
func ResolvePoint(s Suite, src *envelope.Envelope, srcPath string, override loadgen.Point) (PointResolution, error) {
	if s.Driver != loadgen.DriverClosedLoop && s.Driver != loadgen.DriverOpenLoop {
		return PointResolution{}, fmt.Errorf("%w: suite %s has unknown driver %q", loadgen.ErrInvalidPoint, s.ID, s.Driver)
	}
	if !override.IsZero() {
		if err := override.Validate(); err != nil {
			return PointResolution{}, fmt.Errorf("override: %w", err)
		}
		return PointResolution{Point: override, Source: SourceOverride}, nil
	}

	var res PointResolution
	other := func(p loadgen.Point, where string) {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"%s (%s) ignored: suite %s runs %s; pass an explicit override to switch drivers",
			where, p, s.ID, s.Driver))
	}

	// 2. driver_options.
	var fromOpts loadgen.Point
	if src != nil {
		conc, hasConc, err := driverOption(src.DriverOptions, "concurrency")
		if err != nil {
			return PointResolution{}, err
		}
		rps, hasRPS, err := driverOption(src.DriverOptions, "rps")
		if err != nil {
			return PointResolution{}, err
		}
		switch {
		case s.Driver == loadgen.DriverClosedLoop && hasConc:
			fromOpts, res.Source = conc, SourceDriverOptionsConcurrency
		case s.Driver == loadgen.DriverOpenLoop && hasRPS:
			fromOpts, res.Source = rps, SourceDriverOptionsRPS
		}
		if s.Driver == loadgen.DriverClosedLoop && hasRPS {
			other(rps, SourceDriverOptionsRPS)
		}
		if s.Driver == loadgen.DriverOpenLoop && hasConc {
			other(conc, SourceDriverOptionsConcurrency)
		}
	}

	// 3. the file name.
	var fromName loadgen.Point
	var nameSource string
	if srcPath != "" {
		p, prefix, ok, err := PointFromFileName(srcPath)
		switch {
		case err != nil && fromOpts.IsZero():
			return PointResolution{}, err
		case err != nil:
			res.Warnings = append(res.Warnings, fmt.Sprintf("%v; ignored", err))
		case ok:
			nameSource = SourceFileNamePrefix + " " + prefix
			if p.Driver() == s.Driver {
				fromName = p
			} else {
				other(p, nameSource)
			}
		}
	}

	switch {
	case !fromOpts.IsZero():
		res.Point = fromOpts
		if !fromName.IsZero() && fromName != fromOpts {
			res.Warnings = append(res.Warnings, fmt.Sprintf(
				"%s (%s) disagrees with %s (%s); using the latter", nameSource, fromName, res.Source, fromOpts))
		}
	case !fromName.IsZero():
		res.Point, res.Source = fromName, nameSource
	default:
		res.Point, res.Source = s.DefaultPoint(), SourceSuiteDefault
		if err := res.Point.Validate(); err != nil {
			return PointResolution{}, fmt.Errorf("suite %s default point: %w", s.ID, err)
		}
	}
	return res, nil
}

// driverOption reads driver_options[key] as a point of the matching kind:
// "concurrency" must be a positive integer (an integral float such as 16.0
// is accepted), "rps" a positive finite number.
func driverOption(opts *envelope.Object, key string) (p loadgen.Point, ok bool, err error) {
	v, ok := opts.Get(key)
	if !ok || v.IsNull() {
		return loadgen.Point{}, false, nil
	}
	where := "driver_options." + key
	f, isNum := v.AsFloat64()
	if !isNum {
		return loadgen.Point{}, false, fmt.Errorf("%w: %s is a %s (%#v), want a number", loadgen.ErrInvalidPoint, where, v.Kind(), v)
	}
	if key == "concurrency" {
		if f != math.Trunc(f) || f < 1 || f > math.MaxInt32 {
			return loadgen.Point{}, false, fmt.Errorf("%w: %s = %#v, want a positive integer", loadgen.ErrInvalidPoint, where, v)
		}
		if err := checkConcurrency(int(f)); err != nil {
			return loadgen.Point{}, false, fmt.Errorf("%s: %w", where, err)
		}
		return loadgen.Point{Concurrency: int(f)}, true, nil
	}
	if err := checkRPS(f); err != nil {
		return loadgen.Point{}, false, fmt.Errorf("%s: %w", where, err)
	}
	return loadgen.Point{RPS: f}, true, nil
}

// checkConcurrency and checkRPS validate a point read from a source, whose
// value may be 0 ("c0-…"): the message then says so, where
// loadgen.Point.Validate would say that nothing is set.
func checkConcurrency(c int) error {
	if c == 0 {
		return fmt.Errorf("%w: concurrency 0 must be positive", loadgen.ErrInvalidPoint)
	}
	return loadgen.Point{Concurrency: c}.Validate()
}

func checkRPS(r float64) error {
	if r == 0 {
		return fmt.Errorf("%w: rps 0 must be a positive finite number", loadgen.ErrInvalidPoint)
	}
	return loadgen.Point{RPS: r}.Validate()
}
