package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/sampler/nvml"
)

const sourceC16 = "demodata/2026-06-13-llm-h100_c16-b91875fdf860.json"

type cliRun struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) cliRun {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), args, &stdout, &stderr)
	r := cliRun{stdout: stdout.String(), stderr: stderr.String()}
	if err != nil {
		r.code = exitCode(err)
		r.stderr += err.Error()
	}
	return r
}

// profileEnv starts a fake engine serving the c16 source's model and makes a
// dev key and an unsigned copy of the source.
func profileEnv(t *testing.T, opts ...enginetest.Option) (url, key, unsigned, out string) {
	t.Helper()
	src, err := envelope.Load(sourceC16)
	if err != nil {
		t.Fatal(err)
	}
	srv := enginetest.MustStart(t, append([]enginetest.Option{enginetest.WithModels(src.Model.ID), enginetest.WithOutputTokens(8),
		enginetest.WithTTFT(2 * time.Millisecond)}, opts...)...)
	dir := t.TempDir()
	key = filepath.Join(dir, "cosign.key")
	if _, err := envelope.GenerateKeyPair(key); err != nil {
		t.Fatal(err)
	}
	src.Signature = nil
	unsigned, err = envelope.Write(dir, "c16", src)
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL() + "/v1", key, unsigned, filepath.Join(dir, "out")
}

// TestProfileExitCodes pins the reference's behaviour (FACTS §8.2, §9).
func TestProfileExitCodes(t *testing.T) {
	url, key, unsigned, out := profileEnv(t)
	unknownSuite := filepath.Join(t.TempDir(), "unknown.json")
	e, _ := envelope.Load(unsigned)
	e.SuiteID = "llm.inference.does-not-exist"
	b, _ := e.Bytes()
	os.WriteFile(unknownSuite, b, 0o644)
	unknownEngine := filepath.Join(t.TempDir(), "unknown-engine.json")
	e, _ = envelope.Load(unsigned)
	e.Engine.Name = "tgi"
	b, _ = e.Bytes()
	os.WriteFile(unknownEngine, b, 0o644)
	tests := []struct {
		name  string
		args  []string
		code  int
		texts []string
	}{
		{"no base url, no verify", []string{"profile", unsigned, "--no-verify"}, 2, []string{"--base-url", "host-agnostic"}},
		{"no base url, unsigned source verified first", []string{"profile", unsigned}, 1, []string{"verif"}},
		{"missing argument", []string{"profile"}, 2, []string{"Missing argument", "ENVELOPE_PATH"}},
		{"not found", []string{"profile", "nope.json", "--base-url", url}, 2, []string{"not found"}},
		{"hf uri", []string{"profile", "hf://org/x.json", "--base-url", url}, 2, []string{"hf://", "local file"}},
		{"unsigned with verify", []string{"profile", unsigned, "--base-url", url, "--dev-key", key}, 1, []string{"verif"}},
		{"unknown suite", []string{"profile", unknownSuite, "--no-verify", "--base-url", url, "--dev-key", key}, 1, []string{"llm.inference.does-not-exist", "no longer ships"}},
		{"unknown engine", []string{"profile", unknownEngine, "--no-verify", "--base-url", url, "--dev-key", filepath.Join(out, "none.key")}, 1, []string{"unknown engine", `"tgi"`, "source envelope"}},
		{"missing dev key", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", filepath.Join(out, "none.key")}, 1, []string{"bench keygen"}},
		{"bad signing mode", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--signing-mode", "pgp"}, 1, []string{"Unknown --signing-mode"}},
		{"negative duration", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--duration", "-1"}, 2, []string{"-duration", "negative"}},
		{"overflowing duration", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--duration", "9223372037"}, 2, []string{"-duration", "out of range"}},
		{"duration above the limit", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--duration", "25h"}, 2, []string{"-duration", "limit"}},
		{"negative idle phase", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--idle", "-1"}, 2, []string{"-idle", "negative"}},
		{"idle phase above the limit", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--idle", "11m"}, 2, []string{"-idle", "limit"}},
		{"negative start step", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--start-step", "-1ms"}, 2, []string{"-start-step", "negative"}},
		{"absurd rps", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--rps", "1e12"}, 2, []string{"--rps", "out of range"}},
		{"NaN rps", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--rps", "NaN"}, 2, []string{"--rps", "out of range"}},
		{"absurd concurrency", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--concurrency", "10000000"}, 2, []string{"--concurrency", "out of range"}},
		{"negative concurrency", []string{"profile", unsigned, "--no-verify", "--base-url", url, "--concurrency", "-4"}, 2, []string{"--concurrency", "out of range"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, tt.args...)
			if r.code != tt.code {
				t.Fatalf("exit %d; want %d\nstdout: %s\nstderr: %s", r.code, tt.code, r.stdout, r.stderr)
			}
			for _, s := range tt.texts {
				if !strings.Contains(r.stdout+r.stderr, s) {
					t.Errorf("output lacks %q:\n%s%s", s, r.stdout, r.stderr)
				}
			}
			if m, _ := filepath.Glob(filepath.Join(out, "*.json")); len(m) != 0 {
				t.Errorf("an envelope was written: %v", m)
			}
		})
	}
}

func TestProfileHappyPath(t *testing.T) {
	url, key, unsigned, out := profileEnv(t)
	r := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "1")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{unsigned, "Profile summary", "Headline metrics (source vs profile)", "Profiling breakdown", "% time on host",
		"Energy GPU vs CPU+DRAM", "Avg power under load", "NVML sample count", "RAPL sample count", "interval=10 ms", "interval=25 ms"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %q", s)
		}
	}
	if strings.Contains(r.stdout, "\x1b[") {
		t.Error("escape codes in output that is not a terminal")
	}
	matches, _ := filepath.Glob(filepath.Join(out, "*.json"))
	if len(matches) != 1 || !strings.HasPrefix(filepath.Base(matches[0]), "profile-") {
		t.Fatalf("envelopes written: %v; want exactly one profile-*.json", matches)
	}
	if v := runCLI(t, "verify", matches[0]); v.code != 0 {
		t.Errorf("bench verify of the new envelope: exit %d\n%s", v.code, v.stderr)
	}
	// --json prints a document with the tables; --start-step 0 starts the
	// workers all at once, and the envelope says so.
	j := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "1", "--idle", "0.2", "--json", "--start-step", "0")
	var doc map[string]any
	if j.code != 0 || json.Unmarshal([]byte(j.stdout), &doc) != nil || doc["tables"] == nil {
		t.Errorf("--json: exit %d, output %q", j.code, j.stdout)
	}
	files, _ := doc["files"].(map[string]any)
	for _, role := range []string{"envelope", "requests", "timeline", "html"} {
		p, _ := files[role].(string)
		if _, err := os.Stat(p); err != nil {
			t.Errorf("--json files[%s] = %q: %v", role, p, err)
		}
	}
	p, _ := files["envelope"].(string)
	b, _ := os.ReadFile(p)
	var env struct {
		DriverOptions map[string]any `json:"driver_options"`
	}
	if err := json.Unmarshal(b, &env); err != nil || env.DriverOptions["start_step_ms"] != 0.0 {
		t.Errorf("--start-step 0: driver_options %v (%v); want start_step_ms 0", env.DriverOptions, err)
	}
}

// TestProfileLowOKRate: a run where most requests fail still writes its
// envelope but exits 1 and says why, and lists the failures by class.
func TestProfileLowOKRate(t *testing.T) {
	url, key, unsigned, out := profileEnv(t, enginetest.WithFault(func(r enginetest.Request) enginetest.Fault {
		if r.Seq%3 == 0 {
			return nil // every third succeeds, the first (a warmup request) among them
		}
		return enginetest.HTTPStatus{Code: 503, Body: "overloaded: queue full"}
	}))
	r := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "1", "--idle", "0.2")
	if r.code != 1 || !strings.Contains(r.stderr, "ok_rate") {
		t.Fatalf("exit %d, stderr %s; want 1 naming ok_rate", r.code, r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "profile-*.json")); len(m) != 1 {
		t.Errorf("envelope not written: %v", m)
	}
	for _, s := range []string{"Failed requests by class", "http_status", "HTTP 503: overloaded: queue full"} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("output lacks %q:\n%s", s, r.stdout)
		}
	}
}

// TestProfileWarmupFails: an engine that fails every warmup request stops
// the run before its measured window, with the engine's own message, and
// nothing is signed.
func TestProfileWarmupFails(t *testing.T) {
	url, key, unsigned, out := profileEnv(t, enginetest.WithFault(func(enginetest.Request) enginetest.Fault {
		return enginetest.HTTPStatus{Code: 500, Body: "injected failure"}
	}))
	r := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "30", "--idle", "0.2")
	if r.code != 1 {
		t.Fatalf("exit %d; want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"every warmup request", "HTTP 500: injected failure", "no envelope was written"} {
		if !strings.Contains(r.stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, r.stderr)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(out, "profile-*.json")); len(m) != 0 {
		t.Errorf("an envelope was written: %v", m)
	}
	traces, _ := filepath.Glob(filepath.Join(out, "*.requests.jsonl"))
	if len(traces) != 1 {
		t.Fatalf("trace files %v", traces)
	}
	b, _ := os.ReadFile(traces[0])
	if lines := strings.Count(string(b), "\n"); lines == 0 || lines > 1000 {
		t.Errorf("trace holds %d requests; want the few sent before the warmup verdict", lines)
	}
}

func TestDemo(t *testing.T) {
	out := t.TempDir()
	r := runCLI(t, "demo", "--output", out, "--duration", "1s")
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.HasPrefix(r.stdout, "source: trusted: ") {
		t.Errorf("the demo's source is not shown trusted first:\n%s", r.stdout)
	}
	for _, s := range []string{"Profile summary", "Headline metrics", "Profiling breakdown", "unavailable:", "envelope: ", "timeline: ", "timeline view: "} {
		if !strings.Contains(r.stdout, s) {
			t.Errorf("demo output lacks %q", s)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(out, "profile-*.json"))
	if len(matches) != 1 {
		t.Fatalf("demo wrote %v", matches)
	}
	if v := runCLI(t, "verify", matches[0]); v.code != 0 {
		t.Errorf("bench verify of the demo envelope: exit %d\n%s", v.code, v.stderr)
	}
}

// TestProfilePointFallback: a source whose file name and driver_options
// carry no point runs at the suite default, and the output shows the point,
// where it came from, and the flag to set it.
func TestProfilePointFallback(t *testing.T) {
	url, key, unsigned, out := profileEnv(t)
	renamed := filepath.Join(t.TempDir(), "downloaded.json")
	b, err := os.ReadFile(unsigned)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(renamed, b, 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, "profile", renamed, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "1", "--idle", "0.2")
	if r.code != 0 {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, s := range []string{"concurrency 4 (suite default)", "downloaded.json", "--concurrency N"} {
		if !strings.Contains(r.stdout+r.stderr, s) {
			t.Errorf("output lacks %q:\n%s", s, r.stdout)
		}
	}
}

// TestProfileRequireGPU: on a host without GPU telemetry, --require-gpu
// exits 1 before any load and writes no envelope.
func TestProfileRequireGPU(t *testing.T) {
	if g, err := nvml.Open(nvml.WithSensorProbe(0)); err == nil {
		g.Close()
		t.Skip("this host has NVML GPU telemetry")
	}
	url, key, unsigned, out := profileEnv(t)
	r := runCLI(t, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "1", "--idle", "0.2",
		"--require-gpu", "--gpus", "0")
	if r.code != 1 || !strings.Contains(r.stderr, "no GPU telemetry") {
		t.Fatalf("exit %d, stderr %s; want 1 naming the missing GPU telemetry", r.code, r.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "profile-*.json")); len(m) != 0 {
		t.Errorf("an envelope was written: %v", m)
	}
}
