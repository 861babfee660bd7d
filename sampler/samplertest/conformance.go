package samplertest

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/benchprof/benchprof/sampler"
)

// conformanceTicks is how many ticks each check of Conformance samples.
const conformanceTicks = 5

// Conformance checks, in subtests of t, that the samplers open returns keep
// the contract written in sampler.Sampler's documentation:
//
//   - Name: a non-empty name that never changes;
//   - Appends: Sample appends to dst, keeping what dst held, and does not
//     keep dst after it returns;
//   - Devices: at every tick at least one device, each named once, with a
//     known kind, the same devices in the same order at every tick, no
//     infinite values, no reading whose every value is 0 (an absent value
//     is NaN, from sampler.NewDeviceReading), clock-event reasons only with
//     HasClockEvents, and energy counters that never decrease;
//   - Context: a Sample with a cancelled ctx fails with an error wrapping
//     context.Canceled, and the sampler still samples afterwards;
//   - Close: a second Close returns nil or the first one's error;
//   - Describe: if the sampler implements sampler.Describer, it lists
//     every device read, with the same kind, and no device that is never
//     read.
//
// open is called once per check and must return a new sampler of a healthy
// source (every device readable); Conformance closes it, and never calls
// Sample after Close, which the contract does not require a sampler to
// support. Conformance samples a few ticks back to back, without waiting,
// so it needs no real hardware and no wall-clock luck; run it against the
// implementation's fake source (a fixture tree, a mock library, a test
// server).
func Conformance(t *testing.T, open func() (sampler.Sampler, error)) {
	t.Helper()
	t.Run("Name", func(t *testing.T) {
		s := openFor(t, open)
		name := s.Name()
		if name == "" {
			t.Fatal("Name() is empty")
		}
		if _, err := s.Sample(t.Context(), nil); err != nil {
			t.Fatalf("Sample: %v", err)
		}
		if again := s.Name(); again != name {
			t.Errorf("Name() changed from %q to %q", name, again)
		}
	})
	t.Run("Appends", func(t *testing.T) {
		s := openFor(t, open)
		mark := sampler.NewDeviceReading("samplertest-mark", sampler.KindOther)
		mark.PowerW = 42
		// Two buffers used in turn: a tick must leave the other one alone.
		bufs := [2][]sampler.DeviceReading{make([]sampler.DeviceReading, 1, 64), make([]sampler.DeviceReading, 1, 64)}
		var prev []sampler.DeviceReading
		for i := range conformanceTicks {
			dst := bufs[i%2][:1]
			dst[0] = mark
			got, err := s.Sample(t.Context(), dst)
			if err != nil {
				t.Fatalf("tick %d: Sample: %v", i, err)
			}
			if len(got) < 2 {
				t.Fatalf("tick %d: Sample returned %d entries for a dst of 1: it must append one reading per device to dst, keeping what dst held", i, len(got))
			}
			if !sameReading(got[0], mark) {
				t.Fatalf("tick %d: Sample changed dst[0] from %+v to %+v: it must append, keeping what dst held", i, mark, got[0])
			}
			if i > 0 {
				other := bufs[(i+1)%2]
				if len(other) != len(prev) || !slices.EqualFunc(other, prev, sameReading) {
					t.Fatalf("tick %d: the buffer returned at tick %d changed afterwards: Sample must not keep dst", i, i-1)
				}
			}
			bufs[i%2] = got
			prev = slices.Clone(got)
		}
	})
	t.Run("Devices", func(t *testing.T) {
		s := openFor(t, open)
		var (
			first  []sampler.DeviceReading
			energy = map[string]float64{}
			buf    []sampler.DeviceReading
			err    error
		)
		for i := range conformanceTicks {
			buf, err = s.Sample(t.Context(), buf[:0])
			if err != nil {
				t.Fatalf("tick %d: Sample: %v", i, err)
			}
			if len(buf) == 0 {
				t.Fatalf("tick %d: no device read", i)
			}
			seen := map[string]bool{}
			for _, d := range buf {
				checkReading(t, i, d)
				if seen[d.Device] {
					t.Errorf("tick %d: device %q read twice", i, d.Device)
				}
				seen[d.Device] = true
				if d.EnergyLag < 0 || (d.EnergyLag != 0 && !sampler.Has(d.EnergyJ)) {
					t.Errorf("tick %d: %s: EnergyLag %v (with EnergyJ %v): it is never negative, and 0 without a value", i, d.Device, d.EnergyLag, d.EnergyJ)
				}
				if sampler.Has(d.EnergyJ) {
					if last, ok := energy[d.Device]; ok && d.EnergyJ < last {
						t.Errorf("tick %d: %s: energy counter went down from %v to %v J", i, d.Device, last, d.EnergyJ)
					}
					energy[d.Device] = d.EnergyJ
				}
			}
			if i == 0 {
				first = slices.Clone(buf)
				continue
			}
			if a, b := devices(first), devices(buf); !slices.Equal(a, b) {
				t.Errorf("tick %d read the devices %v; tick 0 read %v: a healthy source reads the same devices, named and kinded alike, at every tick", i, b, a)
			}
		}
	})
	t.Run("Context", func(t *testing.T) {
		s := openFor(t, open)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		mark := sampler.NewDeviceReading("samplertest-mark", sampler.KindOther)
		got, err := s.Sample(ctx, []sampler.DeviceReading{mark})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Sample with a cancelled ctx returned %v; want an error wrapping context.Canceled", err)
		}
		if len(got) == 0 || !sameReading(got[0], mark) {
			t.Errorf("Sample with a cancelled ctx lost what dst held: %+v", got)
		}
		if _, err := s.Sample(t.Context(), nil); err != nil {
			t.Errorf("Sample after a cancelled tick: %v", err)
		}
	})
	t.Run("Close", func(t *testing.T) {
		s, err := open()
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		if _, err := s.Sample(t.Context(), nil); err != nil {
			t.Errorf("Sample: %v", err)
		}
		err1 := s.Close()
		err2 := s.Close()
		switch {
		case err1 == nil && err2 != nil:
			t.Errorf("Close succeeded, then a second Close failed: %v", err2)
		case err1 != nil && err2 != nil && err1.Error() != err2.Error():
			t.Errorf("Close failed with %v, then a second Close with %v: Close must be idempotent", err1, err2)
		}
	})
	t.Run("Describe", func(t *testing.T) {
		s := openFor(t, open)
		d, ok := s.(sampler.Describer)
		if !ok {
			t.Skipf("%T does not implement sampler.Describer", s)
		}
		described := map[string]sampler.Kind{}
		for _, di := range d.Describe().Devices {
			if di.Device == "" {
				t.Errorf("Describe lists a device without a name: %+v", di)
			}
			if !knownKind(di.Kind) {
				t.Errorf("Describe: %s has kind %q, not one of gpu, cpu_package, dram, other", di.Device, di.Kind)
			}
			if _, dup := described[di.Device]; dup {
				t.Errorf("Describe lists %s twice", di.Device)
			}
			described[di.Device] = di.Kind
		}
		read := map[string]bool{}
		var buf []sampler.DeviceReading
		var err error
		for i := range conformanceTicks {
			if buf, err = s.Sample(t.Context(), buf[:0]); err != nil {
				t.Fatalf("tick %d: Sample: %v", i, err)
			}
			for _, r := range buf {
				read[r.Device] = true
				switch kind, ok := described[r.Device]; {
				case !ok:
					t.Errorf("tick %d: %s (%s) is read but Describe does not list it", i, r.Device, r.Kind)
				case kind != r.Kind:
					t.Errorf("tick %d: %s is read as %s but described as %s", i, r.Device, r.Kind, kind)
				}
			}
			// Describe may be called between ticks.
			_ = d.Describe()
		}
		for dev := range described {
			if !read[dev] {
				t.Errorf("Describe lists %s, which %d ticks never read", dev, conformanceTicks)
			}
		}
	})
}

// openFor opens a sampler for one check and closes it when the check ends.
func openFor(t *testing.T, open func() (sampler.Sampler, error)) sampler.Sampler {
	t.Helper()
	s, err := open()
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	if s == nil {
		t.Fatal("open returned a nil sampler and no error")
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func knownKind(k sampler.Kind) bool {
	switch k {
	case sampler.KindGPU, sampler.KindCPUPackage, sampler.KindDRAM, sampler.KindOther:
		return true
	}
	return false
}

// values returns the float fields of a reading.
func values(d sampler.DeviceReading) []float64 {
	return []float64{d.PowerW, d.EnergyJ, d.UtilPct, d.MemUtilPct, d.MemUsedBytes, d.SMClockMHz, d.MemClockMHz, d.TempC}
}

// checkReading checks one device reading of tick i on its own.
func checkReading(t *testing.T, i int, d sampler.DeviceReading) {
	t.Helper()
	if d.Device == "" {
		t.Errorf("tick %d: a reading without a device name: %+v", i, d)
	}
	if !knownKind(d.Kind) {
		t.Errorf("tick %d: %s has kind %q, not one of gpu, cpu_package, dram, other", i, d.Device, d.Kind)
	}
	zeros := 0
	for _, v := range values(d) {
		if math.IsInf(v, 0) {
			t.Errorf("tick %d: %s has an infinite value: %+v", i, d.Device, d)
		}
		if v == 0 {
			zeros++
		}
	}
	if zeros == len(values(d)) {
		t.Errorf("tick %d: %s has every value 0: a value that was not measured must be NaN (start from sampler.NewDeviceReading), not 0", i, d.Device)
	}
	if !d.HasClockEvents && d.ClockEventReasons != 0 {
		t.Errorf("tick %d: %s has clock-event reasons %#x without HasClockEvents", i, d.Device, d.ClockEventReasons)
	}
}

// devices returns "name (kind)" for each reading, in order.
func devices(rs []sampler.DeviceReading) []string {
	out := make([]string, len(rs))
	for i, d := range rs {
		out[i] = d.Device + " (" + string(d.Kind) + ")"
	}
	return out
}

// sameReading compares two readings, NaN equal to NaN.
func sameReading(a, b sampler.DeviceReading) bool {
	if a.Device != b.Device || a.Kind != b.Kind || a.HasClockEvents != b.HasClockEvents || a.ClockEventReasons != b.ClockEventReasons {
		return false
	}
	return slices.EqualFunc(values(a), values(b), func(x, y float64) bool {
		return x == y || (math.IsNaN(x) && math.IsNaN(y))
	})
}
