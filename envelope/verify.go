package envelope

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
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
	// key (dev-key) or an identity policy (keyless: the identity and issuer
	// that the method verifier checked against its Sigstore trusted root).
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

	noVerifier bool // no MethodVerifier for Method was given
}

func (e *VerificationError) Error() string {
	return fmt.Sprintf("verification failed (%s): %s", escapeControls(e.Method), e.Reason)
}

// ErrNoMethodVerifier is wrapped by the error Verify returns for a
// signature whose method needs a verifier that was not given with
// [WithMethodVerifier]: a sigstore-cosign signature without a keyless
// verifier (package envelope/keyless).
var ErrNoMethodVerifier = errors.New("no verifier for the signature method")

// Is reports ErrUntrusted for an untrusted-signer failure, and
// ErrNoMethodVerifier for a signature whose method had no verifier.
func (e *VerificationError) Is(target error) bool {
	return (target == ErrUntrusted && e.Untrusted) || (target == ErrNoMethodVerifier && e.noVerifier)
}

// VerifyOption configures [Verify].
type VerifyOption interface {
	applyVerify(*verifyConfig)
}

type verifyOptionFunc func(*verifyConfig)

func (f verifyOptionFunc) applyVerify(c *verifyConfig) { f(c) }

// identityPolicy is one keyless signer the caller trusts: an identity
// matched exactly, or a whole-identity regular expression, and an issuer
// matched exactly.
type identityPolicy struct {
	identity string // the exact identity, or the pattern as given
	isRegexp bool   // identity is a pattern (WithIdentityRegexp)
	issuer   string // exact OIDC issuer URL
	re       *regexp.Regexp
}

// String describes p for trust reasons, naming the option that made it.
func (p identityPolicy) String() string {
	if p.isRegexp {
		return fmt.Sprintf("the identity pattern %q (envelope.WithIdentityRegexp)", p.identity)
	}
	return "an exact identity policy (envelope.WithIdentity)"
}

// matches reports whether identity and issuer satisfy p. validate has
// compiled p.re for a regexp policy. An empty identity never matches.
func (p identityPolicy) matches(identity, issuer string) bool {
	if issuer != p.issuer || identity == "" {
		return false
	}
	if p.isRegexp {
		return p.re.MatchString(identity)
	}
	return identity == p.identity
}

type verifyConfig struct {
	keyPaths       []string
	keys           []crypto.PublicKey
	identities     []identityPolicy
	methods        map[string]MethodVerifier // by signature method; nil values are reported by validate
	requireTrusted bool
}

// WithTrustedKeys pins public keys for dev-key envelopes: each path is a PEM
// public key file (SubjectPublicKeyInfo, as keygen and cosign write) or a
// directory whose *.pub files are all loaded; each file must be a regular
// file of at most [MaxKeyFileSize] bytes. Repeated uses add keys.
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

// WithIdentity trusts keyless envelopes whose certificate identity (the
// SAN: an email address, URI or other name, as [Result.SignerIdentity]
// reports it) equals identity exactly — the whole string, case included —
// and whose OIDC issuer equals issuer exactly. Both are required. Use
// [WithIdentityRegexp] to accept a family of identities. Repeated uses (of
// either option) add alternatives; one match is enough.
// By default, if neither option is used, no keyless signer is trusted.
func WithIdentity(identity, issuer string) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) {
		c.identities = append(c.identities, identityPolicy{identity: identity, issuer: issuer})
	})
}

// WithIdentityRegexp trusts keyless envelopes whose certificate identity
// matches the regular expression pattern (Go RE2 syntax) as a whole: it is
// compiled as ^(?:pattern)$, so "alice@example\.com" does not accept
// "malice@example.com" or "alice@example.com.evil.test", and
// "[^@]+@example\.com" accepts every address at example.com only. The OIDC
// issuer must equal issuer exactly. Both are required and an invalid
// pattern is an error from [Verify]. Repeated uses (of either option) add
// alternatives; one match is enough.
// By default, if neither option is used, no keyless signer is trusted.
func WithIdentityRegexp(pattern, issuer string) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) {
		c.identities = append(c.identities, identityPolicy{identity: pattern, isRegexp: true, issuer: issuer})
	})
}

// WithMethodVerifier verifies the signatures of method with v. It is how
// keyless envelopes are verified: pass
//
//	envelope.WithMethodVerifier(envelope.MethodSigstore, v)
//
// with v from keyless.NewVerifier (package envelope/keyless, which holds
// the Sigstore dependencies). v checks integrity only and reports the
// signer; Verify applies the identity policies ([WithIdentity],
// [WithIdentityRegexp]) to what it reports. By default, if this option is
// not used for MethodSigstore, a sigstore-cosign signature fails
// verification with a *VerificationError wrapping [ErrNoMethodVerifier].
// Dev-key signatures are verified by this package itself: method must be
// MethodSigstore, and v must not be nil (either is an error from
// [Verify]). A later use for the same method replaces an earlier one.
func WithMethodVerifier(method string, v MethodVerifier) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) {
		if c.methods == nil {
			c.methods = map[string]MethodVerifier{}
		}
		c.methods[method] = v
	})
}

// RequireTrusted makes an intact signature from an untrusted signer an error
// (wrapping ErrUntrusted). By default it is reported in Result.Trust only.
func RequireTrusted() VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.requireTrusted = true })
}

// validate checks the identity policies and compiles their patterns, and
// checks the method verifiers.
func (c *verifyConfig) validate() error {
	var errs []error
	for _, m := range slices.Sorted(maps.Keys(c.methods)) {
		switch {
		case m == MethodDevKey:
			errs = append(errs, errors.New("envelope.WithMethodVerifier: dev-key signatures are verified by package envelope itself"))
		case m != MethodSigstore:
			errs = append(errs, fmt.Errorf("envelope.WithMethodVerifier: unknown signature method %q (want %q)", m, MethodSigstore))
		case c.methods[m] == nil:
			errs = append(errs, fmt.Errorf("envelope.WithMethodVerifier: the verifier for %s is nil", m))
		}
	}
	for i := range c.identities {
		p := &c.identities[i]
		opt := "envelope.WithIdentity"
		if p.isRegexp {
			opt = "envelope.WithIdentityRegexp"
		}
		if p.identity == "" || p.issuer == "" {
			errs = append(errs, fmt.Errorf("%s: both an identity and an issuer are required, got %q and %q", opt, p.identity, p.issuer))
			continue
		}
		if p.isRegexp {
			// The pattern must be valid by itself, so that it cannot close
			// the group and escape the anchors ("a)|(.*"), and anchored (a
			// trailing \Q would quote them).
			_, err := regexp.Compile(p.identity)
			if err == nil {
				p.re, err = regexp.Compile(`^(?:` + p.identity + `)$`)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: invalid regular expression %q: %w", opt, p.identity, err))
				continue
			}
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
// the public key embedded in the certificate field, for sigstore-cosign by
// the [MethodVerifier] given with [WithMethodVerifier] (keyless.NewVerifier
// checks the bundle, its certificate chain, transparency log entry and
// timestamps under the Sigstore trusted root). A failure returns a
// *VerificationError (and a Result with OK false and Reason set); so does a
// sigstore-cosign signature when no verifier was given (wrapping
// [ErrNoMethodVerifier]).
//
// Trust: a dev-key signer is trusted when its key equals a pinned key
// ([WithTrustedKeys], [WithTrustedPublicKeys]); a keyless signer when its
// whole identity and its issuer match a [WithIdentity] or
// [WithIdentityRegexp] policy. An intact signature from another signer is
// TrustUntrusted, returned without error unless [RequireTrusted] is given.
//
// An error that is not a *VerificationError means the verification could not
// be carried out (an unreadable key file or trusted root, an invalid option).
//
// Reasons and trust reasons hold no raw control characters: text taken from
// the envelope or its certificate is quoted (%q) or escaped.
func Verify(ctx context.Context, e *Envelope, opts ...VerifyOption) (*Result, error) {
	c := &verifyConfig{}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("envelope: verify option %d is nil", i+1)
		}
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
		v := c.methods[MethodSigstore]
		if v == nil {
			r.fail("sigstore-cosign signatures need a keyless verifier: pass envelope.WithMethodVerifier(envelope.MethodSigstore, v) with v from keyless.NewVerifier (package github.com/benchprof/benchprof/envelope/keyless)")
			return r, &VerificationError{Method: r.Method, Reason: r.Reason, noVerifier: true}
		}
		if err := verifyWithMethod(ctx, v, n.Signature, h, c, r); err != nil {
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
