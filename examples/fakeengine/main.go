// Command fakeengine serves loadgen/enginetest, the fake OpenAI-compatible
// LLM engine, from a process of its own, so that a client can be measured
// as a black box: its memory, its exit status and its files, with the
// engine's own work counted elsewhere.
//
//	fakeengine [--addr 127.0.0.1:0] [--model ID]... [--version V]
//	           [--ttft D] [--itl D] [--tokens N] [--tokens-per-chunk K]
//	           [--capacity N] [--api-key KEY] [--records FILE] [--fault KIND [fault flags]]
//
// Once it listens it prints exactly one line to stdout,
//
//	listening on http://127.0.0.1:PORT
//
// (the base URL, without /v1), and serves until SIGINT or SIGTERM. It then
// closes every connection, cuts off the streams still running, prints one
// summary line to stderr (requests served; for a redirect to its own second
// listener, the requests and Authorization headers that listener saw) and
// exits 0. It exits 2 on a usage error and 1 when it cannot listen.
//
// --capacity N gives the engine a hidden capacity (enginetest.WithCapacity):
// at most N requests are generated at once, the others wait for a slot, so
// their time to first token grows with the queue, a peak for
// `bench profile --find-peak` to find.
//
// --fault injects one misbehaviour into every generation request
// (POST /v1/chat/completions and /v1/completions); the model list, /version
// and /health stay healthy, as on a real engine that is broken or hostile
// only where it generates:
//
//	none          a healthy engine (the default)
//	http500       HTTP 500 "injected failure" (enginetest.HTTPStatus)
//	huge-usage    the usage object claims --usage N completion tokens, N
//	              given as raw JSON number text: 9223372036854775807, 1e9,
//	              100000, -5, 1e400 (enginetest.HugeUsage)
//	unterminated  one SSE line that never ends (enginetest.Unterminated)
//	giant-chunk   every content chunk padded to --chunk-bytes (default
//	              15 MiB), each still valid JSON (enginetest.GiantChunk)
//	endless       one-token content chunks without end, as fast as the
//	              client reads them (enginetest.Endless)
//	redirect      307 to --redirect-to URL; without it, to the same path
//	              on a second listener on 127.0.0.1:0 that answers 404 and
//	              counts the requests that reach it and those carrying an
//	              Authorization header (enginetest.Redirect)
//	stall         after --stall-after content chunks (default 1), nothing
//	              for --stall-for (default 1h) (enginetest.Stall)
//
// --healthy-prefix P serves the generation requests whose prompt (a chat's
// message texts joined with "\n") starts with P healthy, and injects the
// fault into every other one. Give a client a dataset whose first prompts
// (its warmup requests') start with P, and the engine passes the client's
// warmup and turns hostile afterwards: the client's limits, not its warmup
// verdict, must then contain it for the whole run.
//
// --records FILE writes the engine's ground truth: one JSON line per
// request to a generation endpoint, in the order the requests finished,
// with the times enginetest records on the server side (see
// enginetest.RequestRecord):
//
//	{"seq":0,"request_id":"benchprof-1f2e3d4c-0","remote_addr":"127.0.0.1:40312",
//	 "status":200,"arrival_ns":1520934,"headers_ns":1601222,
//	 "first_byte_ns":41620113,"first_token_ns":41620113,"end_ns":357904411,
//	 "chunks":64,"tokens":64}
//
// seq numbers the requests in order of arrival; request_id is the
// request's X-Request-Id header (loadgen's client sends one per request,
// ending in the request's index), absent when it sent none; remote_addr
// is the client's end of the connection (the first request of each
// remote_addr opened its connection). Times are
// nanoseconds from the engine's start on the engine's monotonic clock:
// arrival (the handler entered), headers sent, first event flushed, first
// content chunk flushed, end of the handler; a time that did not happen is
// absent. Another process's clock has another origin, so compare durations
// (first_token_ns − arrival_ns is the engine's own TTFT), never instants.
// status is the HTTP status sent (0: none), chunks and tokens the content
// chunks flushed and the tokens they carried, and error why the response
// ended early (the client went away, the engine was closed), if it did.
// Lines are buffered and the file is complete once the engine has exited;
// it costs the engine about 200 bytes of file per request and no memory
// that grows with the run.
//
// It keeps no per-request records in memory, so it can serve a long
// benchmark in constant memory, except what the faults themselves cost:
// giant-chunk builds every chunk in memory, so 256 streams of 15 MiB chunks
// cost the engine gigabytes (2.5 to 4 GiB measured).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// Defaults of the flags that are not enginetest's own defaults.
const (
	// DefaultAddr listens on a free loopback port.
	DefaultAddr = "127.0.0.1:0"
	// DefaultModel is the model of the bundled demo envelope, so that
	// `bench profile` of that envelope finds it served.
	DefaultModel = "Qwen/Qwen2.5-72B-Instruct"
	// DefaultVersion is the version `bench demo` reports.
	DefaultVersion = "0.22.1-enginetest"
	// DefaultChunkBytes is the content size of a giant-chunk chunk: 15 MiB,
	// far beyond a client's 1 MiB event limit.
	DefaultChunkBytes = 15 << 20
	// DefaultStallAfter and DefaultStallFor shape the stall fault: a
	// first token, then silence for longer than any benchmark waits.
	DefaultStallAfter = 1
	DefaultStallFor   = time.Hour
)

// Exit statuses.
const (
	exitFailure = 1
	exitUsage   = 2
)

// readHeaderTimeout bounds how long the servers wait for request headers.
const readHeaderTimeout = 10 * time.Second

// The fault kinds --fault accepts, in the order the doc lists them.
var faultKinds = []string{"none", "http500", "huge-usage", "unterminated", "giant-chunk", "endless", "redirect", "stall"}

// faultFlags names, for every flag that shapes one fault, that fault.
var faultFlags = map[string]string{
	"usage":       "huge-usage",
	"chunk-bytes": "giant-chunk",
	"redirect-to": "redirect",
	"stall-after": "stall",
	"stall-for":   "stall",
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, stop, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		var ue usageError
		code := exitFailure
		if errors.As(err, &ue) {
			code = exitUsage
		}
		fmt.Fprintln(os.Stderr, "fakeengine:", err)
		os.Exit(code)
	}
}

// usageError is an error in the command line (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// modelList is a repeatable flag that also takes comma-separated lists.
type modelList []string

func (m *modelList) String() string { return strings.Join(*m, ",") }
func (m *modelList) Set(v string) error {
	for _, id := range strings.Split(v, ",") {
		if id = strings.TrimSpace(id); id == "" {
			return errors.New("empty model id")
		}
		*m = append(*m, id)
	}
	return nil
}

// config is the parsed command line.
type config struct {
	addr           string
	models         modelList
	version        string
	ttft, itl      time.Duration
	tokens         int
	tokensPerChunk int
	capacity       int
	apiKey         string
	fault          string
	usage          string
	chunkBytes     int
	redirectTo     string
	stallAfter     int
	stallFor       time.Duration
	healthyPrefix  string
	records        string
}

func parseFlags(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("fakeengine", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.addr, "addr", DefaultAddr, "loopback address to listen on")
	fs.Var(&c.models, "model", "served model id (repeatable, or a comma-separated list; default "+DefaultModel+")")
	fs.StringVar(&c.version, "version", DefaultVersion, "the version /version reports")
	fs.DurationVar(&c.ttft, "ttft", enginetest.DefaultTTFT, "time to first token")
	fs.DurationVar(&c.itl, "itl", enginetest.DefaultITL, "inter-token latency")
	fs.IntVar(&c.tokens, "tokens", enginetest.DefaultOutputTokens, "natural output length in tokens (max_tokens may stop it first)")
	fs.IntVar(&c.tokensPerChunk, "tokens-per-chunk", enginetest.DefaultTokensPerChunk, "tokens per streamed content chunk")
	fs.IntVar(&c.capacity, "capacity", 0, "generate at most this many requests at once; the others wait for a slot (default no limit)")
	fs.StringVar(&c.apiKey, "api-key", "", "require this bearer key on /v1/ paths (default none)")
	fs.StringVar(&c.fault, "fault", "none", "fault injected into every generation request: "+strings.Join(faultKinds, ", "))
	fs.StringVar(&c.usage, "usage", "", "huge-usage: the completion_tokens claimed, as raw JSON number text (e.g. 9223372036854775807, 1e400, -5)")
	fs.IntVar(&c.chunkBytes, "chunk-bytes", DefaultChunkBytes, "giant-chunk: content bytes of every chunk")
	fs.StringVar(&c.redirectTo, "redirect-to", "", "redirect: the Location (default a second listener of its own on 127.0.0.1:0)")
	fs.IntVar(&c.stallAfter, "stall-after", DefaultStallAfter, "stall: content chunks sent before the stall")
	fs.DurationVar(&c.stallFor, "stall-for", DefaultStallFor, "stall: how long nothing is sent")
	fs.StringVar(&c.healthyPrefix, "healthy-prefix", "", "serve requests whose prompt starts with this healthy (e.g. a client's warmup prompts)")
	fs.StringVar(&c.records, "records", "", "write one JSON line per generation request with the engine's own times to this file (complete on exit)")
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	if fs.NArg() > 0 {
		return nil, usagef("unexpected argument %q", fs.Arg(0))
	}
	if len(c.models) == 0 {
		c.models = modelList{DefaultModel}
	}
	return c, c.validate(fs)
}

// validate checks what enginetest does not: the fault and its flags, and
// that the address is a loopback one.
func (c *config) validate(fs *flag.FlagSet) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	known := false
	for _, k := range faultKinds {
		known = known || c.fault == k
	}
	if !known {
		bad("--fault %q: want one of %s", c.fault, strings.Join(faultKinds, ", "))
	}
	fs.Visit(func(f *flag.Flag) {
		if want, ok := faultFlags[f.Name]; ok && want != c.fault {
			bad("--%s is for --fault %s, not %s", f.Name, want, c.fault)
		}
	})
	switch c.fault {
	case "huge-usage":
		if !isJSONNumber(c.usage) {
			bad("--fault huge-usage needs --usage N, one JSON number (got %q)", c.usage)
		}
	case "giant-chunk":
		if c.chunkBytes <= 0 {
			bad("--chunk-bytes %d: must be positive", c.chunkBytes)
		}
	case "redirect":
		if c.redirectTo != "" {
			if u, err := url.Parse(c.redirectTo); err != nil || !u.IsAbs() || u.Host == "" {
				bad("--redirect-to %q: want an absolute URL", c.redirectTo)
			}
		}
	case "stall":
		if c.stallAfter < 0 {
			bad("--stall-after %d: must not be negative", c.stallAfter)
		}
		if c.stallFor <= 0 {
			bad("--stall-for %v: must be positive", c.stallFor)
		}
	}
	if c.healthyPrefix != "" && c.fault == "none" {
		bad("--healthy-prefix needs a --fault")
	}
	if host, _, err := net.SplitHostPort(c.addr); err != nil {
		bad("--addr %q: %v", c.addr, err)
	} else if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		bad("--addr %q: fakeengine serves on loopback addresses only (127.0.0.1, ::1, localhost)", c.addr)
	}
	if err := errors.Join(errs...); err != nil {
		return usageError{err}
	}
	return nil
}

// isJSONNumber reports whether s is one JSON number.
func isJSONNumber(s string) bool {
	if s == "" || s[0] != '-' && (s[0] < '0' || s[0] > '9') {
		return false
	}
	var n json.Number
	return json.Unmarshal([]byte(s), &n) == nil
}

// options turns the configuration into enginetest options; target is the
// redirect's origin when it is the second listener ("" otherwise).
func (c *config) options(target string) []enginetest.Option {
	opts := []enginetest.Option{
		enginetest.WithModels(c.models...), enginetest.WithVersion(c.version),
		enginetest.WithTTFT(c.ttft), enginetest.WithITL(c.itl),
		enginetest.WithOutputTokens(c.tokens), enginetest.WithTokensPerChunk(c.tokensPerChunk),
	}
	if c.apiKey != "" {
		opts = append(opts, enginetest.WithAPIKey(c.apiKey))
	}
	if c.capacity != 0 {
		opts = append(opts, enginetest.WithCapacity(c.capacity))
	}
	var choose func(enginetest.Request) enginetest.Fault
	var fault enginetest.Fault
	switch c.fault {
	case "http500":
		fault = enginetest.HTTPStatus{Code: http.StatusInternalServerError, Body: "injected failure"}
	case "huge-usage":
		fault = enginetest.HugeUsage{CompletionTokens: json.Number(c.usage)}
	case "unterminated":
		fault = enginetest.Unterminated{}
	case "giant-chunk":
		fault = enginetest.GiantChunk{Size: c.chunkBytes}
	case "endless":
		fault = enginetest.Endless{}
	case "stall":
		fault = enginetest.Stall{AfterChunks: c.stallAfter, For: c.stallFor}
	case "redirect":
		if target == "" {
			fault = enginetest.Redirect{Location: c.redirectTo}
			break
		}
		// The same path on the other origin: what a hijacked engine would
		// ask a client to repeat its POST, key and all, at.
		choose = func(r enginetest.Request) enginetest.Fault { return enginetest.Redirect{Location: target + r.Endpoint} }
	}
	if fault != nil {
		choose = func(enginetest.Request) enginetest.Fault { return fault }
	}
	if choose == nil {
		return opts
	}
	return append(opts, enginetest.WithFault(func(r enginetest.Request) enginetest.Fault {
		if c.healthyPrefix != "" && strings.HasPrefix(r.Prompt, c.healthyPrefix) {
			return nil
		}
		return choose(r)
	}))
}

// counter counts the requests a handler serves.
type counter struct {
	all, generation, authorized atomic.Int64
}

func (n *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.all.Add(1)
		if r.URL.Path == enginetest.PathChatCompletions || r.URL.Path == enginetest.PathCompletions {
			n.generation.Add(1)
		}
		if r.Header.Get("Authorization") != "" {
			n.authorized.Add(1)
		}
		h.ServeHTTP(w, r)
	})
}

// otherOrigin is the redirect's target when --redirect-to is not given: it
// records what reaches it and answers 404, as a server that is not an
// engine would.
type otherOrigin struct {
	srv  *http.Server
	url  string
	seen counter
}

func startOtherOrigin() (*otherOrigin, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the redirect target: %w", err)
	}
	o := &otherOrigin{url: "http://" + l.Addr().String()}
	o.srv = &http.Server{ReadHeaderTimeout: readHeaderTimeout, Handler: o.seen.wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, `{"detail":"Not Found"}`, http.StatusNotFound)
	}))}
	go func() { _ = o.srv.Serve(l) }()
	return o, nil
}

// run serves until ctx is done. release is called once the server is
// shutting down, so that a second signal ends the process at once.
func run(ctx context.Context, release func(), args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args)
	if err != nil {
		return err
	}
	var other *otherOrigin
	if c.fault == "redirect" && c.redirectTo == "" {
		if other, err = startOtherOrigin(); err != nil {
			return err
		}
		defer other.srv.Close()
	}
	target := ""
	if other != nil {
		target = other.url
	}
	start := time.Now()
	opts := c.options(target)
	var recs *recordWriter
	if c.records != "" {
		f, err := os.Create(c.records)
		if err != nil {
			return fmt.Errorf("--records: %w", err)
		}
		recs = newRecordWriter(f, start)
		defer recs.close() // on the early returns; the normal end checks its error
		opts = append(opts, enginetest.WithRecordSink(recs.write))
	}
	h, err := enginetest.NewHandler(opts...)
	if err != nil {
		return usageError{err}
	}
	l, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", c.addr, err)
	}
	var served counter
	srv := &http.Server{ReadHeaderTimeout: readHeaderTimeout, Handler: served.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		h.ResetRequests() // no records are read: keep memory flat
	}))}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(l) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", l.Addr())
	if other != nil {
		fmt.Fprintf(stderr, "fakeengine: redirecting generation requests to %s (a second listener of its own)\n", other.url)
	}
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		h.Close()
		return fmt.Errorf("serving: %w", err)
	}
	release()
	_ = srv.Close() // closes the listener and every connection: blocked writes return
	h.Close()       // cuts off what still runs and waits for it
	summary := fmt.Sprintf("fakeengine: served %d requests (%d to generation endpoints) in %.1fs with --fault %s",
		served.all.Load(), served.generation.Load(), time.Since(start).Seconds(), c.fault)
	if other != nil {
		_ = other.srv.Close()
		summary += fmt.Sprintf("; the other origin %s saw %d requests, %d with an Authorization header",
			other.url, other.seen.all.Load(), other.seen.authorized.Load())
	}
	fmt.Fprintln(stderr, summary)
	if recs != nil {
		if err := recs.close(); err != nil {
			return fmt.Errorf("--records %s: %w", c.records, err)
		}
	}
	return nil
}

// recordWriter writes the engine's records as JSON lines (see the package
// doc). It is safe for concurrent use; the first error is kept.
type recordWriter struct {
	start time.Time
	mu    sync.Mutex
	f     *os.File
	w     *bufio.Writer
	line  []byte
	err   error
	done  bool
}

func newRecordWriter(f *os.File, start time.Time) *recordWriter {
	return &recordWriter{start: start, f: f, w: bufio.NewWriterSize(f, 64<<10)}
}

// write appends one record; it is the engine's record sink.
func (rw *recordWriter) write(rec enginetest.RequestRecord) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.err != nil || rw.done {
		return
	}
	b := append(rw.line[:0], `{"seq":`...)
	b = strconv.AppendInt(b, int64(rec.Seq), 10)
	if rec.RequestID != "" {
		b = append(b, `,"request_id":`...)
		b = appendJSONString(b, rec.RequestID)
	}
	if rec.RemoteAddr != "" {
		b = append(b, `,"remote_addr":`...)
		b = appendJSONString(b, rec.RemoteAddr)
	}
	b = append(b, `,"status":`...)
	b = strconv.AppendInt(b, int64(rec.Status), 10)
	for _, t := range []struct {
		name string
		at   time.Time
	}{{"arrival_ns", rec.Arrival}, {"headers_ns", rec.HeadersSent}, {"first_byte_ns", rec.FirstByte}, {"first_token_ns", rec.FirstToken}, {"end_ns", rec.End}} {
		if !t.at.IsZero() {
			b = append(b, `,"`...)
			b = append(b, t.name...)
			b = append(b, `":`...)
			b = strconv.AppendInt(b, int64(t.at.Sub(rw.start)), 10)
		}
	}
	tokens := 0
	for _, ch := range rec.Chunks {
		tokens += ch.Tokens
	}
	b = append(b, `,"chunks":`...)
	b = strconv.AppendInt(b, int64(len(rec.Chunks)), 10)
	b = append(b, `,"tokens":`...)
	b = strconv.AppendInt(b, int64(tokens), 10)
	if rec.Err != nil {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, rec.Err.Error())
	}
	b = append(b, "}\n"...)
	rw.line = b
	_, rw.err = rw.w.Write(b)
}

// close flushes and closes the file; it is idempotent and returns the first
// error.
func (rw *recordWriter) close() error {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	if rw.done {
		return rw.err
	}
	rw.done = true
	if err := rw.w.Flush(); rw.err == nil {
		rw.err = err
	}
	if err := rw.f.Close(); rw.err == nil {
		rw.err = err
	}
	return rw.err
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string cannot fail
	return append(b, q...)
}
