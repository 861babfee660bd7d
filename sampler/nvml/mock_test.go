//go:build linux && cgo

package nvml

// Tests of the sampler through fakeLib, a hand-written fake of Library (no
// cgo involved): the fake answers every call the sampler makes, with
// statuses a test sets per GPU and call, and counts the calls.

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/sampler"
)

// fakeLib is a fake NVML whose GPUs look like a DGX H100's.
type fakeLib struct {
	mu    sync.Mutex
	gpus  []*fakeGPU
	calls map[string]int // Library method → calls
	// missing lists the NVML functions the library lacks: the methods
	// calling them answer ERROR_FUNCTION_NOT_FOUND.
	missing     map[string]bool
	shutdownRet Return
	driverRet   Return
	// countFunc and byIndexFunc, when set, replace DeviceCount and
	// DeviceByIndex.
	countFunc   func() (int, Return)
	byIndexFunc func(i int) (Device, Return)
}

var _ Library = (*fakeLib)(nil)

// fakeGPU is one GPU of a fakeLib.
type fakeGPU struct {
	lib         *fakeLib
	mu          sync.Mutex
	index       int
	uuid        string
	powerMW     uint32
	energyMJ    uint64   // the counter, advanced by energyStep per read
	energyStep  uint64   //
	energySeq   []uint64 // if set, the counter's successive values
	unsupported map[string]bool
	fail        map[string]Return
	block       chan struct{} // if set, utilization waits on it
	calls       map[string]int
	lastFields  []uint32 // the field IDs of the last FieldValues call
	// fieldFunc, when set, answers FieldValues.
	fieldFunc         func(vs []FieldValue) Return
	compute, graphics []ProcessInfo
}

var _ Device = (*fakeGPU)(nil)

func (l *fakeLib) call(method string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls[method]++
}

func (l *fakeLib) count(method string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[method]
}

func (l *fakeLib) lacks(fn string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.missing[fn]
}

func (l *fakeLib) Init() Return { l.call("Init"); return SUCCESS }

func (l *fakeLib) Shutdown() Return {
	l.call("Shutdown")
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.shutdownRet
}

func (l *fakeLib) DriverVersion() (string, Return) {
	l.call("DriverVersion")
	if l.driverRet != SUCCESS {
		return "", l.driverRet
	}
	return "550.54.15", SUCCESS
}

func (l *fakeLib) CUDADriverVersion() (int, Return) {
	l.call("CUDADriverVersion")
	if l.lacks("nvmlSystemGetCudaDriverVersion") {
		return 0, ERROR_FUNCTION_NOT_FOUND
	}
	return 12040, SUCCESS
}

func (l *fakeLib) DeviceCount() (int, Return) {
	l.call("DeviceCount")
	if l.countFunc != nil {
		return l.countFunc()
	}
	return len(l.gpus), SUCCESS
}

func (l *fakeLib) DeviceByIndex(i int) (Device, Return) {
	l.call("DeviceByIndex")
	if l.byIndexFunc != nil {
		return l.byIndexFunc(i)
	}
	if i < 0 || i >= len(l.gpus) {
		return nil, ERROR_INVALID_ARGUMENT
	}
	return l.gpus[i], SUCCESS
}

// ret counts a call of method and returns the status the GPU answers for
// the value key of NVML function fn.
func (g *fakeGPU) ret(method, fn, key string) Return {
	g.mu.Lock()
	g.calls[method]++
	g.mu.Unlock()
	if g.lib.lacks(fn) {
		return ERROR_FUNCTION_NOT_FOUND
	}
	return g.status(key)
}

// status is the status the GPU answers for the value key.
func (g *fakeGPU) status(key string) Return {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unsupported[key] {
		return ERROR_NOT_SUPPORTED
	}
	if r, ok := g.fail[key]; ok {
		return r
	}
	return SUCCESS
}

func (g *fakeGPU) set(f func(g *fakeGPU)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func (g *fakeGPU) count(method string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls[method]
}

func (g *fakeGPU) fields() []uint32 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]uint32(nil), g.lastFields...)
}

func (g *fakeGPU) counter() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.energyMJ
}

func (g *fakeGPU) nextEnergy() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.energySeq) > 0 {
		v := g.energySeq[0]
		if len(g.energySeq) > 1 {
			g.energySeq = g.energySeq[1:]
		}
		return v
	}
	g.energyMJ += g.energyStep
	return g.energyMJ
}

func (g *fakeGPU) UUID() (string, Return) {
	return g.uuid, g.ret("UUID", "nvmlDeviceGetUUID", "uuid")
}

func (g *fakeGPU) Name() (string, Return) {
	if r := g.ret("Name", "nvmlDeviceGetName", "name"); r != SUCCESS {
		return "", r
	}
	return "NVIDIA H100 80GB HBM3", SUCCESS
}

func (g *fakeGPU) PCIInfo() (PCIInfo, Return) {
	if r := g.ret("PCIInfo", "nvmlDeviceGetPciInfo_v3", "pci"); r != SUCCESS {
		return PCIInfo{}, r
	}
	bus := uint32(0x18 + 0x10*g.index)
	return PCIInfo{BusID: fmt.Sprintf("00000000:%02X:00.0", bus), Bus: bus}, SUCCESS
}

func (g *fakeGPU) Serial() (string, Return) {
	return fmt.Sprintf("16523100%04d", g.index), g.ret("Serial", "nvmlDeviceGetSerial", "serial")
}

func (g *fakeGPU) VBIOSVersion() (string, Return) {
	return "96.00.74.00.0" + fmt.Sprint(g.index), g.ret("VBIOSVersion", "nvmlDeviceGetVbiosVersion", "vbios")
}

func (g *fakeGPU) FieldValues(vs []FieldValue) Return {
	r := g.ret("FieldValues", "nvmlDeviceGetFieldValues", "field_values")
	g.mu.Lock()
	g.lastFields = g.lastFields[:0]
	for _, v := range vs {
		g.lastFields = append(g.lastFields, v.FieldID)
	}
	f := g.fieldFunc
	g.mu.Unlock()
	if r != SUCCESS {
		return r
	}
	if f != nil {
		return f(vs)
	}
	for i := range vs {
		v := &vs[i]
		switch v.FieldID {
		case FI_DEV_POWER_INSTANT:
			v.Return = g.status("power_instant")
			v.ValueType = VALUE_TYPE_UNSIGNED_INT
			g.mu.Lock()
			binary.NativeEndian.PutUint32(v.Value[:], g.powerMW)
			g.mu.Unlock()
		case FI_DEV_TOTAL_ENERGY_CONSUMPTION:
			v.Return = g.status("energy_field")
			v.ValueType = VALUE_TYPE_UNSIGNED_LONG_LONG
			if v.Return == SUCCESS {
				binary.NativeEndian.PutUint64(v.Value[:], g.nextEnergy())
			}
		default:
			v.Return = ERROR_NOT_SUPPORTED
		}
	}
	return SUCCESS
}

func (g *fakeGPU) PowerUsage() (uint32, Return) {
	if r := g.ret("PowerUsage", "nvmlDeviceGetPowerUsage", "power_usage"); r != SUCCESS {
		return 0, r
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.powerMW + 7, SUCCESS // 7 mW off, to tell the sources apart
}

func (g *fakeGPU) TotalEnergyConsumption() (uint64, Return) {
	if r := g.ret("TotalEnergyConsumption", "nvmlDeviceGetTotalEnergyConsumption", "total_energy"); r != SUCCESS {
		return 0, r
	}
	return g.nextEnergy(), SUCCESS
}

func (g *fakeGPU) UtilizationRates() (Utilization, Return) {
	g.mu.Lock()
	block := g.block
	g.mu.Unlock()
	if block != nil {
		<-block
	}
	if r := g.ret("UtilizationRates", "nvmlDeviceGetUtilizationRates", "utilization"); r != SUCCESS {
		return Utilization{}, r
	}
	return Utilization{GPU: uint32(50 + g.index), Memory: uint32(20 + g.index)}, SUCCESS
}

func (g *fakeGPU) MemoryInfo() (Memory, Return) {
	if r := g.ret("MemoryInfo", "nvmlDeviceGetMemoryInfo", "memory"); r != SUCCESS {
		return Memory{}, r
	}
	return Memory{Total: 80 << 30, Used: uint64(g.index+1) << 30}, SUCCESS
}

func (g *fakeGPU) ClockInfo(c ClockType) (uint32, Return) {
	switch c {
	case CLOCK_SM:
		return 1980, g.ret("ClockInfo", "nvmlDeviceGetClockInfo", "clock_sm")
	case CLOCK_MEM:
		return 2619, g.ret("ClockInfo", "nvmlDeviceGetClockInfo", "clock_mem")
	}
	return 0, ERROR_INVALID_ARGUMENT
}

func (g *fakeGPU) Temperature(TemperatureSensor) (uint32, Return) {
	return uint32(40 + g.index), g.ret("Temperature", "nvmlDeviceGetTemperature", "temperature")
}

func (g *fakeGPU) ClocksEventReasons() (uint64, Return) {
	return 0x4, g.ret("ClocksEventReasons", "nvmlDeviceGetCurrentClocksEventReasons", "event_reasons")
}

func (g *fakeGPU) ClocksThrottleReasons() (uint64, Return) {
	return 0x8, g.ret("ClocksThrottleReasons", "nvmlDeviceGetCurrentClocksThrottleReasons", "throttle_reasons")
}

func (g *fakeGPU) ComputeRunningProcesses() ([]ProcessInfo, Return) {
	if r := g.ret("ComputeRunningProcesses", "nvmlDeviceGetComputeRunningProcesses", "compute_procs"); r != SUCCESS {
		return nil, r
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]ProcessInfo(nil), g.compute...), SUCCESS
}

func (g *fakeGPU) GraphicsRunningProcesses() ([]ProcessInfo, Return) {
	if r := g.ret("GraphicsRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses", "graphics_procs"); r != SUCCESS {
		return nil, r
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]ProcessInfo(nil), g.graphics...), SUCCESS
}

// initOnly is a Library whose Init fails: any other call panics (the
// embedded interface is nil).
type initOnly struct {
	Library
	ret   Return
	inits int
}

func (l *initOnly) Init() Return { l.inits++; return l.ret }

// rig is a fakeLib of n GPUs and its GPUs.
type rig struct {
	lib  *fakeLib
	gpus []*fakeGPU
	// missing lists the NVML functions the library lacks (the lib's map).
	missing map[string]bool
}

func newRig(n int) *rig {
	l := &fakeLib{calls: map[string]int{}, missing: map[string]bool{}}
	for i := range n {
		l.gpus = append(l.gpus, &fakeGPU{
			lib: l, index: i, uuid: fmt.Sprintf("GPU-5e3c1a2b-0000-4000-8000-%012x", 0xa0+i),
			powerMW: uint32(100_000 + 1000*i), energyMJ: 5_000_000, energyStep: 1000,
			unsupported: map[string]bool{}, fail: map[string]Return{}, calls: map[string]int{},
		})
	}
	return &rig{lib: l, gpus: l.gpus, missing: l.missing}
}

// open opens the rig's server with the probe off unless opts turn it on.
func (r *rig) open(t *testing.T, opts ...Option) *Sampler {
	t.Helper()
	s, err := Open(append([]Option{WithInterface(r.lib), WithSensorProbe(0)}, opts...)...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func sample(t *testing.T, s *Sampler) []sampler.DeviceReading {
	t.Helper()
	rs, err := s.Sample(context.Background(), nil)
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	return rs
}

func TestReadingsPerDevice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(8)
		s := r.open(t)
		defer s.Close()

		rs := sample(t, s)
		if len(rs) != 8 {
			t.Fatalf("%d readings, want 8", len(rs))
		}
		for i, d := range rs {
			want := sampler.DeviceReading{
				Device: fmt.Sprintf("gpu%d", i), Kind: sampler.KindGPU,
				PowerW: float64(100_000+1000*i) / 1000, EnergyJ: 5002,
				UtilPct: float64(50 + i), MemUtilPct: float64(20 + i), MemUsedBytes: float64(uint64(i+1) << 30),
				SMClockMHz: 1980, MemClockMHz: 2619, TempC: float64(40 + i),
				ClockEventReasons: 0x4, HasClockEvents: true,
			}
			if d != want {
				t.Errorf("reading %d:\n got %+v\nwant %+v", i, d, want)
			}
		}
		// Field calls: one at Open to learn what is supported, then in the
		// first tick one for the power and one for the energy counter,
		// which is slow on some GPUs and read on its own cadence.
		for i, d := range r.gpus {
			if n := d.count("FieldValues"); n != 3 {
				t.Fatalf("gpu%d: %d FieldValues calls, want 3", i, n)
			}
			if last := d.fields(); len(last) != 1 || last[0] != FI_DEV_TOTAL_ENERGY_CONSUMPTION {
				t.Fatalf("gpu%d: last field call %+v", i, last)
			}
			if n := d.count("PowerUsage"); n != 0 {
				t.Fatalf("gpu%d: PowerUsage called %d times with the field available", i, n)
			}
		}

		info := s.Describe()
		if len(info.Devices) != 8 {
			t.Fatalf("Describe: %d devices", len(info.Devices))
		}
		for i, d := range info.Devices {
			if d.Device != fmt.Sprintf("gpu%d", i) || d.Kind != sampler.KindGPU || d.Model != "NVIDIA H100 80GB HBM3" || d.PowerAveraged {
				t.Errorf("DeviceInfo %d: %+v", i, d)
			}
		}
		if s.Name() != "nvml" {
			t.Errorf("Name() = %q", s.Name())
		}

		inv := s.Inventory()
		if inv.Driver != "550.54.15" || inv.CUDA != "12.4" || len(inv.GPUs) != 8 {
			t.Fatalf("inventory %+v", inv)
		}
		for i, g := range inv.GPUs {
			want := GPU{Index: i, UUID: r.gpus[i].uuid, Name: "NVIDIA H100 80GB HBM3",
				PCIBusID: fmt.Sprintf("00000000:%02X:00.0", 0x18+0x10*i),
				Serial:   fmt.Sprintf("16523100%04d", i), VBIOS: fmt.Sprintf("96.00.74.00.0%d", i)}
			if g != want {
				t.Errorf("inventory GPU %d:\n got %+v\nwant %+v", i, g, want)
			}
		}
		inv.GPUs[0].Name = "changed"
		if s.Inventory().GPUs[0].Name == "changed" {
			t.Error("Inventory shares its slice with the caller")
		}
	})
}

func TestNotSupportedFieldsAbsent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(2)
		r.gpus[1].set(func(g *fakeGPU) {
			g.unsupported["temperature"] = true
			g.unsupported["memory"] = true
			g.unsupported["energy_field"] = true
			g.unsupported["total_energy"] = true
		})
		s := r.open(t, WithSlowInterval(0))
		defer s.Close()
		for range 3 {
			rs := sample(t, s)
			d := rs[1]
			if sampler.Has(d.TempC) || sampler.Has(d.MemUsedBytes) || sampler.Has(d.EnergyJ) {
				t.Fatalf("unsupported fields present: %+v", d)
			}
			if !sampler.Has(d.PowerW) || !sampler.Has(d.SMClockMHz) || !sampler.Has(rs[0].TempC) {
				t.Fatalf("supported fields absent: %+v / %+v", d, rs[0])
			}
		}
		// NOT_SUPPORTED is absence, not failure, and is not asked again.
		for _, h := range s.Health() {
			if h.FieldErrors != nil || h.LastError != nil || h.EmptyReads != 0 {
				t.Errorf("%s: health %+v", h.Device, h)
			}
		}
		if n := r.gpus[1].count("Temperature"); n != 1 {
			t.Errorf("Temperature called %d times after ERROR_NOT_SUPPORTED, want 1", n)
		}
		notes := strings.Join(s.Describe().Notes, "\n")
		for _, want := range []string{"gpu1: not supported, so absent: memory, temperature", "gpu1: no energy counter"} {
			if !strings.Contains(notes, want) {
				t.Errorf("notes lack %q:\n%s", want, notes)
			}
		}
	})
}

func TestFailedFieldCountedNotFatal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(2)
		r.gpus[1].set(func(g *fakeGPU) { g.fail["utilization"] = ERROR_UNKNOWN })
		s := r.open(t)
		defer s.Close()
		for range 4 {
			rs := sample(t, s)
			if sampler.Has(rs[1].UtilPct) || sampler.Has(rs[1].MemUtilPct) || !sampler.Has(rs[1].PowerW) {
				t.Fatalf("gpu1 reading %+v", rs[1])
			}
		}
		h := s.Health()[1]
		if h.Reads != 4 || h.FieldErrors[FieldUtilization] != 4 || len(h.FieldErrors) != 1 || h.EmptyReads != 0 {
			t.Fatalf("health %+v", h)
		}
		if !errors.Is(h.LastError, ERROR_UNKNOWN) || !strings.Contains(h.LastError.Error(), "gpu1: nvmlDeviceGetUtilizationRates: ERROR_UNKNOWN") {
			t.Fatalf("LastError %v", h.LastError)
		}
		if h0 := s.Health()[0]; h0.FieldErrors != nil || h0.LastError != nil {
			t.Fatalf("gpu0 health %+v", h0)
		}
		notes := strings.Join(s.Describe().Notes, "\n")
		if !strings.Contains(notes, "gpu1: 4 failed read(s) of 4 ticks (utilization 4)") {
			t.Errorf("notes:\n%s", notes)
		}
	})
}

func TestSampleFailsOnlyWhenNoGPUYieldsData(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(2)
		lost := func(g *fakeGPU) {
			for _, c := range []string{"field_values", "utilization", "memory", "clock_sm", "clock_mem", "temperature", "event_reasons"} {
				g.fail[c] = ERROR_GPU_IS_LOST
			}
		}
		s := r.open(t)
		defer s.Close()

		r.gpus[0].set(lost)
		rs, err := s.Sample(context.Background(), nil)
		if err != nil || len(rs) != 2 {
			t.Fatalf("one GPU lost: %d readings, %v; want 2 and no error", len(rs), err)
		}
		if sampler.Has(rs[0].PowerW) || !sampler.Has(rs[1].PowerW) {
			t.Fatalf("readings %+v", rs)
		}
		if h := s.Health()[0]; h.EmptyReads != 1 {
			t.Fatalf("health %+v", h)
		}

		r.gpus[1].set(lost)
		_, err = s.Sample(context.Background(), nil)
		if !errors.Is(err, ERROR_GPU_IS_LOST) || !strings.Contains(err.Error(), "gpu0") || !strings.Contains(err.Error(), "gpu1") {
			t.Fatalf("all GPUs lost: %v", err)
		}
	})
}

func TestFallbackMarksPowerAveraged(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(r *rig)
	}{
		{"fields unsupported", func(r *rig) {
			for _, g := range r.gpus {
				g.unsupported["power_instant"] = true
				g.unsupported["energy_field"] = true
			}
		}},
		{"field call unsupported", func(r *rig) {
			for _, g := range r.gpus {
				g.unsupported["field_values"] = true
			}
		}},
		{"no field symbol", func(r *rig) { r.missing["nvmlDeviceGetFieldValues"] = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(8)
				tc.set(r)
				s := r.open(t)
				defer s.Close()
				rs := sample(t, s)
				for i, d := range rs {
					if d.PowerW != float64(100_000+1000*i+7)/1000 || d.EnergyJ != 5002 {
						t.Fatalf("gpu%d: power %v energy %v; want the GetPowerUsage and counter values", i, d.PowerW, d.EnergyJ)
					}
				}
				for _, di := range s.Describe().Devices {
					if !di.PowerAveraged {
						t.Fatalf("%s: PowerAveraged false", di.Device)
					}
				}
				notes := strings.Join(s.Describe().Notes, "\n")
				if !strings.Contains(notes, "gpu0, gpu1, gpu2, gpu3, gpu4, gpu5, gpu6, gpu7: power is nvmlDeviceGetPowerUsage, which Ampere and later GPUs average over 1 s") {
					t.Fatalf("notes:\n%s", notes)
				}
				if n := r.gpus[0].count("PowerUsage"); n != 2 {
					t.Fatalf("PowerUsage called %d times, want 2 (Open, tick)", n)
				}
			})
		})
	}
}

// TestMissingFunctionsFallBack: a function the driver's library lacks
// answers ERROR_FUNCTION_NOT_FOUND (the binding never calls a missing
// symbol); the sampler falls back at Open and never asks again.
func TestMissingFunctionsFallBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(2)
		r.missing["nvmlDeviceGetCurrentClocksEventReasons"] = true
		r.missing["nvmlDeviceGetTotalEnergyConsumption"] = true
		r.missing["nvmlSystemGetCudaDriverVersion"] = true
		for _, g := range r.gpus {
			g.unsupported["energy_field"] = true
		}
		s := r.open(t)
		defer s.Close()
		atOpen := map[string]int{}
		for _, m := range []string{"ClocksEventReasons", "TotalEnergyConsumption"} {
			atOpen[m] = r.gpus[0].count(m)
		}
		rs := sample(t, s)
		sample(t, s)
		for m, n := range atOpen {
			if n > 1 || r.gpus[0].count(m) != n {
				t.Errorf("%s, which the library lacks: %d call(s) at Open, %d more on 2 ticks; want at most 1 and none",
					m, n, r.gpus[0].count(m)-n)
			}
		}
		if !rs[0].HasClockEvents || rs[0].ClockEventReasons != 0x8 || sampler.Has(rs[0].EnergyJ) {
			t.Fatalf("reading %+v; want the throttle reasons and no energy", rs[0])
		}
		if inv := s.Inventory(); inv.CUDA != "" {
			t.Fatalf("CUDA %q without the symbol", inv.CUDA)
		}
		notes := strings.Join(s.Describe().Notes, "\n")
		if !strings.Contains(notes, "gpu0, gpu1: clock-event reasons from the older nvmlDeviceGetCurrentClocksThrottleReasons") {
			t.Fatalf("notes:\n%s", notes)
		}
	})
}

func TestDeviceSelection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(8)
		uuid5 := r.gpus[5].uuid
		s := r.open(t, WithDevices(strings.ToUpper(uuid5[:4])+uuid5[4:], "2"))
		rs := sample(t, s)
		if len(rs) != 2 || rs[0].Device != "gpu2" || rs[1].Device != "gpu5" || rs[1].PowerW != 105 {
			t.Fatalf("readings %+v", rs)
		}
		if inv := s.Inventory(); len(inv.GPUs) != 8 {
			t.Fatalf("inventory lists %d GPUs, want all 8", len(inv.GPUs))
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if n := r.gpus[0].count("FieldValues"); n != 0 {
			t.Fatalf("unselected gpu0 was read %d times", n)
		}

		for _, tc := range []struct {
			sel  []string
			want string
		}{
			{[]string{"8"}, `no GPU matches "8"; available: 0 ` + r.gpus[0].uuid + " (NVIDIA H100 80GB HBM3), 1 "},
			{[]string{"GPU-00000000-dead-beef"}, `no GPU matches "GPU-00000000-dead-beef"`},
			{[]string{"1", r.gpus[1].uuid}, `"1" and "` + r.gpus[1].uuid + `" both select GPU 1`},
		} {
			shutdowns := r.lib.count("Shutdown")
			s, err := Open(WithInterface(r.lib), WithSensorProbe(0), WithDevices(tc.sel...))
			if err == nil {
				s.Close()
				t.Fatalf("WithDevices(%q) accepted", tc.sel)
			}
			if !strings.Contains(err.Error(), tc.want) || errors.Is(err, sampler.ErrUnavailable) {
				t.Errorf("WithDevices(%q): %v; want it to contain %q", tc.sel, err, tc.want)
			}
			if n := r.lib.count("Shutdown") - shutdowns; n != 1 {
				t.Errorf("WithDevices(%q): %d Shutdown calls after the failed Open, want 1", tc.sel, n)
			}
		}
	})
}

func TestSlowCadence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(8)
		s := r.open(t) // default slow interval, 100 ms
		defer s.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second+5*time.Millisecond)
		defer cancel()
		var got []sampler.Reading
		st, err := sampler.Run(ctx, s, 10*time.Millisecond, time.Now(), func(r sampler.Reading) { got = append(got, r) })
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 102 || got[101].Tick != sampler.ClosingTick || st.Missed != 0 || st.Errors != 0 {
			t.Fatalf("%d readings, stats %+v; want 101 and the closing one", len(got), st)
		}
		closing := got[101]
		got = got[:101]
		// GPU k reads its slow values in tick 0, then after the first tick
		// at or after k·12.5 ms + m·100 ms, for the tick that follows.
		isDue := func(k int, tick int64) bool {
			tickAt := time.Duration(tick) * 10 * time.Millisecond
			due := time.Duration(k) * 12500 * time.Microsecond
			if k == 0 {
				due = 100 * time.Millisecond
			}
			for due+100*time.Millisecond <= tickAt-10*time.Millisecond {
				due += 100 * time.Millisecond
			}
			if due < tickAt-10*time.Millisecond {
				due += 100 * time.Millisecond
			}
			return tickAt >= due && tickAt-due < 10*time.Millisecond
		}
		last := make([]int64, 8)
		for _, rd := range got {
			slowGPUs := 0
			for k, d := range rd.Devices {
				slow := rd.Tick == 0 || (rd.Tick > 1 && isDue(k, rd.Tick-1))
				if sampler.Has(d.SMClockMHz) != slow || sampler.Has(d.MemClockMHz) != slow ||
					sampler.Has(d.TempC) != slow || d.HasClockEvents != slow {
					t.Fatalf("tick %d %s: slow values %v %v %v %v, want present=%v", rd.Tick, d.Device,
						d.SMClockMHz, d.MemClockMHz, d.TempC, d.HasClockEvents, slow)
				}
				if slow && rd.Tick > 0 {
					slowGPUs++
					if last[k] > 0 && rd.Tick-last[k] != 10 {
						t.Fatalf("%s: slow reads at ticks %d and %d", d.Device, last[k], rd.Tick)
					}
					last[k] = rd.Tick
				}
				// The energy counter has the same cadence (100 ms by default).
				if sampler.Has(d.EnergyJ) != slow {
					t.Fatalf("tick %d %s: energy %v, want present=%v", rd.Tick, d.Device, d.EnergyJ, slow)
				}
				// A counter read just after the previous tick is one interval
				// old (on synctest's clock, exactly); one read in the tick, 0.
				wantLag := time.Duration(0)
				if slow && rd.Tick > 0 {
					wantLag = 10 * time.Millisecond
				}
				if d.EnergyLag != wantLag {
					t.Fatalf("tick %d %s: EnergyLag %v, want %v", rd.Tick, d.Device, d.EnergyLag, wantLag)
				}
				if !sampler.Has(d.PowerW) || !sampler.Has(d.UtilPct) || !sampler.Has(d.MemUsedBytes) {
					t.Fatalf("tick %d %s: fast values missing: %+v", rd.Tick, d.Device, d)
				}
			}
			if slowGPUs > 2 {
				t.Fatalf("tick %d: %d GPUs read slow values; they should be spread", rd.Tick, slowGPUs)
			}
		}
		for k, d := range r.gpus {
			if n := d.count("Temperature"); n != 12 { // 11 on the schedule, and the closing reading
				t.Errorf("gpu%d: %d temperature reads in 1 s at 100 ms, want 11 and the closing one", k, n)
			}
		}
		// The closing reading reads every value in the tick.
		for _, d := range closing.Devices {
			if !sampler.Has(d.EnergyJ) || d.EnergyLag != 0 || !sampler.Has(d.TempC) || !sampler.Has(d.PowerW) {
				t.Errorf("closing reading %s lacks a value: %+v", d.Device, d)
			}
		}
	})
}

func TestEnergyCounterReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(1)
		r.gpus[0].set(func(g *fakeGPU) {
			// Open's support check, then the ticks: a reload after 3000 mJ.
			g.energySeq = []uint64{900, 1000, 2000, 3000, 200, 700, 700, 1700}
		})
		s := r.open(t, WithEnergyInterval(0)) // the counter in every tick
		defer s.Close()
		var got []float64
		for range 7 {
			got = append(got, sample(t, s)[0].EnergyJ)
		}
		want := []float64{1, 2, 3, 3, 3.5, 3.5, 4.5}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-9 {
				t.Fatalf("EnergyJ %v, want %v", got, want)
			}
		}
		if h := s.Health()[0]; h.EnergyResets != 1 || h.FieldErrors != nil {
			t.Fatalf("health %+v", h)
		}
		notes := strings.Join(s.Describe().Notes, "\n")
		if !strings.Contains(notes, "gpu0: the energy counter went backwards 1 time(s)") {
			t.Fatalf("notes:\n%s", notes)
		}
	})
}

func TestFailedInitCallsNothingElse(t *testing.T) {
	for _, tc := range []struct {
		ret  Return
		hint string
	}{
		{ERROR_LIBRARY_NOT_FOUND, "--gpus"},
		{ERROR_DRIVER_NOT_LOADED, "kernel driver is not loaded"},
		{ERROR_NO_PERMISSION, "/dev/nvidia"},
		{ERROR_UNKNOWN, "nvidia-smi"},
	} {
		m := &initOnly{ret: tc.ret}
		s, err := Open(WithInterface(m))
		if s != nil || err == nil {
			t.Fatalf("Open succeeded after Init returned %v", tc.ret)
		}
		if !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, tc.ret) {
			t.Errorf("error %v wraps neither ErrUnavailable nor %d", err, tc.ret)
		}
		if !strings.Contains(err.Error(), tc.hint) || !strings.Contains(err.Error(), tc.ret.String()) {
			t.Errorf("error %q lacks %q or the status name", err, tc.hint)
		}
		if m.inits != 1 {
			t.Errorf("%d Init calls", m.inits)
		}
	}
}

func TestNoGPUIsUnavailable(t *testing.T) {
	r := newRig(1)
	r.lib.countFunc = func() (int, Return) { return 0, SUCCESS }
	_, err := Open(WithInterface(r.lib))
	if !errors.Is(err, sampler.ErrUnavailable) || !strings.Contains(err.Error(), "found no GPU") {
		t.Fatalf("Open: %v", err)
	}
	if n := r.lib.count("Shutdown"); n != 1 {
		t.Fatalf("%d Shutdown calls, want 1", n)
	}

	r.lib.countFunc = func() (int, Return) { return 0, ERROR_NO_PERMISSION }
	if _, err := Open(WithInterface(r.lib)); !errors.Is(err, ERROR_NO_PERMISSION) || !errors.Is(err, sampler.ErrUnavailable) {
		t.Fatalf("Open: %v", err)
	}
}

func TestInventoryFallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(4)
		r.lib.byIndexFunc = func(i int) (Device, Return) {
			if i == 2 {
				return nil, ERROR_GPU_IS_LOST
			}
			return r.gpus[i], SUCCESS
		}
		r.lib.driverRet = ERROR_UNKNOWN
		r.gpus[1].set(func(g *fakeGPU) {
			g.fail["name"] = ERROR_UNKNOWN
			g.fail["pci"] = ERROR_UNKNOWN
			g.unsupported["serial"] = true
			g.unsupported["vbios"] = true
		})
		s := r.open(t)
		defer s.Close()
		inv := s.Inventory()
		if inv.Driver != "" || len(inv.GPUs) != 3 {
			t.Fatalf("inventory %+v", inv)
		}
		want := GPU{Index: 1, UUID: r.gpus[1].uuid, Name: "NVIDIA-GPU-1", PCIBusID: "0000:00:01.0", Serial: "unknown", VBIOS: "unknown"}
		if inv.GPUs[1] != want || inv.GPUs[2].Index != 3 {
			t.Fatalf("inventory GPUs %+v", inv.GPUs)
		}
		rs := sample(t, s)
		if len(rs) != 3 || rs[2].Device != "gpu3" {
			t.Fatalf("readings %+v", rs)
		}
		notes := strings.Join(s.Describe().Notes, "\n")
		if !strings.Contains(notes, "GPU 2 left out: nvmlDeviceGetHandleByIndex: ERROR_GPU_IS_LOST") {
			t.Fatalf("notes:\n%s", notes)
		}
	})
}

func TestCloseIdempotentAndNoLeaks(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := newRig(8)
	s := r.open(t)
	sample(t, s)
	for range 3 {
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := r.lib.count("Shutdown"); n != 1 {
		t.Fatalf("%d Shutdown calls, want 1", n)
	}
	if _, err := s.Sample(context.Background(), nil); err == nil {
		t.Fatal("Sample after Close succeeded")
	}
	_ = s.Describe() // still fine after Close
	_ = s.Health()

	r.lib.shutdownRet = ERROR_UNKNOWN
	s = r.open(t)
	err1, err2 := s.Close(), s.Close()
	if !errors.Is(err1, ERROR_UNKNOWN) || err1 != err2 {
		t.Fatalf("Close: %v, then %v", err1, err2)
	}
}

func TestSampleHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(4)
		s := r.open(t)
		defer s.Close()
		release := make(chan struct{})
		r.gpus[2].set(func(g *fakeGPU) { g.block = release })

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel()
		_, err := s.Sample(ctx, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Sample with a stuck GPU: %v", err)
		}
		// A second tick while gpu2 is still stuck queues behind it.
		ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Millisecond)
		defer cancel2()
		if _, err := s.Sample(ctx2, nil); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("second Sample: %v", err)
		}
		r.gpus[2].set(func(g *fakeGPU) { g.block = nil })
		close(release)
		// Stale completions are ignored; the next tick is whole and fresh.
		for range 3 {
			before := r.gpus[2].counter()
			rs := sample(t, s)
			if len(rs) != 4 || rs[2].EnergyJ <= float64(before)/1000 {
				t.Fatalf("readings after the stall %+v (counter before %d)", rs, before)
			}
		}
		if _, err := s.Sample(canceled(), nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Sample with a done ctx: %v", err)
		}
	})
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// TestSensorProbe uses real time: the fake's power changes every 5 ms.
func TestSensorProbe(t *testing.T) {
	r := newRig(2)
	start := time.Now()
	for _, d := range r.gpus {
		d.fieldFunc = func(vs []FieldValue) Return {
			for i := range vs {
				vs[i].Return = SUCCESS
				vs[i].ValueType = VALUE_TYPE_UNSIGNED_LONG_LONG
				binary.NativeEndian.PutUint64(vs[i].Value[:], uint64(time.Since(start)/(5*time.Millisecond)))
			}
			time.Sleep(50 * time.Microsecond)
			return SUCCESS
		}
	}
	s, err := Open(WithInterface(r.lib), WithSensorProbe(60*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, d := range s.Describe().Devices {
		if d.SensorPeriod < 4*time.Millisecond || d.SensorPeriod > 6*time.Millisecond {
			t.Errorf("%s: sensor period %v, want ~5ms", d.Device, d.SensorPeriod)
		}
	}
	notes := strings.Join(s.Describe().Notes, "\n")
	if !strings.Contains(notes, "power sensor updates every ~") {
		t.Errorf("notes:\n%s", notes)
	}

	// A constant reading leaves the period unknown.
	r2 := newRig(1)
	s2, err := Open(WithInterface(r2.lib), WithSensorProbe(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if d := s2.Describe().Devices[0]; d.SensorPeriod != 0 {
		t.Errorf("constant power: period %v", d.SensorPeriod)
	}
	// Before the first tick nothing is said; after it, that it is unknown.
	if notes := strings.Join(s2.Describe().Notes, "\n"); strings.Contains(notes, "power sensor") {
		t.Errorf("notes before a tick:\n%s", notes)
	}
	for range 3 {
		if _, err := s2.Sample(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
	}
	want := "gpu0: power sensor update period unknown: the reading changed 0 time(s) in the 10ms probe at Open and 0 time(s) in 3 readings"
	if notes := strings.Join(s2.Describe().Notes, "\n"); !strings.Contains(notes, want) {
		t.Errorf("notes lack %q:\n%s", want, notes)
	}
}

func TestProcesses(t *testing.T) {
	r := newRig(3)
	na := NoInstance
	r.gpus[0].set(func(g *fakeGPU) {
		g.compute = []ProcessInfo{{300, 1 << 30, na, na}, {100, ValueNotAvailable, na, na}}
		g.graphics = []ProcessInfo{{100, 64 << 20, na, na}, {200, 1 << 20, na, na}}
	})
	r.gpus[1].set(func(g *fakeGPU) {
		g.compute = []ProcessInfo{{400, 2 << 30, 1, 0}}
		g.unsupported["graphics_procs"] = true // a compute-only GPU: no error
	})
	r.gpus[2].set(func(g *fakeGPU) {
		g.fail["compute_procs"] = ERROR_UNKNOWN
		g.graphics = []ProcessInfo{{500, ValueNotAvailable, na, na}}
	})
	s := r.open(t, WithDevices("1")) // Processes covers the whole inventory
	defer s.Close()

	// Concurrently with sampling, as a caller mapping PIDs during a run
	// would (the race detector checks it).
	var wg sync.WaitGroup
	wg.Go(func() {
		for range 20 {
			if _, err := s.Sample(context.Background(), nil); err != nil {
				t.Error(err)
				return
			}
		}
	})
	var got []GPUProcesses
	for range 20 {
		var err error
		if got, err = s.Processes(); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()

	if len(got) != 3 {
		t.Fatalf("%d GPUs, want 3", len(got))
	}
	want0 := []Process{
		{PID: 100, Compute: true, Graphics: true, UsedMemoryBytes: 64 << 20, GPUInstance: -1, ComputeInstance: -1},
		{PID: 200, Graphics: true, UsedMemoryBytes: 1 << 20, GPUInstance: -1, ComputeInstance: -1},
		{PID: 300, Compute: true, UsedMemoryBytes: 1 << 30, GPUInstance: -1, ComputeInstance: -1},
	}
	if g := got[0]; g.Index != 0 || g.UUID != r.gpus[0].uuid || g.Err != nil || fmt.Sprint(g.Processes) != fmt.Sprint(want0) {
		t.Errorf("gpu0: %+v\nwant processes %+v", g, want0)
	}
	if pids := got[0].PIDs(); fmt.Sprint(pids) != "[100 200 300]" {
		t.Errorf("PIDs() = %v", pids)
	}
	want1 := []Process{{PID: 400, Compute: true, UsedMemoryBytes: 2 << 30, GPUInstance: 1, ComputeInstance: 0}}
	if g := got[1]; g.Err != nil || fmt.Sprint(g.Processes) != fmt.Sprint(want1) {
		t.Errorf("gpu1: %+v\nwant processes %+v", g, want1)
	}
	g := got[2]
	if !errors.Is(g.Err, ERROR_UNKNOWN) || !strings.Contains(g.Err.Error(), "gpu2: nvmlDeviceGetComputeRunningProcesses: ERROR_UNKNOWN") ||
		len(g.Processes) != 1 || g.Processes[0].PID != 500 || g.Processes[0].UsedMemoryBytes != -1 {
		t.Errorf("gpu2: %+v; want the graphics list and the compute list's error", g)
	}

	// A library without either function knows nothing: each GPU says so.
	r.lib.mu.Lock()
	r.missing["nvmlDeviceGetComputeRunningProcesses"] = true
	r.missing["nvmlDeviceGetGraphicsRunningProcesses"] = true
	r.lib.mu.Unlock()
	got, err := s.Processes()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range got {
		if !errors.Is(g.Err, ERROR_FUNCTION_NOT_FOUND) || len(g.Processes) != 0 {
			t.Errorf("gpu%d without the functions: %+v", g.Index, g)
		}
	}

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Processes(); err == nil {
		t.Error("Processes after Close succeeded")
	}
}

func TestSensorPeriodEstimate(t *testing.T) {
	ms := func(vs ...float64) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v * float64(time.Millisecond))
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		changes []time.Duration
		want    time.Duration // within 1 ms
		updates int
	}{
		// Change times read back to back on an H200 (driver 580), idle and
		// with an engine loaded: two changes per update, 2-8 ms apart.
		{"H200 idle", ms(183.5, 185.8, 283.6, 285.9, 383.5, 385.8, 483.5, 485.7, 585.3, 683.5, 685.7, 783.6, 785.8, 883.5, 885.7, 983.7, 986), 100 * time.Millisecond, 9},
		{"H200 loaded", ms(161.9, 169.4, 261.4, 268.4, 361.8, 461.4, 468.3, 561.4, 661.4, 668.3, 761.7, 769, 961.8), 100 * time.Millisecond, 8},
		{"regular 5 ms", ms(0, 5, 10, 15, 20, 25, 30), 5 * time.Millisecond, 7},
		{"one read delayed", ms(0, 20, 40, 63, 80, 100), 20 * time.Millisecond, 6},
		{"an update repeats its value", ms(0, 100, 300, 400, 500), 100 * time.Millisecond, 5},
		{"too few changes", ms(0, 100), 0, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, updates := sensorPeriod(tc.changes)
			if d := got - tc.want; d < -time.Millisecond || d > time.Millisecond || updates != tc.updates {
				t.Errorf("sensorPeriod = %v over %d updates, want %v over %d", got, updates, tc.want, tc.updates)
			}
		})
	}
}

// The ticks measure the sensor's period where the probe at Open cannot (an
// H200's power field answers from a cache, and at idle may not change in
// 300 ms): its power changes twice, 4 ms apart, every 100 ms, and sampled
// every 10 ms for 2 s the period reads 100 ms. A power that changes at
// every tick is faster than the ticks resolve: the period stays unknown.
func TestSensorPeriodFromTicks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		power func(since time.Duration) uint32
		want  time.Duration
		note  string
	}{
		{"H200", func(since time.Duration) uint32 {
			v := 2 * uint32(since/(100*time.Millisecond))
			if since%(100*time.Millisecond) >= 4*time.Millisecond {
				v++
			}
			return 100_000 + v
		}, 100 * time.Millisecond, "gpu0: power sensor updates every ~100ms (the median time between "},
		{"every tick", func(since time.Duration) uint32 { return 100_000 + uint32(since/(5*time.Millisecond)) }, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := newRig(1)
				start := time.Now()
				var energy uint64
				r.gpus[0].fieldFunc = func(vs []FieldValue) Return {
					for i := range vs {
						vs[i].Return = SUCCESS
						switch vs[i].FieldID {
						case FI_DEV_POWER_INSTANT:
							vs[i].ValueType = VALUE_TYPE_UNSIGNED_INT
							binary.NativeEndian.PutUint32(vs[i].Value[:], tc.power(time.Since(start)))
						default:
							energy += 1000
							vs[i].ValueType = VALUE_TYPE_UNSIGNED_LONG_LONG
							binary.NativeEndian.PutUint64(vs[i].Value[:], energy)
						}
					}
					return SUCCESS
				}
				s := r.open(t)
				defer s.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				if _, err := sampler.Run(ctx, s, 10*time.Millisecond, time.Now(), nil); err != nil {
					t.Fatal(err)
				}
				info := s.Describe()
				if got := info.Devices[0].SensorPeriod; got != tc.want {
					t.Errorf("SensorPeriod = %v, want %v", got, tc.want)
				}
				notes := strings.Join(info.Notes, "\n")
				if tc.note != "" && !strings.Contains(notes, tc.note) {
					t.Errorf("notes lack %q:\n%s", tc.note, notes)
				}
				if tc.note == "" && strings.Contains(notes, "power sensor updates every") {
					t.Errorf("a period the ticks cannot resolve is reported:\n%s", notes)
				}
			})
		})
	}
}
