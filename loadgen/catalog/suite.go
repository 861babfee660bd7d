package catalog

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/benchprof/benchprof/loadgen"
)

// ErrUnknownSuite is returned (wrapped) by [LookupSuite] for an id that is
// not one of the bundled suites.
var ErrUnknownSuite = errors.New("unknown benchmark suite")

// Values shared by every bundled suite (FACTS §4.2).
const (
	// SuiteVersion is the suite_version of every bundled suite.
	SuiteVersion = "1.0.0"
	// DefaultWarmupRequests is the number of requests, by issue order, that
	// the reference discards before measuring (warmup.discard_runs).
	DefaultWarmupRequests = 3
	// DefaultSeed is the dataset sampling seed the reference records.
	DefaultSeed = 42
)

// Suite is one benchmark of the reference's llm.inference plugin
// (benchmarks/*.yaml, FACTS §4.2), as plain data. Suites returned by
// [LookupSuite] and [Suites] are fresh copies: changing one (for instance
// its Concurrency slice) affects no other caller.
type Suite struct {
	// ID is the benchmark_id, e.g. "llm.inference.chatbot-short"; it is the
	// envelope's suite_id.
	ID string
	// Version is the suite_version ([SuiteVersion]).
	Version string
	// DatasetID is the dataset.id the envelope records.
	DatasetID string
	// DatasetURI is where the prompts come from; see [LoadPrompts].
	DatasetURI string
	// N is the number of prompts after sizing (the dataset's n).
	N int
	// Driver is the suite's driver kind: loadgen.DriverClosedLoop or
	// loadgen.DriverOpenLoop.
	Driver loadgen.DriverKind
	// Concurrency is the closed-loop sweep (empty for open-loop suites).
	Concurrency []int
	// RPS is the open-loop sweep in requests per second (empty for
	// closed-loop suites).
	RPS []float64
	// Duration is how long load is issued at one point (duration_s).
	Duration time.Duration
	// SLOTemplate names the per-request SLO predicates ([SLOStandard] or
	// [SLORelaxed] for the bundled suites).
	SLOTemplate string
	// WarmupRequests is how many requests, by issue order, are discarded
	// before measuring ([DefaultWarmupRequests]).
	WarmupRequests int
	// Seed is the dataset sampling seed ([DefaultSeed]).
	Seed int64
	// MaxTokens is the max_tokens of every request
	// (loadgen.DefaultMaxTokens).
	MaxTokens int
}

// Points returns the suite's sweep, in order: one [loadgen.Point] per
// Concurrency entry for a closed-loop suite, one per RPS entry for an
// open-loop suite. It is empty when the suite lists none (see
// [Suite.DefaultPoint]).
func (s Suite) Points() []loadgen.Point {
	var ps []loadgen.Point
	switch s.Driver {
	case loadgen.DriverClosedLoop:
		for _, c := range s.Concurrency {
			ps = append(ps, loadgen.Point{Concurrency: c})
		}
	case loadgen.DriverOpenLoop:
		for _, r := range s.RPS {
			ps = append(ps, loadgen.Point{RPS: r})
		}
	}
	return ps
}

// DefaultPoint returns the point the reference runs a suite at: the first
// sweep entry, or concurrency 1 / 1 rps when the sweep is empty
// (plugin.py::_build_driver, FACTS §4.2). It returns the zero Point for an
// unknown driver kind.
func (s Suite) DefaultPoint() loadgen.Point {
	switch s.Driver {
	case loadgen.DriverClosedLoop:
		if len(s.Concurrency) > 0 {
			return loadgen.Point{Concurrency: s.Concurrency[0]}
		}
		return loadgen.Point{Concurrency: 1}
	case loadgen.DriverOpenLoop:
		if len(s.RPS) > 0 {
			return loadgen.Point{RPS: s.RPS[0]}
		}
		return loadgen.Point{RPS: 1}
	}
	return loadgen.Point{}
}

// LoadDataset loads the suite's prompts: [LoadPrompts] of s.DatasetURI
// sized to s.N, with the dataset id s.DatasetID. opts come after those
// defaults, so [WithDatasetID] replaces the id.
//
// For llm.inference.sharegpt-v3 this fails, because its hf:// dataset cannot
// be fetched offline; see [LoadPrompts].
func (s Suite) LoadDataset(ctx context.Context, opts ...DatasetOption) (Dataset, error) {
	all := make([]DatasetOption, 0, len(opts)+1)
	all = append(all, WithDatasetID(s.DatasetID))
	all = append(all, opts...)
	return LoadPrompts(ctx, s.DatasetURI, s.N, all...)
}

// bundledSuites builds the table of FACTS §4.2 afresh on every call, so no
// caller can change what another sees.
func bundledSuites() []Suite {
	base := func(id, datasetID, uri string, n int, d loadgen.DriverKind, dur time.Duration, slo string) Suite {
		return Suite{
			ID:             id,
			Version:        SuiteVersion,
			DatasetID:      datasetID,
			DatasetURI:     uri,
			N:              n,
			Driver:         d,
			Duration:       dur,
			SLOTemplate:    slo,
			WarmupRequests: DefaultWarmupRequests,
			Seed:           DefaultSeed,
			MaxTokens:      loadgen.DefaultMaxTokens,
		}
	}
	chatbot := base("llm.inference.chatbot-short", "builtin-chatbot-short", "builtin://", 200,
		loadgen.DriverClosedLoop, 120*time.Second, SLOStandard)
	chatbot.Concurrency = []int{4, 16, 64}

	code := base("llm.inference.code-completion", "builtin-code-completion", "builtin://", 200,
		loadgen.DriverClosedLoop, 120*time.Second, SLOStandard)
	code.Concurrency = []int{1, 4, 16}

	long := base("llm.inference.long-context", "builtin-long-context", "builtin://", 200,
		loadgen.DriverOpenLoop, 300*time.Second, SLORelaxed)
	long.RPS = []float64{0.5, 1, 2}

	rag := base("llm.inference.rag-style", "builtin-rag-style", "builtin://", 200,
		loadgen.DriverOpenLoop, 180*time.Second, SLORelaxed)
	rag.RPS = []float64{1, 4}

	// The reference always falls back to the builtin prompts for this
	// dataset (FACTS §4.3); LoadPrompts refuses hf:// instead.
	sharegpt := base("llm.inference.sharegpt-v3", "sharegpt-v3", "hf://anon8231489123/ShareGPT_Vicuna_unfiltered", 1000,
		loadgen.DriverOpenLoop, 300*time.Second, SLOStandard)
	sharegpt.RPS = []float64{1, 4, 16, 64, 256}

	return []Suite{chatbot, code, long, rag, sharegpt}
}

// Suites returns the five bundled llm.inference suites, sorted by id (the
// order in which the reference scans its benchmark files). The result is a
// fresh copy on every call.
func Suites() []Suite {
	return bundledSuites()
}

// SuiteIDs returns the ids of the bundled suites, sorted.
func SuiteIDs() []string {
	ss := bundledSuites()
	ids := make([]string, len(ss))
	for i, s := range ss {
		ids[i] = s.ID
	}
	return ids
}

// LookupSuite returns the bundled suite whose ID is id, exactly (ids are
// case-sensitive, as in the reference). For any other id it returns an error
// that wraps [ErrUnknownSuite] and lists the known ids (and suggests
// "llm.inference.<id>" for a short id such as "chatbot-short").
func LookupSuite(id string) (Suite, error) {
	for _, s := range bundledSuites() {
		if s.ID == id {
			return s, nil
		}
	}
	hint := ""
	for _, known := range SuiteIDs() {
		if known == "llm.inference."+id {
			hint = fmt.Sprintf(" (did you mean %s?)", known)
		}
	}
	return Suite{}, fmt.Errorf("%w %q%s; known suites: %s", ErrUnknownSuite, id, hint, strings.Join(SuiteIDs(), ", "))
}
