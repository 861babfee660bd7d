package profile

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/envelope/keyless"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
)

// Defaults, as the reference's `bench profile` uses them (FACTS §11). The
// CLI uses them as its flag defaults.
const (
	DefaultDuration     = 30 * time.Second
	DefaultNVMLInterval = 10 * time.Millisecond
	DefaultRAPLInterval = 25 * time.Millisecond
	DefaultOutputDir    = "profile-results"
	DefaultGrace        = loadgen.DefaultGrace
	// DefaultDevKeyPath is the dev signing key used when no signer is
	// chosen: ./cosign.key, as the reference falls back to.
	DefaultDevKeyPath = envelope.DefaultDevKeyPath
	// FilePrefix starts the names of the files a profile writes.
	FilePrefix = "profile"
	// DefaultIdlePhase is how long the samplers read the engine idle,
	// before the load, for the idle baseline (power_idle_w).
	DefaultIdlePhase = 3 * time.Second
	// MaxIdlePhase bounds WithIdlePhase.
	MaxIdlePhase = 10 * time.Minute
)

// Option configures [Run]. Options only record values; Run validates them
// all at once before doing anything, so their order never matters: two
// options that contradict each other (two signers, trust options beside
// WithoutVerificationUnsafe, NVML options beside WithoutDefaultSamplers, a
// load point beside WithLoadGenerator) are an error naming both, never a
// silent last-wins, and so is a nil Option. An option that takes one value
// replaces an earlier use of itself; one that adds (WithTrustedKeys,
// WithSampler, …) says so.
type Option interface {
	apply(*config)
}

// option is an Option with its name, so that validation can name the
// options that conflict.
type option struct {
	name string
	fn   func(*config)
}

func (o option) apply(c *config) {
	c.used = append(c.used, o.name)
	o.fn(c)
}

func opt(name string, fn func(*config)) Option { return option{name, fn} }

type extraSampler struct {
	s        sampler.Sampler
	interval time.Duration
}

type config struct {
	baseURL      string
	duration     time.Duration
	grace        time.Duration
	startStep    time.Duration // with WithStartStep; else loadgen's default
	nvmlInterval time.Duration
	raplInterval time.Duration
	outputDir    string
	idlePhase    time.Duration

	devKeyPath  string
	keylessOpts []keyless.Option
	useKeyless  bool
	signer      envelope.Signer

	verify         bool
	verifyOpts     []envelope.VerifyOption
	keylessVerify  []keyless.VerifierOption // for the source's keyless verifier
	requireTrusted bool

	samplers        []extraSampler
	defaultSamplers bool
	gpus            []string
	nvmlLibrary     string
	sysRoot         string

	generator   loadgen.Generator
	engineKinds []loadgen.EngineKind
	point       loadgen.Point
	servedModel string
	datasetURI  string
	apiKey      string
	httpClient  *http.Client
	now         func() time.Time
	progress    func(Progress)
	logger      *slog.Logger
	sourcePath  string
	html        bool
	requireGPU  bool

	// FindPeak's search (peak.go).
	peakStart     loadgen.Point
	peakLimit     loadgen.Point
	peakFactor    float64
	peakPrecision float64
	maxProbes     int

	// used lists the options applied, by name, in order.
	used []string
}

func defaults() *config {
	return &config{
		duration:        DefaultDuration,
		grace:           DefaultGrace,
		nvmlInterval:    DefaultNVMLInterval,
		raplInterval:    DefaultRAPLInterval,
		outputDir:       DefaultOutputDir,
		idlePhase:       DefaultIdlePhase,
		devKeyPath:      DefaultDevKeyPath,
		verify:          true,
		defaultSamplers: true,
		sysRoot:         "/",
		now:             time.Now,
		peakFactor:      DefaultPeakFactor,
		peakPrecision:   DefaultPeakPrecision,
		maxProbes:       DefaultMaxProbes,
	}
}

// WithBaseURL points the profile at a running OpenAI-compatible engine
// ("http://localhost:8000/v1"; with or without /v1). It is required:
// envelopes are host-agnostic and do not store the engine's URL.
func WithBaseURL(url string) Option { return opt("WithBaseURL", func(c *config) { c.baseURL = url }) }

// WithDuration sets how long load is issued. By default it is
// DefaultDuration (30 s, the reference's --duration default).
func WithDuration(d time.Duration) Option {
	return opt("WithDuration", func(c *config) { c.duration = d })
}

// WithGrace sets how long requests in flight at the end of the duration may
// finish before they are cut off. By default it is DefaultGrace (30 s).
func WithGrace(d time.Duration) Option { return opt("WithGrace", func(c *config) { c.grace = d }) }

// WithStartStep sets how a closed-loop point's workers start
// (loadgen.WithStartStep): worker w sends its first request once worker
// w−1's response has begun, and at the latest w·d after the load's start,
// so that a few hundred workers do not all connect in the same instant and
// put the client's and the engine's start-up queue into the first requests'
// TTFT. Zero starts them all at once, as the reference does. By default, if
// this option is not used, d is loadgen.DefaultStartStep (1 ms), but at
// most 1 s / concurrency. It must not be negative nor more than
// loadgen.MaxDuration; it cannot be combined with WithLoadGenerator.
func WithStartStep(d time.Duration) Option {
	return opt("WithStartStep", func(c *config) { c.startStep = d })
}

// WithNVMLInterval sets the GPU sampling interval. By default it is
// DefaultNVMLInterval (10 ms). It must be positive; to sample no GPU use
// WithoutDefaultSamplers.
func WithNVMLInterval(d time.Duration) Option {
	return opt("WithNVMLInterval", func(c *config) { c.nvmlInterval = d })
}

// WithRAPLInterval sets the CPU/DRAM energy sampling interval. By default
// it is DefaultRAPLInterval (25 ms). It must be positive.
func WithRAPLInterval(d time.Duration) Option {
	return opt("WithRAPLInterval", func(c *config) { c.raplInterval = d })
}

// WithIdlePhase sets how long the samplers read the engine before the
// load, with nothing sent, for the idle baseline: power_idle_w (each GPU's
// idle power and their sum), energy_joules_gpu_above_idle and
// joules_per_token_above_idle (see the energy package, "Idle baseline").
// The phase starts once every sampler has taken its first reading, and the
// load starts once every sampler has read past its end (a reading after
// the end bounds its last energy of record; without it the first requests'
// power would leak into the baseline). When
// the engine was not idle in it (GPU utilization, or power that did not
// settle), the idle figures are absent with that reason and a warning says
// so. 0 skips the phase (the idle figures are then absent); it must not be
// negative nor above MaxIdlePhase (10 min). By default, if this option is
// not used, it is DefaultIdlePhase (3 s).
func WithIdlePhase(d time.Duration) Option {
	return opt("WithIdlePhase", func(c *config) { c.idlePhase = d })
}

// WithOutputDir sets where the envelope and its side files are written. By
// default it is DefaultOutputDir ("profile-results", relative to the
// working directory).
func WithOutputDir(dir string) Option {
	return opt("WithOutputDir", func(c *config) { c.outputDir = dir })
}

// WithDevKey signs in dev mode with the ed25519 key file at path (PKCS#8
// PEM, or a cosign/Sigstore encrypted key with $COSIGN_PASSWORD). By
// default, if no signing option is used, DefaultDevKeyPath (./cosign.key)
// is used. The key is loaded and checked before any load is sent. It
// excludes WithKeyless and WithSigner.
func WithDevKey(path string) Option {
	return opt("WithDevKey", func(c *config) { c.devKeyPath = path })
}

// WithKeyless signs with Sigstore keyless signing; opts configure the
// signer (token, signing config, trusted root). Its readiness (a token that
// will not expire during the run, loadable Sigstore configuration) is
// checked before any load is sent. It excludes WithDevKey and WithSigner.
func WithKeyless(opts ...keyless.Option) Option {
	return opt("WithKeyless", func(c *config) { c.useKeyless, c.keylessOpts = true, opts })
}

// WithSigner signs with any Signer (not nil). It excludes WithDevKey and
// WithKeyless.
func WithSigner(s envelope.Signer) Option {
	return opt("WithSigner", func(c *config) { c.signer = s })
}

// WithTrustedKeys pins dev-key public keys (files or directories of .pub
// files) that the source envelope's signer must match. Repeated uses add
// keys. A given policy is a requirement: a source signed by any other key
// is refused with ErrSourceUntrusted. By default no key is pinned, and an
// intact source runs with Result.SourceTrust saying "UNTRUSTED".
func WithTrustedKeys(paths ...string) Option {
	return opt("WithTrustedKeys", func(c *config) { c.verifyOpts = append(c.verifyOpts, envelope.WithTrustedKeys(paths...)) })
}

// WithIdentity trusts keyless source envelopes whose certificate identity
// is exactly identity (the whole SAN: "alice@example.com" does not trust
// "malice@example.com") and whose OIDC issuer is exactly issuer. Repeated
// uses add alternatives; a source matching none is refused with
// ErrSourceUntrusted. By default no keyless signer is trusted.
func WithIdentity(identity, issuer string) Option {
	return opt("WithIdentity", func(c *config) { c.verifyOpts = append(c.verifyOpts, envelope.WithIdentity(identity, issuer)) })
}

// WithIdentityRegexp is WithIdentity with a regular expression that must
// match the whole identity (it is anchored at both ends). Repeated uses add
// alternatives. By default no keyless signer is trusted.
func WithIdentityRegexp(pattern, issuer string) Option {
	return opt("WithIdentityRegexp", func(c *config) {
		c.verifyOpts = append(c.verifyOpts, envelope.WithIdentityRegexp(pattern, issuer))
	})
}

// WithTrustedRootFile verifies keyless sources against a local Sigstore
// trusted_root.json (keyless.WithTrustedRootFile). By default the
// public-good root is fetched through TUF. An empty path is an error. A
// later use replaces an earlier one. A keyless verifier given with
// WithVerifyOptions (envelope.WithMethodVerifier) replaces the one this
// configures.
func WithTrustedRootFile(path string) Option {
	return opt("WithTrustedRootFile", func(c *config) { c.keylessVerify = append(c.keylessVerify, keyless.WithTrustedRootFile(path)) })
}

// WithVerifyOptions passes further options to envelope.Verify for the
// source envelope. Repeated uses add options.
func WithVerifyOptions(opts ...envelope.VerifyOption) Option {
	return opt("WithVerifyOptions", func(c *config) { c.verifyOpts = append(c.verifyOpts, opts...) })
}

// WithRequireTrusted refuses to profile a source whose signer is not
// trusted even when no trust policy was given. By default an intact source
// runs when no policy was given, with Result.SourceTrust saying
// "UNTRUSTED" and a warning that is also recorded in the new envelope (a
// given policy is always a requirement).
func WithRequireTrusted() Option {
	return opt("WithRequireTrusted", func(c *config) { c.requireTrusted = true })
}

// WithoutVerificationUnsafe profiles the source without checking its
// signature at all (for unsigned local fixtures). By default the source
// must carry an intact signature.
func WithoutVerificationUnsafe() Option {
	return opt("WithoutVerificationUnsafe", func(c *config) { c.verify = false })
}

// WithSampler adds a telemetry sampler read every interval, beside the
// default NVML and RAPL samplers. Repeated uses add samplers. Run closes it
// when done. It is treated exactly as the default ones: its readings count
// by their devices' kinds (a sampler of GPUs gives the GPU figures,
// whatever its name).
func WithSampler(s sampler.Sampler, interval time.Duration) Option {
	return opt("WithSampler", func(c *config) { c.samplers = append(c.samplers, extraSampler{s, interval}) })
}

// WithoutDefaultSamplers skips the built-in NVML and RAPL samplers (the
// breakdown then has only what WithSampler provides). By default both are
// opened, by OpenDefaultSamplers; a missing one degrades to a warning.
func WithoutDefaultSamplers() Option {
	return opt("WithoutDefaultSamplers", func(c *config) { c.defaultSamplers = false })
}

// WithGPUs selects the GPUs NVML samples, by index ("0") or UUID, and the
// energy figures count all of them. By default every GPU is sampled and
// the figures count the GPUs the engine runs on, when it runs on this host
// and they can be told: the processes of the listener of the base URL's
// port (read in /proc under WithSystemRoot), their descendants and the
// launchers above them that this process does not share, matched
// to the processes NVML lists on each GPU. The other GPUs are reported
// apart (power_avg_w_other_gpus, energy_joules_gpu_other_gpus); the
// mapping is recorded in the envelope (driver_options.telemetry). When the
// engine is remote, in another network or PID namespace, or NVML cannot
// list processes, every GPU counts, as the reference does, and a warning
// says why.
func WithGPUs(selectors ...string) Option {
	return opt("WithGPUs", func(c *config) { c.gpus = append([]string(nil), selectors...) })
}

// WithNVMLLibrary loads NVML from path instead of the system's
// libnvidia-ml.so.1 (a fake library for tests).
func WithNVMLLibrary(path string) Option {
	return opt("WithNVMLLibrary", func(c *config) { c.nvmlLibrary = path })
}

// WithSystemRoot reads /sys and /proc (RAPL zones, DMI, NUMA, CPU) under
// root instead of "/". By default root is "/".
func WithSystemRoot(root string) Option {
	return opt("WithSystemRoot", func(c *config) { c.sysRoot = root })
}

// WithLoadGenerator replaces the built-in load (the suite's driver against
// the base URL) with g; the engine is still probed. By default the suite's
// driver is used.
func WithLoadGenerator(g loadgen.Generator) Option {
	return opt("WithLoadGenerator", func(c *config) { c.generator = g })
}

// WithEngineKinds describes engine kinds beside loadgen's built-in ones
// (vLLM, SGLang, TensorRT-LLM, llama.cpp, MLX): a source whose engine.name
// is one of them is accepted, and the probe can identify the engine as one
// (see loadgen.EngineKind and loadgen.Probe). Repeated uses add kinds; a
// set that is not valid (an empty or repeated name, an owner claimed twice)
// makes Run fail before it does anything. By default only the built-in
// kinds are known, and any other engine.name fails with ErrUnknownEngine.
func WithEngineKinds(kinds ...loadgen.EngineKind) Option {
	return opt("WithEngineKinds", func(c *config) { c.engineKinds = append(c.engineKinds, kinds...) })
}

// WithPoint overrides the sweep point (concurrency or rate). By default the
// source's point is used (driver_options, else the file name prefix, else
// the suite's first point).
func WithPoint(p loadgen.Point) Option { return opt("WithPoint", func(c *config) { c.point = p }) }

// WithServedModel sends requests for name instead of the source's model.id
// (when the engine serves the model under another name). By default the
// source's model.id is used.
func WithServedModel(name string) Option {
	return opt("WithServedModel", func(c *config) { c.servedModel = name })
}

// WithDataset replaces the suite's dataset with uri (file:// JSONL or a
// ShareGPT JSON file). By default the suite's dataset is used; suites whose
// dataset lives on the Hugging Face hub (sharegpt-v3) need this offline.
func WithDataset(uri string) Option {
	return opt("WithDataset", func(c *config) { c.datasetURI = uri })
}

// WithAPIKey sends key as a bearer token to the engine. It is never
// written to the envelope or a log. By default no key is sent.
func WithAPIKey(key string) Option { return opt("WithAPIKey", func(c *config) { c.apiKey = key }) }

// WithHTTPClient uses hc to reach the engine (probe and load). By default a
// client with a connection pool sized to the concurrency is built.
func WithHTTPClient(hc *http.Client) Option {
	return opt("WithHTTPClient", func(c *config) { c.httpClient = hc })
}

// WithClock sets the wall clock of the new envelope's timestamp and run_id.
// By default it is time.Now. Durations are always measured on the
// monotonic clock.
func WithClock(now func() time.Time) Option { return opt("WithClock", func(c *config) { c.now = now }) }

// WithProgress calls fn with the run's progress at most four times a
// second while load runs, from a goroutine Run owns; fn must return
// quickly. By default there are no progress reports.
func WithProgress(fn func(Progress)) Option {
	return opt("WithProgress", func(c *config) { c.progress = fn })
}

// WithLogger logs the run's steps and warnings. By default nothing is logged.
func WithLogger(l *slog.Logger) Option { return opt("WithLogger", func(c *config) { c.logger = l }) }

// WithSourcePath names the file the source envelope came from: its name
// may carry the sweep point (c16-…json) and it appears in the report. By
// default the source has no path.
func WithSourcePath(path string) Option {
	return opt("WithSourcePath", func(c *config) { c.sourcePath = path })
}

// WithRequireGPU refuses to publish a profile without GPU telemetry: Run
// fails with ErrNoGPUTelemetry before any load when no sampler describes a
// GPU, and after the load, before signing anything, when no GPU energy was
// measured over the window. By default a profile without GPU telemetry is
// signed with its GPU figures marked unavailable.
func WithRequireGPU() Option { return opt("WithRequireGPU", func(c *config) { c.requireGPU = true }) }

// WithTimelineHTML also writes the self-contained HTML timeline page
// (report/timeline's WriteHTML) beside the side files, as
// <stem>.timeline.html; Result.HTMLPath names it. It is a view, not signed
// data. By default no page is written.
func WithTimelineHTML() Option { return opt("WithTimelineHTML", func(c *config) { c.html = true }) }

// WithPeakStart sets FindPeak's first probe, and with it the driver it
// searches (a concurrency searches closed-loop concurrencies, a rate
// open-loop rates). By default it is the point Run would run: the source
// envelope's (or, for a suite run from nothing, the suite's first). Only
// FindPeak takes it.
func WithPeakStart(p loadgen.Point) Option {
	return opt("WithPeakStart", func(c *config) { c.peakStart = p })
}

// WithPeakLimit sets the highest point FindPeak probes, of the same driver
// as the start. By default it is loadgen.MaxConcurrency or loadgen.MaxRPS.
// Only FindPeak takes it.
func WithPeakLimit(p loadgen.Point) Option {
	return opt("WithPeakLimit", func(c *config) { c.peakLimit = p })
}

// WithPeakFactor sets the factor by which FindPeak's bracketing multiplies
// (or divides) the load from one probe to the next. It must be above 1 and
// at most 100. By default it is DefaultPeakFactor (4). Only FindPeak takes
// it.
func WithPeakFactor(f float64) Option {
	return opt("WithPeakFactor", func(c *config) { c.peakFactor = f })
}

// WithPeakPrecision sets when FindPeak's bisection stops: once the point
// past the peak is at most (1+r) times the peak (or, for concurrencies,
// one more). It must be above 0 and at most 1. By default it is
// DefaultPeakPrecision (0.1: within 10 %). Only FindPeak takes it.
func WithPeakPrecision(r float64) Option {
	return opt("WithPeakPrecision", func(c *config) { c.peakPrecision = r })
}

// WithMaxProbes bounds how many points FindPeak probes, bracketing and
// bisection together; it stops when they are spent, with the best bracket
// so far. It must be between 1 and MaxPeakProbes. By default it is
// DefaultMaxProbes (10). Only FindPeak takes it.
func WithMaxProbes(n int) Option {
	return opt("WithMaxProbes", func(c *config) { c.maxProbes = n })
}

// ErrNoBaseURL is returned when WithBaseURL is missing.
var ErrNoBaseURL = errors.New("a base URL is required (profile.WithBaseURL): envelopes are host-agnostic and do not store the live engine URL — " +
	"point the profile at a running engine, e.g. http://localhost:8000/v1")

// ErrOptions is wrapped by Run's error for an invalid option set: a value
// out of range, a nil Option, or options that contradict each other.
var ErrOptions = errors.New("invalid options")

// The functions that take options, for the checks only one of them needs.
const (
	entryRun   = "Run"
	entrySweep = "Sweep"
	entryPeak  = "FindPeak"
)

// peakOptions are the options only FindPeak takes.
var peakOptions = []string{"WithPeakStart", "WithPeakLimit", "WithPeakFactor", "WithPeakPrecision", "WithMaxProbes"}

// sourceOptions are the options about a source envelope, which a run from
// a suite does not have.
var sourceOptions = []string{"WithSourcePath", "WithoutVerificationUnsafe", "WithTrustedKeys", "WithIdentity", "WithIdentityRegexp",
	"WithTrustedRootFile", "WithVerifyOptions", "WithRequireTrusted"}

// newConfigFor is newConfig for the function entry running src: it also
// refuses the options that function or that source has no use for, and a
// run from a suite writes to DefaultFreshOutputDir unless told otherwise.
func newConfigFor(entry string, src Source, opts []Option) (*config, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	var errs []error
	for _, n := range peakOptions {
		if c.uses(n) && entry != entryPeak {
			errs = append(errs, fmt.Errorf("%s configures FindPeak's search; %s does not search", n, entry))
		}
	}
	if entry != entryRun {
		if c.uses("WithPoint") {
			hint := "Sweep runs the points it is given"
			if entry == entryPeak {
				hint = "FindPeak chooses its probes (its first with WithPeakStart)"
			}
			errs = append(errs, fmt.Errorf("WithPoint chooses Run's one point; %s", hint))
		}
		if c.uses("WithLoadGenerator") {
			errs = append(errs, fmt.Errorf("WithLoadGenerator replaces the load of one point; %s builds the load of each point it runs", entry))
		}
	}
	if entry == entryPeak {
		errs = append(errs, c.validatePeak())
	}
	if src.fresh {
		for _, n := range sourceOptions {
			if c.uses(n) {
				errs = append(errs, fmt.Errorf("%s concerns a source envelope, which a run from a suite (FromSuite) does not have", n))
			}
		}
		if !c.uses("WithOutputDir") {
			c.outputDir = DefaultFreshOutputDir
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("profile: %w: %w", ErrOptions, err)
	}
	return c, nil
}

// newConfig applies opts to the defaults and validates the whole set.
func newConfig(opts []Option) (*config, error) {
	c := defaults()
	var errs []error
	for i, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("option %d of %d is nil", i+1, len(opts)))
			continue
		}
		o.apply(c)
	}
	errs = append(errs, c.validate(), c.conflicts())
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("profile: %w: %w", ErrOptions, err)
	}
	return c, nil
}

// uses reports whether the option named name was applied.
func (c *config) uses(name string) bool { return slices.Contains(c.used, name) }

// conflicts reports options that contradict each other, naming both:
// with them, one of the two would silently do nothing.
func (c *config) conflicts() error {
	var errs []error
	firstOf := func(names ...string) string {
		for _, n := range names {
			if c.uses(n) {
				return n
			}
		}
		return ""
	}
	signers := []string{}
	for _, n := range []string{"WithDevKey", "WithKeyless", "WithSigner"} {
		if c.uses(n) {
			signers = append(signers, n)
		}
	}
	if len(signers) > 1 {
		errs = append(errs, fmt.Errorf("%s choose the signer; give one", strings.Join(signers, " and ")))
	}
	if c.uses("WithoutVerificationUnsafe") {
		if n := firstOf("WithTrustedKeys", "WithIdentity", "WithIdentityRegexp", "WithTrustedRootFile", "WithVerifyOptions", "WithRequireTrusted"); n != "" {
			errs = append(errs, fmt.Errorf("%s has no effect with WithoutVerificationUnsafe, which skips verifying the source; drop one of them", n))
		}
	}
	if c.uses("WithoutDefaultSamplers") {
		if n := firstOf("WithNVMLInterval", "WithGPUs", "WithNVMLLibrary", "WithRAPLInterval"); n != "" {
			errs = append(errs, fmt.Errorf("%s configures the default samplers, which WithoutDefaultSamplers turns off; drop one of them", n))
		}
	}
	if c.uses("WithLoadGenerator") {
		if n := firstOf("WithPoint", "WithDataset", "WithStartStep"); n != "" {
			errs = append(errs, fmt.Errorf("%s configures the built-in load, which WithLoadGenerator replaces; drop one of them", n))
		}
	}
	return errors.Join(errs...)
}

// validate checks the values that do not need the source envelope.
func (c *config) validate() error {
	var errs []error
	if c.duration <= 0 || c.duration > loadgen.MaxDuration {
		errs = append(errs, fmt.Errorf("duration must be above 0 and at most %v, got %v", loadgen.MaxDuration, c.duration))
	}
	if c.grace < 0 || c.grace > loadgen.MaxDuration {
		errs = append(errs, fmt.Errorf("grace period must be between 0 and %v, got %v", loadgen.MaxDuration, c.grace))
	}
	if c.startStep < 0 || c.startStep > loadgen.MaxDuration {
		errs = append(errs, fmt.Errorf("start step must be between 0 and %v, got %v", loadgen.MaxDuration, c.startStep))
	}
	if c.nvmlInterval <= 0 {
		errs = append(errs, fmt.Errorf("NVML interval must be positive, got %v", c.nvmlInterval))
	}
	if c.raplInterval <= 0 {
		errs = append(errs, fmt.Errorf("RAPL interval must be positive, got %v", c.raplInterval))
	}
	if c.idlePhase < 0 || c.idlePhase > MaxIdlePhase {
		errs = append(errs, fmt.Errorf("idle phase (WithIdlePhase) must be between 0 and %v, got %v", MaxIdlePhase, c.idlePhase))
	}
	if c.outputDir == "" {
		errs = append(errs, errors.New("output directory is empty"))
	}
	for _, s := range c.samplers {
		if s.s == nil || s.interval <= 0 {
			errs = append(errs, fmt.Errorf("WithSampler needs a sampler and a positive interval"))
		}
	}
	errs = append(errs, c.nilArguments())
	if !c.point.IsZero() {
		if err := c.point.Validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := keyless.NewVerifier(c.keylessVerify...); err != nil {
		errs = append(errs, err)
	}
	if _, err := loadgen.EngineKinds(c.engineKinds...); err != nil {
		errs = append(errs, fmt.Errorf("WithEngineKinds: %w", err))
	}
	return errors.Join(errs...)
}

// nilArguments reports options that were given nil where they need a value.
func (c *config) nilArguments() error {
	var errs []error
	for _, nilArg := range []struct {
		name  string
		isNil bool
	}{
		{"WithClock", c.now == nil},
		{"WithSigner", c.uses("WithSigner") && c.signer == nil},
		{"WithLoadGenerator", c.uses("WithLoadGenerator") && c.generator == nil},
		{"WithHTTPClient", c.uses("WithHTTPClient") && c.httpClient == nil},
		{"WithProgress", c.uses("WithProgress") && c.progress == nil},
		{"WithLogger", c.uses("WithLogger") && c.logger == nil},
	} {
		if nilArg.isNil {
			errs = append(errs, fmt.Errorf("%s was given nil", nilArg.name))
		}
	}
	return errors.Join(errs...)
}

// Progress is a snapshot of a running profile.
type Progress struct {
	// Point is the load point running (in a sweep, the current point).
	Point    loadgen.Point
	Elapsed  time.Duration
	Duration time.Duration
	OK       int
	Failed   int
	// TokensPerSec is the output token rate of the last second.
	TokensPerSec float64
	// GPUPowerW is the latest summed GPU power, NaN when not sampled.
	GPUPowerW float64
}
