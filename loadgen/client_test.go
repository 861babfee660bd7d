package loadgen_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/loadgen/enginetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(engineProcessEnv) != "" {
		serveEngineProcess() // the throughput benchmark's engine, in its own process
		return
	}
	goleak.VerifyTestMain(m)
}

// do sends one request through a fresh client and returns its result.
func do(t *testing.T, srv *enginetest.Server, ctx context.Context, opts ...loadgen.ClientOption) loadgen.Result {
	t.Helper()
	c, err := loadgen.NewClient(srv.URL()+"/v1/", enginetest.DefaultModel, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.CloseIdleConnections)
	clock := loadgen.Clock{Start: time.Now(), Now: time.Now}
	var r loadgen.Result
	c.Do(ctx, clock, "hello world", &r)
	return r
}

func TestClientStream(t *testing.T) {
	tests := []struct {
		name       string
		srvOpts    []enginetest.Option
		cliOpts    []loadgen.ClientOption
		wantTokens int
		wantChunks int
		wantITLs   int
		wantSource loadgen.TokenSource
	}{
		{"usage", []enginetest.Option{enginetest.WithOutputTokens(16)}, nil, 16, 16, 15, loadgen.TokenSourceUsage},
		{"no usage", []enginetest.Option{enginetest.WithOutputTokens(16), enginetest.WithoutUsage()}, nil, 16, 16, 15, loadgen.TokenSourceChunks},
		{"4 tokens per chunk", []enginetest.Option{enginetest.WithOutputTokens(16), enginetest.WithTokensPerChunk(4)}, nil, 16, 4, 12, loadgen.TokenSourceUsage},
		{"max tokens caps", []enginetest.Option{enginetest.WithOutputTokens(500)}, []loadgen.ClientOption{loadgen.WithMaxTokens(8)}, 8, 8, 7, loadgen.TokenSourceUsage},
		{"fixed output length", []enginetest.Option{enginetest.WithOutputTokens(3)}, []loadgen.ClientOption{loadgen.WithMaxTokens(10), loadgen.WithFixedOutputLength()}, 10, 10, 9, loadgen.TokenSourceUsage},
		{"completions endpoint", []enginetest.Option{enginetest.WithOutputTokens(5)}, []loadgen.ClientOption{loadgen.WithEndpoint(loadgen.EndpointCompletions)}, 5, 5, 4, loadgen.TokenSourceUsage},
		{"comments, no space, CRLF", []enginetest.Option{enginetest.WithOutputTokens(5), enginetest.WithSSEFraming(enginetest.SSEFraming{Comments: true, NoSpace: true, CRLF: true})}, nil, 5, 5, 4, loadgen.TokenSourceUsage},
		{"early role chunk", []enginetest.Option{enginetest.WithOutputTokens(5), enginetest.WithEarlyRoleChunk(), enginetest.WithTTFT(20 * time.Millisecond)}, nil, 5, 5, 4, loadgen.TokenSourceUsage},
		{"empty completion", []enginetest.Option{enginetest.WithOutputTokens(0)}, nil, 0, 0, 0, loadgen.TokenSourceUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := enginetest.MustStart(t, tt.srvOpts...)
			r := do(t, srv, context.Background(), tt.cliOpts...)
			if r.Outcome != loadgen.OutcomeOK {
				t.Fatalf("outcome %s (%s); want ok", r.Outcome, r.Error)
			}
			if r.OutputTokens != tt.wantTokens || len(r.Chunks) != tt.wantChunks || len(r.ITLs()) != tt.wantITLs || r.TokenSource != tt.wantSource {
				t.Errorf("tokens %d chunks %d ITLs %d source %s; want %d, %d, %d, %s",
					r.OutputTokens, len(r.Chunks), len(r.ITLs()), r.TokenSource, tt.wantTokens, tt.wantChunks, tt.wantITLs, tt.wantSource)
			}
			if r.PromptTokens == 0 && tt.wantSource == loadgen.TokenSourceUsage {
				t.Errorf("prompt tokens not recorded")
			}
			if tt.wantChunks > 0 && (r.FirstToken < r.Sent || r.End < r.FirstToken) {
				t.Errorf("times out of order: sent %v first token %v end %v", r.Sent, r.FirstToken, r.End)
			}
		})
	}
}

// TestClientTTFTMatchesServer: the first-token time comes from the first
// content chunk, never the role chunk, and is no earlier than the server's.
func TestClientTTFTMatchesServer(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithOutputTokens(4), enginetest.WithEarlyRoleChunk(), enginetest.WithTTFT(30*time.Millisecond))
	r := do(t, srv, context.Background())
	if r.TTFT() < 30*time.Millisecond {
		t.Fatalf("TTFT %v is below the server's 30 ms: the role chunk was counted", r.TTFT())
	}
}

func TestClientFaults(t *testing.T) {
	tests := []struct {
		name    string
		fault   enginetest.Fault
		cliOpts []loadgen.ClientOption
		ctx     func() (context.Context, context.CancelFunc)
		want    loadgen.Outcome
		status  int
		errText string
	}{
		{name: "503", fault: enginetest.HTTPStatus{Code: 503}, want: loadgen.OutcomeHTTPStatus, status: 503, errText: "HTTP 503"},
		{name: "400 text", fault: enginetest.HTTPStatus{Code: 400, Body: "bad request"}, want: loadgen.OutcomeHTTPStatus, status: 400, errText: "bad request"},
		{name: "reset mid-stream", fault: enginetest.Reset{AfterChunks: 2}, want: loadgen.OutcomeTransport},
		{name: "reset before headers", fault: enginetest.Reset{BeforeHeaders: true}, want: loadgen.OutcomeTransport},
		{name: "malformed event", fault: enginetest.MalformedEvent{AfterChunks: 1}, want: loadgen.OutcomeStreamError, errText: "malformed event"},
		{name: "error object", fault: enginetest.StreamError{AfterChunks: 1, Message: "boom"}, want: loadgen.OutcomeStreamError, errText: "boom"},
		{name: "split frames", fault: enginetest.SplitFrames{}, want: loadgen.OutcomeOK},
		{name: "large frame within the limit", fault: enginetest.OversizedFrame{AfterChunks: 1, Bytes: 512 << 10}, want: loadgen.OutcomeOK},
		{name: "oversized frame", fault: enginetest.OversizedFrame{AfterChunks: 1}, want: loadgen.OutcomeStreamError, errText: "server-sent event too large: it exceeds the 1 MiB limit (loadgen.WithMaxEventSize)"},
		{name: "oversized frame over a lower limit", fault: enginetest.OversizedFrame{AfterChunks: 1, Bytes: 100 << 10}, cliOpts: []loadgen.ClientOption{loadgen.WithMaxEventSize(64 << 10)}, want: loadgen.OutcomeStreamError, errText: "exceeds the 64 KiB limit (loadgen.WithMaxEventSize)"},
		{name: "stall", fault: enginetest.Stall{AfterChunks: 1, For: 20 * time.Millisecond}, want: loadgen.OutcomeOK},
		{name: "slow headers", fault: enginetest.SlowHeaders{Delay: 20 * time.Millisecond}, want: loadgen.OutcomeOK},
		{name: "hang then timeout", fault: enginetest.Hang{AfterChunks: 1}, cliOpts: []loadgen.ClientOption{loadgen.WithRequestTimeout(100 * time.Millisecond)}, want: loadgen.OutcomeTimeout},
		{name: "hang then cut off", fault: enginetest.Hang{AfterChunks: 1}, want: loadgen.OutcomeCutOff, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeoutCause(context.Background(), 100*time.Millisecond, loadgen.ErrCutOff)
		}},
		{name: "hang then cancelled", fault: enginetest.Hang{AfterChunks: 1}, want: loadgen.OutcomeCancelled, ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 100*time.Millisecond)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := enginetest.MustStart(t, enginetest.WithOutputTokens(8), enginetest.WithFault(func(enginetest.Request) enginetest.Fault { return tt.fault }))
			ctx, cancel := context.Background(), context.CancelFunc(func() {})
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			start := time.Now()
			r := do(t, srv, ctx, tt.cliOpts...)
			if time.Since(start) > 5*time.Second {
				t.Errorf("request took %v", time.Since(start))
			}
			if r.Outcome != tt.want || r.StatusCode != tt.status && tt.status != 0 {
				t.Fatalf("outcome %s status %d (%s); want %s %d", r.Outcome, r.StatusCode, r.Error, tt.want, tt.status)
			}
			if tt.want != loadgen.OutcomeOK && r.Error == "" {
				t.Errorf("no error text kept")
			}
			if !strings.Contains(r.Error, tt.errText) {
				t.Errorf("error %q does not mention %q", r.Error, tt.errText)
			}
		})
	}
}

func TestClientAPIKey(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithAPIKey("sekret"))
	if r := do(t, srv, context.Background()); r.Outcome != loadgen.OutcomeHTTPStatus || r.StatusCode != 401 {
		t.Fatalf("without key: %s %d; want http_status 401", r.Outcome, r.StatusCode)
	}
	if r := do(t, srv, context.Background(), loadgen.WithAPIKey("sekret")); !r.OK() {
		t.Fatalf("with key: %s (%s)", r.Outcome, r.Error)
	}
}

func TestClientConnectionRefused(t *testing.T) {
	srv := enginetest.MustStart(t)
	url := srv.URL()
	srv.Close()
	c, err := loadgen.NewClient(url, "m")
	if err != nil {
		t.Fatal(err)
	}
	var r loadgen.Result
	c.Do(context.Background(), loadgen.Clock{Start: time.Now(), Now: time.Now}, "x", &r)
	if r.Outcome != loadgen.OutcomeTransport {
		t.Fatalf("outcome %s; want transport_error", r.Outcome)
	}
}

func TestNewClientRejects(t *testing.T) {
	for _, tt := range []struct {
		url, model string
		opts       []loadgen.ClientOption
	}{
		{"", "m", nil},
		{"localhost:8000", "m", nil},
		{"http://h", "", nil},
		{"http://h", "m", []loadgen.ClientOption{loadgen.WithMaxTokens(0)}},
		{"http://h", "m", []loadgen.ClientOption{loadgen.WithRequestTimeout(0)}},
	} {
		if _, err := loadgen.NewClient(tt.url, tt.model, tt.opts...); err == nil {
			t.Errorf("NewClient(%q, %q) accepted", tt.url, tt.model)
		}
	}
}

func TestNormalizeBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:8000/v1/": "http://h:8000",
		"http://h:8000/v1":  "http://h:8000",
		"http://h:8000/":    "http://h:8000",
		"https://h/x/v1":    "https://h/x",
	} {
		if got, err := loadgen.NormalizeBaseURL(in); err != nil || got != want {
			t.Errorf("NormalizeBaseURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
}

func TestProbe(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithVersion("0.9.1"))
	info, err := loadgen.Probe(context.Background(), nil, srv.URL()+"/v1", "vllm", enginetest.DefaultModel, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Version != "0.9.1" {
		t.Errorf("version %q; want 0.9.1 from /version", info.Version)
	}
	if _, err := loadgen.Probe(context.Background(), nil, srv.URL(), "vllm", "other-model", ""); !errors.Is(err, loadgen.ErrModelNotServed) || !strings.Contains(err.Error(), enginetest.DefaultModel) {
		t.Errorf("wrong model: %v; want ErrModelNotServed listing the served model", err)
	}
	if _, err := loadgen.Probe(context.Background(), nil, srv.URL(), "tgi", "m", ""); !errors.Is(err, loadgen.ErrUnknownEngine) {
		t.Errorf("unknown engine: %v", err)
	}
	url := srv.URL()
	srv.Close()
	if _, err := loadgen.Probe(context.Background(), nil, url, "vllm", "m", ""); !errors.Is(err, loadgen.ErrEngineUnreachable) || !strings.Contains(err.Error(), "vllm serve") {
		t.Errorf("unreachable: %v", err)
	}
}

// TestDriverAgainstEngine runs a short closed loop against the fake engine
// with one request in ten hanging: the hung ones are cut off after the grace
// period and nothing runs past it.
func TestDriverAgainstEngine(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithOutputTokens(8), enginetest.WithTTFT(5*time.Millisecond), enginetest.WithITL(time.Millisecond),
		enginetest.WithFault(func(r enginetest.Request) enginetest.Fault {
			if r.Seq%10 == 5 {
				return enginetest.Hang{AfterChunks: 1}
			}
			return nil
		}))
	c, err := loadgen.NewClient(srv.URL(), enginetest.DefaultModel, loadgen.WithMaxConnections(4))
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	d, err := loadgen.NewDriver(c, catalog.BuiltinPrompts(), loadgen.ClosedLoop{Concurrency: 4},
		loadgen.WithDuration(300*time.Millisecond), loadgen.WithGrace(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	var rs []loadgen.Result
	start := time.Now()
	info, err := d.Run(context.Background(), func(r loadgen.Result) { rs = append(rs, r) })
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("run took %v; duration + grace is 500 ms", took)
	}
	counts := map[loadgen.Outcome]int{}
	for _, r := range rs {
		counts[r.Outcome]++
	}
	if counts[loadgen.OutcomeOK] == 0 || counts[loadgen.OutcomeCutOff] == 0 || counts[loadgen.OutcomeCutOff] != info.CutOff || len(rs) != info.Issued {
		t.Fatalf("outcomes %v, info %+v; want ok and cut-off requests, all reported", counts, info)
	}
	sum := loadgen.Summarize(rs, loadgen.SLO{})
	if sum.Window <= 0 || sum.TTFT.N == 0 {
		t.Fatalf("summary %+v", sum)
	}
}

// startCounter wraps a Client and cancels the run once its last worker
// has sent a first request.
type startCounter struct {
	c       *loadgen.Client
	workers int
	cancel  context.CancelFunc
	mu      sync.Mutex
	started map[int]bool
}

func (s *startCounter) Do(ctx context.Context, clock loadgen.Clock, prompt string, r *loadgen.Result) {
	s.mu.Lock()
	s.started[r.Worker] = true
	if len(s.started) == s.workers {
		s.cancel()
	}
	s.mu.Unlock()
	s.c.Do(ctx, clock, prompt, r)
}

// TestClientPacesTheStart: the Client reports each response begun at its
// first byte, so a closed loop whose start step is an hour still starts
// every worker, each once the previous one was answered, long before any
// first token (an hour away); without the report only the first worker
// would start. A request that fails (a refused connection) lets the next
// worker go when it returns.
func TestClientPacesTheStart(t *testing.T) {
	for _, refused := range []bool{false, true} {
		srv := enginetest.MustStart(t, enginetest.WithTTFT(time.Hour))
		url := srv.URL()
		if refused {
			srv.Close()
		}
		c, err := loadgen.NewClient(url, enginetest.DefaultModel)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		req := &startCounter{c: c, workers: 4, cancel: cancel, started: map[int]bool{}}
		d, err := loadgen.NewDriver(req, []string{"a"}, loadgen.ClosedLoop{Concurrency: 4},
			loadgen.WithStartStep(time.Hour), loadgen.WithDuration(20*time.Second), loadgen.WithGrace(0), loadgen.WithWarmup(0))
		if err != nil {
			t.Fatal(err)
		}
		info, err := d.Run(ctx, nil)
		if !errors.Is(err, context.Canceled) || info.Started != 4 {
			t.Errorf("refused=%v: Run error %v, %d workers started; want all 4, then the cancellation", refused, err, info.Started)
		}
		cancel()
		c.CloseIdleConnections()
		srv.Close()
	}
}
