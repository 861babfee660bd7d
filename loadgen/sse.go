package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// DefaultMaxEventSize bounds the data of one server-sent event. Engines
// send small deltas, but a long completion in one chunk or a verbose error
// can exceed a megabyte.
const DefaultMaxEventSize = 16 << 20

// ErrEventTooLarge is returned when an event's data exceeds the limit.
var ErrEventTooLarge = errors.New("server-sent event larger than the limit")

// sseReader splits a text/event-stream into events as the WHATWG HTML
// specification says: lines end in CRLF, LF or CR (and may be split across
// reads anywhere); a line starting with ':' is a comment; "field:value"
// drops one space after the colon and nothing else; the data of an event is
// its data lines joined with "\n"; a blank line dispatches the event. The
// payload is never trimmed. Unlike the specification, an event still
// pending at the end of the stream is dispatched rather than dropped, so a
// final "data: [DONE]" without a blank line is not lost.
type sseReader struct {
	r       io.Reader
	buf     []byte // unread bytes are buf[start:end]
	start   int
	end     int
	eof     bool
	err     error
	skipLF  bool // the previous line ended in CR: a following LF belongs to it
	data    []byte
	hasData bool
	event   []byte
	max     int
	bomDone bool
}

func newSSEReader(r io.Reader, maxEvent int) *sseReader {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEventSize
	}
	return &sseReader{r: r, buf: make([]byte, 32<<10), max: maxEvent}
}

// sseEvent is one dispatched event. Its slices are valid until the next call
// to next.
type sseEvent struct {
	Type []byte // the "event:" field, empty for the default "message"
	Data []byte
}

// next returns the next event with data, io.EOF at the clean end of the
// stream, or the read error (io.ErrUnexpectedEOF is never invented: an
// abrupt end is reported by the caller, who knows whether the stream was
// complete).
func (s *sseReader) next() (sseEvent, error) {
	s.data = s.data[:0]
	s.event = s.event[:0]
	s.hasData = false
	for {
		line, ok, err := s.line()
		if err != nil {
			return sseEvent{}, err
		}
		if !ok { // end of stream
			if s.hasData {
				s.hasData = false
				return sseEvent{Type: s.event, Data: s.data}, nil
			}
			if s.err != nil {
				return sseEvent{}, s.err
			}
			return sseEvent{}, io.EOF
		}
		if len(line) == 0 {
			if s.hasData {
				return sseEvent{Type: s.event, Data: s.data}, nil
			}
			s.event = s.event[:0]
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		switch string(field) {
		case "data":
			if s.hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > s.max {
				return sseEvent{}, fmt.Errorf("%w (%d bytes)", ErrEventTooLarge, s.max)
			}
			s.data = append(s.data, value...)
			s.hasData = true
		case "event":
			s.event = append(s.event[:0], value...)
		}
	}
}

// line returns the next line without its terminator. ok is false at the end
// of the stream; a final line without a terminator is returned first.
func (s *sseReader) line() (line []byte, ok bool, err error) {
	scanned := 0
	for !s.bomDone { // a UTF-8 byte order mark at the start is dropped
		if s.end-s.start >= 3 || s.eof {
			if bytes.HasPrefix(s.buf[s.start:s.end], []byte("\ufeff")) {
				s.start += 3
			}
			s.bomDone = true
			break
		}
		if err := s.fill(); err != nil {
			return nil, false, err
		}
	}
	for {
		if s.skipLF && s.start < s.end {
			if s.buf[s.start] == '\n' {
				s.start++
			}
			s.skipLF = false
		}
		if i := indexEOL(s.buf[s.start+scanned : s.end]); i >= 0 {
			i += s.start + scanned
			line = s.buf[s.start:i]
			if s.buf[i] == '\r' {
				s.skipLF = true
			}
			s.start = i + 1
			return line, true, nil
		}
		scanned = s.end - s.start
		if s.eof {
			if s.start < s.end {
				line = s.buf[s.start:s.end]
				s.start = s.end
				return line, true, nil
			}
			return nil, false, nil
		}
		if scanned > s.max+64 {
			return nil, false, fmt.Errorf("%w (%d bytes)", ErrEventTooLarge, s.max)
		}
		if err := s.fill(); err != nil {
			return nil, false, err
		}
	}
}

// fill reads more bytes, compacting or growing the buffer as needed.
func (s *sseReader) fill() error {
	if s.start > 0 {
		n := copy(s.buf, s.buf[s.start:s.end])
		s.start, s.end = 0, n
	}
	if s.end == len(s.buf) {
		nb := make([]byte, 2*len(s.buf))
		copy(nb, s.buf[:s.end])
		s.buf = nb
	}
	n, err := s.r.Read(s.buf[s.end:])
	s.end += n
	switch {
	case err == io.EOF:
		s.eof = true
	case err != nil:
		if n > 0 { // deliver what arrived; report the error at the end
			s.eof, s.err = true, err
			return nil
		}
		return err
	}
	return nil
}

// indexEOL returns the index of the first CR or LF in b, or -1.
func indexEOL(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	head := b
	if i >= 0 {
		head = b[:i]
	}
	if j := bytes.IndexByte(head, '\r'); j >= 0 {
		return j
	}
	return i
}
