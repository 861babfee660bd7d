package profile

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/envelope/keyless"
	"github.com/benchprof/benchprof/internal/fdlimit"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/report"
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
	// ErrWarmupFailed: every warmup request failed, so the run stopped
	// before its measured window; no envelope was written. It wraps
	// loadgen.ErrWarmupFailed, whose message carries the engine's own.
	ErrWarmupFailed = errors.New("the engine failed every warmup request")
)

// Result is a finished profile.
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
	Samplers    []sampler.Stats
	Run         *loadgen.RunInfo
	// Unavailable maps breakdown metric keys to why they were not measured.
	Unavailable map[string]string
	Warnings    []string
	// Interval settings used, for the report.
	NVMLInterval time.Duration
	RAPLInterval time.Duration
}

// OKRate returns the new envelope's ok_rate (0 when absent).
func (r *Result) OKRate() float64 {
	v, _ := r.Envelope.Metric("ok_rate")
	return v
}

// Run profiles the benchmark recorded in src against a live engine and
// returns the new signed envelope, written to the output directory as
// profile-<hash12>.json beside its side files.
//
// The checks run in the reference's order — verify the source, require a
// base URL, find the suite, check the engine name — and then, before any
// load is sent, the signer (a dev key's validity, keyless readiness), the
// dataset, the sweep point and the engine itself (probe: version, served
// model). Telemetry samplers start before the load and stop after it;
// every goroutine has ended when Run returns. If ctx is cancelled, the load
// stops (in-flight requests are cancelled), the trace and timeline written
// so far are kept, no envelope is written, and the error (wrapping
// ErrInterrupted) says where the partial files are.
func Run(ctx context.Context, src *envelope.Envelope, opts ...Option) (*Result, error) {
	c := defaults()
	for _, o := range opts {
		o.apply(c)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	log := c.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := &Result{Unavailable: map[string]string{}, NVMLInterval: c.nvmlInterval, RAPLInterval: c.raplInterval}
	warn := func(msg string) {
		res.Warnings = append(res.Warnings, msg)
		log.Warn(msg)
	}

	// 1. Verify the source.
	if err := c.verifySource(ctx, src, res, warn); err != nil {
		return res, err
	}
	// 2. Base URL.
	if c.baseURL == "" {
		return res, ErrNoBaseURL
	}
	if _, err := loadgen.NormalizeBaseURL(c.baseURL); err != nil {
		return res, fmt.Errorf("profile: --base-url: %w", err)
	}
	// 3. Suite.
	suite, err := catalog.LookupSuite(src.SuiteID)
	if err != nil {
		return res, fmt.Errorf("%w: this version no longer ships benchmark id %q: %w", ErrUnknownSuite, src.SuiteID, err)
	}
	// 4. Engine kind.
	if _, err := loadgen.LookupEngineKind(src.Engine.Name, c.engineKinds...); err != nil {
		return res, fmt.Errorf("source envelope: %w", err)
	}
	// 5. Signer, ready before any load is sent.
	signer, err := c.buildSigner(ctx)
	if err != nil {
		return res, fmt.Errorf("%w: %w", ErrSigner, err)
	}
	// 6. Dataset and sweep point.
	ds, err := loadDataset(ctx, suite, c.datasetURI)
	if errors.Is(err, catalog.ErrDatasetUnavailable) {
		return res, fmt.Errorf("profile: dataset: %w; pass a local copy with --dataset file:///path (profile.WithDataset)", err)
	} else if err != nil {
		return res, fmt.Errorf("profile: dataset: %w", err)
	}
	for _, w := range ds.Warnings() {
		warn("dataset: " + w)
	}
	point, err := catalog.ResolvePoint(suite, src, c.sourcePath, c.point)
	if err != nil {
		return res, fmt.Errorf("profile: sweep point: %w", err)
	}
	res.Point = point
	for _, w := range point.Warnings {
		warn("sweep point: " + w)
	}
	if point.Source == catalog.SourceSuiteDefault {
		warn(fmt.Sprintf("sweep point: %s is the suite's default: neither the source's driver_options nor its file name (%q) records the point it ran at, "+
			"so this may not be the source's load; set the point explicitly (profile.WithPoint) to reproduce it", point.Point, filepath.Base(c.sourcePath)))
	}
	log.Info("sweep point", "point", point.Point.String(), "source", point.Source)
	// 7. The engine.
	model := src.Model.ID
	if c.servedModel != "" {
		model = c.servedModel
	}
	hc := c.httpClient
	if hc == nil {
		conns := max(point.Point.Concurrency, 8, int(point.Point.RPS*8))
		tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: 90 * time.Second, DisableCompression: true}
		defer tr.CloseIdleConnections()
		hc = &http.Client{Transport: tr}
	}
	hc = loadgen.SameOriginOnly(hc) // never follow the engine to another origin with our API key
	info, err := loadgen.Probe(ctx, hc, c.baseURL, src.Engine.Name, model, c.apiKey, loadgen.WithEngineKinds(c.engineKinds...))
	if err != nil {
		return res, fmt.Errorf("profile: engine: %w", err)
	}
	res.Engine, res.ServedModel = info, model
	log.Info("engine", "kind", info.Kind, "version", info.Version)
	switch {
	case !info.Confirmed:
		warn(fmt.Sprintf("the engine did not say what it is; the new envelope records the source's engine kind %q unconfirmed (engine.extra.kind_confirmed false)", info.Kind))
	case info.Kind != src.Engine.Name:
		warn(fmt.Sprintf("the engine identifies itself as %s, not %s as the source envelope says; the new envelope records %s", info.Kind, src.Engine.Name, info.Kind))
	}
	gen := c.generator
	if gen == nil {
		gen, err = c.buildDriver(suite, src, ds, point.Point, model, hc)
		if err != nil {
			return res, fmt.Errorf("profile: %w", err)
		}
		if err := fdlimit.Check(plannedInFlight(point.Point)); err != nil {
			return res, fmt.Errorf("profile: %w", err)
		}
	}

	// 8. Telemetry.
	tel := c.openTelemetry(ctx)
	defer tel.close()
	for _, w := range tel.warnings {
		warn(w)
	}
	for k, v := range tel.unavailable {
		res.Unavailable[k] = v
	}

	// 9. Side files.
	if err := os.MkdirAll(c.outputDir, 0o755); err != nil {
		return res, fmt.Errorf("profile: output directory: %w", err)
	}
	stem, err := sideFileStem(c.now())
	if err != nil {
		return res, err
	}
	res.TracePath = filepath.Join(c.outputDir, stem+".requests.jsonl")
	res.TimelinePath = filepath.Join(c.outputDir, stem+".timeline.csv")
	traceFile, err := createNew(res.TracePath)
	if err != nil {
		return res, err
	}
	defer traceFile.Close()
	timelineFile, err := createNew(res.TimelinePath)
	if err != nil {
		return res, err
	}
	defer timelineFile.Close()
	trace := loadgen.NewJSONLWriter(traceFile)
	timeline := sampler.NewTimelineWriter(timelineFile)

	// 10. Run: samplers first, then the load, then stop the samplers.
	results, runInfo, stats, runErr := c.orchestrate(ctx, gen, tel, trace, timeline)
	res.Run, res.Samplers = runInfo, stats
	flushErr := errors.Join(trace.Flush(), timeline.Flush(), traceFile.Sync(), timelineFile.Sync())
	if errors.Is(runErr, loadgen.ErrWarmupFailed) && ctx.Err() == nil {
		return res, fmt.Errorf("%w, so the run stopped before its measured window and no envelope was written (per-request trace in %s): %w",
			ErrWarmupFailed, res.TracePath, runErr)
	}
	if runErr != nil || ctx.Err() != nil {
		return res, fmt.Errorf("%w: no envelope was written; partial per-request trace in %s, telemetry timeline in %s: %w",
			ErrInterrupted, res.TracePath, res.TimelinePath, whyStopped(runErr, context.Cause(ctx)))
	}
	if flushErr != nil {
		return res, fmt.Errorf("profile: writing side files: %w", flushErr)
	}

	// 11. Metrics.
	fp, gpuModels, fpWarn := c.fingerprint(ctx, tel)
	for _, w := range fpWarn {
		warn(w)
	}
	slo, err := resolveSLO(src, suite, gpuModels, fp.CPU.Model)
	if err != nil {
		warn(err.Error())
	}
	summary := loadgen.Summarize(results, slo)
	res.Summary = summary
	for _, w := range summary.Warnings {
		warn("metrics: " + w)
	}
	// Result offsets count from the load's start; readings from tel.origin.
	offset := time.Duration(0)
	if runInfo != nil && !runInfo.Start.IsZero() {
		offset = runInfo.Start.Sub(tel.origin)
	} else {
		warn("the load generator reported no start time; telemetry is aligned with the requests as if the load started with the samplers")
	}
	window := energy.Window{Start: offset + summary.WindowStart, End: offset + summary.WindowEnd}
	rep, err := energyReport(res.TimelinePath, window, summary.OutputTokens, stats)
	if err != nil {
		return res, fmt.Errorf("profile: energy: %w", err)
	}
	res.Energy = rep
	for _, w := range rep.Warnings {
		warn("energy: " + w)
	}
	noteUnavailable(res, rep, tel)

	// 12. The new envelope: build, sign, write. A cancellation after the
	// load (a signal during post-processing) stops here: nothing is signed.
	env, err := c.buildEnvelope(src, suite, ds, info, fp, summary, rep, res)
	if err != nil {
		return res, fmt.Errorf("profile: build envelope: %w", err)
	}
	if err := c.stillWanted(ctx, res); err != nil {
		return res, err
	}
	signed, err := envelope.Sign(ctx, env, signer)
	if err != nil {
		return res, fmt.Errorf("profile: %w", err)
	}
	if err := c.stillWanted(ctx, res); err != nil {
		return res, err
	}
	path, err := envelope.Write(c.outputDir, FilePrefix, signed)
	if err != nil {
		return res, fmt.Errorf("profile: %w", err)
	}
	res.Envelope, res.Path = signed, path
	log.Info("wrote envelope", "path", path)

	// 13. The HTML timeline beside the envelope (a view, not signed data).
	res.HTMLPath = strings.TrimSuffix(res.TimelinePath, ".csv") + ".html"
	if err := writeHTML(res.HTMLPath, res.TimelinePath, res.TracePath, report.HTMLOptions{
		Title: "benchprof profile of " + src.SuiteID, EnvelopePath: path,
		WindowStart: window.Start, WindowEnd: window.End, TraceOffset: offset,
	}); err != nil {
		res.HTMLPath = ""
		warn("HTML timeline not written: " + err.Error())
	}
	return res, nil
}

// stillWanted returns ErrInterrupted once ctx is done, so that nothing is
// signed or written after the caller gave up.
func (c *config) stillWanted(ctx context.Context, res *Result) error {
	if ctx.Err() == nil {
		return nil
	}
	return fmt.Errorf("%w after the load: no envelope was signed or written; the per-request trace is in %s, the telemetry timeline in %s: %w",
		ErrInterrupted, res.TracePath, res.TimelinePath, context.Cause(ctx))
}

// verifySource checks the source's signature and its signer against the
// trust policy. A policy that was given (keys or identities) is a
// requirement: a signer that matches none of it fails. Without any policy
// an intact source runs, and Result.SourceTrust says loudly that nobody
// vouched for its signer.
func (c *config) verifySource(ctx context.Context, src *envelope.Envelope, res *Result, warn func(string)) error {
	if !c.verify {
		res.SourceTrust = "NOT VERIFIED: the source's signature was not checked (profile.WithoutVerificationUnsafe)"
		warn("source signature not verified (profile.WithoutVerificationUnsafe)")
		return nil
	}
	kv, err := keyless.NewVerifier(c.keylessVerify...)
	if err != nil {
		return fmt.Errorf("profile: verify source: %w", err)
	}
	// The keyless verifier goes first, so that one given with
	// WithVerifyOptions replaces it.
	vopts := append([]envelope.VerifyOption{envelope.WithMethodVerifier(envelope.MethodSigstore, kv)}, c.verifyOpts...)
	vr, err := envelope.Verify(ctx, src, vopts...)
	res.Verification = vr
	var ve *envelope.VerificationError
	switch {
	case errors.As(err, &ve) && ve.Untrusted:
		return fmt.Errorf("%w: %s", ErrSourceUntrusted, ve.Reason)
	case errors.As(err, &ve):
		return fmt.Errorf("%w: %s", ErrSourceUnverified, ve.Reason)
	case err != nil:
		return fmt.Errorf("profile: verify source: %w", err)
	}
	who := signerOf(vr)
	switch {
	case vr.Trust == envelope.TrustTrusted:
		res.SourceTrust = "trusted: " + vr.TrustReason
	case vr.PolicyGiven:
		return fmt.Errorf("%w: signer %s matches none of the trusted keys or identities given: %s", ErrSourceUntrusted, who, vr.TrustReason)
	case c.requireTrusted:
		return fmt.Errorf("%w: signer %s: no trusted key or identity was given to match it against", ErrSourceUntrusted, who)
	default:
		res.SourceTrust = "UNTRUSTED: the source's signature is intact, but nobody vouched for its signer " + who +
			" (no trusted key or identity was given)"
		warn("source signer untrusted: the signature is intact, but its signer " + who +
			" matches no pinned key or identity, because none was given (profile.WithTrustedKeys, profile.WithIdentity)")
	}
	return nil
}

// signerOf names a verified signer: the keyless identity and issuer, or
// the dev key's fingerprint.
func signerOf(vr *envelope.Result) string {
	if vr.SignerIdentity != "" {
		return vr.SignerIdentity + " (issuer " + vr.SignerIssuer + ")"
	}
	return "key " + vr.SignerKey
}

// buildSigner returns the configured signer after checking it can sign.
func (c *config) buildSigner(ctx context.Context) (envelope.Signer, error) {
	switch {
	case c.signer != nil:
		return c.signer, nil
	case c.useKeyless:
		opts := append([]keyless.Option{keyless.WithIDTokenMinValidity(c.duration + c.grace + time.Minute)}, c.keylessOpts...)
		s, err := keyless.NewSigner(opts...)
		if err != nil {
			return nil, err
		}
		if err := s.Ready(ctx); err != nil {
			return nil, err
		}
		return s, nil
	default:
		s, err := envelope.LoadDevSigner(c.devKeyPath)
		if err != nil {
			return nil, fmt.Errorf("dev signing mode requires --dev-key (or ./cosign.key) to exist and hold an ed25519 key: %w", err)
		}
		return s, nil
	}
}

// plannedInFlight is how many requests the built-in driver may hold in
// flight at p: the concurrency, or the open loop's cap of max(8, 8·RPS).
func plannedInFlight(p loadgen.Point) int {
	if p.Driver() == loadgen.DriverClosedLoop {
		return p.Concurrency
	}
	return min(max(8, int(p.RPS*8)), loadgen.MaxConcurrency)
}

func loadDataset(ctx context.Context, suite catalog.Suite, uri string) (catalog.Dataset, error) {
	if uri == "" {
		return suite.LoadDataset(ctx)
	}
	return catalog.LoadPrompts(ctx, uri, suite.N)
}

func (c *config) buildDriver(suite catalog.Suite, src *envelope.Envelope, ds catalog.Dataset, p loadgen.Point, model string, hc *http.Client) (*loadgen.Driver, error) {
	copts := []loadgen.ClientOption{loadgen.WithHTTPClient(hc), loadgen.WithMaxTokens(suite.MaxTokens)}
	if c.apiKey != "" {
		copts = append(copts, loadgen.WithAPIKey(c.apiKey))
	}
	client, err := loadgen.NewClient(c.baseURL, model, copts...)
	if err != nil {
		return nil, err
	}
	var mode loadgen.Mode
	if p.Driver() == loadgen.DriverClosedLoop {
		mode = loadgen.ClosedLoop{Concurrency: p.Concurrency}
	} else {
		mode = loadgen.Poisson{RPS: p.RPS, Seed: uint64(src.Seed)}
	}
	return loadgen.NewDriver(client, ds.Prompts, mode,
		loadgen.WithDuration(c.duration), loadgen.WithGrace(c.grace), loadgen.WithWarmup(suite.WarmupRequests))
}

// sideFileStem names the side files before the envelope's hash is known:
// profile-<UTC time>-<random>.
func sideFileStem(now time.Time) (string, error) {
	var b [3]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return FilePrefix + "-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b[:]), nil
}

func createNew(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("profile: create %s: %w", path, err)
	}
	return f, nil
}

// writeHTML renders the timeline page from the two side files.
func writeHTML(path, timelinePath, tracePath string, opts report.HTMLOptions) error {
	tl, err := os.Open(timelinePath)
	if err != nil {
		return err
	}
	defer tl.Close()
	tr, err := os.Open(tracePath)
	if err != nil {
		return err
	}
	defer tr.Close()
	var buf bytes.Buffer
	if err := report.WriteHTMLTimeline(&buf, tl, tr, opts); err != nil {
		return err
	}
	return envelope.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// whyStopped is the reason a run stopped: the load's error, which usually
// wraps the cancellation cause already, else the cause, or both.
func whyStopped(runErr, cause error) error {
	switch {
	case runErr == nil:
		return cause
	case cause == nil || errors.Is(runErr, cause):
		return runErr
	}
	return errors.Join(runErr, cause)
}

// interner shares the memory of repeated strings: a failing engine sends
// the same error for thousands of requests, and each result keeps its own
// copy otherwise. It holds at most maxInterned distinct strings.
type interner map[string]string

const maxInterned = 1024

func (in interner) intern(s string) string {
	if s == "" {
		return s
	}
	if v, ok := in[s]; ok {
		return v
	}
	if len(in) < maxInterned {
		in[s] = s
	}
	return s
}

// orchestrate runs the samplers around the load. Samplers start before the
// load and are stopped after it; every goroutine has ended on return.
func (c *config) orchestrate(ctx context.Context, gen loadgen.Generator, tel *telemetry, trace *loadgen.JSONLWriter, timeline *sampler.TimelineWriter) ([]loadgen.Result, *loadgen.RunInfo, []sampler.Stats, error) {
	sampCtx, stopSamplers := context.WithCancel(ctx)
	defer stopSamplers()
	// gpuPower[i]: float64 bits of the latest GPU power summed over the
	// devices of kind GPU that sampler i read (NaN until it reads one).
	gpuPower := make([]atomic.Uint64, len(tel.samplers))
	for i := range gpuPower {
		gpuPower[i].Store(math.Float64bits(math.NaN()))
	}

	g, gctx := errgroup.WithContext(sampCtx)
	stats := make([]sampler.Stats, len(tel.samplers))
	for i, s := range tel.samplers {
		g.Go(func() error {
			st, err := sampler.Run(gctx, s.Sampler, s.Interval, tel.origin, func(r sampler.Reading) {
				if err := timeline.Write(r); err != nil {
					return // the first error is kept by the writer and reported at Flush
				}
				if w, ok := gpuPowerW(r.Devices); ok {
					gpuPower[i].Store(math.Float64bits(w))
				}
			})
			stats[i] = st
			return err
		})
	}

	var (
		mu      sync.Mutex
		errs    = interner{}
		results []loadgen.Result
		okN     atomic.Int64
		failN   atomic.Int64
		tokens  atomic.Int64
	)
	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if c.progress != nil {
		progressWG.Go(func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			start := time.Now()
			lastTokens, lastAt := int64(0), start
			rate := 0.0
			for {
				select {
				case <-progressDone:
					return
				case now := <-t.C:
					if now.Sub(lastAt) >= time.Second {
						n := tokens.Load()
						rate = float64(n-lastTokens) / now.Sub(lastAt).Seconds()
						lastTokens, lastAt = n, now
					}
					c.progress(Progress{Elapsed: now.Sub(start), Duration: c.duration, OK: int(okN.Load()), Failed: int(failN.Load()),
						TokensPerSec: rate, GPUPowerW: latestGPUPowerW(gpuPower)})
				}
			}
		})
	}
	info, runErr := gen.Run(ctx, func(r loadgen.Result) {
		_ = trace.Write(&r) // the first error is kept and reported at Flush
		if r.OK() {
			okN.Add(1)
			tokens.Add(int64(r.OutputTokens))
		} else {
			failN.Add(1)
		}
		mu.Lock()
		r.Error = errs.intern(r.Error)
		if !r.OK() {
			r.Chunks = nil // no metric reads a failed request's chunks; the trace has them
		}
		results = append(results, r)
		mu.Unlock()
	})
	close(progressDone)
	progressWG.Wait()
	stopSamplers()
	if err := g.Wait(); err != nil && runErr == nil && ctx.Err() == nil {
		runErr = err
	}
	return results, info, stats, runErr
}
