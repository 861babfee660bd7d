package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxEventSize bounds the data of one server-sent event: 1 MiB.
// Engines send deltas of a few hundred bytes; a megabyte holds a whole
// long completion in one chunk, or a verbose error object, with room to
// spare.
const DefaultMaxEventSize = 1 << 20

// DefaultEventBufferBudget bounds the event bytes that all the streams of
// one [Client] may buffer together beyond their initial buffers: 32 MiB,
// room for 32 events of the 1 MiB maximum at once, where real engines'
// events are kilobytes. Without it, 256 streams each holding an event just
// under DefaultMaxEventSize would hold 256 MiB; with 64 MiB, an engine that
// never ends its lines kept a process at 160–200 MiB of RSS (the budget,
// the garbage of the buffers' growth and the collector's headroom).
const DefaultEventBufferBudget = 32 << 20

// sseInitialBuffer is the size of a stream's line buffer, and the size its
// event data buffer may reach, without drawing on the client's budget.
const sseInitialBuffer = 32 << 10

// sseLineSlack is how much longer than the event limit one line may be: a
// "data: " prefix or another field name.
const sseLineSlack = 64

// maxEventType bounds the stored "event:" field. Longer types are cut to
// this length; loadgen only compares the type with "error".
const maxEventType = 256

// ErrEventTooLarge is wrapped by the error of a stream with an event (or a
// line) larger than the client's limit ([WithMaxEventSize]), or one that the
// client's event buffer budget ([WithEventBufferBudget]) cannot hold.
var ErrEventTooLarge = errors.New("server-sent event too large")

// eventBudget counts the buffered event bytes that the streams of one
// client hold beyond their initial buffers. A nil budget is unlimited.
type eventBudget struct {
	limit int64
	used  atomic.Int64
}

// reserve takes n bytes from the budget; it reports false, taking nothing,
// when fewer than n are left.
func (b *eventBudget) reserve(n int64) bool {
	if b == nil {
		return true
	}
	for {
		u := b.used.Load()
		if n > b.limit-u {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// release gives back n reserved bytes.
func (b *eventBudget) release(n int64) {
	if b != nil && n > 0 {
		b.used.Add(-n)
	}
}

// sseReader splits a text/event-stream into events as the WHATWG HTML
// specification says: lines end in CRLF, LF or CR (and may be split across
// reads anywhere); a line starting with ':' is a comment; "field:value"
// drops one space after the colon and nothing else; the data of an event is
// its data lines joined with "\n"; a blank line dispatches the event. The
// payload is never trimmed. Unlike the specification, an event still
// pending at the end of the stream is dispatched rather than dropped, so a
// final "data: [DONE]" without a blank line is not lost.
//
// Memory is bounded: a line longer than the event limit plus sseLineSlack
// fails the stream, so the line buffer never grows beyond that (or its
// initial 32 KiB); event data beyond the limit fails the stream too. Growth
// of either buffer beyond 32 KiB is reserved from the client's budget and
// released by close. An event of one data line whose blank line is already
// buffered (the usual case: engines write whole events) is returned in
// place, without a copy.
//
// With stamp set, every read that returns bytes is timed by it, and an
// event carries the time of the read that completed it: the time its last
// byte was read, not the time it was parsed, so events that arrived
// together in one read share that read's time.
type sseReader struct {
	r        io.Reader
	buf      []byte // unread bytes are buf[start:end]
	start    int
	end      int
	eof      bool
	err      error
	skipLF   bool // the previous line ended in CR: a following LF belongs to it
	data     []byte
	hasData  bool
	event    []byte
	max      int
	bomDone  bool
	budget   *eventBudget
	reserved int64 // bytes taken from budget
	stamp    func() time.Duration
	readAt   time.Duration // stamp after the last read that returned bytes
	pool     *sync.Pool    // where the initial buffer goes back
	bufp     *[]byte       // the initial buffer, for pool
}

// newSSEReader returns a reader of events of at most maxEvent bytes
// (DefaultMaxEventSize if maxEvent ≤ 0) whose buffer growth draws on
// budget (nil: unlimited). Call close when done.
func newSSEReader(r io.Reader, maxEvent int, budget *eventBudget) *sseReader {
	s := &sseReader{}
	s.init(r, maxEvent, budget, nil)
	return s
}

// init readies s as newSSEReader does, taking its initial buffer from pool
// (a pool of *[]byte of sseInitialBuffer bytes) when pool is not nil; close
// gives it back.
func (s *sseReader) init(r io.Reader, maxEvent int, budget *eventBudget, pool *sync.Pool) {
	if maxEvent <= 0 {
		maxEvent = DefaultMaxEventSize
	}
	*s = sseReader{r: r, max: maxEvent, budget: budget, pool: pool}
	if pool != nil {
		if b, ok := pool.Get().(*[]byte); ok && len(*b) == sseInitialBuffer {
			s.bufp = b
		} else {
			b := make([]byte, sseInitialBuffer)
			s.bufp = &b
		}
		s.buf = *s.bufp
		return
	}
	s.buf = make([]byte, sseInitialBuffer)
}

// close releases the reader's share of the budget and its buffers; the
// events it returned are invalid from then on.
func (s *sseReader) close() {
	s.budget.release(s.reserved)
	s.reserved = 0
	s.releaseInitial()
	s.buf, s.data = nil, nil
}

// releaseInitial gives the initial buffer back to the pool, once s.buf no
// longer uses it (close, or growth).
func (s *sseReader) releaseInitial() {
	if s.bufp != nil {
		s.pool.Put(s.bufp)
		s.bufp = nil
	}
}

// sseEvent is one dispatched event. Its slices are valid until the next call
// to next.
type sseEvent struct {
	Type []byte // the "event:" field, empty for the default "message"
	Data []byte
	At   time.Duration // when its last byte was read (with stamp set)
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
			if s.err != nil { // an event cut off by a read error is not dispatched
				return sseEvent{}, s.err
			}
			if s.hasData {
				s.hasData = false
				return sseEvent{Type: s.event, Data: s.data, At: s.readAt}, nil
			}
			if s.err != nil {
				return sseEvent{}, s.err
			}
			return sseEvent{}, io.EOF
		}
		if len(line) == 0 {
			if s.hasData {
				return sseEvent{Type: s.event, Data: s.data, At: s.readAt}, nil
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
			if !s.hasData && len(value) <= s.max && s.eventEndsHere() {
				return sseEvent{Type: s.event, Data: value, At: s.readAt}, nil // in place
			}
			if err := s.appendData(value); err != nil {
				return sseEvent{}, err
			}
		case "event":
			s.event = append(s.event[:0], value[:min(len(value), maxEventType)]...)
		}
	}
}

// eventEndsHere reports whether the bytes already buffered after the line
// just read are a blank line, which it then consumes, or the end of the
// stream: the event then consists of that line alone. It never reads, so
// the line stays valid.
func (s *sseReader) eventEndsHere() bool {
	i := s.start
	if s.skipLF {
		if i == s.end && !s.eof {
			return false // the LF that may follow the CR has not arrived
		}
		if i < s.end && s.buf[i] == '\n' {
			i++
		}
	}
	switch {
	case i == s.end:
		if !s.eof || s.err != nil { // more may come, or the stream broke
			return false
		}
		s.start, s.skipLF = i, false
	case s.buf[i] == '\n':
		s.start, s.skipLF = i+1, false
	case s.buf[i] == '\r':
		s.start, s.skipLF = i+1, true
	default:
		return false
	}
	return true
}

// appendData adds one data line to the pending event.
func (s *sseReader) appendData(value []byte) error {
	need := len(s.data) + len(value)
	if s.hasData {
		need++ // the "\n" between data lines
	}
	if need > s.max {
		return s.tooLarge()
	}
	if need > cap(s.data) {
		c := max(need, min(2*cap(s.data), s.max))
		if err := s.charge(cap(s.data), c); err != nil {
			return err
		}
		nd := make([]byte, len(s.data), c)
		copy(nd, s.data)
		s.data = nd
	}
	if s.hasData {
		s.data = append(s.data, '\n')
	}
	s.data = append(s.data, value...)
	s.hasData = true
	return nil
}

// charge reserves from the budget what growing a buffer from oldCap to
// newCap bytes adds beyond the free initial size.
func (s *sseReader) charge(oldCap, newCap int) error {
	extra := int64(max(newCap, sseInitialBuffer) - max(oldCap, sseInitialBuffer))
	if extra <= 0 {
		return nil
	}
	if !s.budget.reserve(extra) {
		return fmt.Errorf("%w: buffering it would need %s more, and the client's %s event buffer budget, shared by all its streams, is used up (loadgen.WithEventBufferBudget)",
			ErrEventTooLarge, byteSize(extra), byteSize(s.budget.limit))
	}
	s.reserved += extra
	return nil
}

func (s *sseReader) tooLarge() error {
	return fmt.Errorf("%w: it exceeds the %s limit (loadgen.WithMaxEventSize)", ErrEventTooLarge, byteSize(int64(s.max)))
}

// lineLimit is the longest line accepted.
func (s *sseReader) lineLimit() int { return s.max + sseLineSlack }

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
			if i-s.start > s.lineLimit() { // whatever the read sizes were
				return nil, false, s.tooLarge()
			}
			line = s.buf[s.start:i]
			if s.buf[i] == '\r' {
				s.skipLF = true
			}
			s.start = i + 1
			return line, true, nil
		}
		scanned = s.end - s.start
		if s.eof {
			if scanned > s.lineLimit() {
				return nil, false, s.tooLarge()
			}
			if s.start < s.end {
				if s.err != nil { // cut off by a read error, not a clean end
					return nil, false, s.err
				}
				line = s.buf[s.start:s.end]
				s.start = s.end
				return line, true, nil
			}
			return nil, false, nil
		}
		if scanned > s.lineLimit() {
			return nil, false, s.tooLarge()
		}
		if err := s.fill(); err != nil {
			return nil, false, err
		}
	}
}

// fill reads more bytes, compacting the buffer, or growing it when it is
// full of one unfinished line: by doubling, but never beyond
// lineLimit()+1 bytes, which holds the longest accepted line and the byte
// after it (line fails the stream before a longer one needs more).
func (s *sseReader) fill() error {
	if s.start > 0 {
		n := copy(s.buf, s.buf[s.start:s.end])
		s.start, s.end = 0, n
	}
	if s.end == len(s.buf) {
		c := min(2*len(s.buf), s.lineLimit()+1)
		if c <= len(s.buf) {
			return s.tooLarge() // not reached: line checks first
		}
		if err := s.charge(len(s.buf), c); err != nil {
			return err
		}
		nb := make([]byte, c)
		copy(nb, s.buf[:s.end])
		s.buf = nb
		s.releaseInitial() // nothing refers to it any more
	}
	n, err := s.r.Read(s.buf[s.end:])
	if n > 0 && s.stamp != nil {
		s.readAt = s.stamp()
	}
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

// byteSize renders n bytes for messages: "1 MiB", "64 KiB", "100 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// drain reads the rest of the stream, discarding it, until its end, at
// most limit bytes; when abort is not nil and the end has not come within
// wait, it calls abort (which must make the pending read fail) and
// returns. It reports whether the end was reached.
func (s *sseReader) drain(limit int, wait time.Duration, abort func()) bool {
	if s.eof {
		return s.err == nil
	}
	if abort != nil {
		t := time.AfterFunc(wait, abort)
		defer t.Stop()
	}
	for n, reads := 0, 0; n <= limit && reads < limit; reads++ { // reads: a reader that returns nothing
		k, err := s.r.Read(s.buf)
		n += k
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
	if abort != nil {
		abort()
	}
	return false
}
