package enginetest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
)

// Server is a running fake engine listening on 127.0.0.1. Its methods are
// safe for concurrent use.
type Server struct {
	h    *Handler
	srv  *http.Server
	url  string
	done chan struct{} // closed when Serve has returned

	conns sync.WaitGroup // one per connection until it is closed or hijacked

	closeOnce sync.Once
}

// Start starts a fake engine on 127.0.0.1 on a free port, with keep-alive on
// and a 10 s ReadHeaderTimeout. It fails, wrapping ErrInvalidOption, when an
// option value is invalid, or when it cannot listen. Call Close when done.
func Start(opts ...Option) (*Server, error) {
	h, err := NewHandler(opts...)
	if err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("enginetest: listening: %w", err)
	}
	s := &Server{
		h:    h,
		url:  "http://" + l.Addr().String(),
		done: make(chan struct{}),
	}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ConnState:         s.connState,
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l) // returns http.ErrServerClosed after Close
	}()
	return s, nil
}

// MustStart starts a fake engine for a test: it fails the test at once when
// Start fails, and registers Close as a cleanup.
func MustStart(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s, err := Start(opts...)
	if err != nil {
		tb.Fatalf("enginetest.Start: %v", err)
	}
	tb.Cleanup(s.Close)
	return s
}

// connState tracks connections, as httptest.Server does, so that Close can
// wait for their goroutines. The server calls it for StateNew from the Serve
// goroutine, so no Add can race with Close's Wait, which runs after Serve
// has returned.
func (s *Server) connState(_ net.Conn, state http.ConnState) {
	switch state {
	case http.StateNew:
		s.conns.Add(1)
	case http.StateClosed, http.StateHijacked:
		s.conns.Done()
	}
}

// URL returns the base URL, "http://127.0.0.1:<port>", without /v1.
func (s *Server) URL() string { return s.url }

// Requests returns a copy of the records of finished requests; see
// Handler.Requests. It still works after Close.
func (s *Server) Requests() []RequestRecord { return s.h.Requests() }

// ResetRequests forgets the records of finished requests; see
// Handler.ResetRequests.
func (s *Server) ResetRequests() { s.h.ResetRequests() }

// WaitIdle blocks until no request is being handled, or ctx is done; see
// Handler.WaitIdle.
func (s *Server) WaitIdle(ctx context.Context) error { return s.h.WaitIdle(ctx) }

// Close stops the listener, closes every connection, cuts off the streams
// still running (their records get Err ErrClosed) and waits until every
// goroutine the server started has returned. It is idempotent.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		// Tell the streams first, so that they record ErrClosed rather
		// than the broken connections.
		s.h.shutdown()
		// http.Server.Close reports only the listener's close error,
		// which leaves nothing running.
		_ = s.srv.Close()
		s.h.Close()
		<-s.done
		s.conns.Wait()
	})
}
