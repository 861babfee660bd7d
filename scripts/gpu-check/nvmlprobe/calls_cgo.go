//go:build linux && cgo

package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/benchprof/benchprof/sampler/nvml"
)

// callBudget bounds the time spent timing one call on one GPU.
const callBudget = 2 * time.Second

// timeCalls loads NVML through the package's binding and times each NVML
// call the sampler makes, n times back to back per GPU, then measures how
// often the power and energy values change, and whether two calls made at
// once on one GPU wait for each other. It answers where a slow tick's time
// goes on a real driver.
func timeCalls(lib string, n int) (*Calls, error) {
	l := nvml.Binding(lib)
	if ret := l.Init(); ret != nvml.SUCCESS {
		return nil, fmt.Errorf("nvmlInit: %v", ret)
	}
	defer l.Shutdown()
	count, ret := l.DeviceCount()
	if ret != nvml.SUCCESS {
		return nil, fmt.Errorf("nvmlDeviceGetCount: %v", ret)
	}
	out := &Calls{N: n}
	for i := 0; i < count; i++ {
		h, ret := l.DeviceByIndex(i)
		if ret != nvml.SUCCESS {
			return out, fmt.Errorf("nvmlDeviceGetHandleByIndex(%d): %v", i, ret)
		}
		dev := fmt.Sprintf("gpu%d", i)
		for _, c := range deviceCalls(h) {
			out.Timings = append(out.Timings, timeCall(dev, c.name, n, c.fn))
		}
		out.Updates = append(out.Updates, updates(dev, h)...)
		out.Overlap = append(out.Overlap, overlap(dev, h, n)...)
	}
	return out, nil
}

type namedCall struct {
	name string
	fn   func() nvml.Return
}

// deviceCalls lists the calls to time on h: each one the sampler makes,
// alone, and the tick's field request as the sampler sends it.
func deviceCalls(h nvml.Device) []namedCall {
	fv := make([]nvml.FieldValue, 2)
	field := func(ids ...uint32) func() nvml.Return {
		return func() nvml.Return {
			req := fv[:len(ids)]
			for i, id := range ids {
				req[i] = nvml.FieldValue{FieldID: id}
			}
			if ret := h.FieldValues(req); ret != nvml.SUCCESS {
				return ret
			}
			for _, v := range req {
				if v.Return != nvml.SUCCESS {
					return v.Return
				}
			}
			return nvml.SUCCESS
		}
	}
	ret := func(f func() nvml.Return) func() nvml.Return { return f }
	return []namedCall{
		{"FieldValues(POWER_INSTANT)", field(nvml.FI_DEV_POWER_INSTANT)},
		{"FieldValues(TOTAL_ENERGY)", field(nvml.FI_DEV_TOTAL_ENERGY_CONSUMPTION)},
		{"FieldValues(POWER_INSTANT,TOTAL_ENERGY)", field(nvml.FI_DEV_POWER_INSTANT, nvml.FI_DEV_TOTAL_ENERGY_CONSUMPTION)},
		{"PowerUsage", ret(func() nvml.Return { _, r := h.PowerUsage(); return r })},
		{"TotalEnergyConsumption", ret(func() nvml.Return { _, r := h.TotalEnergyConsumption(); return r })},
		{"UtilizationRates", ret(func() nvml.Return { _, r := h.UtilizationRates(); return r })},
		{"MemoryInfo", ret(func() nvml.Return { _, r := h.MemoryInfo(); return r })},
		{"ClockInfo(SM)", ret(func() nvml.Return { _, r := h.ClockInfo(nvml.CLOCK_SM); return r })},
		{"ClockInfo(MEM)", ret(func() nvml.Return { _, r := h.ClockInfo(nvml.CLOCK_MEM); return r })},
		{"Temperature(GPU)", ret(func() nvml.Return { _, r := h.Temperature(nvml.TEMPERATURE_GPU); return r })},
		{"ClocksEventReasons", ret(func() nvml.Return { _, r := h.ClocksEventReasons(); return r })},
		{"ComputeRunningProcesses", ret(func() nvml.Return { _, r := h.ComputeRunningProcesses(); return r })},
	}
}

// timeCall calls fn n times (at most callBudget) and describes the
// durations.
func timeCall(dev, name string, n int, fn func() nvml.Return) CallTiming {
	t := CallTiming{Device: dev, Call: name, Status: nvml.SUCCESS.String()}
	ds := make([]float64, 0, n)
	deadline := time.Now().Add(callBudget)
	for i := 0; i < n && time.Now().Before(deadline); i++ {
		before := time.Now()
		r := fn()
		ds = append(ds, float64(time.Since(before))/1e3)
		if r != nvml.SUCCESS {
			t.Status = r.String()
		}
	}
	t.N = len(ds)
	t.MeanUS, t.P50US, t.P90US, t.P99US, t.MaxUS = describe(ds)
	return t
}

// describe returns the mean, p50, p90, p99 and max of xs (nearest rank).
func describe(xs []float64) (mean, p50, p90, p99, max float64) {
	if len(xs) == 0 {
		return
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	at := func(q float64) float64 { return round1(s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]) }
	return round1(sum / float64(len(s))), at(0.5), at(0.9), at(0.99), round1(s[len(s)-1])
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }

// updates reads the power and energy back to back for a second each and
// reports how often each value changed, by our clock and, for the field
// values, by the timestamp NVML gives the value.
func updates(dev string, h nvml.Device) []ValueUpdate {
	var out []ValueUpdate
	for _, id := range []uint32{nvml.FI_DEV_POWER_INSTANT, nvml.FI_DEV_TOTAL_ENERGY_CONSUMPTION} {
		name := map[uint32]string{nvml.FI_DEV_POWER_INSTANT: "field POWER_INSTANT", nvml.FI_DEV_TOTAL_ENERGY_CONSUMPTION: "field TOTAL_ENERGY"}[id]
		u := ValueUpdate{Device: dev, Value: name}
		var (
			tsGaps, ages []float64
			lastTS       int64
		)
		fv := []nvml.FieldValue{{}}
		start := time.Now()
		ch := changeTracker{u: &u, start: start}
		for time.Since(start) < time.Second {
			fv[0] = nvml.FieldValue{FieldID: id}
			before := time.Now()
			if h.FieldValues(fv) != nvml.SUCCESS || fv[0].Return != nvml.SUCCESS {
				u.Failed++
				continue
			}
			at := before.Add(time.Since(before) / 2)
			u.Reads++
			v := binary.NativeEndian.Uint64(fv[0].Value[:])
			if fv[0].ValueType == nvml.VALUE_TYPE_UNSIGNED_INT {
				v = uint64(binary.NativeEndian.Uint32(fv[0].Value[:4]))
			}
			if fv[0].Timestamp > 0 {
				ages = append(ages, float64(at.UnixMicro()-fv[0].Timestamp)/1e3)
			}
			if fv[0].Timestamp != lastTS && lastTS > 0 {
				tsGaps = append(tsGaps, float64(fv[0].Timestamp-lastTS)/1e3)
			}
			lastTS = fv[0].Timestamp
			ch.see(v, at)
			u.ValueType = int(fv[0].ValueType)
			u.LatencyUS = fv[0].LatencyUsec
		}
		ch.done()
		_, u.TimestampGapP50MS, _, _, u.TimestampGapMaxMS = describe(tsGaps)
		_, u.AgeP50MS, _, u.AgeP99MS, _ = describe(ages)
		out = append(out, u)
	}
	// The averaged power, for comparison: no timestamp.
	u := ValueUpdate{Device: dev, Value: "PowerUsage"}
	start := time.Now()
	ch := changeTracker{u: &u, start: start}
	for time.Since(start) < time.Second {
		before := time.Now()
		mw, ret := h.PowerUsage()
		if ret != nvml.SUCCESS {
			u.Failed++
			continue
		}
		at := before.Add(time.Since(before) / 2)
		u.Reads++
		ch.see(uint64(mw), at)
	}
	ch.done()
	return append(out, u)
}

// changeTracker counts a value's changes into a ValueUpdate: how many, the
// first 40 times, and the median gap between them.
type changeTracker struct {
	u          *ValueUpdate
	start      time.Time
	last       uint64
	have       bool
	lastChange time.Time
	gaps       []float64
}

// see takes the value read at at.
func (c *changeTracker) see(v uint64, at time.Time) {
	if c.have && v != c.last {
		if len(c.u.ChangesAtMS) < 40 {
			c.u.ChangesAtMS = append(c.u.ChangesAtMS, round1(float64(at.Sub(c.start))/1e6))
		}
		if !c.lastChange.IsZero() {
			c.gaps = append(c.gaps, float64(at.Sub(c.lastChange))/1e6)
		}
		c.u.Changes++
		c.lastChange = at
	}
	c.last, c.have = v, true
}

// done writes the median gap.
func (c *changeTracker) done() { _, c.u.ChangeGapP50MS, _, _, _ = describe(c.gaps) }

// overlap times a pair of calls made at once from two goroutines on one
// GPU, against each alone: equal times mean NVML runs them in parallel,
// summed times that it serialises them.
func overlap(dev string, h nvml.Device, n int) []Overlap {
	calls := deviceCalls(h)
	pick := func(name string) namedCall {
		for _, c := range calls {
			if c.name == name {
				return c
			}
		}
		panic(name)
	}
	var out []Overlap
	for _, pair := range [][2]string{
		{"FieldValues(POWER_INSTANT,TOTAL_ENERGY)", "UtilizationRates"},
		{"FieldValues(POWER_INSTANT,TOTAL_ENERGY)", "FieldValues(POWER_INSTANT,TOTAL_ENERGY)"},
		// The sampler reads the energy counter apart from the tick's
		// values: does a slow energy read hold up the fast ones?
		{"FieldValues(TOTAL_ENERGY)", "FieldValues(POWER_INSTANT)"},
		{"TotalEnergyConsumption", "FieldValues(POWER_INSTANT)"},
		{"FieldValues(TOTAL_ENERGY)", "MemoryInfo"},
	} {
		a, b := pick(pair[0]), pick(pair[1])
		o := Overlap{Device: dev, A: a.name, B: b.name}
		o.AloneAP50US = timeCall(dev, a.name, n, a.fn).P50US
		o.AloneBP50US = timeCall(dev, b.name, n, b.fn).P50US
		var wg sync.WaitGroup
		var ta, tb CallTiming
		wg.Add(2)
		go func() { defer wg.Done(); ta = timeCall(dev, a.name, n, a.fn) }()
		go func() { defer wg.Done(); tb = timeCall(dev, b.name, n, b.fn) }()
		wg.Wait()
		o.TogetherAP50US, o.TogetherBP50US = ta.P50US, tb.P50US
		out = append(out, o)
	}
	return out
}
