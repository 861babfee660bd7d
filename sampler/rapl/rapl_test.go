package rapl

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/sampler"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// withReadFile replaces the function that reads sysfs attributes.
func withReadFile(f readFunc) Option {
	return optionFunc(func(c *config) { c.read = f })
}

// denyEnergy fails reads of the energy_uj files of the zones named (all
// zones when none is named) with a permission error, as a non-root process
// gets on Linux 5.10 and later.
func denyEnergy(zones ...string) readFunc {
	return func(path string, buf []byte) (int, error) {
		deny := filepath.Base(path) == "energy_uj"
		if deny && len(zones) > 0 {
			deny = false
			for _, z := range zones {
				deny = deny || filepath.Base(filepath.Dir(path)) == z
			}
		}
		if deny {
			return 0, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
		}
		return readFile(path, buf)
	}
}

func open(t *testing.T, root string, opts ...Option) *Sampler {
	t.Helper()
	s, err := Open(append([]Option{WithRoot(root)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// relZones returns s's zones with paths relative to root.
func relZones(t *testing.T, s *Sampler, root string) []Zone {
	t.Helper()
	zs := s.Zones()
	for i := range zs {
		rel, err := filepath.Rel(root, zs[i].Path)
		if err != nil {
			t.Fatal(err)
		}
		zs[i].Path = filepath.ToSlash(rel)
	}
	return zs
}

// deviceKinds returns "device kind" for each reading.
func deviceKinds(rs []sampler.DeviceReading) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Device+" "+string(r.Kind))
	}
	return out
}

const (
	pkgRange  = 262143328850
	dramRange = 65712999613
	amdRange  = 65532610987
)

func TestZones(t *testing.T) {
	pc := "class/powercap/"
	tests := []struct {
		fixture string
		want    []Zone
		// wantNote is a substring of one of Describe's notes.
		wantNote string
	}{
		{
			fixture: "single-socket",
			want: []Zone{
				{Device: "package-0", Kind: sampler.KindCPUPackage, Name: "package-0", Path: pc + "intel-rapl:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "core-0", Kind: sampler.KindOther, Name: "core", Path: pc + "intel-rapl:0:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "uncore-0", Kind: sampler.KindOther, Name: "uncore", Path: pc + "intel-rapl:0:1", MaxEnergyRangeUJ: pkgRange},
				{Device: "dram-0", Kind: sampler.KindDRAM, Name: "dram", Path: pc + "intel-rapl:0:2", MaxEnergyRangeUJ: dramRange},
			},
			wantNote: "overlap them and are informational only",
		},
		{
			fixture: "two-sockets",
			want: []Zone{
				{Device: "package-0", Kind: sampler.KindCPUPackage, Name: "package-0", Path: pc + "intel-rapl:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "core-0", Kind: sampler.KindOther, Name: "core", Path: pc + "intel-rapl:0:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "dram-0", Kind: sampler.KindDRAM, Name: "dram", Path: pc + "intel-rapl:0:1", MaxEnergyRangeUJ: dramRange},
				{Device: "package-1", Kind: sampler.KindCPUPackage, Name: "package-1", Path: pc + "intel-rapl:1", MaxEnergyRangeUJ: pkgRange},
				{Device: "core-1", Kind: sampler.KindOther, Name: "core", Path: pc + "intel-rapl:1:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "dram-1", Kind: sampler.KindDRAM, Name: "dram", Path: pc + "intel-rapl:1:1", MaxEnergyRangeUJ: dramRange},
			},
		},
		{
			fixture: "psys",
			want: []Zone{
				{Device: "package-0", Kind: sampler.KindCPUPackage, Name: "package-0", Path: pc + "intel-rapl:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "core-0", Kind: sampler.KindOther, Name: "core", Path: pc + "intel-rapl:0:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "uncore-0", Kind: sampler.KindOther, Name: "uncore", Path: pc + "intel-rapl:0:1", MaxEnergyRangeUJ: pkgRange},
				{Device: "dram-0", Kind: sampler.KindDRAM, Name: "dram", Path: pc + "intel-rapl:0:2", MaxEnergyRangeUJ: pkgRange},
				{Device: "psys", Kind: sampler.KindOther, Name: "psys", Path: pc + "intel-rapl:1", MaxEnergyRangeUJ: pkgRange},
			},
		},
		{
			fixture: "mmio",
			want: []Zone{
				{Device: "package-0", Kind: sampler.KindCPUPackage, Name: "package-0", Path: pc + "intel-rapl:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "dram-0", Kind: sampler.KindDRAM, Name: "dram", Path: pc + "intel-rapl:0:0", MaxEnergyRangeUJ: dramRange},
			},
			wantNote: "skipped intel-rapl-mmio:0 (package-0)",
		},
		{
			fixture: "amd",
			want: []Zone{
				{Device: "package-0", Kind: sampler.KindCPUPackage, Name: "package-0", Path: pc + "intel-rapl:0", MaxEnergyRangeUJ: amdRange},
				{Device: "core-0", Kind: sampler.KindOther, Name: "core", Path: pc + "intel-rapl:0:0", MaxEnergyRangeUJ: amdRange},
			},
		},
		{
			fixture: "multi-die",
			want: []Zone{
				{Device: "package-0-die-0", Kind: sampler.KindCPUPackage, Name: "package-0-die-0", Path: pc + "intel-rapl:0", MaxEnergyRangeUJ: pkgRange},
				{Device: "dram-0-die-0", Kind: sampler.KindDRAM, Name: "dram", Path: pc + "intel-rapl:0:0", MaxEnergyRangeUJ: dramRange},
				{Device: "package-0-die-1", Kind: sampler.KindCPUPackage, Name: "package-0-die-1", Path: pc + "intel-rapl:1", MaxEnergyRangeUJ: pkgRange},
				{Device: "dram-0-die-1", Kind: sampler.KindDRAM, Name: "dram", Path: pc + "intel-rapl:1:0", MaxEnergyRangeUJ: dramRange},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			root := loadTree(t, tt.fixture)
			s := open(t, root)
			if diff := cmp.Diff(tt.want, relZones(t, s, root)); diff != "" {
				t.Errorf("Zones (-want +got):\n%s", diff)
			}
			// The first reading has every zone at 0 J: nothing changed
			// since Open.
			rs, err := s.Sample(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var wantDevices []string
			for _, z := range tt.want {
				wantDevices = append(wantDevices, z.Device+" "+string(z.Kind))
			}
			if diff := cmp.Diff(wantDevices, deviceKinds(rs)); diff != "" {
				t.Errorf("readings (-want +got):\n%s", diff)
			}
			for _, r := range rs {
				if r.EnergyJ != 0 || sampler.Has(r.PowerW) || sampler.Has(r.UtilPct) || sampler.Has(r.TempC) {
					t.Errorf("%s: %+v; want EnergyJ 0 and every other value absent", r.Device, r)
				}
			}
			if tt.wantNote != "" {
				notes := strings.Join(s.Describe().Notes, "\n")
				if !strings.Contains(notes, tt.wantNote) {
					t.Errorf("Describe notes:\n%s\nwant one containing %q", notes, tt.wantNote)
				}
			}
		})
	}
}

// TestZoneNameCollision: two top-level zones that claim the same package
// id are both counted, under distinct device names.
func TestZoneNameCollision(t *testing.T) {
	root := loadTree(t, "two-sockets")
	writeFile(t, filepath.Join(root, "devices/virtual/powercap/intel-rapl/intel-rapl:1/name"), "package-0\n")
	s := open(t, root)
	rs, err := s.Sample(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"package-0 cpu_package", "core-0 other", "dram-0 dram",
		"package-0@intel-rapl:1 cpu_package", "core-0@intel-rapl:1:0 other", "dram-0@intel-rapl:1:1 dram",
	}
	if diff := cmp.Diff(want, deviceKinds(rs)); diff != "" {
		t.Errorf("readings (-want +got):\n%s", diff)
	}
}

// TestSampleEnergy changes the counters of the mmio fixture (package-0 and
// its dram) between Sample calls and checks the cumulative joules.
func TestSampleEnergy(t *testing.T) {
	type step struct {
		pkg, dram uint64 // raw energy_uj values written before Sample
		// wantPkg and wantDram are the expected EnergyJ, in µJ.
		wantPkg, wantDram uint64
	}
	tests := []struct {
		name string
		// pkgRange is package-0's max_energy_range_uj file content; "-"
		// removes the file.
		pkgRange              string
		pkg0, dram0           uint64
		steps                 []step
		wantWraps, wantResets int64
	}{
		{
			name:     "steady",
			pkgRange: "262143328850", pkg0: 1_000, dram0: 5_000,
			steps: []step{
				{pkg: 1_000, dram: 5_000, wantPkg: 0, wantDram: 0},
				{pkg: 2_501_000, dram: 505_000, wantPkg: 2_500_000, wantDram: 500_000},
				{pkg: 2_501_000, dram: 505_000, wantPkg: 2_500_000, wantDram: 500_000},
				{pkg: 10_001_000, dram: 1_005_000, wantPkg: 10_000_000, wantDram: 1_000_000},
			},
		},
		{
			name:     "wrap",
			pkgRange: "262143328850", pkg0: 262_143_000_000, dram0: 0,
			steps: []step{
				{pkg: 262_143_300_000, dram: 100, wantPkg: 300_000, wantDram: 100},
				// 28 850 µJ to the top of the range, then 1 000 000 more.
				{pkg: 1_000_000, dram: 200, wantPkg: 300_000 + 28_850 + 1_000_000, wantDram: 200},
				{pkg: 3_000_000, dram: 300, wantPkg: 3_328_850, wantDram: 300},
			},
			wantWraps: 1,
		},
		{
			name:     "two wraps",
			pkgRange: "10000000", pkg0: 9_000_000,
			steps: []step{
				{pkg: 1_000_000, wantPkg: 2_000_000},
				{pkg: 9_500_000, wantPkg: 10_500_000},
				{pkg: 500_000, wantPkg: 11_500_000},
			},
			wantWraps: 2,
		},
		{
			name:     "unknown range is a reset",
			pkgRange: "-", pkg0: 5_000_000,
			steps: []step{
				{pkg: 6_000_000, wantPkg: 1_000_000},
				{pkg: 250_000, wantPkg: 1_250_000},
				{pkg: 750_000, wantPkg: 1_750_000},
			},
			wantResets: 1,
		},
		{
			name:     "zero range is a reset",
			pkgRange: "0", pkg0: 5_000_000,
			steps: []step{
				{pkg: 0, wantPkg: 0},
				{pkg: 1_000, wantPkg: 1_000},
			},
			wantResets: 1,
		},
		{
			name:     "value above the range is a reset",
			pkgRange: "1000", pkg0: 5_000,
			steps: []step{
				{pkg: 100, wantPkg: 100},
			},
			wantResets: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := loadTree(t, "mmio")
			if tt.pkgRange == "-" {
				if err := os.Remove(zonePath(root, "intel-rapl:0", "max_energy_range_uj")); err != nil {
					t.Fatal(err)
				}
			} else {
				writeFile(t, zonePath(root, "intel-rapl:0", "max_energy_range_uj"), tt.pkgRange+"\n")
			}
			setCounter(t, root, "intel-rapl:0", tt.pkg0)
			setCounter(t, root, "intel-rapl:0:0", tt.dram0)
			s := open(t, root)
			var buf []sampler.DeviceReading
			for i, st := range tt.steps {
				setCounter(t, root, "intel-rapl:0", st.pkg)
				setCounter(t, root, "intel-rapl:0:0", st.dram)
				var err error
				buf, err = s.Sample(t.Context(), buf[:0])
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				want := []sampler.DeviceReading{
					sampler.NewDeviceReading("package-0", sampler.KindCPUPackage),
					sampler.NewDeviceReading("dram-0", sampler.KindDRAM),
				}
				want[0].EnergyJ = float64(st.wantPkg) / 1e6
				want[1].EnergyJ = float64(st.wantDram) / 1e6
				if diff := cmp.Diff(want, buf, cmpNaN); diff != "" {
					t.Errorf("step %d (-want +got):\n%s", i, diff)
				}
			}
			z := s.Zones()[0]
			if z.Wraps != tt.wantWraps || z.Resets != tt.wantResets {
				t.Errorf("package-0: %d wraps, %d resets; want %d, %d", z.Wraps, z.Resets, tt.wantWraps, tt.wantResets)
			}
		})
	}
}

// cmpNaN makes NaN equal NaN, for readings' absent values.
var cmpNaN = cmp.Comparer(func(a, b float64) bool { return a == b || (a != a && b != b) })

// TestSampleBadRead: a counter that reads empty (a file being rewritten)
// or is not a number fails that tick, appends nothing, and is not taken for
// a reset; the next good read goes on from the last good one.
func TestSampleBadRead(t *testing.T) {
	for _, content := range []string{"", "\n", "12a4\n", "99999999999999999999999\n"} {
		t.Run(strings.TrimSpace(content), func(t *testing.T) {
			root := loadTree(t, "mmio")
			setCounter(t, root, "intel-rapl:0", 1_000_000)
			s := open(t, root)
			writeFile(t, zonePath(root, "intel-rapl:0", "energy_uj"), content)
			prefix := []sampler.DeviceReading{sampler.NewDeviceReading("gpu0", sampler.KindGPU)}
			got, err := s.Sample(t.Context(), prefix)
			if err == nil || !strings.Contains(err.Error(), "package-0") {
				t.Fatalf("Sample: %v; want an error naming package-0", err)
			}
			if len(got) != 1 {
				t.Errorf("Sample appended %d readings on error", len(got)-1)
			}
			setCounter(t, root, "intel-rapl:0", 3_000_000)
			got, err = s.Sample(t.Context(), got[:0])
			if err != nil {
				t.Fatal(err)
			}
			if got[0].EnergyJ != 2 {
				t.Errorf("package-0 %v J after the bad read; want 2", got[0].EnergyJ)
			}
			if z := s.Zones()[0]; z.Wraps != 0 || z.Resets != 0 {
				t.Errorf("bad read counted as %d wraps, %d resets", z.Wraps, z.Resets)
			}
		})
	}
}

// TestSampleBadInformationalRead: an informational zone that cannot be
// read leaves its EnergyJ absent in that tick, without failing it.
func TestSampleBadInformationalRead(t *testing.T) {
	root := loadTree(t, "single-socket")
	s := open(t, root)
	writeFile(t, zonePath(root, "intel-rapl:0:0", "energy_uj"), "\n")
	setCounter(t, root, "intel-rapl:0", 240_423_366_267)
	rs, err := s.Sample(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []sampler.DeviceReading{
		sampler.NewDeviceReading("package-0", sampler.KindCPUPackage),
		sampler.NewDeviceReading("core-0", sampler.KindOther),
		sampler.NewDeviceReading("uncore-0", sampler.KindOther),
		sampler.NewDeviceReading("dram-0", sampler.KindDRAM),
	}
	want[0].EnergyJ, want[2].EnergyJ, want[3].EnergyJ = 1, 0, 0
	if diff := cmp.Diff(want, rs, cmpNaN); diff != "" {
		t.Errorf("readings (-want +got):\n%s", diff)
	}
	notes := strings.Join(s.Describe().Notes, "\n")
	if want := "core-0: 1 reads failed, the last with: " + zonePath(root, "intel-rapl:0:0", "energy_uj") + ": empty"; !strings.Contains(notes, want) {
		t.Errorf("notes:\n%s\nwant one containing %q", notes, want)
	}
}

func TestSampleContract(t *testing.T) {
	root := loadTree(t, "mmio")
	s := open(t, root)
	if s.Name() != "rapl" {
		t.Errorf("Name() = %q", s.Name())
	}
	// dst is appended to.
	prefix := []sampler.DeviceReading{sampler.NewDeviceReading("gpu0", sampler.KindGPU)}
	got, err := s.Sample(t.Context(), prefix)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"gpu0 gpu", "package-0 cpu_package", "dram-0 dram"}, deviceKinds(got)); diff != "" {
		t.Errorf("Sample(prefix) (-want +got):\n%s", diff)
	}
	// A done ctx fails the tick with ctx's error.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if got, err := s.Sample(ctx, nil); !errors.Is(err, context.Canceled) || len(got) != 0 {
		t.Errorf("Sample(canceled) = %d readings, %v; want context.Canceled", len(got), err)
	}
	// Close is idempotent and ends sampling.
	for range 2 {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}
	if _, err := s.Sample(t.Context(), nil); err == nil {
		t.Error("Sample after Close succeeded")
	}
}

func TestOpenUnavailable(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, root string)
		// wantMsg is a substring of the error.
		wantMsg string
	}{
		{
			name:    "no powercap directory",
			setup:   func(*testing.T, string) {},
			wantMsg: "no RAPL powercap zones: " + filepath.Join("ROOT", "class", "powercap") + " does not exist: not an Intel/AMD host, or running in a VM/container without /sys/class/powercap",
		},
		{
			name: "empty powercap directory",
			setup: func(t *testing.T, root string) {
				if err := os.MkdirAll(filepath.Join(root, "class", "powercap"), 0o755); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "no RAPL package zones under ROOT/class/powercap (intel-rapl zones found: none)",
		},
		{
			name: "powercap is a file",
			setup: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, "class", "powercap"), "")
			},
			wantMsg: "no RAPL powercap zones",
		},
		{
			name: "only the mmio duplicate",
			setup: func(t *testing.T, root string) {
				writeFile(t, zonePath(root, "intel-rapl-mmio:0", "name"), "package-0\n")
				writeFile(t, zonePath(root, "intel-rapl-mmio:0", "energy_uj"), "1\n")
			},
			wantMsg: "intel-rapl zones found: none",
		},
		{
			name: "only psys",
			setup: func(t *testing.T, root string) {
				writeFile(t, zonePath(root, "intel-rapl:0", "name"), "psys\n")
				writeFile(t, zonePath(root, "intel-rapl:0", "energy_uj"), "1\n")
			},
			wantMsg: "intel-rapl zones found: intel-rapl:0 psys",
		},
		{
			name: "package without energy_uj",
			setup: func(t *testing.T, root string) {
				writeFile(t, zonePath(root, "intel-rapl:0", "name"), "package-0\n")
			},
			wantMsg: "intel-rapl:0 (package-0): open ROOT/class/powercap/intel-rapl:0/energy_uj: no such file or directory",
		},
		{
			name: "garbage energy_uj",
			setup: func(t *testing.T, root string) {
				writeFile(t, zonePath(root, "intel-rapl:0", "name"), "package-0\n")
				writeFile(t, zonePath(root, "intel-rapl:0", "energy_uj"), "n/a\n")
			},
			wantMsg: `energy_uj: "n/a" is not a counter`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			tt.setup(t, root)
			s, err := Open(WithRoot(root))
			if !errors.Is(err, sampler.ErrUnavailable) {
				t.Fatalf("Open = %v, %v; want an error wrapping sampler.ErrUnavailable", s, err)
			}
			if msg := strings.ReplaceAll(err.Error(), root, "ROOT"); !strings.Contains(msg, filepath.FromSlash(tt.wantMsg)) {
				t.Errorf("error %q\ndoes not contain %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestPermissionDenied(t *testing.T) {
	check := func(t *testing.T, root string, err error) {
		t.Helper()
		if !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("Open: %v; want an error wrapping sampler.ErrUnavailable and fs.ErrPermission", err)
		}
		msg := err.Error()
		for _, want := range []string{
			"run as root",
			"sudo chmod o+r " + filepath.Join(root, "class", "powercap", "intel-rapl:*", "energy_uj"),
			"udev rule",
			"CAP_DAC_READ_SEARCH",
		} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q\ndoes not contain %q", msg, want)
			}
		}
	}

	t.Run("chmod 000", func(t *testing.T) {
		root := loadTree(t, "single-socket")
		p := zonePath(root, "intel-rapl:0", "energy_uj")
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := os.ReadFile(p); err == nil {
			t.Skip("a file of mode 000 is readable here (running as root or with CAP_DAC_OVERRIDE); the injected-reader subtest covers this case")
		}
		_, err := Open(WithRoot(root))
		check(t, root, err)
	})

	t.Run("injected reader", func(t *testing.T) {
		root := loadTree(t, "single-socket")
		_, err := Open(WithRoot(root), withReadFile(denyEnergy()))
		check(t, root, err)
	})

	t.Run("dram only", func(t *testing.T) {
		root := loadTree(t, "single-socket")
		_, err := Open(WithRoot(root), withReadFile(denyEnergy("intel-rapl:0:2")))
		check(t, root, err)
	})

	t.Run("informational zone skipped", func(t *testing.T) {
		root := loadTree(t, "psys")
		s := open(t, root, withReadFile(denyEnergy("intel-rapl:0:1", "intel-rapl:1")))
		rs, err := s.Sample(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"package-0 cpu_package", "core-0 other", "dram-0 dram"}, deviceKinds(rs)); diff != "" {
			t.Errorf("readings (-want +got):\n%s", diff)
		}
		notes := strings.Join(s.Describe().Notes, "\n")
		for _, want := range []string{"skipped intel-rapl:0:1 (uncore): open ", "skipped intel-rapl:1 (psys): open "} {
			if !strings.Contains(notes, want) {
				t.Errorf("notes:\n%s\nwant one containing %q", notes, want)
			}
		}
	})

	t.Run("revoked after Open", func(t *testing.T) {
		root := loadTree(t, "single-socket")
		deny := false
		s := open(t, root, withReadFile(func(path string, buf []byte) (int, error) {
			if deny {
				return denyEnergy()(path, buf)
			}
			return readFile(path, buf)
		}))
		deny = true
		rs, err := s.Sample(t.Context(), nil)
		if !errors.Is(err, fs.ErrPermission) || len(rs) != 0 {
			t.Errorf("Sample = %d readings, %v; want a permission error", len(rs), err)
		}
	})
}

func TestOptions(t *testing.T) {
	root := loadTree(t, "mmio")
	for _, tt := range []struct {
		name string
		opts []Option
	}{
		{"empty root", []Option{WithRoot("")}},
		{"nil option", []Option{WithRoot(root), nil}},
		{"empty root last", []Option{WithRoot(root), WithRoot("")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := Open(tt.opts...); !errors.Is(err, ErrInvalidOption) || errors.Is(err, sampler.ErrUnavailable) {
				t.Errorf("Open = %v, %v; want an error wrapping ErrInvalidOption", s, err)
			}
		})
	}
	t.Run("last WithRoot wins", func(t *testing.T) {
		open(t, root, WithRoot(t.TempDir()), WithRoot(root))
	})
	t.Run("default", func(t *testing.T) {
		c, err := newConfig(nil)
		if err != nil || c.root != DefaultRoot || DefaultRoot != "/sys" {
			t.Errorf("default config %+v, %v; want root %q", c, err, "/sys")
		}
	})
}

func TestDescribe(t *testing.T) {
	root := loadTree(t, "client")
	writeFile(t, zonePath(root, "intel-rapl:0:2", "max_energy_range_uj"), "0\n")
	s := open(t, root)
	setCounter(t, root, "intel-rapl:0", 100)
	setCounter(t, root, "intel-rapl:0:2", 100)
	if _, err := s.Sample(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	got := s.Describe()
	for i, n := range got.Notes {
		got.Notes[i] = strings.ReplaceAll(n, root, "ROOT")
	}
	want := sampler.Info{
		Devices: []sampler.DeviceInfo{
			{Device: "package-0", Kind: sampler.KindCPUPackage, Model: "RAPL intel-rapl:0"},
			{Device: "core-0", Kind: sampler.KindOther, Model: "RAPL intel-rapl:0:0"},
			{Device: "uncore-0", Kind: sampler.KindOther, Model: "RAPL intel-rapl:0:1"},
			{Device: "dram-0", Kind: sampler.KindDRAM, Model: "RAPL intel-rapl:0:2"},
			{Device: "psys", Kind: sampler.KindOther, Model: "RAPL intel-rapl:1"},
		},
		Notes: []string{
			"cumulative energy counters (energy_uj) under " + filepath.Join("ROOT", "class", "powercap") + ", which the kernel updates about every millisecond; EnergyJ counts from Open and adds max_energy_range_uj at each wrap; PowerW is absent: derive it from EnergyJ over the readings' times",
			"CPU+DRAM energy is the sum of the cpu_package and dram devices; the zones of kind other (core, uncore, psys) overlap them and are informational only",
			"skipped intel-rapl-mmio:0 (package-0): the MMIO interface to a package zone already read through intel-rapl",
			"dram-0: max_energy_range_uj unknown, so a counter that goes down is taken as reset to 0",
			"package-0: 1 counter wraps and 0 resets corrected",
			"dram-0: 0 counter wraps and 1 resets corrected",
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe (-want +got):\n%s", diff)
	}
}

func TestParseZoneDir(t *testing.T) {
	for dir, want := range map[string][]int{
		"intel-rapl:0":      {0},
		"intel-rapl:12":     {12},
		"intel-rapl:1:3":    {1, 3},
		"intel-rapl":        nil,
		"intel-rapl:":       nil,
		"intel-rapl:0:":     nil,
		"intel-rapl:01":     nil,
		"intel-rapl:-1":     nil,
		"intel-rapl:0:0:0":  nil,
		"intel-rapl-mmio:0": nil,
		"dtpm":              nil,
	} {
		got, ok := parseZoneDir(dir)
		if ok != (want != nil) || !cmp.Equal(want, got) {
			t.Errorf("parseZoneDir(%q) = %v, %v; want %v", dir, got, ok, want)
		}
	}
}
