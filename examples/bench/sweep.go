package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/benchprof/benchprof/internal/textsafe"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/report"
	"github.com/benchprof/benchprof/report/sweep"
)

// sweepSource is the --sweep value that runs the suite's own points.
const sweepSource = "source"

// checkModes checks the sweep and search flags against each other before
// anything runs: one mode at a time, and no flag of another mode.
func (f *profileFlags) checkModes(cmd string) error {
	point := f.concurrency != 0 || f.rps != 0
	switch {
	case f.sweep != "" && f.rpsSweep != "":
		return usageErr("%s: --sweep and --rps-sweep are exclusive; give one", cmd)
	case (f.sweep != "" || f.rpsSweep != "") && f.findPeak:
		return usageErr("%s: a sweep (--sweep, --rps-sweep) and --find-peak are exclusive; give one", cmd)
	case (f.sweep != "" || f.rpsSweep != "") && point:
		return usageErr("%s: --concurrency and --rps choose one point; a sweep (--sweep, --rps-sweep) runs its list", cmd)
	case f.findPeak && f.slo == "":
		return usageErr("%s: --find-peak needs --slo: latency bounds (ttft_p99=500ms,tpot_p99=50ms) and/or suite (the SLO template)", cmd)
	case !f.findPeak && f.slo != "":
		return usageErr("%s: --slo is what --find-peak requires of a point; give --find-peak too", cmd)
	case f.maxProbes < 1 || f.maxProbes > profile.MaxPeakProbes:
		return usageErr("%s: --max-probes %d is out of range: give 1 to %d", cmd, f.maxProbes, profile.MaxPeakProbes)
	case f.peakLimit < 0 || math.IsNaN(f.peakLimit) || math.IsInf(f.peakLimit, 0):
		return usageErr("%s: --peak-limit %g is out of range", cmd, f.peakLimit)
	case !(f.precision > 0 && f.precision <= 1):
		return usageErr("%s: --peak-precision %g is out of range: give above 0 and at most 1", cmd, f.precision)
	case !(f.peakFactor > 1 && f.peakFactor <= 100):
		return usageErr("%s: --peak-factor %g is out of range: give above 1 and at most 100", cmd, f.peakFactor)
	}
	if !f.findPeak {
		for _, name := range []string{"max-probes", "peak-limit", "peak-precision", "peak-factor"} {
			if f.set(name) {
				return usageErr("%s: --%s configures --find-peak; give --find-peak too", cmd, name)
			}
		}
	}
	if f.findPeak {
		if _, err := parseSLO(f.slo); err != nil {
			return usageErr("%s: --slo: %v", cmd, err)
		}
	}
	if f.sweep != "" && f.sweep != sweepSource {
		if _, err := parseLoads(f.sweep, false); err != nil {
			return usageErr("%s: --sweep: %v", cmd, err)
		}
	}
	if f.rpsSweep != "" {
		if _, err := parseLoads(f.rpsSweep, true); err != nil {
			return usageErr("%s: --rps-sweep: %v", cmd, err)
		}
	}
	return nil
}

// set reports whether a search flag was given a value other than its
// default.
func (f *profileFlags) set(name string) bool {
	switch name {
	case "max-probes":
		return f.maxProbes != profile.DefaultMaxProbes
	case "peak-limit":
		return f.peakLimit != 0
	case "peak-precision":
		return f.precision != profile.DefaultPeakPrecision
	case "peak-factor":
		return f.peakFactor != profile.DefaultPeakFactor
	}
	return false
}

// parseLoads reads a comma-separated list of concurrencies (1,4,16) or
// rates (0.5,1,2) as sweep points, each valid, none repeated.
func parseLoads(list string, rps bool) ([]loadgen.Point, error) {
	var out []loadgen.Point
	for _, item := range strings.Split(list, ",") {
		item = strings.TrimSpace(item)
		var p loadgen.Point
		if rps {
			r, err := strconv.ParseFloat(item, 64)
			if err != nil {
				return nil, fmt.Errorf("%q is not a rate in requests per second", item)
			}
			p = loadgen.Point{RPS: r}
		} else {
			c, err := strconv.Atoi(item)
			if err != nil {
				return nil, fmt.Errorf("%q is not a whole number of concurrent requests (or give: source)", item)
			}
			p = loadgen.Point{Concurrency: c}
		}
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if slices.Contains(out, p) {
			return nil, fmt.Errorf("%s is given twice", p)
		}
		out = append(out, p)
	}
	if len(out) > profile.MaxSweepPoints {
		return nil, fmt.Errorf("%d points: at most %d", len(out), profile.MaxSweepPoints)
	}
	return out, nil
}

// parseSLO reads --slo: latency bounds (loadgen.ParseBounds) and the word
// "suite" for the SLO template, comma-separated, in any order.
func parseSLO(spec string) (profile.PeakSLO, error) {
	var slo profile.PeakSLO
	var bounds []string
	for _, item := range strings.Split(spec, ",") {
		if strings.TrimSpace(item) == "suite" {
			slo.Template = true
			continue
		}
		bounds = append(bounds, item)
	}
	if len(bounds) > 0 {
		bs, err := loadgen.ParseBounds(strings.Join(bounds, ","))
		if err != nil {
			return slo, err
		}
		slo.Bounds = bs
	}
	return slo, nil
}

// peakOptions turns the search flags into options. --peak-limit is of the
// search's kind: a rate with --rps, a concurrency with --concurrency, else
// of the suite's driver (the source's point, where the search starts).
func (f *profileFlags) peakOptions(suiteID string) ([]profile.Option, error) {
	opts := []profile.Option{profile.WithMaxProbes(f.maxProbes), profile.WithPeakPrecision(f.precision), profile.WithPeakFactor(f.peakFactor)}
	if f.peakLimit == 0 {
		return opts, nil
	}
	rate := f.rps != 0
	if f.rps == 0 && f.concurrency == 0 {
		if s, err := catalog.LookupSuite(suiteID); err == nil {
			rate = s.Driver == loadgen.DriverOpenLoop
		}
	}
	limit := loadgen.Point{RPS: f.peakLimit}
	if !rate {
		if f.peakLimit != math.Trunc(f.peakLimit) || f.peakLimit > loadgen.MaxConcurrency {
			return nil, usageErr("--peak-limit %g: the search is over concurrencies; give a whole number from 1 to %d", f.peakLimit, loadgen.MaxConcurrency)
		}
		limit = loadgen.Point{Concurrency: int(f.peakLimit)}
	}
	return append(opts, profile.WithPeakLimit(limit)), nil
}

// runMode runs what the flags ask for: one point, a sweep or a search.
func (f *profileFlags) runMode(ctx context.Context, src profile.Source, path string, opts []profile.Option, stdout, stderr io.Writer) error {
	switch {
	case f.findPeak:
		slo, _ := parseSLO(f.slo) // checked by checkModes
		return f.peakAndReport(ctx, src, slo, opts, stdout, stderr)
	case f.sweep != "" || f.rpsSweep != "":
		points, err := f.sweepPoints(src)
		if err != nil {
			return err
		}
		return f.sweepAndReport(ctx, src, points, opts, stdout, stderr)
	}
	return profileAndReport(ctx, src, path, opts, f.jsonOut, f.quiet, stdout, stderr)
}

// sweepPoints is the list of --sweep or --rps-sweep, or the suite's own.
func (f *profileFlags) sweepPoints(src profile.Source) ([]loadgen.Point, error) {
	switch {
	case f.rpsSweep != "":
		return parseLoads(f.rpsSweep, true)
	case f.sweep != sweepSource:
		return parseLoads(f.sweep, false)
	}
	suite, err := catalog.LookupSuite(src.Envelope().SuiteID)
	if err != nil {
		return nil, profileError(fmt.Errorf("%w: %w", profile.ErrUnknownSuite, err))
	}
	ps := suite.Points()
	if len(ps) == 0 {
		return nil, withCode(exitFailure, fmt.Errorf("--sweep source: suite %s lists no points", suite.ID))
	}
	return ps, nil
}

// sweepAndReport runs a sweep and prints its summary. It exits 1 when a
// point wrote no envelope or most of a point's requests failed.
func (f *profileFlags) sweepAndReport(ctx context.Context, src profile.Source, points []loadgen.Point, opts []profile.Option,
	stdout, stderr io.Writer) error {
	if !f.quiet {
		fmt.Fprintf(stderr, "bench: sweeping %d points: %s\n", len(points), pointList(points))
	}
	res, err := profile.Sweep(ctx, src, points, append(slices.Clip(opts), profile.WithTimelineHTML())...)
	clearProgress(stderr)
	if res == nil || res.Summary == nil {
		return sourceError(src, err)
	}
	if werr := f.printSummary(res, stdout, stderr); werr != nil {
		return werr
	}
	if err != nil {
		return sourceError(src, err)
	}
	var bad []string
	for _, p := range res.Points {
		label := catalog.FilePrefix(p.Point)
		switch {
		case p.Err != nil:
			bad = append(bad, label+" ("+shortError(p.Err.Error())+")")
		case p.Result.OKRate() < minOKRate:
			bad = append(bad, fmt.Sprintf("%s (ok_rate %.2f)", label, p.Result.OKRate()))
		}
	}
	if len(bad) > 0 {
		return withCode(exitFailure, fmt.Errorf("%d of %d points failed or had an ok_rate below %.2f: %s; the other envelopes were written",
			len(bad), len(res.Points), minOKRate, strings.Join(bad, "; ")))
	}
	return nil
}

// peakAndReport runs a peak search and prints its summary. It exits 1
// when no probe held the SLO.
func (f *profileFlags) peakAndReport(ctx context.Context, src profile.Source, slo profile.PeakSLO, opts []profile.Option, stdout, stderr io.Writer) error {
	if !f.quiet {
		fmt.Fprintf(stderr, "bench: searching for the peak that holds %s, in at most %d probes\n", slo, f.maxProbes)
	}
	res, err := profile.FindPeak(ctx, src, slo, append(slices.Clip(opts), profile.WithTimelineHTML())...)
	clearProgress(stderr)
	if res == nil || res.Probes.Summary == nil {
		return sourceError(src, err)
	}
	if werr := f.printSummary(res.Probes, stdout, stderr); werr != nil {
		return werr
	}
	if err != nil {
		return sourceError(src, err)
	}
	if res.Peak == nil {
		return withCode(exitFailure, fmt.Errorf("no probe held the SLO (%s): %s", slo, res.Stop))
	}
	return nil
}

// printSummary prints a sweep's summary (the table, or its JSON) and the
// files it wrote, and the first point's trust line and warnings on stderr.
func (f *profileFlags) printSummary(res *profile.SweepResult, stdout, stderr io.Writer) error {
	if len(res.Points) > 0 {
		if r := res.Points[0].Result; r != nil && !r.Fresh && r.SourceTrust != "" {
			fmt.Fprintln(stderr, "bench: source:", textsafe.Escape(r.SourceTrust))
		}
	}
	printWarnings(stderr, sweepWarnings(res))
	res.Summary.Stop = flagTerms.Replace(res.Summary.Stop) // the library names its options; here they are flags
	switch {
	case f.quiet:
	case f.jsonOut:
		if err := sweep.WriteJSON(stdout, res.Summary); err != nil {
			return err
		}
	default:
		if err := sweep.WriteText(stdout, res.Summary, report.TextOptions{Color: isTerminal(stdout) && os.Getenv("NO_COLOR") == ""}); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	if f.jsonOut {
		return nil
	}
	for _, p := range res.Points {
		if p.Err == nil && p.Result != nil {
			fmt.Fprintf(stdout, "envelope %s: %s\n", catalog.FilePrefix(p.Point), textsafe.Escape(p.Result.Path))
		}
	}
	if res.SummaryJSONPath != "" {
		fmt.Fprintf(stdout, "summary: %s\n", textsafe.Escape(res.SummaryJSONPath))
	}
	if res.SummaryHTMLPath != "" {
		fmt.Fprintf(stdout, "curves: %s\n", textsafe.Escape(res.SummaryHTMLPath))
	}
	return nil
}

// flagTerms translates the search options a stopping reason names into
// the flags that set them.
var flagTerms = strings.NewReplacer("WithPeakPrecision", "--peak-precision", "WithMaxProbes", "--max-probes",
	"WithPeakLimit", "--peak-limit", "WithPeakFactor", "--peak-factor")

// sweepWarnings are the warnings of a sweep: each distinct warning of its
// points once, and the summary's own.
func sweepWarnings(res *profile.SweepResult) []string {
	var out []string
	for _, p := range res.Points {
		if p.Result == nil {
			continue
		}
		for _, w := range p.Result.Warnings {
			if !slices.Contains(out, w) {
				out = append(out, w)
			}
		}
	}
	return append(out, res.Warnings...)
}

func pointList(ps []loadgen.Point) string {
	labels := make([]string, len(ps))
	for i, p := range ps {
		labels[i] = catalog.FilePrefix(p)
	}
	return strings.Join(labels, ", ")
}

func shortError(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if r := []rune(s); len(r) > 160 {
		return string(r[:160]) + "…"
	}
	return s
}

// clearProgress clears the progress line on a terminal.
func clearProgress(stderr io.Writer) {
	if isTerminal(stderr) {
		fmt.Fprint(stderr, "\r\x1b[K")
	}
}
