package prometheus

import (
	"cmp"
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

	"github.com/prometheus/common/model"

	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/internal/exporters"
)

// Name is the name of every Prometheus Sampler.
const Name = "prometheus"

// ErrClosed is returned by Sample and WindowEnergy after Close.
var ErrClosed = errors.New("prometheus: sampler closed")

// ErrNoSeries is wrapped by Open's error when Prometheus has scraped all
// its targets and no series matches the selectors.
var ErrNoSeries = errors.New("no dcgm-exporter GPU or node_exporter RAPL series matches the selectors")

// Compile-time conformance.
var (
	_ sampler.Sampler            = (*Sampler)(nil)
	_ sampler.Describer          = (*Sampler)(nil)
	_ sampler.WindowEnergyReader = (*Sampler)(nil)
)

// openLookback is how far back Open looks for the selected series: long
// enough to see a dcgm-exporter that holds values for its default 30 s
// collection interval change twice.
const openLookback = 2 * time.Minute

// maxRange bounds the range a Sample asks for (Prometheus's own lookback).
const maxRange = 5 * time.Minute

// Sampler reads dcgm-exporter and node_exporter series from a Prometheus
// server. Build it with Open.
//
// Sample follows the sampler.Sampler contract: the scheduler calls it from
// one goroutine (concurrent calls are serialized). Describe, Stats and
// WindowEnergy are safe for concurrent use with Sample and with each
// other. Close is idempotent and waits for a call in progress.
type Sampler struct {
	base      string
	c         *client
	ownClient bool
	now       func() time.Time
	poll      time.Duration
	groups    []*group
	devices   []*device // in reading order, fixed by Open

	sampleMu sync.Mutex // serializes Sample

	mu       sync.Mutex // guards everything below and the groups' series
	closed   bool
	inflight sync.WaitGroup
	info     sampler.Info
	noted    map[string]bool // notes added after Open, once each
	queries  int64
	failures int64
	lastErr  error
	lastDur  time.Duration
	stale    map[string]int64
}

// group is one selector and the metrics it selects.
type group struct {
	what    string // "GPU", "RAPL"
	metrics []string
	energy  []string // the energy counters among metrics
	sel     selector // as given
	used    selector // the form that matched
	matched bool
	gone    string // why a form that matched series was not used
	// series are the selected series by key, fixed by Open.
	series  map[string]*series
	lastQry int64 // Unix ms of the last successful query
}

// device is one device read, with the series that feed it (in the order
// their values count: whole-GPU series first, then by labels).
type device struct {
	name   string
	kind   sampler.Kind
	model  string
	host   string
	series []*series
	energy *series // the energy counter read, nil if none
	// last is the last EnergyJ reported, NaN before the first.
	last float64
}

// Open checks baseURL and opts, then waits, within ctx and the start
// timeout (WithStartTimeout), until the Prometheus server at baseURL is
// ready, has scraped the targets of the selected series at least once, and
// holds each selected energy counter's slope: two changes of its value
// after its first sample (a first sample may fall anywhere within a
// period the exporter holds a value; on a Prometheus that has run for a
// minute the samples are already there). It then fixes the
// devices read for the sampler's life.
//
// baseURL is the server's root, an absolute http or https URL such as
// http://prometheus.monitoring:9090 (with its path prefix if it serves
// under one). At least one of WithGPUSelector and WithNodeSelector says
// which series to read.
//
// Devices are named "<host>/gpu<N>" (N from dcgm-exporter's gpu label),
// "<host>/package-<N>" and "<host>/dram-<N>" (N from node_exporter's index
// label), as sampler/remote names them. The host of a GPU is its series'
// Hostname (or hostname) label, else its node label, else its instance
// label; the host of a RAPL zone is its series' node label, else its
// instance label. Of several series feeding one device's field (a GPU
// scraped by two jobs, MIG instances), a whole-GPU series counts first,
// then the first by labels; Describe says so.
//
// Invalid options or base URL fail with errors wrapping ErrInvalidOption. A
// server that cannot be reached or is not ready in time, or whose series
// match no selector once every target has been scraped (ErrNoSeries),
// fails Open with an error wrapping sampler.ErrUnavailable that says what
// was missing. A selector the server rejects fails with an *APIError.
func Open(ctx context.Context, baseURL string, opts ...Option) (*Sampler, error) {
	c, err := newConfig(opts)
	u, uerr := url.Parse(baseURL)
	switch {
	case uerr != nil:
		err = errors.Join(err, fmt.Errorf("%w: base URL %q: %w", ErrInvalidOption, baseURL, uerr))
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.RawQuery != "", u.Fragment != "":
		err = errors.Join(err, fmt.Errorf("%w: base URL %q: want an absolute http or https URL without query, such as http://prometheus:9090", ErrInvalidOption, baseURL))
	}
	if err != nil {
		return nil, err
	}
	s := &Sampler{
		base:  baseURL,
		now:   c.now,
		poll:  c.poll,
		noted: map[string]bool{},
		stale: map[string]int64{},
		c:     &client{base: u, http: c.client, timeout: c.queryTimeout},
	}
	if s.c.http == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		s.c.http = &http.Client{Transport: tr}
		s.ownClient = true
	}
	if c.gpuSet {
		sel, _ := parseSelector(c.gpuSel)
		g := &group{what: "GPU", sel: sel, energy: []string{exporters.GPUEnergyMetric}}
		for _, f := range exporters.GPUFields {
			g.metrics = append(g.metrics, f.Metric)
		}
		s.groups = append(s.groups, g)
	}
	if c.nodeSet {
		sel, _ := parseSelector(c.nodeSel)
		s.groups = append(s.groups, &group{what: "RAPL", sel: sel, metrics: exporters.RAPLMetrics, energy: exporters.RAPLMetrics})
	}
	wctx, cancel := context.WithTimeout(ctx, c.startTimeout)
	defer cancel()
	if err := s.start(wctx, c.startTimeout); err != nil {
		s.closeIdle()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("prometheus: open: %w", ctx.Err())
		}
		return nil, err
	}
	return s, nil
}

// start polls the server until the selected series can be read (see
// Open), then fixes the devices.
func (s *Sampler) start(ctx context.Context, timeout time.Duration) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	why := "no answer"
	for {
		done, w, err := s.tryStart(ctx)
		if err != nil || done {
			return err
		}
		if ctx.Err() == nil || why == "no answer" {
			why = w // not an attempt the deadline cut short
		}
		timer.Reset(s.poll)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: prometheus %s: not ready within %v: %s", sampler.ErrUnavailable, s.base, timeout, why)
		case <-timer.C:
		}
	}
}

// tryStart makes one attempt at start's checks: done when the series can
// be read, else why not.
func (s *Sampler) tryStart(ctx context.Context) (done bool, why string, err error) {
	ok, status, err := s.c.ready(ctx)
	switch {
	case err != nil:
		return false, "not reachable: " + err.Error(), nil
	case !ok:
		return false, "/-/ready answers " + status, nil
	}
	now := s.now()
	found := map[*group][]*series{}
	for _, g := range s.groups {
		ss, form, err := s.match(ctx, g, now)
		if err != nil {
			if isFatal(err) {
				return false, "", err
			}
			return false, "query failed: " + err.Error(), nil
		}
		if ss != nil {
			found[g] = ss
			g.used = form
		}
	}
	// Every target of the jobs the series come from (of every job while
	// a selector matches nothing) must have been scraped once: Prometheus
	// answers /-/ready before its first scrapes land.
	jobs := map[string]bool{}
	for _, ss := range found {
		for _, sr := range ss {
			jobs[sr.label("job")] = true
		}
	}
	allJobs := len(found) < len(s.groups)
	targets, terr := s.c.targets(ctx)
	switch {
	case terr != nil && isFatal(terr):
		// The targets API is not served (a proxy, a Prometheus-compatible
		// store): fall back to waiting for every selector to match.
		targets = nil
	case terr != nil:
		return false, "targets: " + terr.Error(), nil
	case len(targets) == 0:
		return false, "no active scrape target yet (service discovery has not run)", nil
	}
	var unscraped []string
	for _, t := range targets {
		if t.Health == "unknown" && (allJobs || jobs[t.Labels["job"]]) {
			unscraped = append(unscraped, t.Labels["job"]+"/"+t.Labels["instance"])
		}
	}
	if len(unscraped) > 0 {
		slices.Sort(unscraped)
		return false, fmt.Sprintf("%d targets not scraped yet (%s)", len(unscraped), strings.Join(unscraped, ", ")), nil
	}
	if len(found) == 0 {
		why := s.unmatched(found)
		if terr == nil {
			return false, "", fmt.Errorf("%w: %w: %s", sampler.ErrUnavailable, ErrNoSeries, why)
		}
		return false, why, nil
	}
	if terr != nil && len(found) < len(s.groups) {
		return false, s.unmatched(found), nil
	}
	for _, ss := range found {
		for _, sr := range ss {
			if _, ok := sr.slope(); sr.counter && !sr.stale(now.UnixMilli()) && !ok {
				return false, fmt.Sprintf("waiting for %s to change twice after its first sample, to know its slope (%d samples, %d changes so far)", sr.key, sr.samples, len(sr.pts)-1), nil
			}
		}
	}
	s.fix(found, now)
	return true, "", nil
}

// isFatal reports whether err is the server's refusal of a request (a bad
// selector, an endpoint it does not serve) rather than a transient
// failure.
func isFatal(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && (ae.Type == "bad_data" || ae.StatusCode == http.StatusNotFound ||
		ae.StatusCode == http.StatusBadRequest || ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden)
}

// unmatched says which selectors match nothing.
func (s *Sampler) unmatched(found map[*group][]*series) string {
	var parts []string
	for _, g := range s.groups {
		if found[g] == nil {
			parts = append(parts, s.unmatchedOne(g)+" of "+strings.Join(g.metrics, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// match queries g's series over the lookback, with its selector as given
// and, failing that, with the exported_ form. It returns the series that
// feed a device, with the form that matched, or nil if none does.
func (s *Sampler) match(ctx context.Context, g *group, now time.Time) ([]*series, selector, error) {
	forms := []selector{g.sel}
	if exp, renamed := g.sel.exported(); len(renamed) > 0 {
		forms = append(forms, exp)
	}
	for _, form := range forms {
		raw, _, err := s.c.querySamples(ctx, form.vector(g.metrics)+rangeOf(openLookback), now)
		if err != nil {
			return nil, nil, err
		}
		var out []*series
		live := false
		for _, rs := range raw {
			if sr := newSeries(g, rs, false); sr != nil {
				out = append(out, sr)
				live = live || !sr.stale(now.UnixMilli())
			}
		}
		if live {
			return out, form, nil
		}
		if len(out) > 0 {
			g.gone = fmt.Sprintf("{%s} matches only series that have stopped (the last %s ago)", form, now.Sub(time.UnixMilli(lastSample(out))).Round(time.Second))
		}
	}
	return nil, nil, nil
}

// lastSample returns the time (Unix ms) of the latest sample of ss.
func lastSample(ss []*series) int64 {
	var t int64
	for _, sr := range ss {
		t = max(t, sr.lastT)
	}
	return t
}

// newSeries returns the series of rs if it feeds a device, with its
// samples added; nil otherwise.
func newSeries(g *group, rs rawSeries, keepAll bool) *series {
	metric := string(rs.metric[model.MetricNameLabel])
	lbl := func(name string) string { return string(rs.metric[model.LabelName(name)]) }
	t, ok := exporters.Classify(metric, lbl)
	if !ok {
		return nil
	}
	host := exporters.HostLabel(lbl)
	if g.what != "GPU" {
		host = ""
	}
	host = cmp.Or(host, lbl("node"), lbl("instance"), "unknown")
	sr := &series{
		metric:  metric,
		labels:  rs.metric,
		key:     rs.key,
		target:  t,
		device:  host + "/" + t.Name,
		counter: slices.Contains(g.energy, metric),
		keepAll: keepAll,
	}
	sr.add(rs.samples)
	return sr
}

// rangeOf renders d as a PromQL range, to the millisecond.
func rangeOf(d time.Duration) string {
	return fmt.Sprintf("[%dms]", max(d.Milliseconds(), 1))
}

// fix fixes the groups' series and the devices from Open's query at now.
func (s *Sampler) fix(found map[*group][]*series, now time.Time) {
	nowMs := now.UnixMilli()
	byName := map[string]*device{}
	var dupes []string
	for _, g := range s.groups {
		g.series = map[string]*series{}
		g.lastQry = nowMs
		ss := found[g]
		if ss == nil {
			s.info.Notes = append(s.info.Notes, fmt.Sprintf("prometheus %s: %s: no %s reading", s.base, s.unmatchedOne(g), g.what))
			continue
		}
		g.matched = true
		note := fmt.Sprintf("prometheus %s: %s series selected by {%s}", s.base, g.what, g.used)
		if !slices.Equal(g.used, g.sel) {
			_, renamed := g.sel.exported()
			note += fmt.Sprintf(", matched on %s: {%s} matched nothing, as Prometheus renamed the exporter's own labels (a scrape that adds target labels of the same name without honoring the exporter's, such as a ServiceMonitor without honorLabels)", strings.Join(renamed, ", "), g.sel)
		}
		s.info.Notes = append(s.info.Notes, note)
		// Whole-GPU series first, then by labels: the order in which a
		// field's values count.
		slices.SortFunc(ss, func(a, b *series) int {
			return cmp.Or(cmp.Compare(b2i(a.target.Instance != ""), b2i(b.target.Instance != "")), cmp.Compare(a.key, b.key))
		})
		var gone []string
		for _, sr := range ss {
			if sr.stale(nowMs) {
				gone = append(gone, fmt.Sprintf("%s (last sample %.0f s ago)", sr.key, float64(nowMs-sr.lastT)/1000))
				continue
			}
			g.series[sr.key] = sr
			d := byName[sr.device]
			if d == nil {
				d = &device{name: sr.device, kind: sr.target.Kind, last: sampler.Absent(),
					host: strings.TrimSuffix(sr.device, "/"+sr.target.Name)}
				byName[sr.device] = d
			}
			if d.model == "" {
				d.model = sr.label("modelName")
			}
			d.series = append(d.series, sr)
			if sr.counter {
				if d.energy == nil {
					d.energy = sr
				} else {
					dupes = append(dupes, fmt.Sprintf("%s: %s (read) and %s", d.name, d.energy.key, sr.key))
				}
			}
		}
		if len(gone) > 0 {
			s.info.Notes = append(s.info.Notes, fmt.Sprintf("prometheus: left out, as they have missed scrapes: %s", strings.Join(gone, "; ")))
		}
	}
	for _, d := range byName {
		s.devices = append(s.devices, d)
	}
	slices.SortFunc(s.devices, func(a, b *device) int {
		return cmp.Or(
			cmp.Compare(b2i(a.kind != sampler.KindGPU), b2i(b.kind != sampler.KindGPU)), // GPUs first
			cmp.Compare(a.host, b.host),
			cmp.Compare(exporters.KindOrder(a.kind), exporters.KindOrder(b.kind)),
			cmp.Compare(a.series[0].target.Index, b.series[0].target.Index))
	})
	var hosts []string
	for _, d := range s.devices {
		s.info.Devices = append(s.info.Devices, sampler.DeviceInfo{Device: d.name, Kind: d.kind, Model: d.model})
		if d.kind == sampler.KindGPU && !slices.Contains(hosts, d.host) {
			hosts = append(hosts, d.host)
		}
	}
	if len(dupes) > 0 {
		s.info.Notes = append(s.info.Notes, "prometheus: several energy series feed one device; the first is read: "+strings.Join(dupes, "; "))
	}
	if len(hosts) > 0 {
		s.info.Notes = append(s.info.Notes,
			"dcgm-exporter: PowerW is DCGM_FI_DEV_POWER_USAGE, NVML's power reading, a 1-second average on Ampere and later GPUs")
	}
	s.info.Notes = append(s.info.Notes, fmt.Sprintf(
		"prometheus: EnergyJ is each device's energy counter as Prometheus sampled it (%s), extrapolated from its last two values to the reading's time and corrected for resets (Stats.CounterResets); WindowEnergy gives a window's energy from the samples on both sides of its edges",
		s.spacings()))
	for _, d := range s.devices {
		s.noteHeld(d)
	}
}

func (s *Sampler) unmatchedOne(g *group) string {
	p := fmt.Sprintf("%s selector {%s} matches no series", g.what, g.sel)
	if _, renamed := g.sel.exported(); len(renamed) > 0 {
		p += fmt.Sprintf(" (nor with %s)", strings.Join(renamed, ", "))
	}
	if g.gone != "" {
		p += " being scraped: " + g.gone
	}
	return p
}

// spacings describes the sample intervals of the energy series.
func (s *Sampler) spacings() string {
	seen := map[int64]bool{}
	for _, d := range s.devices {
		if d.energy != nil {
			seen[d.energy.spacing()] = true
		}
	}
	var parts []string
	for _, sp := range slices.Sorted(maps.Keys(seen)) {
		parts = append(parts, fmt.Sprintf("every %v", time.Duration(sp)*time.Millisecond))
	}
	if len(parts) == 0 {
		return "no energy counter"
	}
	return strings.Join(parts, ", ")
}

// noteHeld adds a note, once per device, when its energy counter is held
// between the exporter's collections. s.mu must be held, or s not yet
// shared.
func (s *Sampler) noteHeld(d *device) {
	if d.energy == nil || s.noted["held "+d.name] {
		return
	}
	if held := d.energy.heldFor(); held > 0 {
		s.noted["held "+d.name] = true
		s.info.Notes = append(s.info.Notes, heldNote(d.name, d.energy))
	}
}

func heldNote(dev string, sr *series) string {
	return fmt.Sprintf("%s: the exporter updates the energy counter only about every %v while Prometheus samples it every %v (dcgm-exporter's --collect-interval is coarser than the scrape interval): values are taken when they first appear, so readings and window edges may be off by up to a scrape interval's energy; set --collect-interval at or below the scrape interval",
		dev, time.Duration(sr.heldFor())*time.Millisecond, time.Duration(sr.spacing())*time.Millisecond)
}

// Name returns Name ("prometheus").
func (s *Sampler) Name() string { return Name }

// Describe returns the devices fixed by Open, with GPU models from
// dcgm-exporter's modelName label, and notes on what the readings mean:
// which selector form matched, the sample intervals, a counter that the
// exporter updates less often than it is scraped (noted when first seen).
func (s *Sampler) Describe() sampler.Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sampler.Info{Devices: slices.Clone(s.info.Devices), Notes: slices.Clone(s.info.Notes)}
}

// Sample queries the samples each group's series gained since the last
// query (one range-selector query per selector, concurrently, each within
// the query timeout and ctx), and appends one DeviceReading per device
// Open fixed, in Describe's order.
//
// PowerW and the other gauges are their series' last samples. EnergyJ is
// the device's energy counter at the time of the query: its corrected
// curve (see the package documentation) extrapolated from its last two
// values, by at most 1.5 sample intervals past its last sample; it never
// decreases. A field whose series has missed two scrapes is NaN, and a
// device with no field left is absent for the tick (counted in
// Stats.StaleTicks). Sample fails only when every query fails; if ctx is
// done, it returns an error wrapping ctx's error and counts nothing.
func (s *Sampler) Sample(ctx context.Context, dst []sampler.DeviceReading) ([]sampler.DeviceReading, error) {
	s.sampleMu.Lock()
	defer s.sampleMu.Unlock()
	if !s.enter() {
		return dst, ErrClosed
	}
	defer s.inflight.Done()

	now := s.now()
	nowMs := now.UnixMilli()
	type result struct {
		raw []rawSeries
		err error
		dur time.Duration
	}
	results := make([]result, len(s.groups))
	s.mu.Lock()
	exprs := make([]string, len(s.groups))
	for i, g := range s.groups {
		if !g.matched {
			continue
		}
		var sp int64
		for _, sr := range g.series {
			sp = max(sp, sr.spacing())
		}
		r := time.Duration(nowMs-g.lastQry+3*sp) * time.Millisecond
		exprs[i] = g.used.vector(g.metrics) + rangeOf(min(max(r, time.Second), maxRange))
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for i := range s.groups {
		if exprs[i] == "" {
			continue
		}
		wg.Go(func() {
			start := time.Now()
			results[i].raw, _, results[i].err = s.c.querySamples(ctx, exprs[i], now)
			results[i].dur = time.Since(start)
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return dst, fmt.Errorf("prometheus: sample: %w", err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	asked := 0
	for i, g := range s.groups {
		if exprs[i] == "" {
			continue
		}
		asked++
		res := results[i]
		s.queries++
		s.lastDur = res.dur
		if res.err != nil {
			s.failures++
			s.lastErr = res.err
			errs = append(errs, fmt.Errorf("%s query: %w", g.what, res.err))
			continue
		}
		g.lastQry = nowMs
		for _, rs := range res.raw {
			if sr := g.series[rs.key]; sr != nil {
				sr.add(rs.samples)
			}
		}
	}
	if asked > 0 && len(errs) == asked {
		return dst, fmt.Errorf("prometheus: sample: %w", errors.Join(errs...))
	}
	// The reading's time is the midpoint of this call, as sampler.Run
	// stamps it: extrapolate the counters to it.
	mid := now.Add(s.now().Sub(now) / 2).UnixMilli()
	for _, d := range s.devices {
		r, ok := s.read(d, mid)
		if !ok {
			s.stale[d.name]++
			continue
		}
		dst = append(dst, r)
		s.noteHeld(d)
	}
	return dst, nil
}

// read returns d's reading at nowMs from its series' state; ok is false
// when no field is fresh.
func (s *Sampler) read(d *device, nowMs int64) (sampler.DeviceReading, bool) {
	var b exporters.Builder
	fresh := false
	for _, sr := range d.series {
		if sr.stale(nowMs) || sr.counter {
			continue
		}
		b.Add(sr.metric, sr.label, sr.last)
		fresh = true
	}
	r := sampler.NewDeviceReading(d.name, d.kind)
	if devs := b.Devices(); len(devs) > 0 {
		r = devs[0].Reading
		r.Device, r.Kind = d.name, d.kind
	}
	if e := d.energy; e != nil && !e.stale(nowMs) {
		v := e.valueAt(nowMs) * exporters.JoulesPer(e.metric)
		if sampler.Has(d.last) && v < d.last {
			v = d.last
		}
		d.last = v
		r.EnergyJ = v
		fresh = true
	}
	return r, fresh
}

// enter registers a call in progress; false once closed.
func (s *Sampler) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.inflight.Add(1)
	return true
}

// Stats is the sampler's account of its queries since Open (Open's own
// excluded).
type Stats struct {
	// Queries counts Sample's queries (one per selector per tick),
	// Failures those that failed.
	Queries  int64
	Failures int64
	// LastErr is the most recent failure, nil if none.
	LastErr error
	// LastDuration is how long the most recent query took.
	LastDuration time.Duration
	// CounterResets counts, per device with at least one, the decreases
	// of its energy counter that were taken as resets or wraps.
	CounterResets map[string]int64
	// StaleTicks counts, per device with at least one, the ticks it was
	// left out of because its series had missed two scrapes (its exporter,
	// pod or GPU gone, or its labels changed).
	StaleTicks map[string]int64
}

// Stats returns a snapshot of the sampler's counts.
func (s *Sampler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Queries: s.queries, Failures: s.failures, LastErr: s.lastErr, LastDuration: s.lastDur,
		CounterResets: map[string]int64{}, StaleTicks: maps.Clone(s.stale),
	}
	for _, d := range s.devices {
		if d.energy != nil && d.energy.resets > 0 {
			st.CounterResets[d.name] = d.energy.resets
		}
	}
	return st
}

// Close waits for a call in progress, then releases the sampler's idle
// connections (those of its own client; a client given with WithHTTPClient
// is left alone). It is idempotent and always returns nil; Sample and
// WindowEnergy fail with ErrClosed after it.
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
		s.c.http.CloseIdleConnections()
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
