package envelope

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore-go/pkg/util"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"
)

// tufTimeout bounds each request to the Sigstore TUF repository.
const tufTimeout = 30 * time.Second

// WithTrustedMaterial verifies keyless envelopes against tm, Sigstore
// trusted material held in memory: a *root.TrustedRoot, or a private
// deployment's own root.TrustedMaterial. It takes precedence over
// [WithTrustedRootFile]. By default, if neither is used, the public-good
// instance's trusted root is fetched through TUF (network; cached under
// $HOME/.sigstore/root). A later use replaces an earlier one. A nil tm makes
// the verification of a keyless envelope fail with an error.
func WithTrustedMaterial(tm root.TrustedMaterial) VerifyOption {
	return verifyOptionFunc(func(c *verifyConfig) { c.trustedMaterial = trustedMaterialOption{tm: tm} })
}

// trustedMaterialOption is what WithTrustedMaterial stores in
// verifyConfig.trustedMaterial; a struct, so that a nil tm is still "given".
type trustedMaterialOption struct{ tm root.TrustedMaterial }

// verifyKeyless checks a sigstore-cosign signature block over the content
// hash h and fills r (OK, Reason, Trust, TrustReason, SignerIdentity,
// SignerIssuer, RekorLogIndex). It returns a non-nil error only when the
// verification could not be carried out (e.g. an unreadable trusted root).
//
// Integrity is checked with sigstore-go against the trusted material, with
// the artifact being the 64 ASCII bytes of h: the certificate chains to a
// trusted Fulcio CA at the time of every verified timestamp, at least one
// transparency log entry is verified, at least one timestamp (the log's
// integrated time or an RFC 3161 timestamp) is verified, and SCTs are
// required when the trusted material lists CT logs. The identity policy is
// matched afterwards, so a signer that matches no policy is "untrusted",
// never an integrity failure.
func verifyKeyless(ctx context.Context, sig *Signature, h string, c *verifyConfig, r *Result) error {
	raw, err := decodeBase64Validate(sig.Bundle)
	if err != nil {
		_, _ = r.fail("invalid base64 in signature bundle: " + err.Error())
		return nil
	}
	var b bundle.Bundle
	if err := b.UnmarshalJSON(raw); err != nil {
		_, _ = r.fail("failed to parse Sigstore bundle: " + escapeControls(err.Error()))
		return nil
	}
	leaf, err := bundleLeafCertificate(&b)
	if err != nil {
		_, _ = r.fail("failed to parse Sigstore bundle: " + escapeControls(err.Error()))
		return nil
	}
	if reason := checkCertificateField(sig.Certificate, leaf); reason != "" {
		_, _ = r.fail(reason)
		return nil
	}

	tm, err := c.keylessTrustedMaterial(ctx)
	if err != nil {
		return err
	}
	v, err := verify.NewVerifier(tm, keylessVerifierOptions(tm)...)
	if err != nil {
		return fmt.Errorf("keyless verification: %w", err)
	}
	policy := verify.NewPolicy(verify.WithArtifact(strings.NewReader(h)), verify.WithoutIdentitiesUnsafe())
	if _, err := v.Verify(&b, policy); err != nil {
		_, _ = r.fail("Sigstore verification failed: " + escapeControls(err.Error()))
		return nil
	}

	identity, issuer := certificateIdentity(leaf)
	r.OK, r.Reason = true, ""
	r.SignerIdentity, r.SignerIssuer = identity, issuer
	r.RekorLogIndex = bundleLogIndex(b.GetVerificationMaterial().GetTlogEntries())
	matchIdentityPolicies(c.identities, identity, issuer, r)
	return nil
}

// keylessVerifierOptions is what a keyless envelope must carry: a verified
// transparency log entry, a verified timestamp (the log's signed integrated
// time or an RFC 3161 one), and SCTs if the trusted material has CT logs.
func keylessVerifierOptions(tm root.TrustedMaterial) []verify.VerifierOption {
	opts := []verify.VerifierOption{verify.WithTransparencyLog(1), verify.WithObserverTimestamps(1)}
	if len(tm.CTLogs()) > 0 {
		opts = append(opts, verify.WithSignedCertificateTimestamps(1))
	}
	return opts
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

// keylessTrustedMaterial resolves the trusted material: WithTrustedMaterial,
// else WithTrustedRootFile, else the public-good root through TUF.
func (c *verifyConfig) keylessTrustedMaterial(ctx context.Context) (root.TrustedMaterial, error) {
	if o, ok := c.trustedMaterial.(trustedMaterialOption); ok {
		if o.tm == nil {
			return nil, errors.New("WithTrustedMaterial: the trusted material is nil")
		}
		return o.tm, nil
	}
	if c.trustedRootPath != "" {
		return loadTrustedRootFile(c.trustedRootPath)
	}
	tc, err := publicGoodTUFClient(ctx)
	if err != nil {
		return nil, err
	}
	tr, err := root.GetTrustedRoot(tc)
	if err != nil {
		return nil, fmt.Errorf("sigstore public-good trusted root: %w", err)
	}
	return tr, nil
}

// trustedRootFile and signingConfigFile describe Sigstore files for
// readBounded's messages.
var (
	trustedRootFile   = fileKind{what: "a trusted root", hint: "pass the path of a trusted_root.json file"}
	signingConfigFile = fileKind{what: "a signing config", hint: "pass the path of a signing_config.json file"}
)

// loadTrustedRootFile reads a Sigstore trusted_root.json, a regular file of
// at most MaxSigstoreFileSize bytes.
func loadTrustedRootFile(path string) (*root.TrustedRoot, error) {
	data, err := readBounded(path, MaxSigstoreFileSize, trustedRootFile)
	if err != nil {
		return nil, fmt.Errorf("sigstore trusted root %s: %w", path, err)
	}
	tr, err := root.NewTrustedRootFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("sigstore trusted root %s: %w", path, err)
	}
	return tr, nil
}

// loadSigningConfigFile reads a Sigstore signing_config.json, a regular
// file of at most MaxSigstoreFileSize bytes.
func loadSigningConfigFile(path string) (*root.SigningConfig, error) {
	data, err := readBounded(path, MaxSigstoreFileSize, signingConfigFile)
	if err != nil {
		return nil, fmt.Errorf("sigstore signing config %s: %w", path, err)
	}
	sc, err := root.NewSigningConfigFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("sigstore signing config %s: %w", path, err)
	}
	return sc, nil
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

// publicGoodTUFClient opens the public-good Sigstore TUF repository (cached
// under $HOME/.sigstore/root), with every request bound to ctx.
func publicGoodTUFClient(ctx context.Context) (*tuf.Client, error) {
	f := fetcher.NewDefaultFetcher()
	f.SetHTTPUserAgent(util.ConstructUserAgent())
	f.SetHTTPClient(&http.Client{Transport: contextTransport(ctx, http.DefaultTransport), Timeout: tufTimeout})
	opts := tuf.DefaultOptions().WithContext(ctx).WithFetcher(f)
	c, err := tuf.New(opts)
	if err != nil {
		return nil, fmt.Errorf("sigstore public-good TUF repository: %w", err)
	}
	return c, nil
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// contextTransport returns a RoundTripper that also cancels each request
// when ctx is done. sigstore-go's Fulcio and timestamp clients and go-tuf's
// fetcher build their requests without a context; this binds them to the
// ctx of the call that built the client (the client lives no longer than
// that call). A request keeps its own deadline (the client's timeout).
func contextTransport(ctx context.Context, base http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		rctx, cancel := context.WithCancel(req.Context())
		stop := context.AfterFunc(ctx, cancel)
		release := func() { stop(); cancel() }
		resp, err := base.RoundTrip(req.WithContext(rctx))
		if err != nil {
			release()
			return nil, err
		}
		resp.Body = &releasingBody{ReadCloser: resp.Body, release: release}
		return resp, nil
	})
}

// releasingBody releases a request's context when its body is closed.
type releasingBody struct {
	io.ReadCloser
	release func()
}

func (b *releasingBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
