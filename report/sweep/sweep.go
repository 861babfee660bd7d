package sweep

import (
	"bytes"
	"cmp"
	"encoding/json"
	"io"
	"math"
	"slices"
	"strconv"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/internal/stats"
	"github.com/benchprof/benchprof/internal/textsafe"
	"github.com/benchprof/benchprof/report"
)

// Drivers, as Point.Driver names them (loadgen's driver kinds).
const (
	ClosedLoop = "closed_loop"
	OpenLoop   = "open_loop"
)

// Roles a peak search gives its probes (Point.Role).
const (
	// RolePeak: the highest point that held the SLO.
	RolePeak = "peak"
	// RolePastPeak: the lowest point above the peak that did not.
	RolePastPeak = "past peak"
)

// Point is one point of a sweep, or one probe of a peak search.
type Point struct {
	// Label names the point as its envelope's file prefix does: "c16",
	// "rps0p5".
	Label string
	// Driver is ClosedLoop or OpenLoop; Load is the point's concurrency or
	// rate (requests per second).
	Driver string
	Load   float64
	// Envelope is the point's signed envelope, nil when none was written;
	// Path is where it was written.
	Envelope *envelope.Envelope
	Path     string
	// Files names the point's side files by role ("requests",
	// "timeline", "html").
	Files map[string]string
	// Error says why no envelope was written ("" when one was).
	Error string
	// Interrupted marks the point that was running when the sweep was
	// stopped.
	Interrupted bool
	// Probe numbers a peak search's probes in the order they ran, from 1;
	// 0 in a plain sweep.
	Probe int
	// Holds and Verdict are a peak search's judgement of the point:
	// whether it held the SLO, and why not ("holds" when it did).
	// Verdict is "" in a plain sweep.
	Holds   bool
	Verdict string
	// Role is RolePeak, RolePastPeak or "".
	Role string
}

// Summary is a sweep, or a peak search, as its summary shows it.
type Summary struct {
	// Title heads the page.
	Title string
	// SuiteID, Model and Engine say what was measured.
	SuiteID, Model, Engine string
	// Points are in the order they ran.
	Points []Point
	// SLO is what a peak search required of a point ("" for a plain
	// sweep); Stop says why the search stopped.
	SLO  string
	Stop string
	// Warnings are shown after the table.
	Warnings []string
}

// metric reads a numeric metric of p's envelope.
func (p *Point) metric(key string) (float64, bool) {
	if p.Envelope == nil {
		return 0, false
	}
	v, ok := p.Envelope.Metric(key)
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// byLoad returns the indexes of s.Points ordered by load (ties in run
// order).
func (s *Summary) byLoad() []int {
	idx := make([]int, len(s.Points))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s.Points[a].Load, s.Points[b].Load) })
	return idx
}

// find returns the index of the point with role, or -1.
func (s *Summary) find(role string) int {
	return slices.IndexFunc(s.Points, func(p Point) bool { return p.Role == role })
}

// KneeLatencyKey and KneeThroughputKey are the metrics the knee is found
// on: TTFT p99 against output throughput.
const (
	KneeLatencyKey    = "ttft_p99_ms"
	KneeThroughputKey = "throughput_tok_per_s"
)

// Knee returns the index in s.Points of the knee of the latency–throughput
// curve: where latency starts to climb faster than throughput. Over the
// points that have both a throughput (throughput_tok_per_s) and a TTFT
// p99 (ttft_p99_ms), in order of load, each scaled to [0, 1] across those
// points (t for throughput, l for latency), the knee is the point with the
// largest t − l (the difference curve of Kneedle, Satopää et al., 2011),
// provided that difference is above 0 and the point is neither the
// lowest- nor the highest-load one. Past it, more load buys little
// throughput and much latency. There is no knee (ok false) with fewer than
// three such points, or when latency or throughput does not change across
// them, or the curve does not bend within the sweep.
func Knee(s *Summary) (int, bool) {
	var idx []int
	var t, l []float64
	for _, i := range s.byLoad() {
		p := &s.Points[i]
		tv, ok1 := p.metric(KneeThroughputKey)
		lv, ok2 := p.metric(KneeLatencyKey)
		if ok1 && ok2 {
			idx, t, l = append(idx, i), append(t, tv), append(l, lv)
		}
	}
	if len(idx) < 3 || !scale(t) || !scale(l) {
		return 0, false
	}
	best, bestD := -1, 0.0
	for k := 1; k < len(idx)-1; k++ {
		if d := t[k] - l[k]; d > bestD {
			best, bestD = k, d
		}
	}
	if best < 0 {
		return 0, false
	}
	return idx[best], true
}

// scale maps vs onto [0, 1] in place; false when they are all equal.
func scale(vs []float64) bool {
	lo, hi := slices.Min(vs), slices.Max(vs)
	if !(hi > lo) {
		return false
	}
	for i, v := range vs {
		vs[i] = (v - lo) / (hi - lo)
	}
	return true
}

// columns are the metrics of the summary table, with their headers.
var columns = []struct{ key, header string }{
	{"throughput_tok_per_s", "tok/s"},
	{"ttft_p50_ms", "TTFT p50 ms"},
	{"ttft_p99_ms", "TTFT p99 ms"},
	{"tpot_p50_ms", "TPOT p50 ms"},
	{"tpot_p99_ms", "TPOT p99 ms"},
	{"goodput_at_slo", "goodput req/s"},
	{"ok_rate", "ok rate"},
	{"power_avg_w", "GPU W"},
	{"joules_per_token", "J/token"},
}

// searched reports whether s is a peak search.
func (s *Summary) searched() bool { return s.SLO != "" }

// Table returns the summary table: one row per point, in order of load,
// with its throughput, TTFT and TPOT p50 and p99, goodput (requests per
// second meeting the per-request SLO), ok rate, GPU power and joules per
// output token, each as Python's .4g (as package report formats headline
// metrics), "-" where the point has no such metric; for a peak search, the
// probe's number and verdict; and a note naming the knee, the peak, the
// point past it, an interrupted point or why a point has no envelope.
func Table(s *Summary) report.Table {
	t := report.Table{Title: "Sweep summary", Columns: []string{"point"}, Align: "l"}
	if s.searched() {
		t.Title = "Peak search"
		t.Columns = append(t.Columns, "probe")
		t.Align += "r"
	}
	for _, c := range columns {
		t.Columns = append(t.Columns, c.header)
		t.Align += "r"
	}
	if s.searched() {
		t.Columns = append(t.Columns, "SLO")
		t.Align += "l"
	}
	t.Columns = append(t.Columns, "note")
	t.Align += "l"
	knee, hasKnee := Knee(s)
	for _, i := range s.byLoad() {
		p := &s.Points[i]
		row := []string{p.Label}
		if s.searched() {
			row = append(row, strconv.Itoa(p.Probe))
		}
		for _, c := range columns {
			v, ok := p.metric(c.key)
			cell := "-"
			if ok {
				cell = stats.PyFormat(v, 'g', 4)
			}
			row = append(row, cell)
		}
		if s.searched() {
			row = append(row, p.Verdict)
		}
		row = append(row, note(p, hasKnee && i == knee))
		t.Rows = append(t.Rows, row)
	}
	return t
}

// note is a point's note: its roles, then why it has no envelope.
func note(p *Point, knee bool) string {
	var parts []string
	if knee {
		parts = append(parts, "knee")
	}
	if p.Role != "" {
		parts = append(parts, p.Role)
	}
	switch {
	case p.Interrupted && p.Error != "":
		parts = append(parts, "interrupted: "+p.Error)
	case p.Interrupted:
		parts = append(parts, "interrupted")
	case p.Error != "":
		parts = append(parts, "no envelope: "+p.Error)
	}
	out := ""
	for i, s := range parts {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

// WriteText writes the summary table, the search's SLO, peak and stopping
// reason, and the warnings, escaped as package report escapes its tables.
func WriteText(w io.Writer, s *Summary, opts report.TextOptions) error {
	if err := report.WriteTables(w, []report.Table{Table(s)}, opts); err != nil {
		return err
	}
	var b bytes.Buffer
	if s.searched() {
		b.WriteString("\nSLO: " + textsafe.Escape(s.SLO) + "\n")
		b.WriteString("peak: " + textsafe.Escape(peakLine(s)) + "\n")
		if s.Stop != "" {
			b.WriteString("stopped: " + textsafe.Escape(s.Stop) + "\n")
		}
	}
	if k, ok := Knee(s); ok {
		b.WriteString("knee: " + textsafe.Escape(s.Points[k].Label) + " (where TTFT p99 starts to climb faster than throughput)\n")
	}
	for _, warn := range s.Warnings {
		b.WriteString("warning: " + textsafe.Escape(warn) + "\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// peakLine says what the search found: the peak, the point past it and
// the peak's energy per token.
func peakLine(s *Summary) string {
	pk, past := s.find(RolePeak), s.find(RolePastPeak)
	var out string
	if pk < 0 {
		out = "none: no probe held the SLO"
	} else {
		p := &s.Points[pk]
		out = p.Label
		if j, ok := p.metric("joules_per_token"); ok {
			out += ", " + stats.PyFormat(j, 'g', 4) + " J/token"
		} else {
			out += ", J/token not measured"
		}
	}
	if past >= 0 {
		out += "; past it: " + s.Points[past].Label + " (" + s.Points[past].Verdict + ")"
	} else if pk >= 0 {
		out += "; no probe past it failed"
	}
	return out
}

// jsonPoint is one point in the JSON document.
type jsonPoint struct {
	Label       string             `json:"label"`
	Driver      string             `json:"driver"`
	Load        float64            `json:"load"`
	Probe       int                `json:"probe,omitempty"`
	Envelope    string             `json:"envelope,omitempty"`
	Files       map[string]string  `json:"files,omitempty"`
	Error       string             `json:"error,omitempty"`
	Interrupted bool               `json:"interrupted,omitempty"`
	Holds       *bool              `json:"holds,omitempty"`
	Verdict     string             `json:"verdict,omitempty"`
	Role        string             `json:"role,omitempty"`
	Knee        bool               `json:"knee,omitempty"`
	Metrics     map[string]float64 `json:"metrics"`
}

type jsonSummary struct {
	Title    string       `json:"title"`
	SuiteID  string       `json:"suite_id,omitempty"`
	Model    string       `json:"model,omitempty"`
	Engine   string       `json:"engine,omitempty"`
	SLO      string       `json:"slo,omitempty"`
	Peak     string       `json:"peak,omitempty"`
	PastPeak string       `json:"past_peak,omitempty"`
	Knee     string       `json:"knee,omitempty"`
	Stop     string       `json:"stop,omitempty"`
	Points   []jsonPoint  `json:"points"`
	Table    report.Table `json:"table"`
	Warnings []string     `json:"warnings"`
}

// WriteJSON writes the summary as one JSON document: the points in the
// order they ran, each with its envelope's path, side files, verdict and
// the table's metrics (absent ones left out), the knee, the peak and the
// point past it by label, and the table itself.
func WriteJSON(w io.Writer, s *Summary) error {
	doc := jsonSummary{Title: s.Title, SuiteID: s.SuiteID, Model: s.Model, Engine: s.Engine, SLO: s.SLO, Stop: s.Stop,
		Table: Table(s), Warnings: append([]string{}, s.Warnings...)}
	knee, hasKnee := Knee(s)
	if hasKnee {
		doc.Knee = s.Points[knee].Label
	}
	for i := range s.Points {
		p := &s.Points[i]
		jp := jsonPoint{Label: p.Label, Driver: p.Driver, Load: p.Load, Probe: p.Probe, Envelope: p.Path, Files: p.Files,
			Error: p.Error, Interrupted: p.Interrupted, Verdict: p.Verdict, Role: p.Role, Knee: hasKnee && i == knee,
			Metrics: map[string]float64{}}
		if s.searched() {
			holds := p.Holds
			jp.Holds = &holds
		}
		for _, c := range columns {
			if v, ok := p.metric(c.key); ok {
				jp.Metrics[c.key] = v
			}
		}
		switch p.Role {
		case RolePeak:
			doc.Peak = p.Label
		case RolePastPeak:
			doc.PastPeak = p.Label
		}
		doc.Points = append(doc.Points, jp)
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return err
	}
	_, err := w.Write(textsafe.JSON(b.Bytes()))
	return err
}
