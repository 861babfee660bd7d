package enginetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// faultServer starts an engine that injects, into each request, the fault
// named by its prompt.
func faultServer(t *testing.T, faults map[string]enginetest.Fault, opts ...enginetest.Option) *enginetest.Server {
	opts = append(opts, enginetest.WithFault(func(r enginetest.Request) enginetest.Fault { return faults[r.Prompt] }))
	return enginetest.MustStart(t, opts...)
}

func TestStreamFaults(t *testing.T) {
	const stall = 50 * time.Millisecond
	tests := []struct {
		name  string
		fault enginetest.Fault
		check func(t *testing.T, r response, rec enginetest.RequestRecord)
	}{{
		name:  "HTTP status",
		fault: enginetest.HTTPStatus{Code: http.StatusServiceUnavailable},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			var e struct{ Error wireError }
			if r.status != 503 || json.Unmarshal(r.body, &e) != nil || e.Error.Code != 503 || e.Error.Type != "ServiceUnavailableError" {
				t.Errorf("status %d, body %s", r.status, r.body)
			}
			if rec.Status != 503 || len(rec.Chunks) != 0 {
				t.Errorf("record: status %d, %d chunks", rec.Status, len(rec.Chunks))
			}
		},
	}, {
		name:  "HTTP status with a text body",
		fault: &enginetest.HTTPStatus{Code: http.StatusTooManyRequests, Body: "slow down"},
		check: func(t *testing.T, r response, _ enginetest.RequestRecord) {
			if r.status != 429 || string(r.body) != "slow down" || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
				t.Errorf("status %d, Content-Type %q, body %q", r.status, r.header.Get("Content-Type"), r.body)
			}
		},
	}, {
		name:  "reset after two chunks",
		fault: enginetest.Reset{AfterChunks: 2},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			if r.status != 200 || r.readErr == nil {
				t.Errorf("status %d, read error %v; want 200 and a read error", r.status, r.readErr)
			}
			want := []string{`role=assistant content="" finish=null`, `content="tok0 " finish=null`, `content="tok1 " finish=null`}
			if diff := cmp.Diff(want, summarize(t, sseData(r.body), "chat.completion.chunk")); diff != "" {
				t.Errorf("events before the reset (-want +got):\n%s", diff)
			}
			if len(rec.Chunks) != 2 || rec.Err != nil {
				t.Errorf("record: %d chunks, Err %v", len(rec.Chunks), rec.Err)
			}
		},
	}, {
		name:  "reset before the headers",
		fault: enginetest.Reset{BeforeHeaders: true},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			if r.doErr == nil {
				t.Errorf("status %d, want a transport error", r.status)
			}
			if rec.Status != 0 || !rec.HeadersSent.IsZero() {
				t.Errorf("record: status %d, headers sent %v", rec.Status, rec.HeadersSent)
			}
		},
	}, {
		name:  "malformed event",
		fault: enginetest.MalformedEvent{AfterChunks: 1},
		check: func(t *testing.T, r response, _ enginetest.RequestRecord) {
			want := []string{
				`role=assistant content="" finish=null`, `content="tok0 " finish=null`, "malformed",
				`content="tok1 " finish=null`, `content="tok2 " finish=length`, "[DONE]",
			}
			if diff := cmp.Diff(want, summarize(t, sseData(r.body), "chat.completion.chunk")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		},
	}, {
		name:  "error object in the stream",
		fault: enginetest.StreamError{AfterChunks: 1, Code: 400, Message: "context too long"},
		check: func(t *testing.T, r response, _ enginetest.RequestRecord) {
			want := []string{
				`role=assistant content="" finish=null`, `content="tok0 " finish=null`,
				"error code=400 type=BadRequestError", "[DONE]",
			}
			if diff := cmp.Diff(want, summarize(t, sseData(r.body), "chat.completion.chunk")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if !strings.Contains(string(r.body), `data: {"error":{"message":"context too long","type":"BadRequestError","param":null,"code":400}}`) {
				t.Errorf("no vLLM-style error event in %s", r.body)
			}
		},
	}, {
		name:  "split frames",
		fault: enginetest.SplitFrames{Pause: time.Millisecond},
		check: func(t *testing.T, r response, _ enginetest.RequestRecord) {
			want := []string{
				`role=assistant content="" finish=null`, `content="tok0 " finish=null`,
				`content="tok1 " finish=null`, `content="tok2 " finish=length`, "[DONE]",
			}
			if diff := cmp.Diff(want, summarize(t, sseData(r.body), "chat.completion.chunk")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		},
	}, {
		name:  "oversized frame",
		fault: enginetest.OversizedFrame{AfterChunks: 1},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			want := []string{
				`role=assistant content="" finish=null`, `content="tok0 " finish=null`,
				`content="tok1 xxxxxxxxxxx…(1048576 bytes)" finish=null`, `content="tok2 " finish=length`, "[DONE]",
			}
			if diff := cmp.Diff(want, summarize(t, sseData(r.body), "chat.completion.chunk")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if rec.Chunks[1].Tokens != 1 {
				t.Errorf("oversized chunk recorded with %d tokens, want 1", rec.Chunks[1].Tokens)
			}
		},
	}, {
		name:  "stall",
		fault: enginetest.Stall{AfterChunks: 1, For: stall},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			if r.readErr != nil || !strings.HasSuffix(string(r.body), "data: [DONE]\n\n") {
				t.Errorf("stream did not finish: %v", r.readErr)
			}
			if gap := rec.Chunks[1].Flushed.Sub(rec.Chunks[0].Flushed); gap < stall {
				t.Errorf("gap across the stall %v, want at least %v", gap, stall)
			}
			if d := rec.Chunks[1].Due.Sub(rec.Chunks[0].Due); d != stall {
				t.Errorf("due times %v apart across the stall, want %v", d, stall)
			}
		},
	}, {
		name:  "hang until the client gives up",
		fault: enginetest.Hang{AfterChunks: 1},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			if !errors.Is(r.readErr, context.DeadlineExceeded) {
				t.Errorf("read error %v, want the client's deadline", r.readErr)
			}
			if len(rec.Chunks) != 1 || !errors.Is(rec.Err, context.Canceled) {
				t.Errorf("record: %d chunks, Err %v; want 1 and context.Canceled", len(rec.Chunks), rec.Err)
			}
		},
	}, {
		name:  "slow headers",
		fault: enginetest.SlowHeaders{Delay: stall},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			if d := r.headers.Sub(r.sent); d < stall {
				t.Errorf("headers after %v, want at least %v", d, stall)
			}
			if d := rec.HeadersSent.Sub(rec.Arrival); d < stall {
				t.Errorf("recorded headers after %v, want at least %v", d, stall)
			}
			if r.status != 200 || r.readErr != nil {
				t.Errorf("status %d, %v", r.status, r.readErr)
			}
		},
	}, {
		name:  "invalid fault",
		fault: enginetest.Stall{AfterChunks: 1},
		check: func(t *testing.T, r response, rec enginetest.RequestRecord) {
			if r.status != 500 || !errors.Is(rec.Err, enginetest.ErrInvalidFault) {
				t.Errorf("status %d, recorded Err %v; want 500 and ErrInvalidFault", r.status, rec.Err)
			}
		},
	}}
	faults := make(map[string]enginetest.Fault)
	for _, tt := range tests {
		faults[tt.name] = tt.fault
	}
	srv := faultServer(t, faults)
	c := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv.ResetRequests()
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			if _, ok := tt.fault.(enginetest.Hang); !ok {
				cancel()
				ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			}
			defer cancel()
			r := post(ctx, t, c, srv.URL()+enginetest.PathChatCompletions,
				reqBody(t, map[string]any{"messages": chat(tt.name), "max_tokens": 3, "stream": true}))
			waitIdle(t, srv.WaitIdle)
			recs := srv.Requests()
			if len(recs) != 1 {
				t.Fatalf("%d records, want 1", len(recs))
			}
			if recs[0].Fault != tt.fault {
				t.Errorf("recorded fault %v, want %v", recs[0].Fault, tt.fault)
			}
			tt.check(t, r, recs[0])
		})
	}
}

func TestSplitFramesCuts(t *testing.T) {
	tests := []struct {
		name    string
		fault   enginetest.SplitFrames
		framing enginetest.SSEFraming
		want    []string // the flushed pieces of the [DONE] event
	}{
		{"default cuts", enginetest.SplitFrames{}, enginetest.SSEFraming{}, []string{"da", "ta:", " [DON", "E]\n", "\n"}},
		{"default cuts, CRLF", enginetest.SplitFrames{}, enginetest.SSEFraming{CRLF: true}, []string{"da", "ta:", " [DONE", "]\r\n", "\r", "\n"}},
		{"by size", enginetest.SplitFrames{Size: 4}, enginetest.SSEFraming{}, []string{"data", ": [D", "ONE]", "\n\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := faultServer(t, map[string]enginetest.Fault{"hi": tt.fault}, enginetest.WithSSEFraming(tt.framing))
			status, chunks := rawChunks(t, srv.URL(), enginetest.PathChatCompletions,
				reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 1, "stream": true}))
			if status != 200 || len(chunks) < len(tt.want) {
				t.Fatalf("status %d, %d flushes", status, len(chunks))
			}
			var got []string
			for _, c := range chunks[len(chunks)-len(tt.want):] {
				got = append(got, string(c))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pieces of the last event (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBlockingFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault enginetest.Fault
		check func(t *testing.T, r response)
	}{
		{"reset", enginetest.Reset{}, func(t *testing.T, r response) {
			if r.doErr == nil {
				t.Errorf("status %d, want a transport error", r.status)
			}
		}},
		{"stream error", enginetest.StreamError{}, func(t *testing.T, r response) {
			var e struct{ Error wireError }
			if r.status != 500 || json.Unmarshal(r.body, &e) != nil || e.Error.Type != "InternalServerError" {
				t.Errorf("status %d, body %s", r.status, r.body)
			}
		}},
		{"malformed", enginetest.MalformedEvent{}, func(t *testing.T, r response) {
			if r.status != 200 || json.Valid(r.body) {
				t.Errorf("status %d, body %s; want 200 and invalid JSON", r.status, r.body)
			}
		}},
		{"oversized", enginetest.OversizedFrame{Bytes: 100}, func(t *testing.T, r response) {
			var v struct {
				Choices []struct{ Text string }
			}
			if err := json.Unmarshal(r.body, &v); err != nil || len(v.Choices) != 1 || len(v.Choices[0].Text) != 100 {
				t.Errorf("body %s", r.body)
			}
		}},
		{"split", enginetest.SplitFrames{}, func(t *testing.T, r response) {
			if r.status != 200 || !json.Valid(r.body) {
				t.Errorf("status %d, body %s", r.status, r.body)
			}
		}},
	}
	faults := make(map[string]enginetest.Fault)
	for _, tt := range tests {
		faults[tt.name] = tt.fault
	}
	srv := faultServer(t, faults)
	c := newClient(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(context.Background(), t, c, srv.URL()+enginetest.PathCompletions,
				reqBody(t, map[string]any{"prompt": tt.name, "max_tokens": 3}))
			tt.check(t, r)
		})
	}
}
