//go:build linux && cgo

package nvml

import (
	"encoding/binary"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// The NVML calls, as named in errors and notes.
const (
	callFieldValues  = "nvmlDeviceGetFieldValues"
	callPowerUsage   = "nvmlDeviceGetPowerUsage"
	callTotalEnergy  = "nvmlDeviceGetTotalEnergyConsumption"
	callUtilization  = "nvmlDeviceGetUtilizationRates"
	callMemoryInfo   = "nvmlDeviceGetMemoryInfo"
	callClockInfo    = "nvmlDeviceGetClockInfo"
	callTemperature  = "nvmlDeviceGetTemperature"
	callEventReasons = "nvmlDeviceGetCurrentClocksEventReasons"
	callThrottle     = "nvmlDeviceGetCurrentClocksThrottleReasons"
	callComputeProcs = "nvmlDeviceGetComputeRunningProcesses"
	callGraphicProcs = "nvmlDeviceGetGraphicsRunningProcesses"
)

type powerSource int

const (
	powerNone  powerSource = iota
	powerField             // FI_DEV_POWER_INSTANT
	powerUsage             // nvmlDeviceGetPowerUsage (averaged on Ampere and later)
)

type energySource int

const (
	energyNone    energySource = iota
	energyField                // FI_DEV_TOTAL_ENERGY_CONSUMPTION
	energyCounter              // nvmlDeviceGetTotalEnergyConsumption
)

type eventSource int

const (
	eventsNone     eventSource = iota
	eventsCurrent              // nvmlDeviceGetCurrentClocksEventReasons
	eventsThrottle             // nvmlDeviceGetCurrentClocksThrottleReasons (older drivers)
)

// request asks a worker to read its GPU once: its fast values, and the
// slow values and the energy counter in the tick (…Now: the first tick, so
// that the first reading is whole, and full reads) or right after it, for
// the next tick's reading (…Later; see device.run), or not at all.
type request struct {
	seq                    uint64
	at                     time.Time // when Sample asked: the reading's time, within half its read
	slowNow, slowLater     bool
	energyNow, energyLater bool
}

// tally counts one read's values: those read, those that failed, and the
// last failure.
type tally struct {
	got, failed int
	call        string
	ret         Return
}

func (t *tally) add(u tally) {
	t.got += u.got
	if u.failed > 0 {
		t.failed += u.failed
		t.call, t.ret = u.call, u.ret
	}
}

// probePace is the shortest time between two reads of the sensor probe:
// an H200's power field answers in under a microsecond from a cached
// value, and reading it back to back would only burn a core (time.Sleep
// wakes about a millisecond later on Linux, which still resolves a 100 ms
// sensor to 1 %). maxProbeReads bounds the probe on top of its window.
const (
	probePace     = 500 * time.Microsecond
	maxProbeReads = 100_000
)

// device is one sampled GPU and the state of its worker goroutine.
//
// Set at Open and then read-only: index … events, fieldIDs. Owned by the
// worker (and, for out and tick, by Sample between a request's completion
// and the next request): fv, on, energy state, out, tick, later*. Atomic
// or under mu: the health counters.
type device struct {
	index int
	name  string // "gpu0"
	model string
	h     Device

	power     powerSource
	powerWhy  string // why the power is not FI_DEV_POWER_INSTANT
	energy    energySource
	events    eventSource
	fv        []FieldValue  // the per-tick field request
	fvField   []Field       // the Field of each fv entry
	efv       [1]FieldValue // the energy counter's field request
	probeFV   []FieldValue  // the sensor probe's request (power only)
	sensor    time.Duration // measured sensor update period, 0 unknown
	probed    bool          // the sensor probe ran
	probeDiff int           // value changes the probe saw

	on [numFields]bool // separate calls still worth making

	lastRaw uint64 // last raw energy counter, mJ
	offset  uint64 // added to the raw counter to keep it monotonic, mJ
	haveRaw bool
	tick    tally // this tick's values
	out     sampler.DeviceReading
	// The values read after a tick, for the next one: laterOut's slow
	// fields, held while laterSlow, and its EnergyJ, held while
	// laterEnergy, each with its tally.
	laterOut      sampler.DeviceReading
	laterSlowT    tally
	laterEnergyT  tally
	laterSlow     bool
	laterEnergy   bool
	laterEnergyAt time.Time // the midpoint of the energy counter's read

	req chan request

	// busySince is when the worker's current read began (Unix ns), 0
	// when it is not reading: Close names the GPUs whose read hangs.
	busySince atomic.Int64

	reads       atomic.Int64
	empty       atomic.Int64
	resets      atomic.Int64
	fieldErrs   [numFields]atomic.Int64
	unsupported [numFields]atomic.Bool

	mu       sync.Mutex
	lastCall string
	lastRet  Return
	seen     sensorSeen // under mu
}

// sensorRing is how many of the latest power changes a device keeps to
// estimate its sensor's period from the ticks.
const sensorRing = 1024

// sensorSeen is what the ticks saw of the power sensor: when the reading
// changed (the latest sensorRing times, from the first read), and the
// reads' span, to tell a period the ticks resolve from one they cannot.
type sensorSeen struct {
	first, lastAt time.Time
	last          float64
	reads         int64
	changes       [sensorRing]time.Duration
	n             int // changes recorded in all
}

// add records a power reading at at.
func (s *sensorSeen) add(p float64, at time.Time) {
	if s.reads == 0 {
		s.first = at
	} else if p != s.last {
		s.changes[s.n%sensorRing] = at.Sub(s.first)
		s.n++
	}
	s.reads++
	s.last, s.lastAt = p, at
}

// period estimates the sensor's period from the ticks (see sensorPeriod):
// 0 unless at least 6 updates were seen and the period is at least three
// times the mean time between reads (a faster sensor only shows that it is
// at least as fast as the sampling).
func (s *sensorSeen) period() (time.Duration, int) {
	if s.reads < 2 {
		return 0, 0
	}
	k := min(s.n, sensorRing)
	changes := make([]time.Duration, 0, k)
	for i := s.n - k; i < s.n; i++ {
		changes = append(changes, s.changes[i%sensorRing])
	}
	p, updates := sensorPeriod(changes)
	meanGap := s.lastAt.Sub(s.first) / time.Duration(s.reads-1)
	if updates < 6 || p < 3*meanGap {
		return 0, updates
	}
	return p, updates
}

// setup decides, once, where each value comes from: the field call when the
// GPU supports it, else the older calls; a function the driver's library
// lacks answers ERROR_FUNCTION_NOT_FOUND (see Library) and is not used.
func (d *device) setup() {
	for f := range d.on {
		d.on[f] = true
	}
	fv := []FieldValue{
		{FieldID: FI_DEV_POWER_INSTANT},
		{FieldID: FI_DEV_TOTAL_ENERGY_CONSUMPTION},
	}
	switch ret := d.h.FieldValues(fv); ret {
	case SUCCESS:
		if ret := fv[0].Return; ret == SUCCESS {
			d.power = powerField
		} else {
			d.powerWhy = "FI_DEV_POWER_INSTANT: " + ret.String()
		}
		if fv[1].Return == SUCCESS {
			d.energy = energyField
		}
	case ERROR_FUNCTION_NOT_FOUND:
		d.powerWhy = "the driver's NVML lacks " + callFieldValues
	default:
		d.powerWhy = callFieldValues + ": " + ret.String()
	}
	if d.power != powerField {
		if _, ret := d.h.PowerUsage(); absent(ret) {
			d.powerWhy += "; " + callPowerUsage + ": " + ret.String()
		} else {
			d.power = powerUsage
		}
	}
	if d.energy != energyField {
		if _, ret := d.h.TotalEnergyConsumption(); !absent(ret) {
			d.energy = energyCounter
		}
	}
	if d.power == powerField {
		d.fv = append(d.fv, FieldValue{FieldID: FI_DEV_POWER_INSTANT})
		d.fvField = append(d.fvField, FieldPower)
		d.probeFV = []FieldValue{{FieldID: FI_DEV_POWER_INSTANT}}
	}
	// The energy counter is read on its own (see readEnergy): on some GPUs
	// (H200) it costs milliseconds, the power field microseconds.
	// Drivers before the rename (R535) have only the throttle reasons.
	if _, ret := d.h.ClocksEventReasons(); ret != ERROR_FUNCTION_NOT_FOUND {
		d.events = eventsCurrent
	} else if _, ret := d.h.ClocksThrottleReasons(); ret != ERROR_FUNCTION_NOT_FOUND {
		d.events = eventsThrottle
	}
	d.on[FieldClockEvents] = d.events != eventsNone
	if d.power == powerNone {
		d.unsupported[FieldPower].Store(true)
	}
	if d.energy == energyNone {
		d.unsupported[FieldEnergy].Store(true)
	}
	if d.events == eventsNone {
		d.unsupported[FieldClockEvents].Store(true)
	}
}

// probeSensor reads the power for window, at most every probePace, and
// estimates the sensor's update period from the times the value changed
// (see sensorPeriod); too few changes leave it unknown (0).
func (d *device) probeSensor(window time.Duration) {
	if window <= 0 || d.power == powerNone {
		return
	}
	d.probed = true
	deadline := time.Now().Add(window)
	var (
		last    float64
		have    bool
		origin  = time.Now()
		changes []time.Duration
	)
	for n := 0; n < maxProbeReads; n++ {
		before := time.Now()
		if !before.Before(deadline) {
			break
		}
		p, ok := d.readPower()
		took := time.Since(before)
		if took < probePace {
			time.Sleep(probePace - took)
		}
		if !ok {
			continue
		}
		if have && p != last {
			changes = append(changes, before.Add(took/2).Sub(origin))
		}
		last, have = p, true
	}
	d.probeDiff = len(changes)
	d.sensor, _ = sensorPeriod(changes)
}

// sensorPeriod estimates a power sensor's update period from the times its
// reading changed: the median time between updates, where an update may
// show as several changes close together (an H200's instant power changes
// twice, 2-8 ms apart, every 100 ms). Changes less than a quarter of the
// gaps' 75th percentile after the previous one continue its update. The
// median holds when a read is delayed (one gap short, the next long) and
// when an update repeats the value. It returns 0 without two gaps between
// updates, and the number of updates.
func sensorPeriod(changes []time.Duration) (time.Duration, int) {
	if len(changes) < 3 {
		return 0, len(changes)
	}
	gaps := make([]time.Duration, 0, len(changes)-1)
	for i := 1; i < len(changes); i++ {
		gaps = append(gaps, changes[i]-changes[i-1])
	}
	sorted := slices.Clone(gaps)
	slices.Sort(sorted)
	merge := sorted[len(sorted)*3/4] / 4
	var between []time.Duration
	start := changes[0]
	for i, g := range gaps {
		if g < merge {
			continue
		}
		between = append(between, changes[i+1]-start)
		start = changes[i+1]
	}
	if len(between) < 2 {
		return 0, len(between) + 1
	}
	slices.Sort(between)
	return between[len(between)/2], len(between) + 1
}

// readPower reads the power alone, for the sensor probe.
func (d *device) readPower() (float64, bool) {
	switch d.power {
	case powerField:
		d.probeFV[0] = FieldValue{FieldID: FI_DEV_POWER_INSTANT}
		if d.h.FieldValues(d.probeFV) != SUCCESS || d.probeFV[0].Return != SUCCESS {
			return 0, false
		}
		return fieldFloat(&d.probeFV[0])
	case powerUsage:
		mw, ret := d.h.PowerUsage()
		return float64(mw), ret == SUCCESS
	}
	return 0, false
}

// run is the worker: it reads the GPU on every request until quit closes.
func (d *device) run(quit <-chan struct{}, done chan<- uint64, wg *sync.WaitGroup) {
	defer wg.Done()
	for {
		select {
		case <-quit:
			return
		case r := <-d.req:
			d.busySince.Store(time.Now().UnixNano())
			d.read(r.slowNow, r.energyNow, r.at)
			d.busySince.Store(0)
			select {
			case done <- r.seq:
			case <-quit:
				return
			}
			if r.slowLater || r.energyLater {
				d.busySince.Store(time.Now().UnixNano())
				d.readLater(r.slowLater, r.energyLater)
				d.busySince.Store(0)
			}
		}
	}
}

// read reads the GPU once into d.out: its fast values, its slow values
// when slow is set and its energy counter when energy is set, else those
// read after the previous tick, if any; an energy value read then carries
// its age at the reading's time at (EnergyLag). It allocates nothing.
func (d *device) read(slow, energy bool, at time.Time) {
	r := sampler.NewDeviceReading(d.name, sampler.KindGPU)
	d.tick = tally{}
	d.reads.Add(1)

	if len(d.fv) > 0 {
		for i := range d.fv {
			d.fv[i] = FieldValue{FieldID: d.fv[i].FieldID}
		}
		if ret := d.h.FieldValues(d.fv); ret != SUCCESS {
			for _, f := range d.fvField {
				d.miss(&d.tick, f, callFieldValues, ret, false)
			}
		} else {
			for i := range d.fv {
				v, f := &d.fv[i], d.fvField[i]
				if ret := v.Return; ret != SUCCESS {
					d.miss(&d.tick, f, callFieldValues, ret, false)
					continue
				}
				if mw, ok := fieldFloat(v); ok && f == FieldPower {
					r.PowerW = mw / 1000
					d.tick.got++
					d.notePower(r.PowerW, at)
				} else {
					d.miss(&d.tick, f, callFieldValues, ERROR_UNKNOWN, false)
				}
			}
		}
	}
	if d.power == powerUsage {
		if mw, ret := d.h.PowerUsage(); ret == SUCCESS {
			r.PowerW = float64(mw) / 1000
			d.tick.got++
			d.notePower(r.PowerW, at)
		} else {
			d.miss(&d.tick, FieldPower, callPowerUsage, ret, false)
		}
	}
	if d.on[FieldUtilization] {
		if u, ret := d.h.UtilizationRates(); ret == SUCCESS {
			r.UtilPct, r.MemUtilPct = float64(u.GPU), float64(u.Memory)
			d.tick.got++
		} else {
			d.miss(&d.tick, FieldUtilization, callUtilization, ret, true)
		}
	}
	if d.on[FieldMemory] {
		if m, ret := d.h.MemoryInfo(); ret == SUCCESS {
			r.MemUsedBytes = float64(m.Used)
			d.tick.got++
		} else {
			d.miss(&d.tick, FieldMemory, callMemoryInfo, ret, true)
		}
	}
	switch {
	case energy:
		d.readEnergy(&r, &d.tick)
	case d.laterEnergy:
		r.EnergyJ = d.laterOut.EnergyJ
		if sampler.Has(r.EnergyJ) {
			r.EnergyLag = max(at.Sub(d.laterEnergyAt), 0)
		}
		d.tick.add(d.laterEnergyT)
	}
	d.laterEnergy = false
	switch {
	case slow:
		d.readSlow(&r, &d.tick)
	case d.laterSlow:
		l := &d.laterOut
		r.SMClockMHz, r.MemClockMHz, r.TempC = l.SMClockMHz, l.MemClockMHz, l.TempC
		r.ClockEventReasons, r.HasClockEvents = l.ClockEventReasons, l.HasClockEvents
		d.tick.add(d.laterSlowT)
	}
	d.laterSlow = false
	d.out = r
	if d.tick.got == 0 && d.tick.failed > 0 {
		d.empty.Add(1)
	}
}

// notePower tells the sensor tracking of a tick's power reading.
func (d *device) notePower(p float64, at time.Time) {
	d.mu.Lock()
	d.seen.add(p, at)
	d.mu.Unlock()
}

// sensorEstimate is a power sensor's period as known now.
type sensorEstimate struct {
	period  time.Duration // 0 unknown
	from    string        // "ticks", "probe" or ""
	updates int           // updates the ticks saw, when from the ticks
	reads   int64         // ticks with a power reading
	changes int           // changes the ticks saw
}

// sensorPeriodNow returns the best estimate of the power sensor's period:
// the ticks' once they resolve it, else the probe at Open's.
func (d *device) sensorPeriodNow() sensorEstimate {
	d.mu.Lock()
	p, updates := d.seen.period()
	e := sensorEstimate{reads: d.seen.reads, changes: d.seen.n}
	d.mu.Unlock()
	switch {
	case p > 0:
		e.period, e.from, e.updates = p, "ticks", updates
	case d.sensor > 0:
		e.period, e.from = d.sensor, "probe"
	}
	return e
}

// readLater reads the slow values, the energy counter or both after a
// tick has been answered, for the next tick's reading: their calls (as
// many again as the fast ones; the energy counter's takes milliseconds on
// an H200) then neither lengthen the tick nor move its time, which is the
// midpoint of the tick's Sample.
func (d *device) readLater(slow, energy bool) {
	d.laterOut = sampler.NewDeviceReading(d.name, sampler.KindGPU)
	if slow {
		d.laterSlowT = tally{}
		d.readSlow(&d.laterOut, &d.laterSlowT)
		d.laterSlow = true
	}
	if energy {
		d.laterEnergyT = tally{}
		before := time.Now()
		d.readEnergy(&d.laterOut, &d.laterEnergyT)
		d.laterEnergyAt = before.Add(time.Since(before) / 2)
		d.laterEnergy = true
	}
}

// readEnergy reads the energy counter into r, counting it in t.
func (d *device) readEnergy(r *sampler.DeviceReading, t *tally) {
	switch d.energy {
	case energyField:
		d.efv[0] = FieldValue{FieldID: FI_DEV_TOTAL_ENERGY_CONSUMPTION}
		ret := d.h.FieldValues(d.efv[:])
		if ret == SUCCESS {
			ret = d.efv[0].Return
		}
		if ret != SUCCESS {
			d.miss(t, FieldEnergy, callFieldValues, ret, false)
			return
		}
		if mj, ok := fieldUint(&d.efv[0]); ok {
			r.EnergyJ = d.monotonic(mj)
			t.got++
		} else {
			d.miss(t, FieldEnergy, callFieldValues, ERROR_UNKNOWN, false)
		}
	case energyCounter:
		if mj, ret := d.h.TotalEnergyConsumption(); ret == SUCCESS {
			r.EnergyJ = d.monotonic(mj)
			t.got++
		} else {
			d.miss(t, FieldEnergy, callTotalEnergy, ret, false)
		}
	}
}

// readSlow reads the values of the slower cadence into r, counting them in t.
func (d *device) readSlow(r *sampler.DeviceReading, t *tally) {
	if d.on[FieldSMClock] {
		if c, ret := d.h.ClockInfo(CLOCK_SM); ret == SUCCESS {
			r.SMClockMHz = float64(c)
			t.got++
		} else {
			d.miss(t, FieldSMClock, callClockInfo, ret, true)
		}
	}
	if d.on[FieldMemClock] {
		if c, ret := d.h.ClockInfo(CLOCK_MEM); ret == SUCCESS {
			r.MemClockMHz = float64(c)
			t.got++
		} else {
			d.miss(t, FieldMemClock, callClockInfo, ret, true)
		}
	}
	if d.on[FieldTemperature] {
		if c, ret := d.h.Temperature(TEMPERATURE_GPU); ret == SUCCESS {
			r.TempC = float64(c)
			t.got++
		} else {
			d.miss(t, FieldTemperature, callTemperature, ret, true)
		}
	}
	if d.on[FieldClockEvents] {
		var (
			bits uint64
			ret  Return
			call string
		)
		if d.events == eventsCurrent {
			bits, ret = d.h.ClocksEventReasons()
			call = callEventReasons
		} else {
			bits, ret = d.h.ClocksThrottleReasons()
			call = callThrottle
		}
		if ret == SUCCESS {
			r.ClockEventReasons, r.HasClockEvents = bits, true
			t.got++
		} else {
			d.miss(t, FieldClockEvents, call, ret, true)
		}
	}
}

// miss records a value that could not be read. ERROR_NOT_SUPPORTED (or a
// missing function) means the value does not exist: it is not a failure,
// and a separate call (stop) is not made again.
func (d *device) miss(t *tally, f Field, call string, ret Return, stop bool) {
	if absent(ret) {
		d.unsupported[f].Store(true)
		if stop {
			d.on[f] = false
		}
		return
	}
	t.failed++
	t.call, t.ret = call, ret
	d.fieldErrs[f].Add(1)
	d.mu.Lock()
	d.lastCall, d.lastRet = call, ret
	d.mu.Unlock()
}

// monotonic turns NVML's energy counter (mJ since the driver loaded) into
// joules that never decrease: after a decrease it continues from the last
// value.
func (d *device) monotonic(raw uint64) float64 {
	if d.haveRaw && raw < d.lastRaw {
		d.offset += d.lastRaw - raw
		d.resets.Add(1)
	}
	d.lastRaw, d.haveRaw = raw, true
	return float64(raw+d.offset) / 1000
}

// health returns the device's account.
func (d *device) health() DeviceHealth {
	h := DeviceHealth{
		Device:       d.name,
		Reads:        d.reads.Load(),
		EmptyReads:   d.empty.Load(),
		EnergyResets: d.resets.Load(),
	}
	for f := range d.fieldErrs {
		if n := d.fieldErrs[f].Load(); n > 0 {
			if h.FieldErrors == nil {
				h.FieldErrors = make(map[Field]int64)
			}
			h.FieldErrors[Field(f)] = n
		}
	}
	d.mu.Lock()
	if d.lastCall != "" {
		h.LastError = &callError{device: d.name, call: d.lastCall, ret: d.lastRet}
	}
	d.mu.Unlock()
	return h
}

// fieldFloat decodes a field value as a number.
func fieldFloat(v *FieldValue) (float64, bool) {
	b := v.Value[:]
	switch v.ValueType {
	case VALUE_TYPE_DOUBLE:
		return math.Float64frombits(binary.NativeEndian.Uint64(b)), true
	case VALUE_TYPE_UNSIGNED_INT:
		return float64(binary.NativeEndian.Uint32(b)), true
	case VALUE_TYPE_UNSIGNED_LONG, VALUE_TYPE_UNSIGNED_LONG_LONG:
		return float64(binary.NativeEndian.Uint64(b)), true
	case VALUE_TYPE_SIGNED_LONG_LONG:
		return float64(int64(binary.NativeEndian.Uint64(b))), true
	case VALUE_TYPE_SIGNED_INT:
		return float64(int32(binary.NativeEndian.Uint32(b))), true
	case VALUE_TYPE_UNSIGNED_SHORT:
		return float64(binary.NativeEndian.Uint16(b)), true
	}
	return 0, false
}

// fieldUint decodes a field value as an exact unsigned counter.
func fieldUint(v *FieldValue) (uint64, bool) {
	b := v.Value[:]
	switch v.ValueType {
	case VALUE_TYPE_UNSIGNED_LONG, VALUE_TYPE_UNSIGNED_LONG_LONG:
		return binary.NativeEndian.Uint64(b), true
	case VALUE_TYPE_UNSIGNED_INT:
		return uint64(binary.NativeEndian.Uint32(b)), true
	}
	if f, ok := fieldFloat(v); ok && f >= 0 {
		return uint64(f), true
	}
	return 0, false
}
