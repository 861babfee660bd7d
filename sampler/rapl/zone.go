package rapl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/benchprof/benchprof/sampler"
)

// Zone describes one powercap zone the sampler reads.
type Zone struct {
	// Device and Kind are those of the zone's readings: "package-0" and
	// cpu_package, "dram-0" and dram, or an informational zone of kind
	// other ("core-0", "uncore-0", "psys").
	Device string
	Kind   sampler.Kind
	// Name is the kernel's name for the zone (its name file): "package-0",
	// "dram", "core", "uncore", "psys".
	Name string
	// Path is the zone's directory, root/class/powercap/intel-rapl:N[:M].
	Path string
	// MaxEnergyRangeUJ is the counter's range from max_energy_range_uj, in
	// microjoules; 0 when the file is missing, unreadable or 0.
	MaxEnergyRangeUJ uint64
	// Wraps counts the reads below the previous one that were corrected by
	// adding MaxEnergyRangeUJ. Resets counts those of a zone whose range is
	// unknown, which were taken as the counter restarting from 0.
	Wraps  int64
	Resets int64
}

// zone is a Zone and the state of its counter.
type zone struct {
	Zone
	energyPath string
	// prev is the last raw energy_uj value; total the microjoules counted
	// since Open.
	prev, total uint64
	// counted is set for zones of kind cpu_package and dram.
	counted bool
	// failed counts the failed reads of an informational zone, which
	// leave its EnergyJ absent instead of failing the tick; lastErr is the
	// last one's text.
	failed  int64
	lastErr string
	buf     [32]byte
}

// readEnergy reads the zone's energy_uj.
func (z *zone) readEnergy(read readFunc) (uint64, error) {
	return readUint(read, z.energyPath, z.buf[:])
}

// advance counts the energy from the previous raw value to v. A value below
// the previous one is a wrap when the range is known (the counter went past
// MaxEnergyRangeUJ and restarted from 0) and otherwise a reset (restarted
// from 0 with unknown history); neither ever counts negative energy.
func (z *zone) advance(v uint64) {
	switch {
	case v >= z.prev:
		z.total += v - z.prev
	case z.MaxEnergyRangeUJ > 0 && z.prev <= z.MaxEnergyRangeUJ:
		z.total += z.MaxEnergyRangeUJ - z.prev + v
		z.Wraps++
	default:
		z.total += v
		z.Resets++
	}
	z.prev = v
}

// candidate is a powercap directory that names an intel-rapl zone.
type candidate struct {
	dir  string // "intel-rapl:0:2"
	path string
	idx  []int // [0 2]
	name string
}

// parseZoneDir returns the indices of an intel-rapl zone directory name:
// [N] for "intel-rapl:N", [N M] for "intel-rapl:N:M"; ok is false for
// anything else (the "intel-rapl" control type, "intel-rapl-mmio:N",
// other control types).
func parseZoneDir(dir string) (idx []int, ok bool) {
	rest, found := strings.CutPrefix(dir, "intel-rapl:")
	if !found {
		return nil, false
	}
	parts := strings.Split(rest, ":")
	if len(parts) > 2 {
		return nil, false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || p != strconv.Itoa(n) {
			return nil, false
		}
		idx = append(idx, n)
	}
	return idx, true
}

// discovery is what Open found under the powercap directory.
type discovery struct {
	zones []zone
	notes []string
}

// discover lists the zones under dir and classifies them (see the package
// doc for the rules). It reads each kept zone's energy_uj once, as the
// baseline, and fails with an error wrapping sampler.ErrUnavailable when a
// counted zone cannot be read or when there is none.
func discover(dir string, read readFunc) (discovery, error) {
	var d discovery
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return d, fmt.Errorf("rapl: no RAPL powercap zones: %s does not exist: not an Intel/AMD host, or running in a VM/container without /sys/class/powercap: %w", dir, sampler.ErrUnavailable)
	}
	if err != nil {
		return d, fmt.Errorf("rapl: no RAPL powercap zones: %w: %w", err, sampler.ErrUnavailable)
	}
	var cands []candidate
	var nameBuf [64]byte
	for _, e := range entries {
		base := e.Name()
		path := filepath.Join(dir, base)
		if strings.HasPrefix(base, "intel-rapl-mmio:") {
			name, err := readString(read, filepath.Join(path, "name"), nameBuf[:])
			if err != nil {
				name = "name unreadable"
			}
			d.notes = append(d.notes, fmt.Sprintf("skipped %s (%s): the MMIO interface to a package zone already read through intel-rapl", base, name))
			continue
		}
		idx, ok := parseZoneDir(base)
		if !ok {
			continue
		}
		name, err := readString(read, filepath.Join(path, "name"), nameBuf[:])
		if err != nil {
			d.notes = append(d.notes, fmt.Sprintf("skipped %s: %v", base, err))
			continue
		}
		cands = append(cands, candidate{dir: base, path: path, idx: idx, name: name})
	}
	slices.SortFunc(cands, func(a, b candidate) int { return slices.Compare(a.idx, b.idx) })

	// Top-level zones by index: the package suffix ("0" of "package-0") or,
	// for other zones, their device name.
	type parent struct {
		pkg    bool
		suffix string
	}
	parents := make(map[int]parent)
	for _, c := range cands {
		if len(c.idx) != 1 {
			continue
		}
		if s, ok := strings.CutPrefix(c.name, "package-"); ok && s != "" {
			parents[c.idx[0]] = parent{pkg: true, suffix: s}
		} else if c.name == "package" {
			parents[c.idx[0]] = parent{pkg: true, suffix: strconv.Itoa(c.idx[0])}
		} else {
			parents[c.idx[0]] = parent{suffix: c.name}
		}
	}

	used := make(map[string]bool)
	var counted int
	var found []string
	for _, c := range cands {
		z := zone{Zone: Zone{Name: c.name, Path: c.path, Kind: sampler.KindOther}, energyPath: filepath.Join(c.path, "energy_uj")}
		p, hasParent := parents[c.idx[0]]
		switch {
		case len(c.idx) == 1 && p.pkg:
			z.Kind, z.Device = sampler.KindCPUPackage, "package-"+p.suffix
		case len(c.idx) == 1:
			z.Device = c.name
		case hasParent && p.pkg && c.name == "dram":
			z.Kind, z.Device = sampler.KindDRAM, "dram-"+p.suffix
		case hasParent:
			z.Device = c.name + "-" + p.suffix
		default:
			z.Device = c.name + "-" + strconv.Itoa(c.idx[0])
		}
		if used[z.Device] {
			z.Device += "@" + c.dir
		}
		found = append(found, c.dir+" "+c.name)
		counts := z.Kind == sampler.KindCPUPackage || z.Kind == sampler.KindDRAM
		z.counted = counts

		v, err := z.readEnergy(read)
		if err != nil {
			if !counts {
				d.notes = append(d.notes, fmt.Sprintf("skipped %s (%s): %v", c.dir, c.name, err))
				continue
			}
			if errors.Is(err, fs.ErrPermission) {
				return d, permissionError(dir, err)
			}
			return d, fmt.Errorf("rapl: %s (%s): %w: %w", c.dir, c.name, err, sampler.ErrUnavailable)
		}
		z.prev = v
		z.MaxEnergyRangeUJ, err = readUint(read, filepath.Join(c.path, "max_energy_range_uj"), z.buf[:])
		if err != nil || z.MaxEnergyRangeUJ == 0 {
			z.MaxEnergyRangeUJ = 0
			d.notes = append(d.notes, fmt.Sprintf("%s: max_energy_range_uj unknown, so a counter that goes down is taken as reset to 0", z.Device))
		}
		used[z.Device] = true
		if counts {
			counted++
		}
		d.zones = append(d.zones, z)
	}
	if counted == 0 {
		what := "none"
		if len(found) > 0 {
			what = strings.Join(found, ", ")
		}
		return d, fmt.Errorf("rapl: no RAPL package zones under %s (intel-rapl zones found: %s): %w", dir, what, sampler.ErrUnavailable)
	}
	return d, nil
}

// permissionError explains how to make energy_uj readable.
func permissionError(dir string, err error) error {
	return fmt.Errorf("rapl: %w; energy_uj is readable by root only since Linux 5.10 (CVE-2020-8694): "+
		"run as root, or make it readable, e.g. `sudo chmod o+r %s` (until reboot; a udev rule can do the same at boot), "+
		"or give the program CAP_DAC_READ_SEARCH: %w",
		err, filepath.Join(dir, "intel-rapl:*", "energy_uj"), sampler.ErrUnavailable)
}

// readFile reads the start of the file at path into buf.
func readFile(path string, buf []byte) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	for n < len(buf) {
		m, err := f.Read(buf[n:])
		n += m
		if err == io.EOF || (err == nil && m == 0) {
			break
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readBytes reads a small sysfs attribute and trims its white space. An
// empty attribute, or one too long for buf, is an error.
func readBytes(read readFunc, path string, buf []byte) ([]byte, error) {
	n, err := read(path, buf)
	if err != nil {
		return nil, err
	}
	if n >= len(buf) {
		return nil, fmt.Errorf("%s: longer than %d bytes", path, len(buf)-1)
	}
	b := bytes.TrimSpace(buf[:n])
	if len(b) == 0 {
		return nil, fmt.Errorf("%s: empty", path)
	}
	return b, nil
}

func readString(read readFunc, path string, buf []byte) (string, error) {
	b, err := readBytes(read, path, buf)
	return string(b), err
}

// readUint reads a decimal counter. A file being rewritten can read empty;
// that is an error, never 0, so that it is not taken for a reset.
func readUint(read readFunc, path string, buf []byte) (uint64, error) {
	b, err := readBytes(read, path, buf)
	if err != nil {
		return 0, err
	}
	var v uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%s: %q is not a counter", path, b)
		}
		d := uint64(c - '0')
		if v > (1<<64-1-d)/10 {
			return 0, fmt.Errorf("%s: %q overflows 64 bits", path, b)
		}
		v = v*10 + d
	}
	return v, nil
}
