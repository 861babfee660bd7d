package envelope

import "time"

// Version is the only envelope_version this package reads and writes.
const Version = "v1"

// Signature methods.
const (
	MethodDevKey   = "dev-key"
	MethodSigstore = "sigstore-cosign"
)

// ZeroHash is 64 zeros, the placeholder the reference writes for hashes it
// does not compute (model.endpoint_hash, engine.config_hash).
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// EmptySHA256 is the SHA-256 of no bytes.
const EmptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// Envelope is a v1 result envelope (FACTS §1.2). Fields are in the order the
// reference declares and writes them. Extra holds unknown top-level members;
// every sub-struct has its own Extra. Unknown fields are kept, written and
// covered by the content hash, as in the reference.
//
// Build one with [Build] or [Parse]; mutate it freely, then call
// [Envelope.Validate] (also done by [Envelope.CanonicalJSON] and [Write]).
type Envelope struct {
	EnvelopeVersion     string // always "v1"
	SuiteID             string
	SuiteVersion        string // ^\d+\.\d+\.\d+(-[\w.]+)?$
	RunID               string // UUIDv7 by convention; not validated, as in the reference
	Timestamp           time.Time
	Model               Model
	Engine              Engine
	Quantization        *Quantization // nil is written as null
	HardwareFingerprint HardwareFingerprint
	SoftwareProvenance  SoftwareProvenance
	Dataset             Dataset
	Seed                int64
	// DriverOptions records how the load was driven. Values are untyped.
	DriverOptions *Object
	// Metrics maps a metric name to a float, int, string or null value, in
	// insertion order. At least one metric is required.
	Metrics *Object
	// Distributions maps a name to a string (a side file and its hash).
	Distributions *Object
	SLOTemplate   string
	Warnings      []string
	Signature     *Signature // nil when unsigned; never part of the content hash
	Extra         *Object
}

// Model identifies the model served.
type Model struct {
	ID           string // min length 1
	Revision     string // 7..40 characters
	Provider     string // min length 1
	EndpointHash string // 64 lowercase hex
	Extra        *Object
}

// Engine identifies the serving engine.
type Engine struct {
	Name        string // min length 1
	Version     string // min length 1
	ConfigHash  string // 64 lowercase hex
	ImageDigest string
	Extra       *Object
}

// Quantization describes the weights' format.
type Quantization struct {
	Format string
	Method string
	Extra  *Object
}

// HardwareFingerprint describes the host. FingerprintSHA256 must equal
// [HardwareFingerprint.Compute] over the other fields (FACTS §1.6); Parse
// rejects a mismatch.
type HardwareFingerprint struct {
	FingerprintSHA256 string // 64 lowercase hex
	DMIUUID           string // min length 1
	GPUs              []GPU
	CPU               CPU
	Memory            Memory
	BIOS              BIOS
	NUMA              *Object // untyped, hashed as is
	Driver            string
	CUDA              string
	NCCL              string
	Extra             *Object // not covered by fingerprint_sha256
}

// GPU is one device, in NVML index order.
type GPU struct {
	Model  string
	PCIID  string
	Serial string
	VBIOS  string
	Extra  *Object
}

// CPU is the host processor.
type CPU struct {
	Model     string
	Microcode string
	Extra     *Object
}

// Memory is the host memory as the reference reports it.
type Memory struct {
	Channels int64 // 1..16
	SpeedMTS int64 // >= 1
	ECC      bool
	Extra    *Object
}

// BIOS is the host firmware.
type BIOS struct {
	Version      string
	ResizableBAR bool
	Above4G      bool
	Extra        *Object
}

// SoftwareProvenance records the software that produced the run.
type SoftwareProvenance struct {
	ImageDigest    string
	PipFreezeHash  string // 64 lowercase hex
	GitCommit      string // 7..40 characters
	NvidiaSMIQHash string
	Extra          *Object
}

// Dataset identifies the workload.
type Dataset struct {
	ID    string
	Hash  string // 64 lowercase hex, no "sha256:" prefix
	Extra *Object
}

// Signature is the signature block.
type Signature struct {
	Method        string // MethodDevKey or MethodSigstore
	Certificate   string // dev-key: SPKI PEM; sigstore: leaf certificate PEM
	RekorLogIndex int64  // -1 when there is no transparency log entry
	Bundle        string // dev-key: base64 signature; sigstore: base64 bundle JSON
	Extra         *Object
}

// Metric returns the named metric as a float64 and whether it is present and
// numeric. Integers are converted.
func (e *Envelope) Metric(name string) (float64, bool) {
	v, ok := e.Metrics.Get(name)
	if !ok {
		return 0, false
	}
	return v.AsFloat64()
}

// Clone returns a deep copy of e.
func (e *Envelope) Clone() *Envelope {
	c := *e
	c.Model.Extra = e.Model.Extra.Clone()
	c.Engine.Extra = e.Engine.Extra.Clone()
	if e.Quantization != nil {
		q := *e.Quantization
		q.Extra = q.Extra.Clone()
		c.Quantization = &q
	}
	hf := &c.HardwareFingerprint
	hf.GPUs = make([]GPU, len(e.HardwareFingerprint.GPUs))
	for i, g := range e.HardwareFingerprint.GPUs {
		g.Extra = g.Extra.Clone()
		hf.GPUs[i] = g
	}
	hf.CPU.Extra = hf.CPU.Extra.Clone()
	hf.Memory.Extra = hf.Memory.Extra.Clone()
	hf.BIOS.Extra = hf.BIOS.Extra.Clone()
	hf.NUMA = hf.NUMA.Clone()
	hf.Extra = hf.Extra.Clone()
	c.SoftwareProvenance.Extra = e.SoftwareProvenance.Extra.Clone()
	c.Dataset.Extra = e.Dataset.Extra.Clone()
	c.DriverOptions = e.DriverOptions.Clone()
	c.Metrics = e.Metrics.Clone()
	c.Distributions = e.Distributions.Clone()
	c.Warnings = append([]string(nil), e.Warnings...)
	if e.Signature != nil {
		s := *e.Signature
		s.Extra = s.Extra.Clone()
		c.Signature = &s
	}
	c.Extra = e.Extra.Clone()
	return &c
}
