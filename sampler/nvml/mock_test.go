//go:build linux && cgo

package nvml

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

	gonvml "github.com/NVIDIA/go-nvml/pkg/nvml"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/dgxh100"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/gpus"
	"github.com/NVIDIA/go-nvml/pkg/nvml/mock/server"
	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/sampler"
)

// gpuSim drives one mock GPU: what each call returns.
type gpuSim struct {
	mu          sync.Mutex
	index       int
	powerMW     uint32
	energyMJ    uint64   // the counter, advanced by energyStep per read
	energyStep  uint64   //
	energySeq   []uint64 // if set, the counter's successive values
	unsupported map[string]bool
	fail        map[string]gonvml.Return
	block       chan struct{} // if set, utilization waits on it
}

// ret is the status the sim returns for call.
func (g *gpuSim) ret(call string) gonvml.Return {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.unsupported[call] {
		return gonvml.ERROR_NOT_SUPPORTED
	}
	if r, ok := g.fail[call]; ok {
		return r
	}
	return gonvml.SUCCESS
}

func (g *gpuSim) set(f func(g *gpuSim)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
}

func (g *gpuSim) counter() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.energyMJ
}

func (g *gpuSim) nextEnergy() uint64 {
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

// rig is a mock DGX H100 whose GPUs answer every call the sampler makes.
type rig struct {
	srv  *server.Server
	devs []*server.Device
	sims []*gpuSim
	// missing lists symbols LookupSymbol reports absent.
	missing map[string]bool
}

func newRig(n int) *rig {
	var srv *server.Server
	if n == 8 {
		srv = dgxh100.New()
	} else {
		srv = dgxh100.NewWithGPUs(gpus.Multiple(n, gpus.H100_SXM5_80GB)...)
	}
	r := &rig{srv: srv, missing: map[string]bool{}}
	srv.LookupSymbolFunc = func(name string) error {
		if r.missing[name] {
			return fmt.Errorf("symbol %q not found", name)
		}
		return nil
	}
	for i, d := range srv.Devices {
		sd := d.(*server.Device)
		g := &gpuSim{index: i, powerMW: uint32(100_000 + 1000*i), energyMJ: 5_000_000, energyStep: 1000,
			unsupported: map[string]bool{}, fail: map[string]gonvml.Return{}}
		instrument(sd, g)
		r.devs = append(r.devs, sd)
		r.sims = append(r.sims, g)
	}
	return r
}

func instrument(d *server.Device, g *gpuSim) {
	d.GetFieldValuesFunc = func(vs []gonvml.FieldValue) gonvml.Return {
		if r := g.ret("field_values"); r != gonvml.SUCCESS {
			return r
		}
		for i := range vs {
			v := &vs[i]
			switch v.FieldId {
			case gonvml.FI_DEV_POWER_INSTANT:
				v.NvmlReturn = uint32(g.ret("power_instant"))
				v.ValueType = uint32(gonvml.VALUE_TYPE_UNSIGNED_INT)
				g.mu.Lock()
				binary.NativeEndian.PutUint32(v.Value[:], g.powerMW)
				g.mu.Unlock()
			case gonvml.FI_DEV_TOTAL_ENERGY_CONSUMPTION:
				v.NvmlReturn = uint32(g.ret("energy_field"))
				v.ValueType = uint32(gonvml.VALUE_TYPE_UNSIGNED_LONG_LONG)
				if v.NvmlReturn == 0 {
					binary.NativeEndian.PutUint64(v.Value[:], g.nextEnergy())
				}
			default:
				v.NvmlReturn = uint32(gonvml.ERROR_NOT_SUPPORTED)
			}
		}
		return gonvml.SUCCESS
	}
	d.GetPowerUsageFunc = func() (uint32, gonvml.Return) {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.powerMW + 7, gonvml.SUCCESS // 7 mW off, to tell the sources apart
	}
	wrapPower := d.GetPowerUsageFunc
	d.GetPowerUsageFunc = func() (uint32, gonvml.Return) {
		if r := g.ret("power_usage"); r != gonvml.SUCCESS {
			return 0, r
		}
		return wrapPower()
	}
	d.GetTotalEnergyConsumptionFunc = func() (uint64, gonvml.Return) {
		if r := g.ret("total_energy"); r != gonvml.SUCCESS {
			return 0, r
		}
		return g.nextEnergy(), gonvml.SUCCESS
	}
	d.GetUtilizationRatesFunc = func() (gonvml.Utilization, gonvml.Return) {
		g.mu.Lock()
		block := g.block
		g.mu.Unlock()
		if block != nil {
			<-block
		}
		if r := g.ret("utilization"); r != gonvml.SUCCESS {
			return gonvml.Utilization{}, r
		}
		return gonvml.Utilization{Gpu: uint32(50 + g.index), Memory: uint32(20 + g.index)}, gonvml.SUCCESS
	}
	d.GetMemoryInfoFunc = func() (gonvml.Memory, gonvml.Return) {
		if r := g.ret("memory"); r != gonvml.SUCCESS {
			return gonvml.Memory{}, r
		}
		return gonvml.Memory{Total: 80 << 30, Used: uint64(g.index+1) << 30}, gonvml.SUCCESS
	}
	d.GetClockInfoFunc = func(c gonvml.ClockType) (uint32, gonvml.Return) {
		switch c {
		case gonvml.CLOCK_SM:
			return 1980, g.ret("clock_sm")
		case gonvml.CLOCK_MEM:
			return 2619, g.ret("clock_mem")
		}
		return 0, gonvml.ERROR_INVALID_ARGUMENT
	}
	d.GetTemperatureFunc = func(s gonvml.TemperatureSensors) (uint32, gonvml.Return) {
		return uint32(40 + g.index), g.ret("temperature")
	}
	d.GetCurrentClocksEventReasonsFunc = func() (uint64, gonvml.Return) {
		return 0x4, g.ret("event_reasons")
	}
	d.GetCurrentClocksThrottleReasonsFunc = func() (uint64, gonvml.Return) {
		return 0x8, g.ret("throttle_reasons")
	}
	nameFunc := d.GetNameFunc
	d.GetNameFunc = func() (string, gonvml.Return) {
		if r := g.ret("name"); r != gonvml.SUCCESS {
			return "", r
		}
		return nameFunc()
	}
	d.GetPciInfoFunc = func() (gonvml.PciInfo, gonvml.Return) {
		var p gonvml.PciInfo
		if r := g.ret("pci"); r != gonvml.SUCCESS {
			return p, r
		}
		bus := fmt.Sprintf("00000000:%02X:00.0", 0x18+0x10*g.index)
		for i := range len(bus) {
			p.BusId[i] = int8(bus[i])
		}
		return p, gonvml.SUCCESS
	}
	d.GetSerialFunc = func() (string, gonvml.Return) {
		return fmt.Sprintf("16523100%04d", g.index), g.ret("serial")
	}
	d.GetVbiosVersionFunc = func() (string, gonvml.Return) {
		return "96.00.74.00.0" + fmt.Sprint(g.index), g.ret("vbios")
	}
}

// open opens the rig's server with the probe off unless opts turn it on.
func (r *rig) open(t *testing.T, opts ...Option) *Sampler {
	t.Helper()
	s, err := Open(append([]Option{WithInterface(r.srv), WithSensorProbe(0)}, opts...)...)
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
		// One field call per tick and GPU, carrying both fields.
		for i, d := range r.devs {
			calls := d.GetFieldValuesCalls()
			if len(calls) != 2 { // one at Open to learn what is supported, one per tick
				t.Fatalf("gpu%d: %d GetFieldValues calls, want 2", i, len(calls))
			}
			last := calls[len(calls)-1].FieldValues
			if len(last) != 2 || last[0].FieldId != gonvml.FI_DEV_POWER_INSTANT || last[1].FieldId != gonvml.FI_DEV_TOTAL_ENERGY_CONSUMPTION {
				t.Fatalf("gpu%d: field call %+v", i, last)
			}
			if n := len(d.GetPowerUsageCalls()); n != 0 {
				t.Fatalf("gpu%d: GetPowerUsage called %d times with the field available", i, n)
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
			want := GPU{Index: i, UUID: r.devs[i].UUID, Name: "NVIDIA H100 80GB HBM3",
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
		r.sims[1].set(func(g *gpuSim) {
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
		if n := len(r.devs[1].GetTemperatureCalls()); n != 1 {
			t.Errorf("GetTemperature called %d times after ERROR_NOT_SUPPORTED, want 1", n)
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
		r.sims[1].set(func(g *gpuSim) { g.fail["utilization"] = gonvml.ERROR_UNKNOWN })
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
		if !errors.Is(h.LastError, gonvml.ERROR_UNKNOWN) || !strings.Contains(h.LastError.Error(), "gpu1: nvmlDeviceGetUtilizationRates: ERROR_UNKNOWN") {
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
		lost := func(g *gpuSim) {
			for _, c := range []string{"field_values", "utilization", "memory", "clock_sm", "clock_mem", "temperature", "event_reasons"} {
				g.fail[c] = gonvml.ERROR_GPU_IS_LOST
			}
		}
		s := r.open(t)
		defer s.Close()

		r.sims[0].set(lost)
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

		r.sims[1].set(lost)
		_, err = s.Sample(context.Background(), nil)
		if !errors.Is(err, gonvml.ERROR_GPU_IS_LOST) || !strings.Contains(err.Error(), "gpu0") || !strings.Contains(err.Error(), "gpu1") {
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
			for _, g := range r.sims {
				g.unsupported["power_instant"] = true
				g.unsupported["energy_field"] = true
			}
		}},
		{"field call unsupported", func(r *rig) {
			for _, g := range r.sims {
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
				if n := len(r.devs[0].GetPowerUsageCalls()); n != 2 {
					t.Fatalf("GetPowerUsage called %d times, want 2 (Open, tick)", n)
				}
			})
		})
	}
}

func TestMissingSymbolsNeverCalled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(2)
		r.missing["nvmlDeviceGetCurrentClocksEventReasons"] = true
		r.missing["nvmlDeviceGetTotalEnergyConsumption"] = true
		r.missing["nvmlSystemGetCudaDriverVersion"] = true
		for _, d := range r.devs {
			d.GetCurrentClocksEventReasonsFunc = nil // a call would panic
			d.GetTotalEnergyConsumptionFunc = nil
		}
		for _, g := range r.sims {
			g.unsupported["energy_field"] = true
		}
		r.srv.SystemGetCudaDriverVersionFunc = nil
		s := r.open(t)
		defer s.Close()
		rs := sample(t, s)
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
		uuid5 := r.devs[5].UUID
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
		if n := len(r.devs[0].GetFieldValuesCalls()); n != 0 {
			t.Fatalf("unselected gpu0 was read %d times", n)
		}

		for _, tc := range []struct {
			sel  []string
			want string
		}{
			{[]string{"8"}, `no GPU matches "8"; available: 0 ` + r.devs[0].UUID + " (NVIDIA H100 80GB HBM3), 1 "},
			{[]string{"GPU-00000000-dead-beef"}, `no GPU matches "GPU-00000000-dead-beef"`},
			{[]string{"1", r.devs[1].UUID}, `"1" and "` + r.devs[1].UUID + `" both select GPU 1`},
		} {
			shutdowns := len(r.srv.ShutdownCalls())
			s, err := Open(WithInterface(r.srv), WithSensorProbe(0), WithDevices(tc.sel...))
			if err == nil {
				s.Close()
				t.Fatalf("WithDevices(%q) accepted", tc.sel)
			}
			if !strings.Contains(err.Error(), tc.want) || errors.Is(err, sampler.ErrUnavailable) {
				t.Errorf("WithDevices(%q): %v; want it to contain %q", tc.sel, err, tc.want)
			}
			if n := len(r.srv.ShutdownCalls()) - shutdowns; n != 1 {
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
		if len(got) != 101 || st.Missed != 0 || st.Errors != 0 {
			t.Fatalf("%d readings, stats %+v", len(got), st)
		}
		// GPU k reads its slow values at tick 0, then at the first tick at
		// or after k·12.5 ms + m·100 ms.
		last := make([]int64, 8)
		for _, rd := range got {
			slowGPUs := 0
			for k, d := range rd.Devices {
				tickAt := time.Duration(rd.Tick) * 10 * time.Millisecond
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
				slow := rd.Tick == 0 || (tickAt >= due && tickAt-due < 10*time.Millisecond)
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
				if !sampler.Has(d.PowerW) || !sampler.Has(d.EnergyJ) || !sampler.Has(d.UtilPct) || !sampler.Has(d.MemUsedBytes) {
					t.Fatalf("tick %d %s: fast values missing: %+v", rd.Tick, d.Device, d)
				}
			}
			if slowGPUs > 2 {
				t.Fatalf("tick %d: %d GPUs read slow values; they should be spread", rd.Tick, slowGPUs)
			}
		}
		for k, d := range r.devs {
			if n := len(d.GetTemperatureCalls()); n != 11 {
				t.Errorf("gpu%d: %d temperature reads in 1 s at 100 ms, want 11", k, n)
			}
		}
	})
}

func TestEnergyCounterReset(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(1)
		r.sims[0].set(func(g *gpuSim) {
			// Open's support check, then the ticks: a reload after 3000 mJ.
			g.energySeq = []uint64{900, 1000, 2000, 3000, 200, 700, 700, 1700}
		})
		s := r.open(t)
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
		ret  gonvml.Return
		hint string
	}{
		{gonvml.ERROR_LIBRARY_NOT_FOUND, "--gpus"},
		{gonvml.ERROR_DRIVER_NOT_LOADED, "kernel driver is not loaded"},
		{gonvml.ERROR_NO_PERMISSION, "/dev/nvidia"},
		{gonvml.ERROR_UNKNOWN, "nvidia-smi"},
	} {
		// Every other method of the bare mock is nil and panics if called.
		m := &mock.Interface{InitFunc: func() gonvml.Return { return tc.ret }}
		s, err := Open(WithInterface(m))
		if s != nil || err == nil {
			t.Fatalf("Open succeeded after Init returned %v", tc.ret)
		}
		if !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, tc.ret) {
			t.Errorf("error %v wraps neither ErrUnavailable nor %d", err, tc.ret)
		}
		if !strings.Contains(err.Error(), tc.hint) || !strings.Contains(err.Error(), returnName(tc.ret)) {
			t.Errorf("error %q lacks %q or the status name", err, tc.hint)
		}
		if n := len(m.InitCalls()); n != 1 {
			t.Errorf("%d Init calls", n)
		}
	}
}

func TestNoGPUIsUnavailable(t *testing.T) {
	r := newRig(1)
	r.srv.DeviceGetCountFunc = func() (int, gonvml.Return) { return 0, gonvml.SUCCESS }
	_, err := Open(WithInterface(r.srv))
	if !errors.Is(err, sampler.ErrUnavailable) || !strings.Contains(err.Error(), "found no GPU") {
		t.Fatalf("Open: %v", err)
	}
	if n := len(r.srv.ShutdownCalls()); n != 1 {
		t.Fatalf("%d Shutdown calls, want 1", n)
	}

	r.srv.DeviceGetCountFunc = func() (int, gonvml.Return) { return 0, gonvml.ERROR_NO_PERMISSION }
	if _, err := Open(WithInterface(r.srv)); !errors.Is(err, gonvml.ERROR_NO_PERMISSION) || !errors.Is(err, sampler.ErrUnavailable) {
		t.Fatalf("Open: %v", err)
	}
}

func TestInventoryFallbacks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(4)
		byIndex := r.srv.DeviceGetHandleByIndexFunc
		r.srv.DeviceGetHandleByIndexFunc = func(i int) (gonvml.Device, gonvml.Return) {
			if i == 2 {
				return nil, gonvml.ERROR_GPU_IS_LOST
			}
			return byIndex(i)
		}
		r.srv.SystemGetDriverVersionFunc = func() (string, gonvml.Return) { return "", gonvml.ERROR_UNKNOWN }
		r.sims[1].set(func(g *gpuSim) {
			g.fail["name"] = gonvml.ERROR_UNKNOWN
			g.fail["pci"] = gonvml.ERROR_UNKNOWN
			g.unsupported["serial"] = true
			g.unsupported["vbios"] = true
		})
		s := r.open(t)
		defer s.Close()
		inv := s.Inventory()
		if inv.Driver != "" || len(inv.GPUs) != 3 {
			t.Fatalf("inventory %+v", inv)
		}
		want := GPU{Index: 1, UUID: r.devs[1].UUID, Name: "NVIDIA-GPU-1", PCIBusID: "0000:00:01.0", Serial: "unknown", VBIOS: "unknown"}
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
	if n := len(r.srv.ShutdownCalls()); n != 1 {
		t.Fatalf("%d Shutdown calls, want 1", n)
	}
	if _, err := s.Sample(context.Background(), nil); err == nil {
		t.Fatal("Sample after Close succeeded")
	}
	_ = s.Describe() // still fine after Close
	_ = s.Health()

	r.srv.ShutdownFunc = func() gonvml.Return { return gonvml.ERROR_UNKNOWN }
	s = r.open(t)
	err1, err2 := s.Close(), s.Close()
	if !errors.Is(err1, gonvml.ERROR_UNKNOWN) || err1 != err2 {
		t.Fatalf("Close: %v, then %v", err1, err2)
	}
}

func TestSampleHonoursContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRig(4)
		s := r.open(t)
		defer s.Close()
		release := make(chan struct{})
		r.sims[2].set(func(g *gpuSim) { g.block = release })

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
		r.sims[2].set(func(g *gpuSim) { g.block = nil })
		close(release)
		// Stale completions are ignored; the next tick is whole and fresh.
		for range 3 {
			before := r.sims[2].counter()
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

// TestSensorProbe uses real time: the mock's power changes every 5 ms.
func TestSensorProbe(t *testing.T) {
	r := newRig(2)
	start := time.Now()
	for _, d := range r.devs {
		d.GetFieldValuesFunc = func(vs []gonvml.FieldValue) gonvml.Return {
			for i := range vs {
				vs[i].NvmlReturn = 0
				vs[i].ValueType = uint32(gonvml.VALUE_TYPE_UNSIGNED_LONG_LONG)
				binary.NativeEndian.PutUint64(vs[i].Value[:], uint64(time.Since(start)/(5*time.Millisecond)))
			}
			time.Sleep(50 * time.Microsecond)
			return gonvml.SUCCESS
		}
	}
	s, err := Open(WithInterface(r.srv), WithSensorProbe(60*time.Millisecond))
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
	s2, err := Open(WithInterface(r2.srv), WithSensorProbe(10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if d := s2.Describe().Devices[0]; d.SensorPeriod != 0 {
		t.Errorf("constant power: period %v", d.SensorPeriod)
	}
	if notes := strings.Join(s2.Describe().Notes, "\n"); !strings.Contains(notes, "gpu0: power sensor update period unknown: the reading changed 0 time(s)") {
		t.Errorf("notes:\n%s", notes)
	}
}
