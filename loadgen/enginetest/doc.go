// Package enginetest is a fake OpenAI-compatible LLM engine for tests and
// timing-accuracy benchmarks, in the spirit of net/http/httptest.
//
// Its one job: answer the requests a load generator sends to vLLM-style
// servers — streamed and blocking chat and text completions, the model
// list, the version and the health probe — with byte formats like vLLM's,
// token timings from a fixed absolute schedule, faults chosen per request,
// and a server-side record of when every chunk was really flushed. That
// record is the ground truth a client's measured TTFT and inter-token
// latencies are compared with.
//
// # Starting it
//
// [Start] listens on 127.0.0.1 on a free port; [MustStart] does the same in
// a test and registers Close as a cleanup. [NewHandler] returns the engine
// as an [http.Handler] for users who run their own server.
//
//	srv := enginetest.MustStart(t, enginetest.WithTTFT(50*time.Millisecond))
//	resp, err := http.Post(srv.URL()+"/v1/chat/completions", "application/json", body)
//
// # Endpoints
//
//   - POST /v1/chat/completions and POST /v1/completions, streamed
//     (server-sent events) or not. Streams look like vLLM's: a chat stream
//     starts with a chunk whose delta is {"role":"assistant","content":""},
//     then content chunks ("tok0 ", "tok1 ", … — each token is one word and
//     a space), the last of which carries finish_reason "length" or "stop";
//     then, if the request asked for stream_options.include_usage, a chunk
//     with empty choices and the usage; then "data: [DONE]". Text
//     completion streams have no role chunk.
//   - GET /v1/models: the OpenAI list format.
//   - GET /version: {"version": "..."}.
//   - GET /health: 200 with an empty body.
//
// Unknown paths answer 404 {"detail":"Not Found"} and wrong methods 405, as
// FastAPI-based engines do. An unknown model answers 404 with an OpenAI-style
// error body; with [WithAPIKey], a missing or wrong bearer key on /v1/ paths
// answers 401.
//
// # Token counts
//
// The prompt's token count is its number of whitespace-separated words (for
// chat, summed over the text of all messages; no chat template is applied).
// The output length is decided as a model with a fixed natural length
// ([WithOutputTokens]) would: see [Request] for the exact rule with
// max_tokens, min_tokens and ignore_eos.
//
// # Timing
//
// Every chunk is due at an absolute time computed from the request's arrival
// (see [WithTTFT], [WithITL], [WithJitter], [WithTokensPerChunk]); the
// handler sleeps until that time, writes the whole event and flushes it, so
// lateness never accumulates from token to token. Each [ChunkRecord] holds
// both the due time and the time the flush returned. Go's timers on Linux
// wake up to about a millisecond late; [WithBusyWait] trades CPU for
// flushes within microseconds of their due times.
//
// [WithCapacity] gives the engine a hidden capacity, as a serving engine's
// batch slots: beyond n requests in flight, a request waits for a slot
// before its schedule starts, so its time to first token grows with the
// queue. Peak searches are tested against it.
//
// # Ground truth
//
// [Server.Requests] returns one [RequestRecord] per finished request to a
// generation endpoint. Its times are time.Time values taken with time.Now in
// the handler, monotonic reading included, so in the same process they can
// be subtracted from the client's own time.Now values directly.
// [WithRecordSink] hands each record over as its request finishes, for an
// engine that streams its ground truth and keeps nothing (the fakeengine
// command's --records). A record carries the request's X-Request-Id
// (Request.RequestID), which loadgen's client sends, so that a client in
// another process can pair its results with the engine's records and
// compare durations (the monotonic clocks of two processes have different
// origins).
//
// # Faults
//
// [WithFault] picks a [Fault] for each request: an HTTP error status, a
// connection reset mid-stream, a malformed event, an error object inside the
// stream, events split into tiny writes, an oversized event, a stall, a hang,
// or slow response headers. The hostile faults test a client's defences
// against an engine that means harm: usage counts no model could produce
// ([HugeUsage]), an event that never ends ([Unterminated]), content chunks
// of any size ([GiantChunk]), a stream that never ends ([Endless]) and a
// redirect elsewhere ([Redirect]). Faults that write or wait without end
// stop when the client goes away.
//
// [WithSSEFraming] turns on the legal but less common SSE spellings:
// comment lines, "data:" without a space, CRLF line ends.
package enginetest
