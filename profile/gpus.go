package profile

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/internal/procfs"
	"github.com/benchprof/benchprof/sampler"
)

// How the GPUs of the energy figures were chosen (GPUSelection.How).
const (
	// GPUsOfEngine: the GPUs the engine's processes run on; the other
	// sampled GPUs are reported apart.
	GPUsOfEngine = "engine"
	// GPUsAll: every sampled GPU, because the engine's could not be told
	// (GPUSelection.Reason says why).
	GPUsAll = "all"
	// GPUsOption: the GPUs WithGPUs selected for sampling, all of them.
	GPUsOption = "option"
)

// GPUSelection says which GPUs the energy figures count, and how they were
// found. It is recorded in the envelope's driver_options.telemetry.
type GPUSelection struct {
	// How is GPUsOfEngine, GPUsAll or GPUsOption.
	How string
	// Reason says why every sampled GPU counts (GPUsAll): the engine is
	// remote, its processes are not visible from here, or no sampler can
	// list the processes on its GPUs.
	Reason string
	// EnginePIDs are the engine's processes found on this host: the
	// processes holding the socket listening on the base URL's port, and
	// their descendants and launchers (ancestors below the first one this
	// process shares), nil when not looked for or not found.
	EnginePIDs []int
	// GPUs lists every sampled GPU, in sampler order, with its sensor.
	GPUs []GPUInfo
}

// GPUInfo is one sampled GPU.
type GPUInfo struct {
	Sampler, Device, Model string
	// Counted: the energy figures count it (else it is reported apart:
	// power_avg_w_other_gpus, energy_joules_gpu_other_gpus).
	Counted bool
	// EnginePIDs are the engine's processes its sampler lists on it.
	EnginePIDs []int
	// PowerAveraged and SensorPeriod describe its power sensor, as its
	// sampler measured it (sampler.DeviceInfo): a 1 s moving average or the
	// instant field, and the measured update period (0 unknown), as the
	// sampler knows it after the run (sampler/nvml measures it at Open and
	// from its ticks).
	PowerAveraged bool
	SensorPeriod  time.Duration
}

// refreshSensors updates each GPU's SensorPeriod from its sampler's
// Describe: a sampler may measure the period better from the run's
// readings than it could when it opened.
func (s *GPUSelection) refreshSensors(t *telemetry) {
	for _, smp := range t.samplers {
		d, ok := smp.Sampler.(sampler.Describer)
		if !ok {
			continue
		}
		for _, di := range d.Describe().Devices {
			for i := range s.GPUs {
				if g := &s.GPUs[i]; g.Sampler == smp.Sampler.Name() && g.Device == di.Device && di.SensorPeriod > 0 {
					g.SensorPeriod = di.SensorPeriod
				}
			}
		}
	}
}

// counted returns the GPUs to give energy.WithGPUs: nil when every GPU
// counts.
func (s *GPUSelection) counted() []energy.DeviceID {
	if s.How != GPUsOfEngine {
		return nil
	}
	var out []energy.DeviceID
	for _, g := range s.GPUs {
		if g.Counted {
			out = append(out, energy.DeviceID{Sampler: g.Sampler, Device: g.Device})
		}
	}
	return out
}

// selectGPUs finds the GPUs the engine runs on, when it runs on this host:
// the processes of the listener of the base URL's port (procfs under the
// system root), their descendants and launchers, then the GPUs the samplers that
// implement sampler.ProcessLister list them on. It falls back to every
// sampled GPU, saying why, when the engine is remote, cannot be seen in
// /proc (another network or PID namespace, another user's process), or
// none of its processes is listed on a GPU. WithGPUs overrides it all.
func (c *config) selectGPUs(t *telemetry) *GPUSelection {
	sel := &GPUSelection{How: GPUsAll}
	var listers []struct {
		name string
		l    sampler.ProcessLister
	}
	for _, s := range t.samplers {
		d, ok := s.Sampler.(sampler.Describer)
		if !ok {
			continue
		}
		hasGPU := false
		for _, di := range d.Describe().Devices {
			if di.Kind == sampler.KindGPU {
				hasGPU = true
				sel.GPUs = append(sel.GPUs, GPUInfo{Sampler: s.Sampler.Name(), Device: di.Device, Model: di.Model, Counted: true,
					PowerAveraged: di.PowerAveraged, SensorPeriod: di.SensorPeriod})
			}
		}
		if l, ok := s.Sampler.(sampler.ProcessLister); ok && hasGPU {
			listers = append(listers, struct {
				name string
				l    sampler.ProcessLister
			}{s.Sampler.Name(), l})
		}
	}
	switch {
	case c.uses("WithGPUs"):
		sel.How = GPUsOption
		return sel
	case len(sel.GPUs) == 0:
		sel.Reason = "no sampler describes a GPU"
		return sel
	}
	pids, why := c.enginePIDs()
	sel.EnginePIDs = pids
	if why != "" {
		sel.Reason = why
		return sel
	}
	if len(listers) == 0 {
		sel.Reason = "no GPU sampler can list the processes running on its GPUs (sampler.ProcessLister)"
		return sel
	}
	engine := map[energy.DeviceID][]int{}
	var errs []string
	for _, l := range listers {
		dps, err := l.l.DeviceProcesses()
		if err != nil {
			errs = append(errs, l.name+": "+err.Error())
			continue
		}
		for _, dp := range dps {
			if dp.Err != nil && len(dp.PIDs) == 0 {
				errs = append(errs, l.name+": "+dp.Device+": "+dp.Err.Error())
			}
			for _, pid := range dp.PIDs {
				if _, found := slices.BinarySearch(pids, pid); found {
					id := energy.DeviceID{Sampler: l.name, Device: dp.Device}
					engine[id] = append(engine[id], pid)
				}
			}
		}
	}
	if len(engine) == 0 {
		sel.Reason = fmt.Sprintf("none of the engine's processes (pid %s) is listed on a sampled GPU", pidList(pids))
		if nested, ok := procfs.NestedPIDNamespace(c.sysRoot); ok && nested {
			sel.Reason += "; this process runs in a nested PID namespace (a container), where the PIDs the GPU driver reports are the host's, not these"
		}
		if len(errs) > 0 {
			sel.Reason += "; the GPUs' process lists could not all be read: " + strings.Join(errs, "; ")
		}
		return sel
	}
	sel.How = GPUsOfEngine
	for i := range sel.GPUs {
		g := &sel.GPUs[i]
		g.EnginePIDs = engine[energy.DeviceID{Sampler: g.Sampler, Device: g.Device}]
		g.Counted = len(g.EnginePIDs) > 0
	}
	return sel
}

// enginePIDs returns the engine's processes on this host: those holding a
// socket that listens on the base URL's port, their descendants, and
// their ancestors below the first one that is also this process's (or
// PID 1); or why they cannot be found.
func (c *config) enginePIDs() ([]int, string) {
	u, err := url.Parse(c.baseURL)
	if err != nil {
		return nil, "the base URL does not parse: " + err.Error()
	}
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Sprintf("the base URL's port %q is not a number", port)
	}
	if why := notThisHost(host); why != "" {
		return nil, why
	}
	inodes, err := procfs.ListenInodes(c.sysRoot, p)
	if err != nil {
		return nil, "the listening sockets cannot be read: " + err.Error()
	}
	if len(inodes) == 0 {
		return nil, fmt.Sprintf("no socket listens on port %d in this network namespace (the engine runs in another container or network namespace, or behind a proxy)", p)
	}
	own, err := procfs.SocketOwners(c.sysRoot, inodes)
	if err != nil {
		return nil, "the processes cannot be read: " + err.Error()
	}
	if len(own.PIDs) == 0 {
		why := fmt.Sprintf("a socket listens on port %d, but no process visible here holds it (the engine runs in another PID namespace", p)
		if own.Unreadable > 0 {
			why += fmt.Sprintf(", or as another user: %d processes' descriptors were not readable", own.Unreadable)
		}
		return nil, why + ")"
	}
	tree, err := procfs.Tree(c.sysRoot, own.PIDs)
	if err != nil {
		return own.PIDs, "the process tree cannot be read: " + err.Error()
	}
	// The listener's launchers too (a wrapper that holds the GPU, a
	// supervisor whose PID the driver lists), but not the processes this
	// one descends from: a shell that started both is not the engine.
	ours := map[int]bool{}
	if self, ok := procfs.Self(c.sysRoot); ok {
		ours[self] = true
		for _, p := range procfs.Ancestors(c.sysRoot, self, nil) {
			ours[p] = true
		}
	}
	for _, pid := range own.PIDs {
		if !ours[pid] {
			tree = append(tree, procfs.Ancestors(c.sysRoot, pid, ours)...)
		}
	}
	slices.Sort(tree)
	return slices.Compact(tree), ""
}

// notThisHost says why host is not this host ("" when it is): a loopback
// or unspecified address, "localhost", this host's name, or one of its
// interfaces' addresses. Names are not resolved.
func notThisHost(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return ""
	}
	if ip := net.ParseIP(h); ip != nil {
		if ip.IsLoopback() || ip.IsUnspecified() {
			return ""
		}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok && n.IP.Equal(ip) {
					return ""
				}
			}
		}
		return fmt.Sprintf("the engine at %s is remote: not an address of this host", host)
	}
	if name, err := os.Hostname(); err == nil && strings.EqualFold(strings.TrimSuffix(name, "."), h) {
		return ""
	}
	return fmt.Sprintf("the engine's host %q is neither a loopback address, this host's name nor one of its addresses (names are not resolved): taken as remote", host)
}

func pidList(pids []int) string {
	s := make([]string, len(pids))
	for i, p := range pids {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ", ")
}
