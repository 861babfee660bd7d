package envelope

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// BuildOption configures [Build].
type BuildOption interface {
	applyBuild(*buildConfig)
}

type buildOptionFunc func(*buildConfig)

func (f buildOptionFunc) applyBuild(c *buildConfig) { f(c) }

type buildConfig struct {
	now  func() time.Time
	rand io.Reader
}

// WithNow sets the clock Build reads the timestamp from.
// By default, if this option is not used, time.Now is used.
func WithNow(now func() time.Time) BuildOption {
	return buildOptionFunc(func(c *buildConfig) { c.now = now })
}

// WithRandom sets the source of the run_id's random bits.
// By default, if this option is not used, crypto/rand.Reader is used.
func WithRandom(r io.Reader) BuildOption {
	return buildOptionFunc(func(c *buildConfig) { c.rand = r })
}

// Build returns a new unsigned envelope holding template's content, as the
// reference's EnvelopeBuilder makes one: envelope_version "v1"; a fresh
// UUIDv7 run_id whose millisecond field equals the timestamp's; the current
// UTC time with microsecond precision as the timestamp; empty containers for
// nil driver_options, metrics, distributions and numa; and
// hardware_fingerprint.fingerprint_sha256 computed over the fingerprint
// (FACTS §1.6). Template's RunID, Timestamp, FingerprintSHA256 and Signature
// are ignored. The result is validated: an invalid template (no metrics, a
// malformed hash) is an error.
func Build(template *Envelope, opts ...BuildOption) (*Envelope, error) {
	c := &buildConfig{now: time.Now, rand: rand.Reader}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("build envelope: option %d is nil", i+1)
		}
		o.applyBuild(c)
	}
	if c.now == nil || c.rand == nil {
		return nil, fmt.Errorf("build envelope: WithNow and WithRandom need a non-nil argument")
	}
	e := template.Clone()
	e.Signature = nil
	e.EnvelopeVersion = Version
	e.Timestamp = c.now().UTC().Truncate(time.Microsecond)
	id, err := NewRunID(e.Timestamp, c.rand)
	if err != nil {
		return nil, fmt.Errorf("build envelope: %w", err)
	}
	e.RunID = id
	// Normalize (strip strings) before hashing the fingerprint, as pydantic
	// validates the sub-models before the envelope's hash is taken.
	e.HardwareFingerprint.FingerprintSHA256 = ZeroHash
	stripFingerprint(&e.HardwareFingerprint)
	fp, err := e.HardwareFingerprint.Compute()
	if err != nil {
		return nil, fmt.Errorf("build envelope: %w", err)
	}
	e.HardwareFingerprint.FingerprintSHA256 = fp
	n, err := e.normalized()
	if err != nil {
		return nil, fmt.Errorf("build envelope: %w", err)
	}
	return n, nil
}

// stripFingerprint applies the whitespace stripping validation would apply
// to the hashed fingerprint fields.
func stripFingerprint(hf *HardwareFingerprint) {
	d := &decoder{}
	v := hf.toValue()
	var tmp HardwareFingerprint
	d.fingerprintFields(v, &tmp)
	if len(d.errs) == 0 {
		tmp.FingerprintSHA256 = hf.FingerprintSHA256
		*hf = tmp
	}
}

// NewRunID returns a UUIDv7 as the reference makes it (FACTS §1.4): the
// 48-bit unix millisecond of t, version 7, 12 random bits, variant 0b10 and
// 62 random bits, in lowercase 8-4-4-4-12 form.
func NewRunID(t time.Time, r io.Reader) (string, error) {
	var rnd [10]byte
	if _, err := io.ReadFull(r, rnd[:]); err != nil {
		return "", fmt.Errorf("run_id: read random bits: %w", err)
	}
	var u [16]byte
	ms := uint64(t.UnixMilli()) & 0xFFFFFFFFFFFF
	binary.BigEndian.PutUint64(u[0:8], ms<<16)
	randA := binary.BigEndian.Uint16(rnd[0:2]) & 0x0FFF
	binary.BigEndian.PutUint16(u[6:8], 0x7000|randA)
	randB := binary.BigEndian.Uint64(rnd[2:10]) & 0x3FFFFFFFFFFFFFFF
	binary.BigEndian.PutUint64(u[8:16], 0x8000000000000000|randB)
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}
