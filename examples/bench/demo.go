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
// (Qwen2.5-7B-Instruct on an H100, chatbot-short at the suite's default
// point, concurrency 4), signed with the key its publisher published,
// which the demo pins: it shows what a trusted source looks like.
const demoSourceName = "2026-05-18-multi-vendor-marathon_marathon_all_43a8c771ef48.json"

//go:embed demodata/2026-05-18-multi-vendor-marathon_marathon_all_43a8c771ef48.json
var demoSource []byte

// demoTrustedKey is the public key the reference published for its
// 2026-05-18 marathon runs (trust/cosign-2026-05-18-marathon.pub).
//
//go:embed demodata/cosign-2026-05-18-marathon.pub
var demoTrustedKey []byte

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
	pinned := filepath.Join(keyDir, "cosign-2026-05-18-marathon.pub")
	if err := os.WriteFile(pinned, demoTrustedKey, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "demo: profiling the bundled %s (its publisher's key pinned) against a fake engine at %s for %v, signing with an ephemeral dev key\n",
		demoSourceName, srv.URL(), duration.d)
	opts := []profile.Option{
		profile.WithBaseURL(srv.URL() + "/v1"),
		profile.WithSourcePath(demoSourceName),
		profile.WithDuration(duration.d),
		profile.WithGrace(duration.d),
		profile.WithDevKey(key),
		profile.WithTrustedKeys(pinned),
		// The reference's bench run ran the suite at its default point; the
		// envelope does not record it, so say it rather than fall back.
		profile.WithPoint(loadgen.Point{Concurrency: 4}),
		profile.WithOutputDir(*output),
	}
	opts = append(opts, progressOptions(stderr, false)...)
	return profileAndReport(ctx, profile.FromEnvelope(src), demoSourceName, opts, false, false, stdout, stderr)
}
