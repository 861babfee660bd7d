package keyless

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/digitorus/timestamp"
	"github.com/go-openapi/strfmt"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	prototrustroot "github.com/sigstore/protobuf-specs/gen/pb-go/trustroot/v1"
	"github.com/sigstore/rekor/pkg/generated/client/entries"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/benchprof/benchprof/envelope"
)

// An in-memory Sigstore for the keyless tests; nothing here touches the
// network or depends on how much wall-clock time passes.
//
// sigstore-go's ca.VirtualSigstore keeps its Fulcio and TSA keys private, so
// it cannot certify the signer's ephemeral key or timestamp its signature.
// The fake therefore builds its own Fulcio and TSA hierarchy with the
// generators of pkg/testing/ca, and uses a VirtualSigstore as the Rekor log:
// its exported RekorSignPayload and GetInclusionProof sign the inclusion
// promise (SET) and the checkpoint, and RekorLogs gives the log's trust.

const (
	testIdentity = "alice@example.com"
	testIssuer   = "https://issuer.example"
	testLogIndex = int64(4242)
)

type fakeSigstore struct {
	now        time.Time // the time of every timestamp and log entry
	vs         *ca.VirtualSigstore
	fulcioCert *x509.Certificate // intermediate that issues leaf certificates
	fulcioKey  *ecdsa.PrivateKey
	tsaLeaf    *x509.Certificate
	tsaKey     *ecdsa.PrivateKey
	root       *root.TrustedRoot
}

func newFakeSigstore(t testing.TB) *fakeSigstore {
	t.Helper()
	f := &fakeSigstore{now: time.Now().Truncate(time.Second)}
	var err error
	if f.vs, err = ca.NewVirtualSigstore(); err != nil {
		t.Fatal(err)
	}
	rootCert, rootKey, err := ca.GenerateRootCa()
	if err != nil {
		t.Fatal(err)
	}
	if f.fulcioCert, f.fulcioKey, err = ca.GenerateFulcioIntermediate(rootCert, rootKey); err != nil {
		t.Fatal(err)
	}
	tsaInter, tsaInterKey, err := ca.GenerateTSAIntermediate(rootCert, rootKey)
	if err != nil {
		t.Fatal(err)
	}
	if f.tsaKey, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if f.tsaLeaf, err = ca.GenerateTSALeafCert(f.now.Add(-5*time.Minute), f.tsaKey, tsaInter, tsaInterKey); err != nil {
		t.Fatal(err)
	}
	// VirtualSigstore gives its log's ID as the hex text of the key ID, which
	// does not survive a trusted_root.json round trip: use the raw key ID.
	logs := f.vs.RekorLogs()
	for id, l := range logs {
		raw, err := hex.DecodeString(id)
		if err != nil {
			t.Fatal(err)
		}
		c := *l
		c.ID = raw
		logs[id] = &c
	}
	f.root, err = root.NewTrustedRoot(root.TrustedRootMediaType01,
		[]root.CertificateAuthority{&root.FulcioCertificateAuthority{
			Root: rootCert, Intermediates: []*x509.Certificate{f.fulcioCert},
			ValidityPeriodStart: f.now.Add(-time.Hour), ValidityPeriodEnd: f.now.Add(time.Hour),
			URI: "https://fulcio.example",
		}},
		nil,
		[]root.TimestampingAuthority{&root.SigstoreTimestampingAuthority{
			Root: rootCert, Intermediates: []*x509.Certificate{tsaInter}, Leaf: f.tsaLeaf,
			ValidityPeriodStart: f.now.Add(-time.Hour), ValidityPeriodEnd: f.now.Add(time.Hour),
			URI: "https://tsa.example",
		}},
		logs)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// leaf describes the certificate the fake Fulcio issues.
type leaf struct {
	identity     string
	uri          bool // identity is a URI SAN, else an email SAN
	issuer       string
	legacyIssuer bool // issuer in extension 1.3.6.1.4.1.57264.1.1, else .1.8
	notBefore    time.Time
	notAfter     time.Time
}

func (f *fakeSigstore) defaultLeaf() leaf {
	return leaf{identity: testIdentity, issuer: testIssuer, notBefore: f.now.Add(-time.Minute), notAfter: f.now.Add(10 * time.Minute)}
}

func (f *fakeSigstore) issue(l leaf, pub crypto.PublicKey) ([]byte, error) {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		NotBefore:    l.notBefore,
		NotAfter:     l.notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
	}
	if l.uri {
		u, err := url.Parse(l.identity)
		if err != nil {
			return nil, err
		}
		tmpl.URIs = []*url.URL{u}
	} else {
		tmpl.EmailAddresses = []string{l.identity}
	}
	if l.legacyIssuer {
		tmpl.ExtraExtensions = []pkix.Extension{{Id: certificate.OIDIssuer, Value: []byte(l.issuer)}} //lint:ignore SA1019 certificates with the legacy issuer extension must still verify
	} else {
		v, err := asn1.MarshalWithParams(l.issuer, "utf8")
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = []pkix.Extension{{Id: certificate.OIDIssuerV2, Value: v}}
	}
	return x509.CreateCertificate(rand.Reader, tmpl, f.fulcioCert, pub, f.fulcioKey)
}

// fakeFulcio is a sign.CertificateProvider that certifies the ephemeral key
// for a fixed identity, once it is shown the expected OIDC token.
type fakeFulcio struct {
	f     *fakeSigstore
	leaf  leaf
	token string
}

func (p *fakeFulcio) GetCertificate(ctx context.Context, kp sign.Keypair, opts *sign.CertificateProviderOptions) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if opts == nil || opts.IDToken != p.token {
		return nil, errors.New("fake Fulcio: wrong or missing OIDC token")
	}
	return p.f.issue(p.leaf, kp.GetPublicKey())
}

// fakeRekor is a Rekor v1 client (sign.RekorClient) that logs entries in
// the VirtualSigstore's log, for use with sign.NewRekor.
type fakeRekor struct{ f *fakeSigstore }

func (r *fakeRekor) CreateLogEntry(params *entries.CreateLogEntryParams, _ ...entries.ClientOption) (*entries.CreateLogEntryCreated, error) {
	ctx := context.Background() // the generated params no longer expose their context
	impl, err := types.CreateVersionedEntry(params.ProposedEntry)
	if err != nil {
		return nil, err
	}
	body, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return nil, err
	}
	logID, err := r.f.vs.RekorLogID()
	if err != nil {
		return nil, err
	}
	b64 := base64.StdEncoding.EncodeToString(body)
	integrated, index := r.f.now.Unix(), testLogIndex
	set, err := r.f.vs.RekorSignPayload(tlog.RekorPayload{Body: b64, IntegratedTime: integrated, LogIndex: index, LogID: logID})
	if err != nil {
		return nil, err
	}
	proof, err := r.f.vs.GetInclusionProof(body)
	if err != nil {
		return nil, err
	}
	entry := models.LogEntryAnon{
		Body: b64, IntegratedTime: &integrated, LogID: &logID, LogIndex: &index,
		Verification: &models.LogEntryAnonVerification{InclusionProof: proof, SignedEntryTimestamp: strfmt.Base64(set)},
	}
	return &entries.CreateLogEntryCreated{ETag: "entry", Payload: models.LogEntry{"entry": entry}}, nil
}

func (r *fakeRekor) GetLogEntryByUUID(*entries.GetLogEntryByUUIDParams, ...entries.ClientOption) (*entries.GetLogEntryByUUIDOK, error) {
	return nil, errors.New("fake Rekor: not implemented")
}

// timestamp answers an RFC 3161 request (the body of a POST) with a
// timestamp at f.now.
func (f *fakeSigstore) timestamp(reqBody []byte) ([]byte, error) {
	req, err := timestamp.ParseRequest(reqBody)
	if err != nil {
		return nil, err
	}
	ts := timestamp.Timestamp{
		HashAlgorithm: req.HashAlgorithm, HashedMessage: req.HashedMessage, Nonce: req.Nonce,
		Time: f.now, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 57264, 2}, ExtraExtensions: req.Extensions,
	}
	return ts.CreateResponseWithOpts(f.tsaLeaf, f.tsaKey, crypto.SHA256)
}

// tsa is a timestamp authority client whose transport is the fake TSA.
func (f *fakeSigstore) tsa() *sign.TimestampAuthority {
	return sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{
		URL: "https://tsa.example/api/v1/timestamp",
		Transport: roundTripFunc(func(req *http.Request) (*http.Response, error) {
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return nil, err
			}
			resp, err := f.timestamp(body)
			if err != nil {
				return nil, err
			}
			return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(resp)), Request: req}, nil
		}),
	})
}

// testJWT returns an unsigned JWT with the claims Fulcio clients read.
func testJWT(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	claims := fmt.Sprintf(`{"iss":%q,"sub":%q,"email":%q,"email_verified":true,"aud":"sigstore","exp":%d}`,
		testIssuer, testIdentity, testIdentity, exp.Unix())
	return enc([]byte(`{"alg":"RS256","typ":"JWT"}`)) + "." + enc([]byte(claims)) + "." + enc([]byte("not a signature"))
}

// verifyWith returns the option that plugs a Verifier made with opts into
// envelope.Verify.
func verifyWith(t testing.TB, opts ...VerifierOption) envelope.VerifyOption {
	t.Helper()
	v, err := NewVerifier(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return envelope.WithMethodVerifier(envelope.MethodSigstore, v)
}

// signer returns a Signer wired to the fake services; extra options
// are appended (a repeated single-value option replaces the default).
func (f *fakeSigstore) signer(t testing.TB, l leaf, extra ...Option) *Signer {
	t.Helper()
	token := testJWT(f.now.Add(time.Hour))
	opts := append([]Option{
		WithIDToken(token),
		WithCertificateProvider(&fakeFulcio{f: f, leaf: l, token: token}),
		WithTransparencyLogs(sign.NewRekor(&sign.RekorOptions{Client: &fakeRekor{f: f}})),
		WithTimestampAuthorities(f.tsa()),
		WithTrustedMaterial(f.root),
	}, extra...)
	s, err := NewSigner(opts...)
	if err != nil {
		t.Fatal(err)
	}
	s.now = func() time.Time { return f.now }
	return s
}

// unsignedEnvelope is the reference's dev-key vector without its signature.
func unsignedEnvelope(t testing.TB) *envelope.Envelope {
	t.Helper()
	e, err := envelope.Load("../testdata/dev-key-vector.signed.json")
	if err != nil {
		t.Fatal(err)
	}
	e.Signature = nil
	return e
}

// reparse writes e in the file format and parses it back, as a verifier
// reading the file would.
func reparse(t testing.TB, e *envelope.Envelope) *envelope.Envelope {
	t.Helper()
	b, err := e.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	p, err := envelope.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keylessSigned(t testing.TB, f *fakeSigstore, l leaf) *envelope.Envelope {
	t.Helper()
	signed, err := envelope.Sign(context.Background(), unsignedEnvelope(t), f.signer(t, l))
	if err != nil {
		t.Fatal(err)
	}
	return reparse(t, signed)
}

func TestKeylessRoundTrip(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	rootFile := filepath.Join(t.TempDir(), "trusted_root.json")
	rootJSON, err := f.root.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rootFile, rootJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	uri := "https://github.com/acme/bench/.github/workflows/bench.yml@refs/heads/main"
	for _, tc := range []struct {
		name         string
		leaf         func(leaf) leaf
		policy       envelope.VerifyOption
		wantIdentity string
		wantIssuer   string
		wantPolicy   string
	}{
		{"email SAN, issuer v2 extension", func(l leaf) leaf { return l },
			envelope.WithIdentity(testIdentity, testIssuer), testIdentity, testIssuer, "an exact identity policy (envelope.WithIdentity)"},
		{"URI SAN, legacy issuer extension", func(l leaf) leaf {
			l.identity, l.uri, l.issuer, l.legacyIssuer = uri, true, "https://token.actions.githubusercontent.com", true
			return l
		}, envelope.WithIdentityRegexp(`https://github\.com/acme/bench/\.github/workflows/[^/]+@refs/heads/main`, "https://token.actions.githubusercontent.com"), uri, "https://token.actions.githubusercontent.com",
			`the identity pattern "https://github\\.com/acme/bench/\\.github/workflows/[^/]+@refs/heads/main" (envelope.WithIdentityRegexp)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			unsigned := unsignedEnvelope(t)
			h, err := unsigned.ContentHash()
			if err != nil {
				t.Fatal(err)
			}
			signed, err := envelope.Sign(ctx, unsigned, f.signer(t, tc.leaf(f.defaultLeaf())))
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			if unsigned.Signature != nil {
				t.Error("Sign modified its input")
			}
			checkKeylessSignature(t, signed.Signature, h)

			e := reparse(t, signed)
			for _, trust := range []struct {
				name string
				opt  envelope.VerifyOption
			}{{"in-memory trusted material", verifyWith(t, WithTrustedMaterial(f.root))}, {"trusted root file", verifyWith(t, WithTrustedRootFile(rootFile))}} {
				r, err := envelope.Verify(ctx, e, trust.opt, tc.policy, envelope.RequireTrusted())
				if err != nil {
					t.Fatalf("%s: Verify: %v", trust.name, err)
				}
				want := envelope.Result{
					OK: true, Method: envelope.MethodSigstore, ContentHash: h,
					Trust: envelope.TrustTrusted, PolicyGiven: true,
					TrustReason:    fmt.Sprintf("identity %q from issuer %q matches %s", tc.wantIdentity, tc.wantIssuer, tc.wantPolicy),
					SignerIdentity: tc.wantIdentity, SignerIssuer: tc.wantIssuer,
					RekorLogIndex: testLogIndex,
				}
				if *r != want {
					t.Errorf("%s: Verify = %+v\nwant %+v", trust.name, *r, want)
				}
			}
		})
	}
}

// checkKeylessSignature checks the signature block against what the
// reference writes and sigstore-python's verify_artifact expects.
func checkKeylessSignature(t *testing.T, sig *envelope.Signature, contentHash string) {
	t.Helper()
	if sig.Method != envelope.MethodSigstore {
		t.Errorf("method = %q", sig.Method)
	}
	if sig.RekorLogIndex != testLogIndex {
		t.Errorf("rekor_log_index = %d; want %d", sig.RekorLogIndex, testLogIndex)
	}
	if strings.TrimSpace(sig.Certificate) != sig.Certificate || !strings.HasPrefix(sig.Certificate, "-----BEGIN CERTIFICATE-----\n") {
		t.Errorf("certificate is not a stripped PEM: %q", sig.Certificate)
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(sig.Bundle)
	if err != nil {
		t.Fatalf("bundle is not standard base64: %v", err)
	}
	var b protobundle.Bundle
	if err := protojson.Unmarshal(raw, &b); err != nil {
		t.Fatalf("bundle is not Sigstore bundle JSON: %v", err)
	}
	if b.GetMediaType() != "application/vnd.dev.sigstore.bundle.v0.3+json" {
		t.Errorf("media type = %q", b.GetMediaType())
	}
	ms := b.GetMessageSignature()
	if ms == nil {
		t.Fatal("bundle has no message signature")
	}
	digest := sha256.Sum256([]byte(contentHash))
	if !bytes.Equal(ms.GetMessageDigest().GetDigest(), digest[:]) || ms.GetMessageDigest().GetAlgorithm().String() != "SHA2_256" {
		t.Errorf("message digest = %s %x; want SHA2_256 over the 64 hex ASCII bytes, %x",
			ms.GetMessageDigest().GetAlgorithm(), ms.GetMessageDigest().GetDigest(), digest)
	}
	block, _ := pem.Decode([]byte(sig.Certificate))
	if block == nil || !bytes.Equal(block.Bytes, b.GetVerificationMaterial().GetCertificate().GetRawBytes()) {
		t.Error("certificate field is not the bundle's leaf certificate")
	}
	tl := b.GetVerificationMaterial().GetTlogEntries()
	if len(tl) != 1 || tl[0].GetLogIndex() != sig.RekorLogIndex || tl[0].GetKindVersion().GetKind() != "hashedrekord" ||
		tl[0].GetInclusionPromise() == nil || tl[0].GetInclusionProof() == nil {
		t.Errorf("tlog entries = %v; want one hashedrekord entry with promise and proof at index %d", tl, sig.RekorLogIndex)
	}
	if n := len(b.GetVerificationMaterial().GetTimestampVerificationData().GetRfc3161Timestamps()); n != 1 {
		t.Errorf("%d RFC 3161 timestamps; want 1", n)
	}
}

// rebundle returns a copy of sig whose bundle JSON is changed by edit.
func rebundle(t testing.TB, sig *envelope.Signature, edit func(*protobundle.Bundle)) *envelope.Signature {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(sig.Bundle)
	if err != nil {
		t.Fatal(err)
	}
	var b protobundle.Bundle
	if err := protojson.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	edit(&b)
	js, err := protojson.Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	s := *sig
	s.Bundle = base64.StdEncoding.EncodeToString(js)
	return &s
}

func TestKeylessVerifyFailures(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	good := keylessSigned(t, f, f.defaultLeaf())

	// expired: a certificate that expired an hour before the log entry and
	// the timestamp. Signer.Sign is called directly, since envelope.Sign (rightly)
	// refuses to return a signature that does not verify.
	expiredLeaf := f.defaultLeaf()
	expiredLeaf.notBefore, expiredLeaf.notAfter = f.now.Add(-3*time.Hour), f.now.Add(-time.Hour)
	expiredSigner := f.signer(t, expiredLeaf)
	if _, err := envelope.Sign(context.Background(), unsignedEnvelope(t), expiredSigner); err == nil {
		t.Error("Sign returned an envelope signed with an expired certificate")
	}
	h, err := good.ContentHash()
	if err != nil {
		t.Fatal(err)
	}
	expiredSig, err := expiredSigner.Sign(context.Background(), h)
	if err != nil {
		t.Fatal(err)
	}

	other := newFakeSigstore(t)
	withCTLogs, err := root.NewTrustedRoot(root.TrustedRootMediaType01, f.root.FulcioCertificateAuthorities(),
		f.vs.CTLogs(), f.root.TimestampingAuthorities(), f.root.RekorLogs())
	if err != nil {
		t.Fatal(err)
	}
	anotherCert := func() string {
		der, err := f.issue(f.defaultLeaf(), f.tsaKey.Public())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	}()

	for _, tc := range []struct {
		name       string
		edit       func(e *envelope.Envelope)
		trust      root.TrustedMaterial // default f.root
		wantReason string               // the Reason, or its prefix when it ends in ": "
		wantIn     string               // and a part of the rest
	}{
		{name: "tampered metric", edit: func(e *envelope.Envelope) { e.Metrics.Set("ttft_p50_ms", envelope.Float(141.0)) },
			wantReason: "Sigstore verification failed: ", wantIn: "failed to verify signature"},
		{name: "tampered suite", edit: func(e *envelope.Envelope) { e.SuiteID = "llm.other" },
			wantReason: "Sigstore verification failed: "},
		{name: "corrupt base64", edit: func(e *envelope.Envelope) { e.Signature.Bundle = "%%%" + e.Signature.Bundle[3:] },
			wantReason: "invalid base64 in signature bundle: "},
		{name: "base64 with a line break", edit: func(e *envelope.Envelope) {
			e.Signature.Bundle = e.Signature.Bundle[:76] + "\n" + e.Signature.Bundle[76:]
		},
			wantReason: "invalid base64 in signature bundle: "},
		{name: "base64 without padding", edit: func(e *envelope.Envelope) {
			e.Signature.Bundle = base64.RawStdEncoding.EncodeToString([]byte(`{"mediaType":"x"}`))
		}, wantReason: "invalid base64 in signature bundle: "},
		{name: "not a bundle", edit: func(e *envelope.Envelope) { e.Signature.Bundle = base64.StdEncoding.EncodeToString([]byte("not json")) },
			wantReason: "failed to parse Sigstore bundle: "},
		{name: "bundle without content", edit: func(e *envelope.Envelope) {
			e.Signature = rebundle(t, e.Signature, func(b *protobundle.Bundle) { b.Content = nil })
		}, wantReason: "failed to parse Sigstore bundle: "},
		{name: "certificate field of another key", edit: func(e *envelope.Envelope) { e.Signature.Certificate = anotherCert },
			wantReason: "signature block certificate does not match the Sigstore bundle's signing certificate"},
		{name: "certificate field not PEM", edit: func(e *envelope.Envelope) { e.Signature.Certificate = "MIIB" },
			wantReason: "invalid certificate PEM in signature block: want exactly one CERTIFICATE block"},
		{name: "expired certificate", edit: func(e *envelope.Envelope) { e.Signature = expiredSig },
			wantReason: "Sigstore verification failed: ", wantIn: "outside certificate validity"},
		{name: "untrusted roots", trust: other.root, wantReason: "Sigstore verification failed: "},
		{name: "no transparency log entry", edit: func(e *envelope.Envelope) {
			e.Signature = rebundle(t, e.Signature, func(b *protobundle.Bundle) { b.VerificationMaterial.TlogEntries = nil })
		}, wantReason: "Sigstore verification failed: ", wantIn: "log"},
		{name: "no trusted timestamp", edit: func(e *envelope.Envelope) {
			e.Signature = rebundle(t, e.Signature, func(b *protobundle.Bundle) {
				b.VerificationMaterial.TimestampVerificationData = nil
				b.VerificationMaterial.TlogEntries[0].InclusionPromise = nil // the integrated time is unsigned then
			})
		}, wantReason: "Sigstore verification failed: ", wantIn: "timestamp"},
		{name: "SCT required by the root's CT logs", trust: withCTLogs,
			wantReason: "Sigstore verification failed: ", wantIn: "signed certificate timestamp"},
		{name: "unsigned", edit: func(e *envelope.Envelope) { e.Signature = nil }, wantReason: "envelope has no signature"},
		{name: "unknown method", edit: func(e *envelope.Envelope) { e.Signature.Method = "pgp" },
			wantReason: "envelope is invalid: ", wantIn: "signature.method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := good.Clone()
			if tc.edit != nil {
				tc.edit(e)
			}
			trust := root.TrustedMaterial(f.root)
			if tc.trust != nil {
				trust = tc.trust
			}
			r, err := envelope.Verify(context.Background(), e, verifyWith(t, WithTrustedMaterial(trust)), envelope.WithIdentityRegexp(".*", testIssuer))
			var ve *envelope.VerificationError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify error = %v; want a *VerificationError", err)
			}
			if errors.Is(err, envelope.ErrUntrusted) || ve.Untrusted {
				t.Errorf("an integrity failure is reported as untrusted: %v", err)
			}
			if r == nil || r.OK || r.Trust != envelope.TrustNone || r.Reason != ve.Reason || r.SignerIdentity != "" {
				t.Errorf("Result = %+v; want a failure with the error's reason", r)
			}
			prefix := strings.HasSuffix(tc.wantReason, ": ")
			if got := ve.Reason; (prefix && !strings.HasPrefix(got, tc.wantReason)) || (!prefix && got != tc.wantReason) || !strings.Contains(got, tc.wantIn) {
				t.Errorf("reason = %q; want %q…%q", got, tc.wantReason, tc.wantIn)
			}
		})
	}
}

func TestKeylessParseRejectsUnknownMethod(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	b, err := keylessSigned(t, f, f.defaultLeaf()).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Replace(b, []byte(`"method": "sigstore-cosign"`), []byte(`"method": "pgp"`), 1)
	if bytes.Equal(bad, b) {
		t.Fatal("no method to replace")
	}
	var ve *envelope.ValidationError
	if _, err := envelope.Parse(bad); !errors.As(err, &ve) || !strings.Contains(err.Error(), "signature.method") {
		t.Errorf("Parse(method pgp) error = %v; want a *ValidationError about signature.method", err)
	}
}

func TestKeylessTrust(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	good := keylessSigned(t, f, f.defaultLeaf())
	good.Signature.RekorLogIndex = 7 // not covered by anything: the bundle's index is reported

	noMatch := fmt.Sprintf("signer untrusted: identity %q from issuer %q matches no identity policy", testIdentity, testIssuer)
	exact := fmt.Sprintf("identity %q from issuer %q matches an exact identity policy (envelope.WithIdentity)", testIdentity, testIssuer)
	pattern := fmt.Sprintf("identity %q from issuer %q matches the identity pattern %q (envelope.WithIdentityRegexp)", testIdentity, testIssuer, `alice@example\.com`)
	const noPolicy = "signer untrusted: no identity policy given (envelope.WithIdentity or envelope.WithIdentityRegexp)"
	for _, tc := range []struct {
		name   string
		opts   []envelope.VerifyOption
		trust  envelope.Trust
		reason string
	}{
		{"no policy", nil, envelope.TrustUntrusted, noPolicy},
		{"only a pinned dev key", []envelope.VerifyOption{envelope.WithTrustedPublicKeys(f.tsaKey.Public())}, envelope.TrustUntrusted, noPolicy},
		{"exact identity", []envelope.VerifyOption{envelope.WithIdentity(testIdentity, testIssuer)}, envelope.TrustTrusted, exact},
		{"whole-identity pattern", []envelope.VerifyOption{envelope.WithIdentityRegexp(`alice@example\.com`, testIssuer)}, envelope.TrustTrusted, pattern},
		{"second policy matches", []envelope.VerifyOption{envelope.WithIdentity("bob@example.com", testIssuer), envelope.WithIdentity(testIdentity, testIssuer)}, envelope.TrustTrusted, exact},
		{"wrong identity", []envelope.VerifyOption{envelope.WithIdentity("bob@example.com", testIssuer)}, envelope.TrustUntrusted, noMatch},
		{"wrong issuer", []envelope.VerifyOption{envelope.WithIdentity(testIdentity, "https://accounts.google.com")}, envelope.TrustUntrusted, noMatch},
		{"issuer is matched exactly", []envelope.VerifyOption{envelope.WithIdentity(testIdentity, testIssuer+"/")}, envelope.TrustUntrusted, noMatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, require := range []bool{false, true} {
				opts := append([]envelope.VerifyOption{verifyWith(t, WithTrustedMaterial(f.root))}, tc.opts...)
				if require {
					opts = append(opts, envelope.RequireTrusted())
				}
				r, err := envelope.Verify(context.Background(), good, opts...)
				if r == nil || !r.OK || r.Trust != tc.trust || r.TrustReason != tc.reason || r.RekorLogIndex != testLogIndex ||
					r.SignerIdentity != testIdentity || r.SignerIssuer != testIssuer || r.Reason != "" {
					t.Errorf("RequireTrusted %v: Result = %+v; want OK, %v, %q", require, r, tc.trust, tc.reason)
				}
				untrustedErr := require && tc.trust != envelope.TrustTrusted
				var ve *envelope.VerificationError
				switch {
				case !untrustedErr && err != nil:
					t.Errorf("RequireTrusted %v: error %v", require, err)
				case untrustedErr && (!errors.Is(err, envelope.ErrUntrusted) || !errors.As(err, &ve) || !ve.Untrusted || ve.Reason != tc.reason):
					t.Errorf("RequireTrusted %v: error = %v; want a *VerificationError wrapping ErrUntrusted with the trust reason", require, err)
				}
			}
		})
	}
}

func TestNewVerifierRejects(t *testing.T) {
	f := newFakeSigstore(t)
	for _, tc := range []struct {
		name string
		opts []VerifierOption
		want string
	}{
		{"empty trusted root path", []VerifierOption{WithTrustedRootFile("")}, "keyless verifier: WithTrustedRootFile: empty path"},
		{"nil trusted material", []VerifierOption{WithTrustedMaterial(nil)}, "keyless verifier: WithTrustedMaterial: the trusted material is nil"},
		{"root file and material", []VerifierOption{WithTrustedRootFile("r.json"), WithTrustedMaterial(f.root)},
			"keyless verifier: WithTrustedRootFile and WithTrustedMaterial both given: use one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := NewVerifier(tc.opts...)
			if err == nil || err.Error() != tc.want {
				t.Errorf("NewVerifier = %v, %v; want the error %q", v, err, tc.want)
			}
		})
	}
}

func TestVerifierTrustedRootFile(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	good := keylessSigned(t, f, f.defaultLeaf())
	dir := t.TempDir()

	missing := filepath.Join(dir, "missing.json")
	_, err := envelope.Verify(context.Background(), good, verifyWith(t, WithTrustedRootFile(missing)))
	var ve *envelope.VerificationError
	if err == nil || errors.As(err, &ve) || !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "sigstore trusted root "+missing) {
		t.Errorf("missing trusted root file: error = %v; want one naming the file and wrapping fs.ErrNotExist, not a *VerificationError", err)
	}

	// The root is read on first use and kept: a Verifier outlives its file.
	rootFile := writeJSON(t, dir, "trusted_root.json", f.root)
	v, err := NewVerifier(WithTrustedRootFile(rootFile))
	if err != nil {
		t.Fatal(err)
	}
	opt := envelope.WithMethodVerifier(envelope.MethodSigstore, v)
	for i := range 2 {
		r, err := envelope.Verify(context.Background(), good, opt, envelope.WithIdentity(testIdentity, testIssuer))
		if err != nil || !r.Trusted() {
			t.Fatalf("Verify #%d = %+v, %v; want trusted", i+1, r, err)
		}
		if err := os.Remove(rootFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

// TestVerifySignatureDirectly: a Verifier reports integrity failures as
// *envelope.VerificationError and never decides trust.
func TestVerifySignatureDirectly(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	good := keylessSigned(t, f, f.defaultLeaf())
	h, err := good.ContentHash()
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(WithTrustedMaterial(f.root))
	if err != nil {
		t.Fatal(err)
	}
	info, err := v.VerifySignature(context.Background(), good.Signature, h)
	if want := (envelope.SignerInfo{Identity: testIdentity, Issuer: testIssuer, RekorLogIndex: testLogIndex}); err != nil || info != want {
		t.Errorf("VerifySignature = %+v, %v; want %+v", info, err, want)
	}
	other := strings.Repeat("0", 64)
	_, err = v.VerifySignature(context.Background(), good.Signature, other)
	var ve *envelope.VerificationError
	if !errors.As(err, &ve) || ve.Method != envelope.MethodSigstore || !strings.HasPrefix(ve.Reason, "Sigstore verification failed: ") {
		t.Errorf("VerifySignature over another hash = %v; want a *VerificationError", err)
	}
}

// TestVerifyWithoutVerifier: package envelope alone cannot verify a keyless
// envelope, and says what to pass.
func TestVerifyWithoutVerifier(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	good := keylessSigned(t, f, f.defaultLeaf())
	r, err := envelope.Verify(context.Background(), good, envelope.WithIdentity(testIdentity, testIssuer))
	var ve *envelope.VerificationError
	if !errors.As(err, &ve) || !errors.Is(err, envelope.ErrNoMethodVerifier) || !strings.Contains(ve.Reason, "keyless.NewVerifier") || r.OK {
		t.Errorf("Verify without a keyless verifier = %+v, %v; want a *VerificationError wrapping ErrNoMethodVerifier", r, err)
	}
}

func TestNewSignerRejects(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	rekor := sign.NewRekor(&sign.RekorOptions{Client: &fakeRekor{f: f}})
	all := []Option{WithCertificateProvider(&fakeFulcio{f: f}), WithTransparencyLogs(rekor), WithTimestampAuthorities(f.tsa())}
	for _, tc := range []struct {
		name string
		opts []Option
		want string
	}{
		{"empty token", []Option{WithIDToken(" ")}, "WithIDToken: the token is empty"},
		{"negative validity", []Option{WithIDTokenMinValidity(-time.Second)}, "WithIDTokenMinValidity: negative"},
		{"empty signing config path", []Option{WithSigningConfigFile("")}, "WithSigningConfigFile: empty path"},
		{"empty trusted root path", []Option{WithTrustedRootFile("")}, "WithTrustedRootFile: empty path"},
		{"nil trusted material", []Option{WithTrustedMaterial(nil)}, "WithTrustedMaterial: the trusted material is nil"},
		{"root file and material", []Option{WithTrustedRootFile("r.json"), WithTrustedMaterial(f.root)}, "both given"},
		{"nil provider", []Option{WithCertificateProvider(nil)}, "WithCertificateProvider: the provider is nil"},
		{"no logs", []Option{WithTransparencyLogs()}, "WithTransparencyLogs: a log is nil or none was given"},
		{"nil log", []Option{WithTransparencyLogs(rekor, nil)}, "WithTransparencyLogs: a log is nil"},
		{"no authorities", []Option{WithTimestampAuthorities()}, "WithTimestampAuthorities: an authority is nil or none"},
		{"unused signing config", append([]Option{WithSigningConfigFile("sc.json")}, all...), "WithSigningConfigFile is unused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := NewSigner(tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewSigner = %v, %v; want an error containing %q", s, err, tc.want)
			}
		})
	}
	// Two problems are reported together.
	_, err := NewSigner(WithIDToken(""), WithSigningConfigFile(""))
	if err == nil || !strings.Contains(err.Error(), "WithIDToken") || !strings.Contains(err.Error(), "WithSigningConfigFile") {
		t.Errorf("two invalid options: error = %v; want both reported", err)
	}
}

// writeJSON writes v's JSON (via its MarshalJSON) into dir/name.
func writeJSON(t testing.TB, dir, name string, v json.Marshaler) string {
	t.Helper()
	b, err := v.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// signingConfig returns a signing config naming the given Fulcio and TSA
// URLs (and a Rekor v1 log that the tests replace by the fake one).
func signingConfig(t testing.TB, since time.Time, fulcioURL, tsaURL string) *root.SigningConfig {
	t.Helper()
	svc := func(u string) []root.Service {
		if u == "" {
			return nil
		}
		return []root.Service{{URL: u, MajorAPIVersion: 1, ValidityPeriodStart: since, Operator: "example"}}
	}
	anyOne := root.ServiceConfiguration{Selector: prototrustroot.ServiceSelector_ANY}
	sc, err := root.NewSigningConfig(root.SigningConfigMediaType02, svc(fulcioURL), nil,
		svc("https://rekor.example"), anyOne, svc(tsaURL), anyOne)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func TestKeylessReady(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	dir := t.TempDir()
	rootFile := writeJSON(t, dir, "trusted_root.json", f.root)
	scFile := writeJSON(t, dir, "signing_config.json", signingConfig(t, f.now.Add(-time.Hour), "https://fulcio.example", "https://tsa.example/api/v1/timestamp"))
	noFulcioFile := writeJSON(t, dir, "no_fulcio.json", signingConfig(t, f.now.Add(-time.Hour), "", ""))
	missing := filepath.Join(dir, "missing.json")
	valid, expired := testJWT(f.now.Add(time.Hour)), testJWT(f.now.Add(-time.Minute))
	rekor := sign.NewRekor(&sign.RekorOptions{Client: &fakeRekor{f: f}})
	injected := []Option{WithCertificateProvider(&fakeFulcio{f: f}), WithTransparencyLogs(rekor),
		WithTimestampAuthorities(f.tsa()), WithTrustedMaterial(f.root)}

	for _, tc := range []struct {
		name     string
		env      string // SIGSTORE_ID_TOKEN
		opts     []Option
		wantIs   error
		wantIn   []string
		wantSign bool // envelope.Sign fails with the same sentinel
	}{
		{name: "all injected", opts: append([]Option{WithIDToken(valid)}, injected...)},
		{name: "token from the environment", env: valid, opts: injected},
		{name: "files", opts: []Option{WithIDToken(valid), WithSigningConfigFile(scFile), WithTrustedRootFile(rootFile)}},
		{name: "no token", opts: injected, wantIs: ErrNoIDToken, wantIn: []string{"SIGSTORE_ID_TOKEN", "dev"}, wantSign: true},
		{name: "expired token", opts: append([]Option{WithIDToken(expired)}, injected...), wantIs: ErrIDTokenExpired, wantSign: true},
		{name: "token expires before the run ends", opts: append([]Option{WithIDToken(valid), WithIDTokenMinValidity(2 * time.Hour)}, injected...),
			wantIs: ErrIDTokenExpired, wantIn: []string{"must stay valid for 2h0m0s"}},
		{name: "token is not a JWT", opts: append([]Option{WithIDToken("opaque-token")}, injected...), wantIn: []string{"not a JWT"}},
		{name: "token without exp", opts: append([]Option{WithIDToken("e30.e30.c2ln")}, injected...), wantIn: []string{"no exp claim"}},
		{name: "missing files", opts: []Option{WithIDToken(valid), WithSigningConfigFile(missing), WithTrustedRootFile(missing)},
			wantIn: []string{"signing config " + missing, "trusted root " + missing}},
		{name: "signing config without Fulcio", opts: []Option{WithIDToken(valid), WithSigningConfigFile(noFulcioFile), WithTrustedRootFile(rootFile)},
			wantIn: []string{"no usable Fulcio"}},
		{name: "every problem at once", opts: []Option{WithSigningConfigFile(missing), WithTrustedRootFile(rootFile)},
			wantIs: ErrNoIDToken, wantIn: []string{"signing config " + missing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(IDTokenEnv, tc.env)
			s, err := NewSigner(tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			s.now = func() time.Time { return f.now }
			err = s.Ready(context.Background())
			if tc.wantIs == nil && tc.wantIn == nil {
				if err != nil {
					t.Errorf("Ready: %v", err)
				}
				return
			}
			if err == nil || (tc.wantIs != nil && !errors.Is(err, tc.wantIs)) {
				t.Errorf("Ready = %v; want an error wrapping %v", err, tc.wantIs)
			}
			for _, w := range tc.wantIn {
				if err != nil && !strings.Contains(err.Error(), w) {
					t.Errorf("Ready = %v; want it to mention %q", err, w)
				}
			}
			if err != nil && strings.Contains(err.Error(), valid) {
				t.Error("the error leaks the token")
			}
			if tc.wantSign {
				_, err := envelope.Sign(context.Background(), unsignedEnvelope(t), s)
				if !errors.Is(err, tc.wantIs) {
					t.Errorf("Sign = %v; want an error wrapping %v", err, tc.wantIs)
				}
			}
		})
	}
}

// fulcioServer serves the Fulcio v2 signingCert API (what sign.Fulcio
// calls) and an RFC 3161 endpoint at /tsa, for the signing-config path.
func (f *fakeSigstore) server(t testing.TB, l leaf, token string, block func(*http.Request)) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v2/signingCert", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			PublicKeyRequest struct {
				PublicKey struct{ Content string } `json:"publicKey"`
			} `json:"publicKeyRequest"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if block != nil {
			block(r) // after reading the body, so the server notices a closed connection
		}
		if r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, "bad token", http.StatusUnauthorized)
			return
		}
		blk, _ := pem.Decode([]byte(req.PublicKeyRequest.PublicKey.Content))
		if blk == nil {
			http.Error(w, "no public key", http.StatusBadRequest)
			return
		}
		pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		der, err := f.issue(l, pub)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		chain := []string{
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
			string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: f.fulcioCert.Raw})),
		}
		resp := map[string]any{"signedCertificateEmbeddedSct": map[string]any{"chain": map[string]any{"certificates": chain}}}
		_ = json.NewEncoder(w).Encode(resp)
	})
	mux.HandleFunc("POST /tsa", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := f.timestamp(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(resp)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		srv.Close()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	})
	return srv
}

// TestKeylessSignerSigningConfig signs through the clients built from a
// signing configuration (sigstore-go's Fulcio and TSA clients, behind the
// context-binding transport), against local HTTP servers.
func TestKeylessSignerSigningConfig(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	token := testJWT(f.now.Add(time.Hour))
	newSigner := func(t *testing.T, srv *httptest.Server) *Signer {
		scFile := writeJSON(t, t.TempDir(), "signing_config.json", signingConfig(t, f.now.Add(-time.Hour), srv.URL, srv.URL+"/tsa"))
		s, err := NewSigner(WithIDToken(token), WithSigningConfigFile(scFile),
			WithTransparencyLogs(sign.NewRekor(&sign.RekorOptions{Client: &fakeRekor{f: f}})),
			WithTrustedMaterial(f.root))
		if err != nil {
			t.Fatal(err)
		}
		s.now = func() time.Time { return f.now }
		return s
	}

	t.Run("round trip", func(t *testing.T) {
		srv := f.server(t, f.defaultLeaf(), token, nil)
		s := newSigner(t, srv)
		if err := s.Ready(context.Background()); err != nil {
			t.Fatalf("Ready: %v", err)
		}
		signed, err := envelope.Sign(context.Background(), unsignedEnvelope(t), s)
		if err != nil {
			t.Fatalf("Sign: %v", err)
		}
		h, _ := signed.ContentHash()
		checkKeylessSignature(t, signed.Signature, h)
		r, err := envelope.Verify(context.Background(), reparse(t, signed), verifyWith(t, WithTrustedMaterial(f.root)), envelope.WithIdentity(testIdentity, testIssuer))
		if err != nil || !r.Trusted() {
			t.Errorf("Verify = %+v, %v; want trusted", r, err)
		}
	})

	t.Run("cancelled while Fulcio answers", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		srv := f.server(t, f.defaultLeaf(), token, func(r *http.Request) {
			cancel()
			select {
			case <-r.Context().Done(): // the client gave up and closed the connection
			case <-time.After(10 * time.Second):
			}
		})
		start := time.Now()
		_, err := envelope.Sign(ctx, unsignedEnvelope(t), newSigner(t, srv))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Sign = %v; want an error wrapping context.Canceled", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("Sign took %s after its context was cancelled", d)
		}
	})
}
