package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"time"
)

// Defaults of the streaming client, as the reference sends them (FACTS §4.6).
const (
	DefaultMaxTokens      = 128
	DefaultRequestTimeout = 120 * time.Second
	// DefaultMaxConnections is the default size of the client's pool of
	// keep-alive connections.
	DefaultMaxConnections = 1024
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
}

// WithAPIKey sends key as "Authorization: Bearer <key>". The key is never
// logged nor recorded. By default no Authorization header is sent.
func WithAPIKey(key string) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.apiKey = key })
}

// WithHTTPClient uses hc for requests. By default the client builds its own
// transport with a connection pool sized by [WithMaxConnections]. With this
// option the caller owns pooling.
func WithHTTPClient(hc *http.Client) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.httpClient = hc })
}

// WithMaxTokens sets max_tokens. By default it is DefaultMaxTokens (128).
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

// WithMaxEventSize bounds one server-sent event. By default it is
// DefaultMaxEventSize (16 MiB).
func WithMaxEventSize(n int) ClientOption {
	return clientOptionFunc(func(c *clientConfig) { c.maxEvent = n })
}

// Client sends streaming completion requests to an OpenAI-compatible engine
// and times them. It is safe for concurrent use; each request is independent.
type Client struct {
	url      string // full endpoint URL
	model    string
	cfg      clientConfig
	hc       *http.Client
	ownPool  *http.Transport
	bodyHead []byte // the JSON body up to the prompt
	bodyTail []byte // the JSON body after the prompt
}

// NewClient returns a client for the model served at baseURL (with or
// without /v1).
func NewClient(baseURL, model string, opts ...ClientOption) (*Client, error) {
	c := clientConfig{maxTokens: DefaultMaxTokens, endpoint: EndpointChat, timeout: DefaultRequestTimeout, maxConns: DefaultMaxConnections, maxEvent: DefaultMaxEventSize}
	for _, o := range opts {
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
	if c.endpoint != EndpointChat && c.endpoint != EndpointCompletions {
		errs = append(errs, fmt.Errorf("unknown endpoint %q", c.endpoint))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loadgen client: %w", err)
	}
	cl := &Client{url: base + string(c.endpoint), model: model, cfg: c}
	cl.hc = c.httpClient
	if cl.hc == nil {
		cl.ownPool = &http.Transport{
			Proxy:               nil, // a benchmark talks to the engine directly
			DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        c.maxConns,
			MaxIdleConnsPerHost: c.maxConns,
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true, // gzip would buffer the stream
			WriteBufferSize:     16 << 10,
			ReadBufferSize:      32 << 10,
		}
		cl.hc = &http.Client{Transport: cl.ownPool}
	}
	cl.bodyHead, cl.bodyTail = cl.bodyTemplate()
	return cl, nil
}

// BaseURL returns the normalized base URL.
func (c *Client) BaseURL() string { return strings.TrimSuffix(c.url, string(c.cfg.endpoint)) }

// Model returns the model name sent with every request.
func (c *Client) Model() string { return c.model }

// MaxTokens returns the max_tokens sent with every request.
func (c *Client) MaxTokens() int { return c.cfg.maxTokens }

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
// token counts and outcome. r.Scheduled, Index, Worker, Prompt and Warmup are
// the caller's; Do sets the rest. Cancelling ctx with cause ErrCutOff yields
// OutcomeCutOff; any other cancellation OutcomeCancelled.
func (c *Client) Do(ctx context.Context, clock Clock, prompt string, r *Result) {
	ctx, cancel := context.WithTimeoutCause(ctx, c.cfg.timeout, errTimeout)
	defer cancel()
	body := c.body(prompt)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		r.Sent = clock.since()
		c.finish(ctx, clock, r, OutcomeTransport, err)
		return
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("User-Agent", "benchprof-loadgen")
	if c.cfg.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.apiKey)
	}
	trace := &httptrace.ClientTrace{
		GotFirstResponseByte: func() { r.FirstByte = clock.since() },
	}
	req = req.WithContext(httptrace.WithClientTrace(ctx, trace))
	r.Sent = clock.since()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.finish(ctx, clock, r, OutcomeTransport, err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		r.StatusCode = resp.StatusCode
		c.finish(ctx, clock, r, OutcomeHTTPStatus, fmt.Errorf("HTTP %d: %s", resp.StatusCode, strings.TrimSpace(string(msg))))
		return
	}
	r.StatusCode = resp.StatusCode
	outcome, err := c.readStream(clock, resp.Body, r)
	c.finish(ctx, clock, r, outcome, err)
}

// finish records the end of a request, reclassifying failures caused by
// the context (timeout, cut-off, cancellation).
func (c *Client) finish(ctx context.Context, clock Clock, r *Result, outcome Outcome, err error) {
	r.End = clock.since()
	if r.Sent == 0 && r.End > 0 {
		r.Sent = r.End
	}
	if outcome != OutcomeOK && ctx.Err() != nil {
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
		r.Error = err.Error()
	}
}

// streamChunk is the part of a chunk the client reads. Chat chunks carry
// choices[].delta.content, completion chunks choices[].text.
type streamChunk struct {
	Choices []struct {
		Delta struct {
			Content *string `json:"content"`
		} `json:"delta"`
		Text         *string `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		PromptTokens     int `json:"prompt_tokens"`
		CompletionTokens int `json:"completion_tokens"`
	} `json:"usage"`
	Error json.RawMessage `json:"error"`
}

// readStream consumes the event stream, recording each content chunk.
func (c *Client) readStream(clock Clock, body io.Reader, r *Result) (Outcome, error) {
	sse := newSSEReader(body, c.cfg.maxEvent)
	usageSeen, continuous := false, false
	lastUsage := 0
	chunkCount := 0
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
		at := clock.since()
		if string(ev.Data) == "[DONE]" {
			break
		}
		var ch streamChunk
		if err := json.Unmarshal(ev.Data, &ch); err != nil {
			return OutcomeStreamError, fmt.Errorf("malformed event %q: %w", truncateBytes(ev.Data, 120), err)
		}
		if len(ch.Error) > 0 && string(ch.Error) != "null" {
			return OutcomeStreamError, fmt.Errorf("error in stream: %s", truncateBytes(ch.Error, 500))
		}
		if string(ev.Type) == "error" {
			return OutcomeStreamError, fmt.Errorf("error event: %s", truncateBytes(ev.Data, 500))
		}
		tokens := 0
		if ch.Usage != nil {
			if len(ch.Choices) > 0 {
				continuous = true // usage on content chunks: per-chunk counts are known
			}
			tokens = ch.Usage.CompletionTokens - lastUsage
			lastUsage = ch.Usage.CompletionTokens
			usageSeen = true
			r.PromptTokens = ch.Usage.PromptTokens
			r.OutputTokens = ch.Usage.CompletionTokens
		}
		for _, choice := range ch.Choices {
			text := choice.Delta.Content
			if choice.Text != nil {
				text = choice.Text
			}
			if text != nil && *text != "" {
				if r.FirstToken == 0 {
					r.FirstToken = at
				}
				k := 1
				if continuous && tokens > 0 {
					k = tokens
				}
				r.Chunks = append(r.Chunks, Chunk{At: at, Tokens: k})
				chunkCount++
			}
			if choice.FinishReason != nil && *choice.FinishReason != "" {
				r.FinishReason = *choice.FinishReason
			}
			break // choices[0] only, as the reference
		}
	}
	if usageSeen {
		r.TokenSource = TokenSourceUsage
		if !continuous {
			spreadTokens(r.Chunks, r.OutputTokens)
		}
	} else {
		r.TokenSource = TokenSourceChunks
		r.OutputTokens = chunkCount
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

func truncateBytes(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}
