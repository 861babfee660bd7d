package keyless

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/envelope"
)

// TestIdentityPolicyMatchesWholeIdentity signs with look-alike identities
// through the in-memory Sigstore and checks, end to end, that the identity
// the Verifier reports from a real certificate is matched whole by
// envelope's identity policies: no substring, prefix, suffix or case
// variant, and a pattern is anchored at both ends.
func TestIdentityPolicyMatchesWholeIdentity(t *testing.T) {
	defer goleak.VerifyNone(t)
	f := newFakeSigstore(t)
	trust := verifyWith(t, WithTrustedMaterial(f.root))
	signed := map[string]*envelope.Envelope{}
	signedBy := func(identity string) *envelope.Envelope {
		if e, ok := signed[identity]; ok {
			return e
		}
		l := f.defaultLeaf()
		l.identity = identity
		e := keylessSigned(t, f, l)
		signed[identity] = e
		return e
	}
	const (
		alice    = testIdentity // alice@example.com
		malice   = "malice@example.com"
		evil     = "alice@example.com.evil.test"
		shorter  = "alice@example.co"
		upper    = "ALICE@example.com"
		dotAny   = "alice@exampleXcom"
		newline  = "alice@example.com\n"
		bobAlice = "bob@example.com"
	)
	for _, tc := range []struct {
		name   string
		signer string
		policy envelope.VerifyOption
		want   envelope.Trust
	}{
		{"exact: the identity", alice, envelope.WithIdentity(alice, testIssuer), envelope.TrustTrusted},
		{"exact: a longer identity ending in it", malice, envelope.WithIdentity(alice, testIssuer), envelope.TrustUntrusted},
		{"exact: a longer identity starting with it", evil, envelope.WithIdentity(alice, testIssuer), envelope.TrustUntrusted},
		{"exact: a shorter identity", shorter, envelope.WithIdentity(alice, testIssuer), envelope.TrustUntrusted},
		{"exact: a prefix as the policy", alice, envelope.WithIdentity("alice@example", testIssuer), envelope.TrustUntrusted},
		{"exact: a suffix as the policy", alice, envelope.WithIdentity("lice@example.com", testIssuer), envelope.TrustUntrusted},
		{"exact: a case variant signer", upper, envelope.WithIdentity(alice, testIssuer), envelope.TrustUntrusted},
		{"exact: a case variant policy", alice, envelope.WithIdentity("Alice@Example.com", testIssuer), envelope.TrustUntrusted},
		{"exact: '.' is not a wildcard", dotAny, envelope.WithIdentity(alice, testIssuer), envelope.TrustUntrusted},
		{"exact: a trailing newline", newline, envelope.WithIdentity(alice, testIssuer), envelope.TrustUntrusted},
		{"exact: a regexp is literal text", alice, envelope.WithIdentity(`alice@example\.com`, testIssuer), envelope.TrustUntrusted},
		{"exact: the issuer's case", alice, envelope.WithIdentity(alice, strings.ToUpper(testIssuer)), envelope.TrustUntrusted},

		{"regexp: the identity", alice, envelope.WithIdentityRegexp(`alice@example\.com`, testIssuer), envelope.TrustTrusted},
		{"regexp: a longer identity ending in a match", malice, envelope.WithIdentityRegexp(`alice@example\.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: a longer identity starting with a match", evil, envelope.WithIdentityRegexp(`alice@example\.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: unescaped dots still anchored", malice, envelope.WithIdentityRegexp(`alice@example.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: a substring pattern", alice, envelope.WithIdentityRegexp(`example\.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: a prefix pattern", alice, envelope.WithIdentityRegexp(`alice@`, testIssuer), envelope.TrustUntrusted},
		{"regexp: alternation is anchored as a whole", evil, envelope.WithIdentityRegexp(`alice@example\.com|bob@example\.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: alternation, second branch", bobAlice, envelope.WithIdentityRegexp(`alice@example\.com|bob@example\.com`, testIssuer), envelope.TrustTrusted},
		{"regexp: a trailing newline", newline, envelope.WithIdentityRegexp(`alice@example\.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: case sensitive by default", upper, envelope.WithIdentityRegexp(`alice@example\.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: case folding when asked", upper, envelope.WithIdentityRegexp(`(?i)alice@example\.com`, testIssuer), envelope.TrustTrusted},
		{"regexp: a domain family", alice, envelope.WithIdentityRegexp(`[^@]+@example\.com`, testIssuer), envelope.TrustTrusted},
		{"regexp: a domain family, other domain", evil, envelope.WithIdentityRegexp(`[^@]+@example\.com`, testIssuer), envelope.TrustUntrusted},
		{"regexp: the issuer is still exact", alice, envelope.WithIdentityRegexp(`.*`, testIssuer+"/"), envelope.TrustUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := envelope.Verify(context.Background(), signedBy(tc.signer), trust, tc.policy)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if !r.OK || r.SignerIdentity != tc.signer {
				t.Fatalf("Result = %+v; want an intact signature from %q", r, tc.signer)
			}
			if r.Trust != tc.want {
				t.Errorf("Trust = %v (%s); want %v", r.Trust, r.TrustReason, tc.want)
			}
			noMatch := fmt.Sprintf("signer untrusted: identity %q from issuer %q matches no identity policy", tc.signer, testIssuer)
			if r.Trust != envelope.TrustTrusted && r.TrustReason != noMatch {
				t.Errorf("TrustReason = %q; want %q", r.TrustReason, noMatch)
			}
			if strings.ContainsAny(r.TrustReason, "\n\x1b") {
				t.Errorf("TrustReason holds a raw control character: %q", r.TrustReason)
			}
		})
	}
}
