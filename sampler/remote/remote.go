package remote

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// Name is the name of every remote Sampler.
const Name = "remote"

// ErrClosed is returned by Sample after Close.
var ErrClosed = errors.New("remote: sampler closed")

// Compile-time conformance.
var (
	_ sampler.Sampler   = (*Sampler)(nil)
	_ sampler.Describer = (*Sampler)(nil)
)

// Sampler scrapes the Prometheus text endpoints of dcgm-exporter and
// node_exporter on other hosts. Build it with Open.
//
// Sample follows the sampler.Sampler contract: the scheduler calls it from
// one goroutine (concurrent calls are serialized). Describe and Stats are
// safe for concurrent use with Sample and with each other. Close is
// idempotent and waits for a Sample in progress.
type Sampler struct {
	targets   []*target
	client    *http.Client
	ownClient bool
	timeout   time.Duration
	workers   int

	sampleMu sync.Mutex // serializes Sample

	mu       sync.Mutex // guards everything below, and targets' stats
	closed   bool
	inflight sync.WaitGroup
	energy   map[string]*counter
	info     sampler.Info
}

// target is one endpoint.
type target struct {
	url  string // as given to Open
	host string // device-name prefix, fixed by Open
	buf  bytes.Buffer

	scrapes, failures int64
	lastErr           error
	lastDur           time.Duration
}

// counter makes one device's energy counter monotonic.
type counter struct {
	last, offset float64
	resets       int64
}

// Open checks targets and opts, then scrapes every target once, within
// ctx, to validate it and to fix each target's host name. Each target is an
// absolute http or https URL of an exporter's metrics endpoint:
// http://host:9400/metrics for dcgm-exporter, http://host:9100/metrics for
// node_exporter; a target may expose both kinds of series.
//
// Device names are "<host>/gpu<N>" (N from dcgm-exporter's gpu label),
// "<host>/package-<N>" and "<host>/dram-<N>" (N from node_exporter's index
// label). The host of a target is the Hostname (or hostname) label of its
// GPU series if they carry one, otherwise the URL's host[:port]. If two
// targets' labels name the same host, both use their URL's host[:port]
// instead, and Describe says so; names that still collide are an error
// wrapping ErrInvalidTarget.
//
// Invalid targets or options fail with errors wrapping ErrInvalidTarget or
// ErrInvalidOption. A target that cannot be scraped (unreachable, an HTTP
// error status, a timeout, malformed exposition, or no device: see
// ErrNoDevices) fails Open with an error wrapping sampler.ErrUnavailable and
// a *TargetError naming it; all failing targets are reported, joined.
func Open(ctx context.Context, targets []string, opts ...Option) (*Sampler, error) {
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("%w: no target", ErrInvalidTarget)
	}
	s := &Sampler{
		client:  c.client,
		timeout: c.scrapeTimeout,
		workers: min(c.maxConcurrent, len(targets)),
		energy:  map[string]*counter{},
	}
	var errs []error
	seen := map[string]bool{}
	for _, raw := range targets {
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%w: %q: %w", ErrInvalidTarget, raw, err))
			continue
		case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
			errs = append(errs, fmt.Errorf("%w: %q: want an absolute http or https URL such as http://host:9400/metrics", ErrInvalidTarget, raw))
			continue
		case seen[raw]:
			errs = append(errs, fmt.Errorf("%w: %q listed twice", ErrInvalidTarget, raw))
			continue
		}
		seen[raw] = true
		s.targets = append(s.targets, &target{url: raw, host: u.Host})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if s.client == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		s.client = &http.Client{Transport: tr}
		s.ownClient = true
	}

	results := s.scrapeAll(ctx)
	if err := ctx.Err(); err != nil {
		s.closeIdle()
		return nil, fmt.Errorf("remote: open: %w", err)
	}
	for i, t := range s.targets {
		t.scrapes++
		t.lastDur = results[i].dur
		if err := results[i].err; err != nil {
			t.failures++
			t.lastErr = err
			errs = append(errs, fmt.Errorf("%w: %w", sampler.ErrUnavailable, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		s.closeIdle()
		return nil, err
	}
	if err := s.nameHosts(results); err != nil {
		s.closeIdle()
		return nil, err
	}
	s.describe(results)
	for i, t := range s.targets {
		for _, d := range results[i].exp.devices {
			s.correct(t.host+"/"+d.Name, d.Reading.EnergyJ)
		}
	}
	return s, nil
}

// nameHosts fixes each target's host: its GPU series' host label unless
// that collides with another target's.
func (s *Sampler) nameHosts(results []scrapeResult) error {
	claims := map[string]int{}
	for i := range s.targets {
		if h := results[i].exp.host; h != "" {
			claims[h]++
		}
	}
	for i, t := range s.targets {
		h := results[i].exp.host
		switch {
		case h == "":
		case claims[h] > 1:
			s.info.Notes = append(s.info.Notes, fmt.Sprintf(
				"%s: host label %q is shared by %d targets; its devices are named after the URL's host %q instead",
				t.url, h, claims[h], t.host))
		default:
			t.host = h
		}
	}
	byHost := map[string]string{}
	var errs []error
	for _, t := range s.targets {
		if other, ok := byHost[t.host]; ok {
			errs = append(errs, fmt.Errorf("%w: %q and %q both name host %q", ErrInvalidTarget, other, t.url, t.host))
			continue
		}
		byHost[t.host] = t.url
	}
	return errors.Join(errs...)
}

// describe fills s.info from Open's scrape.
func (s *Sampler) describe(results []scrapeResult) {
	var dcgmHosts []string
	for i, t := range s.targets {
		e := results[i].exp
		for _, d := range e.devices {
			s.info.Devices = append(s.info.Devices, sampler.DeviceInfo{
				Device: t.host + "/" + d.Name,
				Kind:   d.Reading.Kind,
				Model:  d.Model,
			})
		}
		if e.dcgm {
			dcgmHosts = append(dcgmHosts, t.host)
		}
	}
	if len(dcgmHosts) > 0 {
		s.info.Notes = append(s.info.Notes,
			fmt.Sprintf("dcgm-exporter (%s): values change only every --collect-interval of the exporter (30 s by default); set it at or below the sampling interval, or readings repeat", strings.Join(dcgmHosts, ", ")),
			"dcgm-exporter: PowerW is DCGM_FI_DEV_POWER_USAGE, NVML's power reading, a 1-second average on Ampere and later GPUs",
		)
	}
	s.info.Notes = append(s.info.Notes,
		"remote: a decreasing energy counter is taken as a reset or wrap and EnergyJ continues from its last value; the energy between the last reading and the wrap is lost (see Stats.CounterResets)")
}

// Name returns Name ("remote").
func (s *Sampler) Name() string { return Name }

// Describe returns the devices found by Open's scrape, with GPU models
// from dcgm-exporter's modelName label, and notes on what the readings
// mean. A later scrape may lack some of these devices (see Sample).
func (s *Sampler) Describe() sampler.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sampler.Info{Devices: slices.Clone(s.info.Devices), Notes: slices.Clone(s.info.Notes)}
}

// Sample scrapes every target concurrently (at most the
// WithMaxConcurrentScrapes bound at a time, each within the scrape timeout
// and ctx) and appends one DeviceReading per device found, target by target
// in Open's order; within a target, GPUs, then CPU packages, then DRAM, each
// by index. Fields an exporter does not expose are NaN; EnergyJ is made
// monotonic per device across resets and wraps.
//
// A target that fails (see Open for the ways) is counted in Stats and its
// devices are absent for the tick, as is a device missing from its
// target's scrape; Sample then still succeeds. Only when every target
// fails does it return an error, joining theirs. If ctx is done, Sample
// returns an error wrapping ctx's error and counts nothing.
func (s *Sampler) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return dst, ErrClosed
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	defer s.inflight.Done()

	results := s.scrapeAll(ctx)
	if err := ctx.Err(); err != nil {
		return dst, fmt.Errorf("remote: sample: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for i, t := range s.targets {
		res := results[i]
		t.scrapes++
		t.lastDur = res.dur
		if res.err != nil {
			t.failures++
			t.lastErr = res.err
			errs = append(errs, res.err)
			continue
		}
		for _, d := range res.exp.devices {
			r := d.Reading
			r.Device = t.host + "/" + d.Name
			r.EnergyJ = s.correct(r.Device, r.EnergyJ)
			dst = append(dst, r)
		}
	}
	if len(errs) == len(s.targets) {
		return dst, fmt.Errorf("remote: all %d targets failed: %w", len(errs), errors.Join(errs...))
	}
	return dst, nil
}

// correct returns device's energy counter made monotonic: a value below
// the previous one is a reset (or a wrap), and the counter goes on from the
// previous value. Absent values pass through and leave the state alone.
// s.mu must be held, or s not yet shared.
func (s *Sampler) correct(device string, raw float64) float64 {
	if !sampler.Has(raw) {
		return raw
	}
	c := s.energy[device]
	if c == nil {
		s.energy[device] = &counter{last: raw}
		return raw
	}
	if raw < c.last {
		c.offset += c.last
		c.resets++
	}
	c.last = raw
	return c.offset + raw
}

// Stats is the sampler's account of its targets since Open, Open's own
// scrape included.
type Stats struct {
	Targets []TargetStats
	// CounterResets counts, per device with at least one, the decreases
	// of its energy counter that were taken as resets or wraps.
	CounterResets map[string]int64
}

// TargetStats is the account of one target.
type TargetStats struct {
	// Target is the URL as given to Open; Host the prefix of its devices'
	// names.
	Target string
	Host   string
	// Scrapes counts the scrapes attempted, Failures those that failed.
	Scrapes  int64
	Failures int64
	// LastErr is the most recent failure (a *TargetError), nil if none.
	LastErr error
	// LastDuration is how long the most recent scrape took.
	LastDuration time.Duration
}

// Stats returns a snapshot of the sampler's counts.
func (s *Sampler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{CounterResets: map[string]int64{}}
	for _, t := range s.targets {
		st.Targets = append(st.Targets, TargetStats{
			Target: t.url, Host: t.host,
			Scrapes: t.scrapes, Failures: t.failures,
			LastErr: t.lastErr, LastDuration: t.lastDur,
		})
	}
	for _, dev := range slices.Sorted(maps.Keys(s.energy)) {
		if n := s.energy[dev].resets; n > 0 {
			st.CounterResets[dev] = n
		}
	}
	return st
}

// Close waits for a Sample in progress, then releases the sampler's idle
// connections (those of its own client; a client given with WithHTTPClient
// is left alone). It is idempotent and always returns nil; Sample fails with
// ErrClosed after it.
func (s *Sampler) Close() error {
	s.mu.Lock()
	already := s.closed
	s.closed = true
	s.mu.Unlock()
	s.inflight.Wait()
	if !already {
		s.closeIdle()
	}
	return nil
}

func (s *Sampler) closeIdle() {
	if s.ownClient {
		s.client.CloseIdleConnections()
	}
}
