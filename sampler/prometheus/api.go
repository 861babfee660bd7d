package prometheus

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// APIError is a request the Prometheus server answered with an error: an
// HTTP status other than 200, or a JSON body with "status": "error".
type APIError struct {
	// Endpoint is the API path asked ("/api/v1/query").
	Endpoint string
	// StatusCode is the HTTP status code.
	StatusCode int
	// Type is Prometheus's errorType ("bad_data", "execution",
	// "timeout", "unavailable"); "" when the body was not Prometheus's
	// JSON (a proxy's error page).
	Type string
	// Message is Prometheus's error text, or the HTTP status.
	Message string
}

func (e *APIError) Error() string {
	if e.Type != "" {
		return fmt.Sprintf("prometheus: %s: HTTP %d: %s: %s", e.Endpoint, e.StatusCode, e.Type, e.Message)
	}
	return fmt.Sprintf("prometheus: %s: %s", e.Endpoint, e.Message)
}

// client speaks the Prometheus HTTP API.
type client struct {
	base    *url.URL
	http    *http.Client
	timeout time.Duration
}

// ready asks /-/ready. ok is true when Prometheus answers 200, or 404 (an
// API-compatible server that is not Prometheus has no such endpoint);
// otherwise status is the HTTP status it answered.
func (c *client) ready(ctx context.Context) (ok bool, status string, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint("/-/ready"), nil)
	if err != nil {
		return false, "", err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false, "", err
	}
	defer resp.Body.Close()
	_, _ = io.CopyN(io.Discard, resp.Body, 4<<10)
	switch resp.StatusCode {
	case http.StatusOK, http.StatusNotFound:
		return true, resp.Status, nil
	default:
		return false, resp.Status, nil
	}
}

// endpoint returns the URL of path (which may carry a query string) under
// the base URL.
func (c *client) endpoint(path string) string {
	u := *c.base
	path, u.RawQuery, _ = strings.Cut(path, "?")
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawPath = ""
	return u.String()
}

// envelope is the JSON every API answer is wrapped in.
type envelope struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

// call sends a request to an API endpoint and returns the data of a
// successful answer. form, if not nil, is POSTed.
func (c *client) call(ctx context.Context, path string, form url.Values) (json.RawMessage, []string, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var req *http.Request
	var err error
	if form != nil {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint(path), strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.endpoint(path), nil)
	}
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "benchprof-prometheus-sampler")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("prometheus: %s: reading the response: %w", path, err)
	}
	if n > MaxResponseBytes {
		return nil, nil, fmt.Errorf("prometheus: %s: response larger than %d bytes (select fewer series, or a shorter window)", path, MaxResponseBytes)
	}
	var env envelope
	jsonBody := false
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil && mt == "application/json" {
		jsonBody = json.Unmarshal(buf.Bytes(), &env) == nil
	}
	switch {
	case !jsonBody:
		return nil, nil, &APIError{Endpoint: path, StatusCode: resp.StatusCode, Message: "HTTP status " + resp.Status + " without Prometheus's JSON answer"}
	case resp.StatusCode != http.StatusOK || env.Status != "success":
		return nil, nil, &APIError{Endpoint: path, StatusCode: resp.StatusCode, Type: cmp.Or(env.ErrorType, "error"), Message: cmp.Or(env.Error, resp.Status)}
	}
	return env.Data, env.Warnings, nil
}

// rawSeries is one series of a range-selector query: its labels (the
// metric name under __name__) and its finite samples, in time order.
type rawSeries struct {
	metric  model.Metric
	key     string // metric.String(): identifies the series
	samples []model.SamplePair
}

// querySamples evaluates a range selector (a matrix) at time at and
// returns its series, each with its finite samples in time order. At
// most MaxSeries series are accepted.
func (c *client) querySamples(ctx context.Context, expr string, at time.Time) ([]rawSeries, []string, error) {
	data, warnings, err := c.call(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {formatTime(at)}})
	if err != nil {
		return nil, nil, err
	}
	var res struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, nil, fmt.Errorf("prometheus: malformed query answer: %w", err)
	}
	if res.ResultType != "matrix" {
		return nil, nil, fmt.Errorf("prometheus: query %s answered a %q, not a matrix", expr, res.ResultType)
	}
	var m model.Matrix
	if err := json.Unmarshal(res.Result, &m); err != nil {
		return nil, nil, fmt.Errorf("prometheus: malformed matrix: %w", err)
	}
	if len(m) > MaxSeries {
		return nil, nil, fmt.Errorf("prometheus: query %s matched %d series, more than %d: select the engine's series only", expr, len(m), MaxSeries)
	}
	out := make([]rawSeries, 0, len(m))
	for _, ss := range m {
		rs := rawSeries{metric: ss.Metric, key: ss.Metric.String()}
		last := model.Time(math.MinInt64)
		for _, p := range ss.Values {
			v := float64(p.Value)
			if math.IsNaN(v) || math.IsInf(v, 0) || p.Timestamp <= last {
				continue // a peer's claim: skip what is not a usable sample
			}
			last = p.Timestamp
			rs.samples = append(rs.samples, p)
		}
		if len(rs.samples) > 0 {
			out = append(out, rs)
		}
	}
	return out, warnings, nil
}

// queryVector evaluates an instant-vector expression at time at and
// returns its samples.
func (c *client) queryVector(ctx context.Context, expr string, at time.Time) (model.Vector, error) {
	data, _, err := c.call(ctx, "/api/v1/query", url.Values{"query": {expr}, "time": {formatTime(at)}})
	if err != nil {
		return nil, err
	}
	var res struct {
		ResultType string       `json:"resultType"`
		Result     model.Vector `json:"result"`
	}
	if err := json.Unmarshal(data, &res); err != nil || res.ResultType != "vector" {
		return nil, fmt.Errorf("prometheus: query %s: not a vector answer (%v)", expr, err)
	}
	return res.Result, nil
}

// activeTarget is one active scrape target, as /api/v1/targets lists it.
type activeTarget struct {
	Labels    map[string]string `json:"labels"`
	Health    string            `json:"health"` // "up", "down", "unknown" (not scraped yet)
	LastError string            `json:"lastError"`
}

// targets lists the active scrape targets.
func (c *client) targets(ctx context.Context) ([]activeTarget, error) {
	data, _, err := c.call(ctx, "/api/v1/targets?state=active", nil)
	if err != nil {
		return nil, err
	}
	var res struct {
		ActiveTargets []activeTarget `json:"activeTargets"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("prometheus: malformed targets answer: %w", err)
	}
	return res.ActiveTargets, nil
}

// formatTime renders t as the API's Unix seconds, to the millisecond.
func formatTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}
