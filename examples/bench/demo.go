package main

import (
	"context"
	_ "embed"
	"fmt"
	"io"

	"github.com/benchprof/benchprof/envelope"
)

// The demo's embedded default: a real envelope from the reference's
// 2026-05-18 H100 marathon and the key its authors published.
var (
	//go:embed demodata/sample-envelope.json
	demoEnvelope []byte
	//go:embed demodata/cosign-2026-05-18-marathon.pub
	demoKey []byte
)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) != 0 {
		return usageErr("demo: takes no arguments")
	}
	e, err := envelope.Parse(demoEnvelope)
	if err != nil {
		return fmt.Errorf("demo: embedded envelope: %w", err)
	}
	key, err := envelope.ParsePublicKey(demoKey)
	if err != nil {
		return fmt.Errorf("demo: embedded key: %w", err)
	}
	fmt.Fprintln(stdout, "Verifying the embedded sample envelope against the key its authors published:")
	return verifyEnvelope(ctx, "embedded:sample-envelope.json", e, []envelope.VerifyOption{envelope.WithTrustedPublicKeys(key)}, stdout, stderr)
}
