package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/internal/textsafe"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/report"
)

// exitInterrupted is the status of a run stopped by Ctrl-C (128 + SIGINT).
const exitInterrupted = 130

// minOKRate is the ok_rate below which profile exits 1 (the envelope is
// still written).
const minOKRate = 0.5

// profileFlags are the parsed flags of `bench profile` and `bench run`.
type profileFlags struct {
	baseURL        string
	duration       secondsFlag
	grace          secondsFlag
	startStep      secondsFlag
	startStepSet   bool
	idle           secondsFlag
	output         string
	signingMode    string
	devKey         string
	verify         bool
	trustedKeys    stringList
	identity       string
	identityRegexp string
	issuer         string
	trustedRoot    string
	requireTrusted bool
	concurrency    int
	rps            float64
	gpus           string
	apiKeyEnv      string
	dataset        string
	model          string
	jsonOut        bool
	quiet          bool
	requireGPU     bool

	// Sweeps and peak search (sweep.go).
	sweep      string
	rpsSweep   string
	findPeak   bool
	slo        string
	maxProbes  int
	peakLimit  float64
	precision  float64
	peakFactor float64

	// bench run: the suite and engine kind of a run from nothing.
	suite  string
	engine string
}

func newProfileFlags() *profileFlags {
	return &profileFlags{verify: true,
		duration:   secondsFlag{d: profile.DefaultDuration, max: loadgen.MaxDuration},
		grace:      secondsFlag{d: profile.DefaultGrace, max: loadgen.MaxDuration},
		startStep:  secondsFlag{d: loadgen.DefaultStartStep, max: loadgen.MaxDuration},
		idle:       secondsFlag{d: profile.DefaultIdlePhase, max: profile.MaxIdlePhase},
		maxProbes:  profile.DefaultMaxProbes,
		precision:  profile.DefaultPeakPrecision,
		peakFactor: profile.DefaultPeakFactor,
	}
}

// addRunFlags registers the flags `bench profile` and `bench run` share:
// the engine, the load, the signer, the output, the sweeps and the search.
func (f *profileFlags) addRunFlags(fs *flag.FlagSet, outputDefault string) {
	fs.StringVar(&f.baseURL, "base-url", "", "the running engine's OpenAI-compatible `URL`, e.g. http://localhost:8000/v1 (required)")
	fs.Var(&f.duration, "duration", "how long to send load at each point, `D` in seconds (30) or as a duration (30s); 0 uses the suite's own duration")
	fs.Var(&f.grace, "grace", "how long requests still in flight after the duration may finish before they are cut off: `D` in seconds or as a duration")
	fs.Func("start-step", "closed loop: each worker sends its first request once the previous one's response has begun, worker w at the latest w×`D` after the start (seconds or a duration; default 1ms, at most 1s/concurrency); 0 starts them all at once, as the reference", func(s string) error {
		f.startStepSet = true
		return f.startStep.Set(s)
	})
	fs.Var(&f.idle, "idle", "how long to read the GPUs with the engine idle before the load, for the idle baseline (power_idle_w, energy above idle): `D` in seconds or as a duration; 0 skips it")
	fs.StringVar(&f.output, "output", "", "output `DIR` (default ./"+outputDefault+")")
	fs.StringVar(&f.signingMode, "signing-mode", "dev", "`MODE`: dev or keyless")
	fs.StringVar(&f.devKey, "dev-key", "", "the dev signing key `PATH` (default ./"+profile.DefaultDevKeyPath+"; make one with: bench keygen cosign.key)")
	fs.IntVar(&f.concurrency, "concurrency", 0, fmt.Sprintf("the point: closed loop at `N` concurrent requests (1 to %d); with --find-peak, the first probe", loadgen.MaxConcurrency))
	fs.Float64Var(&f.rps, "rps", 0, fmt.Sprintf("the point: Poisson arrivals at `R` requests per second (above 0, at most %g); with --find-peak, the first probe", loadgen.MaxRPS))
	fs.StringVar(&f.sweep, "sweep", "", "run each of the concurrencies in `LIST` (1,4,16,64), or the suite's own points (source), each with its own envelope, and write a summary with the curves")
	fs.StringVar(&f.rpsSweep, "rps-sweep", "", "run each of the rates in `LIST` (1,2,4 requests per second), each with its own envelope, and write a summary")
	fs.BoolVar(&f.findPeak, "find-peak", false, "search for the highest load that holds --slo, in at most --max-probes short probes (each with its own envelope)")
	fs.StringVar(&f.slo, "slo", "", "what --find-peak requires of a point: latency `BOUNDS` such as ttft_p99=500ms,tpot_p99=50ms (ttft, tpot, itl or total; p50 to p999), and/or suite (the SLO template met by 99% of requests)")
	fs.IntVar(&f.maxProbes, "max-probes", profile.DefaultMaxProbes, fmt.Sprintf("--find-peak probes at most `N` points (1 to %d)", profile.MaxPeakProbes))
	fs.Float64Var(&f.peakLimit, "peak-limit", 0, "--find-peak probes no load above `L` (a concurrency or a rate, as the search; default the driver's maximum)")
	fs.Float64Var(&f.precision, "peak-precision", profile.DefaultPeakPrecision, "--find-peak stops once the point past the peak is within `R` of it (0.1: 10%)")
	fs.Float64Var(&f.peakFactor, "peak-factor", profile.DefaultPeakFactor, "--find-peak multiplies the load by `F` from probe to probe until the SLO breaks")
	fs.StringVar(&f.gpus, "gpus", "", "`GPUS` to sample and count: comma-separated indexes or UUIDs (default: sample all, count those the engine runs on when it can be told, else all)")
	fs.StringVar(&f.apiKeyEnv, "api-key-env", "", "`NAME` of the environment variable holding the engine's API key")
	fs.StringVar(&f.dataset, "dataset", "", "replace the suite's dataset with `URI` (file:// JSONL or ShareGPT JSON)")
	fs.BoolVar(&f.jsonOut, "json", false, "print the report as JSON instead of tables")
	fs.BoolVar(&f.quiet, "quiet", false, "print only the paths of the files written (warnings still go to stderr)")
	fs.BoolVar(&f.requireGPU, "require-gpu", false, "refuse to sign a run without GPU telemetry (exit 1): checked before the load and after it")
}

func parseProfileFlags(args []string) (*profileFlags, string, error) {
	f := newProfileFlags()
	fs := newFlagSet("profile")
	f.addRunFlags(fs, profile.DefaultOutputDir)
	fs.BoolVar(&f.verify, "verify", true, "verify the source envelope's signature (on by default; --no-verify turns it off)")
	fs.BoolFunc("no-verify", "do not verify the source envelope (unsigned local fixtures)", func(string) error { f.verify = false; return nil })
	fs.Var(&f.trustedKeys, "trusted-key", "pin a public key: a `PATH` to a .pub file or a directory of them; the source's dev-key signer must match one (repeatable)")
	fs.StringVar(&f.identity, "identity", "", "trust keyless sources whose certificate identity is exactly `ID` (with --issuer)")
	fs.StringVar(&f.identityRegexp, "identity-regexp", "", "trust keyless sources whose whole certificate identity matches the regular expression `RE` (with --issuer)")
	fs.StringVar(&f.issuer, "issuer", "", "the OIDC issuer `URL` keyless sources must have (with --identity or --identity-regexp)")
	fs.StringVar(&f.trustedRoot, "trusted-root", "", "a Sigstore trusted_root.json `PATH` for keyless verification (default: public-good via TUF)")
	fs.BoolVar(&f.requireTrusted, "require-trusted", false, "refuse a source whose signer is not pinned or matched")
	fs.StringVar(&f.model, "model", "", "the `NAME` the engine serves the model under (default the source's model.id)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return nil, "", err
	}
	if len(pos) == 0 {
		return nil, "", usageErr("profile: Missing argument 'ENVELOPE_PATH'")
	}
	if len(pos) > 1 {
		return nil, "", usageErr("profile: expected one envelope path, got %d arguments", len(pos))
	}
	if err := f.checkPoint("profile"); err != nil {
		return nil, "", err
	}
	if err := f.checkModes("profile"); err != nil {
		return nil, "", err
	}
	return f, pos[0], nil
}

// checkPoint bounds --concurrency and --rps before anything runs.
func (f *profileFlags) checkPoint(cmd string) error {
	switch {
	case f.concurrency != 0 && f.rps != 0:
		return usageErr("%s: --concurrency and --rps are exclusive; give one", cmd)
	case f.concurrency < 0 || f.concurrency > loadgen.MaxConcurrency:
		return usageErr("%s: --concurrency %d is out of range: give 1 to %d", cmd, f.concurrency, loadgen.MaxConcurrency)
	case f.rps < 0 || math.IsNaN(f.rps) || f.rps > loadgen.MaxRPS:
		return usageErr("%s: --rps %g is out of range: give a rate above 0 and at most %g requests per second", cmd, f.rps, loadgen.MaxRPS)
	}
	return nil
}

// loadSource loads the source envelope as the reference does: remote URIs
// are refused with a hint, a missing or invalid file is a usage error. A
// file that is not in canonical form is noted on stderr: its signature
// covers the canonical rendering, not the bytes a reader sees.
func loadSource(path string, stderr io.Writer) (*envelope.Envelope, error) {
	for _, scheme := range []string{"hf://", "https://", "http://", "s3://"} {
		if strings.HasPrefix(path, scheme) {
			return nil, withCode(exitUsage, fmt.Errorf("URI scheme not supported: %s; envelopes are read from local files only — download the envelope first", scheme))
		}
	}
	if fi, err := os.Stat(path); err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("Envelope not found: %s", path)) //lint:ignore ST1005 the reference's message
	} else if fi.IsDir() {
		return nil, withCode(exitUsage, fmt.Errorf("envelope %s is a directory, not a file", path))
	}
	data, err := envelope.ReadFile(path)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	e, err := envelope.Parse(data)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("envelope %s: %w", path, err))
	}
	if !envelope.IsCanonicalFile(data, e) {
		fmt.Fprintf(stderr, "bench: note: %s is not in canonical form: its bytes differ from the canonical rendering its signature covers (whitespace, key order, escapes or coerced values)\n", textsafe.Escape(path))
	}
	return e, nil
}

func runProfile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, path, err := parseProfileFlags(args)
	if err != nil {
		return err
	}
	src, err := loadSource(path, stderr)
	if err != nil {
		return err
	}
	opts, err := f.options(src, path)
	if err != nil {
		return err
	}
	opts = append(opts, progressOptions(stderr, f.quiet)...)
	return f.runMode(ctx, profile.FromEnvelope(src), path, opts, stdout, stderr)
}

// options turns the flags into library options: those of any run, then
// those about a source envelope.
func (f *profileFlags) options(src *envelope.Envelope, path string) ([]profile.Option, error) {
	opts, err := f.runOptions(src.SuiteID)
	if err != nil {
		return nil, err
	}
	opts = append(opts, profile.WithSourcePath(path))
	if !f.verify {
		opts = append(opts, profile.WithoutVerificationUnsafe())
	}
	if len(f.trustedKeys) > 0 {
		opts = append(opts, profile.WithTrustedKeys(f.trustedKeys...))
	}
	if (f.identity != "" || f.identityRegexp != "") != (f.issuer != "") {
		return nil, usageErr("profile: --identity (or --identity-regexp) and --issuer go together; give both or neither")
	}
	if f.identity != "" {
		opts = append(opts, profile.WithIdentity(f.identity, f.issuer))
	}
	if f.identityRegexp != "" {
		opts = append(opts, profile.WithIdentityRegexp(f.identityRegexp, f.issuer))
	}
	if f.trustedRoot != "" {
		opts = append(opts, profile.WithTrustedRootFile(f.trustedRoot))
	}
	if f.requireTrusted {
		opts = append(opts, profile.WithRequireTrusted())
	}
	if f.model != "" {
		opts = append(opts, profile.WithServedModel(f.model))
	}
	return opts, nil
}

// runOptions are the options of any run, of a source or of a suite.
func (f *profileFlags) runOptions(suiteID string) ([]profile.Option, error) {
	opts := []profile.Option{profile.WithBaseURL(f.baseURL), profile.WithGrace(f.grace.d), profile.WithIdlePhase(f.idle.d)}
	if f.duration.d == 0 {
		if s, err := catalog.LookupSuite(suiteID); err == nil {
			opts = append(opts, profile.WithDuration(s.Duration)) // the reference's fallback to the spec
		}
	} else {
		opts = append(opts, profile.WithDuration(f.duration.d))
	}
	if f.output != "" {
		opts = append(opts, profile.WithOutputDir(f.output))
	}
	if f.startStepSet {
		opts = append(opts, profile.WithStartStep(f.startStep.d))
	}
	switch f.signingMode {
	case "dev":
		if f.devKey != "" {
			opts = append(opts, profile.WithDevKey(f.devKey))
		}
	case "keyless":
		opts = append(opts, profile.WithKeyless())
	default:
		//lint:ignore ST1005 the reference's message
		return nil, withCode(exitFailure, fmt.Errorf("Unknown --signing-mode: %s (expected 'dev' or 'keyless')", f.signingMode))
	}
	if p := f.point(); !p.IsZero() {
		if f.findPeak {
			opts = append(opts, profile.WithPeakStart(p))
		} else {
			opts = append(opts, profile.WithPoint(p))
		}
	}
	if f.gpus != "" {
		opts = append(opts, profile.WithGPUs(strings.Split(f.gpus, ",")...))
	}
	if f.apiKeyEnv != "" {
		key, ok := os.LookupEnv(f.apiKeyEnv)
		if !ok || key == "" {
			return nil, usageErr("--api-key-env %s: that environment variable is not set", f.apiKeyEnv)
		}
		opts = append(opts, profile.WithAPIKey(key))
	}
	if f.dataset != "" {
		opts = append(opts, profile.WithDataset(f.dataset))
	}
	if f.requireGPU {
		opts = append(opts, profile.WithRequireGPU())
	}
	if f.findPeak {
		popts, err := f.peakOptions(suiteID)
		if err != nil {
			return nil, err
		}
		opts = append(opts, popts...)
	}
	return opts, nil
}

// point is the load point --concurrency or --rps gives, or the zero Point.
func (f *profileFlags) point() loadgen.Point {
	switch {
	case f.concurrency != 0:
		return loadgen.Point{Concurrency: f.concurrency}
	case f.rps != 0:
		return loadgen.Point{RPS: f.rps}
	}
	return loadgen.Point{}
}

// profileAndReport runs the profile and prints the report, mapping library
// errors to the reference's exit codes (FACTS §8.2).
func profileAndReport(ctx context.Context, src profile.Source, path string, opts []profile.Option, jsonOut, quiet bool, stdout, stderr io.Writer) error {
	opts = append(slices.Clip(opts), profile.WithTimelineHTML()) // the CLI always writes the page beside the envelope
	res, err := profile.RunSource(ctx, src, opts...)
	if isTerminal(stderr) {
		fmt.Fprint(stderr, "\r\x1b[K") // clear the progress line
	}
	if err != nil {
		if res != nil {
			printWarnings(stderr, res.Warnings)
		}
		return sourceError(src, err)
	}
	if !res.Fresh && !strings.HasPrefix(res.SourceTrust, "trusted") && (quiet || jsonOut) {
		// The reports start with this line; without them it goes to stderr.
		fmt.Fprintln(stderr, "bench: source:", textsafe.Escape(res.SourceTrust))
	}
	warnings := res.Warnings
	if res.Point.Source == catalog.SourceSuiteDefault && !res.Fresh {
		// The library names its option; on the command line it is a flag.
		warnings = append(slices.Clone(warnings), "to run at the source's own point, pass it: --concurrency N (closed loop) or --rps R (open loop)")
	}
	p := report.Profile{
		SourcePath: path, OutputPath: res.Path, Source: src.Envelope(), Profile: res.Envelope, SourceTrust: res.SourceTrust,
		Failures:    failures(res.Summary),
		Unavailable: res.Unavailable, NVMLInterval: res.NVMLInterval, RAPLInterval: res.RAPLInterval,
		Files: map[string]string{"envelope": res.Path, "requests": res.TracePath, "timeline": res.TimelinePath, "html": res.HTMLPath},
	}
	if res.Fresh { // no source envelope: the report shows the new one alone
		p.Source, p.SourcePath, p.SourceTrust = nil, "", ""
	}
	switch {
	case quiet:
	case jsonOut:
		p.Warnings = warnings // a JSON document carries them as data, too
		if err := report.WriteJSON(stdout, p); err != nil {
			return err
		}
	default:
		if err := report.WriteText(stdout, p, report.TextOptions{Color: isTerminal(stdout) && os.Getenv("NO_COLOR") == ""}); err != nil {
			return err
		}
		fmt.Fprintln(stdout)
	}
	// Diagnostics go to stderr, and --quiet does not silence them.
	printWarnings(stderr, warnings)
	if !jsonOut {
		fmt.Fprintf(stdout, "envelope: %s\nrequests: %s\ntimeline: %s\n", textsafe.Escape(res.Path), textsafe.Escape(res.TracePath), textsafe.Escape(res.TimelinePath))
		if res.HTMLPath != "" {
			fmt.Fprintf(stdout, "timeline view: %s\n", textsafe.Escape(res.HTMLPath))
		}
	}
	if quiet && len(p.Failures) > 0 {
		for _, f := range p.Failures {
			fmt.Fprintf(stderr, "bench: %d requests failed with %s; the first: %s\n", f.Count, f.Class, textsafe.Escape(f.First))
		}
	}
	if ok := res.OKRate(); ok < minOKRate {
		return withCode(exitFailure, fmt.Errorf("ok_rate %.2f is below %.2f: most requests failed (see %s); the envelope was still written to %s",
			ok, minOKRate, res.TracePath, res.Path))
	}
	return nil
}

// printWarnings writes each warning on its own line of stderr, escaped.
func printWarnings(stderr io.Writer, ws []string) {
	for _, w := range ws {
		fmt.Fprintln(stderr, "bench: warning:", textsafe.Escape(w))
	}
}

// progressOptions reports progress on stderr: a live one-line display on a
// terminal, or a plain line every plainProgressEvery in a log (CI, nohup, a
// harness), so that a stalled engine never means minutes of silence.
// --quiet turns progress off.
func progressOptions(stderr io.Writer, quiet bool) []profile.Option {
	switch {
	case quiet:
		return nil
	case isTerminal(stderr):
		return []profile.Option{profile.WithProgress(progressLine(stderr))}
	}
	return []profile.Option{profile.WithProgress(progressLog(stderr, plainProgressEvery))}
}

// plainProgressEvery is how often a plain progress line is printed when
// stderr is not a terminal.
const plainProgressEvery = 5 * time.Second

// progressLog prints a plain line whenever another every has elapsed.
func progressLog(w io.Writer, every time.Duration) func(profile.Progress) {
	next := every
	var point loadgen.Point
	return func(p profile.Progress) {
		if p.Point != point { // the next point of a sweep: its clock starts again
			point, next = p.Point, every
		}
		if p.Elapsed < next {
			return
		}
		for next <= p.Elapsed {
			next += every
		}
		fmt.Fprintf(w, "bench: profiling %s%.0fs/%.0fs  ok %d  failed %d  %.0f tok/s  GPU %s\n",
			pointText(p.Point), p.Elapsed.Seconds(), p.Duration.Seconds(), p.OK, p.Failed, p.TokensPerSec, powerText(p.GPUPowerW))
	}
}

// pointText names a sweep point for the progress display ("c16 "), or
// nothing when unknown.
func pointText(p loadgen.Point) string {
	if p.IsZero() {
		return ""
	}
	return catalog.FilePrefix(p) + " "
}

func powerText(w float64) string {
	if math.IsNaN(w) {
		return "-"
	}
	return strconv.FormatFloat(w, 'f', 0, 64) + " W"
}

// failures lists the failed post-warmup requests by outcome class, in the
// order of loadgen's outcome classes, with the first message of each.
func failures(s loadgen.Summary) []report.Failure {
	var out []report.Failure
	for _, o := range []loadgen.Outcome{loadgen.OutcomeHTTPStatus, loadgen.OutcomeTransport, loadgen.OutcomeStreamError,
		loadgen.OutcomeTimeout, loadgen.OutcomeCutOff, loadgen.OutcomeCancelled} {
		if n := s.Outcomes[o]; n > 0 {
			out = append(out, report.Failure{Class: string(o), Count: n, First: s.FirstErrors[o]})
		}
	}
	return out
}

func profileError(err error) error { return commandError("Profile run", err) }

// sourceError maps an error of a run of src: a profile's, or a fresh
// run's (bench run), which has no source envelope to name.
func sourceError(src profile.Source, err error) error {
	if src.Fresh() {
		return commandError("Run", err)
	}
	return profileError(err)
}

// commandError maps a library error to the reference's exit codes and
// messages (FACTS §8.2); what names the failed operation ("Profile run").
func commandError(what string, err error) error {
	switch {
	case errors.Is(err, profile.ErrNoBaseURL):
		//lint:ignore ST1005 the reference's message
		return withCode(exitUsage, errors.New("--base-url is required for bench profile. Envelopes are host-agnostic and do not store the live engine URL — "+
			"you must point this profile at a running engine (e.g. --base-url http://localhost:8000/v1)."))
	case errors.Is(err, catalog.ErrDatasetUnavailable):
		return withCode(exitFailure, fmt.Errorf("%s failed: %w; on the command line: --dataset file:///path/to/prompts.jsonl", what, err))
	case errors.Is(err, profile.ErrOptions):
		return withCode(exitUsage, err)
	case errors.Is(err, profile.ErrSigner):
		return withCode(exitFailure, fmt.Errorf("%w; make a dev key with `bench keygen cosign.key` and pass --dev-key, or use --signing-mode keyless", err))
	case errors.Is(err, profile.ErrInterrupted):
		var sc signalCause
		if errors.As(err, &sc) {
			return withCode(sc.exitCode(), err)
		}
		return withCode(exitInterrupted, err)
	case errors.Is(err, profile.ErrSourceUnverified):
		return withCode(exitFailure, fmt.Errorf("FAIL %w; pass --no-verify to bypass (e.g. for unsigned local fixtures)", err))
	case errors.Is(err, profile.ErrSourceUntrusted):
		return withCode(exitFailure, fmt.Errorf("FAIL %w; profile it only if you trust its signer: pin its key with --trusted-key, or its identity with --identity/--issuer", err))
	}
	return withCode(exitFailure, fmt.Errorf("%s failed: %w", what, err)) // "Profile run failed: …", the reference's message
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressLine renders progress as one rewritten line on w.
func progressLine(w io.Writer) func(profile.Progress) {
	return func(p profile.Progress) {
		fmt.Fprintf(w, "\r\x1b[Kprofiling %s%4.0fs/%.0fs  ok %d  failed %d  %.0f tok/s  GPU %s",
			pointText(p.Point), p.Elapsed.Seconds(), p.Duration.Seconds(), p.OK, p.Failed, p.TokensPerSec, powerText(p.GPUPowerW))
	}
}
