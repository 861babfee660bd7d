package loadgen_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// TestClientDistrustsUsage: usage claims no engine could make are ignored
// end to end; the request stays ok and its tokens come from the chunks.
func TestClientDistrustsUsage(t *testing.T) {
	tests := []struct {
		fault enginetest.HugeUsage
		why   string
	}{
		{enginetest.HugeUsage{CompletionTokens: "9223372036854775807"}, "completion_tokens 9223372036854775807 exceeds max_tokens 128"},
		{enginetest.HugeUsage{CompletionTokens: "1e9"}, "completion_tokens 1e9 exceeds max_tokens 128"},
		{enginetest.HugeUsage{CompletionTokens: "100000"}, "completion_tokens 100000 exceeds max_tokens 128"},
		{enginetest.HugeUsage{CompletionTokens: "1e400"}, "completion_tokens 1e400 exceeds max_tokens 128"},
		{enginetest.HugeUsage{CompletionTokens: "-5"}, "completion_tokens -5 is negative"},
		{enginetest.HugeUsage{PromptTokens: "1e9"}, "prompt_tokens 1e9 exceeds 16395 (the prompt's 11 bytes + 16384)"},
	}
	for _, tt := range tests {
		t.Run(tt.why, func(t *testing.T) {
			srv := enginetest.MustStart(t, enginetest.WithOutputTokens(8), enginetest.WithFault(func(enginetest.Request) enginetest.Fault { return tt.fault }))
			r := do(t, srv, context.Background())
			type view struct {
				Outcome  loadgen.Outcome
				Source   loadgen.TokenSource
				Output   int
				Prompt   int
				ITLs     int
				Rejected string
			}
			got := view{r.Outcome, r.TokenSource, r.OutputTokens, r.PromptTokens, len(r.ITLs()), r.UsageRejected}
			want := view{loadgen.OutcomeOK, loadgen.TokenSourceChunks, 8, 0, 7, tt.why}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			sum := loadgen.Summarize([]loadgen.Result{r}, loadgen.SLO{})
			if sum.UsageRejected != 1 || sum.OutputTokens != 8 || sum.ITL.N != 7 {
				t.Errorf("summary: rejected %d, output %d, ITL N %d", sum.UsageRejected, sum.OutputTokens, sum.ITL.N)
			}
		})
	}
}

// TestClientBoundsHostileStreams: streams that would make a request hold
// or record without bound fail quickly, with a message naming the limit.
func TestClientBoundsHostileStreams(t *testing.T) {
	long := strings.Repeat("e", 10_000)
	tests := []struct {
		name    string
		fault   enginetest.Fault
		cliOpts []loadgen.ClientOption
		want    loadgen.Outcome
		errText string
		chunks  int
	}{
		{name: "unterminated event", fault: enginetest.Unterminated{}, want: loadgen.OutcomeStreamError,
			errText: "server-sent event too large: it exceeds the 1 MiB limit (loadgen.WithMaxEventSize)"},
		{name: "giant chunks", fault: enginetest.GiantChunk{Size: 2 << 20}, want: loadgen.OutcomeStreamError,
			errText: "server-sent event too large: it exceeds the 1 MiB limit (loadgen.WithMaxEventSize)"},
		{name: "large chunks within the limit", fault: enginetest.GiantChunk{Size: 100 << 10}, want: loadgen.OutcomeOK, chunks: 8},
		{name: "large chunks beyond the budget", fault: enginetest.GiantChunk{Size: 100 << 10}, cliOpts: []loadgen.ClientOption{loadgen.WithEventBufferBudget(0)},
			want: loadgen.OutcomeStreamError, errText: "the client's 0 bytes event buffer budget, shared by all its streams, is used up (loadgen.WithEventBufferBudget)"},
		{name: "endless stream", fault: enginetest.Endless{}, want: loadgen.OutcomeStreamError,
			errText: "engine sent more than 272 content chunks for max_tokens 128", chunks: 272},
		{name: "endless stream, lower bound", fault: enginetest.Endless{}, cliOpts: []loadgen.ClientOption{loadgen.WithMaxChunks(20)}, want: loadgen.OutcomeStreamError,
			errText: "engine sent more than 20 content chunks for max_tokens 128", chunks: 20},
		{name: "long HTTP error body", fault: enginetest.HTTPStatus{Code: 500, Body: long}, want: loadgen.OutcomeHTTPStatus, errText: "HTTP 500: eeee"},
		{name: "long error object", fault: enginetest.StreamError{Message: long}, want: loadgen.OutcomeStreamError, errText: "error in stream: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := enginetest.MustStart(t, enginetest.WithOutputTokens(8), enginetest.WithFault(func(enginetest.Request) enginetest.Fault { return tt.fault }))
			start := time.Now()
			r := do(t, srv, context.Background(), tt.cliOpts...)
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("request took %v", took)
			}
			if r.Outcome != tt.want || !strings.Contains(r.Error, tt.errText) {
				t.Fatalf("outcome %s, error %q; want %s and %q", r.Outcome, r.Error, tt.want, tt.errText)
			}
			if len(r.Chunks) != tt.chunks {
				t.Errorf("%d chunks recorded; want %d", len(r.Chunks), tt.chunks)
			}
			if len(r.Error) > 600 {
				t.Errorf("error text is %d bytes", len(r.Error))
			}
		})
	}
}

// headerRecorder is an engine on another origin that records the
// Authorization header of every request it gets.
type headerRecorder struct {
	mu   sync.Mutex
	auth []string
}

func (h *headerRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.auth = append(h.auth, r.Header.Get("Authorization"))
	h.mu.Unlock()
	http.Error(w, "not the engine", http.StatusTeapot)
}

func (h *headerRecorder) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.auth...)
}

// TestClientRefusesCrossOriginRedirects: a redirect to another port fails
// the request, and the API key never reaches the other origin, whether
// the client uses its own transport or the caller's.
func TestClientRefusesCrossOriginRedirects(t *testing.T) {
	rec := &headerRecorder{}
	other := httptest.NewServer(rec)
	defer other.Close()
	target := other.URL + "/v1/chat/completions"
	srv := enginetest.MustStart(t, enginetest.WithFault(func(enginetest.Request) enginetest.Fault {
		return enginetest.Redirect{Location: target}
	}))
	callers := &http.Client{Transport: &http.Transport{}}
	defer callers.CloseIdleConnections()
	for name, opts := range map[string][]loadgen.ClientOption{
		"own transport":    {loadgen.WithAPIKey("sekret")},
		"caller's client":  {loadgen.WithAPIKey("sekret"), loadgen.WithHTTPClient(callers)},
		"completions path": {loadgen.WithAPIKey("sekret"), loadgen.WithEndpoint(loadgen.EndpointCompletions)},
	} {
		t.Run(name, func(t *testing.T) {
			r := do(t, srv, context.Background(), opts...)
			want := "engine redirected to " + strings.Replace(target, "/v1/chat/completions", "", 1)
			if r.Outcome != loadgen.OutcomeTransport || !strings.Contains(r.Error, want) ||
				!strings.Contains(r.Error, "(another origin); benchprof does not follow cross-origin redirects — point the base URL at the engine itself") {
				t.Errorf("outcome %s, error %q; want transport_error naming %s", r.Outcome, r.Error, target)
			}
		})
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("the other origin got %d requests (Authorization %q); want none", len(got), got)
	}
	if callers.CheckRedirect != nil {
		t.Error("NewClient modified the caller's http.Client")
	}
}

// TestClientFollowsSameOriginRedirects: a redirect on the engine's own
// origin is followed.
func TestClientFollowsSameOriginRedirects(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithOutputTokens(4), enginetest.WithAPIKey("sekret"),
		enginetest.WithFault(func(r enginetest.Request) enginetest.Fault {
			if r.Seq == 0 {
				return enginetest.Redirect{Location: enginetest.PathChatCompletions + "?again=1"}
			}
			return nil
		}))
	r := do(t, srv, context.Background(), loadgen.WithAPIKey("sekret"))
	if !r.OK() || r.OutputTokens != 4 {
		t.Fatalf("outcome %s (%s), %d tokens; want ok with 4", r.Outcome, r.Error, r.OutputTokens)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("engine saw %d requests; want the redirect and the completion", n)
	}
}

func TestSameOriginOnly(t *testing.T) {
	rec := &headerRecorder{}
	other := httptest.NewServer(rec)
	defer other.Close()
	loop := 0
	engine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/stolen", http.StatusTemporaryRedirect)
		case "/loop":
			loop++
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			fmt.Fprint(w, "ok")
		}
	}))
	defer engine.Close()
	get := func(hc *http.Client, path string) (*http.Response, error) {
		req, _ := http.NewRequest(http.MethodGet, engine.URL+path, nil)
		req.Header.Set("Authorization", "Bearer sekret")
		resp, err := hc.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return resp, err
	}

	hc := loadgen.SameOriginOnly(nil)
	_, err := get(hc, "/away")
	if !errors.Is(err, loadgen.ErrCrossOriginRedirect) || !strings.Contains(err.Error(), other.URL+"/stolen") {
		t.Errorf("cross-origin: %v; want ErrCrossOriginRedirect naming the target", err)
	}
	if resp, err := get(hc, "/here"); err != nil || resp.StatusCode != 200 {
		t.Errorf("same origin: %v; want it followed", err)
	}
	if _, err := get(hc, "/loop"); err == nil || !strings.Contains(err.Error(), "stopped after 10 redirects") || loop != 10 {
		t.Errorf("redirect loop: %v after %d requests; want Go's limit of 10", err, loop)
	}

	own := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := get(loadgen.SameOriginOnly(own), "/here"); err != nil || resp.StatusCode != http.StatusFound {
		t.Errorf("the client's own CheckRedirect: %v; want the 302 itself", err)
	}
	if _, err := get(loadgen.SameOriginOnly(own), "/away"); !errors.Is(err, loadgen.ErrCrossOriginRedirect) {
		t.Errorf("cross-origin with the client's own CheckRedirect: %v", err)
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("the other origin got %d requests; want none", len(got))
	}
	hc.CloseIdleConnections()
}

// TestProbeRefusesCrossOriginRedirects: the probe neither follows the
// engine elsewhere nor sends the key there.
func TestProbeRefusesCrossOriginRedirects(t *testing.T) {
	rec := &headerRecorder{}
	other := httptest.NewServer(rec)
	defer other.Close()
	engine := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer engine.Close()
	_, err := loadgen.Probe(context.Background(), nil, engine.URL, "vllm", "m", "sekret")
	if !errors.Is(err, loadgen.ErrCrossOriginRedirect) || !errors.Is(err, loadgen.ErrEngineUnreachable) {
		t.Errorf("Probe: %v; want ErrEngineUnreachable and ErrCrossOriginRedirect", err)
	}
	if got := rec.requests(); len(got) != 0 {
		t.Errorf("the other origin got %d requests; want none", len(got))
	}
}

// lateTrace is a transport that fails at once and calls the request's
// GotFirstResponseByte hook only later, as net/http's transport may after
// a cancelled request has returned.
type lateTrace struct {
	release chan struct{}
	hooks   sync.WaitGroup
}

func (l *lateTrace) RoundTrip(req *http.Request) (*http.Response, error) {
	trace := httptrace.ContextClientTrace(req.Context())
	l.hooks.Go(func() {
		<-l.release
		if trace != nil && trace.GotFirstResponseByte != nil {
			trace.GotFirstResponseByte()
		}
	})
	return nil, errors.New("connection reset by peer")
}

// TestDoFirstByteAfterReturn: a first-byte hook that fires after Do has
// returned does not touch the Result (go test -race reports it if it does).
func TestDoFirstByteAfterReturn(t *testing.T) {
	tr := &lateTrace{release: make(chan struct{})}
	c, err := loadgen.NewClient("http://127.0.0.1:1", "m", loadgen.WithHTTPClient(&http.Client{Transport: tr}))
	if err != nil {
		t.Fatal(err)
	}
	var r loadgen.Result
	c.Do(context.Background(), loadgen.Clock{Start: time.Now(), Now: time.Now}, "x", &r)
	close(tr.release)
	r.FirstByte++ // the caller owns r now; unsynchronized with the hook
	tr.hooks.Wait()
	if r.Outcome != loadgen.OutcomeTransport || r.FirstByte != 1 {
		t.Errorf("outcome %s, first byte %v; want transport_error and the caller's value", r.Outcome, r.FirstByte)
	}
}

// TestRunEndsByDurationPlusGrace: against engines that never end their
// streams, stall, or stream without end, closed and open loops return by
// duration + grace, and the requests still in flight are cut off.
func TestRunEndsByDurationPlusGrace(t *testing.T) {
	const duration, grace = 300 * time.Millisecond, 200 * time.Millisecond
	faults := []struct {
		name    string
		fault   enginetest.Fault
		cliOpts []loadgen.ClientOption
		allCut  bool // every request is still in flight at the end
	}{
		{"never ends its streams", enginetest.Hang{AfterChunks: 1}, nil, true},
		{"stalls", enginetest.Stall{AfterChunks: 2, For: time.Hour}, nil, true},
		{"stalls before the headers", enginetest.SlowHeaders{Delay: time.Hour}, nil, true},
		{"streams without end", enginetest.Endless{}, []loadgen.ClientOption{loadgen.WithMaxChunks(1 << 30)}, true},
		{"endless stream, default chunk bound", enginetest.Endless{}, nil, false},
		{"unterminated event", enginetest.Unterminated{}, nil, false},
	}
	modes := []loadgen.Mode{loadgen.ClosedLoop{Concurrency: 4}, loadgen.ConstantRate{RPS: 20}}
	for _, f := range faults {
		for _, mode := range modes {
			t.Run(fmt.Sprintf("%s/%T", f.name, mode), func(t *testing.T) {
				srv := enginetest.MustStart(t, enginetest.WithOutputTokens(8), enginetest.WithFault(func(enginetest.Request) enginetest.Fault { return f.fault }))
				c, err := loadgen.NewClient(srv.URL(), enginetest.DefaultModel, f.cliOpts...)
				if err != nil {
					t.Fatal(err)
				}
				defer c.CloseIdleConnections()
				d, err := loadgen.NewDriver(c, catalog.BuiltinPrompts(), mode,
					loadgen.WithDuration(duration), loadgen.WithGrace(grace), loadgen.WithWarmup(0))
				if err != nil {
					t.Fatal(err)
				}
				var rs []loadgen.Result
				start := time.Now()
				info, err := d.Run(context.Background(), func(r loadgen.Result) { rs = append(rs, r) })
				if took := time.Since(start); took > 5*time.Second {
					t.Errorf("Run took %v; duration + grace is %v", took, duration+grace)
				}
				if err != nil {
					t.Fatal(err)
				}
				cut := 0
				for _, r := range rs {
					if r.Outcome == loadgen.OutcomeCutOff {
						cut++
					} else if f.allCut {
						t.Errorf("request %d: %s (%s); want cut_off", r.Index, r.Outcome, r.Error)
					}
				}
				if len(rs) == 0 || len(rs) != info.Issued || cut != info.CutOff {
					t.Errorf("%d results, %d cut off, info %+v; want every issued request reported", len(rs), cut, info)
				}
			})
		}
	}
}

// TestRunStopsWhenWarmupFails: against an engine that answers every
// request with HTTP 500, a 10 s run stops after its warmup.
func TestRunStopsWhenWarmupFails(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithFault(func(enginetest.Request) enginetest.Fault {
		return enginetest.HTTPStatus{Code: 500, Body: "injected failure"}
	}))
	c, err := loadgen.NewClient(srv.URL(), enginetest.DefaultModel)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	for _, mode := range []loadgen.Mode{loadgen.ClosedLoop{Concurrency: 4}, loadgen.ConstantRate{RPS: 1000}} {
		d, err := loadgen.NewDriver(c, catalog.BuiltinPrompts(), mode, loadgen.WithDuration(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var rs []loadgen.Result
		start := time.Now()
		info, err := d.Run(context.Background(), func(r loadgen.Result) { rs = append(rs, r) })
		const want = "every warmup request failed (3 of 3); the first: http_status: HTTP 500: injected failure"
		if !errors.Is(err, loadgen.ErrWarmupFailed) || err.Error() != want {
			t.Fatalf("%T: Run: %v; want %q", mode, err, want)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("%T: Run took %v; want it to stop after the warmup", mode, took)
		}
		if len(rs) != info.Issued {
			t.Errorf("%T: %d results of %d issued", mode, len(rs), info.Issued)
		}
	}
}

// TestClientConnectionBrokenMidEvent: a connection that breaks in the
// middle of an event is a transport error, not a malformed event.
func TestClientConnectionBrokenMidEvent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"hi"}}]}`+"\n\n")
		fmt.Fprint(w, `data: {"choices":[{"delta":{"content":"`+strings.Repeat("x", 40<<10))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // close the connection mid-event
	}))
	defer srv.Close()
	c, err := loadgen.NewClient(srv.URL, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	var r loadgen.Result
	c.Do(context.Background(), loadgen.Clock{Start: time.Now(), Now: time.Now}, "hello", &r)
	if r.Outcome != loadgen.OutcomeTransport || strings.Contains(r.Error, "malformed") {
		t.Errorf("outcome %s, error %q; want a transport error", r.Outcome, r.Error)
	}
}
