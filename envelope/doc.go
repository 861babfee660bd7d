// Package envelope reads, writes, hashes, signs and verifies v1 result
// envelopes, byte-compatible with the InferenceBench reference.
//
// It is the light core: its only dependencies outside the standard library
// are golang.org/x/crypto and go-securesystemslib (for encrypted cosign
// keys). Sigstore keyless signing and verification, with the Sigstore, TUF
// and gRPC stack they need, live in package envelope/keyless, which plugs
// into [Sign] and [Verify] through [Signer], [SelfVerifier] and
// [MethodVerifier].
//
// # Reading
//
// [Parse] and [Load] validate exactly as the reference's pydantic model does
// (required fields, patterns, lengths, literals, the hardware fingerprint
// self-hash, non-empty metrics, a timezone-aware timestamp) and apply the same
// lax coercions, because they change what gets hashed: typed strings are
// stripped of surrounding Unicode whitespace, a boolean metric becomes 1.0 or
// 0.0, integer fields accept integral floats and numeric strings, timestamps
// accept the forms pydantic accepts and are re-rendered. Unknown fields are
// kept at every level, written back and covered by the hash.
//
// Deliberate deviations from the reference, all rejections with a clear
// error: an object that repeats a key, at any depth (a *[DuplicateKeyError];
// the reference keeps the last value, other readers the first, so a file
// could show a figure its signature does not cover), and dict keys
// (metrics, distributions, driver_options, numa) that collide once stripped;
// the non-standard JSON tokens NaN, Infinity and -Infinity; float literals
// beyond the float64 range (Python reads them as inf); integers beyond int64
// in typed integer fields (seed, memory.channels, memory.speed_mts,
// signature.rekor_log_index). Metrics and other untyped values keep integers
// of any size. A NaN or infinite float makes [Envelope.CanonicalJSON] fail:
// the reference would hash the token NaN but write null, so the envelope
// could never verify after a reload.
//
// [Load] and [ReadFile] read only regular files (a FIFO or a device is
// refused without blocking) of at most [DefaultMaxFileSize] (1 MiB) unless
// [WithMaxFileSize] raises it; key files have their own limit
// ([MaxKeyFileSize]), and so do the Sigstore files envelope/keyless reads. [IsCanonicalFile] tells whether
// a file's bytes are exactly its canonical rendering. Error messages quote
// the text they take from a file, so they carry no raw control characters.
//
// # Canonical form
//
// [Envelope.CanonicalJSON] is Python's json.dumps(sort_keys=True,
// separators=(",", ":"), ensure_ascii=True) of the model dump without the
// signature: keys sorted by code point at every depth, \uXXXX escapes for
// everything outside printable ASCII, floats in Python repr, defaults filled
// in. [Envelope.ContentHash] is its SHA-256 in lowercase hex, the value a
// signature covers.
//
// # Writing
//
// [Envelope.Bytes] reproduces the reference's file layout byte for byte and
// [Write] stores it atomically as <prefix>-<hash[:12]>.json, refusing to
// replace a different existing file. [Build] makes a new envelope with a
// UUIDv7 run_id tied to its timestamp and the fingerprint hash filled in.
//
// # Signing
//
// [Sign] signs a copy of an envelope with any [Signer] and verifies what it
// signed before returning it. [DevSigner] is the reference's dev mode:
// ed25519 over the 64 ASCII bytes of the content hash, with a byte-exact
// signature block; its key is an unencrypted PKCS#8 PEM file or a cosign or
// Sigstore encrypted key ($COSIGN_PASSWORD). [GenerateKeyPair] writes a new
// pair, never overwriting. Sigstore keyless signing (Fulcio, Rekor, a
// timestamp authority, over the same bytes as a message signature, so the
// reference's sigstore-python can verify it) is keyless.Signer, in package
// envelope/keyless; it is a [SelfVerifier], so Sign checks its signatures
// against its own trusted root.
//
// # Verification and trust
//
// [Verify] separates integrity from trust. Integrity: the signature covers
// this content. Trust: the signer is one the caller pinned — a public key
// ([WithTrustedKeys]) for dev-key envelopes, an identity and issuer for
// keyless ones, the whole identity matched exactly ([WithIdentity]) or by
// an anchored regular expression ([WithIdentityRegexp]), never by a
// substring, and the issuer matched exactly. An intact envelope from anyone
// else is "integrity ok, signer untrusted" ([TrustUntrusted]), an error
// only under [RequireTrusted]. The reference trusts any key an envelope
// carries (FACTS §10.1); this package never does.
//
// Dev-key signatures are checked here. A sigstore-cosign signature is
// checked by the [MethodVerifier] given with [WithMethodVerifier] —
// keyless.NewVerifier, which verifies the bundle, its certificate chain,
// transparency log entry and timestamps against a Sigstore trusted root and
// reports the certificate's identity and issuer — and Verify applies the
// identity policies to what it reports:
//
//	v, err := keyless.NewVerifier() // the public-good root, through TUF
//	...
//	r, err := envelope.Verify(ctx, e,
//		envelope.WithMethodVerifier(envelope.MethodSigstore, v),
//		envelope.WithIdentity("alice@example.com", "https://accounts.google.com"))
//
// Without one, a sigstore-cosign envelope fails verification with a
// *[VerificationError] wrapping [ErrNoMethodVerifier].
package envelope
