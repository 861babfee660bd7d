package profile

import (
	"context"
	"errors"
	"fmt"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/envelope/keyless"
)

// verifyOnce verifies the source, or for a later point of a sweep takes
// the first point's verdict (and repeats its warnings, so that every
// envelope carries them). A fresh run has no source to verify.
func (r *run) verifyOnce(ctx context.Context) error {
	if r.fresh {
		r.res.SourceTrust = "FRESH: no source envelope: suite " + r.src.SuiteID + " run from nothing"
		return nil
	}
	sh := r.shared
	if sh != nil && sh.verified {
		r.res.SourceTrust, r.res.Verification = sh.trust, sh.verification
		for _, w := range sh.trustWarns {
			r.warn(w)
		}
		return nil
	}
	before := len(r.res.Warnings)
	if err := r.verifySource(ctx); err != nil {
		return err
	}
	if sh != nil {
		sh.verified, sh.trust, sh.verification = true, r.res.SourceTrust, r.res.Verification
		sh.trustWarns = append([]string(nil), r.res.Warnings[before:]...)
	}
	return nil
}

// verifySource checks the source's signature and its signer against the
// trust policy. A policy that was given (keys or identities) is a
// requirement: a signer that matches none of it fails. Without any policy
// an intact source runs, and Result.SourceTrust says loudly that nobody
// vouched for its signer.
func (r *run) verifySource(ctx context.Context) error {
	c, res := r.c, r.res
	if !c.verify {
		res.SourceTrust = "NOT VERIFIED: the source's signature was not checked (profile.WithoutVerificationUnsafe)"
		r.warn("source signature not verified (profile.WithoutVerificationUnsafe)")
		return nil
	}
	kv, err := keyless.NewVerifier(c.keylessVerify...)
	if err != nil {
		return fmt.Errorf("profile: verify source: %w", err)
	}
	// The keyless verifier goes first, so that one given with
	// WithVerifyOptions replaces it.
	vopts := append([]envelope.VerifyOption{envelope.WithMethodVerifier(envelope.MethodSigstore, kv)}, c.verifyOpts...)
	vr, err := envelope.Verify(ctx, r.src, vopts...)
	res.Verification = vr
	var ve *envelope.VerificationError
	switch {
	case errors.As(err, &ve) && ve.Untrusted:
		return fmt.Errorf("%w: %s", ErrSourceUntrusted, ve.Reason)
	case errors.As(err, &ve):
		return fmt.Errorf("%w: %s", ErrSourceUnverified, ve.Reason)
	case err != nil:
		return fmt.Errorf("profile: verify source: %w", err)
	}
	who := signerOf(vr)
	switch {
	case vr.Trust == envelope.TrustTrusted:
		res.SourceTrust = "trusted: " + vr.TrustReason
	case vr.PolicyGiven:
		return fmt.Errorf("%w: signer %s matches none of the trusted keys or identities given: %s", ErrSourceUntrusted, who, vr.TrustReason)
	case c.requireTrusted:
		return fmt.Errorf("%w: signer %s: no trusted key or identity was given to match it against", ErrSourceUntrusted, who)
	default:
		res.SourceTrust = "UNTRUSTED: the source's signature is intact, but nobody vouched for its signer " + who +
			" (no trusted key or identity was given)"
		r.warn("source signer untrusted: the signature is intact, but its signer " + who +
			" matches no pinned key or identity, because none was given (profile.WithTrustedKeys, profile.WithIdentity)")
	}
	return nil
}

// signerOf names a verified signer: the keyless identity and issuer, or
// the dev key's fingerprint.
func signerOf(vr *envelope.Result) string {
	if vr.SignerIdentity != "" {
		return vr.SignerIdentity + " (issuer " + vr.SignerIssuer + ")"
	}
	return "key " + vr.SignerKey
}
