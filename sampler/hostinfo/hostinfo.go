package hostinfo

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/benchprof/benchprof/envelope"
)

// Defaults of the options, exported for use as flag defaults.
const (
	// DefaultRoot is the filesystem root the host files are read under.
	DefaultRoot = "/"
	// DefaultDMIDecode is the dmidecode command, looked up in PATH.
	DefaultDMIDecode = "dmidecode"
)

const (
	// DMIDecodeTimeout bounds one run of dmidecode, as in the reference.
	DMIDecodeTimeout = 5 * time.Second
	// NCCLVersionEnv names the environment variable the NCCL version is
	// read from (the reference has no other source).
	NCCLVersionEnv = "INFERENCEBENCH_NCCL_VERSION"
	// MaxMemoryChannels is the envelope's upper bound on memory.channels.
	MaxMemoryChannels = 16
)

// GPU is one GPU as NVML reports it, given by the caller (hostinfo does not
// talk to NVML). Empty fields get the reference's fallbacks: Model
// "NVIDIA-GPU-<Index>", PCIID "0000:00:<Index as 2 hex digits>.0", Serial and
// VBIOS "unknown".
type GPU struct {
	// Index is the NVML device index; it names the fallbacks.
	Index int
	// Model is nvmlDeviceGetName ("NVIDIA H100 80GB HBM3").
	Model string
	// PCIID is the PCI bus id from nvmlDeviceGetPciInfo
	// ("00000000:0A:00.0").
	PCIID string
	// Serial is nvmlDeviceGetSerial.
	Serial string
	// VBIOS is nvmlDeviceGetVbiosVersion.
	VBIOS string
}

// FormatCUDAVersion formats NVML's nvmlSystemGetCudaDriverVersion value as
// the reference does: "<v div 1000>.<(v mod 1000) div 10>", 13000 → "13.0",
// 12060 → "12.6" (floored division, as in Python).
func FormatCUDAVersion(v int) string {
	major := floorDiv(v, 1000)
	minor := floorDiv(v-major*1000, 10)
	return strconv.Itoa(major) + "." + strconv.Itoa(minor)
}

func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// Option configures [Collect].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	root         string
	gpus         []GPU
	driver, cuda string
	dmidecode    string
	dmidecodeSet bool
	dmiOutput    []byte
	dmiOutputSet bool
	lookupEnv    func(string) (string, bool)
	// Replaced in tests:
	processor  func(context.Context) string // platform.processor()
	machine    func() string                // platform.machine()
	dmiTimeout time.Duration
}

// WithRoot reads the host's files under dir instead of "/":
// dir/proc/cpuinfo, dir/sys/class/dmi/id/{product_uuid,bios_version} and
// dir/sys/devices/system/node. It is meant for tests with a fixture tree.
// By default, if this option is not used, DefaultRoot ("/") is used. A
// repeat replaces the earlier value; dir must not be empty.
func WithRoot(dir string) Option {
	return optionFunc(func(c *config) { c.root = dir })
}

// WithGPUs sets the GPUs (in NVML index order), the driver version
// (nvmlSystemGetDriverVersion) and the CUDA version (FormatCUDAVersion of
// nvmlSystemGetCudaDriverVersion, or "" if unknown). A GPU whose field is
// blank after the fallbacks and whitespace stripping is left out, with a
// warning, as the reference's validation drops it. Collect keeps its own
// copy of gpus.
// By default, if this option is not used, the fingerprint has no GPUs and
// empty driver and CUDA versions, as the reference records on a host
// without NVML. A repeat replaces the earlier values.
func WithGPUs(gpus []GPU, driver, cuda string) Option {
	gpus = append([]GPU(nil), gpus...)
	return optionFunc(func(c *config) { c.gpus, c.driver, c.cuda = gpus, driver, cuda })
}

// WithDMIDecode runs path (with the arguments "-t memory") to read the
// memory configuration. It needs root; without it the memory falls back to
// the reference's placeholder.
// By default, if this option is not used, DefaultDMIDecode ("dmidecode")
// is looked up in PATH. A repeat replaces the earlier value. It cannot be
// combined with WithDMIDecodeOutput.
func WithDMIDecode(path string) Option {
	return optionFunc(func(c *config) { c.dmidecode, c.dmidecodeSet = path, true })
}

// WithDMIDecodeOutput uses out as the output of "dmidecode -t memory"
// instead of running dmidecode, for tests or for output captured earlier
// with root. Empty output means dmidecode gave nothing: the memory is the
// reference's placeholder {channels 1, speed_mts 1, ecc false}.
// By default, if this option is not used, dmidecode is run (see
// WithDMIDecode). A repeat replaces the earlier value. Collect keeps its
// own copy of out.
func WithDMIDecodeOutput(out []byte) Option {
	out = append([]byte{}, out...)
	return optionFunc(func(c *config) { c.dmiOutput, c.dmiOutputSet = out, true })
}

// WithLookupEnv sets the function the environment is read with (for
// NCCLVersionEnv).
// By default, if this option is not used, os.LookupEnv is used. A repeat
// replaces the earlier value; lookup must not be nil.
func WithLookupEnv(lookup func(key string) (string, bool)) Option {
	return optionFunc(func(c *config) { c.lookupEnv = lookup })
}

// Result is a collected fingerprint and the remarks on how it was made.
type Result struct {
	// Fingerprint is the host's fingerprint, FingerprintSHA256 computed.
	Fingerprint envelope.HardwareFingerprint
	// Warnings name the fields that fell back to placeholders (no root
	// for dmidecode or product_uuid, no /proc/cpuinfo model name) and the
	// places where the reference would have failed and Collect corrected
	// the value instead. They are not errors.
	Warnings []string
}

func newConfig(opts []Option) (*config, error) {
	c := &config{
		root:       DefaultRoot,
		dmidecode:  DefaultDMIDecode,
		lookupEnv:  os.LookupEnv,
		processor:  processor,
		machine:    machine,
		dmiTimeout: DMIDecodeTimeout,
	}
	var errs []error
	for i, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("hostinfo: option %d is nil", i+1))
			continue
		}
		o.apply(c)
	}
	if c.root == "" {
		errs = append(errs, errors.New("hostinfo: WithRoot needs a directory"))
	}
	if c.dmidecode == "" {
		errs = append(errs, errors.New("hostinfo: WithDMIDecode needs a path"))
	}
	if c.dmidecodeSet && c.dmiOutputSet {
		errs = append(errs, errors.New("hostinfo: WithDMIDecode and WithDMIDecodeOutput cannot be combined"))
	}
	if c.lookupEnv == nil {
		errs = append(errs, errors.New("hostinfo: WithLookupEnv needs a function"))
	}
	for _, g := range c.gpus {
		if g.Index < 0 {
			errs = append(errs, fmt.Errorf("hostinfo: GPU index %d is negative", g.Index))
		}
	}
	return c, errors.Join(errs...)
}

// Collect collects the host's hardware fingerprint exactly as the
// reference does (FACTS §1.6; see the package documentation for each
// field), so that the same host gives the same fingerprint_sha256. Missing
// files, commands or permissions are not errors: the field takes the
// reference's fallback and a warning says so. Collect fails only on
// invalid options or when ctx is done (it honours ctx while dmidecode and
// uname run).
func Collect(ctx context.Context, opts ...Option) (*Result, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hostinfo: %w", err)
	}
	res := &Result{}
	hf := &res.Fingerprint
	hf.DMIUUID = collectDMIUUID(c.root, res)
	hf.GPUs = collectGPUs(c.gpus, res)
	hf.CPU = collectCPU(ctx, c, res)
	if hf.Memory, err = collectMemory(ctx, c, res); err != nil {
		return nil, err
	}
	hf.BIOS = collectBIOS(c.root, res)
	hf.NUMA = collectNUMA(c.root, res)
	hf.Driver = strings.TrimSpace(c.driver)
	hf.CUDA = strings.TrimSpace(c.cuda)
	nccl, _ := c.lookupEnv(NCCLVersionEnv)
	if s := strings.TrimSpace(nccl); s != nccl {
		res.warnf("nccl: %s=%q has surrounding whitespace, stripped (the reference would fail its own fingerprint check)", NCCLVersionEnv, nccl)
		nccl = s
	}
	hf.NCCL = nccl
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("hostinfo: %w", err)
	}
	if hf.FingerprintSHA256, err = hf.Compute(); err != nil {
		return nil, err // cannot happen: no floats in the fingerprint
	}
	return res, nil
}

func (r *Result) warnf(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// processor returns what Python's platform.processor() returns on Linux
// and macOS: the output of "uname -p", stripped, with "unknown" read as "".
func processor(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "uname", "-p").Output()
	if err != nil {
		return ""
	}
	s := pyStrip(string(out))
	if s == "unknown" {
		return ""
	}
	return s
}
