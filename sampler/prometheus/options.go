package prometheus

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Defaults of the options, exported so that a CLI can use them as flag
// defaults.
const (
	// DefaultQueryTimeout bounds one request to the Prometheus API when
	// WithQueryTimeout is not used. It is shorter than the 1–5 s intervals
	// the sampler runs at, so that one slow answer costs at most a tick.
	DefaultQueryTimeout = 2 * time.Second
	// DefaultStartTimeout bounds Open's wait for Prometheus to be ready
	// and to hold samples of the selected series when WithStartTimeout is
	// not used.
	DefaultStartTimeout = 30 * time.Second
)

// Bounds on what a Prometheus server's answers may size.
const (
	// MaxResponseBytes is the largest API answer read; a larger one fails
	// the query. WindowEnergy's answer grows with the window: an hour of
	// one counter scraped every second is about 100 KiB.
	MaxResponseBytes = 64 << 20
	// MaxSeries is the most series one query may return; more fail the
	// query (the selector is too broad: a whole cluster's GPUs).
	MaxSeries = 10000
)

// ErrInvalidOption is wrapped by every error Open returns for an invalid
// option value or base URL.
var ErrInvalidOption = errors.New("prometheus: invalid option")

// Option configures a Sampler. Options only record values; Open checks them
// together once all are applied and only then builds its HTTP client, so
// their order never matters. A repeated option replaces the earlier value.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	client       *http.Client
	clientSet    bool
	gpuSel       string
	gpuSet       bool
	nodeSel      string
	nodeSet      bool
	queryTimeout time.Duration
	startTimeout time.Duration

	// Set by tests only.
	now  func() time.Time
	poll time.Duration
}

func newConfig(opts []Option) (config, error) {
	c := config{
		queryTimeout: DefaultQueryTimeout,
		startTimeout: DefaultStartTimeout,
		now:          time.Now,
		poll:         250 * time.Millisecond,
	}
	for _, o := range opts {
		if o == nil {
			return c, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		o.apply(&c)
	}
	return c, c.validate()
}

func (c *config) validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...))
	}
	if c.clientSet && c.client == nil {
		bad("WithHTTPClient: nil client")
	}
	if !c.gpuSet && !c.nodeSet {
		bad("neither WithGPUSelector nor WithNodeSelector: say which series to read (\"\" selects every one)")
	}
	if c.gpuSet {
		if _, err := parseSelector(c.gpuSel); err != nil {
			bad("WithGPUSelector(%q): %v", c.gpuSel, err)
		}
	}
	if c.nodeSet {
		if _, err := parseSelector(c.nodeSel); err != nil {
			bad("WithNodeSelector(%q): %v", c.nodeSel, err)
		}
	}
	if c.queryTimeout <= 0 {
		bad("WithQueryTimeout(%v): must be positive", c.queryTimeout)
	}
	if c.startTimeout <= 0 {
		bad("WithStartTimeout(%v): must be positive", c.startTimeout)
	}
	return errors.Join(errs...)
}

// WithGPUSelector reads the GPUs of the dcgm-exporter series that match
// the PromQL label matchers sel, for instance the engine's pods:
//
//	`namespace="llm", pod=~"vllm-.*"`
//
// Braces are optional; values are quoted as in PromQL; a matcher on
// __name__ is refused (the sampler chooses the metrics). "" selects every
// dcgm-exporter series the server holds, which suits a Prometheus that
// scrapes the engine's hosts only.
//
// If sel matches no series and it has matchers on namespace, pod or
// container, Open tries them on exported_namespace, exported_pod and
// exported_container instead: Prometheus renames the exporter's own labels
// so when its scrape adds target labels of the same name and does not
// honor the exporter's (a Kubernetes ServiceMonitor without honorLabels).
// Describe says which form matched.
//
// By default, if this option is not used, no GPU is read; at least one of
// WithGPUSelector and WithNodeSelector is required.
func WithGPUSelector(sel string) Option {
	return optionFunc(func(c *config) { c.gpuSel, c.gpuSet = sel, true })
}

// WithNodeSelector reads the CPU package and DRAM energy of the
// node_exporter RAPL series that match the PromQL label matchers sel, for
// instance the engine's nodes: `job="node-exporter",
// instance=~"gpu-node-(1|2):9100"`. The syntax and the exported_ fallback
// are WithGPUSelector's. "" selects every RAPL series the server holds.
//
// By default, if this option is not used, no RAPL zone is read; at least
// one of WithGPUSelector and WithNodeSelector is required.
func WithNodeSelector(sel string) Option {
	return optionFunc(func(c *config) { c.nodeSel, c.nodeSet = sel, true })
}

// WithHTTPClient queries Prometheus through client, for authentication (a
// RoundTripper adding a bearer token), TLS client certificates, proxies or
// tests. The client is not modified and Close does not close its idle
// connections: it stays the caller's. The query timeout applies on top of
// any Timeout the client has. client must not be nil.
// By default, if this option is not used, the Sampler uses a client of its
// own with a transport cloned from http.DefaultTransport, which honours
// HTTP_PROXY and friends; Close closes its idle connections.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) { c.client, c.clientSet = client, true })
}

// WithQueryTimeout bounds each request to the Prometheus API: connecting,
// evaluating and reading the answer. Keep it below the sampling interval:
// a Sample lasts up to d, and the scheduler skips the ticks a slow read
// overruns. d must be positive.
// By default, if this option is not used, it is DefaultQueryTimeout (2 s).
func WithQueryTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.queryTimeout = d })
}

// WithStartTimeout bounds Open's wait for Prometheus to be ready, to have
// scraped the targets of the selected series at least once (the server
// answers /-/ready before its first scrape lands), and to hold two changes
// of each selected energy counter after its first sample (for a
// dcgm-exporter that holds values for its 30 s default --collect-interval,
// a Prometheus started just before Open needs over a minute). d must be positive; Open's ctx bounds
// the wait too.
// By default, if this option is not used, it is DefaultStartTimeout (30 s).
func WithStartTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.startTimeout = d })
}

// withClock makes the sampler read the time from now and poll every poll
// while it waits (tests only).
func withClock(now func() time.Time, poll time.Duration) Option {
	return optionFunc(func(c *config) { c.now, c.poll = now, poll })
}
