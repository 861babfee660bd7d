package enginetest

import "time"

// The generation endpoints, as they appear in Request.Endpoint.
const (
	PathChatCompletions = "/v1/chat/completions"
	PathCompletions     = "/v1/completions"
)

// MaxRequestIDBytes bounds Request.RequestID.
const MaxRequestIDBytes = 256

// Request is what the engine read from a request to a generation endpoint.
//
// The output length follows from the natural length L (WithOutputTokens)
// and the effective max_tokens M (MaxTokens, or DefaultRequestMaxTokens when
// it is 0): with IgnoreEOS, exactly M tokens and finish_reason "length";
// otherwise the model stops after E = max(L, MinTokens) tokens, so the
// output is min(E, M) tokens with finish_reason "length" when E ≥ M and
// "stop" otherwise.
type Request struct {
	// Seq numbers the requests to generation endpoints in order of arrival
	// at the handler, from 0. ResetRequests does not restart it.
	Seq int
	// Endpoint is PathChatCompletions or PathCompletions.
	Endpoint string
	// RequestID is the request's X-Request-Id header (as vLLM takes it for
	// its own request id), cut to MaxRequestIDBytes; empty when it sent
	// none. Clients use it to pair their records with the engine's.
	RequestID string
	// Model is the served model the request resolved to (the first one
	// when the request named none), or the unknown id of a 404.
	Model string
	// Stream and IncludeUsage are the request's stream and
	// stream_options.include_usage.
	Stream       bool
	IncludeUsage bool
	// MaxTokens is max_tokens (or max_completion_tokens when max_tokens is
	// absent); 0 when the request sent neither.
	MaxTokens int
	// MinTokens and IgnoreEOS are vLLM's min_tokens and ignore_eos.
	MinTokens int
	IgnoreEOS bool
	// Prompt is a completion's prompt, or a chat's message texts joined
	// with "\n".
	Prompt string
}

// RequestRecord is the server-side ground truth of one request to a
// generation endpoint. Times come from time.Now in the handler and keep the
// monotonic clock reading, so they can be compared with the client's
// time.Now values in the same process; a zero time means "did not happen".
type RequestRecord struct {
	// Request holds the parsed body. When the request was rejected before
	// its body was read (401, 503) only Seq and Endpoint are set.
	Request
	// RemoteAddr is the client's address as the server saw it
	// (http.Request.RemoteAddr): requests with the same one came over the
	// same connection.
	RemoteAddr string
	// Status is the HTTP status sent, or 0 when no status line went out
	// (a reset or hang before the headers, a client that went away).
	Status int
	// Fault is the fault chosen for the request, or nil.
	Fault Fault
	// PromptTokens and OutputTokens are the planned usage numbers (what a
	// usage object reports). The tokens actually flushed are the sum of
	// Chunks[i].Tokens.
	PromptTokens int
	OutputTokens int
	// FinishReason is the planned finish_reason, "length" or "stop"; empty
	// when the request was rejected.
	FinishReason string

	// Arrival is when the handler was entered.
	Arrival time.Time
	// Admitted is when the request got a generation slot (WithCapacity):
	// its response's schedule starts there. It equals Arrival without
	// WithCapacity, and is zero for a request rejected before generation
	// or one whose client went away while it waited.
	Admitted time.Time
	// HeadersSent is when the status line and headers were flushed.
	HeadersSent time.Time
	// FirstByte is when the first event was flushed.
	FirstByte time.Time
	// FirstToken is when the first content chunk carrying at least one
	// token was flushed. For a blocking response, HeadersSent, FirstByte
	// and FirstToken (when it carries tokens) are all when the whole body
	// was flushed.
	FirstToken time.Time
	// Chunks are the content chunks that were flushed, in order (a blocking
	// response counts as one chunk carrying every token). The role, usage
	// and [DONE] events are not chunks.
	Chunks []ChunkRecord
	// End is when the handler finished writing (or gave up).
	End time.Time
	// Err says why the response ended early for a reason other than its
	// fault: the client went away (wrapping context.Canceled or a write
	// error), the handler was closed (ErrClosed), or the fault was invalid
	// (ErrInvalidFault).
	Err error
}

// ChunkRecord is one flushed content chunk.
type ChunkRecord struct {
	// Due is when the schedule wanted the chunk flushed.
	Due time.Time
	// Flushed is when the flush of the chunk's event returned.
	Flushed time.Time
	// Tokens is how many tokens the chunk carried.
	Tokens int
}
