package envelope

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/sign"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"google.golang.org/protobuf/encoding/protojson"
)

// IDTokenEnv is the environment variable [NewKeylessSigner] reads the OIDC
// identity token from when [WithIDToken] is not used, as the reference does.
const IDTokenEnv = "SIGSTORE_ID_TOKEN"

// Timeouts of single requests to the Sigstore services a KeylessSigner
// finds in the signing configuration (the ctx given to Sign bounds the whole
// signing).
const (
	fulcioTimeout = 30 * time.Second
	rekorTimeout  = 90 * time.Second
	tsaTimeout    = 30 * time.Second
)

// ErrNoIDToken is returned (wrapped) by [KeylessSigner.Sign] and
// [KeylessSigner.Ready] when there is no OIDC identity token.
var ErrNoIDToken = errors.New("no OIDC identity token for Sigstore keyless signing: set " + IDTokenEnv +
	" to an identity token that Fulcio accepts (in GitHub Actions, grant the job `id-token: write` and request a token" +
	" for the audience \"sigstore\"), or sign in dev mode with a dev key instead")

// ErrIDTokenExpired is returned (wrapped) by [KeylessSigner.Sign] and
// [KeylessSigner.Ready] when the OIDC identity token has expired, or by
// Ready when it expires sooner than [WithIDTokenMinValidity] requires.
var ErrIDTokenExpired = errors.New("the OIDC identity token has expired or expires too soon")

// KeylessSigner signs envelopes with Sigstore keyless signing (FACTS §3.2):
// a fresh ECDSA P-256 key signs the 64 ASCII bytes of the content hash (a
// message signature, as sigstore-python's sign_artifact makes), Fulcio
// certifies the key for the identity in the OIDC token, Rekor logs the
// signature and a timestamp authority timestamps it. The Signature carries
// the whole Sigstore bundle.
//
// A KeylessSigner is safe for concurrent use (provided the injected service
// implementations are). The signing configuration and trusted material it
// loads (from files or TUF) are loaded once, on first use, and kept.
type KeylessSigner struct {
	cfg keylessConfig
	now func() time.Time

	mu sync.Mutex
	sc *root.SigningConfig  // nil until loaded, or when not needed
	tm root.TrustedMaterial // nil until loaded
}

var (
	_ Signer       = (*KeylessSigner)(nil)
	_ selfVerifier = (*KeylessSigner)(nil)
)

// KeylessOption configures [NewKeylessSigner]. Options only record values;
// NewKeylessSigner validates them together, so their order does not matter.
type KeylessOption interface {
	applyKeyless(*keylessConfig)
}

type keylessOptionFunc func(*keylessConfig)

func (f keylessOptionFunc) applyKeyless(c *keylessConfig) { f(c) }

type keylessConfig struct {
	idToken               string
	idTokenSet            bool
	signingConfigPath     string
	signingConfigPathSet  bool
	trustedRootPath       string
	trustedRootPathSet    bool
	trustedMaterial       root.TrustedMaterial
	trustedMaterialSet    bool
	certProvider          sign.CertificateProvider
	certProviderSet       bool
	tlogs                 []sign.Transparency
	tlogsSet              bool
	tsas                  []*sign.TimestampAuthority
	tsasSet               bool
	minTokenValidity      time.Duration
	minTokenValiditySet   bool
	signingConfigRequired bool // derived by validate
}

// WithIDToken gives the OIDC identity token (a JWT) sent to Fulcio.
// By default, if this option is not used, the token is read from the
// environment variable SIGSTORE_ID_TOKEN ([IDTokenEnv]) when NewKeylessSigner
// runs. An empty token is an error. A later use replaces an earlier one.
func WithIDToken(token string) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) { c.idToken, c.idTokenSet = token, true })
}

// WithIDTokenMinValidity makes [KeylessSigner.Ready] fail unless the OIDC
// token stays valid for at least d more: pass the benchmark's duration plus
// a margin, so that a token that would expire before the signing is caught
// before any load is sent. By default Ready only checks that the token has
// not expired yet. A negative d is an error. A later use replaces an earlier
// one.
func WithIDTokenMinValidity(d time.Duration) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) { c.minTokenValidity, c.minTokenValiditySet = d, true })
}

// WithSigningConfigFile reads the Sigstore signing configuration (which
// Fulcio, Rekor and timestamp authority to use; a signing_config.json of
// media type v0.2; a regular file of at most [MaxSigstoreFileSize] bytes)
// from path, for air-gapped sites and private deployments.
// By default, if this option is not used, the public-good instance's
// signing configuration is fetched through TUF (network; cached under
// $HOME/.sigstore/root). It is an error to use it when all three services
// are injected ([WithCertificateProvider], [WithTransparencyLogs] and
// [WithTimestampAuthorities]), since it would be unused. A later use replaces
// an earlier one.
func WithSigningConfigFile(path string) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) { c.signingConfigPath, c.signingConfigPathSet = path, true })
}

// WithKeylessTrustedRootFile reads the Sigstore trusted root
// (trusted_root.json, a regular file of at most [MaxSigstoreFileSize]
// bytes) that the signer verifies its new signatures against from path. By
// default, if neither this option nor [WithKeylessTrustedMaterial] is used,
// the public-good instance's trusted root is fetched through TUF. Verifiers
// of the envelope need the same root ([WithTrustedRootFile]). It cannot be
// combined with WithKeylessTrustedMaterial. A later use replaces an earlier
// one.
func WithKeylessTrustedRootFile(path string) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) { c.trustedRootPath, c.trustedRootPathSet = path, true })
}

// WithKeylessTrustedMaterial gives, in memory, the Sigstore trusted material
// that the signer verifies its new signatures against: for tests and private
// deployments whose roots are not in a file. By default the trusted root
// comes from [WithKeylessTrustedRootFile], else from the public-good instance
// through TUF. A nil tm is an error; so is combining it with
// WithKeylessTrustedRootFile. A later use replaces an earlier one.
func WithKeylessTrustedMaterial(tm root.TrustedMaterial) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) { c.trustedMaterial, c.trustedMaterialSet = tm, true })
}

// WithCertificateProvider replaces the Fulcio client with p, which must
// return the DER certificate for the signer's ephemeral key; it receives the
// OIDC token in its options. For tests and private certificate authorities.
// By default, if this option is not used, a Fulcio client is built for the
// certificate authority chosen from the signing configuration. A nil p is an
// error. A later use replaces an earlier one.
func WithCertificateProvider(p sign.CertificateProvider) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) { c.certProvider, c.certProviderSet = p, true })
}

// WithTransparencyLogs replaces the Rekor clients with logs; each one adds an
// entry to the bundle (use [sign.NewRekor] for a Rekor instance of your own,
// or a fake in tests). By default, if this option is not used, Rekor v1
// clients are built for the logs chosen from the signing configuration
// (Rekor v2 entries are not used, since the reference verifier,
// sigstore-python 3.x, cannot verify them). Repeated uses add logs; a use
// without logs, or with a nil one, is an error.
func WithTransparencyLogs(logs ...sign.Transparency) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) {
		c.tlogs, c.tlogsSet = append(c.tlogs, logs...), true
		if len(logs) == 0 {
			c.tlogs = append(c.tlogs, nil) // reported by validate
		}
	})
}

// WithTimestampAuthorities replaces the RFC 3161 timestamp authority clients
// with tsas (use [sign.NewTimestampAuthority]; in tests, give it a fake
// Transport). By default, if this option is not used, clients are built for
// the timestamp authorities chosen from the signing configuration, if it
// lists any. Repeated uses add authorities; a use without any, or with a nil
// one, is an error.
func WithTimestampAuthorities(tsas ...*sign.TimestampAuthority) KeylessOption {
	return keylessOptionFunc(func(c *keylessConfig) {
		c.tsas, c.tsasSet = append(c.tsas, tsas...), true
		if len(tsas) == 0 {
			c.tsas = append(c.tsas, nil) // reported by validate
		}
	})
}

func (c *keylessConfig) validate() error {
	var errs []error
	if c.idTokenSet && strings.TrimSpace(c.idToken) == "" {
		errs = append(errs, errors.New("WithIDToken: the token is empty"))
	}
	if c.minTokenValiditySet && c.minTokenValidity < 0 {
		errs = append(errs, fmt.Errorf("WithIDTokenMinValidity: negative duration %s", c.minTokenValidity))
	}
	if c.signingConfigPathSet && c.signingConfigPath == "" {
		errs = append(errs, errors.New("WithSigningConfigFile: empty path"))
	}
	if c.trustedRootPathSet && c.trustedRootPath == "" {
		errs = append(errs, errors.New("WithKeylessTrustedRootFile: empty path"))
	}
	if c.trustedMaterialSet && c.trustedMaterial == nil {
		errs = append(errs, errors.New("WithKeylessTrustedMaterial: the trusted material is nil"))
	}
	if c.trustedRootPathSet && c.trustedMaterialSet {
		errs = append(errs, errors.New("WithKeylessTrustedRootFile and WithKeylessTrustedMaterial both given: use one"))
	}
	if c.certProviderSet && c.certProvider == nil {
		errs = append(errs, errors.New("WithCertificateProvider: the provider is nil"))
	}
	for _, t := range c.tlogs {
		if t == nil {
			errs = append(errs, errors.New("WithTransparencyLogs: a log is nil or none was given"))
			break
		}
	}
	for _, t := range c.tsas {
		if t == nil {
			errs = append(errs, errors.New("WithTimestampAuthorities: an authority is nil or none was given"))
			break
		}
	}
	c.signingConfigRequired = !c.certProviderSet || !c.tlogsSet || !c.tsasSet
	if c.signingConfigPathSet && !c.signingConfigRequired {
		errs = append(errs, errors.New("WithSigningConfigFile is unused when WithCertificateProvider, WithTransparencyLogs and WithTimestampAuthorities are all given"))
	}
	return errors.Join(errs...)
}

// NewKeylessSigner returns a Sigstore keyless signer. It makes no network
// call: use [KeylessSigner.Ready] to check, before a benchmark runs, that
// signing will be possible.
func NewKeylessSigner(opts ...KeylessOption) (*KeylessSigner, error) {
	var c keylessConfig
	for _, o := range opts {
		o.applyKeyless(&c)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("keyless signer: %w", err)
	}
	if c.idTokenSet {
		c.idToken = strings.TrimSpace(c.idToken)
	} else {
		c.idToken = strings.TrimSpace(os.Getenv(IDTokenEnv))
	}
	s := &KeylessSigner{cfg: c, now: time.Now}
	if c.trustedMaterialSet {
		s.tm = c.trustedMaterial
	}
	return s, nil
}

// Ready reports whether Sign can succeed, without signing or contacting
// Fulcio, Rekor or the timestamp authority: the OIDC token is present and not
// expired (nor expiring within [WithIDTokenMinValidity]; its payload is
// decoded without verifying its signature, which is Fulcio's job), and the
// signing configuration and trusted root can be loaded (which may use the
// network through TUF; ctx bounds it) and name the services to use. The
// error joins every problem found; it wraps [ErrNoIDToken] or
// [ErrIDTokenExpired] for token problems.
func (s *KeylessSigner) Ready(ctx context.Context) error {
	var errs []error
	if _, err := s.token(s.cfg.minTokenValidity); err != nil {
		errs = append(errs, err)
	}
	if sc, _, err := s.load(ctx); err != nil {
		errs = append(errs, err)
	} else if _, err := s.plan(sc); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("keyless signing is not ready: %w", errors.Join(errs...))
	}
	return nil
}

// Sign signs the 64 ASCII bytes of contentHash with a fresh ephemeral key,
// certified by Fulcio for the token's identity, logged in Rekor and
// timestamped, and returns the signature block: method "sigstore-cosign",
// the leaf certificate PEM (without its trailing newline), the log index of
// the first transparency log entry (-1 if none) and the standard base64 of
// the bundle's JSON. ctx bounds every network call. [Sign] (the package
// function) then verifies the result against the signer's trusted material.
func (s *KeylessSigner) Sign(ctx context.Context, contentHash string) (*Signature, error) {
	if !isHex64(contentHash) {
		return nil, fmt.Errorf("keyless sign: the content hash must be 64 lowercase hex digits, got %q", contentHash)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("keyless sign: %w", err)
	}
	token, err := s.token(0)
	if err != nil {
		return nil, fmt.Errorf("keyless sign: %w", err)
	}
	sc, _, err := s.load(ctx)
	if err != nil {
		return nil, fmt.Errorf("keyless sign: %w", err)
	}
	p, err := s.plan(sc)
	if err != nil {
		return nil, fmt.Errorf("keyless sign: %w", err)
	}
	keypair, err := sign.NewEphemeralKeypair(nil)
	if err != nil {
		return nil, fmt.Errorf("keyless sign: ephemeral key: %w", err)
	}
	b, err := sign.Bundle(&sign.PlainData{Data: []byte(contentHash)}, keypair, p.bundleOptions(ctx, token))
	if err != nil {
		return nil, fmt.Errorf("keyless sign: %w", err)
	}
	return signatureFromBundle(b)
}

// selfVerifyOptions makes Sign verify new signatures against the trusted
// material this signer uses.
func (s *KeylessSigner) selfVerifyOptions() []VerifyOption {
	s.mu.Lock()
	tm := s.tm
	s.mu.Unlock()
	switch {
	case tm != nil:
		return []VerifyOption{WithTrustedMaterial(tm)}
	case s.cfg.trustedRootPath != "":
		return []VerifyOption{WithTrustedRootFile(s.cfg.trustedRootPath)}
	}
	return nil
}

// token returns the OIDC token if it is valid for at least margin more.
func (s *KeylessSigner) token(margin time.Duration) (string, error) {
	if s.cfg.idToken == "" {
		return "", ErrNoIDToken
	}
	exp, err := jwtExpiry(s.cfg.idToken)
	if err != nil {
		return "", fmt.Errorf("OIDC identity token: %w", err)
	}
	now := s.now()
	if !now.Before(exp) {
		return "", fmt.Errorf("%w: it expired at %s (%s ago); get a fresh one",
			ErrIDTokenExpired, exp.UTC().Format(time.RFC3339), now.Sub(exp).Round(time.Second))
	}
	if left := exp.Sub(now); left < margin {
		return "", fmt.Errorf("%w: it expires at %s, in %s, but must stay valid for %s (until the envelope is signed)",
			ErrIDTokenExpired, exp.UTC().Format(time.RFC3339), left.Round(time.Second), margin)
	}
	return s.cfg.idToken, nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it.
func jwtExpiry(token string) (time.Time, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, errors.New("not a JWT (want header.payload.signature)")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, fmt.Errorf("JWT payload: %w", err)
	}
	var claims struct {
		Exp *json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return time.Time{}, fmt.Errorf("JWT payload: %w", err)
	}
	if claims.Exp == nil {
		return time.Time{}, errors.New("JWT has no exp claim")
	}
	f, err := claims.Exp.Float64()
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) || f < 0 || f > 1<<40 {
		return time.Time{}, fmt.Errorf("JWT exp claim %s is not a valid time", claims.Exp.String())
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), nil
}

// load returns the signing configuration (nil when all services are
// injected) and the trusted material, loading them on first use.
func (s *KeylessSigner) load(ctx context.Context) (*root.SigningConfig, root.TrustedMaterial, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	needSC := s.cfg.signingConfigRequired && s.sc == nil
	needTM := s.tm == nil
	if !needSC && !needTM {
		return s.sc, s.tm, nil
	}
	var tc *tuf.Client
	publicGood := func() (*tuf.Client, error) {
		if tc != nil {
			return tc, nil
		}
		var err error
		tc, err = publicGoodTUFClient(ctx)
		return tc, err
	}
	var errs []error
	if needSC {
		var sc *root.SigningConfig
		var err error
		if s.cfg.signingConfigPath != "" {
			sc, err = loadSigningConfigFile(s.cfg.signingConfigPath)
		} else if tc, err = publicGood(); err == nil {
			sc, err = root.GetSigningConfig(tc)
			if err != nil {
				err = fmt.Errorf("sigstore public-good signing config: %w", err)
			}
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			s.sc = sc
		}
	}
	if needTM {
		var tr *root.TrustedRoot
		var err error
		if s.cfg.trustedRootPath != "" {
			tr, err = loadTrustedRootFile(s.cfg.trustedRootPath)
		} else if tc, err = publicGood(); err == nil {
			tr, err = root.GetTrustedRoot(tc)
			if err != nil {
				err = fmt.Errorf("sigstore public-good trusted root: %w", err)
			}
		}
		if err != nil {
			errs = append(errs, err)
		} else {
			s.tm = tr
		}
	}
	if len(errs) > 0 {
		return nil, nil, errors.Join(errs...)
	}
	return s.sc, s.tm, nil
}

// servicePlan is the set of services one signing uses: the injected ones,
// and those chosen from the signing configuration for the others.
type servicePlan struct {
	certProvider sign.CertificateProvider // injected, or nil
	fulcio       root.Service             // when certProvider is nil
	tlogs        []sign.Transparency      // injected, or nil
	rekors       []root.Service           // when tlogs is nil
	tsas         []*sign.TimestampAuthority
	tsaServices  []root.Service
}

// plan chooses the services from the signing configuration sc for those
// that are not injected.
func (s *KeylessSigner) plan(sc *root.SigningConfig) (*servicePlan, error) {
	p := &servicePlan{certProvider: s.cfg.certProvider, tlogs: s.cfg.tlogs, tsas: s.cfg.tsas}
	if !s.cfg.signingConfigRequired {
		return p, nil
	}
	now := s.now()
	var errs []error
	if p.certProvider == nil {
		svc, err := root.SelectService(sc.FulcioCertificateAuthorityURLs(), sign.FulcioAPIVersions, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("signing config: no usable Fulcio certificate authority: %w", err))
		}
		p.fulcio = svc
	}
	if len(p.tlogs) == 0 {
		svcs, err := root.SelectServices(sc.RekorLogURLs(), sc.RekorLogURLsConfig(), []uint32{1}, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("signing config: no usable Rekor v1 transparency log: %w", err))
		}
		p.rekors = svcs
	}
	if len(p.tsas) == 0 && len(sc.TimestampAuthorityURLs()) > 0 {
		svcs, err := root.SelectServices(sc.TimestampAuthorityURLs(), sc.TimestampAuthorityURLsConfig(), sign.TimestampAuthorityAPIVersions, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("signing config: no usable timestamp authority: %w", err))
		}
		p.tsaServices = svcs
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// bundleOptions builds the clients for one signing, bound to ctx.
func (p *servicePlan) bundleOptions(ctx context.Context, token string) sign.BundleOptions {
	opts := sign.BundleOptions{
		CertificateProvider:        p.certProvider,
		CertificateProviderOptions: &sign.CertificateProviderOptions{IDToken: token},
		TimestampAuthorities:       p.tsas,
		TransparencyLogs:           p.tlogs,
		Context:                    ctx,
	}
	if opts.CertificateProvider == nil {
		opts.CertificateProvider = sign.NewFulcio(&sign.FulcioOptions{
			BaseURL:   p.fulcio.URL,
			Timeout:   fulcioTimeout,
			Retries:   1,
			Transport: contextTransport(ctx, http.DefaultTransport),
		})
	}
	for _, svc := range p.rekors {
		opts.TransparencyLogs = append(opts.TransparencyLogs, sign.NewRekor(&sign.RekorOptions{
			BaseURL: svc.URL,
			Timeout: rekorTimeout,
			Retries: 1,
			Version: svc.MajorAPIVersion,
		}))
	}
	for _, svc := range p.tsaServices {
		opts.TimestampAuthorities = append(opts.TimestampAuthorities, sign.NewTimestampAuthority(&sign.TimestampAuthorityOptions{
			URL:       svc.URL,
			Timeout:   tsaTimeout,
			Retries:   1,
			Transport: contextTransport(ctx, http.DefaultTransport),
		}))
	}
	return opts
}

// signatureFromBundle makes the envelope's signature block from a bundle.
func signatureFromBundle(b *protobundle.Bundle) (*Signature, error) {
	vm := b.GetVerificationMaterial()
	var der []byte
	if c := vm.GetCertificate(); c != nil {
		der = c.GetRawBytes()
	} else if certs := vm.GetX509CertificateChain().GetCertificates(); len(certs) > 0 {
		der = certs[0].GetRawBytes()
	}
	if len(der) == 0 {
		return nil, errors.New("keyless sign: the Sigstore bundle has no signing certificate")
	}
	js, err := protojson.Marshal(b)
	if err != nil {
		return nil, fmt.Errorf("keyless sign: bundle JSON: %w", err)
	}
	return &Signature{
		Method:        MethodSigstore,
		Certificate:   strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
		RekorLogIndex: bundleLogIndex(vm.GetTlogEntries()),
		Bundle:        base64.StdEncoding.EncodeToString(js),
	}, nil
}
