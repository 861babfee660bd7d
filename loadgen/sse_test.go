package loadgen

import (
	"bytes"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// readAll returns every event's type and data, and the final error.
func readAll(r io.Reader, max int) ([]string, error) {
	s := newSSEReader(r, max, nil)
	var out []string
	for {
		ev, err := s.next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(ev.Type)+"|"+string(ev.Data))
	}
}

func TestSSE(t *testing.T) {
	big := strings.Repeat("x", DefaultMaxEventSize) // exactly at the limit
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"basic", "data: {\"a\":1}\n\ndata: [DONE]\n\n", []string{`|{"a":1}`, "|[DONE]"}},
		{"no space", "data:{\"a\":1}\n\n", []string{`|{"a":1}`}},
		{"only one space dropped", "data:  two\n\n", []string{"| two"}},
		{"payload whitespace kept", "data: a \t\n\n", []string{"|a \t"}},
		{"multi-line data", "data: a\ndata: b\n\n", []string{"|a\nb"}},
		{"empty data line", "data\n\n", []string{"|"}},
		{"comments", ": ping\n\n: keep-alive\ndata: x\n\n", []string{"|x"}},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"|a", "|b"}},
		{"CR only", "data: a\r\rdata: b\r\r", []string{"|a", "|b"}},
		{"event type", "event: error\ndata: {}\n\n", []string{"error|{}"}},
		{"other fields ignored", "id: 7\nretry: 10\ndata: x\n\n", []string{"|x"}},
		{"no trailing blank line", "data: [DONE]", []string{"|[DONE]"}},
		{"blank lines without data", "\n\n\n", nil},
		{"byte order mark", "\ufeffdata: x\n\n", []string{"|x"}},
		{"large frame", "data: " + big + "\n\n", []string{"|" + big}},
	}
	readers := map[string]func(string) io.Reader{
		"whole":     func(s string) io.Reader { return strings.NewReader(s) },
		"bytewise":  func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"halfreads": func(s string) io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
	for _, tt := range tests {
		for rname, mk := range readers {
			if tt.name == "large frame" && rname == "bytewise" {
				continue // 1 MiB one byte at a time is slow and proves nothing more
			}
			t.Run(tt.name+"/"+rname, func(t *testing.T) {
				got, err := readAll(mk(tt.in), 0)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			})
		}
	}
}

func TestSSEErrors(t *testing.T) {
	_, err := readAll(strings.NewReader("data: "+strings.Repeat("x", 100)+"\n\n"), 50)
	if !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("oversized event: %v; want ErrEventTooLarge", err)
	}
	_, err = readAll(strings.NewReader(strings.Repeat("x", 200)), 50)
	if !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("oversized line: %v; want ErrEventTooLarge", err)
	}
	boom := errors.New("connection reset")
	got, err := readAll(io.MultiReader(strings.NewReader("data: a\n\ndata: b"), iotest.ErrReader(boom)), 0)
	if !errors.Is(err, boom) {
		t.Errorf("read error: %v; want it passed through", err)
	}
	if diff := cmp.Diff([]string{"|a"}, got); diff != "" {
		t.Errorf("events before the error (-want +got):\n%s", diff)
	}
}

// FuzzSSE checks that parsing never panics and does not depend on how the
// stream is split into reads: byte-at-a-time and whole-buffer reads must
// give the same events.
func FuzzSSE(f *testing.F) {
	for _, s := range []string{
		"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\ndata: [DONE]\n\n",
		"data:x\r\n\r\n: c\rdata: y\r\r",
		"event: error\ndata: {\"error\":{}}\n\n",
		"data: a\ndata: b\n\nid: 1\n\n",
		"\ufeffdata: bom\n\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, max := range []int{1 << 16, 24} { // 24: the limits are hit too
			whole, err1 := readAll(bytes.NewReader(in), max)
			split, err2 := readAll(iotest.OneByteReader(bytes.NewReader(in)), max)
			if (err1 == nil) != (err2 == nil) {
				t.Fatalf("max %d: errors differ: whole %v, bytewise %v", max, err1, err2)
			}
			if diff := cmp.Diff(whole, split); diff != "" {
				t.Fatalf("max %d: events depend on read sizes (-whole +bytewise):\n%s", max, diff)
			}
		}
	})
}

// endless reads as an endless line of 'x' and counts the bytes read.
type endless struct{ n int }

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	e.n += len(p)
	return len(p), nil
}

// TestSSELineBufferBounded: a line without end fails at the limit, and the
// buffer never grows beyond the limit plus a line's slack (or its initial
// 32 KiB).
func TestSSELineBufferBounded(t *testing.T) {
	for _, tt := range []struct {
		max     int
		wantErr string
		maxBuf  int
	}{
		{DefaultMaxEventSize, "server-sent event too large: it exceeds the 1 MiB limit (loadgen.WithMaxEventSize)", DefaultMaxEventSize + sseLineSlack + 1},
		{100 << 10, "server-sent event too large: it exceeds the 100 KiB limit (loadgen.WithMaxEventSize)", 100<<10 + sseLineSlack + 1},
		{50, "server-sent event too large: it exceeds the 50 bytes limit (loadgen.WithMaxEventSize)", sseInitialBuffer},
	} {
		src := &endless{}
		s := newSSEReader(io.MultiReader(strings.NewReader("data: "), src), tt.max, nil)
		_, err := s.next()
		if !errors.Is(err, ErrEventTooLarge) || err.Error() != tt.wantErr {
			t.Errorf("max %d: error %v; want %q", tt.max, err, tt.wantErr)
		}
		if len(s.buf) > tt.maxBuf || src.n > tt.maxBuf {
			t.Errorf("max %d: buffer %d bytes, %d read; want at most %d", tt.max, len(s.buf), src.n, tt.maxBuf)
		}
	}
}

// TestSSEBudget: growth beyond 32 KiB is reserved from the shared budget,
// refused when it is used up, and given back by close.
func TestSSEBudget(t *testing.T) {
	budget := &eventBudget{limit: 256 << 10}
	event := "data: " + strings.Repeat("x", 200<<10) + "\n\n"
	a := newSSEReader(strings.NewReader(event+event), DefaultMaxEventSize, budget)
	if _, err := a.next(); err != nil {
		t.Fatal(err)
	}
	if used := budget.used.Load(); used <= 0 || used > 256<<10 {
		t.Fatalf("budget used %d after a 200 KiB event", used)
	}
	b := newSSEReader(strings.NewReader(event), DefaultMaxEventSize, budget)
	_, err := b.next()
	const want = "server-sent event too large: buffering it would need 64 KiB more, and the client's 256 KiB event buffer budget, shared by all its streams, is used up (loadgen.WithEventBufferBudget)"
	if !errors.Is(err, ErrEventTooLarge) || err.Error() != want {
		t.Errorf("second stream: %v; want %q", err, want)
	}
	if _, err := a.next(); err != nil { // a keeps what it reserved
		t.Errorf("first stream, second event: %v", err)
	}
	a.close()
	b.close()
	if used := budget.used.Load(); used != 0 {
		t.Errorf("budget used %d after close; want 0", used)
	}
	c := newSSEReader(strings.NewReader(event), DefaultMaxEventSize, budget)
	if _, err := c.next(); err != nil {
		t.Errorf("after release: %v", err)
	}
	c.close()

	// Multi-line events are copied into the data buffer, which draws on the
	// budget too.
	multi := "data: " + strings.Repeat("x", 100<<10) + "\ndata: y\n\n"
	d := newSSEReader(strings.NewReader(multi), DefaultMaxEventSize, &eventBudget{limit: 100 << 10})
	if _, err := d.next(); !errors.Is(err, ErrEventTooLarge) {
		t.Errorf("multi-line event over the budget: %v", err)
	}
	d.close()
}

// TestSSEBudgetConcurrent: concurrent reservations never exceed the limit
// and all come back.
func TestSSEBudgetConcurrent(t *testing.T) {
	budget := &eventBudget{limit: 1000}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if budget.reserve(300) {
					if u := budget.used.Load(); u > 1000 {
						t.Errorf("used %d", u)
					}
					budget.release(300)
				}
			}
		})
	}
	wg.Wait()
	if u := budget.used.Load(); u != 0 {
		t.Errorf("used %d at the end", u)
	}
}

// TestSSEInPlace: an event of one data line is returned as a slice of the
// line buffer when its blank line is buffered; other events are copied.
func TestSSEInPlace(t *testing.T) {
	// inBuf reports whether b lies in s's line buffer: overwriting the
	// buffer then changes b.
	inBuf := func(s *sseReader, b []byte) bool {
		clear(s.buf[:cap(s.buf)])
		return len(b) > 0 && !slices.ContainsFunc(b, func(c byte) bool { return c != 0 })
	}
	for _, tt := range []struct {
		in      string
		inPlace bool
	}{
		{"data: {\"a\":1}\n\n", true},
		{"data: {\"a\":1}\r\n\r\n", true},
		{"data: {\"a\":1}\r\r", true},
		{"event: x\ndata: {\"a\":1}\n\n", true},
		{"data: [DONE]", true},
		{"data: a\ndata: b\n\n", false},
		{"data: a\nid: 1\n\n", false},
	} {
		s := newSSEReader(strings.NewReader(tt.in), 0, nil)
		ev, err := s.next()
		if err != nil {
			t.Fatalf("%q: %v", tt.in, err)
		}
		if got := inBuf(s, ev.Data); got != tt.inPlace {
			t.Errorf("%q: in place %v; want %v", tt.in, got, tt.inPlace)
		}
	}
	big := strings.Repeat("x", DefaultMaxEventSize)
	budget := &eventBudget{limit: DefaultEventBufferBudget}
	s := newSSEReader(strings.NewReader("data: "+big+"\n\n"), 0, budget)
	ev, err := s.next()
	if err != nil || string(ev.Data) != big {
		t.Fatalf("1 MiB event: %v", err)
	}
	if cap(s.data) != 0 || budget.used.Load() > DefaultMaxEventSize {
		t.Errorf("a 1 MiB event in place: data buffer %d bytes, %d reserved", cap(s.data), budget.used.Load())
	}
	s.close()
}

func TestSSELongEventType(t *testing.T) {
	got, err := readAll(strings.NewReader("event: "+strings.Repeat("e", 1000)+"\ndata: x\n\n"), 0)
	if err != nil || len(got) != 1 || len(got[0]) != maxEventType+len("|x") {
		t.Errorf("events %q, %v; want the type cut to %d bytes", got, err, maxEventType)
	}
}

// dataThenError returns all of its data and err from one Read, as a
// connection that breaks right after a packet does.
type dataThenError struct {
	data []byte
	err  error
}

func (r *dataThenError) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	if len(r.data) == 0 {
		return n, r.err
	}
	return n, nil
}

// TestSSEBrokenMidEvent: an event cut off by a read error is not
// dispatched as if the stream had ended cleanly: the read error comes back,
// so a broken connection is not mistaken for a malformed event.
func TestSSEBrokenMidEvent(t *testing.T) {
	boom := errors.New("connection reset by peer")
	for _, tail := range []string{`data: {"choices":[{"delta":{"content":"xx`, "data: complete line\n", "data: a\ndata: b"} {
		got, err := readAll(&dataThenError{data: []byte("data: first\n\n" + tail), err: boom}, 0)
		if !errors.Is(err, boom) {
			t.Errorf("%q: error %v; want the read error", tail, err)
		}
		if diff := cmp.Diff([]string{"|first"}, got); diff != "" {
			t.Errorf("%q: events (-want +got):\n%s", tail, diff)
		}
	}
	// A clean end still dispatches a final event without its blank line.
	got, err := readAll(&dataThenError{data: []byte("data: [DONE]"), err: io.EOF}, 0)
	if err != nil || !slices.Equal(got, []string{"|[DONE]"}) {
		t.Errorf("clean end: %v, %v; want the pending event dispatched", got, err)
	}
}

// pieces returns its pieces one Read at a time.
type pieces []string

func (p *pieces) Read(b []byte) (int, error) {
	if len(*p) == 0 {
		return 0, io.EOF
	}
	n := copy(b, (*p)[0])
	(*p)[0] = (*p)[0][n:]
	if (*p)[0] == "" {
		*p = (*p)[1:]
	}
	return n, nil
}

// TestStreamTimesAreReadTimes: a chunk is recorded at the time the read
// that completed it returned, however long parsing takes afterwards, so
// chunks that arrived in one read share its time.
func TestStreamTimesAreReadTimes(t *testing.T) {
	c, err := NewClient("http://127.0.0.1:1", "m")
	if err != nil {
		t.Fatal(err)
	}
	ev := func(s string) string { return `data: {"choices":[{"delta":{"content":"` + s + `"}}]}` + "\n\n" }
	body := pieces{ev("a") + ev("b"), ev("c")[:20], ev("c")[20:] + "data: [DONE]\n\n"}
	start := time.Unix(0, 0)
	tick := start
	clock := Clock{Start: start, Now: func() time.Time { tick = tick.Add(time.Millisecond); return tick }}
	var r Result
	if outcome, err := c.readStream(clock, &body, &r, 2, nil); outcome != OutcomeOK {
		t.Fatalf("%s: %v", outcome, err)
	}
	// One clock reading per read that returned bytes: 1, 2 and 3 ms.
	want := []Chunk{{At: time.Millisecond, Tokens: 1}, {At: time.Millisecond, Tokens: 1}, {At: 3 * time.Millisecond, Tokens: 1}}
	if diff := cmp.Diff(want, r.Chunks); diff != "" {
		t.Errorf("chunks (-want +got):\n%s", diff)
	}
	if r.FirstToken != time.Millisecond || r.End != 3*time.Millisecond {
		t.Errorf("first token %v, end %v; want 1ms, 3ms", r.FirstToken, r.End)
	}
}
