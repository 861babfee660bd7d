package enginetest

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is recorded in RequestRecord.Err for streams cut off by Close.
var ErrClosed = errors.New("enginetest: handler closed")

// maxBodyBytes bounds a request body.
const maxBodyBytes = 64 << 20

// Handler is the fake engine as an http.Handler. Its methods are safe for
// concurrent use.
type Handler struct {
	cfg      config
	created  int64 // the "created" time of the model list
	models   map[string]*modelInfo
	models0  *modelInfo
	listJSON []byte

	seq  atomic.Int64
	done chan struct{} // closed by Close
	// slots holds one value per request being generated (WithCapacity);
	// nil without a capacity.
	slots chan struct{}
	bufs  sync.Pool // *[]byte event buffers

	mu       sync.Mutex
	closed   bool
	inflight int
	idle     chan struct{} // closed while inflight == 0
	records  []RequestRecord
}

// modelInfo holds a served model's id, rendered as JSON once.
type modelInfo struct {
	id     string
	quoted []byte // the id as a JSON string
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the engine as a handler for a server the caller runs.
// It fails, wrapping ErrInvalidOption, when an option value is invalid.
// Call Close when done, to cut off streams still running.
func NewHandler(opts ...Option) (*Handler, error) {
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	h := &Handler{
		cfg:     cfg,
		created: time.Now().Unix(),
		models:  make(map[string]*modelInfo, len(cfg.models)),
		done:    make(chan struct{}),
		idle:    make(chan struct{}),
	}
	close(h.idle)
	if cfg.capacitySet {
		h.slots = make(chan struct{}, cfg.capacity)
	}
	h.bufs.New = func() any { b := make([]byte, 0, 1024); return &b }
	type listModel struct {
		ID      string  `json:"id"`
		Object  string  `json:"object"`
		Created int64   `json:"created"`
		OwnedBy string  `json:"owned_by"`
		Root    string  `json:"root"`
		Parent  *string `json:"parent"`
		Version string  `json:"version,omitempty"`
	}
	list := struct {
		Object string      `json:"object"`
		Data   []listModel `json:"data"`
	}{Object: "list"}
	for _, id := range cfg.models {
		q, err := json.Marshal(id)
		if err != nil {
			return nil, err
		}
		m := &modelInfo{id: id, quoted: q}
		h.models[id] = m
		if h.models0 == nil {
			h.models0 = m
		}
		lm := listModel{ID: id, Object: "model", Created: h.created, OwnedBy: "enginetest", Root: id}
		if cfg.versionInModels {
			lm.Version = cfg.version
		}
		list.Data = append(list.Data, lm)
	}
	if h.listJSON, err = json.Marshal(list); err != nil {
		return nil, err
	}
	return h, nil
}

// ServeHTTP serves the engine's endpoints (see the package doc).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	arrival := time.Now()
	if !h.enter() {
		if isGeneration(r.URL.Path) {
			rec := &RequestRecord{Request: Request{Seq: int(h.seq.Add(1) - 1), Endpoint: r.URL.Path, RequestID: requestID(r)}, RemoteAddr: r.RemoteAddr, Arrival: arrival}
			rec.Status = http.StatusServiceUnavailable
			rec.Err = ErrClosed
			rec.End = time.Now()
			h.mu.Lock()
			h.records = append(h.records, *rec)
			h.mu.Unlock()
			if h.cfg.recordSink != nil {
				h.cfg.recordSink(*rec)
			}
		}
		writeError(w, http.StatusServiceUnavailable, "enginetest: the engine is shutting down", "")
		return
	}
	var rec *RequestRecord
	defer func() { h.leave(rec) }()

	switch path := r.URL.Path; path {
	case PathChatCompletions, PathCompletions:
		rec = &RequestRecord{Request: Request{Seq: int(h.seq.Add(1) - 1), Endpoint: path, RequestID: requestID(r)}, RemoteAddr: r.RemoteAddr, Arrival: arrival}
		if r.Method != http.MethodPost {
			rec.Status = http.StatusMethodNotAllowed
			methodNotAllowed(w, http.MethodPost)
			rec.End = time.Now()
			return
		}
		if !h.authorized(r) {
			rec.Status = http.StatusUnauthorized
			unauthorized(w)
			rec.End = time.Now()
			return
		}
		h.generate(w, r, rec)
	case "/v1/models":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		if !h.authorized(r) {
			unauthorized(w)
			return
		}
		writeJSON(w, http.StatusOK, h.listJSON)
	case "/version":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		b, _ := json.Marshal(struct {
			Version string `json:"version"`
		}{h.cfg.version})
		writeJSON(w, http.StatusOK, b)
	case "/health":
		if r.Method != http.MethodGet {
			methodNotAllowed(w, http.MethodGet)
			return
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	default:
		if strings.HasPrefix(path, "/v1/") && !h.authorized(r) {
			unauthorized(w)
			return
		}
		writeJSON(w, http.StatusNotFound, []byte(`{"detail":"Not Found"}`))
	}
}

// requestID returns the X-Request-Id header, cut to MaxRequestIDBytes.
func requestID(r *http.Request) string {
	id := r.Header.Get("X-Request-Id")
	return id[:min(len(id), MaxRequestIDBytes)]
}

func isGeneration(path string) bool { return path == PathChatCompletions || path == PathCompletions }

func (h *Handler) enter() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.inflight++
	if h.inflight == 1 {
		h.idle = make(chan struct{})
	}
	return true
}

// leave publishes rec (when not nil), hands a copy to the record sink, and
// marks the handler call finished.
func (h *Handler) leave(rec *RequestRecord) {
	h.mu.Lock()
	if rec != nil {
		if rec.End.IsZero() {
			rec.End = time.Now()
		}
		h.records = append(h.records, *rec)
	}
	h.mu.Unlock()
	if rec != nil && h.cfg.recordSink != nil {
		c := *rec
		c.Chunks = slices.Clone(rec.Chunks)
		h.cfg.recordSink(c)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.inflight--
	if h.inflight == 0 {
		close(h.idle)
	}
}

func (h *Handler) authorized(r *http.Request) bool {
	if !h.cfg.apiKeySet {
		return true
	}
	auth := r.Header.Get("Authorization")
	key, ok := strings.CutPrefix(auth, "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(key), []byte(h.cfg.apiKey)) == 1
}

// Requests returns a copy of the records of every finished request to a
// generation endpoint since the start or the last ResetRequests, ordered by
// Seq. Requests still in flight are not included; WaitIdle waits for them.
func (h *Handler) Requests() []RequestRecord {
	h.mu.Lock()
	out := slices.Clone(h.records)
	h.mu.Unlock()
	for i := range out {
		out[i].Chunks = slices.Clone(out[i].Chunks)
	}
	slices.SortFunc(out, func(a, b RequestRecord) int { return a.Seq - b.Seq })
	return out
}

// ResetRequests forgets the records of finished requests. Requests in
// flight are recorded when they finish.
func (h *Handler) ResetRequests() {
	h.mu.Lock()
	h.records = nil
	h.mu.Unlock()
}

// WaitIdle blocks until no handler call is running (so the records of every
// request the handler has started are in Requests), or ctx is done.
func (h *Handler) WaitIdle(ctx context.Context) error {
	h.mu.Lock()
	idle := h.idle
	h.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Close cuts off every stream still running (its record gets Err ErrClosed)
// and waits for their handler calls to return. Later requests get 503. It
// is idempotent.
func (h *Handler) Close() {
	h.shutdown()
	h.mu.Lock()
	idle := h.idle
	h.mu.Unlock()
	<-idle
}

// shutdown makes later requests fail and tells running ones to stop.
func (h *Handler) shutdown() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.closed {
		h.closed = true
		close(h.done)
	}
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, []byte(`{"detail":"Method Not Allowed"}`))
}

func unauthorized(w http.ResponseWriter) {
	writeJSON(w, http.StatusUnauthorized, []byte(`{"error":"Unauthorized"}`))
}

type apiError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    int     `json:"code"`
}

// errorBody renders an OpenAI-style error object as vLLM does:
// {"error":{"message":…,"type":…,"param":null,"code":…}}.
func errorBody(code int, message, typ string) []byte {
	if typ == "" {
		typ = errorType(code)
	}
	b, _ := json.Marshal(struct {
		Error apiError `json:"error"`
	}{apiError{Message: message, Type: typ, Code: code}})
	return b
}

// errorType names an HTTP status the way vLLM's error types do:
// 400 BadRequestError, 404 NotFoundError, 500 InternalServerError.
func errorType(code int) string {
	t := strings.ReplaceAll(http.StatusText(code), " ", "")
	t = strings.ReplaceAll(t, "-", "")
	if t == "" {
		t = "HTTP" + strconv.Itoa(code)
	}
	if !strings.HasSuffix(t, "Error") {
		t += "Error"
	}
	return t
}

func writeError(w http.ResponseWriter, code int, message, typ string) {
	writeJSON(w, code, errorBody(code, message, typ))
}
