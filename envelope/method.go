package envelope

import (
	"context"
	"errors"
	"fmt"
)

// MethodVerifier checks the integrity of signatures of one method whose
// verification needs more than this package holds: sigstore-cosign
// signatures, whose verifier (keyless.NewVerifier, package envelope/keyless)
// brings the Sigstore libraries and their trusted root. It is given to
// [Verify] with [WithMethodVerifier].
//
// VerifySignature checks that sig is a valid signature of the 64 ASCII bytes
// of contentHash (the lowercase hex content hash that [Verify] recomputed)
// and reports its signer. It answers integrity only: trust is decided by
// Verify, which matches the identity policies ([WithIdentity],
// [WithIdentityRegexp]) against the SignerInfo returned, so a verifier must
// not filter signers by identity itself.
//
// An integrity failure (a signature that does not verify, a malformed
// signature block) is returned as an error for which errors.As finds a
// *[VerificationError]; its Reason becomes [Result.Reason] (Verify fills
// Method and escapes control characters). Any other error means the
// verification could not be carried out (a trusted root that cannot be
// read or fetched, ctx done) and is returned by Verify, wrapped.
//
// It must honour ctx (fetching a trusted root may use the network) and be
// safe for concurrent use. sig belongs to Verify: read it, do not modify or
// keep it.
type MethodVerifier interface {
	VerifySignature(ctx context.Context, sig *Signature, contentHash string) (SignerInfo, error)
}

// SignerInfo is what a [MethodVerifier] reports about the signer of an
// intact signature; [Verify] copies it into the [Result].
type SignerInfo struct {
	// Identity is the certificate identity (the SAN: an email address, URI
	// or other name) and Issuer the OIDC issuer, as Result.SignerIdentity
	// and Result.SignerIssuer report them. Identity policies match them; an
	// empty Identity matches no policy.
	Identity string
	Issuer   string
	// RekorLogIndex is the verified transparency log entry's index, -1 when
	// there is none.
	RekorLogIndex int64
}

// verifyWithMethod checks sig over the content hash h with v and fills r
// (OK, Reason, Trust, TrustReason, SignerIdentity, SignerIssuer,
// RekorLogIndex). It returns a non-nil error only when the verification
// could not be carried out.
func verifyWithMethod(ctx context.Context, v MethodVerifier, sig *Signature, h string, c *verifyConfig, r *Result) error {
	info, err := v.VerifySignature(ctx, sig, h)
	var ve *VerificationError
	switch {
	case errors.As(err, &ve):
		r.fail(escapeControls(ve.Reason))
		return nil
	case err != nil:
		return fmt.Errorf("%s verifier: %w", r.Method, err)
	}
	r.OK, r.Reason = true, ""
	r.SignerIdentity, r.SignerIssuer = info.Identity, info.Issuer
	r.RekorLogIndex = info.RekorLogIndex
	matchIdentityPolicies(c.identities, info.Identity, info.Issuer, r)
	return nil
}

// matchIdentityPolicies sets r.Trust and r.TrustReason for an intact
// signature from identity/issuer. The policies were validated (and their
// patterns compiled) by verifyConfig.validate.
func matchIdentityPolicies(policies []identityPolicy, identity, issuer string, r *Result) {
	if len(policies) == 0 {
		r.Trust = TrustUntrusted
		r.TrustReason = "signer untrusted: no identity policy given (envelope.WithIdentity or envelope.WithIdentityRegexp)"
		return
	}
	for _, p := range policies {
		if p.matches(identity, issuer) {
			r.Trust = TrustTrusted
			r.TrustReason = fmt.Sprintf("identity %q from issuer %q matches %s", identity, issuer, p)
			return
		}
	}
	r.Trust = TrustUntrusted
	r.TrustReason = fmt.Sprintf("signer untrusted: identity %q from issuer %q matches no identity policy", identity, issuer)
}
