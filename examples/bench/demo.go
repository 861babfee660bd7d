package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/profile"
)

// demoSourceName is the bundled source envelope: a real reference run
// (Qwen2.5-72B on 8×H100, chatbot-short at concurrency 16).
const demoSourceName = "2026-06-13-llm-h100_c16-b91875fdf860.json"

//go:embed demodata/2026-06-13-llm-h100_c16-b91875fdf860.json
var demoSource []byte

// Demo defaults: a short run against a fake engine with vLLM-like latencies.
const (
	demoDuration = 5 * time.Second
	demoTTFT     = 40 * time.Millisecond
	demoITL      = 8 * time.Millisecond
	demoJitter   = 4 * time.Millisecond
	demoTokens   = 96
)

// runDemo profiles the bundled envelope against loadgen/enginetest on
// 127.0.0.1 with an ephemeral dev key, and prints the report.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo")
	output := fs.String("output", profile.DefaultOutputDir, "output `DIR`")
	duration := &secondsFlag{d: demoDuration, max: loadgen.MaxDuration}
	fs.Var(duration, "duration", "how long to profile, in seconds (5) or as a duration (5s)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return usageErr("demo: takes no arguments")
	}
	if duration.d == 0 {
		return usageErr("demo: --duration must be above 0")
	}
	src, err := envelope.Parse(demoSource)
	if err != nil {
		return fmt.Errorf("demo: bundled envelope: %w", err)
	}
	srv, err := enginetest.Start(enginetest.WithModels(src.Model.ID), enginetest.WithVersion("0.22.1-enginetest"),
		enginetest.WithTTFT(demoTTFT), enginetest.WithITL(demoITL), enginetest.WithJitter(demoJitter), enginetest.WithOutputTokens(demoTokens))
	if err != nil {
		return fmt.Errorf("demo: start the fake engine: %w", err)
	}
	defer srv.Close()
	keyDir, err := os.MkdirTemp("", "benchprof-demo-key-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(keyDir)
	key := filepath.Join(keyDir, "cosign.key")
	if _, err := envelope.GenerateKeyPair(key); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "demo: profiling the bundled %s against a fake engine at %s for %v (ephemeral dev key)\n", demoSourceName, srv.URL(), duration.d)
	opts := []profile.Option{
		profile.WithBaseURL(srv.URL() + "/v1"),
		profile.WithSourcePath(demoSourceName),
		profile.WithDuration(duration.d),
		profile.WithGrace(duration.d),
		profile.WithDevKey(key),
		profile.WithOutputDir(*output),
	}
	opts = append(opts, progressOptions(stderr, false)...)
	return profileAndReport(ctx, profile.FromEnvelope(src), demoSourceName, opts, false, false, stdout, stderr)
}
