package envelope

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
)

type devKeyVector struct {
	FingerprintBodySHA256 string    `json:"fingerprint_body_sha256"`
	CanonicalJSON         string    `json:"canonical_json"`
	ContentHash           string    `json:"content_hash"`
	Signature             Signature `json:"-"`
	RawSignature          struct {
		Method        string `json:"method"`
		Certificate   string `json:"certificate"`
		RekorLogIndex int64  `json:"rekor_log_index"`
		Bundle        string `json:"bundle"`
	} `json:"signature"`
}

func loadEnvelope(t testing.TB, path string) *Envelope {
	t.Helper()
	e, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestDevKeyVector reproduces the reference's fixed-key signing vector:
// canonical bytes, hash, signature bytes and certificate string.
func TestDevKeyVector(t *testing.T) {
	var want devKeyVector
	raw, err := os.ReadFile("testdata/dev-key-vector.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	signed := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
	if got, _ := signed.HardwareFingerprint.Compute(); got != want.FingerprintBodySHA256 {
		t.Errorf("fingerprint = %s; want %s", got, want.FingerprintBodySHA256)
	}
	unsigned := signed.Clone()
	unsigned.Signature = nil
	canon, err := unsigned.CanonicalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want.CanonicalJSON, string(canon)); diff != "" {
		t.Errorf("canonical JSON (-want +got):\n%s", diff)
	}
	signer, err := LoadDevSigner("testdata/dev-key-vector.key")
	if err != nil {
		t.Fatal(err)
	}
	got, err := Sign(context.Background(), unsigned, signer)
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := got.ContentHash(); h != want.ContentHash {
		t.Errorf("content hash = %s; want %s", h, want.ContentHash)
	}
	gotSig := got.Signature
	if gotSig.Method != want.RawSignature.Method || gotSig.Certificate != want.RawSignature.Certificate ||
		gotSig.Bundle != want.RawSignature.Bundle || gotSig.RekorLogIndex != want.RawSignature.RekorLogIndex {
		t.Errorf("signature = %+v; want %+v", *gotSig, want.RawSignature)
	}
	// The whole signed file is byte-identical to the reference's.
	file, err := got.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	wantFile, _ := os.ReadFile("testdata/dev-key-vector.signed.json")
	if diff := cmp.Diff(string(wantFile), string(file)); diff != "" {
		t.Errorf("signed file (-want +got):\n%s", diff)
	}
}

// TestVerifyCorpus: every reference envelope is intact; the marathon ones
// are trusted under the published key, the others untrusted; one changed
// metric breaks verification with a reason.
func TestVerifyCorpus(t *testing.T) {
	dir := filepath.Join(sharedDir(t), "envelopes")
	paths, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	pub := filepath.Join(sharedDir(t), "trust", "cosign-2026-05-18-marathon.pub")
	ctx := context.Background()
	for _, path := range paths {
		t.Run(filepath.Base(path), func(t *testing.T) {
			e := loadEnvelope(t, path)
			r, err := Verify(ctx, e, WithTrustedKeys(pub))
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			wantTrusted := strings.HasPrefix(filepath.Base(path), "2026-05-18-multi-vendor-marathon_")
			if r.Trusted() != wantTrusted {
				t.Errorf("trusted = %v (%s); want %v", r.Trusted(), r.TrustReason, wantTrusted)
			}
			for _, k := range e.Metrics.Keys() {
				v, _ := e.Metrics.Get(k)
				f, ok := v.AsFloat64()
				if !ok {
					continue
				}
				bad := e.Clone()
				bad.Metrics.Set(k, Float(f*1.0000001+1e-9))
				r, err := Verify(ctx, bad, WithTrustedKeys(pub))
				var ve *VerificationError
				if !errors.As(err, &ve) || r.OK || !strings.Contains(ve.Reason, "tampered") {
					t.Fatalf("changing %s: Verify = %+v, %v; want a tamper failure", k, r, err)
				}
			}
		})
	}
}

func TestVerifyDevKeyFailures(t *testing.T) {
	ctx := context.Background()
	base := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
	otherPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecPEM, _ := publicKeyPEM(ecKey.Public())
	keyDir := t.TempDir() // a trust directory holding the vector's public key
	if err := os.WriteFile(filepath.Join(keyDir, "vector.pub"), []byte(base.Signature.Certificate+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(*Envelope)
		opts   []VerifyOption
		reason string // substring of the failure reason; "" = intact
		trust  Trust
	}{
		{name: "intact, no policy", trust: TrustUntrusted},
		{name: "intact, pinned directory", opts: []VerifyOption{WithTrustedKeys(keyDir)}, trust: TrustTrusted},
		{name: "intact, other key pinned", opts: []VerifyOption{WithTrustedPublicKeys(otherPub)}, trust: TrustUntrusted},
		{name: "unsigned", mutate: func(e *Envelope) { e.Signature = nil }, reason: "envelope has no signature"},
		{name: "tampered seed", mutate: func(e *Envelope) { e.Seed = 43 }, reason: "does not match envelope content_hash"},
		{name: "corrupt base64", mutate: func(e *Envelope) { e.Signature.Bundle = "!!!" + e.Signature.Bundle[3:] }, reason: "invalid base64 in signature bundle"},
		{name: "base64 with newline", mutate: func(e *Envelope) { e.Signature.Bundle = e.Signature.Bundle[:10] + "\n" + e.Signature.Bundle[10:] }, reason: "invalid base64"},
		{name: "bad PEM", mutate: func(e *Envelope) { e.Signature.Certificate = "not a key" }, reason: "invalid certificate (public key) PEM"},
		{name: "ECDSA key", mutate: func(e *Envelope) { e.Signature.Certificate = strings.TrimSpace(string(ecPEM)) }, reason: "expected ed25519 public key, got ECDSA"},
		{name: "unknown method", mutate: func(e *Envelope) { e.Signature.Method = "pgp" }, reason: "pgp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := base.Clone()
			if tt.mutate != nil {
				tt.mutate(e)
			}
			r, err := Verify(ctx, e, tt.opts...)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if r.Trust != tt.trust {
					t.Fatalf("trust = %v (%s); want %v", r.Trust, r.TrustReason, tt.trust)
				}
				return
			}
			var ve *VerificationError
			if !errors.As(err, &ve) {
				t.Fatalf("Verify error = %v; want a *VerificationError", err)
			}
			if !strings.Contains(ve.Reason, tt.reason) || r.OK || r.Trust != TrustNone {
				t.Fatalf("reason = %q, result %+v; want a failure containing %q", ve.Reason, r, tt.reason)
			}
		})
	}
}

func TestRequireTrusted(t *testing.T) {
	e := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
	r, err := Verify(context.Background(), e, RequireTrusted())
	if !errors.Is(err, ErrUntrusted) {
		t.Fatalf("Verify = %v; want ErrUntrusted", err)
	}
	if !r.OK || r.Trust != TrustUntrusted {
		t.Fatalf("result = %+v; want intact and untrusted", r)
	}
	if _, err := Verify(context.Background(), e, WithTrustedKeys("testdata/no-such.pub")); err == nil || errors.As(err, new(*VerificationError)) {
		t.Fatalf("missing trusted key file: err = %v; want a plain error", err)
	}
}

func TestSignRefusesSigned(t *testing.T) {
	e := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
	s, err := LoadDevSigner("testdata/dev-key-vector.key")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Sign(context.Background(), e, s); !errors.Is(err, ErrAlreadySigned) {
		t.Fatalf("Sign(signed) = %v; want ErrAlreadySigned", err)
	}
}

func TestLoadDevSigner(t *testing.T) {
	dir := t.TempDir()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	encDER, err := cryptoutils.MarshalPrivateKeyToEncryptedDER(priv, cryptoutils.StaticPasswordFunc([]byte("s3cret")))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	encSigstore := write("enc.key", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED SIGSTORE PRIVATE KEY", Bytes: encDER}))
	encCosign := write("legacy.key", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED COSIGN PRIVATE KEY", Bytes: encDER}))
	ecPath := write("ec.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	tests := []struct {
		name, path, password, wantErr string
	}{
		{name: "pkcs8", path: "testdata/dev-key-vector.key"},
		{name: "sigstore encrypted", path: encSigstore, password: "s3cret"},
		{name: "legacy cosign encrypted", path: encCosign, password: "s3cret"},
		{name: "encrypted, no password", path: encSigstore, wantErr: "set COSIGN_PASSWORD"},
		{name: "encrypted, wrong password", path: encSigstore, password: "nope", wantErr: "decrypt with COSIGN_PASSWORD"},
		{name: "ECDSA", path: ecPath, wantErr: "expected ed25519 private key, got ECDSA"},
		{name: "missing", path: filepath.Join(dir, "none.key"), wantErr: "not found"},
		{name: "not PEM", path: "testdata/dev-key-vector.json", wantErr: "not a PEM file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(PasswordEnv, tt.password)
			s, err := LoadDevSigner(tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("LoadDevSigner = %v; want an error naming %s and containing %q", err, tt.path, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Sign(context.Background(), strings.Repeat("ab", 32)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestGenerateKeyPair(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ priv, pub string }{
		{filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub")},
		{filepath.Join(dir, "sub", "mykey"), filepath.Join(dir, "sub", "mykey.pub")},
	}
	for _, tt := range tests {
		pub, err := GenerateKeyPair(tt.priv)
		if err != nil {
			t.Fatal(err)
		}
		if pub != tt.pub {
			t.Errorf("public key path = %s; want %s", pub, tt.pub)
		}
		for path, mode := range map[string]os.FileMode{tt.priv: 0o600, tt.pub: 0o644} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != mode {
				t.Errorf("%s mode = %v; want %v", path, fi.Mode().Perm(), mode)
			}
		}
		s, err := LoadDevSigner(tt.priv)
		if err != nil {
			t.Fatal(err)
		}
		e := loadEnvelope(t, "testdata/dev-key-vector.signed.json")
		e.Signature = nil
		signed, err := Sign(context.Background(), e, s)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := Verify(context.Background(), signed, WithTrustedKeys(tt.pub)); err != nil || !r.Trusted() {
			t.Fatalf("Verify with the generated key = %+v, %v", r, err)
		}
		before, _ := os.ReadFile(tt.priv)
		if _, err := GenerateKeyPair(tt.priv); !errors.Is(err, os.ErrExist) {
			t.Errorf("second GenerateKeyPair = %v; want os.ErrExist", err)
		}
		if after, _ := os.ReadFile(tt.priv); string(after) != string(before) {
			t.Error("GenerateKeyPair overwrote an existing key")
		}
	}
	// Only the public file existing also blocks, and writes nothing.
	lone := filepath.Join(dir, "lone.key")
	os.WriteFile(PublicKeyPath(lone), []byte("x"), 0o644)
	if _, err := GenerateKeyPair(lone); !errors.Is(err, os.ErrExist) {
		t.Fatalf("GenerateKeyPair with an existing .pub = %v; want os.ErrExist", err)
	}
	if _, err := os.Stat(lone); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("private key written despite the refusal")
	}
}
