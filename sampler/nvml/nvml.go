//go:build linux && cgo

package nvml

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// Sampler samples NVIDIA GPUs through NVML. Make one with Open.
//
// Sample must not be called concurrently with itself or after Close (the
// sampler.Sampler contract); Describe, Inventory and Health are safe to
// call at any time, from any goroutine, also after Close.
type Sampler struct {
	lib     Library
	devs    []*device
	inv     Inventory
	handles []Device // per inventory GPU, for Processes
	notes   []string // remarks fixed at Open (GPUs left out, …)

	slow   cadence // clocks, temperature, clock-event reasons
	energy cadence // the energy counter
	probe  time.Duration
	ticked bool // a tick has been requested
	seq    uint64

	done     chan uint64
	quit     chan struct{}
	wg       sync.WaitGroup
	closed   atomic.Bool
	once     sync.Once
	closeErr error
	// shut is held for writing while Close shuts NVML down, and for
	// reading by Processes, which calls NVML outside the workers.
	shut sync.RWMutex
}

var (
	_ sampler.Sampler       = (*Sampler)(nil)
	_ sampler.FullSampler   = (*Sampler)(nil)
	_ sampler.Describer     = (*Sampler)(nil)
	_ sampler.ProcessLister = (*Sampler)(nil)
)

var (
	errClosed          = errors.New("nvml: Sample after Close")
	errProcessesClosed = errors.New("nvml: Processes after Close")
)

// WithInterface samples through lib, an implementation of Library such as
// a test's fake, instead of loading the NVML library: Open calls lib.Init
// and Close lib.Shutdown, and every NVML call goes through lib, as
// Library's documentation describes. By default, if this option is not
// used, Open loads the library named by WithLibraryPath with the package's
// own binding. A repeated use replaces the earlier one. It cannot be
// combined with WithLibraryPath, and it exists only in Linux cgo builds.
//
// (Before the package had its own binding, WithInterface took go-nvml's
// nvml.Interface; the package no longer depends on go-nvml.)
func WithInterface(lib Library) Option {
	return optionFunc(func(c *config) {
		c.ifaceSet = true
		c.iface = nil
		if lib != nil {
			c.iface = lib
		}
	})
}

// Open loads NVML (see WithLibraryPath and WithInterface), initializes it,
// takes the inventory, selects the GPUs to sample, decides where each
// value comes from, probes the power sensors' update period (see
// WithSensorProbe) and starts one worker goroutine per GPU.
//
// When the library is missing or nvmlInit fails, Open returns an error
// wrapping sampler.ErrUnavailable and the NVML status, with a hint at the
// usual causes (and the dynamic loader's reason when the library could
// not be loaded), and calls nothing else in NVML (not even nvmlShutdown or
// nvmlErrorString). When NVML finds no GPU, or gives a handle for none, the
// error wraps sampler.ErrUnavailable too. Invalid options, and selectors
// that match no GPU, give other errors. Every error after a successful
// nvmlInit is preceded by nvmlShutdown. A driver that does not answer
// within WithOpenTimeout (30 s by default) makes Open return an error
// wrapping sampler.ErrUnavailable and ErrNotResponding.
func Open(opts ...Option) (*Sampler, error) {
	c := newConfig(opts)
	if err := c.validate(); err != nil {
		return nil, err
	}
	type result struct {
		s   *Sampler
		err error
	}
	done := make(chan result, 1)
	go func() {
		s, err := openLibrary(&c)
		done <- result{s, err}
	}()
	timer := time.NewTimer(c.openTimeout)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.s, r.err
	case <-timer.C:
		go func() {
			if r := <-done; r.s != nil {
				_ = r.s.Close()
			}
		}()
		return nil, fmt.Errorf("%w: nvml: %w: NVML did not finish opening (initialising, listing the GPUs, probing their sensors) within %v: a hung GPU or driver? (does nvidia-smi answer?)",
			sampler.ErrUnavailable, ErrNotResponding, c.openTimeout)
	}
}

// openLibrary initialises the library Open was given and opens the
// sampler on it.
func openLibrary(c *config) (*Sampler, error) {
	var (
		lib Library
		dl  *dlLibrary
	)
	desc := c.libraryPath
	if c.ifaceSet {
		lib = c.iface.(Library)
		desc = "the interface given by WithInterface"
	} else {
		dl = &dlLibrary{path: c.libraryPath}
		lib = dl
	}
	if ret := lib.Init(); ret != SUCCESS {
		// Nothing else may be called now, not even Shutdown.
		var loadErr string
		if dl != nil {
			loadErr = dl.loadErr
		}
		return nil, initError(desc, ret, loadErr)
	}
	s, err := open(lib, desc, c)
	if err != nil {
		if ret := lib.Shutdown(); ret != SUCCESS {
			err = errors.Join(err, &callError{call: "nvmlShutdown", ret: ret})
		}
		return nil, err
	}
	return s, nil
}

// open does Open's work after a successful nvmlInit.
func open(lib Library, desc string, c *config) (*Sampler, error) {
	n, ret := lib.DeviceCount()
	if ret != SUCCESS {
		return nil, fmt.Errorf("%w: %w", sampler.ErrUnavailable, &callError{call: "nvmlDeviceGetCount", ret: ret})
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: nvml: NVML (%s) found no GPU (in a container, was it started with --gpus?)", sampler.ErrUnavailable, desc)
	}

	s := &Sampler{lib: lib, slow: cadence{every: c.slowInterval}, energy: cadence{every: c.energyInterval}, probe: c.sensorProbe}
	s.inv, s.handles, s.notes = inventory(lib, n)
	if len(s.inv.GPUs) == 0 {
		return nil, fmt.Errorf("%w: nvml: NVML (%s) counts %d GPUs but gave a handle for none: %s",
			sampler.ErrUnavailable, desc, n, strings.Join(s.notes, "; "))
	}

	selected, err := selectGPUs(s.inv.GPUs, c)
	if err != nil {
		return nil, err
	}
	handleOf := make(map[int]Device, len(s.handles))
	for i, g := range s.inv.GPUs {
		handleOf[g.Index] = s.handles[i]
	}
	for _, g := range selected {
		s.devs = append(s.devs, &device{
			index: g.Index,
			name:  "gpu" + strconv.Itoa(g.Index),
			model: g.Name,
			h:     handleOf[g.Index],
			req:   make(chan request, 1),
		})
	}
	for _, d := range s.devs {
		d.setup()
	}
	if s.probe > 0 {
		var wg sync.WaitGroup
		for _, d := range s.devs {
			wg.Go(func() { d.probeSensor(s.probe) })
		}
		wg.Wait()
	}

	s.slow.next = make([]time.Time, len(s.devs))
	s.energy.next = make([]time.Time, len(s.devs))
	s.done = make(chan uint64, 2*len(s.devs))
	s.quit = make(chan struct{})
	for _, d := range s.devs {
		s.wg.Add(1)
		go d.run(s.quit, s.done, &s.wg)
	}
	return s, nil
}

// inventory lists every GPU with a handle, with the reference's fallbacks,
// and the driver and CUDA versions. It returns the handles of the GPUs
// listed, in the same order, and notes on the GPUs left out.
func inventory(lib Library, n int) (Inventory, []Device, []string) {
	var (
		inv     Inventory
		handles []Device
		notes   []string
	)
	if v, ret := lib.DriverVersion(); ret == SUCCESS {
		inv.Driver = v
	}
	if v, ret := lib.CUDADriverVersion(); ret == SUCCESS {
		inv.CUDA = cudaVersion(v)
	}
	for i := range n {
		h, ret := lib.DeviceByIndex(i)
		if ret != SUCCESS {
			notes = append(notes, fmt.Sprintf("GPU %d left out: nvmlDeviceGetHandleByIndex: %s", i, ret.String()))
			continue
		}
		g := GPU{Index: i, Name: fallbackName(i), PCIBusID: fallbackPCIID(i), Serial: unknown, VBIOS: unknown}
		if v, ret := h.UUID(); ret == SUCCESS {
			g.UUID = v
		}
		if v, ret := h.Name(); ret == SUCCESS {
			g.Name = v
		}
		if p, ret := h.PCIInfo(); ret == SUCCESS {
			g.PCIBusID = p.BusID
		}
		if v, ret := h.Serial(); ret == SUCCESS {
			g.Serial = v
		}
		if v, ret := h.VBIOSVersion(); ret == SUCCESS {
			g.VBIOS = v
		}
		inv.GPUs = append(inv.GPUs, g)
		handles = append(handles, h)
	}
	return inv, handles, notes
}

// selectGPUs applies WithDevices; the result is in index order.
func selectGPUs(gpus []GPU, c *config) ([]GPU, error) {
	if !c.selectorsSet {
		return gpus, nil
	}
	chosen := make(map[int]string)
	var out []GPU
	for _, sel := range c.selectors {
		index, uuid, _ := parseSelector(sel) // validated already
		pos := slices.IndexFunc(gpus, func(g GPU) bool {
			if uuid != "" {
				return g.UUID != "" && strings.EqualFold(g.UUID, uuid)
			}
			return g.Index == index
		})
		if pos < 0 {
			return nil, fmt.Errorf("nvml: WithDevices: no GPU matches %q; available: %s", sel, describeGPUs(gpus))
		}
		g := gpus[pos]
		if prev, dup := chosen[g.Index]; dup {
			return nil, fmt.Errorf("nvml: WithDevices: %q and %q both select GPU %d", prev, sel, g.Index)
		}
		chosen[g.Index] = sel
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b GPU) int { return a.Index - b.Index })
	return out, nil
}

// Name returns "nvml".
func (s *Sampler) Name() string { return "nvml" }

// Sample reads every sampled GPU once, in parallel on the workers, and
// appends one reading per GPU, in index order, to dst. Two kinds of value
// have a slower cadence, read in the first tick and then after the tick
// they are due in, for the next tick's reading (at most one interval old),
// and NaN on the other ticks: the energy counter (see WithEnergyInterval),
// and clocks, temperature and clock-event reasons (see WithSlowInterval).
// Sample waits for all GPUs unless ctx is done first, in which case it
// returns ctx's error (the GPUs still being read finish in the background,
// and their late results are discarded). A value that fails to read is NaN
// and counted in Health; Sample fails only when every GPU failed every
// read, with an error joining each GPU's last failure. It allocates nothing
// beyond growing dst.
func (s *Sampler) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	return s.sample(ctx, dst, false)
}

// SampleFull reads every value of every GPU in the call itself, the slow
// ones and the energy counter included, as the first tick does, and
// leaves their cadences as they were. sampler.Run takes its closing
// reading with it, so that the energy counter reaches the end of a window.
// Otherwise it is Sample.
func (s *Sampler) SampleFull(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	return s.sample(ctx, dst, true)
}

func (s *Sampler) sample(ctx context.Context, dst []sampler.DeviceReading, full bool) ([]sampler.DeviceReading, error) {
	if s.closed.Load() {
		return dst, errClosed
	}
	if err := ctx.Err(); err != nil {
		return dst, err
	}
	s.seq++
	now := time.Now()
	first := !s.ticked
	s.ticked = true
	for i, d := range s.devs {
		r := request{seq: s.seq, at: now}
		r.slowNow, r.slowLater = s.slow.due(i, now, first, full)
		r.energyNow, r.energyLater = s.energy.due(i, now, first, full)
		select {
		case d.req <- r:
		case <-ctx.Done():
			return dst, ctx.Err()
		case <-s.quit:
			return dst, errClosed
		}
	}
	for pending := len(s.devs); pending > 0; {
		select {
		case seq := <-s.done:
			if seq == s.seq {
				pending--
			}
		case <-ctx.Done():
			return dst, ctx.Err()
		case <-s.quit:
			return dst, errClosed
		}
	}
	empty := 0
	for _, d := range s.devs {
		dst = append(dst, d.out)
		if d.tick.got == 0 && d.tick.failed > 0 {
			empty++
		}
	}
	if empty == len(s.devs) {
		errs := make([]error, len(s.devs))
		for i, d := range s.devs {
			errs[i] = &callError{device: d.name, call: d.tick.call, ret: d.tick.ret}
		}
		return dst, fmt.Errorf("nvml: no GPU yielded a value: %w", errors.Join(errs...))
	}
	return dst, nil
}

// cadence schedules values that each GPU reads less often than every tick.
// A zero every means every tick, in the tick.
type cadence struct {
	every time.Duration
	next  []time.Time // per GPU: when its values are next due
}

// due reports whether GPU i reads the cadence's values at this tick: now
// (in the tick) or later (just after it, for the next tick's reading). The
// first tick and a full read read them now; a zero cadence reads them now
// at every tick. Otherwise every GPU reads them on the first tick, and
// afterwards GPU i is due at first + i·S/n + k·S (S the cadence, n the
// number of GPUs), so that the GPUs' reads spread over the ticks instead
// of lengthening one tick in ten; a GPU more than S late restarts its
// schedule from now. A full read does not move the schedule.
func (c *cadence) due(i int, now time.Time, first, full bool) (inTick, later bool) {
	switch {
	case full || c.every == 0:
		if first && c.every > 0 {
			c.start(i, now)
		}
		return true, false
	case first:
		c.start(i, now)
		return true, false
	case now.Before(c.next[i]):
		return false, false
	}
	c.next[i] = c.next[i].Add(c.every)
	if !c.next[i].After(now) {
		c.next[i] = now.Add(c.every)
	}
	return false, true
}

// start sets GPU i's first due time after the first tick, at now.
func (c *cadence) start(i int, now time.Time) {
	if i == 0 {
		c.next[i] = now.Add(c.every)
	} else {
		c.next[i] = now.Add(time.Duration(i) * (c.every / time.Duration(len(c.next))))
	}
}

// closeWait is how long Close waits for NVML calls in progress, and
// processesWait how long Processes waits for NVML's answer. A healthy call
// takes well under a millisecond to tens of milliseconds.
const (
	closeWait     = 2 * time.Second
	processesWait = 5 * time.Second
)

// Close stops the workers, waits for them, and shuts NVML down (once). It
// is idempotent: later calls return the first call's result.
//
// It waits at most 2 s for NVML calls in progress. A call still running
// then (a hung GPU or driver) cannot be cancelled: Close returns an error
// wrapping ErrNotResponding that names the GPUs being read, and the
// shutdown is left to a goroutine that makes it once every call has
// returned. That goroutine, and the worker blocked in the call, are the
// only ones the sampler leaves running, and only while the driver hangs.
func (s *Sampler) Close() error {
	s.once.Do(func() {
		s.closed.Store(true)
		close(s.quit)
		done := make(chan error, 1)
		go func() {
			s.wg.Wait()
			s.shut.Lock()
			defer s.shut.Unlock()
			if ret := s.lib.Shutdown(); ret != SUCCESS {
				done <- &callError{call: "nvmlShutdown", ret: ret}
				return
			}
			done <- nil
		}()
		timer := time.NewTimer(closeWait)
		defer timer.Stop()
		select {
		case s.closeErr = <-done:
		case <-timer.C:
			s.closeErr = fmt.Errorf("nvml: Close: %w: %s has not returned after %v (a hung GPU or driver? does nvidia-smi answer?); NVML will be shut down when it does",
				ErrNotResponding, s.busyText(), closeWait)
		}
	})
	return s.closeErr
}

// busyText names the NVML calls in progress: the GPUs whose workers are
// reading them, or the process listing.
func (s *Sampler) busyText() string {
	var busy []string
	for _, d := range s.devs {
		if since := d.busySince.Load(); since != 0 {
			busy = append(busy, fmt.Sprintf("%s (for %v)", d.name, time.Since(time.Unix(0, since)).Round(time.Millisecond)))
		}
	}
	if len(busy) == 0 {
		return "an NVML call (listing the GPUs' processes)"
	}
	return "the read of " + strings.Join(busy, ", ")
}

// Processes lists, for every GPU of the inventory (sampled or not), in
// index order, the processes that NVML says have a context on it
// (nvmlDeviceGetComputeRunningProcesses and
// nvmlDeviceGetGraphicsRunningProcesses): it maps an engine's PIDs to the
// GPUs it uses. It may be called from any goroutine, also while Sample
// runs, and takes two NVML calls per GPU or a few more. A GPU whose lists
// could not be read says why in its Err; the error is non-nil after Close,
// and when NVML has not answered within 5 s (it then wraps
// ErrNotResponding; the listing goes on in the background until the hung
// call returns, and its result is dropped). The caller owns the result.
func (s *Sampler) Processes() ([]GPUProcesses, error) {
	type result struct {
		out []GPUProcesses
		err error
	}
	done := make(chan result, 1)
	go func() {
		s.shut.RLock()
		defer s.shut.RUnlock()
		if s.closed.Load() {
			done <- result{err: errProcessesClosed}
			return
		}
		out := make([]GPUProcesses, len(s.inv.GPUs))
		for i, g := range s.inv.GPUs {
			out[i] = listProcesses(g, s.handles[i])
		}
		done <- result{out: out}
	}()
	timer := time.NewTimer(processesWait)
	defer timer.Stop()
	select {
	case r := <-done:
		return r.out, r.err
	case <-timer.C:
		return nil, fmt.Errorf("nvml: listing the GPUs' processes: %w: no answer after %v (a hung GPU or driver? does nvidia-smi answer?)",
			ErrNotResponding, processesWait)
	}
}

// DeviceProcesses is Processes for the sampled GPUs only, by their
// reading names ("gpu2"), in index order: the sampler.ProcessLister view,
// which a profile uses to find the GPUs an engine runs on.
func (s *Sampler) DeviceProcesses() ([]sampler.DeviceProcesses, error) {
	all, err := s.Processes()
	if err != nil {
		return nil, err
	}
	byIndex := make(map[int]GPUProcesses, len(all))
	for _, g := range all {
		byIndex[g.Index] = g
	}
	out := make([]sampler.DeviceProcesses, len(s.devs))
	for i, d := range s.devs {
		g := byIndex[d.index]
		out[i] = sampler.DeviceProcesses{Device: d.name, PIDs: g.PIDs(), Err: g.Err}
	}
	return out, nil
}

// listProcesses merges a GPU's compute and graphics process lists.
func listProcesses(g GPU, h Device) GPUProcesses {
	out := GPUProcesses{Index: g.Index, UUID: g.UUID}
	at := make(map[uint32]int) // PID → position in out.Processes
	var errs, missing []error
	for _, l := range []struct {
		call     string
		list     func() ([]ProcessInfo, Return)
		graphics bool
	}{
		{callComputeProcs, h.ComputeRunningProcesses, false},
		{callGraphicProcs, h.GraphicsRunningProcesses, true},
	} {
		infos, ret := l.list()
		if ret != SUCCESS {
			err := &callError{device: "gpu" + strconv.Itoa(g.Index), call: l.call, ret: ret}
			if absent(ret) {
				missing = append(missing, err)
			} else {
				errs = append(errs, err)
			}
			continue
		}
		for _, p := range infos {
			k, seen := at[p.PID]
			if !seen {
				k = len(out.Processes)
				at[p.PID] = k
				out.Processes = append(out.Processes, Process{PID: int(p.PID), UsedMemoryBytes: -1, GPUInstance: -1, ComputeInstance: -1})
			}
			q := &out.Processes[k]
			if l.graphics {
				q.Graphics = true
			} else {
				q.Compute = true
			}
			if q.UsedMemoryBytes < 0 && p.UsedGPUMemory != ValueNotAvailable && p.UsedGPUMemory <= math.MaxInt64 {
				q.UsedMemoryBytes = int64(p.UsedGPUMemory)
			}
			if q.GPUInstance < 0 && p.GPUInstanceID != NoInstance {
				q.GPUInstance = int(p.GPUInstanceID)
			}
			if q.ComputeInstance < 0 && p.ComputeInstanceID != NoInstance {
				q.ComputeInstance = int(p.ComputeInstanceID)
			}
		}
	}
	if len(missing) == 2 {
		errs = append(errs, missing...)
	}
	slices.SortFunc(out.Processes, func(a, b Process) int { return a.PID - b.PID })
	out.Err = errors.Join(errs...)
	return out
}

// Inventory returns the GPUs of the host and the driver and CUDA versions,
// as taken at Open. The caller owns the result.
func (s *Sampler) Inventory() Inventory { return s.inv.clone() }

// Health returns, per sampled GPU in index order, the counts of reads,
// failures and energy-counter resets since Open.
func (s *Sampler) Health() []DeviceHealth {
	out := make([]DeviceHealth, len(s.devs))
	for i, d := range s.devs {
		out[i] = d.health()
	}
	return out
}

// Describe describes the sampled GPUs and the quality of their readings:
// whether the power is a 1-second average (the nvmlDeviceGetPowerUsage
// fallback), the measured sensor update period (from the ticks once they
// resolve it, else from the probe at Open), the slow cadence, values
// the GPUs do not support, and failures and energy-counter resets so far.
func (s *Sampler) Describe() sampler.Info {
	var info sampler.Info
	var notes noteSet
	for _, d := range s.devs {
		est := d.sensorPeriodNow()
		info.Devices = append(info.Devices, sampler.DeviceInfo{
			Device:        d.name,
			Kind:          sampler.KindGPU,
			Model:         d.model,
			PowerAveraged: d.power == powerUsage,
			SensorPeriod:  est.period,
		})
		switch d.power {
		case powerUsage:
			notes.add(d.name, "power is "+callPowerUsage+", which Ampere and later GPUs average over 1 s (NVML documentation), "+
				"so it lags and smooths the load; the energy counter is not affected ("+d.powerWhy+")")
		case powerNone:
			notes.add(d.name, "no power reading ("+d.powerWhy+")")
		}
		if d.energy == energyNone {
			notes.add(d.name, "no energy counter: energy can only be integrated from the power readings")
		}
		if d.energy == energyCounter {
			notes.add(d.name, "energy from "+callTotalEnergy+" (FI_DEV_TOTAL_ENERGY_CONSUMPTION unavailable)")
		}
		if d.events == eventsThrottle {
			notes.add(d.name, "clock-event reasons from the older "+callThrottle+" (the driver lacks "+callEventReasons+")")
		}
		switch {
		case est.from == "ticks":
			notes.add(d.name, fmt.Sprintf("power sensor updates every ~%v (the median time between %d updates the ticks saw): "+
				"a trace sampled more often repeats values", roundPeriod(est.period), est.updates))
		case est.from == "probe":
			notes.add(d.name, fmt.Sprintf("power sensor updates every ~%v (the median time between updates in a %v probe at Open): "+
				"a trace sampled more often repeats values", roundPeriod(est.period), s.probe))
		case est.reads > 0:
			// Before the first tick there is nothing to say yet: the ticks
			// measure the period (an H200's probe at Open often sees no
			// change at all).
			seen := fmt.Sprintf("%d time(s) in %d readings", est.changes, est.reads)
			if d.probed {
				seen = fmt.Sprintf("%d time(s) in the %v probe at Open and %s", d.probeDiff, s.probe, seen)
			}
			notes.add(d.name, "power sensor update period unknown: the reading changed "+seen+
				" (too few updates, or faster than the sampling resolves)")
		}
		var unsup []string
		for f := FieldUtilization; f < numFields; f++ {
			if d.unsupported[f].Load() {
				unsup = append(unsup, f.String())
			}
		}
		if len(unsup) > 0 {
			notes.add(d.name, "not supported, so absent: "+strings.Join(unsup, ", "))
		}
	}
	if len(s.devs) > 0 {
		if n := s.cadenceNote(); n != "" {
			notes.add("", n)
		}
	}
	info.Notes = append(slices.Clone(s.notes), notes.list()...)
	for _, d := range s.devs {
		h := d.health()
		if len(h.FieldErrors) > 0 {
			var parts []string
			var total int64
			for f := range numFields {
				if n := h.FieldErrors[f]; n > 0 {
					parts = append(parts, fmt.Sprintf("%s %d", f, n))
					total += n
				}
			}
			info.Notes = append(info.Notes, fmt.Sprintf("%s: %d failed read(s) of %d ticks (%s); %d tick(s) with no value at all; last: %v",
				d.name, total, h.Reads, strings.Join(parts, ", "), h.EmptyReads, h.LastError))
		}
		if h.EnergyResets > 0 {
			info.Notes = append(info.Notes, fmt.Sprintf("%s: the energy counter went backwards %d time(s) (driver reload or GPU reset); "+
				"EnergyJ continued from its last value, so the energy in between is missing", d.name, h.EnergyResets))
		}
	}
	return info
}

// cadenceNote says which values are read less often than every tick.
func (s *Sampler) cadenceNote() string {
	const slowValues = "clocks, temperature and clock-event reasons"
	energy := s.energy.every > 0 && slices.ContainsFunc(s.devs, func(d *device) bool { return d.energy != energyNone })
	var what string
	switch {
	case energy && s.slow.every == s.energy.every:
		what = fmt.Sprintf("the energy counter, %s are read every %v", slowValues, s.slow.every)
	case energy && s.slow.every > 0:
		what = fmt.Sprintf("the energy counter is read every %v, %s every %v", s.energy.every, slowValues, s.slow.every)
	case energy:
		what = fmt.Sprintf("the energy counter is read every %v", s.energy.every)
	case s.slow.every > 0:
		what = fmt.Sprintf("%s are read every %v", slowValues, s.slow.every)
	default:
		return ""
	}
	return what + ", just after a tick and reported with the next (at most one interval old); NaN on the ticks in between"
}

// roundPeriod rounds a measured period for a note: to 1 ms above 10 ms, to
// 0.1 ms below.
func roundPeriod(d time.Duration) time.Duration {
	if d >= 10*time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Microsecond)
}

// noteSet gathers notes, merging identical texts of several GPUs into one
// ("gpu0, gpu1: …"), in order of first appearance.
type noteSet struct {
	texts   []string
	devices map[string][]string
}

func (n *noteSet) add(device, text string) {
	if n.devices == nil {
		n.devices = make(map[string][]string)
	}
	if _, ok := n.devices[text]; !ok {
		n.texts = append(n.texts, text)
		n.devices[text] = nil
	}
	if device != "" {
		n.devices[text] = append(n.devices[text], device)
	}
}

func (n *noteSet) list() []string {
	out := make([]string, 0, len(n.texts))
	for _, t := range n.texts {
		if devs := n.devices[t]; len(devs) > 0 {
			out = append(out, strings.Join(devs, ", ")+": "+t)
		} else {
			out = append(out, t)
		}
	}
	return out
}
