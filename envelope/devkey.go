package envelope

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/encrypted"

	"github.com/benchprof/benchprof/envelope/internal/boundedfile"
)

// PasswordEnv is the environment variable that holds the password of an
// encrypted cosign/Sigstore private key, as cosign reads it.
const PasswordEnv = "COSIGN_PASSWORD"

// DefaultDevKeyPath is the dev key the reference falls back to: ./cosign.key.
const DefaultDevKeyPath = "cosign.key"

// DevSigner signs in the reference's dev mode (FACTS §3.1): ed25519 over the
// ASCII hex content hash, the public key embedded as the certificate. It is
// safe for concurrent use.
type DevSigner struct {
	key ed25519.PrivateKey
}

var _ Signer = (*DevSigner)(nil)

// NewDevSigner returns a signer for an ed25519 private key.
func NewDevSigner(key ed25519.PrivateKey) (*DevSigner, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("dev signer: ed25519 private key must be %d bytes, got %d", ed25519.PrivateKeySize, len(key))
	}
	return &DevSigner{key: key}, nil
}

// LoadDevSigner reads a dev signing key file: an unencrypted PKCS#8 PEM
// ("PRIVATE KEY", as keygen and the reference write), or an encrypted
// cosign/Sigstore key ("ENCRYPTED SIGSTORE PRIVATE KEY", legacy "ENCRYPTED
// COSIGN PRIVATE KEY") whose password is in $COSIGN_PASSWORD. The key must
// be ed25519; any other type is refused with a hint on making one. The
// path must name a regular file of at most [MaxKeyFileSize] bytes.
func LoadDevSigner(path string) (*DevSigner, error) {
	data, err := readBounded(path, MaxKeyFileSize, devKeyFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("dev signing key not found: %s; create one with `bench keygen %s`", path, path)
	}
	if err != nil {
		return nil, fmt.Errorf("dev signing key %s: %w", path, err)
	}
	key, err := parseDevKey(data, os.Getenv(PasswordEnv))
	if err != nil {
		return nil, fmt.Errorf("dev signing key %s: %w", path, err)
	}
	return NewDevSigner(key)
}

// PEM block types of encrypted cosign/Sigstore private keys: scrypt and
// NaCl secretbox over a PKCS#8 key, as cosign writes them
// (go-securesystemslib's encrypted format).
const (
	encryptedSigstoreKeyPEM = "ENCRYPTED SIGSTORE PRIVATE KEY"
	encryptedCosignKeyPEM   = "ENCRYPTED COSIGN PRIVATE KEY" // cosign before 2.0
)

func parseDevKey(data []byte, password string) (ed25519.PrivateKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("not a PEM file; expected an ed25519 PKCS#8 key (`bench keygen PATH` makes one)")
	}
	var k any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case encryptedSigstoreKeyPEM, encryptedCosignKeyPEM:
		if password == "" {
			return nil, fmt.Errorf("the key is encrypted: set %s to its password", PasswordEnv)
		}
		var der []byte
		if der, err = encrypted.Decrypt(block.Bytes, []byte(password)); err == nil {
			k, err = x509.ParsePKCS8PrivateKey(der)
		}
		if err != nil {
			return nil, fmt.Errorf("decrypt with %s: %w", PasswordEnv, err)
		}
	default:
		return nil, fmt.Errorf("unsupported PEM block %q; expected an ed25519 key in PKCS#8 (\"PRIVATE KEY\") or a cosign/Sigstore encrypted key; `bench keygen PATH` makes one", block.Type)
	}
	if err != nil {
		return nil, err
	}
	switch k := k.(type) {
	case ed25519.PrivateKey:
		return k, nil
	case *ed25519.PrivateKey:
		return *k, nil
	default:
		return nil, fmt.Errorf("expected ed25519 private key, got %s; make one with `bench keygen PATH` (or `openssl genpkey -algorithm ed25519 -out PATH`)", keyTypeName(k))
	}
}

// keyTypeName names a key's algorithm for error messages.
func keyTypeName(k any) string {
	switch k.(type) {
	case *rsa.PrivateKey, *rsa.PublicKey:
		return "RSA"
	case *ecdsa.PrivateKey, *ecdsa.PublicKey:
		return "ECDSA"
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return "ECDH"
	}
	return fmt.Sprintf("%T", k)
}

// Public returns the signer's public key.
func (s *DevSigner) Public() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// Sign signs the ASCII hex content hash. The Signature is byte-exact with the
// reference's: method "dev-key", the SPKI PEM without its trailing newline
// as the certificate, the base64 (standard, padded) signature as the bundle,
// and rekor_log_index -1.
func (s *DevSigner) Sign(ctx context.Context, contentHash string) (*Signature, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !isHex64(contentHash) {
		return nil, fmt.Errorf("dev signer: %q is not a 64-hex content hash", contentHash)
	}
	cert, err := publicKeyPEM(s.Public())
	if err != nil {
		return nil, err
	}
	sig := ed25519.Sign(s.key, []byte(contentHash))
	return &Signature{
		Method:        MethodDevKey,
		Certificate:   strings.TrimSpace(string(cert)),
		RekorLogIndex: -1,
		Bundle:        base64.StdEncoding.EncodeToString(sig),
		Extra:         &Object{},
	}, nil
}

func publicKeyPEM(pub crypto.PublicKey) ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

// PublicKeyPath returns where GenerateKeyPair puts the public key for a
// private key path, as the reference names it: "cosign.key" → "cosign.pub",
// any path not ending in ".key" → "<path>.pub".
func PublicKeyPath(privatePath string) string {
	if strings.HasSuffix(privatePath, ".key") {
		return strings.TrimSuffix(privatePath, ".key") + ".pub"
	}
	return privatePath + ".pub"
}

// GenerateKeyPair writes a new ed25519 key pair: the private key as
// unencrypted PKCS#8 PEM at privatePath (mode 0600) and the public key as
// SubjectPublicKeyInfo PEM at PublicKeyPath(privatePath) (mode 0644). It
// never overwrites: if either file exists it fails with an error wrapping
// os.ErrExist and writes nothing. It returns the public key path.
func GenerateKeyPair(privatePath string) (string, error) {
	pubPath := PublicKeyPath(privatePath)
	for _, p := range []string{privatePath, pubPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", fmt.Errorf("keygen: %s: %w; refusing to overwrite a key", p, os.ErrExist)
		}
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	pubPEM, err := publicKeyPEM(pub)
	if err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	if err := createExclusive(privatePath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return "", fmt.Errorf("keygen: %w", err)
	}
	if err := createExclusive(pubPath, pubPEM, 0o644); err != nil {
		_ = os.Remove(privatePath)
		return "", fmt.Errorf("keygen: %w", err)
	}
	return pubPath, nil
}

// createExclusive creates path with O_EXCL, so an existing file is never
// replaced, and removes it again if the write fails.
func createExclusive(path string, data []byte, perm os.FileMode) error {
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Chmod(perm) // umask must not loosen or tighten the documented modes
	}
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		_ = os.Remove(path)
	}
	return werr
}

// ParsePublicKey reads a PEM SubjectPublicKeyInfo public key, the format of
// keygen's .pub files and of a dev-key envelope's certificate.
func ParsePublicKey(pemData []byte) (crypto.PublicKey, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("no PEM block found")
	}
	return x509.ParsePKIXPublicKey(block.Bytes)
}

// KeyFingerprint returns "SHA256:" and the unpadded base64 SHA-256 of the
// key's DER SubjectPublicKeyInfo, the form ssh-keygen -l prints.
func KeyFingerprint(pub crypto.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return ""
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// devKeyFile and publicKeyFile describe key files for readBounded's messages.
var (
	devKeyFile    = fileKind{What: "a key file", Hint: "pass the path of a PEM private key file"}
	publicKeyFile = fileKind{What: "a key file", Hint: "pass a PEM public key file or a directory of .pub files"}
)

// loadPinnedKeys reads the keys of WithTrustedKeys (files, or directories of
// *.pub files) and WithTrustedPublicKeys, each with a label for messages.
func (c *verifyConfig) loadPinnedKeys() ([]pinnedKey, error) {
	var keys []pinnedKey
	for i, k := range c.keys {
		keys = append(keys, pinnedKey{key: k, label: fmt.Sprintf("pinned key #%d", i+1)})
	}
	for _, p := range c.keyPaths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("trusted key %s: %w", p, boundedfile.PathErrCause(err))
		}
		files := []string{p}
		if fi.IsDir() {
			files, err = filepath.Glob(filepath.Join(p, "*.pub"))
			if err != nil {
				return nil, fmt.Errorf("trusted key directory %s: %w", p, err)
			}
			if len(files) == 0 {
				return nil, fmt.Errorf("trusted key directory %s holds no *.pub files", p)
			}
			sort.Strings(files)
		}
		for _, f := range files {
			data, err := readBounded(f, MaxKeyFileSize, publicKeyFile)
			if err != nil {
				return nil, fmt.Errorf("trusted key %s: %w", f, err)
			}
			k, err := ParsePublicKey(data)
			if err != nil {
				return nil, fmt.Errorf("trusted key %s: not a PEM public key: %w", f, err)
			}
			keys = append(keys, pinnedKey{key: k, label: f})
		}
	}
	return keys, nil
}

type pinnedKey struct {
	key   crypto.PublicKey
	label string
}

// verifyDevKey checks a dev-key signature block against the content hash h
// with the reference's steps and reason strings (FACTS §3.3), then matches
// the embedded key against the pinned keys.
func verifyDevKey(sig *Signature, h string, c *verifyConfig, r *Result) error {
	pinned, err := c.loadPinnedKeys()
	if err != nil {
		return err
	}
	pub, err := ParsePublicKey([]byte(sig.Certificate))
	if err != nil {
		r.fail("invalid certificate (public key) PEM: " + escapeControls(err.Error()))
		return nil
	}
	edPub, ok := pub.(ed25519.PublicKey)
	if !ok {
		r.fail(fmt.Sprintf("expected ed25519 public key, got %s", keyTypeName(pub)))
		return nil
	}
	raw, err := decodeBase64Validate(sig.Bundle)
	if err != nil {
		r.fail("invalid base64 in signature bundle: " + err.Error())
		return nil
	}
	if len(raw) != ed25519.SignatureSize || !ed25519.Verify(edPub, []byte(h), raw) {
		r.fail("signature does not match envelope content_hash (tampered or wrong key)")
		return nil
	}
	r.OK = true
	r.SignerKey = KeyFingerprint(edPub)
	r.Trust = TrustUntrusted
	for _, p := range pinned {
		if pk, ok := p.key.(ed25519.PublicKey); ok && bytes.Equal(pk, edPub) {
			r.Trust = TrustTrusted
			r.TrustReason = "signing key " + r.SignerKey + " matches " + escapeControls(p.label)
			return nil
		}
	}
	if len(pinned) == 0 {
		r.TrustReason = "signer untrusted: the signature is checked only against the key embedded in the envelope; no key is pinned (envelope.WithTrustedKeys or envelope.WithTrustedPublicKeys)"
	} else {
		r.TrustReason = "signer untrusted: signing key " + r.SignerKey + " matches none of the pinned keys"
	}
	return nil
}

// decodeBase64Validate decodes standard padded base64 as Python's
// base64.b64decode(s, validate=True): characters outside the alphabet
// (line breaks included) and bad padding are errors.
func decodeBase64Validate(s string) ([]byte, error) {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return nil, base64.CorruptInputError(i)
	}
	return base64.StdEncoding.DecodeString(s)
}
