package envelope

import (
	"fmt"
	"strconv"
	"time"
)

// toValue renders e as the reference's model_dump(mode="json"): declared
// fields in declaration order with defaults filled in, then unknown fields.
// The signature is included when withSignature is set.
func (e *Envelope) toValue(withSignature bool) Value {
	o := &Object{}
	o.Set("envelope_version", String(e.EnvelopeVersion))
	o.Set("suite_id", String(e.SuiteID))
	o.Set("suite_version", String(e.SuiteVersion))
	o.Set("run_id", String(e.RunID))
	o.Set("timestamp", String(FormatTimestamp(e.Timestamp)))
	o.Set("model", withExtra(e.Model.Extra,
		Member{"id", String(e.Model.ID)},
		Member{"revision", String(e.Model.Revision)},
		Member{"provider", String(e.Model.Provider)},
		Member{"endpoint_hash", String(e.Model.EndpointHash)}))
	o.Set("engine", withExtra(e.Engine.Extra,
		Member{"name", String(e.Engine.Name)},
		Member{"version", String(e.Engine.Version)},
		Member{"config_hash", String(e.Engine.ConfigHash)},
		Member{"image_digest", String(e.Engine.ImageDigest)}))
	if q := e.Quantization; q != nil {
		o.Set("quantization", withExtra(q.Extra,
			Member{"format", String(q.Format)},
			Member{"method", String(q.Method)}))
	} else {
		o.Set("quantization", Null())
	}
	o.Set("hardware_fingerprint", e.HardwareFingerprint.toValue())
	sp := e.SoftwareProvenance
	o.Set("software_provenance", withExtra(sp.Extra,
		Member{"image_digest", String(sp.ImageDigest)},
		Member{"pip_freeze_hash", String(sp.PipFreezeHash)},
		Member{"git_commit", String(sp.GitCommit)},
		Member{"nvidia_smi_q_hash", String(sp.NvidiaSMIQHash)}))
	o.Set("dataset", withExtra(e.Dataset.Extra,
		Member{"id", String(e.Dataset.ID)},
		Member{"hash", String(e.Dataset.Hash)}))
	o.Set("seed", Int(e.Seed))
	o.Set("driver_options", ObjectValue(orEmpty(e.DriverOptions)))
	o.Set("metrics", ObjectValue(orEmpty(e.Metrics)))
	o.Set("distributions", ObjectValue(orEmpty(e.Distributions)))
	o.Set("slo_template", String(e.SLOTemplate))
	ws := make([]Value, len(e.Warnings))
	for i, w := range e.Warnings {
		ws[i] = String(w)
	}
	o.Set("warnings", Array(ws...))
	if withSignature {
		if s := e.Signature; s != nil {
			o.Set("signature", withExtra(s.Extra,
				Member{"method", String(s.Method)},
				Member{"certificate", String(s.Certificate)},
				Member{"rekor_log_index", Int(s.RekorLogIndex)},
				Member{"bundle", String(s.Bundle)}))
		} else {
			o.Set("signature", Null())
		}
	}
	for k, v := range e.Extra.All() {
		if !o.Has(k) {
			o.Set(k, v)
		}
	}
	return ObjectValue(o)
}

func (hf *HardwareFingerprint) toValue() Value {
	gpus := make([]Value, len(hf.GPUs))
	for i, g := range hf.GPUs {
		gpus[i] = g.toValue()
	}
	return withExtra(hf.Extra,
		Member{"fingerprint_sha256", String(hf.FingerprintSHA256)},
		Member{"dmi_uuid", String(hf.DMIUUID)},
		Member{"gpus", Array(gpus...)},
		Member{"cpu", withExtra(hf.CPU.Extra,
			Member{"model", String(hf.CPU.Model)},
			Member{"microcode", String(hf.CPU.Microcode)})},
		Member{"memory", withExtra(hf.Memory.Extra,
			Member{"channels", Int(hf.Memory.Channels)},
			Member{"speed_mts", Int(hf.Memory.SpeedMTS)},
			Member{"ecc", Bool(hf.Memory.ECC)})},
		Member{"bios", withExtra(hf.BIOS.Extra,
			Member{"version", String(hf.BIOS.Version)},
			Member{"resizable_bar", Bool(hf.BIOS.ResizableBAR)},
			Member{"above_4g", Bool(hf.BIOS.Above4G)})},
		Member{"numa", ObjectValue(orEmpty(hf.NUMA))},
		Member{"driver", String(hf.Driver)},
		Member{"cuda", String(hf.CUDA)},
		Member{"nccl", String(hf.NCCL)})
}

func (g GPU) toValue() Value {
	return withExtra(g.Extra,
		Member{"model", String(g.Model)},
		Member{"pci_id", String(g.PCIID)},
		Member{"serial", String(g.Serial)},
		Member{"vbios", String(g.VBIOS)})
}

// withExtra builds an object of the declared members followed by the extra
// members that do not collide with them.
func withExtra(extra *Object, declared ...Member) Value {
	o := &Object{members: make([]Member, 0, len(declared)+extra.Len())}
	o.members = append(o.members, declared...)
	for k, v := range extra.All() {
		if !o.Has(k) {
			o.Set(k, v)
		}
	}
	return ObjectValue(o)
}

func orEmpty(o *Object) *Object {
	if o == nil {
		return &Object{}
	}
	return o
}

// FormatTimestamp renders t as pydantic serializes a datetime: UTC (offset
// zero) as "Z", any other offset as ±HH:MM, six fractional digits when the
// microseconds are non-zero and none otherwise. Nanoseconds below a
// microsecond and seconds of the offset are dropped.
func FormatTimestamp(t time.Time) string {
	_, off := t.Zone()
	b := make([]byte, 0, 32)
	y, mo, d := t.Date()
	b = appendPad(b, y, 4)
	b = append(b, '-')
	b = appendPad(b, int(mo), 2)
	b = append(b, '-')
	b = appendPad(b, d, 2)
	b = append(b, 'T')
	b = appendPad(b, t.Hour(), 2)
	b = append(b, ':')
	b = appendPad(b, t.Minute(), 2)
	b = append(b, ':')
	b = appendPad(b, t.Second(), 2)
	if us := t.Nanosecond() / 1000; us != 0 {
		b = append(b, '.')
		b = appendPad(b, us, 6)
	}
	if off == 0 {
		return string(append(b, 'Z'))
	}
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	b = append(b, sign)
	b = appendPad(b, off/3600, 2)
	b = append(b, ':')
	b = appendPad(b, off/60%60, 2) // offset seconds are dropped, as pydantic does
	return string(b)
}

func appendPad(b []byte, n, width int) []byte {
	s := strconv.Itoa(n)
	for i := len(s); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

// CanonicalJSON returns the bytes the content hash is computed over, exactly
// as the reference produces them (FACTS §2.1–2.2): the envelope without its
// signature, defaults filled in, keys sorted at every depth, no whitespace,
// ASCII-only with \uXXXX escapes, floats in Python repr. It fails if the
// envelope is invalid or holds a non-finite float.
func (e *Envelope) CanonicalJSON() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return e.canonical()
}

// canonical canonicalizes without validating.
func (e *Envelope) canonical() ([]byte, error) {
	b, err := appendCanonical(make([]byte, 0, 4096), e.toValue(false))
	if err != nil {
		return nil, fmt.Errorf("canonical JSON: %w", err)
	}
	return b, nil
}
