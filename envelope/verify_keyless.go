package envelope

import "context"

// verifyKeyless checks a sigstore-cosign signature block over the content
// hash h and fills r (OK, Reason, Trust, TrustReason, SignerIdentity,
// SignerIssuer, RekorLogIndex). It returns a non-nil error only when the
// verification could not be carried out (e.g. an unreadable trusted root).
func verifyKeyless(ctx context.Context, sig *Signature, h string, c *verifyConfig, r *Result) error {
	_, _ = r.fail("keyless verification is not implemented yet")
	return nil
}
