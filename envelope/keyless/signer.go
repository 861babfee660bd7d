package keyless

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

	"github.com/benchprof/benchprof/envelope"
)

// IDTokenEnv is the environment variable [NewSigner] reads the OIDC
// identity token from when [WithIDToken] is not used, as the reference does.
const IDTokenEnv = "SIGSTORE_ID_TOKEN"

// Timeouts of single requests to the Sigstore services a Signer
// finds in the signing configuration (the ctx given to Sign bounds the whole
// signing).
const (
	fulcioTimeout = 30 * time.Second
	rekorTimeout  = 90 * time.Second
	tsaTimeout    = 30 * time.Second
)

// ErrNoIDToken is returned (wrapped) by [Signer.Sign] and [Signer.Ready]
// when there is no OIDC identity token.
var ErrNoIDToken = errors.New("no OIDC identity token for Sigstore keyless signing: set " + IDTokenEnv +
	" to an identity token that Fulcio accepts (in GitHub Actions, grant the job `id-token: write` and request a token" +
	" for the audience \"sigstore\"), or sign in dev mode with a dev key instead")

// ErrIDTokenExpired is returned (wrapped) by [Signer.Sign] and
// [Signer.Ready] when the OIDC identity token has expired, or by Ready when
// it expires sooner than [WithIDTokenMinValidity] requires.
var ErrIDTokenExpired = errors.New("the OIDC identity token has expired or expires too soon")

// Signer signs envelopes with Sigstore keyless signing (FACTS §3.2):
// a fresh ECDSA P-256 key signs the 64 ASCII bytes of the content hash (a
// message signature, as sigstore-python's sign_artifact makes), Fulcio
// certifies the key for the identity in the OIDC token, Rekor logs the
// signature and a timestamp authority timestamps it. The Signature carries
// the whole Sigstore bundle. Use it with [envelope.Sign], which verifies
// each new signature against the signer's trusted material.
//
// A Signer is safe for concurrent use (provided the injected service
// implementations are). The signing configuration and trusted material it
// loads (from files or TUF) are loaded once, on first use, and kept.
type Signer struct {
	cfg signerConfig
	now func() time.Time

	mu sync.Mutex
	sc *root.SigningConfig  // nil until loaded, or when not needed
	tm root.TrustedMaterial // nil until loaded
}

var (
	_ envelope.Signer       = (*Signer)(nil)
	_ envelope.SelfVerifier = (*Signer)(nil)
)

// Option configures [NewSigner]. Options only record values; NewSigner
// validates them together, so their order does not matter. The trust
// options ([WithTrustedRootFile], [WithTrustedMaterial]) configure
// [NewVerifier] too.
type Option interface {
	applySigner(*signerConfig)
}

type signerOptionFunc func(*signerConfig)

func (f signerOptionFunc) applySigner(c *signerConfig) { f(c) }

type signerConfig struct {
	trust                 trustConfig
	idToken               string
	idTokenSet            bool
	signingConfigPath     string
	signingConfigPathSet  bool
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
// environment variable SIGSTORE_ID_TOKEN ([IDTokenEnv]) when NewSigner
// runs. An empty token is an error. A later use replaces an earlier one.
func WithIDToken(token string) Option {
	return signerOptionFunc(func(c *signerConfig) { c.idToken, c.idTokenSet = token, true })
}

// WithIDTokenMinValidity makes [Signer.Ready] fail unless the OIDC
// token stays valid for at least d more: pass the benchmark's duration plus
// a margin, so that a token that would expire before the signing is caught
// before any load is sent. By default Ready only checks that the token has
// not expired yet. A negative d is an error. A later use replaces an earlier
// one.
func WithIDTokenMinValidity(d time.Duration) Option {
	return signerOptionFunc(func(c *signerConfig) { c.minTokenValidity, c.minTokenValiditySet = d, true })
}

// WithSigningConfigFile reads the Sigstore signing configuration (which
// Fulcio, Rekor and timestamp authority to use; a signing_config.json of
// media type v0.2; a regular file of at most [MaxFileSize] bytes)
// from path, for air-gapped sites and private deployments.
// By default, if this option is not used, the public-good instance's
// signing configuration is fetched through TUF (network; cached under
// $HOME/.sigstore/root). It is an error to use it when all three services
// are injected ([WithCertificateProvider], [WithTransparencyLogs] and
// [WithTimestampAuthorities]), since it would be unused. A later use replaces
// an earlier one.
func WithSigningConfigFile(path string) Option {
	return signerOptionFunc(func(c *signerConfig) { c.signingConfigPath, c.signingConfigPathSet = path, true })
}

// WithCertificateProvider replaces the Fulcio client with p, which must
// return the DER certificate for the signer's ephemeral key; it receives the
// OIDC token in its options. For tests and private certificate authorities.
// By default, if this option is not used, a Fulcio client is built for the
// certificate authority chosen from the signing configuration. A nil p is an
// error. A later use replaces an earlier one.
func WithCertificateProvider(p sign.CertificateProvider) Option {
	return signerOptionFunc(func(c *signerConfig) { c.certProvider, c.certProviderSet = p, true })
}

// WithTransparencyLogs replaces the Rekor clients with logs; each one adds an
// entry to the bundle (use [sign.NewRekor] for a Rekor instance of your own,
// or a fake in tests). By default, if this option is not used, Rekor v1
// clients are built for the logs chosen from the signing configuration
// (Rekor v2 entries are not used, since the reference verifier,
// sigstore-python 3.x, cannot verify them). Repeated uses add logs; a use
// without logs, or with a nil one, is an error.
func WithTransparencyLogs(logs ...sign.Transparency) Option {
	return signerOptionFunc(func(c *signerConfig) {
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
func WithTimestampAuthorities(tsas ...*sign.TimestampAuthority) Option {
	return signerOptionFunc(func(c *signerConfig) {
		c.tsas, c.tsasSet = append(c.tsas, tsas...), true
		if len(tsas) == 0 {
			c.tsas = append(c.tsas, nil) // reported by validate
		}
	})
}

func (c *signerConfig) validate() error {
	errs := c.trust.validate()
	if c.idTokenSet && strings.TrimSpace(c.idToken) == "" {
		errs = append(errs, errors.New("WithIDToken: the token is empty"))
	}
	if c.minTokenValiditySet && c.minTokenValidity < 0 {
		errs = append(errs, fmt.Errorf("WithIDTokenMinValidity: negative duration %s", c.minTokenValidity))
	}
	if c.signingConfigPathSet && c.signingConfigPath == "" {
		errs = append(errs, errors.New("WithSigningConfigFile: empty path"))
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

// NewSigner returns a Sigstore keyless signer. It makes no network call:
// use [Signer.Ready] to check, before a benchmark runs, that signing will
// be possible.
func NewSigner(opts ...Option) (*Signer, error) {
	var c signerConfig
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("keyless signer: option %d is nil", i+1)
		}
		o.applySigner(&c)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("keyless signer: %w", err)
	}
	if c.idTokenSet {
		c.idToken = strings.TrimSpace(c.idToken)
	} else {
		c.idToken = strings.TrimSpace(os.Getenv(IDTokenEnv))
	}
	s := &Signer{cfg: c, now: time.Now}
	if c.trust.materialSet {
		s.tm = c.trust.material
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
func (s *Signer) Ready(ctx context.Context) error {
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
// the bundle's JSON. ctx bounds every network call. [envelope.Sign] then
// verifies the result against the signer's trusted material
// ([Signer.SelfVerifyOptions]).
func (s *Signer) Sign(ctx context.Context, contentHash string) (*envelope.Signature, error) {
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

// SelfVerifyOptions makes [envelope.Sign] verify new signatures with a
// [Verifier] for the trusted material this signer uses: the material it
// has loaded, else the same trusted root file, else the public-good root.
func (s *Signer) SelfVerifyOptions() []envelope.VerifyOption {
	s.mu.Lock()
	tm := s.tm
	s.mu.Unlock()
	v := &Verifier{cfg: verifierConfig{trust: s.cfg.trust}, tm: tm}
	return []envelope.VerifyOption{envelope.WithMethodVerifier(envelope.MethodSigstore, v)}
}

// token returns the OIDC token if it is valid for at least margin more.
func (s *Signer) token(margin time.Duration) (string, error) {
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
func (s *Signer) load(ctx context.Context) (*root.SigningConfig, root.TrustedMaterial, error) {
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
		if s.cfg.trust.rootPath != "" {
			tr, err = loadTrustedRootFile(s.cfg.trust.rootPath)
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
func (s *Signer) plan(sc *root.SigningConfig) (*servicePlan, error) {
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
func signatureFromBundle(b *protobundle.Bundle) (*envelope.Signature, error) {
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
	return &envelope.Signature{
		Method:        envelope.MethodSigstore,
		Certificate:   strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))),
		RekorLogIndex: bundleLogIndex(vm.GetTlogEntries()),
		Bundle:        base64.StdEncoding.EncodeToString(js),
	}, nil
}
