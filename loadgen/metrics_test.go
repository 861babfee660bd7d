package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func msD(n float64) time.Duration { return time.Duration(n * float64(time.Millisecond)) }

// llmStandard is the reference's llm.standard template scaled by mult for
// class, as catalog.ResolveSLO gives it (base·mult as plain float64
// products); it is spelt out here because package catalog imports this one.
func llmStandard(class string, mult float64) SLO {
	return SLO{Template: "llm.standard", HardwareClass: class, Predicates: []Predicate{
		{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 200 * mult},
		{Name: "tpot", Field: "tpot_ms", Op: "<", Value: 50 * mult},
		{Name: "total", Field: "total_ms", Op: "<", Value: 3000 * mult},
	}}
}

// closedLoopRun is a closed-loop run (Scheduled == Sent) with three warmup
// requests and six measured ones; the expected values below were computed
// by hand and the percentiles with numpy.percentile.
//
//	idx  outcome      sent   ttft  total  tokens  ttft<200 tpot<50 total<3000
//	3    ok           1000   100    600    11      yes      no (50)  yes
//	4    ok           1200   150   1150    41      yes      yes (25) yes    -> passes
//	5    ok           1500   250   2000   101      no       yes      yes
//	6    http_status  2000     -     10     -
//	7    ok           2500    50   3000     1      yes      no       no (strict)
//	8    cut_off      3000     -   3000     -
//
// The window runs from the first post-warmup Sent (1000 ms) to the last End
// (6000 ms): 5 s.
func closedLoopRun() []Result {
	ok := func(i int, sent, ttft, total float64, tokens int, src TokenSource) Result {
		return Result{
			Index: i, Worker: i % 2, Outcome: OutcomeOK,
			Scheduled: msD(sent), Sent: msD(sent), FirstByte: msD(sent + ttft/2),
			FirstToken: msD(sent + ttft), End: msD(sent + total),
			PromptTokens: 7, OutputTokens: tokens, TokenSource: src,
		}
	}
	rs := []Result{
		// Warmup: huge latencies, an early Sent and a late End that must not
		// leak into any metric or the window.
		{Index: 0, Warmup: true, Outcome: OutcomeOK, Sent: 0, FirstToken: msD(9000), End: msD(90000), OutputTokens: 1000, TokenSource: TokenSourceChunks},
		{Index: 1, Warmup: true, Outcome: OutcomeTimeout, Sent: 0, End: msD(120000)},
		{Index: 2, Warmup: true, Outcome: OutcomeOK, Sent: msD(10), FirstToken: msD(5000), End: msD(6000), OutputTokens: 3},
		ok(3, 1000, 100, 600, 11, TokenSourceUsage),
		ok(4, 1200, 150, 1150, 41, TokenSourceUsage),
		ok(5, 1500, 250, 2000, 101, TokenSourceChunks),
		{Index: 6, Outcome: OutcomeHTTPStatus, StatusCode: 503, Error: "HTTP 503: busy", Scheduled: msD(2000), Sent: msD(2000), End: msD(2010), PromptTokens: 7},
		ok(7, 2500, 50, 3000, 1, TokenSourceUsage),
		{Index: 8, Outcome: OutcomeCutOff, Error: "context deadline exceeded", Scheduled: msD(3000), Sent: msD(3000), FirstToken: msD(3100), End: msD(6000),
			Chunks: []Chunk{{At: msD(3100), Tokens: 1}, {At: msD(3900), Tokens: 1}}, OutputTokens: 2, TokenSource: TokenSourceChunks},
	}
	// ITLs: request 3 has a 30 ms gap carrying 3 tokens (3 × 10 ms);
	// request 4 a 50 ms gap and a 100 ms gap carrying 2 tokens (3 × 50 ms).
	rs[3].Chunks = []Chunk{{At: msD(1100), Tokens: 1}, {At: msD(1130), Tokens: 3}}
	rs[4].Chunks = []Chunk{{At: msD(1350), Tokens: 1}, {At: msD(1400), Tokens: 1}, {At: msD(1500), Tokens: 2}}
	return rs
}

func TestSummarizeClosedLoop(t *testing.T) {
	slo := llmStandard("h100", 1.0)
	got := Summarize(closedLoopRun(), slo)

	want := Summary{
		SLO:           slo,
		LatencyOrigin: FromSent,
		WindowStart:   msD(1000), WindowEnd: msD(6000), Window: 5 * time.Second,
		Requests: 6, OK: 4, Passing: 1,
		Outcomes:     map[Outcome]int{OutcomeOK: 4, OutcomeHTTPStatus: 1, OutcomeCutOff: 1},
		FirstErrors:  map[Outcome]string{OutcomeHTTPStatus: "HTTP 503: busy", OutcomeCutOff: "context deadline exceeded"},
		OutputTokens: 11 + 41 + 101 + 1, PromptTokens: 4 * 7,
		TokenSource: "mixed",
		TTFT: Quantiles{N: 4, Min: 50, Max: 250,
			P50: 125.0, P75: 175.0, P90: 220.00000000000003, P95: 234.99999999999997, P99: 246.99999999999997, P999: 249.70000000000005},
		TPOT: Quantiles{N: 4, Min: 17.5, Max: 2950,
			P50: 37.5, P75: 775.0, P90: 2080.0000000000005, P95: 2514.999999999999, P99: 2862.999999999999, P999: 2941.300000000001},
		Total: Quantiles{N: 4, Min: 600, Max: 3000,
			P50: 1575.0, P75: 2250.0, P90: 2700.0, P95: 2849.9999999999995, P99: 2969.9999999999995, P999: 2997.0000000000005},
		ITL:   Quantiles{N: 6, Min: 10, Max: 50, P50: 30, P75: 50, P90: 50, P95: 50, P99: 50, P999: 50},
		Queue: Quantiles{N: 6},

		ReqPerSecPassing:    0.2,
		ReqPerSecAll:        1.2,
		ComplianceRate:      1.0 / 6,
		OKRate:              4.0 / 6,
		ThroughputTokPerSec: 30.8,
		GoodputAtSLO:        0.2,
		PredicatePassRates: []PredicatePassRate{
			{Predicate: slo.Predicates[0], Passing: 3, Rate: 0.75},
			{Predicate: slo.Predicates[1], Passing: 2, Rate: 0.5},
			{Predicate: slo.Predicates[2], Passing: 3, Rate: 0.75},
		},
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Summary{}, "Warnings")); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
	wantWarnings := []string{"p99 latencies come from 4 ok requests", "1 requests were cut off"}
	if len(got.Warnings) != len(wantWarnings) {
		t.Fatalf("warnings %q, want %d", got.Warnings, len(wantWarnings))
	}
	for i, w := range wantWarnings {
		if !strings.Contains(got.Warnings[i], w) {
			t.Errorf("warning %d = %q, want it to contain %q", i, got.Warnings[i], w)
		}
	}

	wantMetrics := []Metric{
		{"ttft_p50_ms", 125.0},
		{"ttft_p99_ms", 246.99999999999997},
		{"tpot_p50_ms", 37.5},
		{"tpot_p99_ms", 2862.999999999999},
		{"total_p50_ms", 1575.0},
		{"total_p99_ms", 2969.9999999999995},
		{"req_per_s_passing", 0.2},
		{"req_per_s_all", 1.2},
		{"compliance_rate", 0.16666666666666666},
		{"ok_rate", 0.6666666666666666},
		{"throughput_tok_per_s", 30.8},
		{"slo_hardware_class", "h100"},
		{"slo_template_resolved", "ttft<200ms, tpot<50ms, total<3000ms"},
		{"itl_p50_ms", 30.0},
		{"itl_p99_ms", 50.0},
		{"queue_p99_ms", 0.0},
		{"goodput_at_slo", 0.2},
		{"measure_window_s", 5.0},
		{"latency_origin", "sent"},
		{"n_requests", 6},
		{"n_passing", 1},
		{"n_ok", 4},
		{"n_http_status", 1},
		{"n_transport_error", 0},
		{"n_stream_error", 0},
		{"n_timeout", 0},
		{"n_cut_off", 1},
		{"n_cancelled", 0},
		{"output_tokens_total", 154},
		{"prompt_tokens_total", 28},
		{"token_source", "mixed"},
	}
	if diff := cmp.Diff(wantMetrics, got.Metrics()); diff != "" {
		t.Errorf("Metrics() (-want +got):\n%s", diff)
	}
}

func TestSummarizeIgnoresOrderAndDoesNotModify(t *testing.T) {
	rs := closedLoopRun()
	slo := llmStandard("rtx-4080", 2.2)
	want := Summarize(rs, slo)

	reversed := slices.Clone(rs)
	slices.Reverse(reversed)
	if diff := cmp.Diff(want, Summarize(reversed, slo)); diff != "" {
		t.Errorf("Summarize of the reversed results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(closedLoopRun(), rs); diff != "" {
		t.Errorf("Summarize modified its input (-want +got):\n%s", diff)
	}
}

// openLoopRun has one warmup request and two measured ones; request 2 was
// due at 200 ms but only sent at 300 ms (it queued 100 ms).
func openLoopRun() []Result {
	return []Result{
		{Index: 0, Warmup: true, Worker: -1, Outcome: OutcomeOK, Scheduled: 0, Sent: msD(50), FirstToken: msD(70), End: msD(900), OutputTokens: 9},
		{Index: 1, Worker: -1, Outcome: OutcomeOK, Scheduled: msD(100), Sent: msD(100), FirstToken: msD(180), End: msD(400), OutputTokens: 5, TokenSource: TokenSourceUsage},
		{Index: 2, Worker: -1, Outcome: OutcomeOK, Scheduled: msD(200), Sent: msD(300), FirstToken: msD(350), End: msD(500), OutputTokens: 3, TokenSource: TokenSourceUsage},
	}
}

func TestSummarizeLatencyOrigin(t *testing.T) {
	// ttft from Sent: 80, 50 (both pass ttft<100); from Scheduled: 80, 150.
	slo := SLO{Template: "custom", HardwareClass: "h100", Predicates: []Predicate{{Name: "ttft", Field: "ttft_ms", Op: "<", Value: 100}}}
	queue := Quantiles{N: 2, Min: 0, Max: 100, P50: 50, P75: 75, P90: 90, P95: 95, P99: 99, P999: 99.9}
	ttftSent := Quantiles{N: 2, Min: 50, Max: 80, P50: 65, P75: 72.5, P90: 77, P95: 78.5, P99: 79.7, P999: 79.97}
	ttftSched := Quantiles{N: 2, Min: 80, Max: 150, P50: 115, P75: 132.5, P90: 143, P95: 146.5, P99: 149.3, P999: 149.93}
	tpot := Quantiles{N: 2, Min: 55, Max: 75, P50: 65, P75: 70, P90: 73, P95: 74, P99: 74.8, P999: 74.98}

	for _, tc := range []struct {
		name       string
		opts       []SummaryOption
		origin     LatencyOrigin
		ttft       Quantiles
		total      Quantiles
		passing    int
		originName string
	}{
		{"from sent (default)", nil, FromSent, ttftSent,
			Quantiles{N: 2, Min: 200, Max: 300, P50: 250, P75: 275, P90: 290, P95: 295, P99: 299, P999: 299.90000000000003}, 2, "sent"},
		{"from scheduled", []SummaryOption{LatencyFromScheduled(), LatencyFromScheduled()}, FromScheduled, ttftSched,
			Quantiles{N: 2, Min: 300, Max: 300, P50: 300, P75: 300, P90: 300, P95: 300, P99: 300, P999: 300}, 1, "scheduled"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(openLoopRun(), slo, tc.opts...)
			want := Summary{
				SLO: slo, LatencyOrigin: tc.origin,
				WindowStart: msD(100), WindowEnd: msD(500), Window: 400 * time.Millisecond,
				Requests: 2, OK: 2, Passing: tc.passing,
				Outcomes:     map[Outcome]int{OutcomeOK: 2},
				FirstErrors:  map[Outcome]string{},
				OutputTokens: 8, TokenSource: "usage",
				TTFT: tc.ttft, TPOT: tpot, Total: tc.total,
				TTFTFromScheduled: ttftSched,
				Queue:             queue,
				ReqPerSecPassing:  float64(tc.passing) / 0.4, ReqPerSecAll: 5,
				ComplianceRate: float64(tc.passing) / 2, OKRate: 1,
				ThroughputTokPerSec: 20, GoodputAtSLO: float64(tc.passing) / 0.4,
				PredicatePassRates: []PredicatePassRate{{Predicate: slo.Predicates[0], Passing: tc.passing, Rate: float64(tc.passing) / 2}},
			}
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Summary{}, "Warnings")); diff != "" {
				t.Errorf("Summarize (-want +got):\n%s", diff)
			}
			m := metricMap(got.Metrics())
			if m["ttft_p99_from_scheduled_ms"] != 149.3 {
				t.Errorf("ttft_p99_from_scheduled_ms = %v, want 149.3", m["ttft_p99_from_scheduled_ms"])
			}
			if m["latency_origin"] != tc.originName || m["queue_p99_ms"] != 99.0 {
				t.Errorf("latency_origin = %v, queue_p99_ms = %v", m["latency_origin"], m["queue_p99_ms"])
			}
			if _, ok := m["itl_p50_ms"]; ok {
				t.Error("itl_p50_ms emitted without chunks")
			}
		})
	}
}

func metricMap(ms []Metric) map[string]any {
	out := make(map[string]any, len(ms))
	for _, m := range ms {
		out[m.Key] = m.Value
	}
	return out
}

func keys(ms []Metric) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Key
	}
	return out
}

// ourCountKeys are the keys every summary ends with.
var ourCountKeys = []string{"goodput_at_slo", "measure_window_s", "latency_origin", "n_requests", "n_passing",
	"n_ok", "n_http_status", "n_transport_error", "n_stream_error", "n_timeout", "n_cut_off", "n_cancelled",
	"output_tokens_total", "prompt_tokens_total"}

func TestSummarizeAllFailed(t *testing.T) {
	rs := []Result{
		{Index: 0, Warmup: true, Outcome: OutcomeOK, Sent: 0, FirstToken: msD(10), End: msD(20), OutputTokens: 5},
		{Index: 1, Outcome: OutcomeTransport, Scheduled: msD(100), Sent: msD(100), End: msD(101)},
		{Index: 2, Outcome: OutcomeHTTPStatus, StatusCode: 404, Scheduled: msD(200), Sent: msD(200), End: msD(300)},
		{Index: 3, Outcome: OutcomeTimeout, Scheduled: msD(300), Sent: msD(300), End: msD(1100)},
		{Index: 4, Outcome: "mystery", Scheduled: msD(400), Sent: msD(400), End: msD(500)},
	}
	got := Summarize(rs, llmStandard("h200", 0.6))
	if got.Requests != 4 || got.OK != 0 || got.Passing != 0 || got.Window != time.Second {
		t.Errorf("requests %d ok %d passing %d window %v; want 4, 0, 0, 1s", got.Requests, got.OK, got.Passing, got.Window)
	}
	// Only the rates, compliance and ok of the reference keys (FACTS §4.9),
	// then ours; no latency, throughput, ITL or token source keys.
	wantKeys := append([]string{"req_per_s_passing", "req_per_s_all", "compliance_rate", "ok_rate",
		"slo_hardware_class", "slo_template_resolved", "queue_p99_ms"}, ourCountKeys...)
	wantKeys = slices.Insert(wantKeys, len(wantKeys)-2, "n_other_outcome")
	if diff := cmp.Diff(wantKeys, keys(got.Metrics())); diff != "" {
		t.Errorf("metric keys (-want +got):\n%s", diff)
	}
	m := metricMap(got.Metrics())
	for k, v := range map[string]any{
		"req_per_s_passing": 0.0, "req_per_s_all": 4.0, "compliance_rate": 0.0, "ok_rate": 0.0,
		"slo_hardware_class": "h200", "slo_template_resolved": "ttft<120ms, tpot<30ms, total<1800ms",
		"n_transport_error": 1, "n_http_status": 1, "n_timeout": 1, "n_other_outcome": 1, "output_tokens_total": 0,
	} {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
	if len(got.Warnings) != 0 {
		t.Errorf("warnings %q, want none", got.Warnings)
	}
}

func TestSummarizeOnlyWarmup(t *testing.T) {
	rs := []Result{{Index: 0, Warmup: true, Outcome: OutcomeOK, Sent: msD(1), FirstToken: msD(2), End: msD(3), OutputTokens: 2}}
	got := Summarize(rs, SLO{})
	want := Summary{Outcomes: map[Outcome]int{}, FirstErrors: map[Outcome]string{}, PredicatePassRates: []PredicatePassRate{},
		Warnings: []string{"no post-warmup requests: every rate is 0"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Summarize (-want +got):\n%s", diff)
	}
	wantKeys := append([]string{"req_per_s_passing", "req_per_s_all", "compliance_rate", "ok_rate",
		"slo_hardware_class", "slo_template_resolved"}, ourCountKeys...)
	if diff := cmp.Diff(wantKeys, keys(got.Metrics())); diff != "" {
		t.Errorf("metric keys (-want +got):\n%s", diff)
	}
	if got := Summarize(nil, SLO{}); got.Requests != 0 || got.Window != 0 {
		t.Errorf("Summarize(nil) = %+v", got)
	}
}

func TestSummarizeEmptyWindow(t *testing.T) {
	rs := []Result{{Index: 0, Outcome: OutcomeOK, Sent: msD(5), End: msD(5), OutputTokens: 3, TokenSource: TokenSourceChunks}}
	got := Summarize(rs, SLO{})
	if got.Window != 0 || got.ReqPerSecAll != 0 || got.ThroughputTokPerSec != 0 || got.OKRate != 1 || got.ComplianceRate != 1 {
		t.Errorf("window %v, req/s %v, tok/s %v, ok %v, compliance %v", got.Window, got.ReqPerSecAll, got.ThroughputTokPerSec, got.OKRate, got.ComplianceRate)
	}
	if len(got.Warnings) == 0 || !strings.Contains(got.Warnings[0], "window is empty") {
		t.Errorf("warnings %q, want an empty-window warning first", got.Warnings)
	}
	m := metricMap(got.Metrics())
	if _, ok := m["throughput_tok_per_s"]; ok {
		t.Error("throughput_tok_per_s emitted over an empty window")
	}
	if m["token_source"] != "chunks" || m["ttft_p50_ms"] != 0.0 {
		t.Errorf("token_source %v, ttft_p50_ms %v", m["token_source"], m["ttft_p50_ms"])
	}
}

func TestSummarizeTokenSource(t *testing.T) {
	res := func(out Outcome, src TokenSource) Result {
		return Result{Outcome: out, Sent: msD(1), FirstToken: msD(2), End: msD(3), OutputTokens: 1, TokenSource: src}
	}
	for _, tc := range []struct {
		name string
		rs   []Result
		want string
	}{
		{"usage", []Result{res(OutcomeOK, TokenSourceUsage), res(OutcomeOK, TokenSourceUsage)}, "usage"},
		{"chunks", []Result{res(OutcomeOK, TokenSourceChunks)}, "chunks"},
		{"mixed", []Result{res(OutcomeOK, TokenSourceChunks), res(OutcomeOK, TokenSourceUsage)}, "mixed"},
		{"failed requests do not count", []Result{res(OutcomeOK, TokenSourceUsage), res(OutcomeStreamError, TokenSourceChunks)}, "usage"},
		{"unset source ignored", []Result{res(OutcomeOK, ""), res(OutcomeOK, TokenSourceChunks)}, "chunks"},
		{"none", []Result{res(OutcomeOK, "")}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Summarize(tc.rs, SLO{})
			if got.TokenSource != tc.want {
				t.Errorf("TokenSource = %q, want %q", got.TokenSource, tc.want)
			}
			_, emitted := metricMap(got.Metrics())["token_source"]
			if emitted != (tc.want != "") {
				t.Errorf("token_source emitted = %v for source %q", emitted, tc.want)
			}
		})
	}
}

func TestSummarizeUnknownTemplate(t *testing.T) {
	// No predicates: passing equals ok and the resolved string is "".
	got := Summarize(closedLoopRun(), SLO{Template: "llm.realtime", HardwareClass: "cpu"})
	if got.Passing != got.OK || got.ComplianceRate != got.OKRate || len(got.PredicatePassRates) != 0 {
		t.Errorf("passing %d ok %d compliance %v ok_rate %v rates %v", got.Passing, got.OK, got.ComplianceRate, got.OKRate, got.PredicatePassRates)
	}
	m := metricMap(got.Metrics())
	if m["slo_template_resolved"] != "" || m["slo_hardware_class"] != "cpu" {
		t.Errorf("slo keys %q %q", m["slo_template_resolved"], m["slo_hardware_class"])
	}
}

func TestSummarizeUnknownPredicateFieldFails(t *testing.T) {
	slo := SLO{Predicates: []Predicate{{Name: "q", Field: "queue_ms", Op: "<", Value: math.Inf(1)}}}
	if got := Summarize(closedLoopRun(), slo); got.Passing != 0 || got.PredicatePassRates[0].Passing != 0 {
		t.Errorf("a predicate on an unknown field passed: %+v", got.PredicatePassRates)
	}
}

func TestMetricsExtraGoBeforeSLOKeys(t *testing.T) {
	s := Summarize(closedLoopRun(), llmStandard("h100", 1.0))
	got := keys(s.Metrics(Metric{"cost_usd_per_million_tokens", 0.64}, Metric{"cost_source", "registry:groq"}))
	i := slices.Index(got, "throughput_tok_per_s")
	want := []string{"throughput_tok_per_s", "cost_usd_per_million_tokens", "cost_source", "slo_hardware_class", "slo_template_resolved"}
	if i < 0 || !slices.Equal(got[i:i+len(want)], want) {
		t.Errorf("keys %v: want the run %v", got, want)
	}
}

func TestQuantilesDropNonFinite(t *testing.T) {
	got := quantilesOf([]float64{math.NaN(), 3, math.Inf(1), 1, math.Inf(-1)})
	want := Quantiles{N: 2, Min: 1, Max: 3, P50: 2, P75: 2.5, P90: 2.8, P95: 2.9, P99: 2.98, P999: 2.998}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("quantilesOf (-want +got):\n%s", diff)
	}
	if got := quantilesOf([]float64{math.NaN()}); got != (Quantiles{}) {
		t.Errorf("quantilesOf(NaN) = %+v, want zero", got)
	}
}

// TestSummarizeITLMatchesExpansion: Summarize's weighted ITL equals the
// quantiles of every Result.ITLs value, on random runs.
func TestSummarizeITLMatchesExpansion(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for run := range 50 {
		var rs []Result
		var all []float64
		for i := range 1 + rng.IntN(20) {
			r := Result{Index: i, Outcome: OutcomeOK, End: time.Second}
			at := time.Duration(0)
			for range rng.IntN(30) {
				at += time.Duration(rng.IntN(5)) * time.Millisecond // ties and zero gaps
				if run%2 == 0 {
					at += time.Duration(rng.Int64N(int64(time.Millisecond)))
				}
				r.Chunks = append(r.Chunks, Chunk{At: at, Tokens: rng.IntN(7)}) // 0 counts as 1
			}
			for _, d := range r.ITLs() {
				all = append(all, msOf(d))
			}
			rs = append(rs, r)
		}
		if diff := cmp.Diff(quantilesOf(all), Summarize(rs, SLO{}).ITL); diff != "" {
			t.Fatalf("run %d (-expanded +Summarize):\n%s", run, diff)
		}
	}
}

// TestSummarizeHugeChunkCounts: chunk token counts that no slice could
// expand are weighed, not expanded; an overflowing sum is omitted with a
// warning.
func TestSummarizeHugeChunkCounts(t *testing.T) {
	r := Result{Outcome: OutcomeOK, End: time.Second, Chunks: []Chunk{{At: 0, Tokens: 1}, {At: time.Second, Tokens: 1 << 50}}}
	got := Summarize([]Result{r}, SLO{})
	if got.ITL.N != 1<<50 || got.ITL.P50 != msOf(time.Second/(1<<50)) {
		t.Errorf("ITL %+v", got.ITL)
	}
	r.Chunks = append(r.Chunks, Chunk{At: 2 * time.Second, Tokens: math.MaxInt})
	got = Summarize([]Result{r}, SLO{})
	if got.ITL.N != 0 || !slices.ContainsFunc(got.Warnings, func(w string) bool { return strings.Contains(w, "inter-token latencies are omitted") }) {
		t.Errorf("ITL %+v, warnings %q; want none and a warning", got.ITL, got.Warnings)
	}
}

func TestITLsClampsAbsurdCounts(t *testing.T) {
	r := Result{Chunks: []Chunk{{At: 0, Tokens: 1}, {At: 4096 * time.Millisecond, Tokens: math.MaxInt}, {At: 4097 * time.Millisecond, Tokens: -3}}}
	got := r.ITLs()
	if len(got) != MaxITLTokensPerChunk+1 || got[0] != time.Millisecond || got[len(got)-1] != time.Millisecond {
		t.Errorf("ITLs: %d entries, first %v, last %v; want 4097 of 1ms", len(got), got[0], got[len(got)-1])
	}
}

// TestSummarizeUsageRejected: rejected usage and negative counts are
// counted, reported with the first reason by Index, and add nothing.
func TestSummarizeUsageRejected(t *testing.T) {
	ok := func(i, out, prompt int, why string) Result {
		return Result{Index: i, Outcome: OutcomeOK, Sent: msD(float64(i)), FirstToken: msD(float64(i) + 1), End: msD(float64(i) + 2),
			OutputTokens: out, PromptTokens: prompt, TokenSource: TokenSourceChunks, UsageRejected: why}
	}
	rs := []Result{
		ok(5, 3, 0, "completion_tokens 100000 exceeds max_tokens 128"),
		ok(3, 2, 0, "completion_tokens 1e400 exceeds max_tokens 128"),
		ok(7, -5, 4, ""),
		ok(8, 6, -1, ""),
		ok(9, 10, 9, ""),
		{Index: 2, Warmup: true, Outcome: OutcomeOK, UsageRejected: "warmup is not counted"},
	}
	reversed := slices.Clone(rs)
	slices.Reverse(reversed)
	for _, in := range [][]Result{rs, reversed} {
		got := Summarize(in, SLO{})
		if got.UsageRejected != 4 || got.OutputTokens != 3+2+0+6+10 || got.PromptTokens != 4+9 {
			t.Errorf("rejected %d, output %d, prompt %d; want 4, 21, 13", got.UsageRejected, got.OutputTokens, got.PromptTokens)
		}
		want := "the engine's usage of 4 ok requests was implausible and not believed (their output tokens were counted from the content chunks); the first: completion_tokens 1e400 exceeds max_tokens 128"
		if !slices.Contains(got.Warnings, want) {
			t.Errorf("warnings %q; want %q", got.Warnings, want)
		}
		ks := keys(got.Metrics())
		if i := slices.Index(ks, "n_usage_rejected"); i != len(ks)-1 || ks[i-1] != "token_source" {
			t.Errorf("metric keys %v: want n_usage_rejected last, after token_source", ks)
		}
		if v := metricMap(got.Metrics())["n_usage_rejected"]; v != 4 {
			t.Errorf("n_usage_rejected = %v", v)
		}
	}
	if _, ok := metricMap(Summarize(rs[4:5], SLO{}).Metrics())["n_usage_rejected"]; ok {
		t.Error("n_usage_rejected emitted without rejected usage")
	}
}

// TestSummarizeTokenSumsSaturate: token totals stop at math.MaxInt with a
// warning instead of wrapping around.
func TestSummarizeTokenSumsSaturate(t *testing.T) {
	r := Result{Outcome: OutcomeOK, End: time.Second, OutputTokens: math.MaxInt, PromptTokens: math.MaxInt - 1}
	got := Summarize([]Result{r, r, r}, SLO{})
	if got.OutputTokens != math.MaxInt || got.PromptTokens != math.MaxInt {
		t.Errorf("output %d, prompt %d; want both math.MaxInt", got.OutputTokens, got.PromptTokens)
	}
	for _, w := range []string{"the output token total overflows", "the prompt token total overflows"} {
		if !slices.ContainsFunc(got.Warnings, func(s string) bool { return strings.HasPrefix(s, w) }) {
			t.Errorf("warnings %q; want one starting %q", got.Warnings, w)
		}
	}
	if got.TPOT.Max < 0 {
		t.Errorf("TPOT %v", got.TPOT)
	}
}

// TestSummarizeFirstErrors: each failing class keeps the error of its
// lowest Index, whatever the order; warmup requests do not count.
func TestSummarizeFirstErrors(t *testing.T) {
	rs := []Result{
		{Index: 0, Warmup: true, Outcome: OutcomeHTTPStatus, Error: "HTTP 500: warmup"},
		{Index: 9, Outcome: OutcomeHTTPStatus, Error: "HTTP 503: later"},
		{Index: 4, Outcome: OutcomeHTTPStatus, Error: "HTTP 500: first"},
		{Index: 6, Outcome: OutcomeTransport, Error: "connection reset"},
		{Index: 5, Outcome: OutcomeOK},
		{Index: 8, Outcome: OutcomeStreamError, Error: "malformed event"},
		{Index: 7, Outcome: OutcomeStreamError, Error: "error in stream: boom"},
	}
	want := map[Outcome]string{
		OutcomeHTTPStatus:  "HTTP 500: first",
		OutcomeTransport:   "connection reset",
		OutcomeStreamError: "error in stream: boom",
	}
	reversed := slices.Clone(rs)
	slices.Reverse(reversed)
	for _, in := range [][]Result{rs, reversed} {
		if diff := cmp.Diff(want, Summarize(in, SLO{}).FirstErrors); diff != "" {
			t.Errorf("FirstErrors (-want +got):\n%s", diff)
		}
	}
}
