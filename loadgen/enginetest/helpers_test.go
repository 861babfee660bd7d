package enginetest_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when a goroutine of the package or of net/http
// outlives the tests. (go.uber.org/goleak is not a dependency of the module
// yet; this is the small part of it we need.)
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leaked := leakedGoroutines(nil, 5*time.Second); len(leaked) > 0 {
			fmt.Fprintf(os.Stderr, "leaked goroutines:\n\n%s\n", strings.Join(leaked, "\n\n"))
			code = 1
		}
	}
	os.Exit(code)
}

var goroutineHeader = regexp.MustCompile(`^goroutine (\d+) `)

// goroutineStacks returns the stacks of all goroutines but the caller's, by
// goroutine id.
func goroutineStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := make(map[string]string)
	for i, g := range strings.Split(string(buf), "\n\n") {
		if i == 0 { // the caller
			continue
		}
		if m := goroutineHeader.FindStringSubmatch(g); m != nil {
			out[m[1]] = g
		}
	}
	return out
}

// leakedGoroutines waits up to wait for the goroutines that are not in
// before and that run code of this package or of net/http to end, and
// returns the stacks of those still there.
func leakedGoroutines(before map[string]string, wait time.Duration) []string {
	deadline := time.Now().Add(wait)
	for {
		var leaked []string
		for id, st := range goroutineStacks() {
			if _, ok := before[id]; ok {
				continue
			}
			if strings.Contains(st, "loadgen/enginetest.") || strings.Contains(st, "net/http.") {
				leaked = append(leaked, st)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return leaked
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// newClient returns a client with its own transport, closed at cleanup.
func newClient(t testing.TB) *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// reqBody renders a request body.
func reqBody(t testing.TB, fields map[string]any) string {
	t.Helper()
	b, err := json.Marshal(fields)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func chat(prompt string) []map[string]any {
	return []map[string]any{{"role": "user", "content": prompt}}
}

// response is what a plain client saw.
type response struct {
	status  int
	header  http.Header
	body    []byte
	doErr   error // from Client.Do
	readErr error // from reading the body
	sent    time.Time
	headers time.Time // when Do returned
}

func post(ctx context.Context, t testing.TB, c *http.Client, url, body string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	var r response
	r.sent = time.Now()
	resp, err := c.Do(req)
	r.headers = time.Now()
	if err != nil {
		r.doErr = err
		return r
	}
	defer resp.Body.Close()
	r.status, r.header = resp.StatusCode, resp.Header
	r.body, r.readErr = io.ReadAll(resp.Body)
	return r
}

func get(t testing.TB, c *http.Client, url string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}
}

// sseData parses an SSE body the way the spec says (any line ending,
// comment lines, "data:" with or without one space) and returns the data of
// each event.
func sseData(body []byte) []string {
	s := strings.ReplaceAll(string(body), "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	var out []string
	var data []string
	for _, line := range strings.Split(s, "\n") {
		switch {
		case line == "":
			if data != nil {
				out = append(out, strings.Join(data, "\n"))
				data = nil
			}
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "data:"):
			v := strings.TrimPrefix(line, "data:")
			data = append(data, strings.TrimPrefix(v, " "))
		}
	}
	return out
}

// wireChunk is a streamed chunk, as a client decodes it.
type wireChunk struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	Model   string `json:"model"`
	Choices []struct {
		Index int `json:"index"`
		Delta *struct {
			Role    *string `json:"role"`
			Content *string `json:"content"`
		} `json:"delta"`
		Text         *string `json:"text"`
		FinishReason *string `json:"finish_reason"`
	} `json:"choices"`
	Usage *wireUsage `json:"usage"`
	Error *wireError `json:"error"`
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type wireError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    int     `json:"code"`
}

// summarize turns the events of a stream into one line each, and checks
// that every chunk has the same id, object, created and model.
func summarize(t *testing.T, events []string, object string) []string {
	t.Helper()
	var out []string
	var first *wireChunk
	for _, ev := range events {
		if ev == "[DONE]" {
			out = append(out, "[DONE]")
			continue
		}
		var c wireChunk
		if err := json.Unmarshal([]byte(ev), &c); err != nil {
			out = append(out, "malformed")
			continue
		}
		if c.Error != nil {
			out = append(out, fmt.Sprintf("error code=%d type=%s", c.Error.Code, c.Error.Type))
			continue
		}
		if first == nil {
			first = &c
			if c.Object != object || c.ID == "" || c.Model == "" || c.Created == 0 {
				t.Errorf("chunk %s: want object %q and non-empty id, model, created", ev, object)
			}
		} else if c.ID != first.ID || c.Object != first.Object || c.Created != first.Created || c.Model != first.Model {
			t.Errorf("chunk %s: id/object/created/model differ from the first chunk's", ev)
		}
		if c.Usage != nil {
			if len(c.Choices) != 0 {
				t.Errorf("usage chunk %s has choices", ev)
			}
			out = append(out, fmt.Sprintf("usage prompt=%d completion=%d total=%d",
				c.Usage.PromptTokens, c.Usage.CompletionTokens, c.Usage.TotalTokens))
			continue
		}
		if len(c.Choices) != 1 {
			t.Errorf("chunk %s: want one choice", ev)
			continue
		}
		ch := c.Choices[0]
		finish := "null"
		if ch.FinishReason != nil {
			finish = *ch.FinishReason
		}
		switch {
		case ch.Delta != nil && ch.Delta.Role != nil:
			content := "<none>"
			if ch.Delta.Content != nil {
				content = strconv.Quote(*ch.Delta.Content)
			}
			out = append(out, fmt.Sprintf("role=%s content=%s finish=%s", *ch.Delta.Role, content, finish))
		case ch.Delta != nil && ch.Delta.Content != nil:
			out = append(out, fmt.Sprintf("content=%q finish=%s", shorten(*ch.Delta.Content), finish))
		case ch.Text != nil:
			out = append(out, fmt.Sprintf("text=%q finish=%s", shorten(*ch.Text), finish))
		default:
			out = append(out, "unknown "+ev)
		}
	}
	return out
}

// shorten abbreviates oversized contents.
func shorten(s string) string {
	if len(s) <= 64 {
		return s
	}
	return fmt.Sprintf("%s…(%d bytes)", s[:16], len(s))
}

// rawChunks sends a request over a plain TCP connection and returns the
// status and the HTTP/1.1 chunks of the response body, one per flush.
func rawChunks(t *testing.T, baseURL, path, body string) (int, [][]byte) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(baseURL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		path, len(body), body)
	br := bufio.NewReader(conn)
	tp := textproto.NewReader(br)
	line, err := tp.ReadLine()
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(line, " ", 3)
	status, _ := strconv.Atoi(parts[1])
	hdr, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	if hdr.Get("Transfer-Encoding") != "chunked" {
		t.Fatalf("Transfer-Encoding %q, want chunked", hdr.Get("Transfer-Encoding"))
	}
	var chunks [][]byte
	for {
		sizeLine, err := tp.ReadLine()
		if err != nil {
			t.Fatalf("reading a chunk size: %v", err)
		}
		n, err := strconv.ParseInt(sizeLine, 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", sizeLine, err)
		}
		if n == 0 {
			return status, chunks
		}
		c := make([]byte, n+2)
		if _, err := io.ReadFull(br, c); err != nil {
			t.Fatal(err)
		}
		if !bytes.HasSuffix(c, []byte("\r\n")) {
			t.Fatalf("chunk not followed by CRLF: %q", c)
		}
		chunks = append(chunks, c[:n])
	}
}

func waitIdle(t testing.TB, idle func(context.Context) error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := idle(ctx); err != nil {
		t.Fatalf("WaitIdle: %v", err)
	}
}
