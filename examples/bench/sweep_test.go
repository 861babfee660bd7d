package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// onlyEnvelope returns the one envelope in dir whose name starts with
// prefix and then the 12 hex of its hash, failing the test otherwise.
func onlyEnvelope(t *testing.T, dir, prefix string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	re := regexp.MustCompile("^" + regexp.QuoteMeta(prefix) + "[0-9a-f]{12}\\.json$")
	var found []string
	for _, p := range m {
		if re.MatchString(filepath.Base(p)) {
			found = append(found, p)
		}
	}
	if len(found) != 1 {
		t.Fatalf("envelopes %s<hash12>.json in %s: %v (all: %v)", prefix, dir, found, m)
	}
	return found[0]
}

func TestProfileSweep(t *testing.T) {
	url, key, unsigned, out := profileEnv(t)
	r := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "0.3",
		"--sweep", "1,2")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"Sweep summary", "TTFT p99 ms", "J/token", "envelope c1:", "envelope c2:", "summary:", "curves:"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, prefix := range []string{"profile-c1-", "profile-c2-"} {
		path := onlyEnvelope(t, out, prefix)
		if v := runCLI(t, "verify", path); v.code != 0 {
			t.Errorf("bench verify %s: exit %d\n%s", path, v.code, v.stderr)
		}
		if m, _ := filepath.Glob(filepath.Join(out, prefix+"*.requests.jsonl")); len(m) != 1 {
			t.Errorf("side files of %s: %v", prefix, m)
		}
	}
	html, _ := filepath.Glob(filepath.Join(out, "profile-sweep-*.html"))
	if len(html) != 1 {
		t.Errorf("summary pages: %v", html)
	}

	// The rates of --rps-sweep, and the summary as JSON.
	out2 := filepath.Join(t.TempDir(), "rps")
	j := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out2, "--duration", "0.3",
		"--rps-sweep", "20,40.5", "--json")
	var doc struct {
		Points []struct {
			Label, Envelope string
		} `json:"points"`
	}
	if j.code != 0 || json.Unmarshal([]byte(j.stdout), &doc) != nil || len(doc.Points) != 2 || doc.Points[1].Label != "rps40p5" {
		t.Fatalf("--rps-sweep --json: exit %d\n%s\n%s", j.code, j.stdout, j.stderr)
	}
	onlyEnvelope(t, out2, "profile-rps40p5-")

	// The suite's own points: chatbot-short runs 4, 16 and 64.
	out3 := filepath.Join(t.TempDir(), "source")
	s := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out3, "--duration", "0.2",
		"--sweep", "source", "--quiet")
	if s.code != 0 {
		t.Fatalf("--sweep source: exit %d\n%s", s.code, s.stderr)
	}
	for _, prefix := range []string{"profile-c4-", "profile-c16-", "profile-c64-"} {
		onlyEnvelope(t, out3, prefix)
	}
}

func TestSweepUsage(t *testing.T) {
	url, key, unsigned, out := profileEnv(t)
	base := []string{"profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out}
	for _, tt := range []struct {
		args []string
		text string
	}{
		{[]string{"--sweep", "1,x"}, "--sweep"},
		{[]string{"--sweep", "0"}, "--sweep"},
		{[]string{"--sweep", "1,1"}, "twice"},
		{[]string{"--rps-sweep", "-1"}, "--rps-sweep"},
		{[]string{"--sweep", "1", "--rps-sweep", "1"}, "exclusive"},
		{[]string{"--sweep", "1", "--concurrency", "4"}, "--concurrency"},
		{[]string{"--sweep", "1", "--find-peak", "--slo", "ttft_p99=1s"}, "exclusive"},
		{[]string{"--find-peak"}, "--slo"},
		{[]string{"--slo", "ttft_p99=1s"}, "--find-peak"},
		{[]string{"--find-peak", "--slo", "ttft_p98=1s"}, "--slo"},
		{[]string{"--find-peak", "--slo", "ttft_p99=1s", "--max-probes", "0"}, "--max-probes"},
		{[]string{"--max-probes", "5"}, "--find-peak"},
		{[]string{"--find-peak", "--slo", "suite", "--peak-limit", "2.5"}, "--peak-limit"},
	} {
		r := runCLI(t, append(append([]string{}, base...), tt.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tt.text) {
			t.Errorf("%v: exit %d; want %d naming %q\n%s", tt.args, r.code, exitUsage, tt.text, r.stderr)
		}
	}
	// An unsigned source is refused before any load: no summary either.
	if r := runCLI(t, "profile", unsigned, "--base-url", url, "--dev-key", key, "--output", out, "--sweep", "1,2"); r.code != exitFailure ||
		!strings.Contains(r.stderr, "verif") {
		t.Errorf("sweep of an unsigned source: exit %d\n%s", r.code, r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*")); len(m) != 0 {
		t.Errorf("files written by refused commands: %v", m)
	}
}

// TestRunFromNothing: with only an engine, bench run writes a signed
// envelope that bench verify accepts and bench profile profiles.
func TestRunFromNothing(t *testing.T) {
	url, key, _, out := profileEnv(t)
	src, err := envelope.Load(sourceC16)
	if err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "run", "--suite", "llm.inference.code-completion", "--model", src.Model.ID, "--engine", "vllm",
		"--base-url", url, "--dev-key", key, "--output", out, "--duration", "0.3")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"Run summary", "Headline metrics", "Profiling breakdown", "llm.inference.code-completion", "concurrency 1"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, r.stdout)
		}
	}
	if strings.Contains(r.stdout+r.stderr, "UNTRUSTED") || strings.Contains(r.stderr, "verif") {
		t.Errorf("a run from nothing talks of a source:\n%s\n%s", r.stdout, r.stderr)
	}
	path := onlyEnvelope(t, out, "")
	if v := runCLI(t, "verify", path, "--key", strings.TrimSuffix(key, ".key")+".pub"); v.code != 0 {
		t.Fatalf("bench verify: exit %d\n%s", v.code, v.stderr)
	}
	p := runCLI(t, "profile", path, "--base-url", url, "--dev-key", key, "--trusted-key", strings.TrimSuffix(key, ".key")+".pub",
		"--output", filepath.Join(out, "profiled"), "--duration", "0.3")
	if p.code != 0 || !strings.Contains(p.stdout, "source: trusted") {
		t.Errorf("bench profile of the fresh envelope: exit %d\n%s\n%s", p.code, p.stdout, p.stderr)
	}

	// A fresh sweep names its points as the reference's bench run does.
	out2 := filepath.Join(t.TempDir(), "sweep")
	s := runCLI(t, "run", "--suite", "llm.inference.code-completion", "--model", src.Model.ID, "--engine", "vllm",
		"--base-url", url, "--dev-key", key, "--output", out2, "--duration", "0.2", "--sweep", "1,2", "--quiet")
	if s.code != 0 {
		t.Fatalf("run --sweep: exit %d\n%s", s.code, s.stderr)
	}
	onlyEnvelope(t, out2, "c1-")
	onlyEnvelope(t, out2, "c2-")

	for _, tt := range []struct {
		args []string
		code int
		text string
	}{
		{[]string{"run", "--model", "m", "--engine", "vllm", "--base-url", url}, exitUsage, "--suite"},
		{[]string{"run", "--suite", "chatbot-short", "--model", "m", "--engine", "vllm", "--base-url", url}, exitUsage, "did you mean llm.inference.chatbot-short"},
		{[]string{"run", "--suite", "llm.inference.chatbot-short", "--model", "m", "--engine", "vllm"}, exitUsage, "--base-url"},
		{[]string{"run", "x.json", "--suite", "llm.inference.chatbot-short"}, exitUsage, "bench profile"},
		{[]string{"run", "--suite", "llm.inference.chatbot-short", "--model", "m", "--engine", "tgi", "--base-url", url, "--dev-key", key,
			"--output", filepath.Join(out, "none")}, exitFailure, "unknown engine"},
	} {
		r := runCLI(t, tt.args...)
		if r.code != tt.code || !strings.Contains(r.stderr, tt.text) {
			t.Errorf("%v: exit %d; want %d naming %q\n%s", tt.args, r.code, tt.code, tt.text, r.stderr)
		}
	}
}

// TestFindPeakCLI: the search's flags and report. (How well the search
// finds a peak is profile's TestFindPeakCapacity, on a fake clock; here
// the verdicts must not depend on how busy the machine is.) With an SLO
// every probe holds, the search climbs to --peak-limit and reports the
// limit as the peak; against an engine that fails every request after the
// first probe's warmup, no probe holds and the command exits 1.
func TestFindPeakCLI(t *testing.T) {
	url, key, unsigned, out := profileEnv(t)
	r := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out,
		"--duration", "0.3", "--find-peak", "--slo", "ttft_p99=30s,suite", "--concurrency", "2", "--peak-limit", "8")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"Peak search", "SLO: ttft_p99=30000ms, SLO template met by >=99% of requests, ok_rate>=0.99",
		"peak: c8,", "stopped: every probe held, up to the limit c8"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, r.stdout)
		}
	}
	for _, prefix := range []string{"profile-c2-", "profile-c8-"} {
		if v := runCLI(t, "verify", onlyEnvelope(t, out, prefix)); v.code != 0 {
			t.Errorf("bench verify %s: exit %d", prefix, v.code)
		}
	}
	summaries, _ := filepath.Glob(filepath.Join(out, "profile-peak-*.json"))
	if len(summaries) != 1 {
		t.Fatalf("summaries %v", summaries)
	}
	if b, err := os.ReadFile(summaries[0]); err != nil || !strings.Contains(string(b), `"peak": "c8"`) {
		t.Errorf("summary JSON: %v\n%s", err, b)
	}

	url, key, unsigned, out = profileEnv(t, enginetest.WithFault(func(r enginetest.Request) enginetest.Fault {
		if r.Seq < 3 {
			return nil // the first probe's warmup
		}
		return enginetest.HTTPStatus{Code: 503, Body: "overloaded"}
	}))
	f := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out,
		"--duration", "0.3", "--find-peak", "--slo", "ttft_p99=30s", "--concurrency", "2")
	if f.code != exitFailure || !strings.Contains(f.stderr, "no probe held the SLO") || !strings.Contains(f.stdout, "peak: none") {
		t.Errorf("failing engine: exit %d\n%s\n%s", f.code, f.stdout, f.stderr)
	}
}
