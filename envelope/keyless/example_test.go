package keyless_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/envelope/keyless"
)

// Verify a keyless envelope: the Verifier checks the Sigstore bundle
// against a trusted root, envelope.Verify matches the identity policy
// against the signer it reports. (Compiled, not run: it needs an envelope
// signed by a real Sigstore instance and its trusted root.)
func ExampleNewVerifier() {
	ctx := context.Background()
	e, err := envelope.Load("c16-b91875fdf860.json")
	if err != nil {
		log.Fatal(err)
	}
	v, err := keyless.NewVerifier(keyless.WithTrustedRootFile("trusted_root.json")) // default: public-good root via TUF
	if err != nil {
		log.Fatal(err)
	}
	r, err := envelope.Verify(ctx, e,
		envelope.WithMethodVerifier(envelope.MethodSigstore, v),
		envelope.WithIdentityRegexp(`https://github\.com/acme/bench/\.github/workflows/[^/]+@refs/heads/main`,
			"https://token.actions.githubusercontent.com"),
		envelope.RequireTrusted())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("signed by", r.SignerIdentity, "at Rekor index", r.RekorLogIndex)
}

// Sign an envelope keyless, with the OIDC token from $SIGSTORE_ID_TOKEN,
// after checking that signing will be possible. (Compiled, not run: it
// needs a token and the network.)
func ExampleNewSigner() {
	ctx := context.Background()
	e, err := envelope.Load("unsigned.json")
	if err != nil {
		log.Fatal(err)
	}
	s, err := keyless.NewSigner(keyless.WithIDTokenMinValidity(5 * time.Minute))
	if err != nil {
		log.Fatal(err)
	}
	if err := s.Ready(ctx); err != nil {
		log.Fatal(err)
	}
	signed, err := envelope.Sign(ctx, e, s)
	if err != nil {
		log.Fatal(err)
	}
	path, err := envelope.Write("results", "bench", signed)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("wrote", path)
}
