package timeline

import (
	"math"
	"slices"
	"strings"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
)

// ---- Timeline ------------------------------------------------------------

// Times below are int64 nanoseconds: the timeline's on its clock, the
// trace's on its own (the load driver's).

type devKey struct{ sampler, device string }

type devState struct {
	key  devKey
	kind sampler.Kind
	// power is PowerW for a GPU, the energy counter's step power for a
	// CPU package or DRAM domain.
	power, util *series
	last        float64 // latest power, for the sums
	hasLast     bool
	// The energy counter's previous reading (CPU package and DRAM).
	prevT   int64
	prevE   float64
	hasPrev bool
}

type timelineAgg struct {
	maxPoints       int
	devs            map[devKey]*devState
	gpus, rapl      []*devState // energy.GroupGPU, energy.GroupCPUDRAM
	gpuSum, raplSum *series
	rows, readings  int64
	other           int64 // rows of energy.GroupNone: never drawn
	samplers        []string
	when            span
}

func newTimelineAgg(maxPoints int) *timelineAgg {
	return &timelineAgg{
		maxPoints: maxPoints, devs: map[devKey]*devState{},
		gpuSum: newSeries(maxPoints), raplSum: newSeries(maxPoints),
	}
}

// dev returns the state of a device of group g (GroupGPU or
// GroupCPUDRAM), nil if the device was first seen under another kind.
func (a *timelineAgg) dev(s string, d *sampler.DeviceReading, g energy.Group) *devState {
	if ds, ok := a.devs[devKey{s, d.Device}]; ok {
		if ds.kind != d.Kind {
			return nil // the same device under another kind: keep the first
		}
		return ds
	}
	ds := &devState{key: devKey{strings.Clone(s), strings.Clone(d.Device)}, kind: d.Kind, power: newSeries(a.maxPoints)}
	if g == energy.GroupGPU {
		ds.util = newSeries(a.maxPoints)
		a.gpus = append(a.gpus, ds)
	} else {
		a.rapl = append(a.rapl, ds)
	}
	a.devs[ds.key] = ds
	if !slices.Contains(a.samplers, ds.key.sampler) {
		a.samplers = append(a.samplers, ds.key.sampler)
	}
	return ds
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// add accounts for one reading. Readings of a device that are not later
// than its previous one give no CPU or DRAM power (the M4 bins of the GPU
// series take points in any order).
func (a *timelineAgg) add(r *sampler.Reading) {
	t := int64(r.At)
	a.readings++
	a.rows += int64(len(r.Devices))
	a.when.add(t)
	gpu := false
	var mids, nmid int64
	for i := range r.Devices {
		d := &r.Devices[i]
		switch g := energy.GroupOf(d.Kind); g {
		case energy.GroupGPU:
			ds := a.dev(r.Sampler, d, g)
			if ds == nil {
				continue
			}
			if finite(d.PowerW) {
				ds.power.add(t, d.PowerW)
				ds.last, ds.hasLast, gpu = d.PowerW, true, true
			}
			ds.util.add(t, d.UtilPct)
		case energy.GroupCPUDRAM:
			if !finite(d.EnergyJ) {
				continue
			}
			ds := a.dev(r.Sampler, d, g)
			t := t - int64(max(d.EnergyLag, 0)) // when the counter was read
			if ds == nil || (ds.hasPrev && t <= ds.prevT) {
				continue
			}
			if !ds.hasPrev {
				ds.prevT, ds.prevE, ds.hasPrev = t, d.EnergyJ, true
				continue
			}
			if p, ok := energy.CounterPower(time.Duration(ds.prevT), ds.prevE, time.Duration(t), d.EnergyJ); ok {
				mid := ds.prevT + (t-ds.prevT)/2
				ds.power.add(mid, p)
				ds.last, ds.hasLast = p, true
				mids += mid
				nmid++
			}
			// After a counter that went down (a reset), start again from here.
			ds.prevT, ds.prevE = t, d.EnergyJ
		default:
			a.other++
		}
	}
	if gpu {
		a.gpuSum.add(t, heldSum(a.gpus))
	}
	if nmid > 0 {
		a.raplSum.add(mids/nmid, heldSum(a.rapl))
	}
}

// heldSum adds each device's latest value.
func heldSum(devs []*devState) float64 {
	var s float64
	for _, d := range devs {
		if d.hasLast {
			s += d.last
		}
	}
	return s
}

// ---- Trace ---------------------------------------------------------------

type traceAgg struct {
	inflight              grid[areaBin]
	tokens                grid[int64]
	requests, warmup, bad int64
	spans                 int64 // requests that ended after they were sent
	chunks, tokenCount    int64
	firstSend, lastEnd    int64 // the default window: post-warmup requests
	hasSend, hasEnd       bool
	when                  span
}

func newTraceAgg(c config) *traceAgg {
	return &traceAgg{
		inflight: grid[areaBin]{width: baseBin, limit: max(c.maxPoints/2, 1), merge: mergeArea, flatten: flattenArea},
		tokens:   grid[int64]{width: c.tokenBin, limit: max(c.maxPoints/2, 1), merge: func(d, s *int64) { *d += *s }},
	}
}

// add accounts for one result, on the trace's clock.
func (a *traceAgg) add(r *loadgen.Result) {
	a.requests++
	if r.Warmup {
		a.warmup++
	}
	if !r.OK() {
		a.bad++
	}
	sent, end := int64(r.Sent), int64(r.End)
	a.when.add(sent)
	if !r.Warmup && (!a.hasSend || sent < a.firstSend) {
		a.firstSend, a.hasSend = sent, true
	}
	if r.End >= r.Sent {
		a.when.add(end)
		if !r.Warmup && (!a.hasEnd || end > a.lastEnd) {
			a.lastEnd, a.hasEnd = end, true
		}
	}
	if r.End > r.Sent {
		addInterval(&a.inflight, sent, end)
		a.spans++
	}
	for _, c := range r.Chunks {
		at := int64(c.At)
		k := int64(max(c.Tokens, 1)) // as Result.ITLs counts them
		a.tokens.fit(at, at)
		*a.tokens.bin(at) += k
		a.chunks++
		a.tokenCount += k
		a.when.add(at)
	}
}
