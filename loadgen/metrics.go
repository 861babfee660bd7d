package loadgen

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"time"
)

// LatencyOrigin is the instant per-request latencies are measured from.
type LatencyOrigin int

const (
	// FromSent measures latencies from when the request was written
	// (Result.Sent), as the reference does. It is the default.
	FromSent LatencyOrigin = iota
	// FromScheduled measures them from when the request was due
	// (Result.Scheduled), so an open-loop arrival's wait for a free slot
	// counts against the server (coordinated-omission correction). In a
	// closed loop Scheduled equals Sent and the two origins agree.
	FromScheduled
)

// String returns "sent" or "scheduled", the value of the latency_origin
// metric.
func (o LatencyOrigin) String() string {
	switch o {
	case FromSent:
		return "sent"
	case FromScheduled:
		return "scheduled"
	}
	return fmt.Sprintf("LatencyOrigin(%d)", int(o))
}

// SummaryOption configures [Summarize].
type SummaryOption interface {
	applySummary(*summaryConfig)
}

type summaryOptionFunc func(*summaryConfig)

func (f summaryOptionFunc) applySummary(c *summaryConfig) { f(c) }

type summaryConfig struct {
	origin LatencyOrigin
}

// LatencyFromScheduled makes [Summarize] measure TTFT, TPOT and total
// latency, and test the SLO predicates, from Result.Scheduled instead of
// Result.Sent (see [FromScheduled]). By default, if this option is not
// used, latencies are measured from Sent, as the reference does. Repeating
// it changes nothing.
func LatencyFromScheduled() SummaryOption {
	return summaryOptionFunc(func(c *summaryConfig) { c.origin = FromScheduled })
}

// The percentiles the reference computes (metrics/percentiles.py); only
// p50 and p99 reach the envelope.
const (
	p50  = 50.0
	p75  = 75.0
	p90  = 90.0
	p95  = 95.0
	p99  = 99.0
	p999 = 99.9
)

// minP99Samples is the sample count below which a p99 is reported with a
// warning: with fewer than 100 values it is an interpolation between the
// two largest.
const minP99Samples = 100

// Quantiles summarises one distribution of per-request (or per-token)
// values in milliseconds, with [Percentile]. N is the number of finite
// values; N == 0 means there were none, and then every other field is 0 and
// the distribution's metrics are not emitted.
type Quantiles struct {
	N                             int
	Min, Max                      float64
	P50, P75, P90, P95, P99, P999 float64
}

// quantilesOf computes the Quantiles of vs, dropping non-finite values as
// the reference does. vs is not modified.
func quantilesOf(vs []float64) Quantiles { return quantilesOfOwned(sortedFinite(vs)) }

// quantilesOfOwned is quantilesOf on a slice the caller gives up: it is
// filtered and sorted in place, so no copy is made.
func quantilesOfOwned(vs []float64) Quantiles {
	s := slices.DeleteFunc(vs, func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) })
	slices.Sort(s)
	if len(s) == 0 {
		return Quantiles{}
	}
	return Quantiles{
		N:   len(s),
		Min: s[0], Max: s[len(s)-1],
		P50: Percentile(s, p50), P75: Percentile(s, p75), P90: Percentile(s, p90),
		P95: Percentile(s, p95), P99: Percentile(s, p99), P999: Percentile(s, p999),
	}
}

// PredicatePassRate is how many ok requests met one SLO predicate. The
// reference computes these (per_slo_pass_rate) but never emits them.
type PredicatePassRate struct {
	Predicate Predicate
	// Passing counts the ok requests that met the predicate.
	Passing int
	// Rate is Passing / ok requests (0 without ok requests), as the
	// reference's per_slo_pass_rate: errors are not an SLO miss here.
	Rate float64
}

// Summary is what [Summarize] computes from one run's results. Latencies
// are in milliseconds; rates are per second of the measurement window.
type Summary struct {
	// SLO is the SLO the requests were tested against.
	SLO SLO
	// LatencyOrigin is what TTFT, TPOT, Total and the SLO predicates were
	// measured from.
	LatencyOrigin LatencyOrigin

	// WindowStart is the earliest Sent and WindowEnd the latest End of the
	// post-warmup requests; Window is WindowEnd − WindowStart (0 without
	// post-warmup requests). Every rate divides by Window, and energy and
	// power code should integrate over the same interval.
	//
	// This differs from the reference, which divides by the whole driver
	// duration: warmup requests, the in-flight tail and sampler start and
	// stop included (FACTS §5.1, §10.11), so its rates are biased low.
	WindowStart, WindowEnd, Window time.Duration

	// Requests counts the post-warmup results (warmup ones are ignored
	// everywhere); OK those with OutcomeOK; Passing those that are ok and
	// meet every SLO predicate.
	Requests, OK, Passing int
	// Outcomes counts the post-warmup results by outcome; outcomes that did
	// not occur are absent.
	Outcomes map[Outcome]int
	// FirstErrors holds, for each failing outcome (every one but
	// OutcomeOK) among the post-warmup results, the Error of the result
	// with the lowest Index; outcomes that did not occur are absent.
	FirstErrors map[Outcome]string
	// OutputTokens and PromptTokens sum the token counts of ok requests. A
	// negative count (in a Result that Client.Do did not make) adds 0; a
	// sum that would overflow int stops at math.MaxInt, with a warning.
	OutputTokens, PromptTokens int
	// TokenSource is "usage" or "chunks" when every ok request that
	// recorded a source used that one, "mixed" when both occur, and ""
	// when none recorded a source.
	TokenSource string
	// UsageRejected counts the ok requests whose engine-reported usage was
	// not believed (Result.UsageRejected; their tokens were counted from
	// the content chunks), or whose recorded token counts are negative.
	UsageRejected int

	// TTFT, TPOT and Total are over the ok requests' per-request values
	// (FACTS §6.1): TTFT is FirstToken (End if no token arrived) minus the
	// origin, Total is End minus the origin, and TPOT is the reference's
	// (total_ms − ttft_ms) / max(output tokens − 1, 1) in float64 ms.
	TTFT, TPOT, Total Quantiles
	// TTFTFromScheduled is TTFT over the ok requests measured from
	// Scheduled whatever the origin; it is computed only when some
	// post-warmup request waited (QueueTime > 0), else N is 0.
	TTFTFromScheduled Quantiles
	// ITL is over every inter-token latency of the ok requests, not
	// per-request averages: the multiset Result.ITLs describes (a gap
	// before a chunk of k tokens counts k times as gap/k), computed from
	// (gap/k, weight k) pairs without expanding them, so its memory is
	// per chunk, not per token. N is the number of tokens after the first.
	ITL Quantiles
	// Queue is over the QueueTime of every post-warmup request (all of
	// them were sent: the driver records no result for a dropped arrival).
	Queue Quantiles

	// The reference's rate metrics (FACTS §6.2), over Window:
	// ReqPerSecPassing = Passing/Window, ReqPerSecAll = Requests/Window,
	// ComplianceRate = Passing/Requests, OKRate = OK/Requests (0 when
	// Requests is 0), ThroughputTokPerSec = OutputTokens/Window. The
	// per-second rates are 0 when Window is 0.
	ReqPerSecPassing, ReqPerSecAll, ComplianceRate, OKRate float64
	ThroughputTokPerSec                                    float64
	// GoodputAtSLO is the rate of requests that are ok and meet every SLO
	// predicate: Passing/Window. With the window as denominator it equals
	// ReqPerSecPassing; the reference names it in its docs but never emits it.
	GoodputAtSLO float64
	// PredicatePassRates has one entry per SLO predicate, in order.
	PredicatePassRates []PredicatePassRate

	// Warnings are conditions a reader should know about (too few requests
	// for a meaningful p99, an empty window, requests cut off, usage that
	// was not believed, token totals that overflowed).
	Warnings []string
}

// msOf converts a duration to float64 milliseconds.
func msOf(d time.Duration) float64 { return float64(d) / 1e6 }

// requestValues are the per-request values the SLO predicates test, in ms.
type requestValues struct {
	ttft, tpot, total float64
}

func (v requestValues) field(name string) (float64, bool) {
	switch name {
	case "ttft_ms":
		return v.ttft, true
	case "tpot_ms":
		return v.tpot, true
	case "total_ms":
		return v.total, true
	}
	return 0, false
}

// valuesOf computes r's latencies from origin as the reference does
// (harness client.py): ttft_ms = (first token, or end, − start),
// total_ms = end − start, tpot_ms = (total_ms − ttft_ms) / max(tokens − 1, 1).
func valuesOf(r *Result, origin time.Duration) requestValues {
	v := requestValues{ttft: msOf(firstTokenAt(r) - origin), total: msOf(r.End - origin)}
	n := 1
	if r.OutputTokens > 2 {
		n = r.OutputTokens - 1
	}
	v.tpot = (v.total - v.ttft) / float64(n)
	return v
}

// firstTokenAt is when r's first token arrived, or its end when none did.
func firstTokenAt(r *Result) time.Duration {
	if r.FirstToken == 0 {
		return r.End
	}
	return r.FirstToken
}

// Summarize computes the run's metrics from its results, in any order.
// Results marked Warmup are ignored entirely. slo gives the predicates a
// request must meet to count as passing (catalog.ResolveSLO gives the
// reference's templates); the zero SLO has none, so passing equals ok.
//
// A request passes when it is ok and every predicate holds on its
// ttft_ms, tpot_ms and total_ms (strict "<" in the reference templates; NaN
// and unknown fields fail). The latencies are measured from Sent, or from
// Scheduled with [LatencyFromScheduled]. Summarize does not modify results.
// It is a [Summarizer] fed every result.
func Summarize(results []Result, slo SLO, opts ...SummaryOption) Summary {
	z := NewSummarizer(slo, opts...)
	for i := range results {
		z.Add(&results[i])
	}
	return z.Summary()
}

// Summarizer computes a Summary from results added one at a time, so that
// a run need not keep its results: it holds three float64 per ok request
// (the exact TTFT, TPOT and end-to-end latency the reference's percentiles
// need), the queue times that are not zero, and the inter-token latencies
// exactly up to ExactITLGaps chunk gaps, then in a histogram of bounded
// relative error (ITLRelativeError). A Summarizer is not safe for
// concurrent use; the order of Add calls does not matter.
type Summarizer struct {
	cfg summaryConfig
	s   Summary

	// oks holds, for each ok request, its TTFT and total latency in
	// nanoseconds from the latency origin and its output token count, as
	// varints: about 10 bytes per request. Converted to milliseconds only
	// when summarized, they give the very floats valuesOf computes.
	oks varintList
	// ttftSched holds the TTFT from Scheduled (ns) once a request has
	// queued (before that it equals the TTFT); unused with
	// LatencyFromScheduled.
	ttftSched varintList
	// queue holds the queue times (ns) that are not 0; queueZeros counts
	// the rest.
	queue      varintList
	queueZeros int
	itl        itlAccumulator

	queued, usage, chunks bool
	firstErrs             map[Outcome]*firstOf
	rejected              firstOf // the first rejected usage
	outOverflow           bool    // the output token sum saturated
	promptOverflow        bool
}

// NewSummarizer returns a Summarizer for slo (see [Summarize]). A nil
// option is reported in the Summary's Warnings and otherwise ignored.
func NewSummarizer(slo SLO, opts ...SummaryOption) *Summarizer {
	z := &Summarizer{firstErrs: map[Outcome]*firstOf{}}
	for i, o := range opts {
		if o == nil { // a Summarizer cannot fail: a nil option is reported in Warnings
			z.s.Warnings = append(z.s.Warnings, fmt.Sprintf("Summarize: option %d is nil and was ignored", i+1))
			continue
		}
		o.applySummary(&z.cfg)
	}
	z.s.SLO, z.s.LatencyOrigin = slo, z.cfg.origin
	z.s.Outcomes, z.s.FirstErrors = map[Outcome]int{}, map[Outcome]string{}
	z.s.PredicatePassRates = make([]PredicatePassRate, len(slo.Predicates))
	for i, p := range slo.Predicates {
		z.s.PredicatePassRates[i].Predicate = p
	}
	return z
}

// Add counts one result. Warmup results are ignored. Add does not keep r.
func (z *Summarizer) Add(r *Result) {
	s := &z.s
	if r.Warmup {
		return
	}
	if s.Requests == 0 || r.Sent < s.WindowStart {
		s.WindowStart = r.Sent
	}
	if s.Requests == 0 || r.End > s.WindowEnd {
		s.WindowEnd = r.End
	}
	s.Requests++
	s.Outcomes[r.Outcome]++
	if q := r.QueueTime(); q != 0 {
		z.queue.add(int64(q))
		z.noteQueued()
	} else {
		z.queueZeros++
	}
	if !r.OK() {
		f := z.firstErrs[r.Outcome]
		if f == nil {
			f = new(firstOf)
			z.firstErrs[r.Outcome] = f
		}
		f.offer(r.Index, r.Error)
		return
	}
	z.addOK(r)
}

// noteQueued starts keeping the TTFT from Scheduled: until the first
// request that queued, it equalled the TTFT from Sent.
func (z *Summarizer) noteQueued() {
	if z.queued {
		return
	}
	z.queued = true
	if z.cfg.origin == FromSent {
		i := 0
		z.oks.each(func(v int64) {
			if i%3 == 0 { // (ttft, total, tokens) triples
				z.ttftSched.add(v)
			}
			i++
		})
	}
}

// addOK counts an ok result's tokens, latencies and SLO predicates.
func (z *Summarizer) addOK(r *Result) {
	s := &z.s
	s.OK++
	if why := usageProblem(r); why != "" {
		s.UsageRejected++
		z.rejected.offer(r.Index, why)
	}
	s.OutputTokens = addTokens(s.OutputTokens, r.OutputTokens, &z.outOverflow)
	s.PromptTokens = addTokens(s.PromptTokens, r.PromptTokens, &z.promptOverflow)
	switch r.TokenSource {
	case TokenSourceUsage:
		z.usage = true
	case TokenSourceChunks:
		z.chunks = true
	}

	origin := r.Sent
	if z.cfg.origin == FromScheduled {
		origin = r.Scheduled
	}
	v := valuesOf(r, origin)
	z.oks.add(int64(firstTokenAt(r)-origin), int64(r.End-origin), int64(r.OutputTokens))
	if z.queued && z.cfg.origin == FromSent {
		z.ttftSched.add(int64(firstTokenAt(r) - r.Scheduled))
	}
	for j := 1; j < len(r.Chunks); j++ { // ITL: gap/k, k times
		gap := r.Chunks[j].At - r.Chunks[j-1].At
		k := max(r.Chunks[j].Tokens, 1)
		z.itl.add(msOf(gap/time.Duration(k)), int64(k))
	}

	pass := true
	for k, p := range s.SLO.Predicates {
		x, known := v.field(p.Field)
		if known && p.Holds(x) {
			s.PredicatePassRates[k].Passing++
		} else {
			pass = false
		}
	}
	if pass {
		s.Passing++
	}
}

// Summary returns the metrics of the results added so far. It may be
// called again after more Adds.
func (z *Summarizer) Summary() Summary {
	s := z.s // a copy: the maps and slices below are fresh
	s.Outcomes = maps.Clone(z.s.Outcomes)
	s.FirstErrors = map[Outcome]string{}
	s.PredicatePassRates = slices.Clone(z.s.PredicatePassRates)
	s.Warnings = slices.Clone(z.s.Warnings)
	switch {
	case z.usage && z.chunks:
		s.TokenSource = "mixed"
	case z.usage:
		s.TokenSource = string(TokenSourceUsage)
	case z.chunks:
		s.TokenSource = string(TokenSourceChunks)
	}

	// One distribution at a time, in one buffer, so that only one is
	// materialised (an hour at c=256 is 900 000 requests: 7 MB a list).
	buf := z.fromOKs(nil, func(ttft, _, _ int64) float64 { return msOf(time.Duration(ttft)) })
	s.TTFT = quantilesOfOwned(buf)
	buf = z.fromOKs(buf, tpotOf)
	s.TPOT = quantilesOfOwned(buf)
	buf = z.fromOKs(buf, func(_, total, _ int64) float64 { return msOf(time.Duration(total)) })
	s.Total = quantilesOfOwned(buf)
	if z.queued {
		if z.cfg.origin == FromScheduled {
			s.TTFTFromScheduled = s.TTFT
		} else {
			s.TTFTFromScheduled = quantilesOfOwned(msList(buf, &z.ttftSched))
		}
	}
	for o, f := range z.firstErrs {
		s.FirstErrors[o] = f.why
	}
	s.Queue = zeroPaddedQuantiles(z.queueZeros, msList(nil, &z.queue))
	itlQ, itlOK, itlApprox := z.itl.quantiles()
	s.ITL = itlQ

	for k := range s.PredicatePassRates {
		if s.OK > 0 {
			s.PredicatePassRates[k].Rate = float64(s.PredicatePassRates[k].Passing) / float64(s.OK)
		}
	}
	if s.Requests > 0 {
		s.ComplianceRate = float64(s.Passing) / float64(s.Requests)
		s.OKRate = float64(s.OK) / float64(s.Requests)
	}
	s.Window = max(s.WindowEnd-s.WindowStart, 0)
	if sec := s.Window.Seconds(); sec > 0 {
		s.ReqPerSecPassing = float64(s.Passing) / sec
		s.ReqPerSecAll = float64(s.Requests) / sec
		s.ThroughputTokPerSec = float64(s.OutputTokens) / sec
		s.GoodputAtSLO = s.ReqPerSecPassing
	}
	s.Warnings = append(s.Warnings, z.warnings(s, itlOK, itlApprox)...)
	return s
}

// fromOKs computes fn(ttft ns, total ns, output tokens) for every ok
// request, into buf's array (reused from its start) or a new one.
func (z *Summarizer) fromOKs(buf []float64, fn func(ttft, total, tokens int64) float64) []float64 {
	out := slices.Grow(buf[:0], z.oks.len()/3)
	var t [3]int64
	i := 0
	z.oks.each(func(v int64) {
		t[i%3] = v
		if i%3 == 2 {
			out = append(out, fn(t[0], t[1], t[2]))
		}
		i++
	})
	return out
}

// tpotOf is valuesOf's TPOT, from the stored nanoseconds: bit for bit the
// same float.
func tpotOf(ttft, total, tokens int64) float64 {
	n := 1
	if tokens > 2 {
		n = int(tokens - 1)
	}
	return (msOf(time.Duration(total)) - msOf(time.Duration(ttft))) / float64(n)
}

// msList converts a list of nanoseconds to milliseconds, into buf's array
// (reused from its start) or a new one.
func msList(buf []float64, l *varintList) []float64 {
	out := slices.Grow(buf[:0], l.len())
	l.each(func(v int64) { out = append(out, msOf(time.Duration(v))) })
	return out
}

// warnings are the remarks on a summary a reader should know about.
func (z *Summarizer) warnings(s Summary, itlOK, itlApprox bool) []string {
	var ws []string
	switch {
	case s.Requests == 0:
		ws = append(ws, "no post-warmup requests: every rate is 0")
	case s.Window == 0:
		ws = append(ws, "the measurement window is empty (every post-warmup request was sent and ended at the same instant): the per-second rates are reported as 0 and throughput is omitted")
	}
	if s.OK > 0 && s.OK < minP99Samples {
		ws = append(ws, fmt.Sprintf("p99 latencies come from %d ok requests (fewer than %d): they interpolate between the largest values", s.OK, minP99Samples))
	}
	if n := s.Outcomes[OutcomeCutOff]; n > 0 {
		ws = append(ws, fmt.Sprintf("%d requests were cut off after the grace period; they count as failed requests", n))
	}
	if s.UsageRejected > 0 {
		ws = append(ws, fmt.Sprintf("the engine's usage of %d ok requests was implausible and not believed (their output tokens were counted from the content chunks); the first: %s", s.UsageRejected, z.rejected.why))
	}
	if z.outOverflow {
		ws = append(ws, fmt.Sprintf("the output token total overflows and is reported as %d", math.MaxInt))
	}
	if z.promptOverflow {
		ws = append(ws, fmt.Sprintf("the prompt token total overflows and is reported as %d", math.MaxInt))
	}
	if !itlOK {
		ws = append(ws, "the inter-token latencies are omitted: the chunks' token counts add up to more than an int64 holds")
	}
	if itlApprox {
		ws = append(ws, fmt.Sprintf("the inter-token latency percentiles come from a histogram (the run had more than %d chunk gaps): within %.1f%% of the exact values",
			ExactITLGaps, 100*ITLRelativeError))
	}
	return ws
}

// zeroPaddedQuantiles is quantilesOf over zeros zeros and the values vs,
// all of which are non-zero, without materialising the zeros when there
// are none to sort among: queue times are 0 for every request of a closed
// loop.
func zeroPaddedQuantiles(zeros int, vs []float64) Quantiles {
	if len(vs) == 0 {
		if zeros == 0 {
			return Quantiles{}
		}
		return Quantiles{N: zeros}
	}
	all := make([]float64, zeros, zeros+len(vs))
	return quantilesOfOwned(append(all, vs...))
}

// Metric is one envelope metric: a key and a float64, int or string value.
type Metric struct {
	Key   string
	Value any
}

// knownOutcomes is the order of the n_<outcome> count metrics.
var knownOutcomes = []Outcome{
	OutcomeOK, OutcomeHTTPStatus, OutcomeTransport, OutcomeStreamError,
	OutcomeTimeout, OutcomeCutOff, OutcomeCancelled,
}

// Metrics renders the summary as envelope metrics, in the reference's
// insertion order (FACTS §4.9) followed by ours:
//
//  1. ttft_p50_ms, ttft_p99_ms, tpot_p50_ms, tpot_p99_ms, total_p50_ms,
//     total_p99_ms, each pair if there is an ok request (with a finite
//     value, which durations always are);
//  2. req_per_s_passing, req_per_s_all, compliance_rate, ok_rate, always;
//  3. throughput_tok_per_s, if ok requests produced tokens and the window
//     is not empty;
//  4. extra, in the order given: this is where the reference puts the cost
//     and power metrics, which are not computed here;
//  5. slo_hardware_class, slo_template_resolved, always;
//  6. ours: ttft_p99_from_scheduled_ms (if some request queued and one is
//     ok), itl_p50_ms and itl_p99_ms (if there is an inter-token latency),
//     queue_p99_ms (if there is a request), goodput_at_slo,
//     measure_window_s, latency_origin, n_requests, n_passing, one
//     n_<outcome> per outcome class (n_ok, n_http_status,
//     n_transport_error, n_stream_error, n_timeout, n_cut_off,
//     n_cancelled), n_other_outcome if a result had another outcome,
//     output_tokens_total, prompt_tokens_total, token_source (if
//     known), and n_usage_rejected (if some usage was not believed).
//
// Latencies and rates are float64, counts int, and the class, template,
// origin and token source strings. Unlike the reference, which divides by
// the whole driver duration, every rate divides by the measurement window
// (Summary.Window).
func (s Summary) Metrics(extra ...Metric) []Metric {
	var m []Metric
	add := func(k string, v any) { m = append(m, Metric{k, v}) }
	for _, d := range []struct {
		name string
		q    Quantiles
	}{{"ttft", s.TTFT}, {"tpot", s.TPOT}, {"total", s.Total}} {
		if d.q.N > 0 {
			add(d.name+"_p50_ms", d.q.P50)
			add(d.name+"_p99_ms", d.q.P99)
		}
	}
	add("req_per_s_passing", s.ReqPerSecPassing)
	add("req_per_s_all", s.ReqPerSecAll)
	add("compliance_rate", s.ComplianceRate)
	add("ok_rate", s.OKRate)
	if s.OutputTokens > 0 && s.Window > 0 {
		add("throughput_tok_per_s", s.ThroughputTokPerSec)
	}
	m = append(m, extra...)
	add("slo_hardware_class", s.SLO.HardwareClass)
	add("slo_template_resolved", s.SLO.Resolved())

	if s.TTFTFromScheduled.N > 0 {
		add("ttft_p99_from_scheduled_ms", s.TTFTFromScheduled.P99)
	}
	if s.ITL.N > 0 {
		add("itl_p50_ms", s.ITL.P50)
		add("itl_p99_ms", s.ITL.P99)
	}
	if s.Queue.N > 0 {
		add("queue_p99_ms", s.Queue.P99)
	}
	add("goodput_at_slo", s.GoodputAtSLO)
	add("measure_window_s", s.Window.Seconds())
	add("latency_origin", s.LatencyOrigin.String())
	add("n_requests", s.Requests)
	add("n_passing", s.Passing)
	other := s.Requests
	for _, o := range knownOutcomes {
		add("n_"+string(o), s.Outcomes[o])
		other -= s.Outcomes[o]
	}
	if other > 0 {
		add("n_other_outcome", other)
	}
	add("output_tokens_total", s.OutputTokens)
	add("prompt_tokens_total", s.PromptTokens)
	if s.TokenSource != "" {
		add("token_source", s.TokenSource)
	}
	if s.UsageRejected > 0 {
		add("n_usage_rejected", s.UsageRejected)
	}
	return slices.Clip(m)
}

// usageProblem says why an ok result's token counts are not believed:
// the client rejected the engine's usage, or a count is negative.
func usageProblem(r *Result) string {
	switch {
	case r.UsageRejected != "":
		return r.UsageRejected
	case r.OutputTokens < 0:
		return fmt.Sprintf("output_tokens %d is negative", r.OutputTokens)
	case r.PromptTokens < 0:
		return fmt.Sprintf("prompt_tokens %d is negative", r.PromptTokens)
	}
	return ""
}

// addTokens adds a token count to a total: a negative count adds 0, and a
// sum beyond math.MaxInt stops there and sets *overflow.
func addTokens(total, n int, overflow *bool) int {
	if n <= 0 {
		return total
	}
	if n > math.MaxInt-total {
		*overflow = true
		return math.MaxInt
	}
	return total + n
}

// firstOf keeps the message of the result with the lowest Index (ties: the
// smaller message), so that the choice does not depend on the order of
// results.
type firstOf struct {
	set   bool
	index int
	why   string
}

func (f *firstOf) offer(index int, why string) {
	if !f.set || index < f.index || index == f.index && why < f.why {
		*f = firstOf{true, index, why}
	}
}
