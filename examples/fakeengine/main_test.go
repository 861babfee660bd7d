//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// asCmdEnv, set to "1", makes the test binary the fakeengine command: the
// tests start os.Args[0] with it rather than building the command.
const asCmdEnv = "FAKEENGINE_TEST_AS_CMD"

func TestMain(m *testing.M) {
	if os.Getenv(asCmdEnv) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Generous bounds: start-up and shutdown take milliseconds on an idle
// machine.
const (
	readyWait = 10 * time.Second
	exitWait  = 10 * time.Second
)

// engineProc is fakeengine running as a child process.
type engineProc struct {
	cmd    *exec.Cmd
	url    string // the base URL from the "listening on" line
	rest   bytes.Buffer
	stderr lockedBuffer
	done   chan struct{} // closed when stdout is drained and the process is reaped
	err    error
}

// lockedBuffer is a bytes.Buffer safe to read while the child writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listening = regexp.MustCompile(`^listening on (http://127\.0\.0\.1:[0-9]+)\n$`)

// startEngine starts fakeengine with args and waits for its one line on
// stdout. A child still running when the test ends is killed.
func startEngine(t *testing.T, args ...string) *engineProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &engineProc{cmd: exec.Command(exe, args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), asCmdEnv+"=1")
	p.cmd.Stderr = &p.stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	first := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		line, _ := r.ReadString('\n')
		first <- line
		_, _ = io.Copy(&p.rest, r)
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	select {
	case line := <-first:
		m := listening.FindStringSubmatch(line)
		if m == nil {
			<-p.done
			t.Fatalf("first stdout line %q; want %q\nstderr:\n%s", line, "listening on http://127.0.0.1:PORT", p.stderr.String())
		}
		p.url = m[1]
	case <-time.After(readyWait):
		t.Fatalf("no \"listening on\" line within %v\nstderr:\n%s", readyWait, p.stderr.String())
	}
	return p
}

// stop sends sig and checks that the engine exits 0 within exitWait,
// having printed nothing more on stdout; it returns stderr.
func (p *engineProc) stop(t *testing.T, sig syscall.Signal) string {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(exitWait):
		t.Fatalf("still running %v after %v", exitWait, sig)
	}
	if p.err != nil {
		t.Errorf("after %v: %v; want exit 0\nstderr:\n%s", sig, p.err, p.stderr.String())
	}
	if p.rest.Len() != 0 {
		t.Errorf("stdout has more than the one line: %q", p.rest.String())
	}
	return p.stderr.String()
}

// chat posts a streamed chat request (max_tokens 16, usage included) with
// the bearer key when not empty. Redirects are not followed.
func chat(t *testing.T, ctx context.Context, base, key, prompt string) *http.Response {
	t.Helper()
	body, _ := json.Marshal(map[string]any{
		"model": DefaultModel, "messages": []map[string]string{{"role": "user", "content": prompt}},
		"stream": true, "max_tokens": 16, "stream_options": map[string]bool{"include_usage": true},
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/chat/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func get(t *testing.T, u, key string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", u, resp.Status, b)
	}
	return string(b)
}

// dataLines reads the SSE data lines of a stream until it ends, or until
// stop returns true for the lines so far.
func dataLines(t *testing.T, r io.Reader, stop func([]string) bool) []string {
	t.Helper()
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	var out []string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
			if stop != nil && stop(out) {
				return out
			}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return out
}

// TestServesUntilSignal: the engine serves its models, version and streams
// under its key, and SIGINT or SIGTERM stop it with exit 0 and a summary.
func TestServesUntilSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startEngine(t, "--model", "m-a", "--model", "m-b,m-c", "--version", "9.9.9", "--api-key", "k",
				"--ttft", "1ms", "--itl", "1ms", "--tokens", "5", "--tokens-per-chunk", "2")
			if got := get(t, p.url+"/version", ""); !strings.Contains(got, `"9.9.9"`) {
				t.Errorf("/version = %s", got)
			}
			var list struct{ Data []struct{ ID string } }
			if err := json.Unmarshal([]byte(get(t, p.url+"/v1/models", "k")), &list); err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range list.Data {
				ids = append(ids, m.ID)
			}
			if got := strings.Join(ids, ","); got != "m-a,m-b,m-c" {
				t.Errorf("served models %s; want m-a,m-b,m-c", got)
			}
			if resp := chat(t, context.Background(), p.url, "", "hi"); resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("without the key: %s; want 401", resp.Status)
			}
			body, _ := json.Marshal(map[string]any{"model": "m-b", "messages": []map[string]string{{"role": "user", "content": "hi"}},
				"stream": true, "max_tokens": 16})
			req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/chat/completions", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer k")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			lines := dataLines(t, resp.Body, nil)
			resp.Body.Close()
			// The role chunk, 5 tokens in chunks of 2, [DONE].
			if len(lines) != 5 || lines[len(lines)-1] != "[DONE]" || !strings.Contains(lines[1], `"tok0 tok1 "`) {
				t.Errorf("stream: %q", lines)
			}
			summary := p.stop(t, sig)
			if want := "fakeengine: served 4 requests (2 to generation endpoints)"; !strings.Contains(summary, want) {
				t.Errorf("stderr %q lacks %q", summary, want)
			}
		})
	}
}

// TestFaults: every --fault does to a streamed chat request what its doc
// says, and --healthy-prefix spares the prompts it names.
func TestFaults(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		prompt  string
		check   func(t *testing.T, resp *http.Response)
		summary string // in the exit summary
	}{
		{"none", nil, "hi", func(t *testing.T, resp *http.Response) {
			lines := dataLines(t, resp.Body, nil)
			if resp.StatusCode != 200 || len(lines) < 3 || lines[len(lines)-1] != "[DONE]" || !strings.Contains(lines[len(lines)-2], `"completion_tokens":16`) {
				t.Errorf("%s %q", resp.Status, lines)
			}
		}, "with --fault none"},
		{"http500", []string{"--fault", "http500"}, "hi", func(t *testing.T, resp *http.Response) {
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != 500 || string(b) != "injected failure" {
				t.Errorf("%s %q; want 500 injected failure", resp.Status, b)
			}
		}, ""},
		{"huge-usage 1e400", []string{"--fault", "huge-usage", "--usage", "1e400"}, "hi", func(t *testing.T, resp *http.Response) {
			lines := dataLines(t, resp.Body, nil)
			if len(lines) < 2 || !strings.Contains(lines[len(lines)-2], `"completion_tokens":1e400}`) {
				t.Errorf("usage chunk %q; want the claim 1e400 verbatim", lines)
			}
		}, ""},
		{"huge-usage -5", []string{"--fault", "huge-usage", "--usage", "-5"}, "hi", func(t *testing.T, resp *http.Response) {
			lines := dataLines(t, resp.Body, nil)
			if len(lines) < 2 || !strings.Contains(lines[len(lines)-2], `"completion_tokens":-5}`) {
				t.Errorf("usage chunk %q; want the claim -5 verbatim", lines)
			}
		}, ""},
		{"unterminated", []string{"--fault", "unterminated"}, "hi", func(t *testing.T, resp *http.Response) {
			b := make([]byte, 4<<20) // 4 MiB of it: far beyond any event limit
			if _, err := io.ReadFull(resp.Body, b); err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte(`data: {"x":"`))
			if i < 0 || bytes.ContainsAny(b[i:], "\r\n") {
				t.Errorf("want an event start and no line end after it in the first 4 MiB; got %q…", b[:min(len(b), 300)])
			}
		}, ""},
		{"giant-chunk", []string{"--fault", "giant-chunk", "--chunk-bytes", "100000"}, "hi", func(t *testing.T, resp *http.Response) {
			lines := dataLines(t, resp.Body, nil)
			var ch struct {
				Choices []struct{ Delta struct{ Content string } }
			}
			if len(lines) < 2 || json.Unmarshal([]byte(lines[1]), &ch) != nil || len(ch.Choices) != 1 || len(ch.Choices[0].Delta.Content) != 100000 {
				t.Errorf("the first content chunk is not valid JSON with 100000 bytes of content (%d lines)", len(lines))
			}
		}, ""},
		{"endless", []string{"--fault", "endless"}, "hi", func(t *testing.T, resp *http.Response) {
			lines := dataLines(t, resp.Body, func(l []string) bool { return len(l) > 1000 })
			if len(lines) <= 1000 || !strings.Contains(lines[1000], `"tok999 "`) {
				t.Errorf("want more than 1000 content chunks for max_tokens 16; got %d", len(lines))
			}
		}, ""},
		{"redirect to a given URL", []string{"--fault", "redirect", "--redirect-to", "http://127.0.0.1:9/elsewhere"}, "hi", func(t *testing.T, resp *http.Response) {
			if resp.StatusCode != 307 || resp.Header.Get("Location") != "http://127.0.0.1:9/elsewhere" {
				t.Errorf("%s Location %q", resp.Status, resp.Header.Get("Location"))
			}
		}, ""},
		{"stall", []string{"--fault", "stall", "--stall-after", "1"}, "hi", func(t *testing.T, resp *http.Response) {
			// The role chunk and one content chunk, then nothing: reading on
			// must block until the client gives up (here, at the close).
			lines := dataLines(t, resp.Body, func(l []string) bool { return len(l) == 2 })
			if len(lines) != 2 || !strings.Contains(lines[1], `"tok0 "`) {
				t.Errorf("before the stall: %q", lines)
			}
			more := make(chan int, 1)
			go func() { n, _ := resp.Body.Read(make([]byte, 1)); more <- n }()
			select {
			case n := <-more:
				t.Errorf("read %d more bytes during the stall", n)
			case <-time.After(200 * time.Millisecond): // nothing came: the stall holds (an hour by default)
			}
		}, ""},
		{"healthy prefix spares", []string{"--fault", "http500", "--healthy-prefix", "warmup "}, "warmup 0: hi", func(t *testing.T, resp *http.Response) {
			if lines := dataLines(t, resp.Body, nil); resp.StatusCode != 200 || lines[len(lines)-1] != "[DONE]" {
				t.Errorf("%s %q; want a healthy stream", resp.Status, lines)
			}
		}, ""},
		{"healthy prefix only spares its prompts", []string{"--fault", "http500", "--healthy-prefix", "warmup "}, "hi", func(t *testing.T, resp *http.Response) {
			if resp.StatusCode != 500 {
				t.Errorf("%s; want 500", resp.Status)
			}
		}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startEngine(t, tt.args...)
			ctx, cancel := context.WithCancel(context.Background())
			resp := chat(t, ctx, p.url, "", tt.prompt)
			tt.check(t, resp)
			cancel() // the endless faults stop when the client goes away
			resp.Body.Close()
			summary := p.stop(t, syscall.SIGTERM)
			if !strings.Contains(summary, "(1 to generation endpoints)") || !strings.Contains(summary, tt.summary) {
				t.Errorf("summary %q; want one generation request and %q", summary, tt.summary)
			}
		})
	}
}

// TestRedirectTarget: without --redirect-to the engine redirects to a
// listener of its own on another port, which counts what reaches it — the
// measure of whether a client followed the redirect, and with its key.
func TestRedirectTarget(t *testing.T) {
	tests := []struct {
		name   string
		follow bool
		key    string
		want   string
	}{
		{"refused", false, "", "saw 0 requests, 0 with an Authorization header"},
		{"followed without the key", true, "", "saw 1 requests, 0 with an Authorization header"},
		{"followed with the key", true, "secret", "saw 1 requests, 1 with an Authorization header"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := startEngine(t, "--fault", "redirect")
			resp := chat(t, context.Background(), p.url, "", "hi")
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != 307 || err != nil || loc.Hostname() != "127.0.0.1" || loc.Port() == "" || loc.Host == strings.TrimPrefix(p.url, "http://") ||
				loc.Path != "/v1/chat/completions" {
				t.Fatalf("%s Location %q; want 307 to the same path on another port", resp.Status, resp.Header.Get("Location"))
			}
			if tt.follow {
				r := chat(t, context.Background(), loc.Scheme+"://"+loc.Host, tt.key, "hi")
				if r.StatusCode != 404 {
					t.Errorf("the other origin answered %s; want 404", r.Status)
				}
			}
			if summary := p.stop(t, syscall.SIGTERM); !strings.Contains(summary, tt.want) {
				t.Errorf("summary %q lacks %q", summary, tt.want)
			}
		})
	}
}

// TestUsageErrors: a bad command line exits 2 and says what is wrong,
// before anything listens.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--fault", "meltdown"}, `--fault "meltdown": want one of none, http500`},
		{[]string{"--fault", "huge-usage"}, "needs --usage N"},
		{[]string{"--fault", "huge-usage", "--usage", "lots"}, `one JSON number (got "lots")`},
		{[]string{"--fault", "huge-usage", "--usage", `"5"`}, "one JSON number"},
		{[]string{"--usage", "5"}, "--usage is for --fault huge-usage, not none"},
		{[]string{"--fault", "endless", "--chunk-bytes", "5"}, "--chunk-bytes is for --fault giant-chunk, not endless"},
		{[]string{"--fault", "giant-chunk", "--chunk-bytes", "0"}, "--chunk-bytes 0: must be positive"},
		{[]string{"--fault", "redirect", "--redirect-to", "/relative"}, "want an absolute URL"},
		{[]string{"--fault", "stall", "--stall-for", "0s"}, "--stall-for 0s: must be positive"},
		{[]string{"--healthy-prefix", "w"}, "--healthy-prefix needs a --fault"},
		{[]string{"--addr", "0.0.0.0:0"}, "loopback addresses only"},
		{[]string{"--addr", "nonsense"}, `--addr "nonsense"`},
		{[]string{"--ttft", "-1s"}, "WithTTFT(-1s): negative"},
		{[]string{"--capacity", "-1"}, "WithCapacity(-1)"},
		{[]string{"--model", "a,,b"}, "empty model id"},
		{[]string{"--model", "a", "--model", "a"}, `model "a" listed twice`},
		{[]string{"serve"}, `unexpected argument "serve"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			exe, err := os.Executable()
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(exe, tt.args...)
			cmd.Env = append(os.Environ(), asCmdEnv+"=1")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != exitUsage {
				t.Errorf("%v; want exit %d", err, exitUsage)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q; want nothing (it never listened)", stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}
}

// TestIsJSONNumber pins which --usage texts are claims the engine can send.
func TestIsJSONNumber(t *testing.T) {
	for s, want := range map[string]bool{
		"9223372036854775807": true, "1e9": true, "100000": true, "-5": true, "1e400": true, "0.5": true,
		"": false, "+5": false, "05": false, `"5"`: false, "1 2": false, "NaN": false, "Infinity": false, "5,": false,
	} {
		if got := isJSONNumber(s); got != want {
			t.Errorf("isJSONNumber(%q) = %v; want %v", s, got, want)
		}
	}
}

// TestRecords: --records writes one line per generation request with the
// engine's own times, paired with the client's X-Request-Id, complete once
// the engine has exited.
func TestRecords(t *testing.T) {
	path := t.TempDir() + "/records.jsonl"
	p := startEngine(t, "--ttft", "20ms", "--itl", "1ms", "--tokens", "4", "--records", path)
	for _, id := range []string{"bench-7", "bench-8"} {
		body, _ := json.Marshal(map[string]any{"model": DefaultModel, "messages": []map[string]string{{"role": "user", "content": "hi"}},
			"stream": true, "max_tokens": 16})
		req, _ := http.NewRequest(http.MethodPost, p.url+"/v1/chat/completions", bytes.NewReader(body))
		req.Header.Set("X-Request-Id", id)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		dataLines(t, resp.Body, nil)
		resp.Body.Close()
	}
	get(t, p.url+"/health", "")
	p.stop(t, syscall.SIGTERM)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	type record struct {
		Seq        int    `json:"seq"`
		RequestID  string `json:"request_id"`
		RemoteAddr string `json:"remote_addr"`
		Status     int    `json:"status"`
		Arrival    int64  `json:"arrival_ns"`
		Headers    int64  `json:"headers_ns"`
		FirstByte  int64  `json:"first_byte_ns"`
		FirstToken int64  `json:"first_token_ns"`
		End        int64  `json:"end_ns"`
		Chunks     int    `json:"chunks"`
		Tokens     int    `json:"tokens"`
		Error      string `json:"error"`
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines; want 2 (the generation requests):\n%s", len(lines), b)
	}
	for i, line := range lines {
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		var r record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("line %d %s: %v", i, line, err)
		}
		if r.Seq != i || r.RequestID != []string{"bench-7", "bench-8"}[i] || r.Status != 200 || r.Chunks != 4 || r.Tokens != 4 || r.Error != "" || r.RemoteAddr == "" {
			t.Errorf("line %d: %s", i, line)
		}
		if ttft := time.Duration(r.FirstToken - r.Arrival); ttft < 20*time.Millisecond || !(0 < r.Arrival && r.Arrival <= r.Headers && r.Headers <= r.FirstByte && r.FirstByte <= r.FirstToken && r.FirstToken <= r.End) {
			t.Errorf("line %d: times out of order or TTFT %v < 20ms: %s", i, ttft, line)
		}
	}
}

// TestRecordsUnwritable: a --records file that cannot be created fails
// the start (exit 1) before the engine listens.
func TestRecordsUnwritable(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "--records", t.TempDir()+"/no/such/dir/records.jsonl")
	cmd.Env = append(os.Environ(), asCmdEnv+"=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFailure {
		t.Errorf("%v; want exit %d", err, exitFailure)
	}
	if stdout.Len() != 0 || !strings.Contains(stderr.String(), "--records") {
		t.Errorf("stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
