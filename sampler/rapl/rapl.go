package rapl

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/benchprof/benchprof/sampler"
)

var (
	_ sampler.Sampler   = (*Sampler)(nil)
	_ sampler.Describer = (*Sampler)(nil)
)

// errClosed is returned by Sample after Close.
var errClosed = errors.New("rapl: Sample after Close")

// Sampler reads the RAPL energy counters of the powercap zones found by
// Open. It is safe for concurrent use; Sample calls are serialized.
type Sampler struct {
	read  readFunc
	dir   string
	notes []string

	mu     sync.Mutex
	zones  []zone
	closed bool
}

// Open finds the RAPL zones under root/class/powercap (see WithRoot), keeps
// those described in the package doc, and reads each counter once: that
// read is the origin of EnergyJ. It fails with an error wrapping
// ErrInvalidOption for a bad option, and with one wrapping
// sampler.ErrUnavailable when there is no powercap directory, no package
// zone, or a counted zone's energy_uj cannot be read (the error then says
// how to grant the permission).
func Open(opts ...Option) (*Sampler, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(c.root, "class", "powercap")
	d, err := discover(dir, c.read)
	if err != nil {
		return nil, err
	}
	return &Sampler{read: c.read, dir: dir, notes: d.notes, zones: d.zones}, nil
}

// Name returns "rapl".
func (s *Sampler) Name() string { return "rapl" }

// Sample reads every zone's energy_uj and appends one DeviceReading per
// zone to dst, in zone order (by intel-rapl index: a package, then its
// subzones). Only EnergyJ is set: the joules counted since Open, corrected
// for wraps and resets, so it never decreases. PowerW is absent; the power
// is the difference of EnergyJ between readings over that of their At. A
// counted zone (cpu_package, dram) that cannot be read fails the whole
// tick, appending nothing; an informational zone (kind other) that cannot
// be read has its EnergyJ absent in that tick, and Describe notes it.
func (s *Sampler) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return dst, errClosed
	}
	n := len(dst)
	for i := range s.zones {
		z := &s.zones[i]
		r := sampler.NewDeviceReading(z.Device, z.Kind)
		v, err := z.readEnergy(s.read)
		switch {
		case err == nil:
			z.advance(v)
			r.EnergyJ = float64(z.total) / 1e6
		case z.counted:
			return dst[:n], fmt.Errorf("rapl: %s: %w", z.Device, err)
		default:
			z.failed++
			z.lastErr = err.Error()
		}
		dst = append(dst, r)
	}
	return dst, nil
}

// Close marks the sampler closed; it holds no open files between reads. It
// is idempotent and always returns nil.
func (s *Sampler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// Zones returns the zones read, in reading order, with their wrap and reset
// counts so far.
func (s *Sampler) Zones() []Zone {
	s.mu.Lock()
	defer s.mu.Unlock()
	zs := make([]Zone, len(s.zones))
	for i, z := range s.zones {
		zs[i] = z.Zone
	}
	return zs
}

// Describe lists the zones read and notes on the measurement: which kinds
// add up to CPU+DRAM energy, the zones skipped and why, unknown counter
// ranges, and the wraps, resets and failed reads of informational zones so
// far.
func (s *Sampler) Describe() sampler.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	info := sampler.Info{Notes: []string{
		fmt.Sprintf("cumulative energy counters (energy_uj) under %s, which the kernel updates about every millisecond; EnergyJ counts from Open and adds max_energy_range_uj at each wrap; PowerW is absent: derive it from EnergyJ over the readings' times", s.dir),
	}}
	other := false
	for _, z := range s.zones {
		info.Devices = append(info.Devices, sampler.DeviceInfo{Device: z.Device, Kind: z.Kind, Model: "RAPL " + filepath.Base(z.Path)})
		other = other || z.Kind == sampler.KindOther
	}
	if other {
		info.Notes = append(info.Notes, "CPU+DRAM energy is the sum of the cpu_package and dram devices; the zones of kind other (core, uncore, psys) overlap them and are informational only")
	}
	info.Notes = append(info.Notes, s.notes...)
	for _, z := range s.zones {
		if z.Wraps > 0 || z.Resets > 0 {
			info.Notes = append(info.Notes, fmt.Sprintf("%s: %d counter wraps and %d resets corrected", z.Device, z.Wraps, z.Resets))
		}
		if z.failed > 0 {
			info.Notes = append(info.Notes, fmt.Sprintf("%s: %d reads failed, the last with: %s", z.Device, z.failed, z.lastErr))
		}
	}
	return info
}
