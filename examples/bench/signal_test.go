//go:build linux

package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// Generous bounds for the signal tests, far above what they need on an
// idle machine (tens of milliseconds to stop, about a second for the
// first trace lines to reach the file).
const (
	// traceWait bounds how long the run may take to flush its first trace
	// lines (the trace is written through a 64 KiB buffer).
	traceWait = 20 * time.Second
	// stopWait bounds how long the child may take to exit after the signal.
	stopWait = 10 * time.Second
)

// TestSignalStopsRunCleanly stops a 30 s run of the bench CLI, as a
// process of its own, with SIGTERM or SIGINT once its trace has lines. One
// signal stops the run cleanly: exit status 128 + the signal's number, a
// trace of complete JSON lines, the timeline kept, no envelope signed, and
// stderr naming the partial files. A second signal right after the first
// ends the process at once; whether the first had already ended the run or
// not, the status is the signal's and nothing is signed — the files may
// then be cut short, so they are not checked.
func TestSignalStopsRunCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI as a child process for a few seconds per case")
	}
	tests := []struct {
		name    string
		signals []syscall.Signal
		status  int  // as a shell reports it: 128 + the signal's number
		clean   bool // only one signal: the files are complete
	}{
		{"SIGTERM", []syscall.Signal{syscall.SIGTERM}, 143, true},
		{"SIGINT", []syscall.Signal{syscall.SIGINT}, 130, true},
		{"SIGTERM twice", []syscall.Signal{syscall.SIGTERM, syscall.SIGTERM}, 143, false},
		{"SIGINT twice", []syscall.Signal{syscall.SIGINT, syscall.SIGINT}, 130, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A slow, healthy engine: each request takes about 1.3 s.
			url, key, unsigned, out := profileEnv(t, enginetest.WithTTFT(50*time.Millisecond),
				enginetest.WithITL(20*time.Millisecond), enginetest.WithOutputTokens(64))
			p := startCLI(t, nil, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out,
				"--concurrency", "64", "--duration", "30", "--idle", "0.2")
			trace := waitForTrace(t, p, out)
			sent := time.Now()
			for _, sig := range tt.signals {
				p.signal(t, sig)
			}
			e := p.wait(t, time.Since(p.start)+stopWait)
			t.Logf("stopped %.2fs after the signal; status %d", time.Since(sent).Seconds(), e.shellStatus())

			if tt.clean && (e.signal != 0 || e.code != tt.status) {
				t.Errorf("exit status %d (signal %v); want %d\nstderr:\n%s", e.code, e.signal, tt.status, e.stderr)
			}
			if !tt.clean && e.shellStatus() != tt.status {
				// Either the handler's os.Exit(128+n), or — when the second
				// signal lands after the handler has been released on the
				// way out — the signal's default action: a shell reports both
				// as 128+n.
				t.Errorf("status %d (exit %d, signal %v); want %d\nstderr:\n%s", e.shellStatus(), e.code, e.signal, tt.status, e.stderr)
			}
			if m, _ := filepath.Glob(filepath.Join(out, "profile-*.json")); len(m) != 0 {
				t.Errorf("an envelope was written: %v", m)
			}
			if !tt.clean {
				return
			}
			readTrace(t, trace)
			timeline := strings.TrimSuffix(trace, ".requests.jsonl") + ".timeline.csv"
			checkTimeline(t, timeline)
			for _, s := range []string{trace, timeline, "no envelope was"} {
				if !strings.Contains(e.stderr, s) {
					t.Errorf("stderr does not say %q:\n%s", s, e.stderr)
				}
			}
		})
	}
}

// waitForTrace polls out until the run's trace file holds bytes, and
// returns its path. It fails the test if the child exits first or after
// traceWait.
func waitForTrace(t *testing.T, p *cliProcess, out string) string {
	t.Helper()
	deadline := time.Now().Add(traceWait)
	for time.Now().Before(deadline) {
		if !p.running() {
			e := p.wait(t, 0)
			t.Fatalf("the CLI exited (status %d) before its trace had lines\nstderr:\n%s", e.shellStatus(), e.stderr)
		}
		m, _ := filepath.Glob(filepath.Join(out, "*.requests.jsonl"))
		if len(m) == 1 {
			if fi, err := os.Stat(m[0]); err == nil && fi.Size() > 0 {
				return m[0]
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no trace lines in %s after %v", out, traceWait)
	return ""
}

// TestSignalStopsSweep: Ctrl-C during a sweep's second point keeps the
// first point's envelope, signs nothing for the second, says which point
// was interrupted, still writes the summary, and exits 130.
func TestSignalStopsSweep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the CLI as a child process for a few seconds")
	}
	url, key, unsigned, out := profileEnv(t, enginetest.WithTTFT(20*time.Millisecond), enginetest.WithITL(10*time.Millisecond),
		enginetest.WithOutputTokens(16))
	p := startCLI(t, nil, "profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out,
		"--sweep", "1,2", "--duration", "3")
	deadline := time.Now().Add(traceWait)
	for { // the second point has started once its trace exists
		if m, _ := filepath.Glob(filepath.Join(out, "profile-c2-*.requests.jsonl")); len(m) == 1 {
			break
		}
		if !p.running() || time.Now().After(deadline) {
			e := p.wait(t, 0)
			t.Fatalf("the second point never started (status %d)\nstderr:\n%s", e.shellStatus(), e.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // into its load, which runs for 3 s
	p.signal(t, syscall.SIGINT)
	e := p.wait(t, time.Since(p.start)+stopWait)
	if e.signal != 0 || e.code != 130 {
		t.Fatalf("exit %d (signal %v); want 130\nstderr:\n%s", e.code, e.signal, e.stderr)
	}
	first := onlyEnvelope(t, out, "profile-c1-")
	if v := runCLI(t, "verify", first); v.code != 0 {
		t.Errorf("the kept envelope does not verify: %s", v.stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "profile-c2-*.json")); len(m) != 0 {
		t.Errorf("the interrupted point wrote an envelope: %v", m)
	}
	for _, s := range []string{"during point c2 (2 of 2)", first, "no envelope was"} {
		if !strings.Contains(e.stderr, s) {
			t.Errorf("stderr does not say %q:\n%s", s, e.stderr)
		}
	}
	if !strings.Contains(e.stdout, "interrupted") {
		t.Errorf("the summary does not mark the interrupted point:\n%s", e.stdout)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "profile-sweep-*.json")); len(m) != 1 {
		t.Errorf("summary files: %v", m)
	}
}
