// Package envelope reads, writes, hashes, signs and verifies v1 result
// envelopes, byte-compatible with the InferenceBench reference.
//
// # Reading
//
// [Parse] and [Load] validate exactly as the reference's pydantic model does
// (required fields, patterns, lengths, literals, the hardware fingerprint
// self-hash, non-empty metrics, a timezone-aware timestamp) and apply the same
// lax coercions, because they change what gets hashed: typed strings are
// stripped of surrounding Unicode whitespace, a boolean metric becomes 1.0 or
// 0.0, integer fields accept integral floats and numeric strings, timestamps
// accept the forms pydantic accepts and are re-rendered, and the last of
// duplicate keys wins. Unknown fields are kept at every level, written back
// and covered by the hash.
//
// Deliberate deviations from the reference, all rejections with a clear
// error: the non-standard JSON tokens NaN, Infinity and -Infinity; float
// literals beyond the float64 range (Python reads them as inf); integers
// beyond int64 in typed integer fields (seed, memory.channels,
// memory.speed_mts, signature.rekor_log_index). Metrics and other untyped
// values keep integers of any size. A NaN or infinite float makes
// [Envelope.CanonicalJSON] fail: the reference would hash the token NaN but
// write null, so the envelope could never verify after a reload.
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
// replace a different existing file.
package envelope
