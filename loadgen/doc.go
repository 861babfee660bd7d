// Package loadgen drives an OpenAI-compatible LLM engine and measures it:
// a streaming client whose clock a performance engineer can trust, closed-
// and open-loop drivers at a sweep [Point], an engine probe, and the
// latency and throughput metrics computed from the per-request results.
// It is the generic engine: it takes the prompts, the point and the SLO
// predicates from its caller, and imports no envelope. The reference's
// benchmark catalogue — suites, their datasets and dataset hashes, SLO
// templates and hardware classes, and choosing a sweep point from a source
// envelope — is package loadgen/catalog.
//
// # What a request records
//
// [Client.Do] sends one streaming request (one user message, max_tokens 128,
// temperature 0, stream true, as the reference, plus
// stream_options.include_usage so that the server reports token counts) and
// fills a [Result] with monotonic offsets from the run's start: when it was
// due (Scheduled), written (Sent), when the first response byte arrived
// (FirstByte), when the first non-empty content delta arrived (FirstToken;
// role-only chunks do not count), when each content chunk arrived (Chunks)
// and when the stream ended (End: the "data: [DONE]" event, or the failure).
// A chunk arrives when the read that delivered its last byte returns: the
// clock is read once per read, before any parsing, so chunks that came in
// one read share its time and parsing never delays a timestamp. Each
// request carries an X-Request-Id header, "benchprof-<8 hex digits per
// Client>-<Index>", which engines such as vLLM adopt as their request id,
// so engine logs and ground truth pair with the Results; it is recorded
// nowhere in the Result. After [DONE] the client reads the rest of the
// response body (for at most 100 ms), so that its connection serves the
// next request instead of being closed and redialled.
//
// The client reads each event without encoding/json in the usual case: a
// scanner extracts exactly the fields above (choices[0]'s text or
// delta.content, whether non-empty, its finish_reason, and the raw usage
// and error values) and leaves every unusual event — another spelling of a
// field name, a repeated field, a value of the wrong type, a finish_reason
// with escapes, malformed JSON — to encoding/json, whose answer is the
// reference (FuzzChunkScanner holds the scanner to it).
//
// TTFT is FirstToken − Sent. Latencies from Scheduled instead of Sent include
// the time an open-loop arrival queued for a free slot (Result.QueueTime), so
// coordinated omission can be corrected. TPOT is the reference's per-request
// (Total − TTFT) / max(tokens − 1, 1). ITL is per token: the gap between two
// content chunks is split evenly among the tokens the later chunk carries
// (Result.ITLs); Summarize computes the ITL percentiles from (gap/k, weight
// k) pairs, exactly and without expanding them.
//
// Output token counts come from the server's usage object when it sends one
// (TokenSourceUsage) and otherwise from the number of non-empty content
// chunks (TokenSourceChunks). When usage arrives only at the end and
// disagrees with the chunk count, the total is spread over the chunks, so a
// server that sends four tokens per chunk yields four ITL samples per chunk.
// With usage on every chunk (vLLM's continuous usage stats) each chunk's
// count is exact.
//
// # What an engine claims
//
// Every number and byte an engine sends is a claim, checked before it is
// recorded or sizes anything. Usage is believed only when its counts are
// whole JSON numbers with 0 ≤ completion_tokens ≤ max_tokens,
// completion_tokens at least the number of non-empty content chunks and
// never decreasing from one usage object to the next, and 0 ≤
// prompt_tokens ≤ the prompt's length in bytes + 16384 (a tokenizer yields
// at most about one token per byte, and no chat template adds 16384
// tokens). Any JSON number is read without error, however large. Usage
// that fails a check is ignored as a whole: the tokens are counted from the
// content chunks, one each, and Result.UsageRejected says why; the request
// keeps its outcome. A stream may carry at most [WithMaxChunks] content
// chunks (2·max_tokens + 16 by default), one event at most
// [WithMaxEventSize] bytes (1 MiB), and the streams of one client may
// buffer at most [WithEventBufferBudget] bytes beyond 32 KiB each (32 MiB);
// text copied from the engine into an error is cut at 512 bytes. Redirects
// to another origin are refused ([SameOriginOnly]), so the API key stays
// with the engine.
//
// # Outcomes
//
// A request is ok (OutcomeOK) when the engine answered HTTP 200 and the
// event stream was well formed, carried no error object, and ended with
// "data: [DONE]" — or ended cleanly after a finish_reason. An empty
// completion and finish_reason "length" are ok. Anything else is classified:
// OutcomeHTTPStatus (with the status code), OutcomeTransport (connection
// refused or broken, a stream cut short), OutcomeStreamError (malformed
// JSON, an error object, an oversized event, more content chunks than
// allowed), OutcomeTimeout (the
// per-request timeout), OutcomeCutOff (still running when the grace period
// after the duration ended) and OutcomeCancelled (the caller cancelled). The
// error text is kept in Result.Error.
//
// # Engine kinds
//
// [Probe] asks an engine what it is, among the kinds it considers: the
// reference's five ([EngineKinds]: vLLM, SGLang, TensorRT-LLM, llama.cpp,
// MLX) and any an embedder describes as an [EngineKind] — a name, the
// owned_by values of its /v1/models, and a Version function that asks the
// engine through a [Prober] — and passes with [WithEngineKinds]. A kind name
// that is none of them is an error wrapping [ErrUnknownEngine], from Probe
// and from [LookupEngineKind] alike.
//
// # Drivers
//
// A [Driver] issues requests in a [Mode]: [ClosedLoop] with N workers,
// [Poisson] arrivals at rate R from a PCG generator seeded with the
// envelope's seed, or [ConstantRate]. A closed loop's workers start one
// after another, each once the previous one's response has begun
// ([ResponseBegun]), worker w at the latest w steps after the run's start
// ([WithStartStep]), so
// that a simultaneous start's queue in the client and the engine's accept
// path does not land in the first requests' TTFT. Open-loop arrivals are scheduled on
// absolute times from the run's start; an arrival that finds the in-flight
// cap reached waits, and its wait is recorded; arrivals that could not be
// sent before the end of the duration are counted as dropped. The first
// requests by issue order are warmup (recorded, excluded from metrics).
// There are two deadlines: issuing stops at the duration, requests in flight
// then get a grace period, and the rest are cancelled and counted as cut
// off. Results go to a caller-owned [Sink]. When every warmup request
// fails, the run stops early with an error wrapping [ErrWarmupFailed].
// Options are bounded ([MaxConcurrency], [MaxRPS], [MaxDuration]).
package loadgen
