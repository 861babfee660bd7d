package enginetest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// openStream sends a request and returns the response with its body
// unread; cancel ends the request.
func openStream(t *testing.T, c *http.Client, url, body string) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	return resp, func() { cancel(); resp.Body.Close() }
}

func TestHugeUsage(t *testing.T) {
	tests := []struct {
		fault      enginetest.HugeUsage
		prompt     string
		completion string
	}{
		{enginetest.HugeUsage{CompletionTokens: "9223372036854775807"}, "2", "9223372036854775807"},
		{enginetest.HugeUsage{CompletionTokens: "1e9", PromptTokens: "-5"}, "-5", "1e9"},
		{enginetest.HugeUsage{CompletionTokens: "1e400", PromptTokens: "18446744073709551616"}, "18446744073709551616", "1e400"},
		{enginetest.HugeUsage{}, "2", "3"},
	}
	for _, tt := range tests {
		t.Run(string(tt.fault.CompletionTokens), func(t *testing.T) {
			srv := faultServer(t, map[string]enginetest.Fault{"two words": tt.fault})
			want := `{"prompt_tokens":` + tt.prompt + `,"total_tokens":5,"completion_tokens":` + tt.completion + `}`
			r := post(context.Background(), t, newClient(t), srv.URL()+enginetest.PathChatCompletions,
				reqBody(t, map[string]any{"messages": chat("two words"), "max_tokens": 3, "stream": true, "stream_options": map[string]any{"include_usage": true}}))
			events := sseData(r.body)
			if len(events) < 2 {
				t.Fatalf("events %q", events)
			}
			if usage := events[len(events)-2]; !strings.HasSuffix(usage, `"usage":`+want+`}`) {
				t.Errorf("usage event %q; want usage %s", usage, want)
			}
			r = post(context.Background(), t, newClient(t), srv.URL()+enginetest.PathCompletions,
				reqBody(t, map[string]any{"prompt": "two words", "max_tokens": 3}))
			if !bytes.HasSuffix(r.body, []byte(`"usage":`+want+`}`)) {
				t.Errorf("blocking body %s; want usage %s", r.body, want)
			}
			waitIdle(t, srv.WaitIdle)
			if rec := srv.Requests()[0]; rec.OutputTokens != 3 || rec.PromptTokens != 2 {
				t.Errorf("record keeps %d prompt and %d output tokens; want the planned 2 and 3", rec.PromptTokens, rec.OutputTokens)
			}
		})
	}
}

// TestUnterminated: after the role chunk comes an event that never ends,
// until the client goes away.
func TestUnterminated(t *testing.T) {
	for _, tt := range []struct {
		name, path, body, prefix string
	}{
		{"chat stream", enginetest.PathChatCompletions, `{"messages":[{"role":"user","content":"x"}],"stream":true}`, "data: {\"x\":\""},
		{"completion stream", enginetest.PathCompletions, `{"prompt":"x","stream":true}`, "data: {\"x\":\""},
		{"blocking", enginetest.PathCompletions, `{"prompt":"x"}`, "{\"x\":\""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := enginetest.MustStart(t, enginetest.WithFault(func(enginetest.Request) enginetest.Fault { return enginetest.Unterminated{} }))
			resp, cancel := openStream(t, newClient(t), srv.URL()+tt.path, tt.body)
			br := bufio.NewReader(resp.Body)
			if strings.Contains(tt.path, "chat") {
				role, err := br.ReadString('\n')
				if err != nil || !strings.Contains(role, `"role":"assistant"`) {
					t.Fatalf("first line %q, %v; want the role chunk", role, err)
				}
				if blank, _ := br.ReadString('\n'); blank != "\n" {
					t.Fatalf("role event not ended: %q", blank)
				}
			}
			head := make([]byte, 4<<20)
			if _, err := io.ReadFull(br, head); err != nil {
				t.Fatal(err)
			}
			cancel()
			if !bytes.HasPrefix(head, []byte(tt.prefix)) || bytes.ContainsAny(head, "\r\n") ||
				bytes.Count(head, []byte("x")) != len(head)-len(tt.prefix)+1 {
				t.Errorf("body starts %q; want %q and then only 'x' for 4 MiB", head[:20], tt.prefix)
			}
			waitIdle(t, srv.WaitIdle) // the handler stopped writing
			if rec := srv.Requests()[0]; len(rec.Chunks) != 0 || rec.Err == nil || rec.Status != 200 {
				t.Errorf("record: status %d, %d chunks, Err %v", rec.Status, len(rec.Chunks), rec.Err)
			}
		})
	}
}

func TestGiantChunk(t *testing.T) {
	const size = 100 << 10
	srv := faultServer(t, map[string]enginetest.Fault{"hi": enginetest.GiantChunk{Size: size}})
	r := post(context.Background(), t, newClient(t), srv.URL()+enginetest.PathChatCompletions,
		reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 3, "stream": true}))
	want := []string{`role=assistant content="" finish=null`,
		`content="tok0 xxxxxxxxxxx…(102400 bytes)" finish=null`, `content="tok1 xxxxxxxxxxx…(102400 bytes)" finish=null`,
		`content="tok2 xxxxxxxxxxx…(102400 bytes)" finish=length`, "[DONE]"}
	if diff := cmp.Diff(want, summarize(t, sseData(r.body), "chat.completion.chunk")); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	r = post(context.Background(), t, newClient(t), srv.URL()+enginetest.PathCompletions,
		reqBody(t, map[string]any{"prompt": "hi", "max_tokens": 3}))
	var v struct{ Choices []struct{ Text string } }
	if err := json.Unmarshal(r.body, &v); err != nil || len(v.Choices) != 1 || len(v.Choices[0].Text) != size {
		t.Errorf("blocking body: %v", err)
	}
	waitIdle(t, srv.WaitIdle)
	for _, rec := range srv.Requests() {
		total := 0
		for _, c := range rec.Chunks {
			total += c.Tokens
		}
		if total != 3 {
			t.Errorf("record has %d tokens; want 3", total)
		}
	}
}

// TestEndless: one-token chunks without a finish_reason, until the client
// goes away.
func TestEndless(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithFault(func(enginetest.Request) enginetest.Fault { return enginetest.Endless{} }))
	resp, cancel := openStream(t, newClient(t), srv.URL()+enginetest.PathChatCompletions,
		`{"messages":[{"role":"user","content":"x"}],"max_tokens":3,"stream":true}`)
	sc := bufio.NewScanner(resp.Body)
	var events []string
	for len(events) < 2001 && sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events = append(events, d)
		}
	}
	cancel()
	got := summarize(t, events, "chat.completion.chunk")
	if len(got) != 2001 || got[0] != `role=assistant content="" finish=null` || got[1] != `content="tok0 " finish=null` || got[2000] != `content="tok1999 " finish=null` {
		t.Fatalf("%d events, first %q, last %q", len(got), got[:min(2, len(got))], got[len(got)-1])
	}
	waitIdle(t, srv.WaitIdle)
	if rec := srv.Requests()[0]; len(rec.Chunks) < 2000 || rec.Err == nil {
		t.Errorf("record: %d chunks, Err %v; want at least 2000 and the client gone", len(rec.Chunks), rec.Err)
	}

	resp, cancel = openStream(t, newClient(t), srv.URL()+enginetest.PathCompletions, `{"prompt":"x","max_tokens":3}`)
	head := make([]byte, 1<<20)
	_, err := io.ReadFull(resp.Body, head)
	cancel()
	if err != nil || !bytes.Contains(head, []byte(`"text":"tok0 tok1 tok2 `)) {
		t.Errorf("blocking body starts %q, %v", head[:120], err)
	}
	waitIdle(t, srv.WaitIdle)
}

func TestRedirect(t *testing.T) {
	srv := faultServer(t, map[string]enginetest.Fault{
		"default": enginetest.Redirect{Location: "http://127.0.0.1:9/v1/chat/completions"},
		"301":     enginetest.Redirect{Location: "/elsewhere", Code: http.StatusMovedPermanently},
	})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for prompt, want := range map[string]struct {
		code     int
		location string
	}{"default": {307, "http://127.0.0.1:9/v1/chat/completions"}, "301": {301, "/elsewhere"}} {
		r := post(context.Background(), t, noFollow, srv.URL()+enginetest.PathChatCompletions,
			reqBody(t, map[string]any{"messages": chat(prompt), "stream": true}))
		if r.status != want.code || r.header.Get("Location") != want.location || len(r.body) != 0 {
			t.Errorf("%s: status %d, Location %q, body %q; want %d %q", prompt, r.status, r.header.Get("Location"), r.body, want.code, want.location)
		}
	}
	noFollow.CloseIdleConnections()
}

func TestInvalidHostileFaults(t *testing.T) {
	for _, f := range []enginetest.Fault{
		enginetest.HugeUsage{CompletionTokens: "abc"},
		enginetest.HugeUsage{PromptTokens: `"5"`},
		enginetest.HugeUsage{CompletionTokens: "1 2"},
		enginetest.GiantChunk{Size: -1},
		enginetest.Redirect{Location: "/x", Code: 200},
		enginetest.Redirect{},
	} {
		srv := enginetest.MustStart(t, enginetest.WithFault(func(enginetest.Request) enginetest.Fault { return f }))
		r := post(context.Background(), t, newClient(t), srv.URL()+enginetest.PathChatCompletions,
			reqBody(t, map[string]any{"messages": chat("x"), "stream": true}))
		waitIdle(t, srv.WaitIdle)
		if rec := srv.Requests()[0]; r.status != 500 || !errors.Is(rec.Err, enginetest.ErrInvalidFault) {
			t.Errorf("%#v: status %d, Err %v; want 500 and ErrInvalidFault", f, r.status, rec.Err)
		}
		srv.Close()
	}
}
