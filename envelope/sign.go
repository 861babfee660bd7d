package envelope

import (
	"context"
	"errors"
	"fmt"
)

// Signer produces the signature block for a content hash. Implementations:
// [DevSigner] (an ed25519 key file, the reference's dev mode) and
// keyless.Signer (package envelope/keyless; Sigstore: Fulcio certificate,
// Rekor entry, timestamp).
//
// Sign signs the 64 ASCII bytes of contentHash — the lowercase hex content
// hash itself, not the digest bytes nor the canonical JSON — and returns a
// new Signature the caller owns. It must honour ctx (remote signers make
// network calls) and be safe for concurrent use.
type Signer interface {
	Sign(ctx context.Context, contentHash string) (*Signature, error)
}

// ErrAlreadySigned is returned by Sign for an envelope that has a signature.
var ErrAlreadySigned = errors.New("envelope is already signed; signing it again would discard the existing signature")

// Sign returns a signed copy of e; e itself is not modified. It validates e,
// computes its content hash, asks s for a signature, and then verifies what
// was signed before returning it, so a faulty key or signer never yields an
// envelope that fails verification later (a [SelfVerifier] says what that
// check needs). An envelope that already has a signature is refused with
// ErrAlreadySigned.
func Sign(ctx context.Context, e *Envelope, s Signer) (*Envelope, error) {
	if e.Signature != nil {
		return nil, ErrAlreadySigned
	}
	n, err := e.normalized()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	h, err := n.ContentHash()
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	sig, err := s.Sign(ctx, h)
	if err != nil {
		return nil, fmt.Errorf("sign: %w", err)
	}
	if sig == nil {
		return nil, errors.New("sign: signer returned no signature")
	}
	n.Signature = sig
	var vopts []VerifyOption
	if sv, ok := s.(SelfVerifier); ok {
		vopts = sv.SelfVerifyOptions()
	}
	if _, err := Verify(ctx, n, vopts...); err != nil {
		return nil, fmt.Errorf("sign: the new signature does not verify: %w", err)
	}
	return n, nil
}

// SelfVerifier is an optional interface of a [Signer] whose signatures need
// more than the envelope to verify: keyless.Signer returns a
// [WithMethodVerifier] option with a verifier for the trusted material it
// signed against. [Sign] passes the options SelfVerifyOptions returns to
// [Verify] when it checks a new signature. It must be safe for concurrent
// use; the returned slice belongs to the caller.
type SelfVerifier interface {
	SelfVerifyOptions() []VerifyOption
}
