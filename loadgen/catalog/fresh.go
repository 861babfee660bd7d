package catalog

import (
	"github.com/benchprof/benchprof/envelope"
)

// Placeholders the reference writes for what a run does not know
// (FACTS §1.8).
const (
	freshRevision = "unknown00"
	freshVersion  = "unknown"
)

// FreshSource returns the source-equivalent of running suite s from
// nothing: what a source envelope would tell a re-run — the suite id and
// version, the model id (model) and the engine kind (engineKind, as
// model.provider and engine.name), the dataset id, the seed and the SLO
// template, all from s — with nothing measured. Its driver_options are
// empty, so the run is at the suite's default point unless one is chosen
// ([ResolvePoint]); its quantization is nil; its engine.version is
// "unknown" until a probe says otherwise.
//
// It is not an envelope anyone wrote: it has no run id, timestamp,
// fingerprint, metrics or signature, so it does not pass validation and is
// never written, signed or verified. It is what the reference's `bench run
// --suite` starts from, for code that re-runs sources (package profile's
// FromSuite) to run a suite with the same stages. model and engineKind are
// taken as given; the engine kind is checked where engines are known.
func FreshSource(s Suite, model, engineKind string) *envelope.Envelope {
	return &envelope.Envelope{
		EnvelopeVersion: envelope.Version,
		SuiteID:         s.ID,
		SuiteVersion:    s.Version,
		Model: envelope.Model{ID: model, Revision: freshRevision, Provider: engineKind, EndpointHash: envelope.ZeroHash,
			Extra: &envelope.Object{}},
		Engine:        envelope.Engine{Name: engineKind, Version: freshVersion, ConfigHash: envelope.ZeroHash, Extra: &envelope.Object{}},
		Dataset:       envelope.Dataset{ID: s.DatasetID, Hash: envelope.ZeroHash, Extra: &envelope.Object{}},
		Seed:          s.Seed,
		DriverOptions: &envelope.Object{},
		Metrics:       &envelope.Object{},
		Distributions: &envelope.Object{},
		SLOTemplate:   s.SLOTemplate,
		Extra:         &envelope.Object{},
	}
}
