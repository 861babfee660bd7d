package main

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/benchprof/benchprof/profile"
)

// TestHelp: every command explains itself, by --help and by `bench help`.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"verify", "keygen", "profile", "run", "demo"} {
		for _, args := range [][]string{{cmd, "--help"}, {"help", cmd}} {
			r := runCLI(t, args...)
			if r.code != 0 {
				t.Fatalf("%v: exit %d\n%s", args, r.code, r.stderr)
			}
			if !strings.HasPrefix(r.stdout, "usage: bench "+cmd) {
				t.Errorf("%v: help does not start with the usage line:\n%s", args, r.stdout)
			}
			for _, bad := range []string{"`", "(default) (default", "(default true)"} {
				if strings.Contains(r.stdout, bad) {
					t.Errorf("%v: help holds %q:\n%s", args, bad, r.stdout)
				}
			}
		}
	}
	if r := runCLI(t, "profile", "--help"); !strings.Contains(r.stdout, "--base-url URL") || !strings.Contains(r.stdout, "--dev-key PATH") {
		t.Errorf("profile help does not name its arguments:\n%s", r.stdout)
	}
	if r := runCLI(t, "help", "frobnicate"); r.code != exitUsage {
		t.Errorf("help of an unknown command: exit %d", r.code)
	}
	if r := runCLI(t, "--version"); r.code != 0 || !strings.HasPrefix(r.stdout, "bench ") || !strings.Contains(r.stdout, "go1.") {
		t.Errorf("--version: exit %d, %q", r.code, r.stdout)
	}
}

// TestProgressLog: in a log, a plain line every interval, never a terminal
// escape, and nothing between the marks.
func TestProgressLog(t *testing.T) {
	var b strings.Builder
	fn := progressLog(&b, 5*time.Second)
	for _, el := range []time.Duration{250 * time.Millisecond, 4 * time.Second, 5 * time.Second, 6 * time.Second, 17 * time.Second, 18 * time.Second} {
		fn(profile.Progress{Elapsed: el, Duration: 30 * time.Second, OK: 3, TokensPerSec: 120, GPUPowerW: math.NaN()})
	}
	want := "bench: profiling 5s/30s  ok 3  failed 0  120 tok/s  GPU -\n" +
		"bench: profiling 17s/30s  ok 3  failed 0  120 tok/s  GPU -\n"
	if b.String() != want {
		t.Errorf("log:\n%q\nwant\n%q", b.String(), want)
	}
}

// TestWarningsOnStderr: warnings are diagnostics: on stderr, not in the
// report on stdout, and --quiet does not silence them.
func TestWarningsOnStderr(t *testing.T) {
	url, key, unsigned, out := profileEnv(t)
	for _, quiet := range []bool{false, true} {
		args := []string{"profile", unsigned, "--no-verify", "--base-url", url, "--dev-key", key, "--output", out, "--duration", "1", "--idle", "0.2"}
		if quiet {
			args = append(args, "--quiet")
		}
		r := runCLI(t, args...)
		if r.code != 0 {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stderr, "bench: warning: source signature not verified") {
			t.Errorf("quiet=%v: stderr lacks the warning:\n%s", quiet, r.stderr)
		}
		if strings.Contains(r.stdout, "warning:") {
			t.Errorf("quiet=%v: a warning on stdout:\n%s", quiet, r.stdout)
		}
	}
}
