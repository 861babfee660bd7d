package main

import (
	"context"
	"errors"
	"io"
	"strings"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/profile"
)

// runFresh is `bench run`: a bundled suite run from nothing against a live
// engine — no source envelope — at one point, a sweep, or a peak search,
// writing envelopes named as the reference's `bench run` names them
// (<hash12>.json, c16-<hash12>.json) in ./results.
func runFresh(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := newProfileFlags()
	fs := newFlagSet("run")
	f.addRunFlags(fs, profile.DefaultFreshOutputDir)
	fs.StringVar(&f.suite, "suite", "", "the bundled suite `ID` to run: "+strings.Join(catalog.SuiteIDs(), ", ")+" (required)")
	fs.StringVar(&f.model, "model", "", "the model `NAME` the engine serves, as its /v1/models lists it (required)")
	fs.StringVar(&f.engine, "engine", "", "the engine `KIND`: "+strings.Join(engineKindNames(), ", ")+" (required)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("run: takes no arguments, only flags (to re-run an envelope: bench profile <envelope.json>)")
	}
	var missing []string
	for _, m := range []struct{ flag, v string }{{"--suite", f.suite}, {"--model", f.model}, {"--engine", f.engine}, {"--base-url", f.baseURL}} {
		if m.v == "" {
			missing = append(missing, m.flag)
		}
	}
	if len(missing) > 0 {
		return usageErr("run: %s required: a run from nothing needs the suite (one of %s), the served model, the engine kind and the engine's URL (e.g. --base-url http://localhost:8000/v1)",
			strings.Join(missing, ", "), strings.Join(catalog.SuiteIDs(), ", "))
	}
	if err := f.checkPoint("run"); err != nil {
		return err
	}
	if err := f.checkModes("run"); err != nil {
		return err
	}
	src, err := profile.FromSuite(f.suite, f.model, f.engine)
	if errors.Is(err, profile.ErrUnknownSuite) {
		return usageErr("run: --suite: %v", err)
	} else if err != nil {
		return usageErr("run: %v", err)
	}
	opts, err := f.runOptions(f.suite)
	if err != nil {
		return err
	}
	opts = append(opts, progressOptions(stderr, f.quiet)...)
	return f.runMode(ctx, src, "", opts, stdout, stderr)
}

// engineKindNames lists loadgen's built-in engine kinds.
func engineKindNames() []string {
	kinds, _ := loadgen.EngineKinds()
	names := make([]string, len(kinds))
	for i, k := range kinds {
		names[i] = k.Name
	}
	return names
}
