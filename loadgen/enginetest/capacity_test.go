package enginetest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// TestCapacity: with WithCapacity(n), n requests sent at once start at
// once, and the rest wait for a slot, so their first token comes a whole
// response later; every schedule starts at admission.
func TestCapacity(t *testing.T) {
	const n, extra = 3, 2
	ttft, itl, tokens := 10*time.Millisecond, 10*time.Millisecond, 10 // a response takes about 100 ms
	srv := enginetest.MustStart(t, enginetest.WithCapacity(n), enginetest.WithTTFT(ttft), enginetest.WithITL(itl),
		enginetest.WithOutputTokens(tokens))
	c := newClient(t)
	body := reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": tokens, "stream": true})
	var wg sync.WaitGroup
	for range n + extra {
		wg.Go(func() {
			if r := post(context.Background(), t, c, srv.URL()+enginetest.PathChatCompletions, body); r.status != 200 || r.readErr != nil {
				t.Errorf("status %d, %v %v", r.status, r.doErr, r.readErr)
			}
		})
	}
	wg.Wait()
	recs := srv.Requests()
	if len(recs) != n+extra {
		t.Fatalf("%d records; want %d", len(recs), n+extra)
	}
	waited := 0
	for _, r := range recs {
		wait := r.Admitted.Sub(r.Arrival)
		if wait > 50*time.Millisecond {
			waited++
		}
		if got := r.FirstToken.Sub(r.Admitted); got < ttft {
			t.Errorf("request %d: first token %v after admission; want at least the TTFT %v", r.Seq, got, ttft)
		}
	}
	if waited != extra {
		t.Errorf("%d requests waited for a slot; want %d", waited, extra)
	}
	// No more than n were ever generated at once: when one was admitted,
	// at most n−1 others admitted before it had not flushed their last
	// chunk (a slot is freed after that; End is stamped later still).
	for _, a := range recs {
		inside := 0
		for _, b := range recs {
			if len(b.Chunks) == 0 {
				t.Fatalf("request %d flushed no chunk", b.Seq)
			}
			if !b.Admitted.After(a.Admitted) && b.Chunks[len(b.Chunks)-1].Flushed.After(a.Admitted) {
				inside++
			}
		}
		if inside > n {
			t.Errorf("%d requests were being generated when request %d was admitted; capacity %d", inside, a.Seq, n)
		}
	}
}

// TestCapacityClientGone: a request whose client gives up while it waits
// for a slot is recorded with the reason and never admitted.
func TestCapacityClientGone(t *testing.T) {
	srv := enginetest.MustStart(t, enginetest.WithCapacity(1), enginetest.WithTTFT(300*time.Millisecond), enginetest.WithOutputTokens(1))
	c := newClient(t)
	body := reqBody(t, map[string]any{"messages": chat("hi"), "max_tokens": 1, "stream": true})
	done := make(chan struct{})
	go func() {
		defer close(done)
		post(context.Background(), t, c, srv.URL()+enginetest.PathChatCompletions, body)
	}()
	time.Sleep(50 * time.Millisecond) // the first holds the slot
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r := post(ctx, t, c, srv.URL()+enginetest.PathChatCompletions, body); r.doErr == nil {
		t.Errorf("the waiting request answered %d before its client gave up", r.status)
	}
	<-done
	if err := srv.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	recs := srv.Requests()
	if len(recs) != 2 || !recs[1].Admitted.IsZero() || !errors.Is(recs[1].Err, context.Canceled) {
		t.Fatalf("records %+v; want the second never admitted, its client gone", recs)
	}
}

func TestCapacityInvalid(t *testing.T) {
	for _, n := range []int{0, -1, enginetest.MaxCapacity + 1} {
		if _, err := enginetest.NewHandler(enginetest.WithCapacity(n)); !errors.Is(err, enginetest.ErrInvalidOption) {
			t.Errorf("WithCapacity(%d): %v; want ErrInvalidOption", n, err)
		}
	}
}
