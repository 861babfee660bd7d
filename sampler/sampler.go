package sampler

import (
	"context"
	"errors"
	"math"
	"time"
)

// ErrUnavailable is wrapped by the error of a sampler whose hardware, driver
// or permission is missing (no NVML library, no GPU, no RAPL zones, energy_uj
// not readable). The wrapping error says why and, where there is one, what
// to do. A profile run degrades to a warning on it.
var ErrUnavailable = errors.New("telemetry unavailable")

// Kind is the kind of device a reading is about.
type Kind string

// Device kinds. Energy figures add up GPU, CPUPackage and DRAM; other kinds
// (a platform's psys domain, a CPU core subzone) are informational and never
// added on top, as they overlap the others.
const (
	KindGPU        Kind = "gpu"
	KindCPUPackage Kind = "cpu_package"
	KindDRAM       Kind = "dram"
	KindOther      Kind = "other"
)

// DeviceReading is one device's values at one tick. A float field that was
// not measured is NaN (see Absent); use Has to test it.
type DeviceReading struct {
	// Device names the device, stable over a run: "gpu0", "package-0",
	// "dram-0", or "<host>/gpu0" for remote readings.
	Device string
	Kind   Kind
	// PowerW is the power draw in watts (instantaneous where the hardware
	// offers it; see Info.PowerAveraged).
	PowerW float64
	// EnergyJ is a cumulative energy counter in joules, corrected for wraps
	// and resets so that it never decreases; its origin is arbitrary, only
	// differences mean something.
	EnergyJ float64
	// EnergyLag is how long before the reading's time (Reading.At) the
	// EnergyJ value was read: 0 for a counter read in the tick, as most
	// samplers do; positive for one read after an earlier tick, on a
	// slower cadence, and reported with this one (sampler/nvml does so for
	// counters that are slow to read). Consumers place the value at
	// At − EnergyLag. It is 0 when EnergyJ is absent, and never negative.
	EnergyLag time.Duration
	// UtilPct is the GPU utilization (percent of time a kernel ran).
	UtilPct float64
	// MemUtilPct is the memory-controller utilization.
	MemUtilPct float64
	// MemUsedBytes is the device memory in use.
	MemUsedBytes float64
	// SMClockMHz, MemClockMHz and TempC are read on a slower cadence; NaN
	// on the ticks in between.
	SMClockMHz  float64
	MemClockMHz float64
	TempC       float64
	// ClockEventReasons is NVML's clock-event (throttle) bitmask; valid when
	// HasClockEvents.
	ClockEventReasons uint64
	HasClockEvents    bool
}

// Absent is the value of a field that was not measured.
func Absent() float64 { return math.NaN() }

// Has reports whether a field value was measured.
func Has(v float64) bool { return !math.IsNaN(v) }

// NewDeviceReading returns a reading of device with every value absent.
func NewDeviceReading(device string, kind Kind) DeviceReading {
	nan := math.NaN()
	return DeviceReading{
		Device: device, Kind: kind,
		PowerW: nan, EnergyJ: nan, UtilPct: nan, MemUtilPct: nan, MemUsedBytes: nan,
		SMClockMHz: nan, MemClockMHz: nan, TempC: nan,
	}
}

// Reading is what one sampler read at one tick.
type Reading struct {
	// Sampler is the sampler's name: it tells readings of different
	// samplers apart, not what they measured (see DeviceReading.Kind).
	Sampler string
	// Tick is the scheduled tick index: the tick was due at origin + Tick·interval.
	Tick int64
	// At is when the reading was taken, as an offset from the run's origin
	// on the monotonic clock (the midpoint of the read).
	At time.Duration
	// Devices holds one entry per device read.
	Devices []DeviceReading
}

// Sampler reads telemetry from one source. Implementations are built by
// their package's constructor, which discovers the hardware and fails with
// an error wrapping ErrUnavailable when there is none.
//
// What a reading is about is said by its devices' Kind, never by the
// sampler's Name: consumers (energy figures, sample counts, progress
// power) treat every sampler alike and add up devices by kind, so a GPU
// sampler of any name (NVML, a remote DCGM exporter, a user's own) counts
// as a GPU source.
//
// The contract, which samplertest.Conformance checks:
//
//   - Name returns the same non-empty string every time. It identifies the
//     sampler in a timeline and in its Stats; it means nothing else.
//   - The scheduler calls Sample from one goroutine, never concurrently, at
//     every tick. Sample should return well within the sampling interval.
//     It appends one DeviceReading per device read to dst and returns the
//     extended slice, leaving dst[:len(dst)] as it was (dst is owned by
//     the caller and reused between ticks; Sample must not keep it).
//   - Sample honours ctx: once ctx is done it returns promptly with an
//     error wrapping ctx.Err(). Any other error fails only that tick; the
//     scheduler counts it and goes on.
//   - A device keeps its Device name and its Kind (one of KindGPU,
//     KindCPUPackage, KindDRAM, KindOther) for the sampler's life, and
//     a healthy source reads the same devices, in the same order, at every
//     tick. A device may be left out of a tick it could not be read in.
//   - A value that was not measured is NaN (start from NewDeviceReading),
//     never 0, and never an infinity. EnergyJ never decreases from one
//     tick to the next.
//   - Close releases the sampler's resources. It is idempotent (a second
//     call returns what the first did, or nil); the caller never calls
//     Sample after it, so a sampler need not support that.
//   - If the sampler implements Describer, Describe lists every device
//     Sample reads, with the same name and Kind.
type Sampler interface {
	Name() string
	Sample(ctx context.Context, dst []DeviceReading) ([]DeviceReading, error)
	Close() error
}

// Info describes a sampler's devices and the quality of their sensors. A
// sampler may implement Describer to provide it.
type Info struct {
	// Devices lists the devices read, with their models where known.
	Devices []DeviceInfo
	// Notes are human-readable remarks on the measurement ("power is a
	// 1-second average on this GPU", "sensor updates every 100 ms").
	Notes []string
}

// DeviceInfo describes one device.
type DeviceInfo struct {
	Device string
	Kind   Kind
	Model  string
	// PowerAveraged is set when PowerW is a moving average (NVML's
	// GetPowerUsage on Ampere and later averages over 1 s).
	PowerAveraged bool
	// SensorPeriod is the measured update period of the power reading
	// (0 when unknown): a trace sampled faster than this repeats values.
	SensorPeriod time.Duration
}

// Describer is implemented by samplers that can describe their devices.
// Consumers use it to learn, before the first tick, which kinds of device
// a sampler reads (a profile then knows whether any sampler reads a GPU)
// and the models of its GPUs. Describe must be safe to call between
// Sample calls.
type Describer interface {
	Describe() Info
}

// FullSampler is implemented by samplers that read some values on a slower
// cadence than their ticks (NaN on the ticks in between), or read them
// after a tick for the next one. SampleFull reads every value of every
// device in the call itself, as at a first tick, under Sample's contract;
// it does not move the slower cadences. Run uses it for the closing
// reading, so that every value, an energy counter's above all, reaches the
// moment sampling stopped.
type FullSampler interface {
	SampleFull(ctx context.Context, dst []DeviceReading) ([]DeviceReading, error)
}

// DeviceProcesses lists the processes running on one device, as a
// ProcessLister reports them.
type DeviceProcesses struct {
	// Device is the device's name, as in its readings.
	Device string
	// PIDs are the processes with a context on the device, sorted. The
	// PIDs are those the device's driver sees: in the host's PID
	// namespace, which in a container may not be the reader's.
	PIDs []int
	// Err says why the device's processes could not be listed (in full or
	// at all); PIDs holds what could be.
	Err error
}

// ProcessLister is implemented by samplers that can tell which processes
// run on the devices they read (NVML's running compute and graphics
// processes). A profile uses it to find the GPUs an engine runs on.
// DeviceProcesses lists every device the sampler reads, in reading order;
// it must be safe to call between Sample calls and from another goroutine
// than the scheduler's, and its error is for the sampler as a whole (after
// Close, say). The caller owns the result.
type ProcessLister interface {
	DeviceProcesses() ([]DeviceProcesses, error)
}
