// Package keyless is Sigstore keyless signing and verification for v1
// result envelopes: its one job, kept out of package envelope so that a
// program that only reads, hashes, writes or dev-key-signs envelopes does
// not compile Sigstore, TUF, Rekor and gRPC. Every import of
// sigstore-go, sigstore, rekor, go-tuf and the Sigstore protobuf specs in
// this module lives here.
//
// # Signing
//
// [Signer] (from [NewSigner]) signs like the reference's keyless mode: a
// fresh ECDSA P-256 key signs the 64 ASCII bytes of the content hash (a
// message signature, as sigstore-python's sign_artifact makes), Fulcio
// certifies the key for the identity in the OIDC token ($SIGSTORE_ID_TOKEN
// or [WithIDToken]), Rekor logs the signature and a timestamp authority
// timestamps it; the signature block carries the whole bundle, so the
// reference's sigstore-python can verify it. Use it with [envelope.Sign].
// [Signer.Ready] tells before any work is done whether signing will be
// possible, including whether the token stays valid long enough
// ([WithIDTokenMinValidity]).
//
// # Verification
//
// [Verifier] (from [NewVerifier]) is the [envelope.MethodVerifier] for
// sigstore-cosign signatures: it checks the bundle, its certificate chain,
// transparency log entry and timestamps under a Sigstore trusted root
// ([WithTrustedRootFile], [WithTrustedMaterial], or the public-good root
// through TUF) and reports the certificate's identity and issuer. Give it
// to [envelope.Verify] with envelope.WithMethodVerifier(envelope.MethodSigstore, v);
// envelope.Verify keeps the trust policy (envelope.WithIdentity,
// envelope.WithIdentityRegexp: the whole identity and the exact issuer) and
// applies it to what the Verifier reports.
package keyless
