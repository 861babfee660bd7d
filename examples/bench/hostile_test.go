//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// The load every hostile engine gets: the most streams loadgen allows at
// once, for a short window.
const (
	hostileConcurrency = 256
	hostileDuration    = 2 * time.Second
	hostileGrace       = 1 * time.Second
	// hostileSlack is how much longer than duration + grace the child may
	// take: start-up, the engine probe, writing and signing. A run needs
	// well under a second of it on an idle machine; 10 s is generous on
	// two busy cores.
	hostileSlack = 10 * time.Second
	// hostileMaxRSS bounds the child's peak resident memory. loadgen holds
	// at most 256 initial 64 KiB stream buffers plus its 64 MiB event
	// buffer budget; the rest is the runtime, the results and garbage.
	hostileMaxRSS = 200 * mib
	// hostileTokens is every healthy answer's length, well under the
	// suite's max_tokens of 128.
	hostileTokens = 8
	// warmupPrefix starts the prompts of the warmup requests in the
	// dataset of the "after a healthy warmup" cases.
	warmupPrefix = "warmup "
)

// envelopeWant says whether a run must write its envelope.
type envelopeWant int

const (
	envNone    envelopeWant = iota // the run stops before its measured window: nothing is signed
	envWritten                     // the run completes and signs what it saw
	envMaybe                       // either, as the engine's own pace decides (see the case)
)

// TestHostileEnginesStayBounded runs the bench CLI as its own process
// against engines that lie, flood or misdirect, at concurrency 256, and
// checks from outside what a user would see: the child's peak memory stays
// under 200 MiB, it exits on time with the status the behaviour deserves
// (never by a crash or a signal), the per-request trace accounts for every
// request with the cause of each failure, and an envelope, when one is
// written, verifies and states the truth.
//
// Exit statuses: 0 when the run completes with ok_rate ≥ 0.5 (the usage
// lies: the requests are fine, only the counts are disbelieved); 1 when
// every warmup request fails (no envelope: the run stops before its
// window) or when the ok_rate is below 0.5 (the envelope is still written).
//
// The engine runs in this test process, so its memory is not the child's
// (startCLI keeps this process's own high-water mark out of the child's
// figure).
func TestHostileEnginesStayBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 14 child processes at concurrency 256 (about 30 s)")
	}
	if raceEnabled {
		t.Skip("the race detector multiplies the child's memory and time; the bounds hold for the real binary")
	}
	other := newOtherOrigin(t)
	const apiKeyEnv, apiKey = "BENCHPROF_HOSTILE_TEST_KEY", "hostile-test-key"
	usageLie := func(claim string) enginetest.Fault {
		return enginetest.HugeUsage{CompletionTokens: json.Number(claim)}
	}
	limitCauses := []string{"1 MiB limit", "event buffer budget"}
	warmupFailed := []string{"every warmup request failed", "no envelope was written"}
	tests := []struct {
		name  string
		fault enginetest.Fault
		// afterWarmup serves the warmup requests (whose prompts start with
		// warmupPrefix) healthy: the engine turns hostile after them, so
		// the limits must hold for the whole run, not just until the
		// warmup verdict.
		afterWarmup bool
		engine      []enginetest.Option
		args, env   []string
		code        int
		envelope    envelopeWant
		// usageRejected: every ok request's usage_rejected says this.
		usageRejected string
		// failClass is the outcome of the requests the behaviour fails;
		// each of their errors names one of causes, and at least one
		// request has it. Requests cancelled by the warmup verdict or cut
		// off after the grace period are the run's doing, not the
		// engine's: they need only some error.
		failClass loadgen.Outcome
		causes    []string
		stderr    []string
		after     func(t *testing.T)
	}{
		{name: "usage 9223372036854775807", fault: usageLie("9223372036854775807"), code: 0, envelope: envWritten,
			usageRejected: "completion_tokens 9223372036854775807 exceeds max_tokens 128"},
		{name: "usage 1e9", fault: usageLie("1e9"), code: 0, envelope: envWritten,
			usageRejected: "completion_tokens 1e9 exceeds max_tokens 128"},
		{name: "usage 100000", fault: usageLie("100000"), code: 0, envelope: envWritten,
			usageRejected: "completion_tokens 100000 exceeds max_tokens 128"},
		{name: "usage -5", fault: usageLie("-5"), code: 0, envelope: envWritten,
			usageRejected: "completion_tokens -5 is negative"},
		{name: "usage 1e400", fault: usageLie("1e400"), code: 0, envelope: envWritten,
			usageRejected: "completion_tokens 1e400 exceeds max_tokens 128"},
		// An event that never ends: each stream fails at the 1 MiB event
		// cap, or earlier when the 64 MiB budget shared by all streams is
		// used up; the warmup requests fail so, and the run stops.
		{name: "unterminated SSE line", fault: enginetest.Unterminated{}, code: 1, envelope: envNone,
			failClass: loadgen.OutcomeStreamError, causes: limitCauses, stderr: warmupFailed},
		// Valid 15 MiB events: the same limits. Building 256 such events
		// keeps the engine busy for seconds, so a warmup request may be
		// cut off before its headers instead of failing; the run then
		// completes, with ok_rate 0, and writes its envelope: either way
		// it exits 1.
		{name: "15 MiB chunks", fault: enginetest.GiantChunk{Size: 15 * mib}, code: 1, envelope: envMaybe,
			failClass: loadgen.OutcomeStreamError, causes: limitCauses},
		// Content chunks without end: at most 2·128+16 chunks are kept.
		{name: "endless stream", fault: enginetest.Endless{}, code: 1, envelope: envNone,
			failClass: loadgen.OutcomeStreamError, causes: []string{"more than 272 content chunks for max_tokens 128"}, stderr: warmupFailed},
		{name: "HTTP 500", fault: enginetest.HTTPStatus{Code: 500, Body: "injected failure"}, code: 1, envelope: envNone,
			failClass: loadgen.OutcomeHTTPStatus, causes: []string{"HTTP 500: injected failure"}, stderr: warmupFailed},
		// A 307 to another origin, which would repeat the POST with the
		// API key there: refused before anything is sent.
		{name: "redirect to another origin", fault: enginetest.Redirect{Location: other.url() + enginetest.PathChatCompletions},
			engine: []enginetest.Option{enginetest.WithAPIKey(apiKey)},
			args:   []string{"--api-key-env", apiKeyEnv}, env: []string{apiKeyEnv + "=" + apiKey},
			code: 1, envelope: envNone,
			failClass: loadgen.OutcomeTransport, causes: []string{"another origin"}, stderr: warmupFailed,
			after: other.checkUntouched},
		// A first token, then silence: the grace period cuts every stream
		// off; cut-offs are not warmup failures, so the run completes with
		// ok_rate 0.
		{name: "stall", fault: enginetest.Stall{AfterChunks: 1, For: time.Hour}, code: 1, envelope: envWritten,
			failClass: loadgen.OutcomeCutOff, causes: []string{"cut off at the end of the grace period"}, stderr: []string{"ok_rate 0.00"}},
		{name: "unterminated SSE line after a healthy warmup", fault: enginetest.Unterminated{}, afterWarmup: true, code: 1, envelope: envWritten,
			failClass: loadgen.OutcomeStreamError, causes: limitCauses, stderr: []string{"ok_rate"}},
		{name: "15 MiB chunks after a healthy warmup", fault: enginetest.GiantChunk{Size: 15 * mib}, afterWarmup: true, code: 1, envelope: envWritten,
			failClass: loadgen.OutcomeStreamError, causes: limitCauses, stderr: []string{"ok_rate"}},
		{name: "endless stream after a healthy warmup", fault: enginetest.Endless{}, afterWarmup: true, code: 1, envelope: envWritten,
			failClass: loadgen.OutcomeStreamError, causes: []string{"more than 272 content chunks"}, stderr: []string{"ok_rate"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fault := tt.fault
			choose := func(r enginetest.Request) enginetest.Fault {
				if tt.afterWarmup && strings.HasPrefix(r.Prompt, warmupPrefix) {
					return nil
				}
				return fault
			}
			opts := append([]enginetest.Option{enginetest.WithFault(choose), enginetest.WithOutputTokens(hostileTokens),
				enginetest.WithTTFT(50 * time.Millisecond), enginetest.WithITL(10 * time.Millisecond)}, tt.engine...)
			url, key, unsigned, out := profileEnv(t, opts...)
			args := []string{"profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out,
				"--concurrency", fmt.Sprint(hostileConcurrency), "--duration", hostileDuration.String(), "--grace", hostileGrace.String(), "--idle", "0.2"}
			if tt.afterWarmup {
				args = append(args, "--dataset", "file://"+warmupDataset(t))
			}
			limit := hostileDuration + hostileGrace + hostileSlack
			e := startCLI(t, tt.env, append(args, tt.args...)...).wait(t, limit)
			t.Logf("exit %d in %.1fs, peak RSS %.1f MiB (this process's when it started the child: %.1f MiB)",
				e.code, e.wall.Seconds(), float64(e.peakRSS)/mib, float64(e.floor)/mib)

			if e.signal != 0 || e.code != tt.code {
				t.Errorf("exit status %d (signal %v); want %d\nstderr:\n%s", e.code, e.signal, tt.code, e.stderr)
			}
			if e.peakRSS >= hostileMaxRSS {
				t.Errorf("peak RSS %.1f MiB; want < %d MiB (of which this process's own, inherited at exec: %.1f MiB)",
					float64(e.peakRSS)/mib, hostileMaxRSS/mib, float64(e.floor)/mib)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(e.stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, e.stderr)
				}
			}
			trace := readTrace(t, onlyFile(t, out, "*.requests.jsonl"))
			checkOutcomes(t, trace, tt.failClass, tt.causes, tt.usageRejected)

			envs, _ := filepath.Glob(filepath.Join(out, "profile-*.json"))
			switch {
			case tt.envelope == envNone && len(envs) != 0:
				t.Errorf("an envelope was written: %v", envs)
			case tt.envelope == envWritten && len(envs) != 1:
				t.Errorf("envelopes written: %v; want exactly one", envs)
			case len(envs) == 1:
				m := verifiedMetrics(t, envs[0])
				if tt.code != 0 && m.number(t, "ok_rate") >= minOKRate {
					t.Errorf("exit %d but ok_rate %v", tt.code, m["ok_rate"])
				}
				if tt.usageRejected != "" {
					checkUsageTruth(t, m, trace)
				}
			}
			if tt.after != nil {
				tt.after(t)
			}
		})
	}
}

// checkOutcomes checks that the trace accounts for every request: ok ones
// (with usageRejected, when given, and token counts from their chunks),
// failed ones with an error, and those of failClass with one of causes.
func checkOutcomes(t *testing.T, trace []loadgen.Result, failClass loadgen.Outcome, causes []string, usageRejected string) {
	t.Helper()
	if len(trace) == 0 {
		t.Fatal("the trace is empty")
	}
	count := map[loadgen.Outcome]int{}
	for _, r := range trace {
		count[r.Outcome]++
		switch {
		case r.OK() && usageRejected != "":
			if !strings.Contains(r.UsageRejected, usageRejected) || r.TokenSource != loadgen.TokenSourceChunks ||
				r.OutputTokens != len(r.Chunks) || r.OutputTokens != hostileTokens || r.PromptTokens != 0 {
				t.Fatalf("request %d: usage_rejected %q, token_source %q, %d output tokens in %d chunks, %d prompt tokens; want %q, chunks, %d in %d, 0",
					r.Index, r.UsageRejected, r.TokenSource, r.OutputTokens, len(r.Chunks), r.PromptTokens, usageRejected, hostileTokens, hostileTokens)
			}
		case r.OK():
		case r.Error == "":
			t.Fatalf("request %d failed (%s) without an error", r.Index, r.Outcome)
		case r.Outcome == failClass && !slices.ContainsFunc(causes, func(c string) bool { return strings.Contains(r.Error, c) }):
			t.Fatalf("request %d (%s): error %q names none of %q", r.Index, r.Outcome, r.Error, causes)
		case r.Outcome != failClass && r.Outcome != loadgen.OutcomeCancelled && r.Outcome != loadgen.OutcomeCutOff:
			t.Fatalf("request %d: outcome %s (%s); want %s, or cancelled or cut off by the run", r.Index, r.Outcome, r.Error, failClass)
		}
	}
	if failClass != "" && count[failClass] == 0 {
		t.Errorf("no request failed as %s: %v", failClass, count)
	}
	if usageRejected != "" && count[loadgen.OutcomeOK] == 0 {
		t.Errorf("no request succeeded: %v", count)
	}
	t.Logf("trace: %d requests %v", len(trace), count)
}

// envelopeMetrics are an envelope's metrics as JSON values.
type envelopeMetrics map[string]any

func (m envelopeMetrics) number(t *testing.T, key string) float64 {
	t.Helper()
	v, ok := m[key].(float64)
	if !ok {
		t.Fatalf("metric %s = %v (%T); want a number", key, m[key], m[key])
	}
	return v
}

// verifiedMetrics checks with `bench verify` that the envelope at path
// verifies, and returns its metrics.
func verifiedMetrics(t *testing.T, path string) envelopeMetrics {
	t.Helper()
	if v := runCLIIn(t, "verify", path); v.code != 0 {
		t.Errorf("bench verify %s: exit %d\n%s%s", path, v.code, v.stdout, v.stderr)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Metrics envelopeMetrics `json:"metrics"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Metrics
}

// checkUsageTruth checks that an envelope of a run whose engine lied about
// usage counts what was streamed: token_source "chunks", every ok request's
// usage rejected, and the totals those of the chunks.
func checkUsageTruth(t *testing.T, m envelopeMetrics, trace []loadgen.Result) {
	t.Helper()
	if m["token_source"] != string(loadgen.TokenSourceChunks) {
		t.Errorf("token_source %v; want chunks", m["token_source"])
	}
	ok := m.number(t, "n_ok")
	if ok == 0 || m.number(t, "n_usage_rejected") != ok {
		t.Errorf("n_usage_rejected %v, n_ok %v; want every ok request's usage rejected", m["n_usage_rejected"], m["n_ok"])
	}
	if got, want := m.number(t, "output_tokens_total"), ok*hostileTokens; got != want {
		t.Errorf("output_tokens_total %v; want %v: %d streamed tokens in each of %v ok requests", got, want, hostileTokens, ok)
	}
	if got := m.number(t, "prompt_tokens_total"); got != 0 {
		t.Errorf("prompt_tokens_total %v; want 0: no count from a rejected usage", got)
	}
	measured := 0
	for _, r := range trace {
		if !r.Warmup && r.OK() {
			measured++
		}
	}
	if float64(measured) < ok {
		t.Errorf("n_ok %v exceeds the %d ok requests after the warmup in the trace", ok, measured)
	}
}

// warmupDataset writes a dataset of 200 prompts (the suite's size) whose
// first three, the warmup requests', start with warmupPrefix, and returns
// its path. Requests 200–202, 400–402, … reuse them and are served
// healthy too: 1.5 % of the load.
func warmupDataset(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for i := range 200 {
		p := fmt.Sprintf("prompt %d: tell me a short story about a lighthouse keeper", i)
		if i < 3 {
			p = fmt.Sprintf("%s%d: say hello", warmupPrefix, i)
		}
		line, _ := json.Marshal(map[string]string{"prompt": p})
		b.Write(append(line, '\n'))
	}
	path := filepath.Join(t.TempDir(), "warmup-first.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// otherOrigin is a server on another port than the engine: the target of
// the redirect. It counts what reaches it.
type otherOrigin struct {
	srv             *httptest.Server
	requests, keyed atomic.Int64
}

func newOtherOrigin(t *testing.T) *otherOrigin {
	o := &otherOrigin{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.requests.Add(1)
		if r.Header.Get("Authorization") != "" {
			o.keyed.Add(1)
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(o.srv.Close)
	return o
}

func (o *otherOrigin) url() string { return o.srv.URL }

// checkUntouched fails the test if any request reached the other origin.
func (o *otherOrigin) checkUntouched(t *testing.T) {
	t.Helper()
	if n, k := o.requests.Load(), o.keyed.Load(); n != 0 || k != 0 {
		t.Errorf("the other origin received %d requests, %d with an Authorization header; want none", n, k)
	}
}
