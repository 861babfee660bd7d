package enginetest

import (
	"errors"
	"fmt"
	"time"
)

// Defaults of the options and of request fields.
const (
	// DefaultModel is the one model served when WithModels is not used.
	DefaultModel = "enginetest-model"
	// DefaultVersion is the version reported when WithVersion is not used.
	DefaultVersion = "0.0.0-enginetest"
	// DefaultOutputTokens is the natural output length when
	// WithOutputTokens is not used.
	DefaultOutputTokens = 128
	// DefaultRequestMaxTokens is the max_tokens of a request that sends
	// none, as in the OpenAI API.
	DefaultRequestMaxTokens = 16
	// DefaultTTFT is the time to first token when WithTTFT is not used.
	DefaultTTFT time.Duration = 0
	// DefaultITL is the per-token inter-token latency when WithITL is not
	// used.
	DefaultITL time.Duration = 0
	// DefaultJitter is the timing jitter when WithJitter is not used.
	DefaultJitter time.Duration = 0
	// DefaultSeed seeds the jitter when WithSeed is not used.
	DefaultSeed uint64 = 1
	// DefaultTokensPerChunk is the number of tokens per streamed chunk when
	// WithTokensPerChunk is not used.
	DefaultTokensPerChunk = 1
	// DefaultBusyWait is the busy wait before each due time when
	// WithBusyWait is not used.
	DefaultBusyWait time.Duration = 0
	// DefaultOversizedBytes is the content size of an OversizedFrame whose
	// Bytes is 0.
	DefaultOversizedBytes = 1 << 20
	// MaxCapacity bounds WithCapacity.
	MaxCapacity = 1 << 20
)

// readHeaderTimeout bounds how long Start's server waits for request
// headers.
const readHeaderTimeout = 10 * time.Second

// ErrInvalidOption is wrapped by every error NewHandler and Start return for
// an invalid option value.
var ErrInvalidOption = errors.New("enginetest: invalid option")

// Option configures a Handler or Server. Options only record values; they
// are checked together when NewHandler or Start applies them, so their order
// never matters. Unless its doc says otherwise, a repeated option replaces
// the earlier value.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// SSEFraming selects legal SSE spellings that the default framing
// ("data: {json}\n\n") does not use. The zero value is the default framing.
type SSEFraming struct {
	// Comments sends a ": ping" comment block before every event.
	Comments bool
	// NoSpace writes "data:{json}" without the optional space.
	NoSpace bool
	// CRLF ends lines with "\r\n" instead of "\n".
	CRLF bool
}

type config struct {
	models          []string
	version         string
	versionInModels bool
	apiKey          string
	apiKeySet       bool
	outputTokens    int
	ttft, itl       time.Duration
	jitter          time.Duration
	seed            uint64
	tokensPerChunk  int
	busyWait        time.Duration
	noUsage         bool
	earlyRole       bool
	framing         SSEFraming
	fault           func(Request) Fault
	recordSink      func(RequestRecord)
	capacity        int
	capacitySet     bool
}

func newConfig(opts []Option) (config, error) {
	c := config{
		models:         []string{DefaultModel},
		version:        DefaultVersion,
		outputTokens:   DefaultOutputTokens,
		ttft:           DefaultTTFT,
		itl:            DefaultITL,
		jitter:         DefaultJitter,
		seed:           DefaultSeed,
		tokensPerChunk: DefaultTokensPerChunk,
		busyWait:       DefaultBusyWait,
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
	if len(c.models) == 0 {
		bad("WithModels: no model")
	}
	seen := make(map[string]bool, len(c.models))
	for _, m := range c.models {
		switch {
		case m == "":
			bad("WithModels: empty model id")
		case seen[m]:
			bad("WithModels: model %q listed twice", m)
		}
		seen[m] = true
	}
	if c.version == "" {
		bad("WithVersion: empty version")
	}
	if c.apiKeySet && c.apiKey == "" {
		bad("WithAPIKey: empty key")
	}
	if c.outputTokens < 0 {
		bad("WithOutputTokens(%d): negative", c.outputTokens)
	}
	if c.ttft < 0 {
		bad("WithTTFT(%v): negative", c.ttft)
	}
	if c.itl < 0 {
		bad("WithITL(%v): negative", c.itl)
	}
	if c.jitter < 0 {
		bad("WithJitter(%v): negative", c.jitter)
	}
	if c.busyWait < 0 {
		bad("WithBusyWait(%v): negative", c.busyWait)
	}
	if c.tokensPerChunk < 1 {
		bad("WithTokensPerChunk(%d): must be at least 1", c.tokensPerChunk)
	}
	if c.capacitySet && (c.capacity < 1 || c.capacity > MaxCapacity) {
		bad("WithCapacity(%d): must be between 1 and %d", c.capacity, MaxCapacity)
	}
	return errors.Join(errs...)
}

// WithModels sets the ids of the served models, in the order /v1/models
// lists them. A request naming another model gets 404; a request with no
// model uses the first. Ids must be non-empty and distinct.
// By default, if this option is not used, only DefaultModel is served.
func WithModels(ids ...string) Option {
	ids = append([]string(nil), ids...)
	return optionFunc(func(c *config) { c.models = ids })
}

// WithVersion sets the version /version reports. It must not be empty.
// By default, if this option is not used, it is DefaultVersion.
func WithVersion(v string) Option {
	return optionFunc(func(c *config) { c.version = v })
}

// WithVersionInModelList adds a "version" field to every model in
// /v1/models, which some probes read before falling back to /version.
// By default, if this option is not used, the list has no version field, as
// in vLLM.
func WithVersionInModelList() Option {
	return optionFunc(func(c *config) { c.versionInModels = true })
}

// WithAPIKey requires "Authorization: Bearer <key>" on every /v1/ path;
// other requests get 401 {"error":"Unauthorized"}, as in vLLM. /health and
// /version stay open. The key must not be empty.
// By default, if this option is not used, no key is checked.
func WithAPIKey(key string) Option {
	return optionFunc(func(c *config) { c.apiKey, c.apiKeySet = key, true })
}

// WithOutputTokens sets the natural output length: the number of tokens
// after which the fake model emits end-of-sequence (finish_reason "stop")
// unless max_tokens stops it first ("length"). It must not be negative; 0
// gives empty completions. See Request for min_tokens and ignore_eos.
// By default, if this option is not used, it is DefaultOutputTokens.
func WithOutputTokens(n int) Option {
	return optionFunc(func(c *config) { c.outputTokens = n })
}

// WithTTFT sets the time to first token: the first content chunk (and, in a
// chat stream, the role chunk just before it) is due d after the request's
// arrival at the handler. It must not be negative.
// By default, if this option is not used, it is DefaultTTFT (0).
func WithTTFT(d time.Duration) Option {
	return optionFunc(func(c *config) { c.ttft = d })
}

// WithITL sets the inter-token latency per token: a chunk carrying k tokens
// is due k·d after the chunk before it, so content chunk i is due at
// firstToken + (tokens in chunks 1..i)·d, computed from the absolute
// first-token time and never from the previous flush. It must not be
// negative.
// By default, if this option is not used, it is DefaultITL (0).
func WithITL(d time.Duration) Option {
	return optionFunc(func(c *config) { c.itl = d })
}

// WithJitter adds an independent offset, uniform in [−d, +d], to the due
// time of the first token and of every later chunk. Due times are then
// clamped so that none is before the arrival or before the previous chunk's,
// so the jitter never accumulates. The offsets come from a PCG generator
// seeded with (WithSeed's seed, the request's Seq), so they are reproducible
// per request. It must not be negative.
// By default, if this option is not used, it is DefaultJitter (0).
func WithJitter(d time.Duration) Option {
	return optionFunc(func(c *config) { c.jitter = d })
}

// WithSeed seeds the jitter generator.
// By default, if this option is not used, it is DefaultSeed.
func WithSeed(seed uint64) Option {
	return optionFunc(func(c *config) { c.seed = seed })
}

// WithTokensPerChunk sets how many tokens each streamed content chunk
// carries (the last chunk may carry fewer). It must be at least 1.
// By default, if this option is not used, it is DefaultTokensPerChunk (1).
func WithTokensPerChunk(k int) Option {
	return optionFunc(func(c *config) { c.tokensPerChunk = k })
}

// WithBusyWait makes every wait for a due time sleep only until d before
// it, and spend the rest polling the clock (yielding the processor between
// polls). Go's timers on Linux wake up to about 1 ms late, because the
// runtime's epoll wait has millisecond resolution; a d of 1–2 ms brings the
// flushes to within microseconds of their due times, at the cost of up to d
// of CPU per chunk, so keep it for low-concurrency accuracy runs. The
// recorded flush times are exact either way. It must not be negative.
// By default, if this option is not used, it is DefaultBusyWait (0: no
// busy wait).
func WithBusyWait(d time.Duration) Option {
	return optionFunc(func(c *config) { c.busyWait = d })
}

// WithoutUsage makes the engine ignore stream_options.include_usage and
// leave usage out of blocking responses too, like servers that never report
// token counts.
// By default, if this option is not used, streams end with a usage chunk
// when the request asks for it, and blocking responses always carry usage.
func WithoutUsage() Option {
	return optionFunc(func(c *config) { c.noUsage = true })
}

// WithEarlyRoleChunk sends a chat stream's role chunk together with the
// response headers, at arrival, instead of just before the first content
// chunk. Use it to check that a client does not take the role chunk for the
// first token.
// By default, if this option is not used, the role chunk is flushed right
// before the first content chunk, as vLLM does.
func WithEarlyRoleChunk() Option {
	return optionFunc(func(c *config) { c.earlyRole = true })
}

// WithSSEFraming selects the SSE spelling of every stream.
// By default, if this option is not used, events are "data: {json}\n\n".
func WithSSEFraming(f SSEFraming) Option {
	return optionFunc(func(c *config) { c.framing = f })
}

// WithFault calls choose for every valid request to a generation endpoint,
// after authentication and validation and before the response starts, and
// injects the Fault it returns; nil means no fault. choose must be safe for
// concurrent use and must not block; it must not keep the Request. A nil
// choose injects no faults.
// By default, if this option is not used, no faults are injected.
func WithFault(choose func(Request) Fault) Option {
	return optionFunc(func(c *config) { c.fault = choose })
}

// WithRecordSink calls sink once for every finished request to a
// generation endpoint, with its record as [Handler.Requests] would return
// it, from the goroutine that handled the request, after the record is
// published. It lets a long-running engine stream its ground truth (to a
// file, say) and forget it with [Handler.ResetRequests], in flat memory,
// without losing the records of requests that finish concurrently. sink
// must be safe for concurrent use and must not block for long: the
// handler's connection waits for it. The record is the sink's to keep;
// its Chunks are not shared. A nil sink is none.
// By default, if this option is not used, records are only kept for
// Requests.
func WithRecordSink(sink func(RequestRecord)) Option {
	return optionFunc(func(c *config) { c.recordSink = sink })
}

// WithCapacity gives the engine a hidden capacity: at most n requests to a
// generation endpoint are generated at once, like the batch slots of a
// serving engine. A request that arrives when all n slots are busy waits
// for one to free (first come, first served, as Go's runtime queues a
// channel's waiting senders) before anything of its response is
// written; its schedule (WithTTFT, WithITL) starts when it gets the slot
// (RequestRecord.Admitted), so its time to first token grows by the wait.
// A slot is held until the response's last byte is written, or until the
// client goes away. n must be between 1 and MaxCapacity.
// By default, if this option is not used, every request is generated at
// once, however many are in flight.
func WithCapacity(n int) Option {
	return optionFunc(func(c *config) { c.capacity, c.capacitySet = n, true })
}
