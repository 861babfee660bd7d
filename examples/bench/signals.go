package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// stopSignals are the signals that stop a run gracefully: Ctrl-C, and
// SIGTERM from a supervisor, CI runner or `timeout`.
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// signalCause is the cancellation cause of a run stopped by a signal.
type signalCause struct{ sig os.Signal }

func (s signalCause) Error() string { return "received " + s.sig.String() }

// exitCode is the conventional status of a process stopped by the signal:
// 128 + its number (130 for SIGINT, 143 for SIGTERM).
func (s signalCause) exitCode() int {
	if n, ok := s.sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return exitInterrupted
}

// notifyContext returns a context cancelled, with a signalCause, by the
// first SIGINT or SIGTERM: the run then stops, keeps what it has written and
// signs nothing. A second signal exits at once with 128 + its number,
// whatever is still running. stop releases the signals.
func notifyContext(parent context.Context, stderr io.Writer, exit func(int)) (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, stopSignals...)
	done := make(chan struct{})
	go func() {
		first := true
		for {
			select {
			case <-done:
				return
			case sig := <-ch:
				cause := signalCause{sig}
				if !first {
					fmt.Fprintf(stderr, "\nbench: %v again: stopping now; no envelope was signed\n", cause)
					exit(cause.exitCode())
					return
				}
				first = false
				fmt.Fprintf(stderr, "\nbench: %v: stopping; files written so far are kept and nothing is signed (send it again to stop at once)\n", cause)
				cancel(cause)
			}
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel(nil)
	}
}
