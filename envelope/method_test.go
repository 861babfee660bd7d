package envelope

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// stubVerifier is a MethodVerifier that reports info, or err, and records
// what it was asked.
type stubVerifier struct {
	info SignerInfo
	err  error

	mu   sync.Mutex
	hash string
	sig  *Signature
}

var _ MethodVerifier = (*stubVerifier)(nil)

func (v *stubVerifier) VerifySignature(ctx context.Context, sig *Signature, contentHash string) (SignerInfo, error) {
	v.mu.Lock()
	v.hash, v.sig = contentHash, sig
	v.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return SignerInfo{}, err
	}
	return v.info, v.err
}

// sigstoreEnvelope is the dev-key vector relabelled as a sigstore-cosign
// envelope: only a method verifier can say whether it is intact.
func sigstoreEnvelope(t testing.TB) *Envelope {
	t.Helper()
	e := loadEnvelope(t, vectorPath)
	e.Signature.Method = MethodSigstore
	e.Signature.RekorLogIndex = 7
	return e
}

func TestVerifySigstoreWithoutMethodVerifier(t *testing.T) {
	r, err := Verify(context.Background(), sigstoreEnvelope(t), WithIdentity(testIdentity, testIssuer), RequireTrusted())
	var ve *VerificationError
	if !errors.As(err, &ve) || !errors.Is(err, ErrNoMethodVerifier) || errors.Is(err, ErrUntrusted) {
		t.Fatalf("Verify error = %v; want a *VerificationError wrapping ErrNoMethodVerifier", err)
	}
	const want = "sigstore-cosign signatures need a keyless verifier: pass envelope.WithMethodVerifier(envelope.MethodSigstore, v) with v from keyless.NewVerifier (package github.com/benchprof/benchprof/envelope/keyless)"
	if diff := cmp.Diff(want, ve.Reason); diff != "" {
		t.Errorf("reason (-want +got):\n%s", diff)
	}
	if ve.Method != MethodSigstore || r == nil || r.OK || r.Trust != TrustNone || r.Reason != want || r.Method != MethodSigstore {
		t.Errorf("Result = %+v, error %+v; want a failure naming the method", r, ve)
	}
	// A dev-key envelope needs no method verifier.
	if _, err := Verify(context.Background(), loadEnvelope(t, vectorPath)); err != nil {
		t.Errorf("dev-key Verify: %v", err)
	}
}

func TestVerifyWithMethodVerifier(t *testing.T) {
	e := sigstoreEnvelope(t)
	h, err := e.ContentHash()
	if err != nil {
		t.Fatal(err)
	}
	v := &stubVerifier{info: SignerInfo{Identity: testIdentity, Issuer: testIssuer, RekorLogIndex: 42}}
	r, err := Verify(context.Background(), e, WithMethodVerifier(MethodSigstore, v), WithIdentity(testIdentity, testIssuer), RequireTrusted())
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	want := Result{
		OK: true, Method: MethodSigstore, ContentHash: h, Trust: TrustTrusted, PolicyGiven: true,
		TrustReason:    `identity "alice@example.com" from issuer "https://issuer.example" matches an exact identity policy (envelope.WithIdentity)`,
		SignerIdentity: testIdentity, SignerIssuer: testIssuer, RekorLogIndex: 42,
	}
	if diff := cmp.Diff(want, *r); diff != "" {
		t.Errorf("Result (-want +got):\n%s", diff)
	}
	if v.hash != h || v.sig == nil || v.sig.Bundle != e.Signature.Bundle || v.sig == e.Signature {
		t.Errorf("the verifier got hash %q and signature %p; want %q and a copy of the envelope's", v.hash, v.sig, h)
	}

	t.Run("a later use replaces an earlier one", func(t *testing.T) {
		bad := &stubVerifier{err: &VerificationError{Reason: "broken"}}
		r, err := Verify(context.Background(), e, WithMethodVerifier(MethodSigstore, bad), WithMethodVerifier(MethodSigstore, v))
		if err != nil || !r.OK || r.Trust != TrustUntrusted {
			t.Errorf("Verify = %+v, %v; want intact and untrusted (no policy)", r, err)
		}
	})

	t.Run("integrity failure", func(t *testing.T) {
		bad := &stubVerifier{err: &VerificationError{Method: "ignored", Reason: "Sigstore verification failed: bad\x1b[8m", Untrusted: true}}
		r, err := Verify(context.Background(), e, WithMethodVerifier(MethodSigstore, bad), WithIdentityRegexp(".*", testIssuer))
		var ve *VerificationError
		if !errors.As(err, &ve) || errors.Is(err, ErrUntrusted) || errors.Is(err, ErrNoMethodVerifier) {
			t.Fatalf("Verify error = %v; want an integrity *VerificationError", err)
		}
		const reason = `Sigstore verification failed: bad\x1b[8m`
		if ve.Reason != reason || ve.Method != MethodSigstore || r.OK || r.Trust != TrustNone || r.Reason != reason || r.SignerIdentity != "" {
			t.Errorf("Result = %+v, error %+v; want a failure with the escaped reason %q", r, ve, reason)
		}
	})

	t.Run("verification not carried out", func(t *testing.T) {
		cause := errors.New("trusted root unreadable")
		r, err := Verify(context.Background(), e, WithMethodVerifier(MethodSigstore, &stubVerifier{err: cause}))
		var ve *VerificationError
		if r != nil || !errors.Is(err, cause) || errors.As(err, &ve) || !strings.HasPrefix(err.Error(), "sigstore-cosign verifier: ") {
			t.Errorf("Verify = %+v, %v; want no result and an error wrapping the cause, not a *VerificationError", r, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Verify(ctx, e, WithMethodVerifier(MethodSigstore, v)); !errors.Is(err, context.Canceled) {
			t.Errorf("Verify with a cancelled ctx = %v; want context.Canceled", err)
		}
	})
}

func TestWithMethodVerifierValidation(t *testing.T) {
	e := sigstoreEnvelope(t)
	v := &stubVerifier{}
	for _, tc := range []struct {
		name string
		opts []VerifyOption
		want string
	}{
		{"dev-key", []VerifyOption{WithMethodVerifier(MethodDevKey, v)}, "envelope.WithMethodVerifier: dev-key signatures are verified by package envelope itself"},
		{"unknown method", []VerifyOption{WithMethodVerifier("pgp", v)}, `envelope.WithMethodVerifier: unknown signature method "pgp" (want "sigstore-cosign")`},
		{"nil verifier", []VerifyOption{WithMethodVerifier(MethodSigstore, nil)}, "envelope.WithMethodVerifier: the verifier for sigstore-cosign is nil"},
		{"both reported", []VerifyOption{WithMethodVerifier(MethodSigstore, nil), WithMethodVerifier(MethodDevKey, v)},
			"envelope.WithMethodVerifier: dev-key signatures are verified by package envelope itself\nenvelope.WithMethodVerifier: the verifier for sigstore-cosign is nil"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Verify(context.Background(), e, tc.opts...)
			var ve *VerificationError
			if err == nil || errors.As(err, &ve) || r != nil {
				t.Fatalf("Verify = %+v, %v; want an option error", r, err)
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
		})
	}
}

// selfVerifyingSigner signs with a dev key but claims a sigstore-cosign
// method, which only the verifier it hands to Sign can accept.
type selfVerifyingSigner struct {
	dev *DevSigner
	v   MethodVerifier
}

func (s *selfVerifyingSigner) Sign(ctx context.Context, h string) (*Signature, error) {
	sig, err := s.dev.Sign(ctx, h)
	if err != nil {
		return nil, err
	}
	sig.Method = MethodSigstore
	return sig, nil
}

func (s *selfVerifyingSigner) SelfVerifyOptions() []VerifyOption {
	return []VerifyOption{WithMethodVerifier(MethodSigstore, s.v)}
}

var _ SelfVerifier = (*selfVerifyingSigner)(nil)

func TestSignUsesSelfVerifyOptions(t *testing.T) {
	dev, err := LoadDevSigner("testdata/dev-key-vector.key")
	if err != nil {
		t.Fatal(err)
	}
	unsigned := loadEnvelope(t, vectorPath)
	unsigned.Signature = nil
	v := &stubVerifier{info: SignerInfo{Identity: testIdentity, Issuer: testIssuer, RekorLogIndex: -1}}
	signed, err := Sign(context.Background(), unsigned, &selfVerifyingSigner{dev: dev, v: v})
	if err != nil || signed.Signature.Method != MethodSigstore {
		t.Fatalf("Sign = %v; want a signature checked by the signer's own verifier", err)
	}
	h, _ := unsigned.ContentHash()
	if v.hash != h {
		t.Errorf("the self-verifier checked hash %q; want %q", v.hash, h)
	}
	rejecting := &stubVerifier{err: &VerificationError{Reason: "no"}}
	if _, err := Sign(context.Background(), unsigned, &selfVerifyingSigner{dev: dev, v: rejecting}); err == nil || !strings.Contains(err.Error(), "the new signature does not verify") {
		t.Errorf("Sign with a rejecting self-verifier = %v; want the new signature refused", err)
	}
}
