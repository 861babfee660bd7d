package profile

import (
	"errors"
	"fmt"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
)

// Source is what a run measures: the benchmark a signed envelope records
// (FromEnvelope), re-run as the reference's `bench profile` does, or a
// bundled suite run from nothing (FromSuite), as its `bench run --suite`
// does. Both go through the same stages; a run from a suite only has no
// source to verify. The zero Source is not valid.
type Source struct {
	env   *envelope.Envelope
	fresh bool
}

// FromEnvelope is the benchmark recorded in e: its suite, model, engine
// kind, seed, SLO template and sweep point. Run(ctx, e, …) is
// RunSource(ctx, FromEnvelope(e), …).
func FromEnvelope(e *envelope.Envelope) Source { return Source{env: e} }

// FromSuite is the bundled suite suiteID (one of catalog.SuiteIDs) run
// from nothing against an engine of kind engineKind (one of loadgen's
// engine kinds, or one described with WithEngineKinds; checked when the
// run starts) serving model: what a user with an engine and no envelope
// starts from. Its source-equivalent is catalog.FreshSource: the suite's
// dataset, seed and SLO template, at the suite's first point unless one is
// chosen. An unknown suite is an error wrapping ErrUnknownSuite; an empty
// model or engine kind wraps ErrOptions.
func FromSuite(suiteID, model, engineKind string) (Source, error) {
	s, err := catalog.LookupSuite(suiteID)
	if err != nil {
		return Source{}, fmt.Errorf("%w: %w", ErrUnknownSuite, err)
	}
	var errs []error
	if model == "" {
		errs = append(errs, errors.New("FromSuite: the model is empty (the name the engine serves it under)"))
	}
	if engineKind == "" {
		errs = append(errs, errors.New("FromSuite: the engine kind is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return Source{}, fmt.Errorf("profile: %w: %w", ErrOptions, err)
	}
	return Source{env: catalog.FreshSource(s, model, engineKind), fresh: true}, nil
}

// Envelope returns the source envelope, or for a suite run from nothing
// its source-equivalent (catalog.FreshSource, which is never written).
func (s Source) Envelope() *envelope.Envelope { return s.env }

// Fresh reports whether s is a suite run from nothing (FromSuite).
func (s Source) Fresh() bool { return s.fresh }

// DefaultFreshOutputDir is where a run from a suite (FromSuite) writes its
// files when WithOutputDir is not used: "results", as the reference's
// `bench run` does.
const DefaultFreshOutputDir = "results"

// singlePrefix is the file prefix of a single run: FilePrefix for a
// profile, none for a fresh run (the reference's `bench run` writes
// <hash12>.json).
func singlePrefix(src Source) string {
	if src.fresh {
		return ""
	}
	return FilePrefix
}

// pointPrefix is the file prefix of a sweep point or probe: "profile-c16"
// for a profile, "c16" for a fresh run, as the reference's `bench run
// --sweep` names its points.
func pointPrefix(src Source, p loadgen.Point) string {
	if src.fresh {
		return catalog.FilePrefix(p)
	}
	return FilePrefix + "-" + catalog.FilePrefix(p)
}

// sideStem is the first part of the side files' names: the run's prefix,
// or "run" for a fresh single run, which has none.
func sideStem(prefix string) string { return orElse(prefix, "run") }

// shared is what the points of one sweep (or the probes of one peak
// search) share, settled by the first point: the source's verification
// and its warnings, the signer, and the telemetry, which stays open from
// the first point to the end of the sweep.
type shared struct {
	verified     bool
	trust        string
	verification *envelope.Result
	trustWarns   []string
	signer       envelope.Signer
	tel          *telemetry
}

func (s *shared) close() {
	if s.tel != nil {
		s.tel.close()
	}
}
