package loadgen

import (
	"time"
)

// Outcome classifies how a request ended. See the package doc for the
// precise definition of OutcomeOK.
type Outcome string

// The outcome classes.
const (
	// OutcomeOK: HTTP 200, a well-formed stream that ended with [DONE] (or a
	// clean end of body after a finish_reason), and no error object in it.
	// An empty completion or finish_reason "length" is still ok.
	OutcomeOK Outcome = "ok"
	// OutcomeHTTPStatus: the server answered with a non-200 status
	// (StatusCode holds it).
	OutcomeHTTPStatus Outcome = "http_status"
	// OutcomeTransport: the connection failed or broke (refused, reset,
	// EOF before the stream ended).
	OutcomeTransport Outcome = "transport_error"
	// OutcomeStreamError: the stream was malformed, or carried an error
	// object.
	OutcomeStreamError Outcome = "stream_error"
	// OutcomeTimeout: the per-request timeout expired.
	OutcomeTimeout Outcome = "timeout"
	// OutcomeCutOff: still in flight when the grace period after the
	// duration ended, and cancelled by the driver.
	OutcomeCutOff Outcome = "cut_off"
	// OutcomeCancelled: the caller's context was cancelled.
	OutcomeCancelled Outcome = "cancelled"
)

// TokenSource says where a request's output token count came from.
type TokenSource string

// Token sources.
const (
	// TokenSourceUsage: the server's usage object (stream_options.include_usage).
	TokenSourceUsage TokenSource = "usage"
	// TokenSourceChunks: the number of non-empty content chunks, when the
	// server sent no usage.
	TokenSourceChunks TokenSource = "chunks"
)

// Result is the record of one request. It is also the JSONL wire format of
// the per-request trace. All times are offsets from the run's start on the
// monotonic clock; a zero offset after Sent means "did not happen".
type Result struct {
	// Index is the request's position in issue order, from 0.
	Index int `json:"index"`
	// Warmup marks the first requests by issue order, excluded from metrics.
	Warmup bool `json:"warmup,omitempty"`
	// Worker is the closed-loop worker that sent it (-1 for open loops).
	Worker int `json:"worker"`
	// Prompt is the index of the prompt in the sized dataset.
	Prompt int `json:"prompt"`

	Outcome      Outcome `json:"outcome"`
	StatusCode   int     `json:"status_code,omitempty"`
	Error        string  `json:"error,omitempty"`
	FinishReason string  `json:"finish_reason,omitempty"`

	// Scheduled is when the request was due (the arrival time in open loops;
	// equal to Sent in closed loops). Sent is when the request was written.
	Scheduled time.Duration `json:"scheduled_ns"`
	Sent      time.Duration `json:"sent_ns"`
	// FirstByte is when the first byte of the response body arrived.
	FirstByte time.Duration `json:"first_byte_ns,omitempty"`
	// FirstToken is when the first non-empty content delta arrived
	// (role-only chunks do not count).
	FirstToken time.Duration `json:"first_token_ns,omitempty"`
	// End is when the stream ended: when the read that delivered
	// "data: [DONE]" returned, or when the stream was found to have ended
	// otherwise or failed.
	End time.Duration `json:"end_ns"`
	// Chunks holds the arrival offset (when the read that completed the
	// chunk returned) and token count of every content chunk, in order;
	// see the package doc for how ITL is derived.
	Chunks []Chunk `json:"chunks,omitempty"`

	PromptTokens int         `json:"prompt_tokens"`
	OutputTokens int         `json:"output_tokens"`
	TokenSource  TokenSource `json:"token_source,omitempty"`
	// UsageRejected says why the usage the engine reported was not
	// believed (e.g. "completion_tokens 100000 exceeds max_tokens 128");
	// the token counts then come from the content chunks (TokenSource
	// "chunks", one token per chunk, PromptTokens 0). It does not change
	// the outcome. Empty when the usage was believed or absent.
	UsageRejected string `json:"usage_rejected,omitempty"`

	// GPUJoules is the GPU energy attributed to the request over the
	// measurement window (the energy package's per-request attribution),
	// which a profile fills in after the run, when it rewrites the trace.
	// It is nil when nothing was attributed (no GPU energy was measured,
	// or the request was not in flight in the window). The load generator
	// never sets it.
	GPUJoules *float64 `json:"gpu_joules,omitempty"`
}

// Chunk is one content-bearing chunk of a stream.
type Chunk struct {
	At     time.Duration `json:"at_ns"`
	Tokens int           `json:"tokens"`
}

// OK reports whether the request succeeded.
func (r *Result) OK() bool { return r.Outcome == OutcomeOK }

// TTFT is the time to first token from the send.
func (r *Result) TTFT() time.Duration {
	if r.FirstToken == 0 {
		return r.End - r.Sent
	}
	return r.FirstToken - r.Sent
}

// QueueTime is how long the request waited after it was due.
func (r *Result) QueueTime() time.Duration { return r.Sent - r.Scheduled }

// Total is the end-to-end latency from the send.
func (r *Result) Total() time.Duration { return r.End - r.Sent }

// TPOT is the per-request time per output token after the first, as the
// reference computes it: (total − TTFT) / max(tokens − 1, 1).
func (r *Result) TPOT() time.Duration {
	n := 1
	if r.OutputTokens > 2 {
		n = r.OutputTokens - 1
	}
	return (r.Total() - r.TTFT()) / time.Duration(n)
}

// MaxITLTokensPerChunk bounds the token count of one chunk in
// [Result.ITLs], so that a Result with an absurd count (one read from a
// file, or built by hand) cannot make it allocate without bound.
const MaxITLTokensPerChunk = 4096

// ITLs returns the inter-token latencies of the request. The gap between two
// consecutive content chunks is divided evenly among the tokens the later
// chunk carries, so a chunk with k tokens contributes k gaps of gap/k; the
// first chunk contributes none (it is the TTFT). A count below 1 is taken
// as 1, and one above MaxITLTokensPerChunk (4096) as 4096, so the result
// has at most 4096 entries per chunk. [Summarize] does not call ITLs: it
// weighs each gap/k by k, exactly, without expanding.
func (r *Result) ITLs() []time.Duration {
	if len(r.Chunks) < 2 {
		return nil
	}
	out := make([]time.Duration, 0, len(r.Chunks))
	for i := 1; i < len(r.Chunks); i++ {
		gap := r.Chunks[i].At - r.Chunks[i-1].At
		k := min(max(r.Chunks[i].Tokens, 1), MaxITLTokensPerChunk)
		for range k {
			out = append(out, gap/time.Duration(k))
		}
	}
	return out
}
