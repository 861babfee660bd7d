package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/benchprof/benchprof/internal/stats"

	"github.com/benchprof/benchprof/envelope"
)

// Default sampling intervals shown in the breakdown notes when a Profile
// does not say (the reference's profile intervals).
const (
	DefaultNVMLInterval = 10 * time.Millisecond
	DefaultRAPLInterval = 25 * time.Millisecond
)

// Footer is the closing note printed under the tables, as the reference
// prints it.
const Footer = "Profiling overrides telemetry intervals — metrics here are for inspection, not steady-state comparisons."

// Profile is what the report shows: a source envelope, the profile envelope
// made from it, and why any breakdown figure is missing.
type Profile struct {
	// SourcePath and OutputPath name the two envelopes in the summary.
	SourcePath string
	OutputPath string
	// Source is nil for a run from nothing (a suite run without a source
	// envelope): the summary and headline tables then show the new
	// envelope alone ("Run summary", "Headline metrics").
	Source  *envelope.Envelope
	Profile *envelope.Envelope
	// Unavailable maps a breakdown metric key (gpu_util_avg_pct,
	// energy_joules_gpu, energy_joules_cpu_dram, power_avg_w_under_load,
	// nvml_sample_count, rapl_sample_count, power_idle_w,
	// joules_per_request_p50) to the reason it was not measured; the row
	// then says "unavailable: <reason>".
	Unavailable map[string]string
	// NVMLInterval and RAPLInterval are the sampling intervals used.
	// Zero means DefaultNVMLInterval / DefaultRAPLInterval.
	NVMLInterval time.Duration
	RAPLInterval time.Duration
	// SourceTrust says whether the source's signer was trusted, in one
	// line ("trusted: …", "UNTRUSTED: …", "NOT VERIFIED: …"). When set it is
	// the first line of the text and Markdown reports, so an untrusted
	// source cannot go unnoticed.
	SourceTrust string
	// Failures lists the failed requests by outcome class, with the first
	// error message of each; when any, a table follows the breakdown.
	Failures []Failure
	// Warnings are printed after the tables.
	Warnings []string
	// Files names the files the profile wrote, by role ("envelope",
	// "requests", "timeline", "html"); WriteJSON includes them.
	Files map[string]string
}

// Failure is one class of failed requests.
type Failure struct {
	// Class is the outcome ("http_status", "transport_error", …).
	Class string `json:"class"`
	// Count is how many post-warmup requests ended so.
	Count int `json:"count"`
	// First is the error message of the first of them (engine text,
	// shown escaped).
	First string `json:"first"`
}

// Table is one rendered table: a title, column headers and string cells.
type Table struct {
	Title   string     `json:"title"`
	Columns []string   `json:"columns"`
	Rows    [][]string `json:"rows"`
	// Align holds 'l', 'r' or 'c' per column.
	Align string `json:"-"`
}

// headlineKeys are the metrics of the headline table, in order: the
// reference's (FACTS §8.3) with the tails beside their medians — the p99
// of TPOT, ITL and end-to-end latency, which a run with stalls shows and a
// p50 hides.
var headlineKeys = []string{
	"throughput_tok_per_s", "ttft_p50_ms", "ttft_p99_ms", "tpot_p50_ms", "tpot_p99_ms",
	"itl_p50_ms", "itl_p99_ms", "total_p50_ms", "total_p99_ms",
	"ok_rate", "compliance_rate", "req_per_s_passing", "cost_usd_per_million_tokens",
	"power_avg_w", "joules_per_token",
}

// Tables returns the three tables of the reference's profile output
// (for a run without a source, its own summary and headline metrics, then
// the breakdown):
// "Profile summary", "Headline metrics (source vs profile)" and
// "Profiling breakdown", with its cell formats (FACTS §8.3), and a fourth,
// "Failed requests by class", when p.Failures is not empty. Cells hold
// text from the envelopes and the engine as it is; the renderers escape it.
func Tables(p Profile) []Table {
	ts := []Table{summaryTable(p), headlineTable(p), breakdownTable(p)}
	if len(p.Failures) > 0 {
		ts = append(ts, failureTable(p.Failures))
	}
	return ts
}

// maxFailureText bounds the first error message shown per class.
const maxFailureText = 200

func failureTable(fs []Failure) Table {
	t := Table{Title: "Failed requests by class", Columns: []string{"outcome", "count", "first error"}, Align: "lrl"}
	for _, f := range fs {
		msg := f.First
		if r := []rune(msg); len(r) > maxFailureText {
			msg = string(r[:maxFailureText]) + "…"
		}
		t.Rows = append(t.Rows, []string{f.Class, strconv.Itoa(f.Count), msg})
	}
	return t
}

func summaryTable(p Profile) Table {
	if p.Source == nil {
		return runSummaryTable(p)
	}
	t := Table{Title: "Profile summary", Columns: []string{"field", "source", "profile", "match"}, Align: "lllc"}
	row := func(field, a, b string) {
		m := "no"
		if a == b {
			m = "yes"
		}
		t.Rows = append(t.Rows, []string{field, a, b, m})
	}
	s, n := p.Source, p.Profile
	quant := func(e *envelope.Envelope) string {
		if e.Quantization == nil || e.Quantization.Format == "" {
			return "-"
		}
		return e.Quantization.Format
	}
	row("envelope", p.SourcePath, p.OutputPath)
	row("suite_id", s.SuiteID, n.SuiteID)
	row("model.id", s.Model.ID, n.Model.ID)
	row("engine.name", s.Engine.Name, engineName(n))
	row("quantization", quant(s), quant(n))
	row("dataset.id", s.Dataset.ID, n.Dataset.ID)
	row("seed", strconv.FormatInt(s.Seed, 10), strconv.FormatInt(n.Seed, 10))
	row("slo_template", s.SLOTemplate, n.SLOTemplate)
	// The thresholds each side was judged by: compliance_rate compares
	// thresholds that differ with the hardware class (TTFT < 200 ms on an
	// H100, < 4000 ms on a CPU).
	if sa, sb := sloText(s), sloText(n); sa != "-" || sb != "-" {
		row("slo (hardware class)", sa, sb)
	}
	if pp, how := recordedPoint(n); pp != "" {
		sp, _ := recordedPoint(s)
		if sp == "" && strings.HasPrefix(how, "file name prefix") {
			sp = pp + " (file name)"
		}
		if sp == "" {
			sp = "not recorded"
		}
		m := "no"
		if strings.TrimSuffix(sp, " (file name)") == pp {
			m = "yes"
		}
		if how != "" {
			pp += " (" + how + ")"
		}
		t.Rows = append(t.Rows, []string{"point", sp, pp, m})
	}
	return t
}

// engineName is e's engine.name, marked "(unconfirmed)" when the profile
// recorded that the engine did not identify itself (engine.extra
// kind_confirmed false), so the summary never says "yes" about a kind
// nobody checked.
func engineName(e *envelope.Envelope) string {
	if e.Engine.Extra != nil {
		if v, ok := e.Engine.Extra.Get("kind_confirmed"); ok {
			if b, isBool := v.AsBool(); isBool && !b {
				return e.Engine.Name + " (unconfirmed)"
			}
		}
	}
	return e.Engine.Name
}

// recordedPoint reads the load point from an envelope's driver_options:
// "concurrency 16" or "rps 2" (with the driver when it is known), and where
// the profile took it from ("file name prefix c16", "override", "suite
// default"). It is "" when the envelope records none.
func recordedPoint(e *envelope.Envelope) (point, source string) {
	if e.DriverOptions == nil {
		return "", ""
	}
	str := func(k string) string {
		v, _ := e.DriverOptions.Get(k)
		s, _ := v.AsString()
		return s
	}
	source = str("point_source")
	if v, ok := e.DriverOptions.Get("concurrency"); ok {
		if c, isNum := v.AsFloat64(); isNum {
			return "concurrency " + strconv.FormatFloat(c, 'g', -1, 64), source
		}
	}
	if v, ok := e.DriverOptions.Get("rps"); ok {
		if r, isNum := v.AsFloat64(); isNum {
			return "rps " + strconv.FormatFloat(r, 'g', -1, 64), source
		}
	}
	return "", source
}

// runSummaryTable is the summary of a run without a source: its fields.
func runSummaryTable(p Profile) Table {
	t := Table{Title: "Run summary", Columns: []string{"field", "value"}, Align: "ll"}
	n := p.Profile
	quant := "-"
	if n.Quantization != nil && n.Quantization.Format != "" {
		quant = n.Quantization.Format
	}
	for _, r := range [][]string{
		{"envelope", p.OutputPath}, {"suite_id", n.SuiteID}, {"model.id", n.Model.ID}, {"engine.name", engineName(n)},
		{"engine.version", n.Engine.Version}, {"quantization", quant}, {"dataset.id", n.Dataset.ID},
		{"seed", strconv.FormatInt(n.Seed, 10)}, {"slo_template", n.SLOTemplate},
	} {
		t.Rows = append(t.Rows, r)
	}
	if slo := sloText(n); slo != "-" {
		t.Rows = append(t.Rows, []string{"slo (hardware class)", slo})
	}
	if pp, how := recordedPoint(n); pp != "" {
		if how != "" {
			pp += " (" + how + ")"
		}
		t.Rows = append(t.Rows, []string{"point", pp})
	}
	return t
}

func headlineTable(p Profile) Table {
	if p.Source == nil {
		t := Table{Title: "Headline metrics", Columns: []string{"metric", "value"}, Align: "lr"}
		for _, k := range headlineKeys {
			if _, ok := p.Profile.Metrics.Get(k); ok {
				t.Rows = append(t.Rows, []string{k, headlineValue(p.Profile, k)})
			}
		}
		if c := requestCounts(p.Profile); c != "-" {
			t.Rows = append(t.Rows, []string{"requests ok/failed/cut off", c})
		}
		return t
	}
	t := Table{Title: "Headline metrics (source vs profile)", Columns: []string{"metric", "source", "profile"}, Align: "lrr"}
	for _, k := range headlineKeys {
		_, inS := p.Source.Metrics.Get(k)
		_, inP := p.Profile.Metrics.Get(k)
		if !inS && !inP {
			continue
		}
		t.Rows = append(t.Rows, []string{k, headlineValue(p.Source, k), headlineValue(p.Profile, k)})
	}
	t.Rows = append(t.Rows, contextRows(p)...)
	return t
}

// contextRows are the rows that say what the headline figures rest on:
// the request counts behind the rates.
func contextRows(p Profile) [][]string {
	var rows [][]string
	a, b := requestCounts(p.Source), requestCounts(p.Profile)
	if a != "-" || b != "-" {
		rows = append(rows, []string{"requests ok/failed/cut off", a, b})
	}
	return rows
}

// requestCounts is "ok/failed/cut off" from the n_* counts, "-" when the
// envelope has none.
func requestCounts(e *envelope.Envelope) string {
	n, ok := numeric(e, "n_requests")
	if !ok {
		return "-"
	}
	okN, _ := numeric(e, "n_ok")
	cut, _ := numeric(e, "n_cut_off")
	return fmt.Sprintf("%d/%d/%d", int64(okN), int64(n-okN-cut), int64(cut))
}

// sloText is the resolved SLO and its hardware class, "-" when absent.
func sloText(e *envelope.Envelope) string {
	str := func(k string) string {
		v, _ := e.Metrics.Get(k)
		s, _ := v.AsString()
		return s
	}
	slo, class := str("slo_template_resolved"), str("slo_hardware_class")
	switch {
	case slo == "" && class == "":
		return "-"
	case class == "":
		return slo
	}
	return slo + " (" + class + ")"
}

// headlineValue formats a numeric metric as Python's f"{v:.4g}", else "-".
func headlineValue(e *envelope.Envelope, key string) string {
	v, ok := numeric(e, key)
	if !ok {
		return "-"
	}
	return pyFormat(v, 'g', 4)
}

func numeric(e *envelope.Envelope, key string) (float64, bool) {
	v, ok := e.Metrics.Get(key)
	if !ok {
		return 0, false
	}
	if b, isBool := v.AsBool(); isBool {
		if b {
			return 1, true
		}
		return 0, true
	}
	return v.AsFloat64()
}

// pyFormat formats like Python's format(v, f".{prec}{verb}").
func pyFormat(v float64, verb byte, prec int) string { return stats.PyFormat(v, verb, prec) }

func breakdownTable(p Profile) Table {
	t := Table{Title: "Profiling breakdown", Columns: []string{"metric", "value", "note"}, Align: "lrl"}
	n := p.Profile
	unavail := func(key, fallback string) string {
		if r, ok := p.Unavailable[key]; ok && r != "" {
			return "unavailable: " + r
		}
		return fallback
	}
	add := func(metric, value, note string) { t.Rows = append(t.Rows, []string{metric, value, note}) }

	// % time on host
	u, ok := numeric(n, "gpu_util_avg_pct")
	if !ok {
		if u, ok = numeric(n, "util_gpu_pct_avg"); !ok {
			u, ok = numeric(n, "util_avg_pct")
		}
	}
	if ok {
		add("% time on host", pyFormat(math.Max(0, 100-u), 'f', 2)+"%", "100 - avg GPU util ("+pyFormat(u, 'f', 2)+"%)")
	} else {
		add("% time on host", "-", unavail("gpu_util_avg_pct", "no gpu_util_avg_pct in envelope"))
	}

	// Energy GPU vs CPU+DRAM
	g, gok := numeric(n, "energy_joules_gpu")
	c, cok := numeric(n, "energy_joules_cpu_dram")
	total, tok := numeric(n, "energy_joules_total")
	switch {
	case gok && cok && c > 0:
		add("Energy GPU vs CPU+DRAM", pyFormat(g/c, 'f', 3), pyFormat(g, 'g', 4)+" J / "+pyFormat(c, 'g', 4)+" J")
	case gok:
		add("Energy GPU vs CPU+DRAM", "-", "GPU="+pyFormat(g, 'g', 4)+" J, CPU+DRAM "+unavail("energy_joules_cpu_dram", "unavailable"))
	case cok:
		add("Energy GPU vs CPU+DRAM", "-", "CPU+DRAM="+pyFormat(c, 'g', 4)+" J, GPU "+unavail("energy_joules_gpu", "unavailable"))
	case tok:
		// An envelope from the reference: the total is not split.
		add("Energy GPU vs CPU+DRAM", "-", "total="+pyFormat(total, 'g', 4)+" J, not split into GPU and CPU+DRAM")
	default:
		add("Energy GPU vs CPU+DRAM", "-", unavail("energy_joules_gpu", "no energy_joules_* in envelope"))
	}

	// Avg power under load
	if pw, ok := numeric(n, "power_avg_w_under_load"); ok {
		add("Avg power under load", pyFormat(pw, 'f', 2)+" W", "samples where util_gpu > 50%")
	} else if pw, ok := numeric(n, "power_avg_w"); ok {
		add("Avg power under load", pyFormat(pw, 'f', 2)+" W", "fallback: power_avg_w (no load filter)")
	} else {
		add("Avg power under load", "-", unavail("power_avg_w_under_load", "no power_avg_w_under_load in envelope"))
	}

	count := func(label, key string, interval, def time.Duration) {
		if interval <= 0 {
			interval = def
		}
		note := "interval=" + formatInterval(interval)
		if v, ok := numeric(n, key); ok {
			add(label, strconv.FormatInt(int64(v), 10), note)
			return
		}
		add(label, "-", note+"; "+unavail(key, "count not aggregated into envelope"))
	}
	count("NVML sample count", "nvml_sample_count", p.NVMLInterval, DefaultNVMLInterval)
	count("RAPL sample count", "rapl_sample_count", p.RAPLInterval, DefaultRAPLInterval)

	// Beyond the reference's rows: what the load cost above idle, the GPUs
	// left out, and the joules per request.
	watts := func(v float64) string { return pyFormat(v, 'f', 2) + " W" }
	joules := func(v float64) string { return pyFormat(v, 'g', 4) + " J" }
	loadW, loadOK := numeric(n, "power_avg_w_under_load")
	loadNote := "under load (util_gpu > 50%)"
	if !loadOK {
		loadW, loadOK = numeric(n, "power_avg_w")
		loadNote = "over the window (power_avg_w)"
	}
	if idle, ok := numeric(n, "power_idle_w"); ok {
		value, note := watts(idle)+" / -", "idle phase before the load"
		if loadOK {
			value = watts(idle) + " / " + watts(loadW)
			note = "idle phase / " + loadNote
		}
		if above, ok := numeric(n, "energy_joules_gpu_above_idle"); ok {
			note += "; " + joules(above) + " above idle"
			if jt, ok := numeric(n, "joules_per_token_above_idle"); ok {
				note += " (" + pyFormat(jt, 'g', 4) + " J/token)"
			}
		}
		add("Idle vs under-load power", value, note)
	} else {
		add("Idle vs under-load power", "-", unavail("power_idle_w", "no power_idle_w in envelope"))
	}
	if w, ok := numeric(n, "power_avg_w_other_gpus"); ok {
		note := "GPUs the engine does not run on, left out of the energy figures"
		if j, ok := numeric(n, "energy_joules_gpu_other_gpus"); ok {
			note = joules(j) + " on " + note
		}
		add("Other GPUs (not the engine's)", watts(w), note)
	}
	p50, ok50 := numeric(n, "joules_per_request_p50")
	p99, ok99 := numeric(n, "joules_per_request_p99")
	if ok50 && ok99 {
		note := "GPU energy split by tokens streamed"
		if t50, ok := numeric(n, "joules_per_output_token_p50"); ok {
			note = "p50 " + pyFormat(t50, 'g', 4) + " J/output token; " + note
		}
		if gaps, ok := numeric(n, "energy_joules_gpu_idle_gaps"); ok && gaps > 0 {
			note += "; " + joules(gaps) + " with nothing in flight"
		}
		add("Joules per request p50/p99", joules(p50)+" / "+joules(p99), note)
	} else {
		add("Joules per request p50/p99", "-", unavail("joules_per_request_p50", "no joules_per_request_* in envelope"))
	}
	return t
}

func formatInterval(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	return strings.TrimSuffix(strings.TrimRight(strconv.FormatFloat(ms, 'f', 3, 64), "0"), ".") + " ms"
}

// String formats a Table as plain aligned text (for debugging).
func (t Table) String() string {
	var b strings.Builder
	_ = writeTable(&b, t, false)
	return b.String()
}
