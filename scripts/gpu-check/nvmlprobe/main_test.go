package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A missing library is "unavailable" (exit 3) with NVML's reason, in text
// and JSON; nothing else is reported. This is what the GPU check prints on
// a machine without the driver.
func TestMissingLibraryIsUnavailable(t *testing.T) {
	jsonPath := filepath.Join(t.TempDir(), "probe.json")
	var out bytes.Buffer
	err := run(context.Background(), []string{"-lib", "/nonexistent/libnvidia-ml.so.1", "-duration", "50ms", "-json", jsonPath}, &out)
	if got := exitCode(err); got != exitUnavailable {
		t.Fatalf("exit code %d (err %v), want %d", got, err, exitUnavailable)
	}
	if !strings.Contains(out.String(), "UNAVAILABLE") {
		t.Errorf("text report does not say UNAVAILABLE:\n%s", out.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v\n%s", err, b)
	}
	if !rep.Unavailable || rep.OpenError == "" || rep.Sampling != nil || len(rep.GPUs) != 0 {
		t.Errorf("report = %+v, want unavailable with a reason and nothing sampled", rep)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{{"extra"}, {"-duration", "0s"}, {"-interval", "-1ms"}, {"-nosuchflag"}} {
		err := run(context.Background(), args, &bytes.Buffer{})
		if got := exitCode(err); got != exitUsage {
			t.Errorf("%q: exit code %d (err %v), want %d", args, got, err, exitUsage)
		}
	}
	var ee *exitError
	if err := run(context.Background(), []string{"-h"}, &bytes.Buffer{}); err != nil || errors.As(err, &ee) {
		t.Errorf("-h: %v, want nil", err)
	}
}
