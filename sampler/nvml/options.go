package nvml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ErrNotResponding is wrapped by the error of Close or Processes when an
// NVML call has not returned in time: a GPU that fell off the bus, or a
// driver that hangs (nvidia-smi hangs too). A call into the driver cannot
// be cancelled, so the goroutine making it stays blocked until it returns;
// the sampler waits no longer (see Sampler.Close).
var ErrNotResponding = errors.New("NVML is not responding")

// Defaults of the options, exported so that command-line flags can use them.
const (
	// DefaultLibraryPath is the NVML library loaded when WithLibraryPath is
	// not used: the soname the NVIDIA driver installs, found by the dynamic
	// loader's usual search.
	DefaultLibraryPath = "libnvidia-ml.so.1"
	// DefaultOpenTimeout is how long Open waits for NVML (init, inventory
	// and the sensor probe) when WithOpenTimeout is not used.
	DefaultOpenTimeout = 30 * time.Second
	// DefaultSlowInterval is how often clocks, temperature and clock-event
	// reasons are read when WithSlowInterval is not used.
	DefaultSlowInterval = 100 * time.Millisecond
	// DefaultEnergyInterval is how often the energy counter is read when
	// WithEnergyInterval is not used: the update period of the counter
	// measured on an H200 (driver 580), where one read takes 2–3 ms (15 ms
	// at p99) against a microsecond for the power.
	DefaultEnergyInterval = 100 * time.Millisecond
	// DefaultSensorProbe is how long Open reads each GPU's power back to back
	// to measure the sensor's update period when WithSensorProbe is not used.
	DefaultSensorProbe = 300 * time.Millisecond
)

// An Option configures Open. Options only record values: Open validates
// them all at once, after applying them, so their order never matters.
// The type is sealed; only this package's With… functions make options.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	nilOptions     int // nil Options given to Open: an error
	libraryPath    string
	libraryPathSet bool
	selectors      []string
	selectorsSet   bool
	slowInterval   time.Duration
	energyInterval time.Duration
	sensorProbe    time.Duration
	openTimeout    time.Duration
	iface          any // a Library, set by WithInterface (cgo builds only)
	ifaceSet       bool
}

func newConfig(opts []Option) config {
	c := config{
		libraryPath:    DefaultLibraryPath,
		slowInterval:   DefaultSlowInterval,
		energyInterval: DefaultEnergyInterval,
		sensorProbe:    DefaultSensorProbe,
		openTimeout:    DefaultOpenTimeout,
	}
	for _, o := range opts {
		if o == nil {
			c.nilOptions++
			continue
		}
		o.apply(&c)
	}
	return c
}

// WithLibraryPath loads NVML from path, a file name for the dynamic loader's
// search or a path containing a slash. By default, if this option is not
// used, the sampler loads DefaultLibraryPath. A repeated use replaces the
// earlier one. It cannot be combined with WithInterface.
func WithLibraryPath(path string) Option {
	return optionFunc(func(c *config) {
		c.libraryPath = path
		c.libraryPathSet = true
	})
}

// WithDevices samples only the selected GPUs. Each selector is an NVML
// index ("0") or a GPU UUID ("GPU-5e3c…", compared without regard to case).
// Open fails if a selector matches no GPU, listing the GPUs there are, or
// if two selectors name the same GPU. Readings come in NVML index order
// whatever the order of the selectors. By default, if this option is not
// used, every GPU is sampled. A repeated use replaces the earlier
// selection. The inventory always lists every GPU.
func WithDevices(selectors ...string) Option {
	sel := append([]string(nil), selectors...)
	return optionFunc(func(c *config) {
		c.selectors = sel
		c.selectorsSet = true
	})
}

// WithOpenTimeout sets how long Open waits for NVML to initialise, list
// the GPUs and run the sensor probe. A driver that hangs (a GPU fallen off
// the bus) cannot be interrupted: past d, Open returns an error wrapping
// sampler.ErrUnavailable and ErrNotResponding, and the opening goes on in
// a goroutine that closes what it opened if it ever finishes. d must be
// positive and longer than the sensor probe. By default, if this option
// is not used, Open waits DefaultOpenTimeout (30 s).
func WithOpenTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.openTimeout = d })
}

// WithSlowInterval sets how often clocks (SM and memory), temperature and
// clock-event reasons are read; on the ticks in between they are NaN (and
// HasClockEvents false). Every GPU reads them in the first tick; then,
// at the first tick at or after each due time d apart, it reads them just
// after that tick's values and reports them with the next tick (at most
// one sampling interval old), so that their calls neither lengthen the
// tick nor move its time; the GPUs' due times are staggered by
// d/(number of GPUs). 0 reads them in every tick. It must not be negative. By
// default, if this option is not used, they are read every
// DefaultSlowInterval (100 ms).
func WithSlowInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.slowInterval = d })
}

// WithEnergyInterval sets how often each GPU's energy counter
// (FI_DEV_TOTAL_ENERGY_CONSUMPTION, or nvmlDeviceGetTotalEnergyConsumption)
// is read; on the ticks in between EnergyJ is NaN. The schedule is
// WithSlowInterval's: every GPU reads the counter in the first tick, then
// just after the first tick at or after each due time, for the next tick's
// reading (so a value is at most one sampling interval old), the GPUs'
// due times staggered; the closing reading (sampler.Run, SampleFull)
// reads it in the tick. Reading it less often loses nothing when d is at
// most the counter's own update period: on an H200 the counter changes
// every 100 ms and one read takes 2–3 ms (15 ms at p99), which in every
// 10 ms tick made the ticks late and missed some. 0 reads it in every
// tick. It must not be negative. By default, if this option is not used,
// it is read every DefaultEnergyInterval (100 ms).
func WithEnergyInterval(d time.Duration) Option {
	return optionFunc(func(c *config) { c.energyInterval = d })
}

// WithSensorProbe sets how long Open reads each GPU's power back to back
// (all GPUs in parallel) to measure the power sensor's real update period:
// the median time between two changes of the value. The result is
// reported in Describe (DeviceInfo.SensorPeriod and a note); 0 disables the
// probe, and the period is then reported as unknown (0). It must not be
// negative. By default, if this option is not used, the probe lasts
// DefaultSensorProbe (300 ms), which Open takes longer.
func WithSensorProbe(d time.Duration) Option {
	return optionFunc(func(c *config) { c.sensorProbe = d })
}

func (c *config) validate() error {
	var errs []error
	if c.nilOptions > 0 {
		errs = append(errs, fmt.Errorf("nvml: %d nil Option(s)", c.nilOptions))
	}
	if c.libraryPathSet && c.libraryPath == "" {
		errs = append(errs, errors.New("nvml: WithLibraryPath: empty path"))
	}
	if c.ifaceSet {
		if c.iface == nil {
			errs = append(errs, errors.New("nvml: WithInterface: nil interface"))
		}
		if c.libraryPathSet {
			errs = append(errs, errors.New("nvml: WithInterface and WithLibraryPath cannot be combined"))
		}
	}
	if c.selectorsSet {
		if len(c.selectors) == 0 {
			errs = append(errs, errors.New("nvml: WithDevices: no selectors (leave the option out to sample every GPU)"))
		}
		for _, s := range c.selectors {
			if _, _, err := parseSelector(s); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if c.slowInterval < 0 {
		errs = append(errs, fmt.Errorf("nvml: WithSlowInterval: negative interval %v", c.slowInterval))
	}
	if c.energyInterval < 0 {
		errs = append(errs, fmt.Errorf("nvml: WithEnergyInterval: negative interval %v", c.energyInterval))
	}
	if c.sensorProbe < 0 {
		errs = append(errs, fmt.Errorf("nvml: WithSensorProbe: negative duration %v", c.sensorProbe))
	}
	if c.openTimeout <= 0 {
		errs = append(errs, fmt.Errorf("nvml: WithOpenTimeout: %v is not a positive duration", c.openTimeout))
	} else if c.openTimeout <= c.sensorProbe {
		errs = append(errs, fmt.Errorf("nvml: WithOpenTimeout: %v leaves no time beyond the %v sensor probe", c.openTimeout, c.sensorProbe))
	}
	return errors.Join(errs...)
}

// parseSelector returns a selector's index (-1 for a UUID) or its UUID.
func parseSelector(s string) (index int, uuid string, err error) {
	switch {
	case strings.HasPrefix(strings.ToUpper(s), "GPU-") && len(s) > len("GPU-"):
		return -1, s, nil
	case s != "" && strings.Trim(s, "0123456789") == "":
		i, err := strconv.Atoi(s)
		if err != nil {
			return 0, "", fmt.Errorf("nvml: WithDevices: index %q out of range", s)
		}
		return i, "", nil
	default:
		return 0, "", fmt.Errorf("nvml: WithDevices: selector %q is neither an NVML index (\"0\") nor a GPU UUID (\"GPU-…\")", s)
	}
}
