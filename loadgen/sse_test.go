package loadgen

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

// readAll returns every event's type and data, and the final error.
func readAll(r io.Reader, max int) ([]string, error) {
	s := newSSEReader(r, max)
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
	big := strings.Repeat("x", 2<<20)
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
				continue // 2 MiB one byte at a time is slow and proves nothing more
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
		whole, err1 := readAll(bytes.NewReader(in), 1<<16)
		split, err2 := readAll(iotest.OneByteReader(bytes.NewReader(in)), 1<<16)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("errors differ: whole %v, bytewise %v", err1, err2)
		}
		if err1 == nil {
			if diff := cmp.Diff(whole, split); diff != "" {
				t.Fatalf("events depend on read sizes (-whole +bytewise):\n%s", diff)
			}
		}
	})
}
