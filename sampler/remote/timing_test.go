package remote

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benchprof/benchprof/sampler"
)

// fakeTransport answers in memory, so that the tests below run on
// synctest's fake clock: each host serves a fixture after a delay, or
// hangs until the request is cancelled.
type fakeTransport struct {
	bodies map[string][]byte // by URL host
	delay  time.Duration

	mu                  sync.Mutex
	hang                map[string]bool
	inflight, peak, req int
}

func (f *fakeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	f.mu.Lock()
	f.inflight++
	f.req++
	f.peak = max(f.peak, f.inflight)
	hang := f.hang[req.URL.Host]
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		f.inflight--
		f.mu.Unlock()
	}()
	ctx := req.Context()
	wait := f.delay
	if hang {
		wait = time.Hour
	}
	select {
	case <-time.After(wait):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return &http.Response{
		StatusCode: http.StatusOK,
		Status:     "200 OK",
		Header:     http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8"}},
		Body:       io.NopCloser(bytes.NewReader(f.bodies[req.URL.Host])),
		Request:    req,
	}, nil
}

func (f *fakeTransport) setHang(host string, hang bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hang == nil {
		f.hang = map[string]bool{}
	}
	f.hang[host] = hang
}

// TestScrapeTimeout: a target that stops answering fails its tick after
// the scrape timeout, and the other targets' devices are still read.
func TestScrapeTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ft := &fakeTransport{bodies: map[string][]byte{
			"gpu-a:9400": readFixture(t, "dcgm-h100x4.prom"),
			"cpu-b:9100": readFixture(t, "node-rapl.prom"),
		}, delay: 10 * time.Millisecond}
		s, err := Open(t.Context(), []string{"http://gpu-a:9400/metrics", "http://cpu-b:9100/metrics"},
			WithHTTPClient(&http.Client{Transport: ft}), WithScrapeTimeout(500*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()

		ft.setHang("gpu-a:9400", true)
		start := time.Now()
		got, err := s.Sample(t.Context(), nil)
		if err != nil {
			t.Fatalf("Sample: %v", err)
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Errorf("Sample took %v, want the scrape timeout (500ms)", d)
		}
		if len(got) != 4 || got[0].Device != "cpu-b:9100/package-0" {
			t.Errorf("readings = %v, want cpu-b's four RAPL devices", got)
		}
		ts := s.Stats().Targets[0]
		if ts.Failures != 1 || !errors.Is(ts.LastErr, context.DeadlineExceeded) {
			t.Errorf("gpu-a stats = %+v, want one failure wrapping context.DeadlineExceeded", ts)
		}

		// Open fails on a target that never answers.
		_, err = Open(t.Context(), []string{"http://gpu-a:9400/metrics"},
			WithHTTPClient(&http.Client{Transport: ft}), WithScrapeTimeout(time.Second))
		if !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Open on a hanging target = %v, want ErrUnavailable and DeadlineExceeded", err)
		}
	})
}

// TestConcurrencyBound: 5 targets that each take 1 s, at most 2 at a time,
// take 3 s; unbounded they would take 1 s.
func TestConcurrencyBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		body := readFixture(t, "node-rapl.prom")
		ft := &fakeTransport{bodies: map[string][]byte{}, delay: time.Second}
		var targets []string
		for _, h := range []string{"n1:9100", "n2:9100", "n3:9100", "n4:9100", "n5:9100"} {
			ft.bodies[h] = body
			targets = append(targets, "http://"+h+"/metrics")
		}
		s, err := Open(t.Context(), targets, WithHTTPClient(&http.Client{Transport: ft}),
			WithMaxConcurrentScrapes(2), WithScrapeTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		start := time.Now()
		got, err := s.Sample(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d != 3*time.Second {
			t.Errorf("Sample took %v, want 3s", d)
		}
		if len(got) != 5*4 {
			t.Errorf("got %d readings, want 20", len(got))
		}
		if ft.peak != 2 {
			t.Errorf("peak concurrent scrapes = %d, want 2", ft.peak)
		}
	})
}

// TestSampleHonoursCtx: Sample returns when ctx is done, well before the
// scrape timeout, and counts nothing.
func TestSampleHonoursCtx(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ft := &fakeTransport{bodies: map[string][]byte{"gpu-a:9400": readFixture(t, "dcgm-h100x4.prom")}}
		s, err := Open(t.Context(), []string{"http://gpu-a:9400/metrics"}, WithHTTPClient(&http.Client{Transport: ft}))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ft.setHang("gpu-a:9400", true)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err = s.Sample(ctx, nil)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Sample = %v, want ctx's DeadlineExceeded", err)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Errorf("Sample took %v, want 100ms", d)
		}
		if ts := s.Stats().Targets[0]; ts.Scrapes != 1 || ts.Failures != 0 {
			t.Errorf("stats = %+v, want Open's scrape only", ts)
		}
	})
}

// TestCloseWaitsForSample: Close called while a Sample runs returns only
// once that Sample has.
func TestCloseWaitsForSample(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ft := &fakeTransport{bodies: map[string][]byte{"gpu-a:9400": readFixture(t, "dcgm-h100x4.prom")}, delay: time.Second}
		s, err := Open(t.Context(), []string{"http://gpu-a:9400/metrics"}, WithHTTPClient(&http.Client{Transport: ft}))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			if _, err := s.Sample(context.Background(), nil); err != nil {
				t.Errorf("Sample: %v", err)
			}
		}()
		synctest.Wait() // Sample is now waiting on the transport
		s.Close()
		if d := time.Since(start); d != time.Second {
			t.Errorf("Close returned after %v, want 1s, when the Sample in progress ended", d)
		}
		<-done
	})
}
