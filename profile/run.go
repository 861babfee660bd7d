package profile

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/report/timeline"
	"github.com/benchprof/benchprof/sampler"
)

// Errors Run returns for a source it cannot profile (the CLI maps them to
// exit status 1, as the reference does).
var (
	// ErrSourceUnverified wraps the verification failure of the source: no
	// signature, or one that does not match its content.
	// WithoutVerificationUnsafe skips the check (for unsigned local
	// fixtures).
	ErrSourceUnverified = errors.New("source envelope failed verification; refusing to profile an unverified envelope")
	// ErrSourceUntrusted: the source's signature is intact, but its signer
	// matches none of the trusted keys or identities given
	// (WithTrustedKeys, WithIdentity, WithIdentityRegexp), or no policy was
	// given and WithRequireTrusted was. A given policy is a requirement.
	ErrSourceUntrusted = errors.New("source envelope's signer is not trusted")
	// ErrUnknownSuite: the source's suite_id is not a benchmark this
	// version ships.
	ErrUnknownSuite = errors.New("suite not available")
	// ErrUnknownEngine: the source's engine.name is none of the engine
	// kinds considered: loadgen's built-in ones and those of
	// WithEngineKinds. It is loadgen.ErrUnknownEngine, so errors.Is
	// matches either name.
	ErrUnknownEngine = loadgen.ErrUnknownEngine
	// ErrSigner: the signing key or keyless setup is not usable.
	ErrSigner = errors.New("signer not ready")
	// ErrInterrupted: ctx was cancelled during the run; no envelope was
	// written, the partial side files were kept.
	ErrInterrupted = errors.New("profile interrupted")
	// ErrNoGPUTelemetry: WithRequireGPU was given and no GPU telemetry
	// could be (or was) collected; nothing was signed.
	ErrNoGPUTelemetry = errors.New("no GPU telemetry")
	// ErrWarmupFailed: every warmup request failed, so the run stopped
	// before its measured window; no envelope was written. It wraps
	// loadgen.ErrWarmupFailed, whose message carries the engine's own.
	ErrWarmupFailed = errors.New("the engine failed every warmup request")
)

// Result is a finished profile (or run of a suite, with Fresh set).
type Result struct {
	// Envelope is the new signed envelope; Path is where it was written.
	Envelope *envelope.Envelope
	Path     string
	// TracePath and TimelinePath are the side files: the per-request trace
	// (JSONL, see loadgen.Result) and the telemetry timeline (CSV, see
	// sampler.TimelineColumns). Both are covered by the signature through
	// the envelope's distributions.
	TracePath    string
	TimelinePath string
	// HTMLPath is the self-contained HTML timeline written beside them
	// ("" if it could not be written; a warning says why).
	HTMLPath string
	// TraceOffset is the load's start on the telemetry timeline's clock: a
	// time in the per-request trace plus TraceOffset is a time in the
	// timeline (recorded as driver_options.trace_offset_s).
	TraceOffset time.Duration
	// ServedModel is the model name every request asked for and the probe
	// found served: the new envelope's model.id.
	ServedModel string
	// Verification is the source's verification result (nil with
	// WithoutVerificationUnsafe).
	Verification *envelope.Result
	// SourceTrust says in one line whether the source's signer was
	// trusted, and why: "trusted: …", "UNTRUSTED: …" (no policy given), or
	// "NOT VERIFIED: …" (WithoutVerificationUnsafe). Show it first.
	SourceTrust string
	Engine      *loadgen.EngineInfo
	Point       catalog.PointResolution
	Summary     loadgen.Summary
	Energy      *energy.Report
	// GPUs says which GPUs the energy figures count (the engine's, when
	// they could be told) and how they were found, with each sampled
	// GPU's power sensor.
	GPUs     GPUSelection
	Samplers []sampler.Stats
	Run      *loadgen.RunInfo
	// Unavailable maps breakdown metric keys to why they were not measured.
	Unavailable map[string]string
	Warnings    []string
	// Interval settings used, for the report.
	NVMLInterval time.Duration
	RAPLInterval time.Duration
	// Fresh: the run was of a suite from nothing (FromSuite); there was
	// no source envelope, and Verification is nil.
	Fresh bool
}

// OKRate returns the new envelope's ok_rate (0 when absent).
func (r *Result) OKRate() float64 {
	v, _ := r.Envelope.Metric("ok_rate")
	return v
}

// Run profiles the benchmark recorded in src against a live engine and
// returns the new signed envelope, written to the output directory as
// profile-<hash12>.json beside its side files. It reads as its stages:
//
//  1. prepare: every check that can fail before any load is sent, in the
//     reference's order — verify the source against the trust policy,
//     require a base URL, find the suite, check the engine kind — then the
//     signer (a dev key's validity, keyless readiness), the workload
//     (dataset and load point) and the engine itself (probe: what it is,
//     its version, the served model; the open-file limit).
//  2. execute: open the telemetry, take the hardware fingerprint, then run
//     the load between the samplers' start and stop, streaming the
//     per-request trace and the telemetry timeline to disk and summarizing
//     each result as it arrives (none is kept in memory).
//  3. measure: the latency metrics (summarized as the results arrived,
//     against the SLO for this host's hardware) and the energy figures over
//     the measurement window.
//  4. seal: build the new envelope, sign it, write it (and, with
//     WithTimelineHTML, the HTML page).
//
// Every goroutine has ended when Run returns. If ctx is cancelled, the load
// stops (in-flight requests are cancelled), the trace and timeline written
// so far are kept, nothing is signed, and the error (wrapping
// ErrInterrupted) says where the partial files are. On an error, the
// Result holds what was learnt up to it.
func Run(ctx context.Context, src *envelope.Envelope, opts ...Option) (*Result, error) {
	return RunSource(ctx, FromEnvelope(src), opts...)
}

// RunSource is Run for any Source: a signed envelope's benchmark
// (FromEnvelope, exactly what Run does) or a bundled suite run from nothing
// (FromSuite). A run from a suite verifies nothing (there is no source
// envelope), runs at the suite's first point unless WithPoint chooses
// another, and writes its envelope as the reference's `bench run` names a
// fresh one: <content_hash[:12]>.json, by default in DefaultFreshOutputDir.
func RunSource(ctx context.Context, src Source, opts ...Option) (*Result, error) {
	c, err := newConfigFor(entryRun, src, opts)
	if err != nil {
		return nil, err
	}
	r := newRun(c, src, singlePrefix(src))
	err = r.stages(ctx)
	return r.res, err
}

// stages runs the four stages of one point.
func (r *run) stages(ctx context.Context) error {
	p, err := r.prepare(ctx)
	if err != nil {
		return err
	}
	defer p.close()
	x, err := r.execute(ctx, p)
	if x != nil {
		defer x.close()
	}
	if err != nil {
		return err
	}
	m, err := r.measure(x)
	if err != nil {
		return err
	}
	return r.seal(ctx, p, x, m)
}

// run is one point's run: its configuration, its source, the prefix of
// its file names, what the points of a sweep share, and the Result the
// stages fill in.
type run struct {
	c   *config
	src *envelope.Envelope
	// fresh: src is a suite's source-equivalent (FromSuite), not an
	// envelope anyone signed.
	fresh bool
	// prefix starts the envelope's file name (envelope.FileName) and the
	// side files' stem: FilePrefix, "profile-c16" for a sweep point, "" or
	// "c16" for a fresh run.
	prefix string
	// shared is what the points of one sweep share (the source's
	// verification, the signer, the telemetry); nil for a single run.
	shared *shared
	// loadSent is set once the load has started: a failure before it
	// would fail every point of a sweep alike.
	loadSent bool
	res      *Result
	log      *slog.Logger
}

func newRun(c *config, src Source, prefix string) *run {
	log := c.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &run{c: c, src: src.env, fresh: src.fresh, prefix: prefix, log: log,
		res: &Result{Unavailable: map[string]string{}, NVMLInterval: c.nvmlInterval, RAPLInterval: c.raplInterval, Fresh: src.fresh}}
}

// warn records a warning in the Result (and the envelope) and logs it.
func (r *run) warn(msg string) {
	r.res.Warnings = append(r.res.Warnings, msg)
	r.log.Warn(msg)
}

// plan is what prepare settled before any load: the workload, the signer
// and the engine.
type plan struct {
	suite  catalog.Suite
	signer envelope.Signer
	ds     catalog.Dataset
	model  string
	engine *loadgen.EngineInfo
	gen    loadgen.Generator
	// closers release what prepare opened (the connection pool).
	closers []func()
}

func (p *plan) close() {
	for _, f := range p.closers {
		f()
	}
}

// execution is what execute ran: the telemetry, the host's fingerprint,
// the results as summarized while they arrived, the load's and the
// samplers' own accounts.
type execution struct {
	tel *telemetry
	// ownTel: the telemetry was opened for this run alone, and close
	// closes it; a sweep's is closed by the sweep.
	ownTel bool
	// origin is time zero of this run's readings (its timeline).
	origin time.Time
	// point is the load point the run is at.
	point      loadgen.Point
	fp         envelope.HardwareFingerprint
	summarizer *loadgen.Summarizer
	info       *loadgen.RunInfo
	stats      []sampler.Stats
	// page is fed every reading and result during the run, with
	// WithTimelineHTML; nil without it.
	page *timeline.Builder
	// gpus says which GPUs the energy figures count.
	gpus *GPUSelection
	// idle is the idle phase's window on the telemetry's clock; nil when
	// it was skipped.
	idle *energy.Window
}

func (x *execution) close() {
	if x.ownTel {
		x.tel.close()
	}
}

// measurement is what measure computed over the window.
type measurement struct {
	summary loadgen.Summary
	energy  *energy.Report
	window  energy.Window
	// offset is the load's start on the telemetry's clock: result times
	// plus offset are reading times.
	offset time.Duration
}
