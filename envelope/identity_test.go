package envelope

import (
	"context"
	"errors"
	"fmt"
	"regexp/syntax"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	testIdentity = "alice@example.com"
	testIssuer   = "https://issuer.example"
)

// TestIdentityPolicyMatchesWholeIdentity checks, through a method verifier
// that reports look-alike identities, that an identity policy trusts only
// the whole identity it names: no substring, prefix, suffix or case
// variant, and a pattern is anchored at both ends. (Package keyless runs
// the same table against real Fulcio-style certificates.)
func TestIdentityPolicyMatchesWholeIdentity(t *testing.T) {
	signedBy := func(identity string) (*Envelope, VerifyOption) {
		return sigstoreEnvelope(t), WithMethodVerifier(MethodSigstore, &stubVerifier{info: SignerInfo{Identity: identity, Issuer: testIssuer, RekorLogIndex: 1}})
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
		policy VerifyOption
		want   Trust
	}{
		{"exact: the identity", alice, WithIdentity(alice, testIssuer), TrustTrusted},
		{"exact: a longer identity ending in it", malice, WithIdentity(alice, testIssuer), TrustUntrusted},
		{"exact: a longer identity starting with it", evil, WithIdentity(alice, testIssuer), TrustUntrusted},
		{"exact: a shorter identity", shorter, WithIdentity(alice, testIssuer), TrustUntrusted},
		{"exact: a prefix as the policy", alice, WithIdentity("alice@example", testIssuer), TrustUntrusted},
		{"exact: a suffix as the policy", alice, WithIdentity("lice@example.com", testIssuer), TrustUntrusted},
		{"exact: a case variant signer", upper, WithIdentity(alice, testIssuer), TrustUntrusted},
		{"exact: a case variant policy", alice, WithIdentity("Alice@Example.com", testIssuer), TrustUntrusted},
		{"exact: '.' is not a wildcard", dotAny, WithIdentity(alice, testIssuer), TrustUntrusted},
		{"exact: a trailing newline", newline, WithIdentity(alice, testIssuer), TrustUntrusted},
		{"exact: a regexp is literal text", alice, WithIdentity(`alice@example\.com`, testIssuer), TrustUntrusted},
		{"exact: the issuer's case", alice, WithIdentity(alice, strings.ToUpper(testIssuer)), TrustUntrusted},

		{"regexp: the identity", alice, WithIdentityRegexp(`alice@example\.com`, testIssuer), TrustTrusted},
		{"regexp: a longer identity ending in a match", malice, WithIdentityRegexp(`alice@example\.com`, testIssuer), TrustUntrusted},
		{"regexp: a longer identity starting with a match", evil, WithIdentityRegexp(`alice@example\.com`, testIssuer), TrustUntrusted},
		{"regexp: unescaped dots still anchored", malice, WithIdentityRegexp(`alice@example.com`, testIssuer), TrustUntrusted},
		{"regexp: a substring pattern", alice, WithIdentityRegexp(`example\.com`, testIssuer), TrustUntrusted},
		{"regexp: a prefix pattern", alice, WithIdentityRegexp(`alice@`, testIssuer), TrustUntrusted},
		{"regexp: alternation is anchored as a whole", evil, WithIdentityRegexp(`alice@example\.com|bob@example\.com`, testIssuer), TrustUntrusted},
		{"regexp: alternation, second branch", bobAlice, WithIdentityRegexp(`alice@example\.com|bob@example\.com`, testIssuer), TrustTrusted},
		{"regexp: a trailing newline", newline, WithIdentityRegexp(`alice@example\.com`, testIssuer), TrustUntrusted},
		{"regexp: case sensitive by default", upper, WithIdentityRegexp(`alice@example\.com`, testIssuer), TrustUntrusted},
		{"regexp: case folding when asked", upper, WithIdentityRegexp(`(?i)alice@example\.com`, testIssuer), TrustTrusted},
		{"regexp: a domain family", alice, WithIdentityRegexp(`[^@]+@example\.com`, testIssuer), TrustTrusted},
		{"regexp: a domain family, other domain", evil, WithIdentityRegexp(`[^@]+@example\.com`, testIssuer), TrustUntrusted},
		{"regexp: the issuer is still exact", alice, WithIdentityRegexp(`.*`, testIssuer+"/"), TrustUntrusted},
		{"regexp: an empty identity matches nothing", "", WithIdentityRegexp(`.*`, testIssuer), TrustUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, v := signedBy(tc.signer)
			r, err := Verify(context.Background(), e, v, tc.policy)
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
			if r.Trust != TrustTrusted && r.TrustReason != noMatch {
				t.Errorf("TrustReason = %q; want %q", r.TrustReason, noMatch)
			}
			if strings.ContainsAny(r.TrustReason, "\n\x1b") {
				t.Errorf("TrustReason holds a raw control character: %q", r.TrustReason)
			}
		})
	}
}

func TestIdentityPolicyValidation(t *testing.T) {
	e, err := Load("testdata/dev-key-vector.signed.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		opt        VerifyOption
		want       string
		wantSyntax bool
	}{
		{"exact without issuer", WithIdentity(testIdentity, ""), `envelope.WithIdentity: both an identity and an issuer are required, got "alice@example.com" and ""`, false},
		{"exact without identity", WithIdentity("", testIssuer), `envelope.WithIdentity: both an identity and an issuer are required, got "" and "https://issuer.example"`, false},
		{"regexp without issuer", WithIdentityRegexp(".*", ""), `envelope.WithIdentityRegexp: both an identity and an issuer are required, got ".*" and ""`, false},
		{"invalid regexp", WithIdentityRegexp("(alice", testIssuer), `envelope.WithIdentityRegexp: invalid regular expression "(alice": error parsing regexp: missing closing ): ` + "`(alice`", true},
		{"a pattern that closes the anchoring group", WithIdentityRegexp(`x)|(.*`, testIssuer), `envelope.WithIdentityRegexp: invalid regular expression "x)|(.*": error parsing regexp: unexpected ): ` + "`x)|(.*`", true},
		{"a trailing \\Q that would quote the anchor", WithIdentityRegexp(`alice\Q`, testIssuer), `envelope.WithIdentityRegexp: invalid regular expression "alice\\Q": error parsing regexp: missing closing ): ` + "`^(?:alice\\Q)$`", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Verify(context.Background(), e, tc.opt)
			if err == nil {
				t.Fatal("Verify accepted an invalid identity policy")
			}
			if diff := cmp.Diff(tc.want, err.Error()); diff != "" {
				t.Errorf("error (-want +got):\n%s", diff)
			}
			var se *syntax.Error
			if got := errors.As(err, &se); got != tc.wantSyntax {
				t.Errorf("errors.As(err, *syntax.Error) = %v; want %v", got, tc.wantSyntax)
			}
			var ve *VerificationError
			if errors.As(err, &ve) {
				t.Errorf("an invalid option is reported as a *VerificationError: %v", err)
			}
		})
	}
}
