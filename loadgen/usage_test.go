package loadgen

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sseBody renders events as a stream ending with [DONE].
func sseBody(events ...string) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "data: %s\n\n", e)
	}
	b.WriteString("data: [DONE]\n\n")
	return b.String()
}

// content is a content chunk, with a usage object when usage is not "".
func content(text, usage string) string {
	if usage == "" {
		return fmt.Sprintf(`{"choices":[{"delta":{"content":%q}}]}`, text)
	}
	return fmt.Sprintf(`{"choices":[{"delta":{"content":%q}}],"usage":%s}`, text, usage)
}

// finalUsage is the usage-only chunk that ends a stream.
func finalUsage(usage string) string { return fmt.Sprintf(`{"choices":[],"usage":%s}`, usage) }

func usage(prompt, completion string) string {
	return fmt.Sprintf(`{"prompt_tokens":%s,"completion_tokens":%s}`, prompt, completion)
}

// readTestStream runs readStream on body for the prompt "hello world" (11
// bytes) with a client made with opts.
func readTestStream(t *testing.T, body string, opts ...ClientOption) (Result, Outcome, error) {
	t.Helper()
	c, err := NewClient("http://127.0.0.1:1", "m", opts...)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tick := start
	clock := Clock{Start: start, Now: func() time.Time { tick = tick.Add(time.Millisecond); return tick }}
	var r Result
	outcome, err := c.readStream(clock, strings.NewReader(body), &r, len("hello world"), nil)
	return r, outcome, err
}

// TestUsageIsAClaim: usage is believed only when plausible; otherwise the
// tokens come from the chunks and the reason is recorded, and the request
// stays ok.
func TestUsageIsAClaim(t *testing.T) {
	type view struct {
		Source   TokenSource
		Output   int
		Prompt   int
		Tokens   []int
		Rejected string
	}
	chunks := func(u string) []string {
		return []string{content("a", ""), content("b", ""), content("c", ""), finalUsage(u)}
	}
	rejected := func(why string) view {
		return view{Source: TokenSourceChunks, Output: 3, Tokens: []int{1, 1, 1}, Rejected: why}
	}
	tests := []struct {
		name   string
		events []string
		want   view
	}{
		{"believed, spread over the chunks", chunks(usage("5", "6")),
			view{TokenSourceUsage, 6, 5, []int{2, 2, 2}, ""}},
		{"exactly max_tokens", chunks(usage("5", "128")),
			view{TokenSourceUsage, 128, 5, []int{43, 43, 42}, ""}},
		{"a whole float is a count", chunks(usage("5.0", "3e0")),
			view{TokenSourceUsage, 3, 5, []int{1, 1, 1}, ""}},
		{"prompt at its limit", chunks(usage("16395", "3")),
			view{TokenSourceUsage, 3, 16395, []int{1, 1, 1}, ""}},
		{"continuous usage", []string{content("a", usage("5", "1")), content("b", usage("5", "3")), content("c", usage("5", "4")), finalUsage(usage("5", "4"))},
			view{TokenSourceUsage, 4, 5, []int{1, 2, 1}, ""}},
		{"null usage is no usage", []string{content("a", "null"), content("b", "null"), content("c", "null")},
			view{TokenSourceChunks, 3, 0, []int{1, 1, 1}, ""}},
		{"completion beyond max_tokens", chunks(usage("5", "100000")),
			rejected("completion_tokens 100000 exceeds max_tokens 128")},
		{"completion 2^63-1", chunks(usage("5", "9223372036854775807")),
			rejected("completion_tokens 9223372036854775807 exceeds max_tokens 128")},
		{"completion 2^64", chunks(usage("5", "18446744073709551616")),
			rejected("completion_tokens 18446744073709551616 exceeds max_tokens 128")},
		{"completion 1e9", chunks(usage("5", "1e9")),
			rejected("completion_tokens 1e9 exceeds max_tokens 128")},
		{"completion 1e400", chunks(usage("5", "1e400")),
			rejected("completion_tokens 1e400 exceeds max_tokens 128")},
		{"negative completion", chunks(usage("5", "-5")),
			rejected("completion_tokens -5 is negative")},
		{"huge negative completion", chunks(usage("5", "-1e400")),
			rejected("completion_tokens -1e400 is negative")},
		{"fractional completion", chunks(usage("5", "3.5")),
			rejected("completion_tokens 3.5 is not a whole number")},
		{"completion as a string", chunks(usage("5", `"3"`)),
			rejected(`completion_tokens is not a number: "3"`)},
		{"completion as an object", chunks(usage("5", `{"n":3}`)),
			rejected(`completion_tokens is not a number: {"n":3}`)},
		{"fewer tokens than chunks", chunks(usage("5", "2")),
			rejected("completion_tokens 2 is less than the 3 content chunks received")},
		{"no completion_tokens", chunks(`{"prompt_tokens":5}`),
			rejected("completion_tokens 0 is less than the 3 content chunks received")},
		{"decreasing continuous usage", []string{content("a", usage("5", "2")), content("b", usage("5", "1")), content("c", usage("5", "3"))},
			rejected("completion_tokens decreased from 2 to 1")},
		{"prompt beyond its bytes + 16384", chunks(usage("1e9", "3")),
			rejected("prompt_tokens 1e9 exceeds 16395 (the prompt's 11 bytes + 16384)")},
		{"prompt one beyond", chunks(usage("16396", "3")),
			rejected("prompt_tokens 16396 exceeds 16395 (the prompt's 11 bytes + 16384)")},
		{"negative prompt", chunks(usage("-1", "3")),
			rejected("prompt_tokens -1 is negative")},
		{"usage not an object", chunks("5"),
			rejected("usage is not an object: 5")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, outcome, err := readTestStream(t, sseBody(tt.events...))
			if outcome != OutcomeOK || err != nil {
				t.Fatalf("outcome %s (%v); want ok: usage never fails a request", outcome, err)
			}
			got := view{Source: r.TokenSource, Output: r.OutputTokens, Prompt: r.PromptTokens, Rejected: r.UsageRejected}
			for _, c := range r.Chunks {
				got.Tokens = append(got.Tokens, c.Tokens)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if n := len(r.ITLs()); n > 128 {
				t.Errorf("ITLs has %d entries", n)
			}
		})
	}
}

// TestMaxChunks: a stream with more content chunks than allowed fails.
func TestMaxChunks(t *testing.T) {
	many := make([]string, 300)
	for i := range many {
		many[i] = content("x", "")
	}
	tests := []struct {
		name    string
		opts    []ClientOption
		events  int
		want    Outcome
		wantErr string
	}{
		{"default bound for max_tokens 128 is 272", nil, 272, OutcomeOK, ""},
		{"one beyond the default bound", nil, 273, OutcomeStreamError, "engine sent more than 272 content chunks for max_tokens 128"},
		{"the bound follows max_tokens", []ClientOption{WithMaxTokens(4)}, 25, OutcomeStreamError, "engine sent more than 24 content chunks for max_tokens 4"},
		{"explicit bound", []ClientOption{WithMaxChunks(5)}, 6, OutcomeStreamError, "engine sent more than 5 content chunks for max_tokens 128"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, outcome, err := readTestStream(t, sseBody(many[:tt.events]...), tt.opts...)
			errText := ""
			if err != nil {
				errText = err.Error()
			}
			if outcome != tt.want || errText != tt.wantErr {
				t.Fatalf("outcome %s, error %q; want %s, %q", outcome, errText, tt.want, tt.wantErr)
			}
			if len(r.Chunks) > 272 {
				t.Errorf("%d chunks recorded", len(r.Chunks))
			}
		})
	}
}

// TestEngineTextIsCut: text copied from the engine into an error is cut to
// 512 bytes, at a rune boundary.
func TestEngineTextIsCut(t *testing.T) {
	long := strings.Repeat("é", 5000) // two bytes each
	tests := []struct {
		name   string
		body   string
		prefix string
		max    int // bytes after the prefix
	}{
		{"error object", sseBody(fmt.Sprintf(`{"error":{"message":%q}}`, long)), "error in stream: ", 512},
		{"error event", "event: error\ndata: " + long + "\n\n", "error event: ", 512},
		{"malformed event", sseBody(`{"choices":` + long), "malformed event ", 300}, // 120 quoted bytes and the JSON error
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, outcome, err := readTestStream(t, tt.body)
			if outcome != OutcomeStreamError || err == nil || !strings.HasPrefix(err.Error(), tt.prefix) {
				t.Fatalf("outcome %s, error %v", outcome, err)
			}
			if n := len(strings.TrimPrefix(err.Error(), tt.prefix)); n > tt.max {
				t.Errorf("error is %d bytes after its prefix", n)
			}
		})
	}
	for _, n := range []int{0, 1, 3, 4, 511, 512, 513, 1000} {
		s := truncateString(long, n)
		if len(s) > max(n, 3) || !strings.HasPrefix(long, strings.TrimSuffix(s, "…")) {
			t.Errorf("truncateString(·, %d) = %d bytes %q", n, len(s), s)
		}
	}
	if got := truncateString("short", 512); got != "short" {
		t.Errorf("short text changed: %q", got)
	}
}

func TestNewClientRejectsLimits(t *testing.T) {
	for _, opt := range []ClientOption{WithMaxEventSize(0), WithEventBufferBudget(-1), WithMaxChunks(-1), WithMaxTokens(0)} {
		if _, err := NewClient("http://h", "m", opt); !errors.Is(err, ErrInvalidOption) {
			t.Errorf("NewClient: %v; want ErrInvalidOption", err)
		}
	}
	if _, err := NewClient("http://h", "m", WithEventBufferBudget(0)); err != nil {
		t.Errorf("a zero budget is allowed: %v", err)
	}
}
