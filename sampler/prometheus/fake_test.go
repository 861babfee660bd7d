package prometheus

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// fakeProm is a fake Prometheus HTTP API on 127.0.0.1 holding fixed
// series. It answers /-/ready, /api/v1/targets, and /api/v1/query for the
// two shapes of query the sampler sends: a range selector
// {__name__=~"…",…}[Nms] (a matrix of the samples in the range, as of the
// query's time) and up{…} (a vector). What it answers depends only on
// its series and the query's time parameter, never on the wall clock.
type fakeProm struct {
	srv *httptest.Server

	mu sync.Mutex
	// closedRange makes ranges include their start, as Prometheus 2.x
	// does; by default they exclude it, as 3.x does.
	closedRange bool
	series      []fakeSeries
	notReady    int // /-/ready answers 503 this many more times
	noTargets   bool
	unknownFor  int // /api/v1/targets lists every target as not scraped yet this many more times
	targets     []activeTarget
	// queryErr, if not nil, answers every query with this error.
	queryErr *APIError
	queries  []string
}

type fakeSeries struct {
	labels  model.Metric
	samples []model.SamplePair
}

func newFakeProm(t *testing.T) *fakeProm {
	t.Helper()
	f := &fakeProm{}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// add adds a series with labels (name=value pairs, __name__ among them)
// sampled every step from first to last (inclusive) with value(t).
func (f *fakeProm) add(labels map[string]string, first, last time.Time, step time.Duration, value func(t time.Time) float64) {
	m := model.Metric{}
	for k, v := range labels {
		m[model.LabelName(k)] = model.LabelValue(v)
	}
	var ss []model.SamplePair
	for t := first; !t.After(last); t = t.Add(step) {
		ss = append(ss, model.SamplePair{Timestamp: model.TimeFromUnixNano(t.UnixNano()), Value: model.SampleValue(value(t))})
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.series = append(f.series, fakeSeries{labels: m, samples: ss})
	job, inst := labels["job"], labels["instance"]
	if job != "" && !slices.ContainsFunc(f.targets, func(a activeTarget) bool {
		return a.Labels["job"] == job && a.Labels["instance"] == inst
	}) {
		f.targets = append(f.targets, activeTarget{Labels: map[string]string{"job": job, "instance": inst}, Health: "up"})
	}
}

func (f *fakeProm) queryLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.queries)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeProm) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/-/ready":
		if f.notReady > 0 {
			f.notReady--
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("Prometheus Server is Ready.\n"))
	case "/api/v1/targets":
		if f.noTargets {
			http.NotFound(w, r)
			return
		}
		targets := slices.Clone(f.targets)
		if f.unknownFor > 0 {
			f.unknownFor--
			for i := range targets {
				targets[i].Health = "unknown"
			}
		}
		writeJSON(w, 200, map[string]any{"status": "success", "data": map[string]any{"activeTargets": targets}})
	case "/api/v1/query":
		q := r.FormValue("query")
		f.queries = append(f.queries, q)
		if f.queryErr != nil {
			writeJSON(w, f.queryErr.StatusCode, map[string]any{"status": "error", "errorType": f.queryErr.Type, "error": f.queryErr.Message})
			return
		}
		at, err := strconv.ParseFloat(r.FormValue("time"), 64)
		if err != nil {
			writeJSON(w, 400, map[string]any{"status": "error", "errorType": "bad_data", "error": "bad time"})
			return
		}
		res, err := f.eval(q, model.Time(int64(at*1000+0.5)))
		if err != nil {
			writeJSON(w, 400, map[string]any{"status": "error", "errorType": "bad_data", "error": err.Error()})
			return
		}
		writeJSON(w, 200, map[string]any{"status": "success", "data": res})
	default:
		http.NotFound(w, r)
	}
}

var rangeSuffix = regexp.MustCompile(`\[(\d+)ms\]$`)

// eval evaluates the two query shapes the sampler sends.
func (f *fakeProm) eval(q string, at model.Time) (map[string]any, error) {
	if body, ok := strings.CutPrefix(q, "up{"); ok {
		sel, err := parseSelector(strings.TrimSuffix(body, "}"))
		if err != nil {
			return nil, err
		}
		vec := model.Vector{}
		for _, s := range f.series {
			if s.labels[model.MetricNameLabel] != "up" || !matches(sel, s.labels) {
				continue
			}
			var last *model.SamplePair
			for i := range s.samples {
				if s.samples[i].Timestamp <= at && s.samples[i].Timestamp > at-5*60*1000 {
					last = &s.samples[i]
				}
			}
			if last != nil {
				vec = append(vec, &model.Sample{Metric: s.labels, Value: last.Value, Timestamp: at})
			}
		}
		return map[string]any{"resultType": "vector", "result": vec}, nil
	}
	m := rangeSuffix.FindStringSubmatch(q)
	if m == nil {
		return nil, fmt.Errorf("fake: unsupported query %q", q)
	}
	rng, _ := strconv.ParseInt(m[1], 10, 64)
	body := strings.TrimSuffix(strings.TrimPrefix(q[:len(q)-len(m[0])], "{"), "}")
	rest, ok := strings.CutPrefix(body, "__name__=~")
	if !ok {
		return nil, fmt.Errorf("fake: no __name__ matcher in %q", q)
	}
	names, n, err := unquote(rest)
	if err != nil {
		return nil, err
	}
	rest = strings.TrimPrefix(rest[n:], ",")
	sel, err := parseSelector(rest)
	if err != nil {
		return nil, err
	}
	sel = append(sel, matcher{"__name__", "=~", names})
	mat := model.Matrix{}
	for _, s := range f.series {
		if !matches(sel, s.labels) {
			continue
		}
		ss := &model.SampleStream{Metric: s.labels}
		for _, p := range s.samples {
			inStart := p.Timestamp > at-model.Time(rng) || (f.closedRange && p.Timestamp == at-model.Time(rng))
			if inStart && p.Timestamp <= at {
				ss.Values = append(ss.Values, p)
			}
		}
		if len(ss.Values) > 0 {
			mat = append(mat, ss)
		}
	}
	return map[string]any{"resultType": "matrix", "result": mat}, nil
}

func matches(sel selector, m model.Metric) bool {
	for _, mt := range sel {
		v := string(m[model.LabelName(mt.name)])
		var ok bool
		switch mt.op {
		case "=":
			ok = v == mt.value
		case "!=":
			ok = v != mt.value
		case "=~", "!~":
			ok = regexp.MustCompile("^(?:" + mt.value + ")$").MatchString(v)
			if mt.op == "!~" {
				ok = !ok
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// clock is a fake clock that advances by step every time it is read.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.t
	c.t = c.t.Add(c.step)
	return t
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// epoch is the fake data's time origin.
var epoch = time.Unix(1_750_000_000, 0)

// dcgmLabels returns the labels of a dcgm-exporter series of GPU idx.
func dcgmLabels(metric string, idx int, extra ...string) map[string]string {
	l := map[string]string{
		"__name__": metric, "job": "dcgm", "instance": "10.0.0.7:9400",
		"gpu": strconv.Itoa(idx), "UUID": fmt.Sprintf("GPU-%d", idx), "modelName": "NVIDIA H100 80GB HBM3",
		"Hostname": "gpu-node-1",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

// addGPU adds a GPU's power, utilization and energy counter (watts
// constant), scraped every second from first to last; the counter starts
// at 1 MJ at epoch.
func (f *fakeProm) addGPU(idx int, watts float64, first, last time.Time, extra ...string) {
	f.add(dcgmLabels("DCGM_FI_DEV_POWER_USAGE", idx, extra...), first, last, time.Second, func(time.Time) float64 { return watts })
	f.add(dcgmLabels("DCGM_FI_DEV_GPU_UTIL", idx, extra...), first, last, time.Second, func(time.Time) float64 { return 97 })
	f.add(dcgmLabels("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", idx, extra...), first, last, time.Second, func(t time.Time) float64 {
		return 1e9 + watts*1000*t.Sub(epoch).Seconds()
	})
}

// addRAPL adds a node_exporter's package and dram counters.
func (f *fakeProm) addRAPL(node string, pkgW, dramW float64, first, last time.Time) {
	base := map[string]string{"job": "node", "instance": node + ":9100", "index": "0"}
	with := func(k, v string) map[string]string {
		l := map[string]string{k: v}
		for a, b := range base {
			l[a] = b
		}
		return l
	}
	f.add(with("__name__", "node_rapl_package_joules_total"), first, last, time.Second, func(t time.Time) float64 { return pkgW * t.Sub(epoch).Seconds() })
	f.add(with("__name__", "node_rapl_dram_joules_total"), first, last, time.Second, func(t time.Time) float64 { return dramW * t.Sub(epoch).Seconds() })
}
