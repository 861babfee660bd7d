package envelope

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEscapeControls(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, spaces and 'quotes'", "plain text, spaces and 'quotes'"},
		{"unicode — kept µs", "unicode — kept µs"},
		{"esc \x1b[8m hidden", `esc \x1b[8m hidden`},
		{"line\n  trust: trusted", `line\n  trust: trusted`},
		{"cr\rover", `cr\rover`},
		{"bidi \u202e txt", `bidi \u202e txt`},
		{"zero\u200bwidth", `zero\u200bwidth`},
		{"bad \xff byte", `bad \xff byte`},
		{`a "quoted" \ path` + "\n", `a \"quoted\" \\ path\n`},
	} {
		if got := escapeControls(tc.in); got != tc.want {
			t.Errorf("escapeControls(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

// TestDevKeyTrustReasons pins the dev-key trust reasons: they name the
// library's options, never a command-line flag.
func TestDevKeyTrustReasons(t *testing.T) {
	e := loadEnvelope(t, vectorPath)
	pub, err := ParsePublicKey([]byte(e.Signature.Certificate))
	if err != nil {
		t.Fatal(err)
	}
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	fp := KeyFingerprint(pub)
	for _, tc := range []struct {
		name string
		opts []VerifyOption
		want string
	}{
		{"no policy", nil, "signer untrusted: the signature is checked only against the key embedded in the envelope; no key is pinned (envelope.WithTrustedKeys or envelope.WithTrustedPublicKeys)"},
		{"only an identity policy", []VerifyOption{WithIdentity("alice@example.com", "https://issuer.example")}, "signer untrusted: the signature is checked only against the key embedded in the envelope; no key is pinned (envelope.WithTrustedKeys or envelope.WithTrustedPublicKeys)"},
		{"another key pinned", []VerifyOption{WithTrustedPublicKeys(other)}, "signer untrusted: signing key " + fp + " matches none of the pinned keys"},
		{"its key pinned", []VerifyOption{WithTrustedPublicKeys(pub)}, "signing key " + fp + " matches pinned key #1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Verify(context.Background(), e, tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, r.TrustReason); diff != "" {
				t.Errorf("TrustReason (-want +got):\n%s", diff)
			}
			if strings.Contains(r.TrustReason, "--") {
				t.Errorf("TrustReason names a command-line flag: %q", r.TrustReason)
			}
		})
	}
}
