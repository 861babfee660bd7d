package profile_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

func TestMain(m *testing.M) {
	if model := os.Getenv(childEngineEnv); model != "" {
		serveChildEngine(model) // this process is a test's engine
		return
	}
	goleak.VerifyTestMain(m)
}

const source = "testdata/2026-06-13-llm-h100_c16-b91875fdf860.json"

type fixture struct {
	src  *envelope.Envelope
	srv  *enginetest.Server
	key  string
	pub  string
	out  string
	opts []profile.Option
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	src, err := envelope.Load(source)
	if err != nil {
		t.Fatal(err)
	}
	srv := enginetest.MustStart(t, enginetest.WithModels(src.Model.ID), enginetest.WithVersion("0.22.1-fake"),
		enginetest.WithTTFT(5*time.Millisecond), enginetest.WithITL(time.Millisecond), enginetest.WithOutputTokens(16))
	dir := t.TempDir()
	key := filepath.Join(dir, "cosign.key")
	pub, err := envelope.GenerateKeyPair(key)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{src: src, srv: srv, key: key, pub: pub, out: filepath.Join(dir, "out")}
	f.opts = []profile.Option{
		profile.WithTimelineHTML(),
		profile.WithBaseURL(srv.URL() + "/v1"),
		profile.WithSourcePath(source),
		profile.WithDuration(time.Second),
		profile.WithGrace(time.Second),
		profile.WithDevKey(key),
		profile.WithOutputDir(f.out),
		profile.WithIdlePhase(100 * time.Millisecond),
		profile.WithoutDefaultSamplers(),
		profile.WithSampler(&samplertest.GPU{Devices: 2, PowerW: 300, UtilPct: 80}, 10*time.Millisecond),
	}
	return f
}

func TestRunEndToEnd(t *testing.T) {
	f := newFixture(t)
	res, err := profile.Run(context.Background(), f.src, f.opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(filepath.Base(res.Path), "profile-") {
		t.Errorf("envelope written as %s", res.Path)
	}
	back, err := envelope.Load(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	vr, err := envelope.Verify(context.Background(), back, envelope.WithTrustedKeys(f.pub))
	if err != nil || !vr.Trusted() {
		t.Fatalf("new envelope does not verify as ours: %+v %v", vr, err)
	}
	if res.Point.Point.Concurrency != 16 {
		t.Errorf("point %+v; want concurrency 16 from the c16- file name", res.Point)
	}
	for _, k := range []string{"ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "total_p50_ms", "ok_rate", "throughput_tok_per_s",
		"itl_p50_ms", "goodput_at_slo", "measure_window_s", "energy_joules_gpu", "energy_joules_gpu_integral", "power_avg_w",
		"gpu_util_avg_pct", "power_avg_w_under_load", "nvml_sample_count", "joules_per_token", "token_source", "nvml_interval_p99_ms"} {
		if _, ok := back.Metrics.Get(k); !ok {
			t.Errorf("metric %s missing", k)
		}
	}
	for _, k := range []string{"energy_joules_cpu_dram", "rapl_sample_count"} {
		if _, ok := back.Metrics.Get(k); ok {
			t.Errorf("metric %s present without RAPL", k)
		}
		if res.Unavailable[k] == "" {
			t.Errorf("no reason recorded for the missing %s", k)
		}
	}
	if ok, _ := back.Metric("ok_rate"); ok != 1 {
		t.Errorf("ok_rate %v", ok)
	}
	window, _ := back.Metric("measure_window_s")
	gpuJ, _ := back.Metric("energy_joules_gpu")
	if want := 2 * 300 * window; gpuJ < 0.97*want || gpuJ > 1.03*want {
		t.Errorf("GPU energy %.1f J over %.3f s; want about %.1f J (2 GPUs × 300 W)", gpuJ, window, want)
	}
	if back.Engine.Version != "0.22.1-fake" || back.Seed != f.src.Seed || back.Dataset.Hash != "6f4b1f68fc3a813baa983cbe70cd9ef57f8c86e6b2e6ccc9aaa2a498e588d510" {
		t.Errorf("engine %q seed %d dataset %s", back.Engine.Version, back.Seed, back.Dataset.Hash)
	}
	if c, _ := back.DriverOptions.Get("concurrency"); c.GoString() != "16" {
		t.Errorf("driver_options.concurrency = %#v", c)
	}
	// The closed loop's start is on record: the step (the default, 1 ms),
	// all 16 workers started, the last within the run's second.
	for k, want := range map[string]func(float64) bool{
		"start_step_ms":   func(v float64) bool { return v == 1 },
		"workers_started": func(v float64) bool { return v == 16 },
		"last_start_s":    func(v float64) bool { return v > 0 && v < 1 },
	} {
		v, ok := back.DriverOptions.Get(k)
		f, _ := v.AsFloat64()
		if !ok || !want(f) {
			t.Errorf("driver_options.%s = %#v", k, v)
		}
	}
	// Every sampler takes a closing reading when it is stopped, after the
	// last request: the readings cover the window to its end.
	if w := strings.Join(res.Warnings, "\n"); strings.Contains(w, "before it ends") {
		t.Errorf("readings end before the window does:\n%s", w)
	}
	if !strings.Contains(strings.Join(back.Warnings, "\n"), "signer untrusted") {
		t.Errorf("the untrusted-source warning is not in the envelope: %v", back.Warnings)
	}
	if fi, err := os.Stat(res.HTMLPath); err != nil || fi.Size() == 0 {
		t.Errorf("HTML timeline %q: %v", res.HTMLPath, err)
	}
	// The side files are covered by the signature.
	for _, k := range []string{"requests", "timeline"} {
		v, ok := back.Distributions.Get(k)
		s, _ := v.AsString()
		suffix, sum, found := strings.Cut(s, "#sha256=")
		if !ok || !found || !strings.HasPrefix(suffix, ".") {
			t.Fatalf("distributions.%s = %q; want <suffix>#sha256=<hex>", k, s)
		}
		// The side file is named like the envelope, with that suffix.
		name := strings.TrimSuffix(res.Path, ".json") + suffix
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatalf("side file %s: %v", name, err)
		}
		if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != sum {
			t.Errorf("side file %s does not have the signed hash", name)
		}
	}
	if !strings.HasPrefix(res.HTMLPath, strings.TrimSuffix(res.Path, ".json")+".") {
		t.Errorf("HTML page %s is not named like the envelope %s", res.HTMLPath, res.Path)
	}
}

func TestRunRefuses(t *testing.T) {
	f := newFixture(t)
	tampered := f.src.Clone()
	tampered.Seed++
	unsigned := f.src.Clone()
	unsigned.Signature = nil
	tests := []struct {
		name string
		src  *envelope.Envelope
		opts []profile.Option
		want error
	}{
		{"tampered", tampered, nil, profile.ErrSourceUnverified},
		{"unsigned", unsigned, nil, profile.ErrSourceUnverified},
		{"require trusted", f.src, []profile.Option{profile.WithRequireTrusted()}, profile.ErrSourceUntrusted},
		// A given policy is a requirement: another key's source is refused
		// without WithRequireTrusted.
		{"signed by another key", f.src, []profile.Option{profile.WithTrustedKeys(f.pub)}, profile.ErrSourceUntrusted},
		{"keyless policy, dev-key source", f.src, []profile.Option{profile.WithIdentity("alice@example.com", "https://accounts.example.com")}, profile.ErrSourceUntrusted},
		{"no base url", f.src, []profile.Option{profile.WithBaseURL("")}, profile.ErrNoBaseURL},
		{"missing key", f.src, []profile.Option{profile.WithDevKey(filepath.Join(t.TempDir(), "none.key"))}, profile.ErrSigner},
		{"zero interval", f.src, []profile.Option{profile.WithNVMLInterval(0)}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := append(append([]profile.Option{}, f.opts...), tt.opts...)
			_, err := profile.Run(context.Background(), tt.src, opts...)
			if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Run = %v; want %v", err, tt.want)
			}
			if entries, _ := os.ReadDir(f.out); len(entries) != 0 {
				t.Errorf("files written before the refusal: %v", entries)
			}
		})
	}
}

func TestRunUnknownSuiteAndEngine(t *testing.T) {
	f := newFixture(t)
	for name, mutate := range map[string]func(*envelope.Envelope){
		"suite":  func(e *envelope.Envelope) { e.SuiteID = "llm.inference.does-not-exist" },
		"engine": func(e *envelope.Envelope) { e.Engine.Name = "tgi" },
	} {
		e := f.src.Clone()
		e.Signature = nil
		mutate(e)
		_, err := profile.Run(context.Background(), e, append(f.opts, profile.WithoutVerificationUnsafe())...)
		want := map[string]error{"suite": profile.ErrUnknownSuite, "engine": profile.ErrUnknownEngine}[name]
		if !errors.Is(err, want) {
			t.Errorf("%s: %v; want %v", name, err, want)
		}
	}
}

// TestRunUnknownEngineOneSentinel: profile's ErrUnknownEngine is loadgen's,
// the message names the source's engine and the known kinds, and the check
// comes where the reference makes it: after the suite lookup, before the
// signer (FACTS §0 steps 5, 6, 8).
func TestRunUnknownEngineOneSentinel(t *testing.T) {
	f := newFixture(t)
	run := func(mutate func(*envelope.Envelope), opts ...profile.Option) error {
		e := f.src.Clone()
		e.Signature = nil
		mutate(e)
		_, err := profile.Run(context.Background(), e, append(append(f.opts, profile.WithoutVerificationUnsafe()), opts...)...)
		return err
	}
	tgi := func(e *envelope.Envelope) { e.Engine.Name = "tgi" }
	err := run(tgi)
	if !errors.Is(err, profile.ErrUnknownEngine) || !errors.Is(err, loadgen.ErrUnknownEngine) {
		t.Fatalf("%v; want profile.ErrUnknownEngine and loadgen.ErrUnknownEngine", err)
	}
	for _, s := range []string{"source envelope", "unknown engine", `"tgi"`, "vllm, sglang, trtllm, llamacpp, mlx"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q lacks %q", err, s)
		}
	}
	// Before the signer: a missing dev key is not what is reported.
	if err := run(tgi, profile.WithDevKey(filepath.Join(t.TempDir(), "none.key"))); !errors.Is(err, profile.ErrUnknownEngine) || errors.Is(err, profile.ErrSigner) {
		t.Errorf("unknown engine and no key: %v; want ErrUnknownEngine, checked before the signer", err)
	}
	// After the suite.
	if err := run(func(e *envelope.Envelope) { tgi(e); e.SuiteID = "llm.inference.does-not-exist" }); !errors.Is(err, profile.ErrUnknownSuite) || errors.Is(err, profile.ErrUnknownEngine) {
		t.Errorf("unknown suite and engine: %v; want ErrUnknownSuite, checked first", err)
	}
}

// TestRunEmbedderEngineKind: a kind described with WithEngineKinds is
// accepted as the source's engine.name, and the probe identifies the engine
// as it and records it.
func TestRunEmbedderEngineKind(t *testing.T) {
	f := newFixture(t)
	// The fake engine lists its models as owned_by "enginetest" and answers
	// /version as vLLM does.
	kind := loadgen.EngineKind{Name: "enginetest", Owners: []string{"enginetest"},
		Version: func(ctx context.Context, p *loadgen.Prober) (string, bool) {
			body, _, err := p.Get(ctx, "/version", 0)
			var v struct{ Version string }
			if err != nil || json.Unmarshal(body, &v) != nil {
				return "", false
			}
			return v.Version, true
		}}
	src := f.src.Clone()
	src.Signature = nil
	src.Engine.Name = "enginetest"
	opts := append(f.opts, profile.WithoutVerificationUnsafe())

	if _, err := profile.Run(context.Background(), src, opts...); !errors.Is(err, profile.ErrUnknownEngine) {
		t.Fatalf("without WithEngineKinds: %v; want ErrUnknownEngine", err)
	}
	res, err := profile.Run(context.Background(), src, append(opts, profile.WithEngineKinds(kind))...)
	if err != nil {
		t.Fatal(err)
	}
	if e := res.Engine; e.Kind != "enginetest" || !e.Confirmed || e.Version != "0.22.1-fake" || res.Envelope.Engine.Name != "enginetest" {
		t.Errorf("engine %+v, recorded as %q; want enginetest 0.22.1-fake, confirmed", e, res.Envelope.Engine.Name)
	}
	for _, w := range res.Warnings {
		if strings.Contains(w, "identifies itself") || strings.Contains(w, "did not say") {
			t.Errorf("warning %q", w)
		}
	}

	if _, err := profile.Run(context.Background(), src, append(opts, profile.WithEngineKinds(kind, kind))...); !errors.Is(err, loadgen.ErrInvalidOption) {
		t.Errorf("a kind described twice: %v; want loadgen.ErrInvalidOption", err)
	}
	if m, _ := filepath.Glob(filepath.Join(f.out, "*.json")); len(m) != 1 { // from the one run that ran
		t.Errorf("envelopes written: %v; want one", m)
	}
}

// TestRunSourceTrust: the trust verdict is stated, and a source signed by a
// pinned key is trusted.
func TestRunSourceTrust(t *testing.T) {
	f := newFixture(t)
	res, err := profile.Run(context.Background(), f.src, f.opts...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res.SourceTrust, "UNTRUSTED") || !strings.Contains(res.SourceTrust, res.Verification.SignerKey) {
		t.Errorf("SourceTrust = %q; want UNTRUSTED naming the signer", res.SourceTrust)
	}
	// Re-profile the new envelope with its signer's key pinned.
	back, err := envelope.Load(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	res2, err := profile.Run(context.Background(), back, append(f.opts, profile.WithTrustedKeys(f.pub), profile.WithPoint(loadgen.Point{Concurrency: 2}))...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(res2.SourceTrust, "trusted") {
		t.Errorf("SourceTrust = %q; want trusted", res2.SourceTrust)
	}
	for _, w := range append(res.Warnings, res2.Warnings...) {
		if strings.Contains(w, "--") {
			t.Errorf("a library warning names a CLI flag: %q", w)
		}
	}
}

// TestRunRecordsWhatWasServed: the new envelope records the model name the
// engine served and the engine kind the engine says it is, not the
// source's claims, and says so.
func TestRunRecordsWhatWasServed(t *testing.T) {
	f := newFixture(t)
	const served = "Qwen/Qwen2.5-0.5B-Instruct"
	h, err := enginetest.NewHandler(enginetest.WithModels(served), enginetest.WithOutputTokens(4))
	if err != nil {
		t.Fatal(err)
	}
	// An SGLang-like engine behind the source's vLLM envelope.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models":
			w.Write([]byte(`{"object":"list","data":[{"id":"` + served + `","object":"model","owned_by":"sglang"}]}`))
		case "/get_server_info":
			w.Write([]byte(`{"version":"0.4.6"}`))
		default:
			h.ServeHTTP(w, r)
		}
	}))
	defer srv.Close()
	defer h.Close()
	opts := append(f.opts, profile.WithBaseURL(srv.URL+"/v1"), profile.WithServedModel(served), profile.WithDuration(300*time.Millisecond))
	res, err := profile.Run(context.Background(), f.src, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e := res.Envelope
	if got := [3]string{e.Model.ID, e.Engine.Name, e.Engine.Version}; got != [3]string{served, "sglang", "0.4.6"} {
		t.Errorf("model.id, engine.name, engine.version = %q; want what was served and probed", got)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "identifies itself as sglang, not vllm") {
		t.Errorf("no warning about the engine kind: %v", res.Warnings)
	}
}

// TestRunPointFallbackWarns: a source whose name and driver_options carry
// no point runs at the suite default, and the run says so.
func TestRunPointFallbackWarns(t *testing.T) {
	f := newFixture(t)
	res, err := profile.Run(context.Background(), f.src, append(f.opts, profile.WithSourcePath("downloaded.json"))...)
	if err != nil {
		t.Fatal(err)
	}
	if res.Point.Source != catalog.SourceSuiteDefault {
		t.Fatalf("point source %q", res.Point.Source)
	}
	if !strings.Contains(strings.Join(res.Warnings, "\n"), "downloaded.json") {
		t.Errorf("no warning about the fallback to the suite default: %v", res.Warnings)
	}
}

// TestRunInterrupted: cancelling mid-run keeps the side files, writes no
// envelope and says where the files are.
func TestRunInterrupted(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	res, err := profile.Run(ctx, f.src, append(f.opts, profile.WithDuration(10*time.Second))...)
	if !errors.Is(err, profile.ErrInterrupted) {
		t.Fatalf("Run = %v; want ErrInterrupted", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("took %v to stop", time.Since(start))
	}
	if !strings.Contains(err.Error(), res.TracePath) || !strings.Contains(err.Error(), res.TimelinePath) {
		t.Errorf("error does not say where the partial files are: %v", err)
	}
	matches, _ := filepath.Glob(filepath.Join(f.out, "profile-*.json"))
	if len(matches) != 0 {
		t.Errorf("an envelope was written: %v", matches)
	}
	if fi, err := os.Stat(res.TracePath); err != nil || fi.Size() == 0 {
		t.Errorf("partial trace missing or empty: %v", err)
	}
}

// TestOptionsValidatedAsAWhole: contradicting options, dead options and
// nil options are one error from Run before any work, naming them.
func TestOptionsValidatedAsAWhole(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name  string
		opts  []profile.Option
		names []string
	}{
		{"two signers", []profile.Option{profile.WithKeyless()}, []string{"WithDevKey", "WithKeyless"}},
		{"trust without verification", []profile.Option{profile.WithoutVerificationUnsafe(), profile.WithTrustedKeys(f.pub)}, []string{"WithTrustedKeys", "WithoutVerificationUnsafe"}},
		{"require trusted without verification", []profile.Option{profile.WithoutVerificationUnsafe(), profile.WithRequireTrusted()}, []string{"WithRequireTrusted"}},
		{"NVML options without default samplers", []profile.Option{profile.WithNVMLInterval(10 * time.Millisecond)}, []string{"WithNVMLInterval", "WithoutDefaultSamplers"}},
		{"GPUs without default samplers", []profile.Option{profile.WithGPUs("0")}, []string{"WithGPUs"}},
		{"point with a load generator", []profile.Option{profile.WithLoadGenerator(&countingGenerator{}), profile.WithPoint(loadgen.Point{Concurrency: 2})}, []string{"WithPoint", "WithLoadGenerator"}},
		{"start step with a load generator", []profile.Option{profile.WithLoadGenerator(&countingGenerator{}), profile.WithStartStep(time.Millisecond)}, []string{"WithStartStep", "WithLoadGenerator"}},
		{"negative start step", []profile.Option{profile.WithStartStep(-time.Millisecond)}, []string{"start step"}},
		{"nil option", []profile.Option{nil}, []string{"is nil"}},
		{"nil signer", []profile.Option{profile.WithSigner(nil)}, []string{"WithSigner was given nil"}},
		{"nil load generator", []profile.Option{profile.WithLoadGenerator(nil)}, []string{"WithLoadGenerator was given nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := profile.Run(context.Background(), f.src, append(slices.Clone(f.opts), tt.opts...)...)
			if !errors.Is(err, profile.ErrOptions) {
				t.Fatalf("Run = %v; want ErrOptions", err)
			}
			for _, n := range tt.names {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
			if entries, _ := os.ReadDir(f.out); len(entries) != 0 {
				t.Errorf("files written before the refusal: %v", entries)
			}
		})
	}
}

// countingGenerator is a load generator that sends nothing.
type countingGenerator struct{ runs int }

func (g *countingGenerator) Run(ctx context.Context, sink loadgen.Sink) (*loadgen.RunInfo, error) {
	g.runs++
	return &loadgen.RunInfo{Start: time.Now()}, nil
}

// TestRunRefusesTwoSamplersOfOneName: their readings would mix in the
// timeline, so the run is refused before any load.
func TestRunRefusesTwoSamplersOfOneName(t *testing.T) {
	f := newFixture(t)
	gen := &countingGenerator{}
	_, err := profile.Run(context.Background(), f.src, append(slices.Clone(f.opts),
		profile.WithSampler(&samplertest.GPU{Devices: 1, PowerW: 100}, 10*time.Millisecond), // also "fake-gpu"
		profile.WithLoadGenerator(gen))...)
	if !errors.Is(err, profile.ErrOptions) || !strings.Contains(err.Error(), `"fake-gpu"`) {
		t.Fatalf("Run = %v; want ErrOptions naming the shared name", err)
	}
	if gen.runs != 0 {
		t.Errorf("the load ran %d times", gen.runs)
	}
}

// TestRunRequireGPU: with WithRequireGPU a profile without GPU telemetry is
// refused before any load, and nothing is signed.
func TestRunRequireGPU(t *testing.T) {
	f := newFixture(t)
	gen := &countingGenerator{}
	opts := append(slices.Clone(f.opts[:len(f.opts)-1]), profile.WithRequireGPU(), profile.WithLoadGenerator(gen),
		profile.WithSampler(&samplertest.CPU{Packages: 1, PackageW: 50}, 25*time.Millisecond))
	_, err := profile.Run(context.Background(), f.src, opts...)
	if !errors.Is(err, profile.ErrNoGPUTelemetry) || gen.runs != 0 {
		t.Fatalf("Run = %v after %d loads; want ErrNoGPUTelemetry before any", err, gen.runs)
	}
	if m, _ := filepath.Glob(filepath.Join(f.out, "profile-*.json")); len(m) != 0 {
		t.Errorf("an envelope was written: %v", m)
	}
	// With a GPU sampler it runs.
	if _, err := profile.Run(context.Background(), f.src, append(slices.Clone(f.opts), profile.WithRequireGPU())...); err != nil {
		t.Errorf("with a GPU sampler: %v", err)
	}
}
