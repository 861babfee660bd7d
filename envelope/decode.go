package envelope

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Parse reads an envelope from JSON and validates it exactly as the
// reference loader does (FACTS §1–2): required fields, patterns, lengths,
// literals, the hardware fingerprint self-hash, non-empty metrics and a
// timezone-aware timestamp, with the reference's lax coercions (typed strings
// stripped of surrounding whitespace, a boolean metric read as 1.0/0.0,
// integer fields accepting integral floats and numeric strings, the
// timestamp forms pydantic accepts).
//
// Unlike the reference, which keeps the last of duplicate keys, Parse
// rejects an object that repeats a key at any depth (a *DuplicateKeyError),
// and a metrics, distributions, driver_options or numa object whose keys
// collide once surrounding whitespace is stripped (a *ValidationError):
// readers disagree on which duplicate counts, so a file could show one value
// while its signature covers another.
//
// A *SyntaxError reports input that is not JSON, a *ValidationError input
// that breaks the schema. Messages quote (%q) the text they take from data.
func Parse(data []byte) (*Envelope, error) {
	v, err := parseJSON(data)
	var dup *DuplicateKeyError
	switch {
	case errors.As(err, &dup):
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return fromValue(v)
}

// Validate reports whether e satisfies the v1 schema, as Parse would judge
// the file that [Write] makes of it. The error is a *ValidationError.
func (e *Envelope) Validate() error {
	_, err := e.normalized()
	return err
}

// normalized returns e as the reference model would hold it after
// validation: strings stripped, defaults filled in, coercions applied.
func (e *Envelope) normalized() (*Envelope, error) {
	return fromValue(e.toValue(true))
}

func fromValue(v Value) (*Envelope, error) {
	d := &decoder{}
	e := d.envelope(v)
	if len(d.errs) > 0 {
		return nil, &ValidationError{Errors: d.errs}
	}
	return e, nil
}

type decoder struct {
	errs []FieldError
}

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, FieldError{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// failStrippedDuplicate reports a key that, stripped of surrounding
// whitespace as the reference strips dict keys, repeats an earlier one.
func (d *decoder) failStrippedDuplicate(path, stripped string) {
	d.fail(path, "repeats the key %q once surrounding whitespace is stripped: an envelope must not repeat a key, readers disagree on which one counts", stripped)
}

// join appends key to the dotted field path. A key that is not a plain name
// (ASCII letters, digits, '_' and '-') comes from the file and is written as
// ["…"] in Go quoting, so that the path is unambiguous and a control
// character in the key cannot reach a terminal raw.
func join(path, key string) string {
	if !isPlainKey(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}

func isPlainKey(key string) bool {
	if key == "" {
		return false
	}
	for i := range len(key) {
		c := key[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// fields walks a model's members: declared keys are handed out by get and
// the rest become Extra, in input order.
type fields struct {
	d        *decoder
	path     string
	obj      *Object
	declared map[string]bool
}

func (d *decoder) model(path string, v Value, declared ...string) (*fields, bool) {
	obj, ok := v.AsObject()
	if !ok {
		d.fail(path, "must be an object, got %s", v.Kind())
		return nil, false
	}
	f := &fields{d: d, path: path, obj: obj, declared: make(map[string]bool, len(declared))}
	for _, k := range declared {
		f.declared[k] = true
	}
	return f, true
}

func (f *fields) extra() *Object {
	x := &Object{}
	for k, v := range f.obj.All() {
		if !f.declared[k] {
			x.Set(k, v)
		}
	}
	return x
}

func (f *fields) get(key string) (Value, bool) { return f.obj.Get(key) }

// str validates a required str field (stripped), with a minimum and maximum
// length in characters (max < 0: none).
func (f *fields) str(key string, minLen, maxLen int) string {
	path := join(f.path, key)
	v, ok := f.get(key)
	if !ok {
		f.d.fail(path, "field required")
		return ""
	}
	return f.d.strValue(path, v, minLen, maxLen)
}

// optStr validates an optional str field with default "".
func (f *fields) optStr(key string) string {
	v, ok := f.get(key)
	if !ok {
		return ""
	}
	return f.d.strValue(join(f.path, key), v, 0, -1)
}

func (d *decoder) strValue(path string, v Value, minLen, maxLen int) string {
	s, ok := d.asStr(path, v)
	if !ok {
		return ""
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n < minLen && minLen == 1:
		d.fail(path, "must not be empty")
	case n < minLen:
		d.fail(path, "must have at least %d characters, got %d", minLen, n)
	case maxLen >= 0 && n > maxLen:
		d.fail(path, "must have at most %d characters, got %d", maxLen, n)
	}
	return s
}

// asStr accepts a JSON string, stripped of surrounding Unicode whitespace as
// pydantic's str_strip_whitespace does.
func (d *decoder) asStr(path string, v Value) (string, bool) {
	s, ok := v.AsString()
	if !ok {
		d.fail(path, "must be a string, got %s", v.Kind())
		return "", false
	}
	if hasSurrogate(s) {
		d.fail(path, "must be valid Unicode (holds a lone surrogate escape)")
		return "", false
	}
	return strings.TrimSpace(s), true
}

// hex64 validates a required str field against ^[0-9a-f]{64}$.
func (f *fields) hex64(key string) string {
	path := join(f.path, key)
	v, ok := f.get(key)
	if !ok {
		f.d.fail(path, "field required")
		return ""
	}
	s, ok := f.d.asStr(path, v)
	if ok && !isHex64(s) {
		f.d.fail(path, "must be 64 lowercase hex characters")
	}
	return s
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func (f *fields) int(key string, required bool, def int64) int64 {
	path := join(f.path, key)
	v, ok := f.get(key)
	if !ok {
		if required {
			f.d.fail(path, "field required")
		}
		return def
	}
	i, err := laxInt(v)
	if err != nil {
		f.d.fail(path, "%v", err)
	}
	return i
}

// intIn validates a required int field within [lo, hi].
func (f *fields) intIn(key string, lo, hi int64) int64 {
	path := join(f.path, key)
	v, ok := f.get(key)
	if !ok {
		f.d.fail(path, "field required")
		return 0
	}
	i, err := laxInt(v)
	switch {
	case err != nil:
		f.d.fail(path, "%v", err)
	case i < lo && hi == math.MaxInt64:
		f.d.fail(path, "must be at least %d, got %d", lo, i)
	case i < lo || i > hi:
		f.d.fail(path, "must be between %d and %d, got %d", lo, hi, i)
	}
	return i
}

func (f *fields) bool(key string, required bool) bool {
	path := join(f.path, key)
	v, ok := f.get(key)
	if !ok {
		if required {
			f.d.fail(path, "field required")
		}
		return false
	}
	b, err := laxBool(v)
	if err != nil {
		f.d.fail(path, "%v", err)
	}
	return b
}

// strDict validates dict[str, Any] (values kept as they are) and
// dict[str, str] (values stripped) members: keys are stripped.
func (f *fields) dict(key string, strValues bool) *Object {
	path := join(f.path, key)
	out := &Object{}
	v, ok := f.get(key)
	if !ok {
		return out
	}
	obj, ok := v.AsObject()
	if !ok {
		f.d.fail(path, "must be an object, got %s", v.Kind())
		return out
	}
	for k, mv := range obj.All() {
		kp := join(path, k)
		sk, ok := f.d.asStr(kp, String(k))
		if !ok {
			continue
		}
		if strValues {
			s, ok := f.d.asStr(kp, mv)
			if !ok {
				continue
			}
			mv = String(s)
		}
		if out.Has(sk) {
			f.d.failStrippedDuplicate(kp, sk)
			continue
		}
		out.Set(sk, mv)
	}
	return out
}

func (d *decoder) envelope(v Value) *Envelope {
	f, ok := d.model("", v,
		"envelope_version", "suite_id", "suite_version", "run_id", "timestamp", "model",
		"engine", "quantization", "hardware_fingerprint", "software_provenance", "dataset",
		"seed", "driver_options", "metrics", "distributions", "slo_template", "warnings", "signature")
	if !ok {
		return nil
	}
	e := &Envelope{EnvelopeVersion: Version}
	if ev, ok := f.get("envelope_version"); ok {
		if s, isStr := ev.AsString(); !isStr || s != Version {
			d.fail("envelope_version", "must be %q, got %s", Version, ev.GoString())
		}
	}
	e.SuiteID = f.str("suite_id", 1, -1)
	if sv, ok := f.get("suite_version"); !ok {
		d.fail("suite_version", "field required")
	} else if s, ok := d.asStr("suite_version", sv); ok {
		e.SuiteVersion = s
		if !isSuiteVersion(s) {
			d.fail("suite_version", "must match ^\\d+\\.\\d+\\.\\d+(-[\\w.]+)?$ (semantic version), got %q", s)
		}
	}
	e.RunID = f.str("run_id", 0, -1)
	if tv, ok := f.get("timestamp"); !ok {
		d.fail("timestamp", "field required")
	} else if t, err := parseTimestampValue(tv); err != nil {
		d.fail("timestamp", "%v", err)
	} else {
		e.Timestamp = t
	}
	if mv, ok := f.get("model"); !ok {
		d.fail("model", "field required")
	} else if m, ok := d.model("model", mv, "id", "revision", "provider", "endpoint_hash"); ok {
		e.Model = Model{
			ID:           m.str("id", 1, -1),
			Revision:     m.str("revision", 7, 40),
			Provider:     m.str("provider", 1, -1),
			EndpointHash: m.hex64("endpoint_hash"),
			Extra:        m.extra(),
		}
	}
	if ev, ok := f.get("engine"); !ok {
		d.fail("engine", "field required")
	} else if m, ok := d.model("engine", ev, "name", "version", "config_hash", "image_digest"); ok {
		e.Engine = Engine{
			Name:        m.str("name", 1, -1),
			Version:     m.str("version", 1, -1),
			ConfigHash:  m.hex64("config_hash"),
			ImageDigest: m.optStr("image_digest"),
			Extra:       m.extra(),
		}
	}
	if qv, ok := f.get("quantization"); ok && !qv.IsNull() {
		if m, ok := d.model("quantization", qv, "format", "method"); ok {
			e.Quantization = &Quantization{
				Format: m.str("format", 0, -1),
				Method: m.optStr("method"),
				Extra:  m.extra(),
			}
		}
	}
	if hv, ok := f.get("hardware_fingerprint"); !ok {
		d.fail("hardware_fingerprint", "field required")
	} else {
		d.fingerprint(hv, &e.HardwareFingerprint)
	}
	if sv, ok := f.get("software_provenance"); !ok {
		d.fail("software_provenance", "field required")
	} else if m, ok := d.model("software_provenance", sv, "image_digest", "pip_freeze_hash", "git_commit", "nvidia_smi_q_hash"); ok {
		e.SoftwareProvenance = SoftwareProvenance{
			ImageDigest:    m.optStr("image_digest"),
			PipFreezeHash:  m.hex64("pip_freeze_hash"),
			GitCommit:      m.str("git_commit", 7, 40),
			NvidiaSMIQHash: m.optStr("nvidia_smi_q_hash"),
			Extra:          m.extra(),
		}
	}
	if dv, ok := f.get("dataset"); !ok {
		d.fail("dataset", "field required")
	} else if m, ok := d.model("dataset", dv, "id", "hash"); ok {
		e.Dataset = Dataset{ID: m.str("id", 1, -1), Hash: m.hex64("hash"), Extra: m.extra()}
	}
	e.Seed = f.int("seed", true, 0)
	e.DriverOptions = f.dict("driver_options", false)
	e.Metrics = d.metrics(f)
	e.Distributions = f.dict("distributions", true)
	e.SLOTemplate = f.optStr("slo_template")
	e.Warnings = d.warnings(f)
	if sv, ok := f.get("signature"); ok && !sv.IsNull() {
		e.Signature = d.signature(sv)
	}
	e.Extra = f.extra()

	// Model-level checks run only when every field validated, as in pydantic.
	if len(d.errs) == 0 && e.Metrics.Len() == 0 {
		d.fail("metrics", "%s", ErrNoMetrics.Error())
	}
	return e
}

func (d *decoder) fingerprint(v Value, hf *HardwareFingerprint) {
	const path = "hardware_fingerprint"
	m, ok := d.model(path, v, "fingerprint_sha256", "dmi_uuid", "gpus", "cpu", "memory", "bios", "numa", "driver", "cuda", "nccl")
	if !ok {
		return
	}
	before := len(d.errs)
	d.fingerprintModel(m, hf)
	if len(d.errs) > before {
		return
	}
	got, err := hf.Compute()
	if err != nil {
		d.fail(path, "%v", err)
		return
	}
	if got != hf.FingerprintSHA256 {
		d.fail(path+".fingerprint_sha256", "%s: stored=%s, computed=%s", ErrFingerprintMismatch.Error(), hf.FingerprintSHA256, got)
	}
}

// fingerprintFields decodes the fingerprint without checking its hash.
func (d *decoder) fingerprintFields(v Value, hf *HardwareFingerprint) {
	m, ok := d.model("hardware_fingerprint", v, "fingerprint_sha256", "dmi_uuid", "gpus", "cpu", "memory", "bios", "numa", "driver", "cuda", "nccl")
	if ok {
		d.fingerprintModel(m, hf)
	}
}

func (d *decoder) fingerprintModel(m *fields, hf *HardwareFingerprint) {
	path := m.path
	hf.FingerprintSHA256 = m.hex64("fingerprint_sha256")
	hf.DMIUUID = m.str("dmi_uuid", 1, -1)
	if gv, ok := m.get("gpus"); ok {
		if gv.Kind() != KindArray {
			d.fail(path+".gpus", "must be an array, got %s", gv.Kind())
		}
		for i, g := range gv.Elems() {
			gp := fmt.Sprintf("%s.gpus[%d]", path, i)
			gm, ok := d.model(gp, g, "model", "pci_id", "serial", "vbios")
			if !ok {
				continue
			}
			hf.GPUs = append(hf.GPUs, GPU{
				Model:  gm.str("model", 1, -1),
				PCIID:  gm.str("pci_id", 1, -1),
				Serial: gm.str("serial", 1, -1),
				VBIOS:  gm.str("vbios", 1, -1),
				Extra:  gm.extra(),
			})
		}
	}
	if cv, ok := m.get("cpu"); !ok {
		d.fail(path+".cpu", "field required")
	} else if cm, ok := d.model(path+".cpu", cv, "model", "microcode"); ok {
		hf.CPU = CPU{Model: cm.str("model", 1, -1), Microcode: cm.str("microcode", 1, -1), Extra: cm.extra()}
	}
	if mv, ok := m.get("memory"); !ok {
		d.fail(path+".memory", "field required")
	} else if mm, ok := d.model(path+".memory", mv, "channels", "speed_mts", "ecc"); ok {
		hf.Memory = Memory{
			Channels: mm.intIn("channels", 1, 16),
			SpeedMTS: mm.intIn("speed_mts", 1, math.MaxInt64),
			ECC:      mm.bool("ecc", false),
			Extra:    mm.extra(),
		}
	}
	if bv, ok := m.get("bios"); !ok {
		d.fail(path+".bios", "field required")
	} else if bm, ok := d.model(path+".bios", bv, "version", "resizable_bar", "above_4g"); ok {
		hf.BIOS = BIOS{
			Version:      bm.str("version", 1, -1),
			ResizableBAR: bm.bool("resizable_bar", true),
			Above4G:      bm.bool("above_4g", true),
			Extra:        bm.extra(),
		}
	}
	hf.NUMA = m.dict("numa", false)
	hf.Driver = m.optStr("driver")
	hf.CUDA = m.optStr("cuda")
	hf.NCCL = m.optStr("nccl")
	hf.Extra = m.extra()
}

// metrics validates dict[str, float | int | str | None] in pydantic's smart
// union mode: an int stays an int, a float a float, a string is stripped, a
// boolean becomes the float 1.0 or 0.0.
func (d *decoder) metrics(f *fields) *Object {
	out := &Object{}
	v, ok := f.get("metrics")
	if !ok {
		return out
	}
	obj, ok := v.AsObject()
	if !ok {
		d.fail("metrics", "must be an object, got %s", v.Kind())
		return out
	}
	for k, mv := range obj.All() {
		path := join("metrics", k)
		key, ok := d.asStr(path, String(k))
		if !ok {
			continue
		}
		switch mv.Kind() {
		case KindNull, KindInt, KindFloat:
		case KindBool:
			if b, _ := mv.AsBool(); b {
				mv = Float(1)
			} else {
				mv = Float(0)
			}
		case KindString:
			s, ok := d.asStr(path, mv)
			if !ok {
				continue
			}
			mv = String(s)
		default:
			d.fail(path, "must be a number, a string or null, got %s", mv.Kind())
			continue
		}
		if out.Has(key) {
			d.failStrippedDuplicate(path, key)
			continue
		}
		out.Set(key, mv)
	}
	return out
}

func (d *decoder) warnings(f *fields) []string {
	v, ok := f.get("warnings")
	if !ok {
		return []string{}
	}
	if v.Kind() != KindArray {
		d.fail("warnings", "must be an array of strings, got %s", v.Kind())
		return nil
	}
	out := make([]string, 0, v.Len())
	for i, w := range v.Elems() {
		if s, ok := d.asStr(fmt.Sprintf("warnings[%d]", i), w); ok {
			out = append(out, s)
		}
	}
	return out
}

func (d *decoder) signature(v Value) *Signature {
	m, ok := d.model("signature", v, "method", "certificate", "rekor_log_index", "bundle")
	if !ok {
		return nil
	}
	s := &Signature{}
	if mv, ok := m.get("method"); !ok {
		d.fail("signature.method", "field required")
	} else if str, isStr := mv.AsString(); !isStr || (str != MethodDevKey && str != MethodSigstore) {
		d.fail("signature.method", "must be %q or %q, got %s", MethodSigstore, MethodDevKey, mv.GoString())
	} else {
		s.Method = str
	}
	s.Certificate = m.str("certificate", 1, -1)
	s.RekorLogIndex = m.int("rekor_log_index", false, -1)
	s.Bundle = m.optStr("bundle")
	s.Extra = m.extra()
	return s
}

// isSuiteVersion matches ^\d+\.\d+\.\d+(-[\w.]+)?$ with Unicode \d and \w,
// as the Rust regex engine pydantic uses does.
func isSuiteVersion(s string) bool {
	rest := s
	for i := range 3 {
		n := 0
		for rest != "" {
			r, size := utf8.DecodeRuneInString(rest)
			if !isUnicodeDigit(r) {
				break
			}
			rest = rest[size:]
			n++
		}
		if n == 0 {
			return false
		}
		if i < 2 {
			if !strings.HasPrefix(rest, ".") {
				return false
			}
			rest = rest[1:]
		}
	}
	if rest == "" {
		return true
	}
	if !strings.HasPrefix(rest, "-") || len(rest) == 1 {
		return false
	}
	for _, r := range rest[1:] {
		if r != '.' && !isWordChar(r) {
			return false
		}
	}
	return true
}
