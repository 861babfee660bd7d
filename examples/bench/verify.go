package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/envelope/keyless"
	"github.com/benchprof/benchprof/internal/textsafe"
)

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("verify")
	var keys stringList
	fs.Var(&keys, "key", "pin a dev-key public key: a PEM file or a directory of *.pub files (repeatable)")
	identity := fs.String("identity", "", "trust keyless envelopes whose certificate identity is exactly this email or URI (with --issuer)")
	identityRegexp := fs.String("identity-regexp", "", "trust keyless envelopes whose whole certificate identity matches this regular expression (with --issuer)")
	issuer := fs.String("issuer", "", "the OIDC issuer URL keyless signers must have, exactly (with --identity or --identity-regexp)")
	trustedRoot := fs.String("trusted-root", "", "verify keyless envelopes against this trusted_root.json instead of the Sigstore public-good root (TUF)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageErr("verify: expected one envelope path, got %d arguments", len(pos))
	}
	if (*identity != "" || *identityRegexp != "") != (*issuer != "") {
		return usageErr("verify: --identity (or --identity-regexp) and --issuer go together; give both or neither")
	}
	if *identityRegexp != "" {
		if _, err := regexp.Compile(*identityRegexp); err != nil {
			return usageErr("verify: --identity-regexp: %v", err)
		}
	}
	var opts []envelope.VerifyOption
	if len(keys) > 0 {
		opts = append(opts, envelope.WithTrustedKeys(keys...))
	}
	if *identity != "" {
		opts = append(opts, envelope.WithIdentity(*identity, *issuer))
	}
	if *identityRegexp != "" {
		opts = append(opts, envelope.WithIdentityRegexp(*identityRegexp, *issuer))
	}
	var trust []keyless.VerifierOption
	if *trustedRoot != "" {
		trust = append(trust, keyless.WithTrustedRootFile(*trustedRoot))
	}
	kv, err := keyless.NewVerifier(trust...)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("verify: --trusted-root: %w", err))
	}
	opts = append(opts, envelope.WithMethodVerifier(envelope.MethodSigstore, kv))
	return verifyFile(ctx, pos[0], opts, stdout, stderr)
}

// verifyFile reads, parses and verifies one envelope file. The bytes read
// once are the bytes parsed, verified and compared with their canonical
// rendering.
func verifyFile(ctx context.Context, path string, opts []envelope.VerifyOption, stdout, stderr io.Writer) error {
	data, err := envelope.ReadFile(path)
	if err != nil {
		return withCode(exitUsage, err)
	}
	e, err := envelope.Parse(data)
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("envelope %s: %w", path, err))
	}
	return verifyEnvelope(ctx, path, e, envelope.IsCanonicalFile(data, e), opts, stdout, stderr)
}

// notCanonical is the form line printed for a file whose bytes are not the
// canonical rendering of what was verified.
const notCanonical = "not canonical: the file's bytes differ from the canonical rendering that was verified (whitespace, key order, escapes or coerced values)"

// verifyEnvelope verifies e and prints one verdict, on its first line and on
// one stream: the reference's FAIL block on stderr (exit 1) when the
// signature is broken, or when a key or identity policy was given and the
// signer matches none of it; else the reference's OK block on stdout plus a
// trust line (exit 0), its first line saying so when no policy was given
// and only integrity was checked. canonical reports whether the file's bytes
// are the canonical rendering of e. Every string from the envelope, its
// certificate or the command line is escaped for the terminal.
func verifyEnvelope(ctx context.Context, path string, e *envelope.Envelope, canonical bool, opts []envelope.VerifyOption, stdout, stderr io.Writer) error {
	r, err := envelope.Verify(ctx, e, opts...)
	var ve *envelope.VerificationError
	if err != nil && !errors.As(err, &ve) {
		return withCode(exitUsage, err) // a key file or trusted root that cannot be read, an invalid option
	}
	esc := textsafe.Escape
	if !r.OK {
		fmt.Fprintf(stderr, "FAIL  %s\n", esc(path))
		fmt.Fprintf(stderr, "  method:  %s\n", esc(r.Method))
		fmt.Fprintf(stderr, "  reason:  %s\n", esc(r.Reason))
		return &exitError{code: exitFailure, silent: true}
	}
	line := func(w io.Writer, label, value string) { fmt.Fprintf(w, "  %-18s%s\n", label+":", esc(value)) }
	signer := func(w io.Writer) {
		if r.SignerIdentity != "" {
			line(w, "signer_identity", r.SignerIdentity)
		}
		if r.SignerIssuer != "" {
			line(w, "signer_issuer", r.SignerIssuer)
		}
		if r.SignerKey != "" {
			line(w, "signer_key", r.SignerKey)
		}
	}
	form := func(w io.Writer) {
		if !canonical {
			line(w, "form", notCanonical)
		}
	}

	if r.Trust != envelope.TrustTrusted && r.PolicyGiven {
		fmt.Fprintf(stderr, "FAIL  %s\n", esc(path))
		fmt.Fprintf(stderr, "  method:  %s\n", esc(r.Method))
		fmt.Fprintf(stderr, "  reason:  %s\n", esc(r.TrustReason))
		signer(stderr)
		form(stderr)
		return &exitError{code: exitFailure, silent: true}
	}

	if r.Trust == envelope.TrustTrusted {
		fmt.Fprintf(stdout, "OK  %s\n", esc(path))
	} else {
		fmt.Fprintf(stdout, "OK  %s  (integrity only: signer UNTRUSTED, no key or identity pinned)\n", esc(path))
	}
	line(stdout, "method", r.Method)
	line(stdout, "content_hash", r.ContentHash)
	line(stdout, "suite", e.SuiteID+" v"+e.SuiteVersion)
	line(stdout, "model", e.Model.ID)
	line(stdout, "engine", e.Engine.Name+" v"+e.Engine.Version)
	if r.RekorLogIndex >= 0 {
		line(stdout, "rekor_log_index", fmt.Sprint(r.RekorLogIndex))
	}
	signer(stdout)
	if r.Trust == envelope.TrustTrusted {
		line(stdout, "trust", "trusted: "+r.TrustReason)
	} else {
		line(stdout, "trust", "UNTRUSTED: "+r.TrustReason)
		line(stdout, "hint", pinHint(r.Method))
	}
	form(stdout)
	return nil
}

// pinHint says which flags pin the signer of an envelope signed with method.
func pinHint(method string) string {
	if method == envelope.MethodSigstore {
		return "pin the signer with --identity EMAIL|URI (or --identity-regexp REGEX) and --issuer URL"
	}
	return "pin the expected public key with --key PATH"
}
