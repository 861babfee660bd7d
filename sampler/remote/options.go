package remote

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Defaults of the options, exported so that a CLI can use them as flag
// defaults.
const (
	// DefaultScrapeTimeout bounds one scrape of one target when
	// WithScrapeTimeout is not used. It is deliberately shorter than the
	// 1–5 s intervals a remote sampler usually runs at, so that one slow
	// exporter costs at most one tick.
	DefaultScrapeTimeout = 2 * time.Second
	// DefaultMaxConcurrentScrapes is the number of targets scraped at once
	// when WithMaxConcurrentScrapes is not used.
	DefaultMaxConcurrentScrapes = 8
)

// MaxResponseBytes is the largest exposition read from one target; a larger
// response fails that scrape. A node_exporter with every default collector
// serves a few hundred KiB, a dcgm-exporter tens of KiB per GPU.
const MaxResponseBytes = 32 << 20

// ErrInvalidOption is wrapped by every error Open returns for an invalid
// option value.
var ErrInvalidOption = errors.New("remote: invalid option")

// ErrInvalidTarget is wrapped by every error Open returns for a target that
// is not an absolute http or https URL, is listed twice, or whose device
// names would collide with another target's.
var ErrInvalidTarget = errors.New("remote: invalid target")

// Option configures a Sampler. Options only record values; Open checks them
// together once all are applied and only then builds the HTTP client, so
// their order never matters. A repeated option replaces the earlier value.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	client        *http.Client
	clientSet     bool
	scrapeTimeout time.Duration
	maxConcurrent int
}

func newConfig(opts []Option) (config, error) {
	c := config{
		scrapeTimeout: DefaultScrapeTimeout,
		maxConcurrent: DefaultMaxConcurrentScrapes,
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
	if c.scrapeTimeout <= 0 {
		bad("WithScrapeTimeout(%v): must be positive", c.scrapeTimeout)
	}
	if c.maxConcurrent < 1 {
		bad("WithMaxConcurrentScrapes(%d): must be at least 1", c.maxConcurrent)
	}
	return errors.Join(errs...)
}

// WithHTTPClient scrapes through client, for proxies, TLS client
// certificates, authentication headers (in a RoundTripper) or tests. The
// client is not modified and Close does not close its idle connections: it
// stays the caller's. The scrape timeout applies on top of any Timeout the
// client has. client must not be nil.
// By default, if this option is not used, the Sampler uses a client of its
// own with a transport cloned from http.DefaultTransport but without a
// proxy (exporters are scraped directly, as Prometheus does, whatever
// HTTP_PROXY says); Close closes its idle connections.
func WithHTTPClient(client *http.Client) Option {
	return optionFunc(func(c *config) { c.client, c.clientSet = client, true })
}

// WithScrapeTimeout bounds each scrape of each target: connecting, sending
// the request and reading the whole response. A target that has not
// answered in d fails that tick (its devices are absent). Keep d shorter
// than the sampling interval: a Sample call lasts up to d, and the scheduler
// skips the ticks a slow read overruns. d must be positive.
// By default, if this option is not used, it is DefaultScrapeTimeout (2 s).
func WithScrapeTimeout(d time.Duration) Option {
	return optionFunc(func(c *config) { c.scrapeTimeout = d })
}

// WithMaxConcurrentScrapes bounds how many targets are scraped at the same
// time; with more targets than n, the rest wait for a free slot, so a tick
// may take several scrape timeouts. n must be at least 1.
// By default, if this option is not used, it is
// DefaultMaxConcurrentScrapes (8).
func WithMaxConcurrentScrapes(n int) Option {
	return optionFunc(func(c *config) { c.maxConcurrent = n })
}
