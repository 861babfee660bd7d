package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The wire form of a generation request; only the fields the engine reads.
type wireRequest struct {
	Model               string             `json:"model"`
	Messages            []wireMessage      `json:"messages"`
	Prompt              json.RawMessage    `json:"prompt"`
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	MinTokens           *int               `json:"min_tokens"`
	IgnoreEOS           bool               `json:"ignore_eos"`
	N                   *int               `json:"n"`
	Stream              bool               `json:"stream"`
	StreamOptions       *wireStreamOptions `json:"stream_options"`
}

type wireMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type wireStreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// badRequest is a client error answered with 400.
type badRequest string

func (e badRequest) Error() string { return string(e) }

func readRequest(w http.ResponseWriter, r *http.Request) (wireRequest, error) {
	var wr wireRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	if err != nil {
		return wr, badRequest("enginetest: reading the request body: " + err.Error())
	}
	if err := json.Unmarshal(body, &wr); err != nil {
		return wr, badRequest("enginetest: the request body is not a valid JSON object: " + err.Error())
	}
	return wr, nil
}

// promptText returns the prompt of a completion request, or the texts of a
// chat request's messages joined with "\n".
func promptText(wr *wireRequest, chat bool) (string, error) {
	if chat {
		if len(wr.Messages) == 0 {
			return "", badRequest("enginetest: messages must not be empty")
		}
		var b strings.Builder
		for i, m := range wr.Messages {
			if i > 0 {
				b.WriteByte('\n')
			}
			if err := appendContent(&b, m.Content); err != nil {
				return "", err
			}
		}
		return b.String(), nil
	}
	raw := bytes.TrimSpace(wr.Prompt)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return "", badRequest("enginetest: prompt is required")
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil && len(ss) == 1 {
		return ss[0], nil
	}
	return "", badRequest("enginetest: prompt must be a string or a one-element array of strings")
}

// appendContent appends a message content: a string, an array of parts
// (the text of "text" parts is used), or null.
func appendContent(b *strings.Builder, raw json.RawMessage) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		b.WriteString(s)
		return nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil {
		return badRequest("enginetest: message content must be a string or an array of parts")
	}
	for i, p := range parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return nil
}

// countWords counts whitespace-separated words, like len(strings.Fields(s)).
func countWords(s string) int {
	n, in := 0, false
	for _, r := range s {
		if unicode.IsSpace(r) {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

// outputLength decides the number of output tokens and the finish reason
// (see Request).
func outputLength(natural, maxTokens, minTokens int, ignoreEOS bool) (int, string) {
	if ignoreEOS {
		return maxTokens, "length"
	}
	eos := max(natural, minTokens)
	if eos >= maxTokens {
		return maxTokens, "length"
	}
	return eos, "stop"
}

// generate answers a request to a generation endpoint; rec has Seq,
// Endpoint and Arrival set.
func (h *Handler) generate(w http.ResponseWriter, r *http.Request, rec *RequestRecord) {
	chat := rec.Endpoint == PathChatCompletions
	reject := func(code int, err error) {
		rec.Status = code
		writeError(w, code, err.Error(), "")
		rec.End = time.Now()
	}
	wr, err := readRequest(w, r)
	if err != nil {
		reject(http.StatusBadRequest, err)
		return
	}
	m := h.models0
	if wr.Model != "" {
		if m = h.models[wr.Model]; m == nil {
			rec.Model = wr.Model
			reject(http.StatusNotFound, fmt.Errorf("The model `%s` does not exist.", wr.Model)) //lint:ignore ST1005 vLLM's exact message
			return
		}
	}
	q := &rec.Request
	q.Model = m.id
	q.Stream = wr.Stream
	q.IgnoreEOS = wr.IgnoreEOS
	if wr.StreamOptions != nil {
		q.IncludeUsage = wr.StreamOptions.IncludeUsage
	}
	switch {
	case wr.MaxTokens != nil:
		q.MaxTokens = *wr.MaxTokens
	case wr.MaxCompletionTokens != nil:
		q.MaxTokens = *wr.MaxCompletionTokens
	}
	if wr.MinTokens != nil {
		q.MinTokens = *wr.MinTokens
	}
	if q.Prompt, err = promptText(&wr, chat); err != nil {
		reject(http.StatusBadRequest, err)
		return
	}
	maxTokens := q.MaxTokens
	if maxTokens == 0 && wr.MaxTokens == nil && wr.MaxCompletionTokens == nil {
		maxTokens = DefaultRequestMaxTokens
	}
	switch {
	case wr.N != nil && *wr.N != 1:
		err = badRequest("enginetest: only n=1 is supported")
	case maxTokens < 1:
		err = badRequest(fmt.Sprintf("max_tokens must be at least 1, got %d.", maxTokens))
	case q.MinTokens < 0:
		err = badRequest(fmt.Sprintf("min_tokens must be greater than or equal to 0, got %d.", q.MinTokens))
	case q.MinTokens > maxTokens:
		err = badRequest(fmt.Sprintf("min_tokens must be less than or equal to max_tokens=%d, got %d.", maxTokens, q.MinTokens))
	case wr.StreamOptions != nil && !wr.Stream:
		err = badRequest("Stream options can only be defined when `stream=True`.")
	}
	if err != nil {
		reject(http.StatusBadRequest, err)
		return
	}
	rec.PromptTokens = countWords(q.Prompt)
	rec.OutputTokens, rec.FinishReason = outputLength(h.cfg.outputTokens, maxTokens, q.MinTokens, q.IgnoreEOS)

	var fs faultSpec
	if h.cfg.fault != nil {
		if f := h.cfg.fault(*q); f != nil {
			rec.Fault = f
			fs = f.spec()
			if err := fs.validate(); err != nil {
				rec.Err = err
				reject(http.StatusInternalServerError, err)
				return
			}
		}
	}

	if !h.admit(r.Context(), rec) {
		return
	}
	defer h.leaveSlot()
	g := newGen(h, w, rec, chat, m, fs)
	defer g.release()
	if wr.Stream {
		g.stream(r.Context())
	} else {
		g.blocking(r.Context())
	}
}

// admit waits for a generation slot (WithCapacity) and records when the
// request got it; without WithCapacity it admits at once, at arrival. It
// reports false, with rec.Err saying why, when the client went away or the
// handler was closed first; nothing was then written.
func (h *Handler) admit(ctx context.Context, rec *RequestRecord) bool {
	if h.slots == nil {
		rec.Admitted = rec.Arrival
		return true
	}
	select {
	case h.slots <- struct{}{}:
		rec.Admitted = time.Now()
		return true
	case <-ctx.Done():
		rec.Err = clientGone(ctx)
	case <-h.done:
		rec.Err = ErrClosed
	}
	return false
}

// leaveSlot frees the slot admit took.
func (h *Handler) leaveSlot() {
	if h.slots != nil {
		<-h.slots
	}
}

// maxPooledBuf keeps oversized buffers out of the pool.
const maxPooledBuf = 64 << 10

// gen writes one response.
type gen struct {
	h     *Handler
	w     http.ResponseWriter
	rc    *http.ResponseController
	rec   *RequestRecord
	fault faultSpec
	chat  bool

	n, k    int // output tokens, tokens per chunk
	nchunks int

	firstAt time.Time     // due time of the first content chunk
	shift   time.Duration // added to later due times by stalls
	prevDue time.Time
	rng     *rand.Rand // nil without jitter
	timer   *time.Timer

	bufp      *[]byte
	buf       []byte
	head      []byte // `{"id":…,"object":…,"created":…,"model":…,"choices":[`
	dataStart int    // offset of "data:" in buf
	eol       string
	data      string
}

func newGen(h *Handler, w http.ResponseWriter, rec *RequestRecord, chat bool, m *modelInfo, fs faultSpec) *gen {
	g := &gen{
		h: h, w: w, rc: http.NewResponseController(w), rec: rec,
		fault: fs, chat: chat,
		n: rec.OutputTokens, k: h.cfg.tokensPerChunk,
		eol: "\n", data: "data: ",
	}
	if h.cfg.framing.CRLF {
		g.eol = "\r\n"
	}
	if h.cfg.framing.NoSpace {
		g.data = "data:"
	}
	g.nchunks = 1
	if g.n > 0 {
		g.nchunks = (g.n + g.k - 1) / g.k
	}
	if h.cfg.jitter > 0 {
		g.rng = rand.New(rand.NewPCG(h.cfg.seed, uint64(rec.Seq)))
	}
	g.firstAt = rec.Admitted.Add(h.cfg.ttft + g.jitter())
	if g.firstAt.Before(rec.Admitted) {
		g.firstAt = rec.Admitted
	}
	g.prevDue = rec.Admitted
	g.bufp = h.bufs.Get().(*[]byte)
	g.buf = (*g.bufp)[:0]

	id, object := "chatcmpl-", "chat.completion.chunk"
	if !chat {
		id, object = "cmpl-", "text_completion"
	}
	if !rec.Stream && chat {
		object = "chat.completion"
	}
	hd := make([]byte, 0, 96+len(m.quoted))
	hd = append(hd, `{"id":"`...)
	hd = append(hd, id...)
	hd = strconv.AppendInt(hd, int64(rec.Seq), 10)
	hd = append(hd, `","object":"`...)
	hd = append(hd, object...)
	hd = append(hd, `","created":`...)
	hd = strconv.AppendInt(hd, rec.Arrival.Unix(), 10)
	hd = append(hd, `,"model":`...)
	hd = append(hd, m.quoted...)
	hd = append(hd, `,"choices":[`...)
	g.head = hd
	return g
}

func (g *gen) release() {
	if g.timer != nil {
		g.timer.Stop()
	}
	if cap(g.buf) <= maxPooledBuf {
		*g.bufp = g.buf[:0]
		g.h.bufs.Put(g.bufp)
	}
}

func (g *gen) jitter() time.Duration {
	if g.rng == nil {
		return 0
	}
	j := int64(g.h.cfg.jitter)
	return time.Duration(g.rng.Int64N(2*j+1) - j)
}

// due returns the due time of content chunk i; call it once per chunk, in
// order.
func (g *gen) due(i int) time.Time {
	t := g.firstAt
	if i > 0 {
		tokens := min((i+1)*g.k, g.n) - min(g.k, g.n)
		t = t.Add(time.Duration(tokens)*g.h.cfg.itl + g.jitter())
	}
	t = t.Add(g.shift)
	if t.Before(g.prevDue) {
		t = g.prevDue
	}
	g.prevDue = t
	return t
}

// fail records why the response ended early (the first reason only);
// once the handler is closed, that is the reason.
func (g *gen) fail(err error) {
	select {
	case <-g.h.done:
		err = ErrClosed
	default:
	}
	if g.rec.Err == nil {
		g.rec.Err = err
	}
}

func clientGone(ctx context.Context) error {
	return fmt.Errorf("enginetest: the client went away: %w", ctx.Err())
}

// stopped reports, without blocking, whether the client went away or the
// handler was closed.
func (g *gen) stopped(ctx context.Context) bool {
	select {
	case <-ctx.Done():
		g.fail(clientGone(ctx))
		return true
	case <-g.h.done:
		g.fail(ErrClosed)
		return true
	default:
		return false
	}
}

// sleepUntil waits until t; it reports false when the client went away or
// the handler was closed first. The last WithBusyWait of the wait polls the
// clock instead of sleeping.
func (g *gen) sleepUntil(ctx context.Context, t time.Time) bool {
	spin := g.h.cfg.busyWait
	if d := time.Until(t) - spin; d > 0 {
		if g.timer == nil {
			g.timer = time.NewTimer(d)
		} else {
			g.timer.Reset(d)
		}
		select {
		case <-g.timer.C:
		case <-ctx.Done():
			g.timer.Stop()
			g.fail(clientGone(ctx))
			return false
		case <-g.h.done:
			g.timer.Stop()
			g.fail(ErrClosed)
			return false
		}
	}
	for spin > 0 && time.Now().Before(t) {
		if g.stopped(ctx) {
			return false
		}
		runtime.Gosched()
	}
	return !g.stopped(ctx)
}

// hang waits until the client goes away or the handler is closed.
func (g *gen) hang(ctx context.Context) {
	select {
	case <-ctx.Done():
		g.fail(clientGone(ctx))
	case <-g.h.done:
		g.fail(ErrClosed)
	}
}

// reset aborts the connection with a TCP RST.
func (g *gen) reset() {
	conn, _, err := g.rc.Hijack()
	if err != nil {
		g.rec.End = time.Now()
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
	g.rec.End = time.Now()
}

// writeStatus answers with an HTTPStatus fault.
func (g *gen) writeStatus() {
	f := g.fault
	body := []byte(f.body)
	ctype := "application/json"
	if f.body == "" {
		body = errorBody(f.code, "enginetest: injected HTTP "+strconv.Itoa(f.code), "")
	} else if !json.Valid(body) {
		ctype = "text/plain; charset=utf-8"
	}
	hd := g.w.Header()
	hd.Set("Content-Type", ctype)
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	g.w.WriteHeader(f.code)
	g.rec.Status = f.code
	if _, err := g.w.Write(body); err != nil {
		g.fail(fmt.Errorf("enginetest: writing: %w", err))
		return
	}
	if err := g.rc.Flush(); err != nil {
		g.fail(fmt.Errorf("enginetest: flushing: %w", err))
		return
	}
	g.rec.HeadersSent = time.Now()
}

func (g *gen) streamErrorBody() (int, []byte) {
	code := g.fault.code
	if code == 0 {
		code = http.StatusInternalServerError
	}
	msg := g.fault.message
	if msg == "" {
		msg = "enginetest: injected stream error"
	}
	return code, errorBody(code, msg, g.fault.errType)
}

// write sends p and flushes, honouring a SplitFrames fault. cuts are the
// default split points for Size 0.
func (g *gen) write(ctx context.Context, p []byte, cuts ...int) bool {
	if g.fault.kind != faultSplit {
		if _, err := g.w.Write(p); err != nil {
			g.fail(fmt.Errorf("enginetest: writing: %w", err))
			return false
		}
		if err := g.rc.Flush(); err != nil {
			g.fail(fmt.Errorf("enginetest: flushing: %w", err))
			return false
		}
		return true
	}
	if size := g.fault.size; size > 0 {
		cuts = cuts[:0]
		for c := size; c < len(p); c += size {
			cuts = append(cuts, c)
		}
	}
	prev := 0
	for i := 0; i <= len(cuts); i++ {
		end := len(p)
		if i < len(cuts) {
			end = cuts[i]
		}
		if end <= prev || end > len(p) {
			continue
		}
		if prev > 0 && g.fault.d > 0 && !g.sleepUntil(ctx, time.Now().Add(g.fault.d)) {
			return false
		}
		if _, err := g.w.Write(p[prev:end]); err != nil {
			g.fail(fmt.Errorf("enginetest: writing: %w", err))
			return false
		}
		if err := g.rc.Flush(); err != nil {
			g.fail(fmt.Errorf("enginetest: flushing: %w", err))
			return false
		}
		prev = end
	}
	return true
}

// beginEvent starts an event in buf, after the optional comment block.
func (g *gen) beginEvent() {
	g.buf = g.buf[:0]
	if g.h.cfg.framing.Comments {
		g.buf = append(g.buf, ": ping"...)
		g.buf = append(g.buf, g.eol...)
		g.buf = append(g.buf, g.eol...)
	}
	g.dataStart = len(g.buf)
	g.buf = append(g.buf, g.data...)
}

// sendEvent ends the event in buf and sends it.
func (g *gen) sendEvent(ctx context.Context) bool {
	jsonStart := g.dataStart + len(g.data)
	g.buf = append(g.buf, g.eol...)
	g.buf = append(g.buf, g.eol...)
	n := len(g.buf)
	cuts := [5]int{g.dataStart + 2, g.dataStart + 5, (jsonStart + n) / 2, n - len(g.eol), n - 1}
	ok := g.write(ctx, g.buf, cuts[:]...)
	if ok && g.rec.FirstByte.IsZero() {
		g.rec.FirstByte = time.Now()
	}
	return ok
}

func (g *gen) appendTokens(from, to int) {
	for j := from; j < to; j++ {
		g.buf = append(g.buf, "tok"...)
		g.buf = strconv.AppendInt(g.buf, int64(j), 10)
		g.buf = append(g.buf, ' ')
	}
}

// appendPadding pads the text that starts at textStart in buf with 'x'
// to the fault's size (DefaultOversizedBytes when 0).
func (g *gen) appendPadding(textStart int) {
	size := g.fault.size
	if size == 0 {
		size = DefaultOversizedBytes
	}
	if pad := size - (len(g.buf) - textStart); pad > 0 {
		g.buf = appendX(g.buf, pad)
	}
}

// appendX appends n 'x' bytes to b without a temporary buffer.
func appendX(b []byte, n int) []byte {
	start := len(b)
	b = slices.Grow(b, n)[:start+n]
	b[start] = 'x'
	for done := 1; done < n; done *= 2 {
		copy(b[start+done:], b[start:start+done])
	}
	return b
}

func (g *gen) roleEvent(ctx context.Context) bool {
	g.beginEvent()
	g.buf = append(g.buf, g.head...)
	g.buf = append(g.buf, `{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`...)
	return g.sendEvent(ctx)
}

// afterKind reports whether the fault acts after a number of chunks.
func (f faultSpec) afterKind() bool {
	switch f.kind {
	case faultReset, faultMalformed, faultStreamError, faultStall, faultHang:
		return true
	}
	return false
}

// startResponse handles SlowHeaders, HTTPStatus and a Reset before the
// headers; it reports whether to go on.
func (g *gen) startResponse(ctx context.Context) bool {
	switch g.fault.kind {
	case faultReset:
		if g.fault.before {
			g.reset()
			return false
		}
	case faultSlowHeaders:
		return g.sleepUntil(ctx, g.rec.Admitted.Add(g.fault.d))
	case faultStatus:
		g.writeStatus()
		return false
	case faultRedirect:
		hd := g.w.Header()
		hd.Set("Location", g.fault.location)
		hd.Set("Content-Length", "0")
		g.w.WriteHeader(g.fault.code)
		g.rec.Status = g.fault.code
		g.rec.HeadersSent = time.Now()
		return false
	}
	return true
}

// floodBlock is how many bytes Unterminated and a blocking Endless write
// at a time.
const floodBlock = 32 << 10

// flood writes prefix and then 'x' bytes without a line end until the
// client goes away or the handler is closed (Unterminated).
func (g *gen) flood(ctx context.Context, prefix string) {
	g.buf = append(g.buf[:0], prefix...)
	if !g.write(ctx, g.buf) {
		return
	}
	if g.rec.FirstByte.IsZero() {
		g.rec.FirstByte = time.Now()
	}
	g.buf = appendX(g.buf[:0], floodBlock)
	for !g.stopped(ctx) {
		if !g.write(ctx, g.buf) {
			return
		}
	}
}

// endless sends one-token content chunks without end until the client goes
// away or the handler is closed (Endless), recording the first
// maxEndlessRecords of them.
func (g *gen) endless(ctx context.Context) {
	rec := g.rec
	for j := 0; !g.stopped(ctx); j++ {
		g.beginEvent()
		g.buf = append(g.buf, g.head...)
		if g.chat {
			g.buf = append(g.buf, `{"index":0,"delta":{"content":"`...)
		} else {
			g.buf = append(g.buf, `{"index":0,"text":"`...)
		}
		g.appendTokens(j, j+1)
		if g.chat {
			g.buf = append(g.buf, `"},"logprobs":null,"finish_reason":null}]}`...)
		} else {
			g.buf = append(g.buf, `","logprobs":null,"finish_reason":null}]}`...)
		}
		if !g.sendEvent(ctx) {
			return
		}
		now := time.Now()
		if j < maxEndlessRecords {
			rec.Chunks = append(rec.Chunks, ChunkRecord{Due: now, Flushed: now, Tokens: 1})
		}
		if rec.FirstToken.IsZero() {
			rec.FirstToken = now
		}
	}
}

// blockingEndless writes a 200 JSON body whose content never ends: for
// Unterminated, 'x' bytes in an "x" field; for Endless, tokens.
func (g *gen) blockingEndless(ctx context.Context) {
	hd := g.w.Header()
	hd.Set("Content-Type", "application/json")
	g.w.WriteHeader(http.StatusOK)
	g.rec.Status = http.StatusOK
	g.rec.HeadersSent = time.Now()
	if g.fault.kind == faultUnterminated {
		g.flood(ctx, `{"x":"`)
		return
	}
	g.buf = append(g.buf[:0], g.head...)
	if g.chat {
		g.buf = append(g.buf, `{"index":0,"message":{"role":"assistant","content":"`...)
	} else {
		g.buf = append(g.buf, `{"index":0,"text":"`...)
	}
	for j := 0; !g.stopped(ctx); {
		for len(g.buf) < floodBlock {
			g.appendTokens(j, j+1)
			j++
		}
		if !g.write(ctx, g.buf) {
			return
		}
		if g.rec.FirstToken.IsZero() {
			now := time.Now()
			g.rec.FirstByte, g.rec.FirstToken = now, now
		}
		g.buf = g.buf[:0]
	}
}

func (g *gen) stream(ctx context.Context) {
	if !g.startResponse(ctx) {
		return
	}
	rec := g.rec
	hd := g.w.Header()
	hd.Set("Content-Type", "text/event-stream; charset=utf-8")
	hd.Set("Cache-Control", "no-cache")
	g.w.WriteHeader(http.StatusOK)
	rec.Status = http.StatusOK
	early := g.chat && g.h.cfg.earlyRole
	if err := g.rc.Flush(); err != nil {
		g.fail(fmt.Errorf("enginetest: flushing: %w", err))
		return
	}
	rec.HeadersSent = time.Now()
	if early && !g.roleEvent(ctx) {
		return
	}
	if g.fault.kind == faultUnterminated || g.fault.kind == faultEndless {
		if !g.sleepUntil(ctx, g.due(0)) {
			return
		}
		if g.chat && !early && !g.roleEvent(ctx) {
			return
		}
		if g.fault.kind == faultUnterminated {
			g.flood(ctx, g.data+`{"x":"`)
		} else {
			g.endless(ctx)
		}
		return
	}

	trigger := -1
	if g.fault.afterKind() {
		trigger = min(g.fault.after, g.nchunks)
	}
	oversized := -1
	if g.fault.kind == faultOversized {
		oversized = min(g.fault.after, g.nchunks-1)
	}
	rec.Chunks = make([]ChunkRecord, 0, min(g.nchunks, 1024))
	for i := 0; i <= g.nchunks; i++ {
		if i == trigger {
			switch g.fault.kind {
			case faultReset:
				g.reset()
				return
			case faultMalformed:
				g.beginEvent()
				g.buf = append(g.buf, g.head...)
				g.buf = append(g.buf, `{"index":0,"delta":{"cont`...)
				if !g.sendEvent(ctx) {
					return
				}
			case faultStreamError:
				_, body := g.streamErrorBody()
				g.beginEvent()
				g.buf = append(g.buf, body...)
				if g.sendEvent(ctx) {
					g.done(ctx)
				}
				return
			case faultStall:
				g.shift += g.fault.d
				if !g.sleepUntil(ctx, time.Now().Add(g.fault.d)) {
					return
				}
			case faultHang:
				g.hang(ctx)
				return
			}
		}
		if i == g.nchunks {
			break
		}
		due := g.due(i)
		if !g.sleepUntil(ctx, due) {
			return
		}
		if i == 0 && g.chat && !early && !g.roleEvent(ctx) {
			return
		}
		from, to := i*g.k, min((i+1)*g.k, g.n)
		g.beginEvent()
		g.buf = append(g.buf, g.head...)
		if g.chat {
			g.buf = append(g.buf, `{"index":0,"delta":{"content":"`...)
		} else {
			g.buf = append(g.buf, `{"index":0,"text":"`...)
		}
		textStart := len(g.buf)
		g.appendTokens(from, to)
		if i == oversized || g.fault.kind == faultGiantChunk {
			g.appendPadding(textStart)
		}
		if g.chat {
			g.buf = append(g.buf, `"},"logprobs":null,"finish_reason":`...)
		} else {
			g.buf = append(g.buf, `","logprobs":null,"finish_reason":`...)
		}
		if i == g.nchunks-1 {
			g.buf = append(g.buf, '"')
			g.buf = append(g.buf, rec.FinishReason...)
			g.buf = append(g.buf, `","stop_reason":null}]}`...)
		} else {
			g.buf = append(g.buf, `null}]}`...)
		}
		if !g.sendEvent(ctx) {
			return
		}
		now := time.Now()
		rec.Chunks = append(rec.Chunks, ChunkRecord{Due: due, Flushed: now, Tokens: to - from})
		if to > from && rec.FirstToken.IsZero() {
			rec.FirstToken = now
		}
	}
	if rec.IncludeUsage && !g.h.cfg.noUsage {
		g.beginEvent()
		g.buf = append(g.buf, g.head...)
		g.buf = append(g.buf, `],"usage":`...)
		g.buf = g.appendUsage(g.buf)
		g.buf = append(g.buf, '}')
		if !g.sendEvent(ctx) {
			return
		}
	}
	g.done(ctx)
}

// done sends the [DONE] event.
func (g *gen) done(ctx context.Context) bool {
	g.beginEvent()
	g.buf = append(g.buf, "[DONE]"...)
	return g.sendEvent(ctx)
}

// appendUsage appends the usage object: the planned counts, or HugeUsage's
// texts.
func (g *gen) appendUsage(b []byte) []byte {
	p, c := g.rec.PromptTokens, g.rec.OutputTokens
	count := func(b []byte, n int, text string) []byte {
		if g.fault.kind == faultHugeUsage && text != "" {
			return append(b, text...)
		}
		return strconv.AppendInt(b, int64(n), 10)
	}
	b = append(b, `{"prompt_tokens":`...)
	b = count(b, p, g.fault.usagePrompt)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(p+c), 10)
	b = append(b, `,"completion_tokens":`...)
	b = count(b, c, g.fault.usageCompletion)
	return append(b, '}')
}

func (g *gen) blocking(ctx context.Context) {
	if !g.startResponse(ctx) {
		return
	}
	rec := g.rec
	if g.fault.kind == faultStreamError {
		code, body := g.streamErrorBody()
		writeJSON(g.w, code, body)
		rec.Status = code
		rec.HeadersSent = time.Now()
		return
	}
	var due time.Time
	for i := range g.nchunks {
		due = g.due(i)
	}
	if g.fault.kind == faultStall {
		due = due.Add(g.fault.d)
	}
	if g.fault.kind == faultUnterminated || g.fault.kind == faultEndless {
		due = g.firstAt
	}
	if !g.sleepUntil(ctx, due) {
		return
	}
	if g.fault.kind == faultUnterminated || g.fault.kind == faultEndless {
		g.blockingEndless(ctx)
		return
	}
	switch g.fault.kind {
	case faultHang:
		g.hang(ctx)
		return
	case faultReset:
		g.reset()
		return
	}

	b := g.buf[:0]
	b = append(b, g.head...)
	if g.chat {
		b = append(b, `{"index":0,"message":{"role":"assistant","content":"`...)
	} else {
		b = append(b, `{"index":0,"text":"`...)
	}
	g.buf = b
	textStart := len(g.buf)
	g.appendTokens(0, g.n)
	if g.fault.kind == faultOversized || g.fault.kind == faultGiantChunk {
		g.appendPadding(textStart)
	}
	b = g.buf
	if g.chat {
		b = append(b, `"},"logprobs":null,"finish_reason":"`...)
	} else {
		b = append(b, `","logprobs":null,"finish_reason":"`...)
	}
	b = append(b, rec.FinishReason...)
	b = append(b, `","stop_reason":null}]`...)
	if !g.h.cfg.noUsage {
		b = append(b, `,"usage":`...)
		b = g.appendUsage(b)
	}
	b = append(b, '}')
	if g.fault.kind == faultMalformed {
		b = b[:len(b)/2]
	}
	g.buf = b

	hd := g.w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	g.w.WriteHeader(http.StatusOK)
	rec.Status = http.StatusOK
	n := len(b)
	if !g.write(ctx, b, n/4, n/2, 3*n/4) {
		return
	}
	now := time.Now()
	rec.HeadersSent, rec.FirstByte = now, now
	rec.Chunks = []ChunkRecord{{Due: due, Flushed: now, Tokens: g.n}}
	if g.n > 0 {
		rec.FirstToken = now
	}
}
