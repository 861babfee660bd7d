package remote

import (
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// acceptHeader asks for the classic Prometheus text format only, which
// every exporter serves.
const acceptHeader = "text/plain;version=0.0.4;q=1"

// TargetError is a failed scrape of one target. Err is the cause: the HTTP
// client's error (a *url.Error, which wraps context.DeadlineExceeded on a
// timeout), a *StatusError, an expfmt.ParseError for malformed exposition,
// or an error wrapping ErrNoDevices.
type TargetError struct {
	Target string // the URL as given to Open
	Err    error
}

func (e *TargetError) Error() string { return "remote: target " + e.Target + ": " + e.Err.Error() }

// Unwrap returns e.Err.
func (e *TargetError) Unwrap() error { return e.Err }

// StatusError is a scrape answered with an HTTP status other than 200.
type StatusError struct {
	Code   int
	Status string // as in http.Response.Status, "404 Not Found"
}

func (e *StatusError) Error() string { return "HTTP status " + e.Status }

// scrapeResult is one target's outcome.
type scrapeResult struct {
	exp exposition
	err error // a *TargetError
	dur time.Duration
}

// scrapeAll scrapes every target with at most s.workers at a time and
// returns their results in target order. It starts its goroutines and
// waits for all of them before it returns.
func (s *Sampler) scrapeAll(ctx context.Context) []scrapeResult {
	results := make([]scrapeResult, len(s.targets))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range s.workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(s.targets) || ctx.Err() != nil {
					return
				}
				t := s.targets[i]
				start := time.Now()
				exp, err := s.scrape(ctx, t)
				results[i].dur = time.Since(start)
				if err != nil {
					results[i].err = &TargetError{Target: t.url, Err: err}
					continue
				}
				results[i].exp = exp
			}
		})
	}
	wg.Wait()
	return results
}

// scrape fetches and parses t's exposition within the scrape timeout. Only
// the goroutine scraping t uses t.buf.
func (s *Sampler) scrape(ctx context.Context, t *target) (exposition, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return exposition{}, err
	}
	req.Header.Set("Accept", acceptHeader)
	req.Header.Set("User-Agent", "benchprof-remote-sampler")
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", strconv.FormatFloat(s.timeout.Seconds(), 'f', -1, 64))
	resp, err := s.client.Do(req)
	if err != nil {
		return exposition{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// Drain a little so that the connection can be reused.
		_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
		return exposition{}, &StatusError{Code: resp.StatusCode, Status: resp.Status}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "text/plain" {
			return exposition{}, fmt.Errorf("unsupported Content-Type %q: want the Prometheus text format (text/plain)", ct)
		}
	}
	t.buf.Reset()
	n, err := t.buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return exposition{}, fmt.Errorf("reading the response: %w", err)
	}
	if n > MaxResponseBytes {
		return exposition{}, fmt.Errorf("response larger than %d bytes", MaxResponseBytes)
	}
	return parseExposition(&t.buf)
}
