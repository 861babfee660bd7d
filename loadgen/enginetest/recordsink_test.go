package enginetest_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// TestRecordSink: the sink gets every finished generation request's
// record, request id and connection included, even when the records are
// reset after every request, and its records are its own.
func TestRecordSink(t *testing.T) {
	var mu sync.Mutex
	var got []enginetest.RequestRecord
	var srv *enginetest.Server
	srv = enginetest.MustStart(t, enginetest.WithOutputTokens(3), enginetest.WithRecordSink(func(rec enginetest.RequestRecord) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, rec)
		srv.ResetRequests() // as a long-running engine would
	}))
	c := newClient(t)
	var wg sync.WaitGroup
	for _, id := range []string{"a-0", "a-1", "a-2"} {
		wg.Go(func() {
			r := post(context.Background(), t, c, srv.URL()+enginetest.PathChatCompletions,
				reqBody(t, map[string]any{"messages": chat("hi"), "stream": true, "max_tokens": 8}), "X-Request-Id", id)
			if r.status != http.StatusOK {
				t.Errorf("status %d: %s", r.status, r.body)
			}
		})
	}
	wg.Wait()
	_ = get(t, c, srv.URL()+"/health") // not a generation request: no record
	waitIdle(t, srv.WaitIdle)
	mu.Lock()
	defer mu.Unlock()
	var ids []string
	for _, rec := range got {
		ids = append(ids, rec.RequestID)
		if rec.Status != http.StatusOK || len(rec.Chunks) != 3 || rec.FirstToken.IsZero() || rec.RemoteAddr == "" {
			t.Errorf("record %s: status %d, %d chunks, first token %v, remote %q", rec.RequestID, rec.Status, len(rec.Chunks), rec.FirstToken, rec.RemoteAddr)
		}
	}
	slices.Sort(ids)
	if !slices.Equal(ids, []string{"a-0", "a-1", "a-2"}) {
		t.Errorf("request ids %q; want a-0, a-1, a-2", ids)
	}
	// The sink's chunks are a copy: changing them changes nothing else.
	srv2 := enginetest.MustStart(t, enginetest.WithOutputTokens(2), enginetest.WithRecordSink(func(rec enginetest.RequestRecord) {
		rec.Chunks[0].Tokens = 99
	}))
	_ = post(context.Background(), t, c, srv2.URL()+enginetest.PathCompletions, reqBody(t, map[string]any{"prompt": "x", "stream": true}))
	waitIdle(t, srv2.WaitIdle)
	if recs := srv2.Requests(); len(recs) != 1 || recs[0].Chunks[0].Tokens != 1 {
		t.Errorf("the sink's change reached Requests: %+v", recs)
	}
}

// TestRequestIDIsBounded: a huge X-Request-Id is cut to MaxRequestIDBytes.
func TestRequestIDIsBounded(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithOutputTokens(1))
	long := make([]byte, 5000)
	for i := range long {
		long[i] = 'x'
	}
	r := post(context.Background(), t, newClient(t), srv.URL()+enginetest.PathCompletions, reqBody(t, map[string]any{"prompt": "x"}), "X-Request-Id", string(long))
	if r.status != http.StatusOK {
		t.Fatalf("status %d", r.status)
	}
	waitIdle(t, srv.WaitIdle)
	if got := srv.Requests()[0].RequestID; len(got) != enginetest.MaxRequestIDBytes {
		t.Errorf("request id of %d bytes; want %d", len(got), enginetest.MaxRequestIDBytes)
	}
}
