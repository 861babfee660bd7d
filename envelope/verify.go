package envelope

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"regexp"
)

// Trust says whether a signature that is intact also comes from a signer the
// caller trusts. Integrity and trust are separate questions: anyone can make
// an envelope that carries its own key and verifies (FACTS §10.1).
type Trust int

const (
	// TrustNone: the integrity check failed (or there is no signature).
	TrustNone Trust = iota
	// TrustUntrusted: the signature is intact, but no pinned key or identity
	// policy matches its signer (or none was given).
	TrustUntrusted
	// TrustTrusted: the signature is intact and its signer matches a pinned
	// key (dev-key) or an identity policy checked against the Sigstore
	// trusted root (keyless).
	TrustTrusted
)

func (t Trust) String() string {
	switch t {
	case TrustNone:
		return "none"
	case TrustUntrusted:
		return "untrusted"
	case TrustTrusted:
		return "trusted"
	}
	return fmt.Sprintf("Trust(%d)", int(t))
}

// Method names reported for an envelope without a signature.
const MethodNone = "none"

// Result is the outcome of [Verify].
type Result struct {
	// OK reports integrity: the signature is valid for this content.
	OK bool
	// Method is the signature method, or "none" without a signature.
	Method string
	// Reason says why OK is false, using the reference's reason strings where
	// they exist (FACTS §3.3). Empty when OK.
	Reason string
	// ContentHash is the recomputed content hash ("" if it could not be computed).
	ContentHash string
	// Trust and TrustReason say whether the signer is trusted, and why or why not.
	Trust       Trust
	TrustReason string
	// PolicyGiven reports whether any pinned key or identity policy was given.
	PolicyGiven bool
	// SignerIdentity and SignerIssuer come from a keyless certificate
	// (SAN and OIDC issuer); SignerKey is the dev-key public key's
	// fingerprint ("SHA256:" + base64 of the SPKI digest, as ssh-keygen).
	SignerIdentity string
	SignerIssuer   string
	SignerKey      string
	// RekorLogIndex is the transparency log index, -1 when none.
	RekorLogIndex int64
}

// Trusted reports whether the signature is intact and its signer trusted.
func (r *Result) Trusted() bool { return r.OK && r.Trust == TrustTrusted }

// ErrUntrusted is wrapped by the error Verify returns for an intact signature
// from an untrusted signer when [RequireTrusted] is given.
var ErrUntrusted = errors.New("signer untrusted")

// VerificationError reports a failed verification. Reason is the reference's
// reason string; Untrusted is set when the signature is intact but the
// signer is not trusted and trust was required.
type VerificationError struct {
	Method    string
	Reason    string
	Untrusted bool
}

func (e *VerificationError) Error() string {
	return fmt.Sprintf("verification failed (%s): %s", e.Method, e.Reason)
}

// Is reports ErrUntrusted for an untrusted-signer failure.
func (e *VerificationError) Is(target error) bool { return target == ErrUntrusted && e.Untrusted }

// VerifyOption configures [Verify].
type VerifyOption interface {
	applyVerify(*verifyConfig)
}

type verifyOptionFunc func(*verifyConfig)

func (f verifyOptionFunc) applyVerify(c *verifyConfig) { f(c) }

type identityPolicy struct {
	identity string // regular expression, searched in the SAN
	issuer   string // exact OIDC issuer URL
}

type verifyConfig struct {
	keyPaths        []string
	keys            []crypto.PublicKey
	identities      []identityPolicy
	trustedRootPath string
	trustedMaterial any // root.TrustedMaterial; typed in verify_keyless.go
	requireTrusted  bool
}

// WithTrustedKeys pins public keys for dev-key envelopes: each path is a PEM
// public key file (SubjectPublicKeyInfo, as keygen and cosign write) or a
// directory whose *.pub files are all loaded. Repeated uses add keys.
// By default, if no key is pinned, a dev-key envelope can at best be
// "integrity ok, signer untrusted".
func WithTrustedKeys(paths ...string) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.keyPaths = append(c.keyPaths, paths...) })
}

// WithTrustedPublicKeys pins public keys given in memory (ed25519.PublicKey
// for dev-key envelopes). Repeated uses add keys.
func WithTrustedPublicKeys(keys ...crypto.PublicKey) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.keys = append(c.keys, keys...) })
}

// WithIdentity trusts keyless envelopes whose certificate identity (the SAN:
// an email, URI or other name) matches the regular expression identity
// (searched, not anchored: add ^…$ to pin it) and whose OIDC issuer equals
// issuer exactly. Repeated uses add alternatives; one match is enough.
// By default no keyless signer is trusted.
func WithIdentity(identity, issuer string) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) {
		c.identities = append(c.identities, identityPolicy{identity: identity, issuer: issuer})
	})
}

// WithTrustedRootFile verifies keyless envelopes against a local Sigstore
// trusted_root.json (for air-gapped sites) instead of the public-good
// instance's root fetched through TUF, which is the default.
// A later use replaces an earlier one.
func WithTrustedRootFile(path string) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.trustedRootPath = path })
}

// RequireTrusted makes an intact signature from an untrusted signer an error
// (wrapping ErrUntrusted). By default it is reported in Result.Trust only.
func RequireTrusted() VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.requireTrusted = true })
}

func (c *verifyConfig) validate() error {
	var errs []error
	for _, p := range c.identities {
		if p.identity == "" || p.issuer == "" {
			errs = append(errs, errors.New("identity policy: both an identity pattern and an issuer are required"))
			continue
		}
		if _, err := regexp.Compile(p.identity); err != nil {
			errs = append(errs, fmt.Errorf("identity policy: invalid regular expression %q: %w", p.identity, err))
		}
	}
	return errors.Join(errs...)
}

func (c *verifyConfig) policyGiven() bool {
	return len(c.keyPaths) > 0 || len(c.keys) > 0 || len(c.identities) > 0
}

// Verify checks e's signature and says whether its signer is trusted.
//
// Integrity: the content hash is recomputed from e (with the reference's
// normalizations) and the signature checked over it — for dev-key against
// the public key embedded in the certificate field, for sigstore-cosign
// against the bundle, its certificate chain, transparency log entry and
// timestamps under the Sigstore trusted root. A failure returns a
// *VerificationError (and a Result with OK false and Reason set).
//
// Trust: a dev-key signer is trusted when its key equals a pinned key
// ([WithTrustedKeys], [WithTrustedPublicKeys]); a keyless signer when its
// identity and issuer match a [WithIdentity] policy. An intact signature from
// another signer is TrustUntrusted, returned without error unless
// [RequireTrusted] is given.
//
// An error that is not a *VerificationError means the verification could not
// be carried out (an unreadable key file, an invalid option).
func Verify(ctx context.Context, e *Envelope, opts ...VerifyOption) (*Result, error) {
	c := &verifyConfig{}
	for _, o := range opts {
		o.applyVerify(c)
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	r := &Result{Method: MethodNone, RekorLogIndex: -1, PolicyGiven: c.policyGiven()}
	if e.Signature == nil {
		return r.fail("envelope has no signature")
	}
	r.Method = e.Signature.Method
	r.RekorLogIndex = e.Signature.RekorLogIndex
	n, err := e.normalized()
	if err != nil {
		return r.fail("envelope is invalid: " + err.Error())
	}
	h, err := n.ContentHash()
	if err != nil {
		return r.fail("content hash: " + err.Error())
	}
	r.ContentHash = h
	switch n.Signature.Method {
	case MethodDevKey:
		if err := verifyDevKey(n.Signature, h, c, r); err != nil {
			return nil, err
		}
	case MethodSigstore:
		if err := verifyKeyless(ctx, n.Signature, h, c, r); err != nil {
			return nil, err
		}
	default:
		return r.fail(fmt.Sprintf("unknown signature method %q", n.Signature.Method))
	}
	if !r.OK {
		return r, &VerificationError{Method: r.Method, Reason: r.Reason}
	}
	if r.Trust != TrustTrusted && c.requireTrusted {
		return r, &VerificationError{Method: r.Method, Reason: r.TrustReason, Untrusted: true}
	}
	return r, nil
}

func (r *Result) fail(reason string) (*Result, error) {
	r.OK, r.Reason, r.Trust = false, reason, TrustNone
	return r, &VerificationError{Method: r.Method, Reason: reason}
}
