package energy

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// DefaultLoadThresholdPct is the utilization above which a tick counts as
// "under load" for power_avg_w_under_load: the mean utilization of the
// tick's GPUs must exceed it.
const DefaultLoadThresholdPct = 50.0

// Option configures [Compute] and [NewAccumulator].
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	loadPct float64
	stats   []sampler.Stats

	idle          Window
	idleSet       bool
	idleUtilPct   float64
	idleSettlePct float64

	gpus    []DeviceID
	gpusSet bool

	bin     time.Duration
	binSet  bool
	prefill float64
}

// WithLoadThreshold sets the utilization threshold of
// power_avg_w_under_load, in percent: a tick is loaded when the mean
// utilization of its GPUs exceeds pct. It must be in [0, 100).
// By default, if this option is not used, DefaultLoadThresholdPct (50) is
// used. A repeat replaces the earlier value.
func WithLoadThreshold(pct float64) Option {
	return optionFunc(func(c *config) { c.loadPct = pct })
}

// WithSamplerStats gives the scheduler's account of the samplers whose
// readings are in the timeline (sampler.Run's Stats), matched to them by
// name, for nvml_interval_p99_ms: the largest achieved interval p99
// (IntervalP99) among the samplers that read a GPU and took at least two
// readings. By default, if this option is not used, nvml_interval_p99_ms
// is absent. Repeated uses add stats.
func WithSamplerStats(stats ...sampler.Stats) Option {
	stats = slices.Clone(stats)
	return optionFunc(func(c *config) { c.stats = append(c.stats, stats...) })
}

func newConfig(w Window, opts []Option) (config, error) {
	c := config{loadPct: DefaultLoadThresholdPct, idleUtilPct: DefaultIdleUtilPct, idleSettlePct: DefaultIdleSettlePct,
		prefill: DefaultPrefillWeight}
	var errs []error
	for i, o := range opts {
		if o == nil {
			errs = append(errs, fmt.Errorf("energy: option %d is nil", i+1))
			continue
		}
		o.apply(&c)
	}
	if w.End <= w.Start {
		errs = append(errs, fmt.Errorf("energy: window end %v is not after its start %v", w.End, w.Start))
	}
	if !(c.loadPct >= 0 && c.loadPct < 100) {
		errs = append(errs, fmt.Errorf("energy: load threshold %v%% is outside [0, 100)", c.loadPct))
	}
	errs = append(errs, c.validateIdle(), c.validateGPUs(), c.validateAttribution())
	return c, errors.Join(errs...)
}

// Compute reads a timeline (the CSV written by sampler.TimelineWriter) once,
// streaming, and returns the energy and power figures over window w;
// outputTokens is the number of output tokens generated in the window (for
// the per-token figures). Memory does not grow with the timeline's length,
// only with its number of devices. Figures that cannot be measured are
// absent with a reason; they are never 0. An error means the window or
// options are invalid, outputTokens is negative, or the timeline is
// malformed.
func Compute(timeline io.Reader, w Window, outputTokens int64, opts ...Option) (*Report, error) {
	a, err := NewAccumulator(w, opts...)
	if err != nil {
		return nil, err
	}
	if outputTokens < 0 {
		return nil, fmt.Errorf("energy: negative output token count %d", outputTokens)
	}
	if err := sampler.ReadTimeline(timeline, func(r sampler.Reading) error { a.Add(r); return nil }); err != nil {
		return nil, fmt.Errorf("energy: %w", err)
	}
	return a.Report(outputTokens)
}

// Accumulator computes the figures of [Compute] from readings passed one at
// a time, for callers that hold readings rather than a timeline file. Its
// memory grows with the number of devices and samplers only. It is not safe
// for concurrent use.
type Accumulator struct {
	cfg      config
	w        Window
	s, e     float64
	devices  map[devKey]*devState
	devOrder []*devState
	samplers map[string]*samplerState
	smpOrder []*samplerState
	// bins holds the binned GPU energy, with WithAttributionBin.
	bins *binState
}

type devKey struct{ sampler, device string }

type devState struct {
	sampler, device string
	kind            sampler.Kind
	// apart marks a GPU left out of the GPU figures by WithGPUs.
	apart       bool
	n           int64 // rows accepted
	rows        int64 // rows inside the window
	first, last float64
	outOfOrder  int64
	power, util linTrace
	counter     counterTrace
	// idle follows the device over the idle window (WithIdleWindow).
	idle *idleState
}

// tick is one GPU-bearing reading of a sampler, waiting for its successor
// to close its time cell.
type tick struct {
	t, lo      float64
	psum       float64
	psumOK     bool
	loaded     bool
	inWindow   bool
	hasPending bool
}

type samplerState struct {
	name       string
	kinds      []sampler.Kind
	readings   int64
	inWindow   int64
	outOfOrder int64
	lastT      float64
	gpuTicks   int64 // ticks that read a GPU
	gpuIn      int64 // … inside the window
	cpuTicks   int64 // ticks that read a CPU package or DRAM
	cpuIn      int64 // … inside the window
	utilTicks  int64
	pending    tick
	peak       float64
	peakOK     bool
	loadedW    float64 // ns of loaded tick cells inside the window
	loadedPW   float64 // W·ns over those cells
}

// NewAccumulator returns an accumulator over window w.
func NewAccumulator(w Window, opts ...Option) (*Accumulator, error) {
	c, err := newConfig(w, opts)
	if err != nil {
		return nil, err
	}
	a := &Accumulator{
		cfg: c, w: w, s: float64(w.Start), e: float64(w.End),
		devices:  make(map[devKey]*devState),
		samplers: make(map[string]*samplerState),
	}
	if c.binSet {
		g := newGrid(w, c.bin)
		a.bins = &binState{g: g, ctr: make([]float64, g.n), power: make([]float64, g.n)}
	}
	return a, nil
}

// Add accounts for one reading. Readings of one sampler must come in time
// order; one whose time does not exceed its sampler's previous reading is
// skipped and counted in a warning. r is not retained.
func (a *Accumulator) Add(r sampler.Reading) {
	ss := a.samplers[r.Sampler]
	if ss == nil {
		ss = &samplerState{name: r.Sampler}
		a.samplers[r.Sampler] = ss
		a.smpOrder = append(a.smpOrder, ss)
	}
	t := float64(r.At)
	if ss.readings > 0 && t <= ss.lastT {
		ss.outOfOrder++
		return
	}
	ss.readings++
	ss.lastT = t
	in := a.w.Contains(r.At)
	if in {
		ss.inWindow++
	}
	var (
		gpus, cpus, powered, utils int
		psum, usum                 float64
	)
	for i := range r.Devices {
		d := &r.Devices[i]
		ds := a.device(r.Sampler, d)
		if ds.n > 0 && t <= ds.last {
			ds.outOfOrder++
			continue
		}
		if !slices.Contains(ss.kinds, d.Kind) {
			ss.kinds = append(ss.kinds, d.Kind)
		}
		group := GroupOf(d.Kind)
		if group == GroupCPUDRAM {
			cpus++
		}
		if ds.n == 0 {
			ds.first = t
		}
		ds.n++
		ds.last = t
		if in {
			ds.rows++
		}
		counted := group == GroupGPU && !ds.apart
		if counted && a.bins != nil {
			a.binStep(ds, t, d)
		}
		if ds.idle != nil {
			ds.idle.add(t, d)
		}
		if finite(d.PowerW) {
			ds.power.add(t, d.PowerW, a.s, a.e)
		}
		if finite(d.UtilPct) {
			ds.util.add(t, d.UtilPct, a.s, a.e)
		}
		if ct := counterTime(t, d); finite(d.EnergyJ) && (ds.counter.n == 0 || ct > ds.counter.prevT) {
			ds.counter.add(ct, d.EnergyJ, a.s, a.e)
		}
		if counted {
			gpus++
			if finite(d.PowerW) {
				powered++
				psum += d.PowerW
			}
			if finite(d.UtilPct) {
				utils++
				usum += d.UtilPct
			}
		}
	}
	if cpus > 0 {
		ss.cpuTicks++
		if in {
			ss.cpuIn++
		}
	}
	if gpus == 0 {
		return
	}
	ss.gpuTicks++
	if in {
		ss.gpuIn++
	}
	if utils > 0 {
		ss.utilTicks++
	}
	next := tick{
		t: t, lo: t, psum: psum, psumOK: powered == gpus,
		loaded:   utils > 0 && usum/float64(utils) > a.cfg.loadPct,
		inWindow: in, hasPending: true,
	}
	if ss.pending.hasPending {
		mid := (ss.pending.t + t) / 2
		a.closeTick(ss, ss.pending, mid)
		next.lo = mid
	}
	ss.pending = next
}

// counterTime is when d's energy counter value was read, for a reading at
// t (ns): t − EnergyLag, since a sampler may read a slow counter after an
// earlier tick and report it with this one.
func counterTime(t float64, d *sampler.DeviceReading) float64 {
	return t - float64(max(d.EnergyLag, 0))
}

// finite reports whether a reading's value was measured: NaN is the
// samplers' mark for a value not read, and an infinity cannot be a reading.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (a *Accumulator) device(smp string, d *sampler.DeviceReading) *devState {
	k := devKey{smp, d.Device}
	ds := a.devices[k]
	if ds == nil {
		ds = &devState{sampler: smp, device: d.Device, kind: d.Kind}
		if GroupOf(d.Kind) == GroupGPU {
			ds.apart = a.cfg.apart(DeviceID{smp, d.Device})
			if a.cfg.idleSet {
				ds.idle = newIdleState(a.cfg.idle)
			}
		}
		a.devices[k] = ds
		a.devOrder = append(a.devOrder, ds)
	}
	return ds
}

// binStep adds the step from a counted GPU's previous reading to this one
// to the attribution bins: the counter's growth spread evenly over the
// step, and the power trace's trapezoid.
func (a *Accumulator) binStep(ds *devState, t float64, d *sampler.DeviceReading) {
	if ct := counterTime(t, d); finite(d.EnergyJ) && ds.counter.n > 0 && ct > ds.counter.prevT {
		if g, ok := counterGrowth(ds.counter.prevE, d.EnergyJ); ok {
			a.bins.g.spread(a.bins.ctr, ds.counter.prevT, ct, g*1e9)
		}
	}
	if finite(d.PowerW) && ds.power.n > 0 {
		a.bins.g.trapezoid(a.bins.power, ds.power.prevT, ds.power.prevV, t, d.PowerW)
	}
}

// closeTick accounts for tick k whose time cell ends at hi.
func (a *Accumulator) closeTick(ss *samplerState, k tick, hi float64) {
	if k.inWindow && k.psumOK && (!ss.peakOK || k.psum > ss.peak) {
		ss.peak, ss.peakOK = k.psum, true
	}
	if k.loaded && k.psumOK {
		if w := min(hi, a.e) - max(k.lo, a.s); w > 0 {
			ss.loadedW += w
			ss.loadedPW += w * k.psum
		}
	}
}

// Report returns the figures for the readings added so far, with
// outputTokens output tokens generated in the window. It does not change
// the accumulator: more readings may be added and Report called again.
func (a *Accumulator) Report(outputTokens int64) (*Report, error) {
	if outputTokens < 0 {
		return nil, fmt.Errorf("energy: negative output token count %d", outputTokens)
	}
	r := &Report{Window: a.w, OutputTokens: outputTokens, LoadThresholdPct: a.cfg.loadPct}
	win := a.e - a.s

	// Samplers, with the last tick's cell closed at its own time.
	var gpuSamplers []samplerState
	for _, ss := range a.smpOrder {
		c := *ss
		if c.pending.hasPending {
			a.closeTick(&c, c.pending, c.pending.t)
		}
		r.Samplers = append(r.Samplers, SamplerSummary{
			Name: c.name, Readings: c.readings, InWindow: c.inWindow, Kinds: slices.Clone(c.kinds),
		})
		if c.outOfOrder > 0 {
			r.warnf("%s: %d readings not later than the sampler's previous one were ignored", c.name, c.outOfOrder)
		}
		if c.gpuTicks > 0 {
			gpuSamplers = append(gpuSamplers, c)
		}
	}

	// Devices.
	var (
		gpuE, gpuInt, ratioInt, ratioCtr, cpuE, pAvg, uSum sums
		otherE, otherP                                     sums
		gpuDevs, cpuDevs, gpuIntMissing, otherDevs         []string
		seen                                               = map[DeviceID]bool{}
	)
	for _, ds := range a.devOrder {
		d := a.deviceSummary(ds, win, r)
		r.Devices = append(r.Devices, d)
		name := ds.device + " (" + ds.sampler + ")"
		switch group := GroupOf(ds.kind); {
		case group == GroupGPU && ds.apart:
			otherDevs = append(otherDevs, name)
			otherE.add(d.EnergyJ, name)
			otherP.add(d.PowerAvgW, name)
		case group == GroupGPU:
			seen[DeviceID{ds.sampler, ds.device}] = true
			gpuDevs = append(gpuDevs, name)
			gpuE.add(d.EnergyJ, name)
			gpuInt.add(d.EnergyIntegralJ, name)
			if !d.EnergyIntegralJ.Measured {
				gpuIntMissing = append(gpuIntMissing, name)
			}
			if d.EnergyIntegralJ.Measured && d.EnergyCounterJ.Measured {
				ratioInt.add(d.EnergyIntegralJ, name)
				ratioCtr.add(d.EnergyCounterJ, name)
			}
			pAvg.add(d.PowerAvgW, name)
			uSum.add(d.UtilAvgPct, name)
		case group == GroupCPUDRAM:
			cpuDevs = append(cpuDevs, name)
			cpuE.add(d.EnergyJ, name)
		}
	}

	// GPU energy.
	noGPU := "no GPU readings in the timeline"
	if a.cfg.gpusSet {
		var missing []string
		for _, g := range a.cfg.gpus {
			if !seen[g] {
				missing = append(missing, g.String())
			}
		}
		if len(missing) > 0 {
			r.warnf("GPUs counted (energy.WithGPUs) but not in the timeline: %s", strings.Join(missing, ", "))
		}
		if len(gpuDevs) == 0 && len(otherDevs) > 0 {
			noGPU = "none of the GPUs counted (energy.WithGPUs) is in the timeline; it has only " + strings.Join(otherDevs, ", ")
		}
	}
	switch {
	case len(gpuDevs) == 0:
		r.EnergyJoulesGPU = Absent(noGPU)
		r.EnergyJoulesGPUIntegral = Absent(noGPU)
		r.GPUIntegralCounterRatio = Absent(noGPU)
		r.PowerAvgW = Absent(noGPU)
		r.GPUUtilAvgPct = Absent(noGPU)
	default:
		r.EnergyJoulesGPU = gpuE.figure("no GPU energy measured")
		r.partial(KeyEnergyJoulesGPU, gpuE)
		r.EnergyJoulesGPUIntegral = gpuInt.figure("no GPU power readings span the window")
		if gpuInt.n > 0 && len(gpuIntMissing) > 0 {
			r.warnf("%s leaves out %s: no power trace spans the window", KeyEnergyJoulesGPUIntegral, strings.Join(gpuIntMissing, ", "))
		}
		switch {
		case ratioCtr.n == 0:
			r.GPUIntegralCounterRatio = Absent("no GPU has both an energy counter and a power trace over the window")
		case ratioCtr.v <= 0:
			r.GPUIntegralCounterRatio = Absent("the GPU energy counters did not advance over the window")
		default:
			r.GPUIntegralCounterRatio = Measured(ratioInt.v / ratioCtr.v)
		}
		r.PowerAvgW = pAvg.figure("no GPU power readings span the window")
		r.partial(KeyPowerAvgW, pAvg)
		r.GPUUtilAvgPct = uSum.figure("no GPU utilization readings span the window")
		if uSum.n > 0 {
			r.GPUUtilAvgPct = Measured(uSum.v / float64(uSum.n))
		}
		r.partial(KeyGPUUtilAvgPct, uSum)
	}

	// The GPUs left out: their power and energy apart.
	if len(otherDevs) == 0 {
		why := "no GPU is left out of the figures (energy.WithGPUs)"
		r.PowerAvgWOtherGPUs, r.EnergyJoulesGPUOtherGPUs = Absent(why), Absent(why)
	} else {
		r.PowerAvgWOtherGPUs = otherP.figure("no power readings of the GPUs left out span the window")
		r.partial(KeyPowerAvgWOtherGPUs, otherP)
		r.EnergyJoulesGPUOtherGPUs = otherE.figure("no energy of the GPUs left out measured")
		r.partial(KeyEnergyJoulesGPUOtherGPUs, otherE)
	}

	// Per-tick figures: peak and under load.
	r.PowerPeakW, r.PowerAvgWUnderLoad = a.tickFigures(gpuSamplers, r)

	// CPU and DRAM.
	if len(cpuDevs) == 0 {
		r.EnergyJoulesCPUDRAM = Absent("no CPU package or DRAM readings in the timeline")
	} else {
		r.EnergyJoulesCPUDRAM = cpuE.figure("no CPU package or DRAM energy measured")
		r.partial(KeyEnergyJoulesCPUDRAM, cpuE)
	}

	// Total and per token.
	g, c := r.EnergyJoulesGPU, r.EnergyJoulesCPUDRAM
	switch {
	case g.Measured && c.Measured:
		r.EnergyJoulesTotal = Measured(g.Value + c.Value)
	case g.Measured:
		r.EnergyJoulesTotal = g
		r.warnf("%s covers the GPUs only: %s is absent (%s)", KeyEnergyJoulesTotal, KeyEnergyJoulesCPUDRAM, c.Reason)
	case c.Measured:
		r.EnergyJoulesTotal = c
		r.warnf("%s covers CPU and DRAM only: %s is absent (%s)", KeyEnergyJoulesTotal, KeyEnergyJoulesGPU, g.Reason)
	default:
		r.EnergyJoulesTotal = Absent("neither GPU nor CPU/DRAM energy was measured")
	}
	r.JoulesPerToken = perToken(r.EnergyJoulesTotal, KeyEnergyJoulesTotal, outputTokens)
	r.JoulesPerTokenGPU = perToken(r.EnergyJoulesGPU, KeyEnergyJoulesGPU, outputTokens)

	// The idle baseline; the attribution's figures until Attribution.Fill.
	a.idleFigures(r, gpuE)
	why := "per-request attribution was not computed (energy.Attribution)"
	r.EnergyJoulesGPUIdleGaps = Absent(why)
	r.JoulesPerRequestP50, r.JoulesPerRequestP99 = Absent(why), Absent(why)
	r.JoulesPerOutputTokenP50, r.JoulesPerOutputTokenP99 = Absent(why), Absent(why)

	// The instrument: ticks by device kind, the GPU samplers' interval.
	r.GPUSampleCount, r.CPUDRAMSampleCount = a.sampleCounts()
	r.GPUIntervalP99Ms = a.gpuIntervalP99(gpuSamplers)
	for _, s := range r.Samplers {
		if !readsSummedKind(s) && figureIndex(SampleCountKey(s.Name)) >= 0 {
			r.warnf("%s: the sampler reads no GPU, CPU package or DRAM, but its own sample count would be named %s, which is a figure's key: it is left out",
				s.Name, SampleCountKey(s.Name))
		}
	}
	return r, nil
}

// sampleCounts returns nvml_sample_count and rapl_sample_count: the ticks
// inside the window that read a GPU, and those that read a CPU package or
// DRAM, over every sampler.
func (a *Accumulator) sampleCounts() (gpu, cpu Figure) {
	var gpuTicks, gpuIn, cpuTicks, cpuIn int64
	for _, ss := range a.smpOrder {
		gpuTicks += ss.gpuTicks
		gpuIn += ss.gpuIn
		cpuTicks += ss.cpuTicks
		cpuIn += ss.cpuIn
	}
	gpu, cpu = Absent("no GPU readings in the timeline"), Absent("no CPU package or DRAM readings in the timeline")
	if gpuTicks > 0 {
		gpu = Measured(float64(gpuIn))
	}
	if cpuTicks > 0 {
		cpu = Measured(float64(cpuIn))
	}
	return gpu, cpu
}

// gpuIntervalP99 returns nvml_interval_p99_ms: the largest achieved
// interval p99 among the GPU samplers with at least two readings.
func (a *Accumulator) gpuIntervalP99(gpuSamplers []samplerState) Figure {
	switch {
	case len(gpuSamplers) == 0:
		return Absent("no GPU readings in the timeline")
	case len(a.cfg.stats) == 0:
		return Absent("no sampler statistics were given (energy.WithSamplerStats)")
	}
	var p99 time.Duration
	found := false
	for _, ss := range gpuSamplers {
		for _, st := range a.cfg.stats {
			if st.Sampler == ss.name && st.Readings > 1 {
				p99, found = max(p99, st.IntervalP99), true
			}
		}
	}
	if !found {
		return Absent("no GPU sampler took two readings")
	}
	return Measured(float64(p99) / 1e6)
}

// deviceSummary computes one device's figures and its warnings.
func (a *Accumulator) deviceSummary(ds *devState, win float64, r *Report) Device {
	name := ds.device + " (" + ds.sampler + ")"
	d := Device{
		Sampler: ds.sampler, Device: ds.device, Kind: ds.kind, Rows: ds.rows, Apart: ds.apart,
		First: time.Duration(ds.first), Last: time.Duration(ds.last),
	}
	if GroupOf(ds.kind) == GroupGPU {
		d.IdlePowerW = Absent("no idle phase was measured (energy.WithIdleWindow)")
		d.IdleUtilPct = d.IdlePowerW
	}
	if ds.outOfOrder > 0 {
		r.warnf("%s: %d rows not later than the device's previous one were ignored", name, ds.outOfOrder)
	}
	if v, reason := ds.counter.delta(a.s, a.e); reason == "" {
		d.EnergyCounterJ = Measured(v)
	} else {
		d.EnergyCounterJ = Absent(reason)
	}
	switch {
	case ds.power.n == 0:
		d.EnergyIntegralJ = Absent("no power readings")
		d.PowerAvgW = Absent("no power readings")
	case ds.power.covered <= 0:
		d.EnergyIntegralJ = Absent("fewer than two power readings span the window")
		d.PowerAvgW = Absent("fewer than two power readings span the window")
	default:
		d.EnergyIntegralJ = Measured(ds.power.area / 1e9)
		m, _ := ds.power.mean()
		d.PowerAvgW = Measured(m)
	}
	if ds.power.peakOK {
		d.PowerPeakW = Measured(ds.power.peak)
	} else {
		d.PowerPeakW = Absent("no power reading inside the window")
	}
	if m, ok := ds.util.mean(); ok {
		d.UtilAvgPct = Measured(m)
	} else if ds.util.n == 0 {
		d.UtilAvgPct = Absent("no utilization readings")
	} else {
		d.UtilAvgPct = Absent("fewer than two utilization readings span the window")
	}
	switch {
	case d.EnergyCounterJ.Measured:
		d.EnergyJ, d.EnergySource = d.EnergyCounterJ, SourceCounter
	case d.EnergyIntegralJ.Measured:
		d.EnergyJ, d.EnergySource = d.EnergyIntegralJ, SourceIntegral
		if GroupOf(ds.kind) != GroupNone {
			r.warnf("%s: energy from ∫P dt, as there is no energy counter figure (%s)", name, d.EnergyCounterJ.Reason)
		}
	default:
		d.EnergyJ = Absent(d.EnergyCounterJ.Reason + "; " + d.EnergyIntegralJ.Reason)
	}
	// Coverage of the window by the device's readings.
	if ds.n > 0 && ds.last >= a.s && ds.first <= a.e {
		lo, hi := max(ds.first, a.s), min(ds.last, a.e)
		if lo > a.s || hi < a.e {
			var parts []string
			if lo > a.s {
				parts = append(parts, "start "+fmtNs(lo-a.s)+" after the window starts")
			}
			if hi < a.e {
				parts = append(parts, "end "+fmtNs(a.e-hi)+" before it ends")
			}
			covered := max(hi-lo, 0)
			what := fmt.Sprintf("readings %s, covering %s of the %s window", strings.Join(parts, " and "), fmtNs(covered), fmtNs(win))
			if win > 0 && covered < MinCoverage*win && d.EnergyJ.Measured {
				short := Absent(what + fmt.Sprintf(" (less than %.0f %%: a sampler that stopped answering?)", 100*MinCoverage))
				d.EnergyJ, d.EnergyCounterJ, d.EnergySource = short, short, ""
				if d.EnergyIntegralJ.Measured {
					d.EnergyIntegralJ = short
				}
				r.warnf("%s: %s: its energy is left out, not counted short", name, what)
			} else {
				r.warnf("%s: %s; energy outside them is not counted", name, what)
			}
		}
	}
	return d
}

// MinCoverage is the share of the window a device's readings must cover
// for its energy to count: below it (a sampler that stopped answering
// mid-run, a GPU that hung), the device's energy of record is absent, so
// that no figure reports a part of the window as the whole. Above it, the
// uncovered edges are left out with a warning.
const MinCoverage = 0.9

// tickFigures returns power_peak_w and power_avg_w_under_load.
func (a *Accumulator) tickFigures(gpuSamplers []samplerState, r *Report) (peak, load Figure) {
	if len(gpuSamplers) == 0 {
		return Absent("no GPU readings in the timeline"), Absent("no GPU readings in the timeline")
	}
	if len(gpuSamplers) > 1 {
		names := make([]string, len(gpuSamplers))
		for i, s := range gpuSamplers {
			names[i] = s.name
		}
		r.warnf("GPUs come from %d samplers (%s) whose ticks are not simultaneous: %s and %s are the sums of each sampler's figure (the peak is an upper bound)",
			len(gpuSamplers), strings.Join(names, ", "), KeyPowerPeakW, KeyPowerAvgWUnderLoad)
	}
	var pk, ld float64
	for _, s := range gpuSamplers {
		if !s.peakOK {
			peak = Absent(s.name + ": no tick inside the window has power readings of all its GPUs")
		}
		pk += s.peak
		switch {
		case s.loadedW > 0:
			ld += s.loadedPW / s.loadedW
		case load.Reason != "":
		case s.utilTicks == 0:
			load = Absent(s.name + ": no GPU utilization readings")
		default:
			load = Absent(fmt.Sprintf("%s: no tick in the window had a mean GPU utilization above %v %% and power readings of all its GPUs", s.name, a.cfg.loadPct))
		}
	}
	if peak.Reason == "" {
		peak = Measured(pk)
	}
	if load.Reason == "" {
		load = Measured(ld)
	}
	return peak, load
}

func perToken(e Figure, key string, tokens int64) Figure {
	switch {
	case !e.Measured:
		return Absent(key + " is absent: " + e.Reason)
	case tokens == 0:
		return Absent("no output tokens")
	}
	return Measured(e.Value / float64(tokens))
}

// sums adds the measured figures of several devices, remembering the
// reasons of the absent ones.
type sums struct {
	v       float64
	n       int
	missing []string
}

func (s *sums) add(f Figure, name string) {
	if f.Measured {
		s.v += f.Value
		s.n++
	} else {
		s.missing = append(s.missing, name+": "+f.Reason)
	}
}

func (s *sums) figure(none string) Figure {
	if s.n == 0 {
		if len(s.missing) > 0 {
			return Absent(none + " (" + strings.Join(s.missing, "; ") + ")")
		}
		return Absent(none)
	}
	return Measured(s.v)
}

// partial warns when a measured sum leaves devices out.
func (r *Report) partial(key string, s sums) {
	if s.n > 0 && len(s.missing) > 0 {
		r.warnf("%s leaves out %s", key, strings.Join(s.missing, "; "))
	}
}

func (r *Report) warnf(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

// fmtNs formats a duration given in float64 nanoseconds.
func fmtNs(ns float64) string { return time.Duration(math.Round(ns)).String() }

// fmtJ formats joules.
func fmtJ(j float64) string { return strconv.FormatFloat(j, 'g', 6, 64) + " J" }
