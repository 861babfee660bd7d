package keyless

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/sigstore/sigstore-go/pkg/util"
	"github.com/theupdateframework/go-tuf/v2/metadata/fetcher"

	"github.com/benchprof/benchprof/envelope/internal/boundedfile"
)

// MaxFileSize is the largest Sigstore file read: a trusted root
// ([WithTrustedRootFile]) or a signing configuration
// ([WithSigningConfigFile]), 16 MiB. Like every file package envelope
// reads, it must be a regular file; a larger one is refused before it is
// read with an error wrapping envelope.ErrFileTooLarge, one that is not
// regular with an error wrapping envelope.ErrNotRegularFile.
const MaxFileSize = 16 << 20

// tufTimeout bounds each request to the Sigstore TUF repository.
const tufTimeout = 30 * time.Second

// TrustOption configures both [NewSigner] and [NewVerifier]: the Sigstore
// trusted material that signatures are verified against.
type TrustOption interface {
	Option
	VerifierOption
}

type trustOptionFunc func(*trustConfig)

func (f trustOptionFunc) applySigner(c *signerConfig)     { f(&c.trust) }
func (f trustOptionFunc) applyVerifier(c *verifierConfig) { f(&c.trust) }

type trustConfig struct {
	rootPath    string
	rootPathSet bool
	material    root.TrustedMaterial
	materialSet bool
}

// WithTrustedRootFile reads the Sigstore trusted root (trusted_root.json, a
// regular file of at most [MaxFileSize] bytes) from path, for air-gapped
// sites and private deployments: a [Verifier] verifies envelopes against
// it, a [Signer] verifies its new signatures against it (verifiers of those
// envelopes need the same root). By default, if neither this option nor
// [WithTrustedMaterial] is used, the public-good instance's trusted root is
// fetched through TUF (network; cached under $HOME/.sigstore/root). The
// file is read on first use, not by NewSigner or NewVerifier. An empty path
// is an error, and so is combining it with WithTrustedMaterial. A later use
// replaces an earlier one.
func WithTrustedRootFile(path string) TrustOption {
	return trustOptionFunc(func(c *trustConfig) { c.rootPath, c.rootPathSet = path, true })
}

// WithTrustedMaterial gives, in memory, the Sigstore trusted material to
// verify against: a *root.TrustedRoot, or a private deployment's own
// root.TrustedMaterial; for tests and roots that are not in a file. By
// default the trusted root comes from [WithTrustedRootFile], else from the
// public-good instance through TUF. A nil tm is an error, and so is
// combining it with WithTrustedRootFile. A later use replaces an earlier
// one.
func WithTrustedMaterial(tm root.TrustedMaterial) TrustOption {
	return trustOptionFunc(func(c *trustConfig) { c.material, c.materialSet = tm, true })
}

func (c *trustConfig) validate() []error {
	var errs []error
	if c.rootPathSet && c.rootPath == "" {
		errs = append(errs, errors.New("WithTrustedRootFile: empty path"))
	}
	if c.materialSet && c.material == nil {
		errs = append(errs, errors.New("WithTrustedMaterial: the trusted material is nil"))
	}
	if c.rootPathSet && c.materialSet {
		errs = append(errs, errors.New("WithTrustedRootFile and WithTrustedMaterial both given: use one"))
	}
	return errs
}

// trustedRootFile and signingConfigFile describe Sigstore files for
// boundedfile.Read's messages.
var (
	trustedRootFile   = boundedfile.Kind{What: "a trusted root", Hint: "pass the path of a trusted_root.json file"}
	signingConfigFile = boundedfile.Kind{What: "a signing config", Hint: "pass the path of a signing_config.json file"}
)

// loadTrustedRootFile reads a Sigstore trusted_root.json, a regular file of
// at most MaxFileSize bytes.
func loadTrustedRootFile(path string) (*root.TrustedRoot, error) {
	data, err := boundedfile.Read(path, MaxFileSize, trustedRootFile)
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
// file of at most MaxFileSize bytes.
func loadSigningConfigFile(path string) (*root.SigningConfig, error) {
	data, err := boundedfile.Read(path, MaxFileSize, signingConfigFile)
	if err != nil {
		return nil, fmt.Errorf("sigstore signing config %s: %w", path, err)
	}
	sc, err := root.NewSigningConfigFromJSON(data)
	if err != nil {
		return nil, fmt.Errorf("sigstore signing config %s: %w", path, err)
	}
	return sc, nil
}

// publicGoodTrustedRoot fetches the public-good trusted root through TUF.
func publicGoodTrustedRoot(ctx context.Context) (*root.TrustedRoot, error) {
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

// decodeBase64Validate decodes standard padded base64 as Python's
// base64.b64decode(s, validate=True), as package envelope does for dev-key
// signatures: characters outside the alphabet (line breaks included) and
// bad padding are errors.
func decodeBase64Validate(s string) ([]byte, error) {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return nil, base64.CorruptInputError(i)
	}
	return base64.StdEncoding.DecodeString(s)
}

// isHex64 reports whether s is 64 lowercase hex digits, a content hash.
func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// escapeControls returns s with characters that are not printable written
// as Go escapes, for texts of other libraries that may quote certificate or
// bundle content (package envelope escapes Result reasons again).
func escapeControls(s string) string {
	if utf8.ValidString(s) && strings.IndexFunc(s, func(r rune) bool { return !strconv.IsPrint(r) }) < 0 {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
