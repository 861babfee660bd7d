package enginetest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

func TestStreams(t *testing.T) {
	tests := []struct {
		name     string
		opts     []enginetest.Option
		endpoint string
		fields   map[string]any
		want     []string
	}{{
		name:     "chat, max_tokens reached",
		endpoint: enginetest.PathChatCompletions,
		fields:   map[string]any{"messages": chat("one two three"), "max_tokens": 3, "stream": true},
		want: []string{
			`role=assistant content="" finish=null`,
			`content="tok0 " finish=null`,
			`content="tok1 " finish=null`,
			`content="tok2 " finish=length`,
			"[DONE]",
		},
	}, {
		name:     "chat, natural end, usage",
		opts:     []enginetest.Option{enginetest.WithOutputTokens(2)},
		endpoint: enginetest.PathChatCompletions,
		fields: map[string]any{"messages": chat("one two three"), "max_tokens": 10, "stream": true,
			"stream_options": map[string]any{"include_usage": true}},
		want: []string{
			`role=assistant content="" finish=null`,
			`content="tok0 " finish=null`,
			`content="tok1 " finish=stop`,
			"usage prompt=3 completion=2 total=5",
			"[DONE]",
		},
	}, {
		name:     "chat, usage asked but the server ignores it",
		opts:     []enginetest.Option{enginetest.WithoutUsage()},
		endpoint: enginetest.PathChatCompletions,
		fields: map[string]any{"messages": chat("x"), "max_tokens": 1, "stream": true,
			"stream_options": map[string]any{"include_usage": true}},
		want: []string{
			`role=assistant content="" finish=null`,
			`content="tok0 " finish=length`,
			"[DONE]",
		},
	}, {
		name:     "chat, several tokens per chunk, default max_tokens",
		opts:     []enginetest.Option{enginetest.WithTokensPerChunk(5)},
		endpoint: enginetest.PathChatCompletions,
		fields:   map[string]any{"messages": chat("hi"), "stream": true},
		want: []string{
			`role=assistant content="" finish=null`,
			`content="tok0 tok1 tok2 tok3 tok4 " finish=null`,
			`content="tok5 tok6 tok7 tok8 tok9 " finish=null`,
			`content="tok10 tok11 tok12 tok13 tok14 " finish=null`,
			`content="tok15 " finish=length`,
			"[DONE]",
		},
	}, {
		name:     "chat, ignore_eos forces max_tokens",
		opts:     []enginetest.Option{enginetest.WithOutputTokens(1), enginetest.WithTokensPerChunk(2)},
		endpoint: enginetest.PathChatCompletions,
		fields:   map[string]any{"messages": chat("hi"), "max_tokens": 3, "ignore_eos": true, "stream": true},
		want: []string{
			`role=assistant content="" finish=null`,
			`content="tok0 tok1 " finish=null`,
			`content="tok2 " finish=length`,
			"[DONE]",
		},
	}, {
		name:     "chat, min_tokens below max_tokens ends with stop",
		opts:     []enginetest.Option{enginetest.WithOutputTokens(1), enginetest.WithTokensPerChunk(8)},
		endpoint: enginetest.PathChatCompletions,
		fields:   map[string]any{"messages": chat("hi"), "max_tokens": 9, "min_tokens": 3, "stream": true},
		want: []string{
			`role=assistant content="" finish=null`,
			`content="tok0 tok1 tok2 " finish=stop`,
			"[DONE]",
		},
	}, {
		name:     "chat, empty completion",
		opts:     []enginetest.Option{enginetest.WithOutputTokens(0)},
		endpoint: enginetest.PathChatCompletions,
		fields: map[string]any{"messages": chat("a b"), "max_tokens": 4, "stream": true,
			"stream_options": map[string]any{"include_usage": true}},
		want: []string{
			`role=assistant content="" finish=null`,
			`content="" finish=stop`,
			"usage prompt=2 completion=0 total=2",
			"[DONE]",
		},
	}, {
		name:     "completion, prompt array, usage",
		endpoint: enginetest.PathCompletions,
		fields: map[string]any{"prompt": []string{"a b c d"}, "max_tokens": 2, "stream": true,
			"stream_options": map[string]any{"include_usage": true}},
		want: []string{
			`text="tok0 " finish=null`,
			`text="tok1 " finish=length`,
			"usage prompt=4 completion=2 total=6",
			"[DONE]",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := enginetest.MustStart(t, tt.opts...)
			c := newClient(t)
			r := post(context.Background(), t, c, srv.URL()+tt.endpoint, reqBody(t, tt.fields))
			if r.doErr != nil || r.readErr != nil || r.status != http.StatusOK {
				t.Fatalf("status %d, errors %v, %v; body %s", r.status, r.doErr, r.readErr, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
				t.Errorf("Content-Type %q, want text/event-stream", ct)
			}
			object := "chat.completion.chunk"
			if tt.endpoint == enginetest.PathCompletions {
				object = "text_completion"
			}
			got := summarize(t, sseData(r.body), object)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBlocking(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithModels("m1", "m2"), enginetest.WithOutputTokens(3))
	c := newClient(t)

	r := post(context.Background(), t, c, srv.URL()+enginetest.PathChatCompletions,
		reqBody(t, map[string]any{"model": "m2", "messages": chat("a b c"), "max_tokens": 8}))
	if r.status != http.StatusOK {
		t.Fatalf("chat: status %d: %s", r.status, r.body)
	}
	var gotChat struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Message struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage wireUsage `json:"usage"`
	}
	if err := json.Unmarshal(r.body, &gotChat); err != nil {
		t.Fatalf("chat body %s: %v", r.body, err)
	}
	wantChat := gotChat
	wantChat.Object, wantChat.Model = "chat.completion", "m2"
	wantChat.Choices = append(wantChat.Choices[:0:0], gotChat.Choices...)
	if len(wantChat.Choices) == 1 {
		wantChat.Choices[0].Message.Role = "assistant"
		wantChat.Choices[0].Message.Content = "tok0 tok1 tok2 "
		wantChat.Choices[0].FinishReason = "stop"
	}
	wantChat.Usage = wireUsage{PromptTokens: 3, CompletionTokens: 3, TotalTokens: 6}
	if diff := cmp.Diff(wantChat, gotChat); diff != "" || len(gotChat.Choices) != 1 {
		t.Errorf("chat (-want +got):\n%s\nbody %s", diff, r.body)
	}

	r = post(context.Background(), t, c, srv.URL()+enginetest.PathCompletions,
		reqBody(t, map[string]any{"prompt": "a b", "max_tokens": 2}))
	var gotText struct {
		Object  string `json:"object"`
		Model   string `json:"model"`
		Choices []struct {
			Text         string `json:"text"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage wireUsage `json:"usage"`
	}
	if err := json.Unmarshal(r.body, &gotText); err != nil {
		t.Fatalf("completion body %s: %v", r.body, err)
	}
	if gotText.Object != "text_completion" || gotText.Model != "m1" || len(gotText.Choices) != 1 ||
		gotText.Choices[0].Text != "tok0 tok1 " || gotText.Choices[0].FinishReason != "length" ||
		gotText.Usage != (wireUsage{PromptTokens: 2, CompletionTokens: 2, TotalTokens: 4}) {
		t.Errorf("completion body %s", r.body)
	}
}

func TestInfoEndpoints(t *testing.T) {
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		OwnedBy string `json:"owned_by"`
		Version string `json:"version"`
	}
	type list struct {
		Object string  `json:"object"`
		Data   []model `json:"data"`
	}
	c := newClient(t)

	srv := enginetest.MustStart(t)
	r := get(t, c, srv.URL()+"/v1/models")
	var got list
	if err := json.Unmarshal(r.body, &got); err != nil || r.status != http.StatusOK {
		t.Fatalf("/v1/models: %d %s: %v", r.status, r.body, err)
	}
	want := list{Object: "list", Data: []model{{ID: enginetest.DefaultModel, Object: "model", OwnedBy: "enginetest"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/v1/models (-want +got):\n%s", diff)
	}
	r = get(t, c, srv.URL()+"/version")
	if string(r.body) != `{"version":"`+enginetest.DefaultVersion+`"}` {
		t.Errorf("/version: %s", r.body)
	}
	if r = get(t, c, srv.URL()+"/health"); r.status != http.StatusOK || len(r.body) != 0 {
		t.Errorf("/health: %d %q", r.status, r.body)
	}
	if r = get(t, c, srv.URL()+"/get_server_info"); r.status != http.StatusNotFound {
		t.Errorf("/get_server_info: %d, want 404", r.status)
	}
	if r = get(t, c, srv.URL()+enginetest.PathChatCompletions); r.status != http.StatusMethodNotAllowed {
		t.Errorf("GET %s: %d, want 405", enginetest.PathChatCompletions, r.status)
	}

	srv2 := enginetest.MustStart(t, enginetest.WithModels("a", "b"), enginetest.WithVersion("0.22.1"),
		enginetest.WithVersionInModelList())
	r = get(t, c, srv2.URL()+"/v1/models")
	got = list{}
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	want = list{Object: "list", Data: []model{
		{ID: "a", Object: "model", OwnedBy: "enginetest", Version: "0.22.1"},
		{ID: "b", Object: "model", OwnedBy: "enginetest", Version: "0.22.1"},
	}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("/v1/models with versions (-want +got):\n%s", diff)
	}
}

func TestRejections(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithAPIKey("sekrit"))
	c := newClient(t)
	auth := []string{"Authorization", "Bearer sekrit"}
	ok := reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 1})
	tests := []struct {
		name     string
		path     string
		body     string
		hdr      []string
		status   int
		wantType string // of the OpenAI-style error; "" for other bodies
		wantBody string // exact body, when not an OpenAI-style error
	}{
		{"no key", enginetest.PathChatCompletions, ok, nil, 401, "", `{"error":"Unauthorized"}`},
		{"wrong key", enginetest.PathChatCompletions, ok, []string{"Authorization", "Bearer nope"}, 401, "", `{"error":"Unauthorized"}`},
		{"right key", enginetest.PathChatCompletions, ok, auth, 200, "", ""},
		{"unknown model", enginetest.PathChatCompletions,
			reqBody(t, map[string]any{"model": "gpt-9", "messages": chat("hi")}), auth, 404, "NotFoundError", ""},
		{"not JSON", enginetest.PathCompletions, "{", auth, 400, "BadRequestError", ""},
		{"no prompt", enginetest.PathCompletions, `{"max_tokens":3}`, auth, 400, "BadRequestError", ""},
		{"no messages", enginetest.PathChatCompletions, `{"messages":[]}`, auth, 400, "BadRequestError", ""},
		{"max_tokens 0", enginetest.PathChatCompletions,
			reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 0}), auth, 400, "BadRequestError", ""},
		{"min_tokens above max_tokens", enginetest.PathChatCompletions,
			reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 2, "min_tokens": 3}), auth, 400, "BadRequestError", ""},
		{"stream_options without stream", enginetest.PathChatCompletions,
			reqBody(t, map[string]any{"messages": chat("hi"), "stream_options": map[string]any{"include_usage": true}}),
			auth, 400, "BadRequestError", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(context.Background(), t, c, srv.URL()+tt.path, tt.body, tt.hdr...)
			if r.doErr != nil || r.status != tt.status {
				t.Fatalf("status %d (%v), want %d; body %s", r.status, r.doErr, tt.status, r.body)
			}
			switch {
			case tt.wantType != "":
				var e struct{ Error wireError }
				if err := json.Unmarshal(r.body, &e); err != nil {
					t.Fatalf("body %s: %v", r.body, err)
				}
				if e.Error.Type != tt.wantType || e.Error.Code != tt.status || e.Error.Message == "" {
					t.Errorf("error %+v, want type %s and code %d", e.Error, tt.wantType, tt.status)
				}
			case tt.wantBody != "":
				if string(r.body) != tt.wantBody {
					t.Errorf("body %s, want %s", r.body, tt.wantBody)
				}
			}
		})
	}
	if r := get(t, c, srv.URL()+"/v1/models"); r.status != http.StatusUnauthorized {
		t.Errorf("/v1/models without key: %d, want 401", r.status)
	}
	if r := get(t, c, srv.URL()+"/v1/models", auth...); r.status != http.StatusOK {
		t.Errorf("/v1/models with key: %d, want 200", r.status)
	}
	if r := get(t, c, srv.URL()+"/health"); r.status != http.StatusOK {
		t.Errorf("/health without key: %d, want 200", r.status)
	}

	waitIdle(t, srv.WaitIdle)
	var statuses []int
	for _, rec := range srv.Requests() {
		statuses = append(statuses, rec.Status)
	}
	var want []int
	for _, tt := range tests {
		want = append(want, tt.status)
	}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("recorded statuses (-want +got):\n%s", diff)
	}
	if recs := srv.Requests(); len(recs) > 3 && recs[3].Model != "gpt-9" {
		t.Errorf("404 recorded with model %q, want the unknown id", recs[3].Model)
	}
}

func TestSSEFraming(t *testing.T) {
	fields := map[string]any{"messages": chat("hi"), "max_tokens": 2, "stream": true}
	want := []string{
		`role=assistant content="" finish=null`,
		`content="tok0 " finish=null`,
		`content="tok1 " finish=length`,
		"[DONE]",
	}
	tests := []struct {
		name     string
		framing  enginetest.SSEFraming
		contains string
	}{
		{"default", enginetest.SSEFraming{}, "data: {"},
		{"comments", enginetest.SSEFraming{Comments: true}, ": ping\n\ndata: {"},
		{"no space", enginetest.SSEFraming{NoSpace: true}, "}\n\ndata:{"},
		{"CRLF", enginetest.SSEFraming{CRLF: true}, "}\r\n\r\ndata: {"},
		{"all", enginetest.SSEFraming{Comments: true, NoSpace: true, CRLF: true}, ": ping\r\n\r\ndata:[DONE]\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := enginetest.MustStart(t, enginetest.WithSSEFraming(tt.framing))
			r := post(context.Background(), t, newClient(t), srv.URL()+enginetest.PathChatCompletions, reqBody(t, fields))
			if r.status != http.StatusOK || r.readErr != nil {
				t.Fatalf("status %d, %v", r.status, r.readErr)
			}
			if !strings.Contains(string(r.body), tt.contains) {
				t.Errorf("body does not contain %q:\n%q", tt.contains, r.body)
			}
			if diff := cmp.Diff(want, summarize(t, sseData(r.body), "chat.completion.chunk")); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEachEventIsOneFlush(t *testing.T) {
	srv := enginetest.MustStart(t)
	status, chunks := rawChunks(t, srv.URL(), enginetest.PathChatCompletions,
		reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 3, "stream": true}))
	if status != http.StatusOK {
		t.Fatalf("status %d", status)
	}
	var got []string
	for _, c := range chunks {
		got = append(got, string(c))
		if !strings.HasPrefix(string(c), "data: ") || !strings.HasSuffix(string(c), "\n\n") || strings.Count(string(c), "\n\n") != 1 {
			t.Errorf("flush %q is not exactly one event", c)
		}
	}
	if len(got) != 5 { // role, 3 content, [DONE]
		t.Errorf("%d flushes, want 5: %q", len(got), got)
	}
}

func TestRecords(t *testing.T) {
	t.Run("sleep", func(t *testing.T) { testRecords(t, 0) })
	t.Run("busy wait", func(t *testing.T) { testRecords(t, 2*time.Millisecond) })
}

func testRecords(t *testing.T, busyWait time.Duration) {
	const ttft, itl = 30 * time.Millisecond, 5 * time.Millisecond
	srv := enginetest.MustStart(t, enginetest.WithTTFT(ttft), enginetest.WithITL(itl), enginetest.WithTokensPerChunk(2),
		enginetest.WithBusyWait(busyWait))
	c := newClient(t)
	fields := map[string]any{"model": enginetest.DefaultModel, "messages": chat("a b\tc"), "max_tokens": 5,
		"min_tokens": 1, "ignore_eos": true, "stream": true, "stream_options": map[string]any{"include_usage": true}}
	r := post(context.Background(), t, c, srv.URL()+enginetest.PathChatCompletions, reqBody(t, fields))
	if r.status != http.StatusOK || r.readErr != nil {
		t.Fatalf("status %d, %v", r.status, r.readErr)
	}
	end := time.Now()
	waitIdle(t, srv.WaitIdle)
	recs := srv.Requests()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	rec := recs[0]
	wantReq := enginetest.Request{Seq: 0, Endpoint: enginetest.PathChatCompletions, Model: enginetest.DefaultModel,
		Stream: true, IncludeUsage: true, MaxTokens: 5, MinTokens: 1, IgnoreEOS: true, Prompt: "a b\tc"}
	if diff := cmp.Diff(wantReq, rec.Request); diff != "" {
		t.Errorf("Request (-want +got):\n%s", diff)
	}
	if rec.Status != 200 || rec.PromptTokens != 3 || rec.OutputTokens != 5 || rec.FinishReason != "length" || rec.Err != nil || rec.Fault != nil {
		t.Errorf("record %+v", rec)
	}
	// The schedule is exact: chunks of 2, 2, 1 tokens due at TTFT,
	// TTFT+2·ITL, TTFT+3·ITL after the arrival.
	var dues []time.Duration
	var tokens []int
	for _, ch := range rec.Chunks {
		dues = append(dues, ch.Due.Sub(rec.Arrival))
		tokens = append(tokens, ch.Tokens)
		if ch.Flushed.Before(ch.Due) {
			t.Errorf("chunk flushed at %v, before its due time %v", ch.Flushed, ch.Due)
		}
	}
	if diff := cmp.Diff([]time.Duration{ttft, ttft + 2*itl, ttft + 3*itl}, dues); diff != "" {
		t.Errorf("due offsets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]int{2, 2, 1}, tokens); diff != "" {
		t.Errorf("tokens per chunk (-want +got):\n%s", diff)
	}
	// Order of the ground-truth times, and their relation to the client's
	// clock (same process, monotonic readings).
	order := []struct {
		name string
		at   time.Time
	}{
		{"client sent", r.sent}, {"arrival", rec.Arrival}, {"headers sent", rec.HeadersSent},
		{"first byte", rec.FirstByte}, {"first token", rec.FirstToken}, {"last chunk", rec.Chunks[len(rec.Chunks)-1].Flushed},
		{"end", rec.End}, {"client done", end},
	}
	for i := 1; i < len(order); i++ {
		if order[i].at.Before(order[i-1].at) {
			t.Errorf("%s (%v) before %s (%v)", order[i].name, order[i].at, order[i-1].name, order[i-1].at)
		}
	}
	if got := rec.FirstToken.Sub(rec.Arrival); got < ttft {
		t.Errorf("first token %v after arrival, want at least %v", got, ttft)
	}
	if !rec.FirstToken.Equal(rec.Chunks[0].Flushed) {
		t.Errorf("FirstToken %v, want the first chunk's flush %v", rec.FirstToken, rec.Chunks[0].Flushed)
	}

	// Records are copies; ResetRequests forgets them; Seq goes on.
	recs[0].Chunks[0].Tokens = 99
	if srv.Requests()[0].Chunks[0].Tokens == 99 {
		t.Error("Requests shares its chunks with the caller")
	}
	srv.ResetRequests()
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d records after ResetRequests", n)
	}
	post(context.Background(), t, c, srv.URL()+enginetest.PathCompletions, `{"prompt":"x","max_tokens":1}`)
	waitIdle(t, srv.WaitIdle)
	if recs := srv.Requests(); len(recs) != 1 || recs[0].Seq != 1 || recs[0].Stream || len(recs[0].Chunks) != 1 || recs[0].FirstToken.IsZero() {
		t.Errorf("blocking record after reset: %+v", recs)
	}
}

func TestPromptsAndLimits(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		fields map[string]any
		want   enginetest.Request
		tokens [2]int // prompt, output
	}{{
		name: "chat with content parts and several messages",
		path: enginetest.PathChatCompletions,
		fields: map[string]any{"messages": []map[string]any{
			{"role": "system", "content": "be brief"},
			{"role": "user", "content": []map[string]any{{"type": "text", "text": "one two"}, {"type": "image_url"}}},
		}},
		want:   enginetest.Request{Endpoint: enginetest.PathChatCompletions, Model: enginetest.DefaultModel, Prompt: "be brief\none two "},
		tokens: [2]int{4, enginetest.DefaultRequestMaxTokens},
	}, {
		name:   "max_completion_tokens",
		path:   enginetest.PathChatCompletions,
		fields: map[string]any{"messages": chat("x"), "max_completion_tokens": 7},
		want:   enginetest.Request{Endpoint: enginetest.PathChatCompletions, Model: enginetest.DefaultModel, MaxTokens: 7, Prompt: "x"},
		tokens: [2]int{1, 7},
	}, {
		name:   "completion, natural length below max_tokens",
		path:   enginetest.PathCompletions,
		fields: map[string]any{"prompt": "  a  b\n", "max_tokens": 1000},
		want:   enginetest.Request{Endpoint: enginetest.PathCompletions, Model: enginetest.DefaultModel, MaxTokens: 1000, Prompt: "  a  b\n"},
		tokens: [2]int{2, enginetest.DefaultOutputTokens},
	}}
	srv := enginetest.MustStart(t)
	c := newClient(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(context.Background(), t, c, srv.URL()+tt.path, reqBody(t, tt.fields))
			if r.status != http.StatusOK {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			waitIdle(t, srv.WaitIdle)
			rec := srv.Requests()[i]
			tt.want.Seq = i
			if diff := cmp.Diff(tt.want, rec.Request); diff != "" {
				t.Errorf("Request (-want +got):\n%s", diff)
			}
			if got := [2]int{rec.PromptTokens, rec.OutputTokens}; got != tt.tokens {
				t.Errorf("prompt and output tokens %v, want %v", got, tt.tokens)
			}
		})
	}
}

func TestJitterIsReproducible(t *testing.T) {
	const ttft, itl, jitter = 20 * time.Millisecond, time.Millisecond, 10 * time.Millisecond
	offsets := func(seed uint64) []time.Duration {
		srv := enginetest.MustStart(t, enginetest.WithTTFT(ttft), enginetest.WithITL(itl),
			enginetest.WithJitter(jitter), enginetest.WithSeed(seed))
		defer srv.Close()
		c := newClient(t)
		r := post(context.Background(), t, c, srv.URL()+enginetest.PathChatCompletions,
			reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 8, "stream": true}))
		if r.status != http.StatusOK {
			t.Fatalf("status %d", r.status)
		}
		waitIdle(t, srv.WaitIdle)
		rec := srv.Requests()[0]
		var out []time.Duration
		prev := rec.Arrival
		for i, ch := range rec.Chunks {
			off := ch.Due.Sub(rec.Arrival)
			out = append(out, off)
			nominal := ttft + time.Duration(i)*itl
			// The first token is jittered, and each later chunk again
			// from there.
			lo, hi := max(nominal-2*jitter, 0), nominal+2*jitter
			if i == 0 {
				lo, hi = nominal-jitter, nominal+jitter
			}
			if off < lo || off > hi || ch.Due.Before(prev) {
				t.Errorf("chunk %d due at %v, want within [%v, %v], not before the previous one", i, off, lo, hi)
			}
			prev = ch.Due
		}
		return out
	}
	a, b, c := offsets(7), offsets(7), offsets(8)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different schedules (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same schedule %v", a)
	}
}

func TestConcurrentStreams(t *testing.T) {
	const n = 200
	srv := enginetest.MustStart(t, enginetest.WithTTFT(20*time.Millisecond), enginetest.WithITL(time.Millisecond))
	c := newClient(t)
	body := reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 16, "stream": true})
	var wg sync.WaitGroup
	errs := make(chan string, n)
	for range n {
		wg.Go(func() {
			r := post(context.Background(), t, c, srv.URL()+enginetest.PathChatCompletions, body)
			if r.doErr != nil || r.readErr != nil || r.status != http.StatusOK || !strings.HasSuffix(string(r.body), "data: [DONE]\n\n") {
				errs <- strings.TrimSpace(string(r.body))
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Errorf("a stream failed: %s", e)
	}
	waitIdle(t, srv.WaitIdle)
	recs := srv.Requests()
	if len(recs) != n {
		t.Fatalf("%d records, want %d", len(recs), n)
	}
	for i, rec := range recs {
		if rec.Seq != i || len(rec.Chunks) != 16 || rec.Err != nil {
			t.Errorf("record %d: Seq %d, %d chunks, Err %v", i, rec.Seq, len(rec.Chunks), rec.Err)
		}
	}
}

func TestCloseCutsOffStreamsAndLeaksNothing(t *testing.T) {
	before := goroutineStacks()
	srv, err := enginetest.Start(enginetest.WithFault(func(enginetest.Request) enginetest.Fault {
		return enginetest.Hang{AfterChunks: 1}
	}))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	c := &http.Client{Transport: tr}
	const streams = 3
	started := make(chan struct{}, streams)
	var wg sync.WaitGroup
	for range streams {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+enginetest.PathChatCompletions,
				strings.NewReader(`{"messages":[{"role":"user","content":"hi"}],"stream":true}`))
			resp, err := c.Do(req)
			if err != nil {
				t.Errorf("Do: %v", err)
				started <- struct{}{}
				return
			}
			defer resp.Body.Close()
			buf := make([]byte, 1)
			_, _ = resp.Body.Read(buf) // the stream has started
			started <- struct{}{}
			_, _ = io.Copy(io.Discard, resp.Body)
		})
	}
	for range streams {
		<-started
	}
	closed := make(chan struct{})
	go func() {
		srv.Close()
		srv.Close() // idempotent
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return while streams hang")
	}
	wg.Wait()
	tr.CloseIdleConnections()
	recs := srv.Requests()
	if len(recs) != streams {
		t.Fatalf("%d records after Close, want %d", len(recs), streams)
	}
	for _, rec := range recs {
		if !errors.Is(rec.Err, enginetest.ErrClosed) || rec.End.IsZero() {
			t.Errorf("cut-off stream recorded with Err %v, End %v; want ErrClosed and an end", rec.Err, rec.End)
		}
	}
	if leaked := leakedGoroutines(before, 5*time.Second); len(leaked) > 0 {
		t.Errorf("goroutines left after Close:\n\n%s", strings.Join(leaked, "\n\n"))
	}
}

func TestNewHandler(t *testing.T) {
	h, err := enginetest.NewHandler(enginetest.WithOutputTokens(2))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(h)
	defer ts.Close()
	c := newClient(t)
	r := post(context.Background(), t, c, ts.URL+enginetest.PathCompletions, `{"prompt":"hi","stream":true}`)
	if got := summarize(t, sseData(r.body), "text_completion"); len(got) != 3 {
		t.Errorf("events %q", got)
	}
	h.Close()
	h.Close()
	r = post(context.Background(), t, c, ts.URL+enginetest.PathCompletions, `{"prompt":"hi"}`)
	if r.status != http.StatusServiceUnavailable {
		t.Errorf("after Close: status %d, want 503", r.status)
	}
	recs := h.Requests()
	if len(recs) != 2 || recs[1].Status != http.StatusServiceUnavailable || !errors.Is(recs[1].Err, enginetest.ErrClosed) {
		t.Errorf("records %+v", recs)
	}
}

func TestInvalidOptions(t *testing.T) {
	tests := []struct {
		name string
		opt  enginetest.Option
	}{
		{"negative TTFT", enginetest.WithTTFT(-time.Millisecond)},
		{"negative ITL", enginetest.WithITL(-1)},
		{"negative jitter", enginetest.WithJitter(-1)},
		{"negative busy wait", enginetest.WithBusyWait(-1)},
		{"zero tokens per chunk", enginetest.WithTokensPerChunk(0)},
		{"negative output tokens", enginetest.WithOutputTokens(-1)},
		{"no models", enginetest.WithModels()},
		{"empty model", enginetest.WithModels("a", "")},
		{"duplicate model", enginetest.WithModels("a", "a")},
		{"empty version", enginetest.WithVersion("")},
		{"empty API key", enginetest.WithAPIKey("")},
		{"nil option", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := enginetest.NewHandler(tt.opt); !errors.Is(err, enginetest.ErrInvalidOption) {
				t.Errorf("NewHandler: %v, want ErrInvalidOption", err)
			}
			if srv, err := enginetest.Start(tt.opt); !errors.Is(err, enginetest.ErrInvalidOption) {
				if srv != nil {
					srv.Close()
				}
				t.Errorf("Start: %v, want ErrInvalidOption", err)
			}
		})
	}
}

// BenchmarkChatStream measures the cost of one streamed chat completion of
// 128 one-token chunks, client included.
func BenchmarkChatStream(b *testing.B) {
	srv := enginetest.MustStart(b, enginetest.WithOutputTokens(128))
	c := newClient(b)
	body := reqBody(b, map[string]any{"messages": chat("hi"), "max_tokens": 128, "stream": true})
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			r := post(context.Background(), b, c, srv.URL()+enginetest.PathChatCompletions, body)
			if r.status != http.StatusOK || r.readErr != nil {
				b.Errorf("status %d, %v", r.status, r.readErr)
			}
		}
	})
}
