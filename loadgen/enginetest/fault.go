package enginetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Fault is a misbehaviour injected into one response; WithFault chooses
// them. The set is closed: HTTPStatus, Reset, MalformedEvent, StreamError,
// SplitFrames, OversizedFrame, Stall, Hang and SlowHeaders, and the hostile
// ones HugeUsage, Unterminated, GiantChunk, Endless and Redirect. Values and
// pointers both work.
//
// Faults that act "after N chunks" act once N content chunks have been
// flushed (the role chunk does not count); an N at or beyond the stream's
// number of content chunks acts after the last one, before the usage chunk
// and [DONE]. An invalid fault (a negative count, size or duration, a
// status outside its range, a usage text that is not a JSON number, a
// redirect without a Location) is answered with HTTP 500 and recorded in
// RequestRecord.Err, wrapping ErrInvalidFault.
//
// Every fault that writes without end (Unterminated, Endless) or waits
// (Hang, Stall) stops when the client goes away or the handler is closed.
type Fault interface {
	spec() faultSpec
}

type faultKind int

const (
	faultNone faultKind = iota
	faultStatus
	faultReset
	faultMalformed
	faultStreamError
	faultSplit
	faultOversized
	faultStall
	faultHang
	faultSlowHeaders
	faultHugeUsage
	faultUnterminated
	faultGiantChunk
	faultEndless
	faultRedirect
)

// faultSpec is the flattened form every Fault turns into.
type faultSpec struct {
	kind    faultKind
	after   int
	d       time.Duration
	code    int
	size    int
	body    string
	message string
	errType string
	before  bool

	usagePrompt     string // HugeUsage's texts; "" keeps the planned count
	usageCompletion string
	location        string
}

// ErrInvalidFault is wrapped by RequestRecord.Err when the fault chosen for
// a request was invalid (the request was answered with 500).
var ErrInvalidFault = errors.New("enginetest: invalid fault")

var (
	_ Fault = HTTPStatus{}
	_ Fault = Reset{}
	_ Fault = MalformedEvent{}
	_ Fault = StreamError{}
	_ Fault = SplitFrames{}
	_ Fault = OversizedFrame{}
	_ Fault = Stall{}
	_ Fault = Hang{}
	_ Fault = SlowHeaders{}
	_ Fault = HugeUsage{}
	_ Fault = Unterminated{}
	_ Fault = GiantChunk{}
	_ Fault = Endless{}
	_ Fault = Redirect{}
)

func (s faultSpec) validate() error {
	switch {
	case s.after < 0:
		return fmt.Errorf("%w: AfterChunks %d is negative", ErrInvalidFault, s.after)
	case s.d < 0:
		return fmt.Errorf("%w: negative duration %v", ErrInvalidFault, s.d)
	case s.size < 0:
		return fmt.Errorf("%w: negative size %d", ErrInvalidFault, s.size)
	case s.kind == faultStatus && (s.code < 200 || s.code > 599):
		return fmt.Errorf("%w: HTTPStatus code %d outside 200–599", ErrInvalidFault, s.code)
	case s.kind == faultStreamError && s.code != 0 && (s.code < 400 || s.code > 599):
		return fmt.Errorf("%w: StreamError code %d outside 400–599", ErrInvalidFault, s.code)
	case s.kind == faultStall && s.d == 0:
		return fmt.Errorf("%w: Stall needs a positive For (use Hang to stall forever)", ErrInvalidFault)
	case s.kind == faultHugeUsage && !isJSONNumber(s.usageCompletion):
		return fmt.Errorf("%w: HugeUsage CompletionTokens %q is not a JSON number", ErrInvalidFault, s.usageCompletion)
	case s.kind == faultHugeUsage && !isJSONNumber(s.usagePrompt):
		return fmt.Errorf("%w: HugeUsage PromptTokens %q is not a JSON number", ErrInvalidFault, s.usagePrompt)
	case s.kind == faultRedirect && (s.code < 300 || s.code > 399):
		return fmt.Errorf("%w: Redirect code %d outside 300–399", ErrInvalidFault, s.code)
	case s.kind == faultRedirect && s.location == "":
		return fmt.Errorf("%w: Redirect without a Location", ErrInvalidFault)
	}
	return nil
}

// isJSONNumber reports whether s is "" (not set) or one JSON number.
func isJSONNumber(s string) bool {
	if s == "" {
		return true
	}
	c := s[0]
	return (c == '-' || c >= '0' && c <= '9') && json.Valid([]byte(s))
}

// HTTPStatus answers with status Code and Body instead of a completion.
// Body empty means an OpenAI-style error object for Code; a Body that is
// valid JSON is sent as application/json, any other as text/plain.
type HTTPStatus struct {
	Code int
	Body string
}

func (f HTTPStatus) spec() faultSpec { return faultSpec{kind: faultStatus, code: f.Code, body: f.Body} }

// Reset aborts the connection with a TCP reset after AfterChunks content
// chunks, leaving the chunked body unfinished; with BeforeHeaders, at once,
// before any response (AfterChunks is then ignored). A blocking request's
// connection is reset when its response would be sent. Behind a server that
// cannot hijack connections (HTTP/2), the handler panics with
// http.ErrAbortHandler instead, which closes the stream without a reset.
type Reset struct {
	AfterChunks   int
	BeforeHeaders bool
}

func (f Reset) spec() faultSpec {
	return faultSpec{kind: faultReset, after: f.AfterChunks, before: f.BeforeHeaders}
}

// MalformedEvent sends one event whose data is truncated JSON after
// AfterChunks content chunks, then goes on with the stream as if nothing
// had happened. A blocking request gets a 200 response with a truncated
// JSON body.
type MalformedEvent struct {
	AfterChunks int
}

func (f MalformedEvent) spec() faultSpec {
	return faultSpec{kind: faultMalformed, after: f.AfterChunks}
}

// StreamError ends the stream, after AfterChunks content chunks, with an
// error event as vLLM sends it — data: {"error":{"message":…,"type":…,
// "param":null,"code":…}} — followed by data: [DONE]. Message empty means
// "enginetest: injected stream error"; Type empty means the type for Code;
// Code 0 means 500. A blocking request gets HTTP Code with the same error
// object.
type StreamError struct {
	AfterChunks int
	Message     string
	Type        string
	Code        int
}

func (f StreamError) spec() faultSpec {
	return faultSpec{kind: faultStreamError, after: f.AfterChunks, message: f.Message, errType: f.Type, code: f.Code}
}

// SplitFrames writes every event of the stream in several small writes,
// flushing after each and waiting Pause between them. With Size 0 each event
// is cut inside "data", right after "data:", in the middle of the JSON and
// between the line ends (for CRLF framing, also between CR and LF); with
// Size > 0 it is cut into pieces of Size bytes. A blocking response body is
// cut the same way (Size 0: into four pieces).
type SplitFrames struct {
	Size  int
	Pause time.Duration
}

func (f SplitFrames) spec() faultSpec { return faultSpec{kind: faultSplit, size: f.Size, d: f.Pause} }

// OversizedFrame pads the content of the content chunk after AfterChunks
// ones (the last chunk if there are fewer) with 'x' to Bytes bytes, sent as
// one event; Bytes 0 means DefaultOversizedBytes. The recorded token count
// is unchanged. A blocking response's content is padded the same way.
type OversizedFrame struct {
	AfterChunks int
	Bytes       int
}

func (f OversizedFrame) spec() faultSpec {
	return faultSpec{kind: faultOversized, after: f.AfterChunks, size: f.Bytes}
}

// Stall sends nothing for For after AfterChunks content chunks, then
// continues; every later chunk is due For later than planned. For must be
// positive. A blocking response comes For later.
type Stall struct {
	AfterChunks int
	For         time.Duration
}

func (f Stall) spec() faultSpec { return faultSpec{kind: faultStall, after: f.AfterChunks, d: f.For} }

// Hang stops sending after AfterChunks content chunks and waits until the
// client goes away or the handler is closed. A blocking request never gets
// its response.
type Hang struct {
	AfterChunks int
}

func (f Hang) spec() faultSpec { return faultSpec{kind: faultHang, after: f.AfterChunks} }

// SlowHeaders delays the response status line and headers until Delay
// after the arrival; the token schedule is unchanged, so chunks already due
// then are sent at once.
type SlowHeaders struct {
	Delay time.Duration
}

func (f SlowHeaders) spec() faultSpec { return faultSpec{kind: faultSlowHeaders, d: f.Delay} }

// HugeUsage replaces the numbers of the stream's usage object (and of a
// blocking response's usage) with the raw JSON number texts
// CompletionTokens and PromptTokens, so that any number can be claimed:
// "9223372036854775807", "1e9", "-5", "1e400". An empty text keeps the
// planned count; total_tokens always keeps the planned total. A stream has
// a usage object only when the request asks for one (and WithoutUsage is
// not used). The record keeps the planned counts.
type HugeUsage struct {
	CompletionTokens json.Number
	PromptTokens     json.Number
}

func (f HugeUsage) spec() faultSpec {
	return faultSpec{kind: faultHugeUsage, usageCompletion: string(f.CompletionTokens), usagePrompt: string(f.PromptTokens)}
}

// Unterminated sends, once the first content chunk is due (after the role
// chunk of a chat stream), the start of an event — `data: {"x":"` — and
// then 'x' bytes without a line end, as fast as the client reads them,
// until the client goes away or the handler is closed. A blocking
// response is a 200 whose JSON body never ends the same way. No content
// chunk is recorded.
type Unterminated struct{}

func (Unterminated) spec() faultSpec { return faultSpec{kind: faultUnterminated} }

// GiantChunk pads the content of every content chunk with 'x' to Size
// bytes (Size 0 means DefaultOversizedBytes); each event stays valid JSON.
// The recorded token counts are unchanged. A blocking response's content is
// padded the same way.
type GiantChunk struct {
	Size int
}

func (f GiantChunk) spec() faultSpec { return faultSpec{kind: faultGiantChunk, size: f.Size} }

// maxEndlessRecords bounds the chunks recorded for an Endless stream.
const maxEndlessRecords = 1 << 16

// Endless sends, from the time the first content chunk is due, valid
// one-token content chunks ("tok0 ", "tok1 ", …) without a finish_reason,
// forever, as fast as the client reads them, until the client goes away
// or the handler is closed. The record keeps the first 65536 chunks. A
// blocking response is a 200 whose content never ends.
type Endless struct{}

func (Endless) spec() faultSpec { return faultSpec{kind: faultEndless} }

// Redirect answers the generation request with a redirect to Location
// (sent as given) with status Code; Code 0 means 307 Temporary Redirect,
// which asks the client to repeat the POST, body and headers included, at
// Location. Code must be within 300–399 and Location must not be empty.
type Redirect struct {
	Location string
	Code     int
}

func (f Redirect) spec() faultSpec {
	code := f.Code
	if code == 0 {
		code = 307
	}
	return faultSpec{kind: faultRedirect, location: f.Location, code: code}
}
