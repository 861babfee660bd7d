package keyless

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/benchprof/benchprof/envelope"
)

// Verifier checks the integrity of sigstore-cosign signatures with
// sigstore-go, against a Sigstore trusted root, and reports the signer's
// identity and issuer. Plug it into [envelope.Verify]:
//
//	v, err := keyless.NewVerifier(keyless.WithTrustedRootFile("trusted_root.json"))
//	...
//	r, err := envelope.Verify(ctx, e,
//		envelope.WithMethodVerifier(envelope.MethodSigstore, v),
//		envelope.WithIdentity("alice@example.com", "https://accounts.google.com"))
//
// envelope.Verify, not the Verifier, decides trust: it matches its identity
// policies against what the Verifier reports.
//
// A Verifier is safe for concurrent use. The trusted material it loads
// (from a file or through TUF) is loaded on first use and kept; a failed
// load is tried again on the next use. Make a new Verifier to reload it.
type Verifier struct {
	cfg verifierConfig

	mu sync.Mutex
	tm root.TrustedMaterial // nil until loaded
}

var _ envelope.MethodVerifier = (*Verifier)(nil)

// VerifierOption configures [NewVerifier]. The trust options
// ([WithTrustedRootFile], [WithTrustedMaterial]) are the only ones; they
// configure [NewSigner] too.
type VerifierOption interface {
	applyVerifier(*verifierConfig)
}

type verifierConfig struct {
	trust trustConfig
}

// NewVerifier returns a keyless Verifier. It makes no network call and
// reads no file: the trusted material is loaded on first use, so a missing
// trusted root file is an error from VerifySignature (which envelope.Verify
// returns as an error that is not a *envelope.VerificationError). By
// default, if no trust option is used, the public-good instance's trusted
// root is fetched through TUF (network; cached under $HOME/.sigstore/root).
// Invalid options (an empty path, a nil trusted material, both options
// given) are an error.
func NewVerifier(opts ...VerifierOption) (*Verifier, error) {
	var c verifierConfig
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("keyless verifier: option %d is nil", i+1)
		}
		o.applyVerifier(&c)
	}
	if err := errors.Join(c.trust.validate()...); err != nil {
		return nil, fmt.Errorf("keyless verifier: %w", err)
	}
	v := &Verifier{cfg: c}
	if c.trust.materialSet {
		v.tm = c.trust.material
	}
	return v, nil
}

// VerifySignature checks a sigstore-cosign signature block over the 64
// ASCII bytes of contentHash and reports its signer, as
// [envelope.MethodVerifier] requires.
//
// Integrity is checked with sigstore-go against the trusted material: the
// certificate chains to a trusted Fulcio CA at the time of every verified
// timestamp, at least one transparency log entry is verified, at least one
// timestamp (the log's integrated time or an RFC 3161 timestamp) is
// verified, SCTs are required when the trusted material lists CT logs, and
// the signature block's certificate field is the bundle's signing
// certificate. No identity is required here: envelope.Verify matches its
// identity policies against the reported identity (the certificate's first
// SAN: an email address, else a URI, else an OtherName) and issuer
// (extension 1.3.6.1.4.1.57264.1.8, else the legacy .1.1), as the
// reference reports them.
//
// An integrity failure is a *envelope.VerificationError with the reason; a
// trusted root that cannot be loaded is another error.
func (v *Verifier) VerifySignature(ctx context.Context, sig *envelope.Signature, contentHash string) (envelope.SignerInfo, error) {
	fail := func(reason string) (envelope.SignerInfo, error) {
		return envelope.SignerInfo{}, &envelope.VerificationError{Method: envelope.MethodSigstore, Reason: reason}
	}
	if sig == nil {
		return fail("envelope has no signature")
	}
	raw, err := decodeBase64Validate(sig.Bundle)
	if err != nil {
		return fail("invalid base64 in signature bundle: " + err.Error())
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		return fail("failed to parse Sigstore bundle: " + escapeControls(err.Error()))
	}
	leaf, err := bundleLeafCertificate(&b)
	if err != nil {
		return fail("failed to parse Sigstore bundle: " + escapeControls(err.Error()))
	}
	if reason := checkCertificateField(sig.Certificate, leaf); reason != "" {
		return fail(reason)
	}

	tm, err := v.trustedMaterial(ctx)
	if err != nil {
		return envelope.SignerInfo{}, err
	}
	sv, err := verify.NewVerifier(tm, verifierOptions(tm)...)
	if err != nil {
		return envelope.SignerInfo{}, fmt.Errorf("keyless verification: %w", err)
	}
	policy := verify.NewPolicy(verify.WithArtifact(strings.NewReader(contentHash)), verify.WithoutIdentitiesUnsafe())
	if _, err := sv.Verify(&b, policy); err != nil {
		return fail("Sigstore verification failed: " + escapeControls(err.Error()))
	}
	identity, issuer := certificateIdentity(leaf)
	return envelope.SignerInfo{
		Identity:      identity,
		Issuer:        issuer,
		RekorLogIndex: bundleLogIndex(b.GetVerificationMaterial().GetTlogEntries()),
	}, nil
}

// verifierOptions is what a keyless envelope must carry: a verified
// transparency log entry, a verified timestamp (the log's signed integrated
// time or an RFC 3161 one), and SCTs if the trusted material has CT logs.
func verifierOptions(tm root.TrustedMaterial) []verify.VerifierOption {
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	return opts
}

// trustedMaterial returns the trusted material, loading it on first use:
// WithTrustedMaterial, else WithTrustedRootFile, else the public-good root
// through TUF.
func (v *Verifier) trustedMaterial(ctx context.Context) (root.TrustedMaterial, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.tm != nil {
		return v.tm, nil
	}
	var tr *root.TrustedRoot
	var err error
	if v.cfg.trust.rootPath != "" {
		tr, err = loadTrustedRootFile(v.cfg.trust.rootPath)
	} else {
		tr, err = publicGoodTrustedRoot(ctx)
	}
	if err != nil {
		return nil, err
	}
	v.tm = tr
	return tr, nil
}

// bundleLeafCertificate returns the signing certificate of a keyless bundle.
func bundleLeafCertificate(b *bundle.Bundle) (*x509.Certificate, error) {
	vc, err := b.VerificationContent()
	if err != nil {
		return nil, err
	}
	leaf := vc.Certificate()
	if leaf == nil {
		return nil, errors.New("the bundle has no signing certificate (a public-key bundle is not a keyless signature)")
	}
	return leaf, nil
}

// checkCertificateField compares the signature block's certificate field
// with the bundle's leaf certificate and returns a failure reason, or "".
func checkCertificateField(field string, leaf *x509.Certificate) string {
	block, rest := pem.Decode([]byte(field))
	if block == nil || block.Type != "CERTIFICATE" || len(bytes.TrimSpace(rest)) > 0 {
		return "invalid certificate PEM in signature block: want exactly one CERTIFICATE block"
	}
	if !bytes.Equal(block.Bytes, leaf.Raw) {
		return "signature block certificate does not match the Sigstore bundle's signing certificate"
	}
	return ""
}

// certificateIdentity returns a Fulcio certificate's identity (the first SAN:
// an email address, else a URI, else an OtherName) and OIDC issuer (extension
// 1.3.6.1.4.1.57264.1.8, else the deprecated 1.3.6.1.4.1.57264.1.1), as the
// reference reports them.
func certificateIdentity(cert *x509.Certificate) (identity, issuer string) {
	switch {
	case len(cert.EmailAddresses) > 0:
		identity = cert.EmailAddresses[0]
	case len(cert.URIs) > 0:
		identity = cert.URIs[0].String()
	default:
		identity, _ = cryptoutils.UnmarshalOtherNameSAN(cert.Extensions)
	}
	var legacy string
	for _, ext := range cert.Extensions {
		switch {
		case ext.Id.Equal(certificate.OIDIssuerV2):
			var s string
			if certificate.ParseDERString(ext.Value, &s) == nil {
				issuer = s
			}
		case ext.Id.Equal(certificate.OIDIssuer): //lint:ignore SA1019 the legacy issuer extension (.1.1) is read on purpose, as sigstore-python does
			legacy = string(ext.Value)
		}
	}
	if issuer == "" {
		issuer = legacy
	}
	return identity, issuer
}

// bundleLogIndex returns the first transparency log entry's index, or -1.
func bundleLogIndex(entries []*protorekor.TransparencyLogEntry) int64 {
	if len(entries) == 0 {
		return -1
	}
	return entries[0].GetLogIndex()
}
