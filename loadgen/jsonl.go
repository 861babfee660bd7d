package loadgen

import (
	"bufio"
	"encoding/json"
	"io"
	"sync"
)

// JSONLWriter writes Results as JSON Lines, one object per request, in the
// Result wire format (times as integer nanoseconds from the run's start).
// It is safe for concurrent use. The first write error is kept and returned
// by every later call and by Flush.
type JSONLWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
	err error
}

// NewJSONLWriter returns a writer to w; call Flush when done.
func NewJSONLWriter(w io.Writer) *JSONLWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &JSONLWriter{w: bw, enc: json.NewEncoder(bw)}
}

// Write appends r as one line.
func (j *JSONLWriter) Write(r *Result) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err == nil {
		j.err = j.enc.Encode(r)
	}
	return j.err
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
