package loadgen

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// ErrCrossOriginRedirect is wrapped by the error of a request that the
// engine redirected to another origin (another scheme, host or port):
// clients made by [SameOriginOnly], which [NewClient] and [Probe] use,
// never follow such a redirect, so the API key never reaches another
// server. The request's outcome is OutcomeTransport.
var ErrCrossOriginRedirect = errors.New("cross-origin redirect")

// maxRedirects is Go's default limit on redirects followed.
const maxRedirects = 10

// SameOriginOnly returns a shallow copy of hc whose CheckRedirect refuses a
// redirect to an origin (scheme, host and port) other than the first
// request's, with an error wrapping [ErrCrossOriginRedirect] that names the
// target, before anything is sent there. Other redirects are left to hc's
// own CheckRedirect, or, when it has none, followed as Go does by default
// (at most 10). hc itself is not modified; a nil hc stands for a client with
// a fresh transport that uses no proxy.
func SameOriginOnly(hc *http.Client) *http.Client {
	if hc == nil {
		hc = &http.Client{Transport: &http.Transport{Proxy: nil}}
	}
	next := hc.CheckRedirect
	c := *hc
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) > 0 && !sameOrigin(via[0].URL, req.URL) {
			return fmt.Errorf("%w: engine redirected to %s (another origin); benchprof does not follow cross-origin redirects — point the base URL at the engine itself",
				ErrCrossOriginRedirect, truncateString(req.URL.Redacted(), maxEngineText))
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &c
}

// sameOrigin compares the scheme, host and port of two URLs, with the
// scheme's default port when none is given.
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) &&
		strings.EqualFold(a.Hostname(), b.Hostname()) &&
		portOf(a) == portOf(b)
}

func portOf(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch strings.ToLower(u.Scheme) {
	case "http":
		return "80"
	case "https":
		return "443"
	}
	return ""
}
