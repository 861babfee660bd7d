package loadgen_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// sseServer serves one chat stream per request, "data: [DONE]" included,
// and then holds the handler for hold before the body ends (the chunked
// terminator goes out when the handler returns); it counts connections.
func sseServer(t *testing.T, hold time.Duration) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, ev := range []string{
			`{"choices":[{"delta":{"content":"a"},"finish_reason":null}]}`,
			`{"choices":[{"delta":{"content":"b"},"finish_reason":"stop"}]}`,
			`[DONE]`,
		} {
			fmt.Fprintf(w, "data: %s\n\n", ev)
			w.(http.Flusher).Flush()
		}
		select {
		case <-time.After(hold):
		case <-r.Context().Done():
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &conns
}

// TestClientReusesConnections: a stream read to [DONE] leaves its
// connection to the next request, even when the end of the body comes
// after [DONE] in a read of its own.
func TestClientReusesConnections(t *testing.T) {
	srv, conns := sseServer(t, 5*time.Millisecond)
	c, err := loadgen.NewClient(srv.URL, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	clock := loadgen.Clock{Start: time.Now(), Now: time.Now}
	for i := range 20 {
		r := loadgen.Result{Index: i}
		c.Do(context.Background(), clock, "hi", &r)
		if !r.OK() || len(r.Chunks) != 2 {
			t.Fatalf("request %d: %s %s, %d chunks", i, r.Outcome, r.Error, len(r.Chunks))
		}
		// The stream ended at [DONE], before the engine ended the body.
		if r.End < r.Chunks[1].At || r.End-r.Chunks[1].At > 4*time.Millisecond {
			t.Errorf("request %d: end %v, last chunk %v: want the end at [DONE]", i, r.End, r.Chunks[1].At)
		}
	}
	if n := conns.Load(); n != 1 {
		t.Errorf("%d connections for 20 sequential requests; want 1", n)
	}
}

// TestClientDoesNotWaitForeverAfterDone: an engine that never ends the
// body after [DONE] costs a request about drainWait (100 ms), not its
// timeout; the request is ok and ends at [DONE].
func TestClientDoesNotWaitForeverAfterDone(t *testing.T) {
	srv, conns := sseServer(t, time.Hour)
	c, err := loadgen.NewClient(srv.URL, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	clock := loadgen.Clock{Start: time.Now(), Now: time.Now}
	for i := range 3 {
		start := time.Now()
		r := loadgen.Result{Index: i}
		c.Do(context.Background(), clock, "hi", &r)
		if !r.OK() {
			t.Fatalf("request %d: %s %s", i, r.Outcome, r.Error)
		}
		if took := time.Since(start); took > 2*time.Second {
			t.Errorf("request %d took %v", i, took)
		}
		if r.End-r.Chunks[1].At > 50*time.Millisecond {
			t.Errorf("request %d: end %v, last chunk %v: want the end at [DONE]", i, r.End, r.Chunks[1].At)
		}
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d connections; want 3 (one closed after each request)", n)
	}
}

// TestClientSendsRequestID: every request carries X-Request-Id ending in
// its Index, with a prefix that is the same for one client and differs
// between clients.
func TestClientSendsRequestID(t *testing.T) {
	var mu sync.Mutex
	var ids []string
	srv := enginetest.MustStart(t, enginetest.WithOutputTokens(1), enginetest.WithRecordSink(func(rec enginetest.RequestRecord) {
		mu.Lock()
		defer mu.Unlock()
		ids = append(ids, rec.RequestID)
	}))
	clock := loadgen.Clock{Start: time.Now(), Now: time.Now}
	var prefixes []string
	for range 2 {
		c, err := loadgen.NewClient(srv.URL(), enginetest.DefaultModel)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{7, 8} {
			r := loadgen.Result{Index: i}
			c.Do(context.Background(), clock, "hi", &r)
			if !r.OK() {
				t.Fatalf("%s %s", r.Outcome, r.Error)
			}
		}
		c.CloseIdleConnections()
		if err := srv.WaitIdle(context.Background()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := ids
		ids = nil
		mu.Unlock()
		if len(got) != 2 || !strings.HasSuffix(got[0], "-7") || !strings.HasSuffix(got[1], "-8") ||
			strings.TrimSuffix(got[0], "7") != strings.TrimSuffix(got[1], "8") || !strings.HasPrefix(got[0], "benchprof-") {
			t.Fatalf("X-Request-Id %q; want benchprof-<hex>-7 and -8", got)
		}
		prefixes = append(prefixes, strings.TrimSuffix(got[0], "7"))
	}
	if prefixes[0] == prefixes[1] {
		t.Errorf("two clients share the prefix %q", prefixes[0])
	}
}

// TestClientBoundsBytesAfterDone: an engine that keeps writing after
// [DONE] gets at most maxDrain (64 KiB) of them read; the request is ok,
// ends at [DONE], and the connection is closed.
func TestClientBoundsBytesAfterDone(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"choices\":[{\"delta\":{\"content\":\"a\"},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
		w.(http.Flusher).Flush()
		junk := []byte(strings.Repeat("data: after the end\n\n", 200))
		for r.Context().Err() == nil {
			if _, err := w.Write(junk); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	c, err := loadgen.NewClient(srv.URL, "m")
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	start := time.Now()
	var r loadgen.Result
	c.Do(context.Background(), loadgen.Clock{Start: start, Now: time.Now}, "hi", &r)
	if !r.OK() || len(r.Chunks) != 1 || r.End < r.Chunks[0].At {
		t.Fatalf("%s %s, %d chunks, end %v", r.Outcome, r.Error, len(r.Chunks), r.End)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v", took)
	}
}
