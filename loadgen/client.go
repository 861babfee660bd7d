package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/benchprof/benchprof/internal/textsafe"
)

// Defaults of the streaming client, as the reference sends them (FACTS §4.6).
const (
	DefaultMaxTokens      = 128
	DefaultRequestTimeout = 120 * time.Second
	// DefaultMaxConnections is the default size of the client's pool of
	// keep-alive connections.
	DefaultMaxConnections = 1024
)

// ErrInvalidOption is wrapped by the errors [NewClient] and [NewDriver]
// return for an invalid argument or option value.
var ErrInvalidOption = errors.New("invalid option")

// Bounds on what one request records from the engine.
const (
	// maxEngineText bounds text copied from the engine into an error
	// message: an HTTP error body, an error event, a malformed event.
	maxEngineText = 512
	// maxErrorText bounds Result.Error as a whole (transport errors can
	// quote the engine too, e.g. a malformed status line).
	maxErrorText = 2048
	// maxFinishReason bounds Result.FinishReason; real ones are words
	// such as "stop" and "length".
	maxFinishReason = 64
	// maxChunksPrealloc bounds the room for Result.Chunks allocated with
	// the first content chunk (16 KiB); beyond it the slice grows.
	maxChunksPrealloc = 1024
	// maxResponseHeaderBytes bounds the response headers the client's own
	// transport accepts (Go's default is 1 MiB per response).
	maxResponseHeaderBytes = 64 << 10
)

// Endpoint selects the OpenAI-compatible API a client calls.
type Endpoint string

// Endpoints.
const (
	EndpointChat        Endpoint = "/v1/chat/completions"
	EndpointCompletions Endpoint = "/v1/completions"
)

// NormalizeBaseURL strips trailing slashes and a trailing /v1, as the
// reference does (FACTS §4.5), so "http://h:8000/v1/" and "http://h:8000"
// name the same engine.
func NormalizeBaseURL(raw string) (string, error) {
	u := strings.TrimRight(strings.TrimSpace(raw), "/")
	u = strings.TrimSuffix(u, "/v1")
	u = strings.TrimRight(u, "/")
	if u == "" {
		return "", errors.New("base URL is empty; point it at a running engine, e.g. http://localhost:8000/v1")
	}
	if !strings.HasPrefix(u, "http://") && !strings.HasPrefix(u, "https://") {
		return "", fmt.Errorf("base URL %q must start with http:// or https://", raw)
	}
	return u, nil
}

// ClientOption configures a [Client].
type ClientOption interface {
	applyClient(*clientConfig)
}

type clientOptionFunc func(*clientConfig)

func (f clientOptionFunc) applyClient(c *clientConfig) { f(c) }

type clientConfig struct {
	apiKey      string
	httpClient  *http.Client
	maxTokens   int
	fixedOutput bool
	endpoint    Endpoint
	timeout     time.Duration
	maxConns    int
	maxEvent    int
	eventBudget int64
	maxChunks   int
}

// WithAPIKey sends key as "Authorization: Bearer <key>". The key is never
// logged nor recorded, and never follows a redirect to another origin (see
// [SameOriginOnly]). By default no Authorization header is sent.
func WithAPIKey(key string) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.apiKey = key })
}

// WithHTTPClient uses a copy of hc, made with [SameOriginOnly], for
// requests; hc itself is not modified. By default the client builds its
// own transport with a connection pool sized by [WithMaxConnections]. With
// this option the caller owns pooling.
func WithHTTPClient(hc *http.Client) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.httpClient = hc })
}

// WithMaxTokens sets max_tokens. By default it is DefaultMaxTokens (128).
// It must be at least 1.
func WithMaxTokens(n int) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.maxTokens = n })
}

// WithFixedOutputLength asks the engine to generate exactly max_tokens
// tokens (vLLM's ignore_eos and min_tokens). By default the engine may stop
// early.
func WithFixedOutputLength() ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.fixedOutput = true })
}

// WithEndpoint selects the API. By default it is EndpointChat.
func WithEndpoint(e Endpoint) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.endpoint = e })
}

// WithRequestTimeout bounds one request from send to the end of its stream.
// By default it is DefaultRequestTimeout (120 s, as the reference).
func WithRequestTimeout(d time.Duration) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.timeout = d })
}

// WithMaxConnections sizes the connection pool: up to that many keep-alive
// connections are kept to the engine, so a run at concurrency N ≤ n reuses
// N connections instead of reconnecting (Go's default keeps only 2 per
// host). Idle connections are only kept once used, so a large value costs
// nothing. By default it is DefaultMaxConnections (1024).
func WithMaxConnections(n int) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.maxConns = n })
}

// WithMaxEventSize bounds the data of one server-sent event, in bytes; a
// larger event (or a longer line) fails the request with
// OutcomeStreamError and an error wrapping [ErrEventTooLarge]. By default
// it is DefaultMaxEventSize (1 MiB). It must be at least 1.
func WithMaxEventSize(n int) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.maxEvent = n })
}

// WithEventBufferBudget bounds, in bytes, the event buffers that all the
// streams of the client hold together beyond the 32 KiB each stream may
// always use: a stream whose event needs more than the budget has left
// fails with OutcomeStreamError and an error wrapping [ErrEventTooLarge].
// Each stream gives its share back when it ends. By default it is
// DefaultEventBufferBudget (32 MiB). It must not be negative; 0 keeps every
// event within about 32 KiB.
func WithEventBufferBudget(n int64) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.eventBudget = n })
}

// WithMaxChunks bounds the non-empty content chunks one request may
// receive: a stream with more fails with OutcomeStreamError, so an engine
// that never ends its stream cannot make one request record without
// bound. A compliant engine sends at most max_tokens of them, as each
// carries at least one token. By default, or with 0, the bound is
// 2·max_tokens + 16 (the slack admits engines that flush partial tokens).
// It must not be negative.
func WithMaxChunks(n int) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.maxChunks = n })
}

// Client sends streaming completion requests to an OpenAI-compatible engine
// and times them. It is safe for concurrent use; each request is independent.
type Client struct {
	url      string // full endpoint URL
	model    string
	cfg      clientConfig
	hc       *http.Client
	ownPool  *http.Transport
	budget   *eventBudget
	bodyHead []byte    // the JSON body up to the prompt
	bodyTail []byte    // the JSON body after the prompt
	idPrefix string    // X-Request-Id up to the request's index
	bufs     sync.Pool // *[]byte stream buffers of sseInitialBuffer bytes
}

// NewClient returns a client for the model served at baseURL (with or
// without /v1). Invalid option values give an error wrapping
// [ErrInvalidOption].
func NewClient(baseURL, model string, opts ...ClientOption) (*Client, error) {
	c := clientConfig{
		maxTokens: DefaultMaxTokens, endpoint: EndpointChat, timeout: DefaultRequestTimeout,
		maxConns: DefaultMaxConnections, maxEvent: DefaultMaxEventSize, eventBudget: DefaultEventBufferBudget,
	}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("loadgen client: %w: option %d is nil", ErrInvalidOption, i+1)
		}
		o.applyClient(&c)
	}
	base, err := NormalizeBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	var errs []error
	if model == "" {
		errs = append(errs, errors.New("model is empty"))
	}
	if c.maxTokens < 1 {
		errs = append(errs, fmt.Errorf("max tokens must be at least 1, got %d", c.maxTokens))
	}
	if c.timeout <= 0 {
		errs = append(errs, fmt.Errorf("request timeout must be positive, got %v", c.timeout))
	}
	if c.maxConns < 1 {
		errs = append(errs, fmt.Errorf("max connections must be at least 1, got %d", c.maxConns))
	}
	if c.maxEvent < 1 {
		errs = append(errs, fmt.Errorf("max event size must be at least 1 byte, got %d", c.maxEvent))
	}
	if c.eventBudget < 0 {
		errs = append(errs, fmt.Errorf("event buffer budget must not be negative, got %d", c.eventBudget))
	}
	if c.maxChunks < 0 {
		errs = append(errs, fmt.Errorf("max chunks must not be negative, got %d", c.maxChunks))
	}
	if c.endpoint != EndpointChat && c.endpoint != EndpointCompletions {
		errs = append(errs, fmt.Errorf("unknown endpoint %q", c.endpoint))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loadgen client: %w: %w", ErrInvalidOption, err)
	}
	cl := &Client{url: base + string(c.endpoint), model: model, cfg: c, budget: &eventBudget{limit: c.eventBudget}}
	if c.httpClient != nil {
		cl.hc = SameOriginOnly(c.httpClient)
	} else {
		cl.ownPool = &http.Transport{
			Proxy:                  nil, // a benchmark talks to the engine directly
			DialContext:            (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:           c.maxConns,
			MaxIdleConnsPerHost:    c.maxConns,
			IdleConnTimeout:        90 * time.Second,
			DisableCompression:     true, // gzip would buffer the stream
			WriteBufferSize:        16 << 10,
			ReadBufferSize:         32 << 10,
			MaxResponseHeaderBytes: maxResponseHeaderBytes,
		}
		cl.hc = SameOriginOnly(&http.Client{Transport: cl.ownPool})
	}
	cl.bodyHead, cl.bodyTail = cl.bodyTemplate()
	cl.idPrefix = fmt.Sprintf("benchprof-%08x-", rand.Uint32())
	return cl, nil
}

// BaseURL returns the normalized base URL.
func (c *Client) BaseURL() string { return strings.TrimSuffix(c.url, string(c.cfg.endpoint)) }

// Model returns the model name sent with every request.
func (c *Client) Model() string { return c.model }

// MaxTokens returns the max_tokens sent with every request.
func (c *Client) MaxTokens() int { return c.cfg.maxTokens }

// MaxChunks returns the most non-empty content chunks a request may
// receive (see [WithMaxChunks]).
func (c *Client) MaxChunks() int {
	if c.cfg.maxChunks > 0 {
		return c.cfg.maxChunks
	}
	if c.cfg.maxTokens > (math.MaxInt-16)/2 {
		return math.MaxInt
	}
	return 2*c.cfg.maxTokens + 16
}

// CloseIdleConnections closes the pooled connections the client owns.
func (c *Client) CloseIdleConnections() {
	if c.ownPool != nil {
		c.ownPool.CloseIdleConnections()
	}
}

// bodyTemplate renders the request body around a placeholder for the
// prompt, so a request costs one string escape instead of a marshal.
func (c *Client) bodyTemplate() (head, tail []byte) {
	const marker = "\x00PROMPT\x00"
	body := map[string]any{
		"model":          c.model,
		"max_tokens":     c.cfg.maxTokens,
		"temperature":    0.0,
		"stream":         true,
		"stream_options": map[string]any{"include_usage": true},
	}
	if c.cfg.endpoint == EndpointChat {
		body["messages"] = []map[string]string{{"role": "user", "content": marker}}
	} else {
		body["prompt"] = marker
	}
	if c.cfg.fixedOutput {
		body["ignore_eos"] = true
		body["min_tokens"] = c.cfg.maxTokens
	}
	b, _ := json.Marshal(body) // plain maps of strings and numbers cannot fail
	m, _ := json.Marshal(marker)
	i := bytes.Index(b, m)
	return b[:i], b[i+len(m):]
}

func (c *Client) body(prompt string) []byte {
	p, _ := json.Marshal(prompt) // a string cannot fail
	b := make([]byte, 0, len(c.bodyHead)+len(p)+len(c.bodyTail))
	b = append(b, c.bodyHead...)
	b = append(b, p...)
	return append(b, c.bodyTail...)
}

// Causes of a request's cancellation, distinguished in its outcome.
var (
	// ErrCutOff is the cancellation cause drivers use for requests still in
	// flight when the grace period ends.
	ErrCutOff  = errors.New("cut off at the end of the grace period")
	errTimeout = errors.New("request timeout")
)

// Clock turns instants into offsets from a run's start. Zero value: not usable.
type Clock struct {
	Start time.Time
	Now   func() time.Time
}

func (k Clock) since() time.Duration { return k.Now().Sub(k.Start) }

// Do sends one streaming request for prompt and fills r with its timings,
// token counts and outcome. r.Scheduled, Index, Worker, Prompt and Warmup
// are the caller's; Do sets the rest. The request carries an X-Request-Id
// header, "benchprof-<8 hex digits chosen per Client>-<r.Index>", which
// engines such as vLLM take for their own request id: their logs, and an
// engine's ground truth (loadgen/enginetest's Request.RequestID), pair
// with the Result by its Index; the random part keeps two clients' ids
// apart on one engine. Cancelling ctx with cause ErrCutOff yields
// OutcomeCutOff; any other cancellation OutcomeCancelled. Do writes r only
// from the calling goroutine, and not after it returns.
func (c *Client) Do(ctx context.Context, clock Clock, prompt string, r *Result) {
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.timeout, errTimeout)
	defer cancel()
	// The trace callback runs on the transport's goroutine, which may call
	// it even after Do has returned when the request is cancelled; it only
	// ever touches this atomic and ResponseBegun, which are safe for that.
	var firstByte atomic.Int64
	firstByte.Store(-1)
	outcome, err := c.do(ctx, cancel, clock, prompt, r, &firstByte)
	if v := firstByte.Load(); v >= 0 {
		r.FirstByte = time.Duration(v)
	}
	c.finish(ctx, clock, r, outcome, err)
}

// do sends the request; abort cancels ctx.
func (c *Client) do(ctx context.Context, abort context.CancelFunc, clock Clock, prompt string, r *Result, firstByte *atomic.Int64) (Outcome, error) {
	body := c.body(prompt)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		r.Sent = clock.since()
		return OutcomeTransport, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", "benchprof-loadgen")
	req.Header.Set("X-Request-Id", c.idPrefix+strconv.Itoa(r.Index))
	if c.cfg.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.apiKey)
	}
	trace := &httptrace.ClientTrace{
		GotFirstResponseByte: func() {
			firstByte.Store(int64(clock.since()))
			ResponseBegun(ctx)
		},
	}
	req = req.WithContext(httptrace.WithClientTrace(ctx, trace))
	r.Sent = clock.since()
	resp, err := c.hc.Do(req)
	if err != nil {
		return OutcomeTransport, err
	}
	defer resp.Body.Close()
	r.StatusCode = resp.StatusCode
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		return OutcomeHTTPStatus, fmt.Errorf("HTTP %d: %s", resp.StatusCode, truncateBytes(bytes.TrimSpace(msg), maxEngineText))
	}
	return c.readStream(clock, resp.Body, r, len(prompt), abort)
}

// finish records the end of a request, reclassifying transport failures
// caused by the context (timeout, cut-off, cancellation).
func (c *Client) finish(ctx context.Context, clock Clock, r *Result, outcome Outcome, err error) {
	if r.End == 0 { // not set by readStream at [DONE]
		r.End = clock.since()
	}
	if r.Sent == 0 && r.End > 0 {
		r.Sent = r.End
	}
	// A broken connection after the context ended was the context's doing.
	// A stream or status error was decided by what the engine sent before,
	// so it stays what it was.
	if outcome == OutcomeTransport && ctx.Err() != nil {
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, ErrCutOff):
			outcome = OutcomeCutOff
		case errors.Is(cause, errTimeout):
			outcome = OutcomeTimeout
			err = fmt.Errorf("no complete response within %v: %w", c.cfg.timeout, err)
		default:
			outcome = OutcomeCancelled
		}
	}
	r.Outcome = outcome
	if err != nil {
		// Engine text is a claim too: escaped, it cannot carry a terminal
		// escape or forge a line wherever the message is shown.
		r.Error = textsafe.Escape(truncateString(err.Error(), maxErrorText))
	}
}

// Bounds on reading the rest of a response body after "data: [DONE]".
const (
	// drainWait is how long the client waits for the end of the body
	// after [DONE] (engines end it at once) before it closes the
	// connection instead.
	drainWait = 100 * time.Millisecond
	// maxDrain is how many bytes after [DONE] it reads at most.
	maxDrain = 64 << 10
)

// readStream consumes the event stream, recording each content chunk, and
// judges the usage the engine claimed (see usageJudge). promptBytes is the
// prompt's length in bytes. After [DONE], which ends the stream (r.End is
// when the read that delivered it returned), it reads the rest of the body
// (for at most drainWait and maxDrain bytes, then abort, when not nil,
// cancels the request), so that the connection can serve the next
// request: a body closed before its end closes the connection.
func (c *Client) readStream(clock Clock, body io.Reader, r *Result, promptBytes int, abort func()) (Outcome, error) {
	var sse sseReader
	sse.init(body, c.cfg.maxEvent, c.budget, &c.bufs)
	sse.stamp = clock.since
	defer sse.close()
	maxChunks := c.MaxChunks()
	usage := newUsageJudge(c.cfg.maxTokens, promptBytes)
	continuous := false
	chunkCount := 0
	lastFinish := "" // the finish_reason already recorded
	for {
		ev, err := sse.next()
		if err == io.EOF {
			if r.FinishReason != "" {
				break // a clean end of body after a finish_reason
			}
			return OutcomeTransport, errors.New("stream ended before [DONE]")
		}
		if err != nil {
			if errors.Is(err, ErrEventTooLarge) {
				return OutcomeStreamError, err
			}
			return OutcomeTransport, fmt.Errorf("reading the stream: %w", err)
		}
		at := ev.At // when the read that completed the event returned
		if string(ev.Data) == "[DONE]" {
			r.End = at
			sse.drain(maxDrain, drainWait, abort)
			break
		}
		if string(ev.Type) == "error" {
			return OutcomeStreamError, fmt.Errorf("error event: %s", truncateBytes(ev.Data, maxEngineText))
		}
		var ch chunkFields
		if err := parseChunk(ev.Data, &ch); err != nil {
			return OutcomeStreamError, fmt.Errorf("malformed event %q: %w", truncateBytes(ev.Data, 120), err)
		}
		if len(ch.errorValue) > 0 && string(ch.errorValue) != "null" {
			return OutcomeStreamError, fmt.Errorf("error in stream: %s", truncateBytes(ch.errorValue, maxEngineText))
		}
		tokens := 0
		if len(ch.usage) > 0 && string(ch.usage) != "null" {
			if ch.choices {
				continuous = true // usage on content chunks: per-chunk counts are known
			}
			tokens = usage.observe(ch.usage)
		}
		if ch.content {
			chunkCount++
			if chunkCount > maxChunks {
				return OutcomeStreamError, fmt.Errorf("engine sent more than %d content chunks for max_tokens %d", maxChunks, c.cfg.maxTokens)
			}
			if r.FirstToken == 0 {
				r.FirstToken = at
			}
			k := 1
			if continuous && tokens > 0 {
				k = tokens
			}
			if r.Chunks == nil {
				r.Chunks = make([]Chunk, 0, min(maxChunks, c.cfg.maxTokens, maxChunksPrealloc))
			}
			r.Chunks = append(r.Chunks, Chunk{At: at, Tokens: k})
		}
		if ch.finishReason != "" && ch.finishReason != lastFinish {
			lastFinish = ch.finishReason
			r.FinishReason = textsafe.Escape(truncateString(ch.finishReason, maxFinishReason))
		}
	}
	if usage.seen {
		usage.finish(chunkCount)
	}
	switch {
	case usage.seen && usage.rejected == "":
		r.TokenSource = TokenSourceUsage
		r.PromptTokens, r.OutputTokens = usage.prompt, usage.completion
		if !continuous {
			spreadTokens(r.Chunks, r.OutputTokens)
		}
	default:
		r.TokenSource = TokenSourceChunks
		r.PromptTokens, r.OutputTokens = 0, chunkCount
		r.UsageRejected = textsafe.Escape(usage.rejected)
		for i := range r.Chunks {
			r.Chunks[i].Tokens = 1
		}
	}
	return OutcomeOK, nil
}

// spreadTokens distributes a usage total over chunks that carried no
// per-chunk count: floor(n/c) each, the remainder to the earliest chunks.
// It leaves the chunks alone when the counts already agree.
func spreadTokens(chunks []Chunk, n int) {
	c := len(chunks)
	if c == 0 || n <= c {
		return
	}
	for i := range chunks {
		chunks[i].Tokens = n / c
		if i < n%c {
			chunks[i].Tokens++
		}
	}
}

// truncateBytes returns b as a string of at most n bytes: cut at a rune
// boundary and ended with "…" when it is longer.
func truncateBytes(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	const ellipsis = "…"
	cut := max(n-len(ellipsis), 0)
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return string(b[:cut]) + ellipsis
}

func truncateString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return truncateBytes([]byte(s[:n+1]), n)
}
