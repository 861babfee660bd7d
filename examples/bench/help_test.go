package main

import (
	"strings"
	"testing"
)

// TestHelp: every command explains itself, by --help and by `bench help`.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"verify", "keygen", "profile", "demo"} {
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
