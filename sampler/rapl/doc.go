// Package rapl samples CPU package and DRAM energy from the Linux powercap
// RAPL counters (/sys/class/powercap/intel-rapl:*), on Intel hosts and on
// AMD hosts, whose kernel driver exposes the same intel-rapl tree.
//
//	s, err := rapl.Open()                  // reads /sys/class/powercap
//	s, err := rapl.Open(rapl.WithRoot(dir)) // reads dir/class/powercap
//
// [Open] fails with an error wrapping [sampler.ErrUnavailable] when there
// is nothing to read: no powercap directory (not an Intel/AMD host, or a VM
// or container without /sys/class/powercap), no package zone, or an
// energy_uj the process may not read. Since Linux 5.10 (CVE-2020-8694)
// energy_uj is readable by root only; the error then says how to grant it
// (run as root, `sudo chmod o+r /sys/class/powercap/intel-rapl:*/energy_uj`,
// a udev rule, or CAP_DAC_READ_SEARCH).
//
// # Zones
//
// The kernel lists every zone flat under class/powercap: top-level zones
// intel-rapl:N and their subzones intel-rapl:N:M, each with name, energy_uj
// and max_energy_range_uj files. The sampler keeps them as follows, so
// that the energy of kinds cpu_package and dram adds up to the CPU+DRAM
// energy with nothing counted twice:
//
//   - a top-level zone named "package-X" is device "package-X" of kind
//     [sampler.KindCPUPackage] (X is the kernel's package id, so sockets
//     never collide; a multi-die package's "package-0-die-1" keeps its
//     full suffix);
//   - its subzone named "dram" is device "dram-X" of kind
//     [sampler.KindDRAM];
//   - its other subzones ("core", "uncore") are devices "core-X",
//     "uncore-X" of kind [sampler.KindOther]: they are part of the
//     package's energy and must not be added to it;
//   - other top-level zones ("psys", the platform domain, which overlaps
//     package and DRAM) are reported under their name with kind
//     [sampler.KindOther], never to be added either;
//   - intel-rapl-mmio:* zones are skipped: they are the same package
//     counter read through MMIO (a note in [Sampler.Describe] names them);
//     other control types (dtpm, …) are ignored.
//
// A device name that would repeat (two zones claiming the same package
// id) gets the zone directory appended ("package-0@intel-rapl:1"). A
// counted zone (cpu_package, dram) that cannot be read fails Open, and at
// a tick fails that tick; an informational zone that cannot be read is
// skipped with a note at Open, and has its EnergyJ absent at a tick. On an
// AMD host there are package and core zones and no DRAM zone.
//
// # Readings
//
// [Sampler.Sample] appends one reading per zone, in intel-rapl index
// order, with only EnergyJ set: the joules counted since Open. Each
// energy_uj file is opened and read afresh at every tick (microseconds a
// zone), so nothing stays open between ticks and a fake tree whose files
// are replaced by rename is read correctly. A value below
// the previous one is a wrap: the sampler adds the zone's
// max_energy_range_uj and counts it ([Zone].Wraps). If the range is
// unknown (missing or 0), the drop is taken as a reset to 0 and counted
// ([Zone].Resets): the energy since the reset is the new value, and no
// delta is ever negative. A counter that wraps twice between two ticks
// loses one range; at the default counter range (about 262 kJ) that takes
// minutes even at several hundred watts.
//
// PowerW is left absent: RAPL gives energy, and the power is the
// difference of EnergyJ between two readings over the difference of their
// Reading.At, which the scheduler measures better than the sampler could.
//
// The zones are read directly rather than through prometheus/procfs's
// GetRaplZones, which reports an intel-rapl-mmio zone and intel-rapl:0 as
// the same "package" index 0 (the very collision that makes the reference
// double-count), fails the whole discovery when any zone, even a skipped
// one, lacks max_energy_range_uj, and silently drops zones whose name
// cannot be read.
package rapl
