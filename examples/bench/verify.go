package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/benchprof/benchprof/envelope"
)

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify")
	var keys stringList
	fs.Var(&keys, "key", "pin a dev-key public key: a PEM file or a directory of *.pub files (repeatable)")
	identity := fs.String("identity", "", "trust keyless envelopes whose certificate identity matches this regular expression (with --issuer)")
	issuer := fs.String("issuer", "", "the OIDC issuer URL keyless signers must have (with --identity)")
	trustedRoot := fs.String("trusted-root", "", "verify keyless envelopes against this trusted_root.json instead of the Sigstore public-good root (TUF)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("verify: expected one envelope path, got %d arguments", len(pos))
	}
	if (*identity == "") != (*issuer == "") {
		return usageErr("verify: --identity and --issuer go together; give both or neither")
	}
	var opts []envelope.VerifyOption
	if len(keys) > 0 {
		opts = append(opts, envelope.WithTrustedKeys(keys...))
	}
	if *identity != "" {
		opts = append(opts, envelope.WithIdentity(*identity, *issuer))
	}
	if *trustedRoot != "" {
		opts = append(opts, envelope.WithTrustedRootFile(*trustedRoot))
	}
	return verifyFile(ctx, pos[0], opts, stdout, stderr)
}

// verifyFile loads and verifies one envelope.
func verifyFile(ctx context.Context, path string, opts []envelope.VerifyOption, stdout, stderr io.Writer) error {
	e, err := envelope.Load(path)
	if err != nil {
		return withCode(exitUsage, err)
	}
	return verifyEnvelope(ctx, path, e, opts, stdout, stderr)
}

// verifyEnvelope verifies e and prints the reference's OK/FAIL block
// (FACTS §3.4) plus a trust line; path names it in the output.
func verifyEnvelope(ctx context.Context, path string, e *envelope.Envelope, opts []envelope.VerifyOption, stdout, stderr io.Writer) error {
	r, err := envelope.Verify(ctx, e, opts...)
	var ve *envelope.VerificationError
	switch {
	case errors.As(err, &ve) && !r.OK:
		fmt.Fprintf(stderr, "FAIL  %s\n", path)
		fmt.Fprintf(stderr, "  method:  %s\n", r.Method)
		fmt.Fprintf(stderr, "  reason:  %s\n", r.Reason)
		return &exitError{code: exitFailure, silent: true}
	case err != nil:
		return withCode(exitUsage, err) // a key file or trusted root that cannot be read
	}
	fmt.Fprintf(stdout, "OK  %s\n", path)
	line := func(label, value string) { fmt.Fprintf(stdout, "  %-18s%s\n", label+":", value) }
	line("method", r.Method)
	line("content_hash", r.ContentHash)
	line("suite", e.SuiteID+" v"+e.SuiteVersion)
	line("model", e.Model.ID)
	line("engine", e.Engine.Name+" v"+e.Engine.Version)
	if r.RekorLogIndex >= 0 {
		line("rekor_log_index", fmt.Sprint(r.RekorLogIndex))
	}
	if r.SignerIdentity != "" {
		line("signer_identity", r.SignerIdentity)
	}
	if r.SignerIssuer != "" {
		line("signer_issuer", r.SignerIssuer)
	}
	if r.SignerKey != "" {
		line("signer_key", r.SignerKey)
	}
	if r.Trust == envelope.TrustTrusted {
		line("trust", "trusted: "+r.TrustReason)
		return nil
	}
	line("trust", "UNTRUSTED: "+r.TrustReason)
	if r.PolicyGiven {
		fmt.Fprintf(stderr, "FAIL  %s\n  method:  %s\n  reason:  %s\n", path, r.Method, r.TrustReason)
		return &exitError{code: exitFailure, silent: true}
	}
	return nil
}
