package loadgen

import (
	"bufio"
	"encoding/json"
	"io"
	"strconv"
	"sync"
)

// JSONLWriter writes Results as JSON Lines, one object per request, in the
// Result wire format (times as integer nanoseconds from the run's start).
// It is safe for concurrent use. The first write error is kept and returned
// by every later call and by Flush.
//
// Each line is byte for byte what encoding/json's Encoder writes for the
// Result (TestAppendResultJSON and FuzzAppendResultJSON hold it to that),
// rendered without reflection.
type JSONLWriter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	line []byte
	err  error
}

// NewJSONLWriter returns a writer to w; call Flush when done.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	return &JSONLWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write appends r as one line.
func (j *JSONLWriter) Write(r *Result) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.line = appendResultJSON(j.line[:0], r)
		_, j.err = j.w.Write(j.line)
	}
	return j.err
}

// appendResultJSON appends r as encoding/json's Encoder writes it: the
// fields in declaration order, omitempty ones left out when zero, and a
// newline.
func appendResultJSON(b []byte, r *Result) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(r.Index), 10)
	if r.Warmup {
		b = append(b, `,"warmup":true`...)
	}
	b = appendIntField(b, `,"worker":`, int64(r.Worker))
	b = appendIntField(b, `,"prompt":`, int64(r.Prompt))
	b = appendStringField(b, `,"outcome":`, string(r.Outcome))
	if r.StatusCode != 0 {
		b = appendIntField(b, `,"status_code":`, int64(r.StatusCode))
	}
	if r.Error != "" {
		b = appendStringField(b, `,"error":`, r.Error)
	}
	if r.FinishReason != "" {
		b = appendStringField(b, `,"finish_reason":`, r.FinishReason)
	}
	b = appendIntField(b, `,"scheduled_ns":`, int64(r.Scheduled))
	b = appendIntField(b, `,"sent_ns":`, int64(r.Sent))
	if r.FirstByte != 0 {
		b = appendIntField(b, `,"first_byte_ns":`, int64(r.FirstByte))
	}
	if r.FirstToken != 0 {
		b = appendIntField(b, `,"first_token_ns":`, int64(r.FirstToken))
	}
	b = appendIntField(b, `,"end_ns":`, int64(r.End))
	if len(r.Chunks) > 0 {
		b = append(b, `,"chunks":[`...)
		for i, c := range r.Chunks {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendIntField(b, `{"at_ns":`, int64(c.At))
			b = appendIntField(b, `,"tokens":`, int64(c.Tokens))
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = appendIntField(b, `,"prompt_tokens":`, int64(r.PromptTokens))
	b = appendIntField(b, `,"output_tokens":`, int64(r.OutputTokens))
	if r.TokenSource != "" {
		b = appendStringField(b, `,"token_source":`, string(r.TokenSource))
	}
	if r.UsageRejected != "" {
		b = appendStringField(b, `,"usage_rejected":`, r.UsageRejected)
	}
	if r.GPUJoules != nil {
		// Written once per request when the trace is rewritten: encoding/json
		// itself gives its float format (and refuses NaN and infinities).
		if q, err := json.Marshal(*r.GPUJoules); err == nil {
			b = append(append(b, `,"gpu_joules":`...), q...)
		}
	}
	return append(b, "}\n"...)
}

func appendIntField(b []byte, name string, v int64) []byte {
	return strconv.AppendInt(append(b, name...), v, 10)
}

// appendStringField appends name and s as a JSON string, escaped as
// encoding/json escapes it (HTML characters included): printable ASCII
// that needs no escape is copied, anything else is left to encoding/json.
func appendStringField(b []byte, name, s string) []byte {
	b = append(b, name...)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string cannot fail
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// Flush writes buffered lines to the underlying writer.
func (j *JSONLWriter) Flush() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.w.Flush()
	}
	return j.err
}

// ReadJSONL reads Results written by a JSONLWriter, calling fn for each.
func ReadJSONL(r io.Reader, fn func(Result) error) error {
	dec := json.NewDecoder(r)
	for {
		var res Result
		if err := dec.Decode(&res); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
		if err := fn(res); err != nil {
			return err
		}
	}
}
