package sweep

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/benchprof/benchprof/internal/stats"
	"github.com/benchprof/benchprof/internal/svgplot"
)

// WriteHTML writes the summary as one self-contained HTML page (inline CSS
// and SVG, no script, nothing outside the file), in report/timeline's
// style: the summary table, then three curves over the points that have
// envelopes, in order of load — latency against throughput (TTFT and TPOT,
// p50 and p99), energy per output token against throughput, and GPU power
// against load (the concurrency or rate) — with the knee (see Knee) and a
// peak search's peak and the point past it marked. A curve with nothing to
// draw (no point measured GPU power, for one) says so instead.
func WriteHTML(w io.Writer, s *Summary) error {
	var b bytes.Buffer
	title := s.Title
	if title == "" {
		title = "benchprof sweep"
	}
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	fmt.Fprintf(&b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n<h1>%s</h1>\n<ul class=\"meta\">\n", svgplot.Esc(title), pageCSS, svgplot.Esc(title))
	if s.SuiteID != "" {
		fmt.Fprintf(&b, "<li>suite: <code>%s</code>, model <code>%s</code>, engine <code>%s</code></li>\n", svgplot.Esc(s.SuiteID), svgplot.Esc(s.Model), svgplot.Esc(s.Engine))
	}
	fmt.Fprintf(&b, "<li>%d points; %d with an envelope</li>\n", len(s.Points), withEnvelope(s))
	if s.searched() {
		fmt.Fprintf(&b, "<li>SLO: %s</li>\n<li>peak: %s</li>\n", svgplot.Esc(s.SLO), svgplot.Esc(peakLine(s)))
		if s.Stop != "" {
			fmt.Fprintf(&b, "<li>stopped: %s</li>\n", svgplot.Esc(s.Stop))
		}
	}
	knee, hasKnee := Knee(s)
	if hasKnee {
		fmt.Fprintf(&b, "<li>knee: %s — where TTFT p99 starts to climb faster than throughput (both scaled to the sweep's range, the point farthest above the diagonal)</li>\n", svgplot.Esc(s.Points[knee].Label))
	} else {
		b.WriteString("<li>knee: none found (it needs three points with throughput and TTFT p99, and a curve that bends between the lowest and the highest load)</li>\n")
	}
	b.WriteString("</ul>\n")
	writeHTMLTable(&b, s)
	xLoad := "concurrency"
	if len(s.Points) > 0 && s.Points[0].Driver == OpenLoop {
		xLoad = "requests per second"
	}
	charts := []curve{
		{title: "Latency vs throughput", xLabel: "throughput (tok/s)", yLabel: "ms", xKey: KneeThroughputKey,
			series: []series{{"TTFT p50", "ttft_p50_ms"}, {"TTFT p99", "ttft_p99_ms"}, {"TPOT p50", "tpot_p50_ms"}, {"TPOT p99", "tpot_p99_ms"}},
			absent: "no point has both a throughput and a latency"},
		{title: "Energy per token vs throughput", xLabel: "throughput (tok/s)", yLabel: "J/token", xKey: KneeThroughputKey,
			series: []series{{"J/token", "joules_per_token"}},
			absent: "no point has joules_per_token (it needs GPU or CPU energy telemetry, and ok requests)"},
		{title: "GPU power vs load", xLabel: xLoad, yLabel: "W", xKey: "",
			series: []series{{"GPU power (avg)", "power_avg_w"}, {"GPU power (peak)", "power_peak_w"}},
			absent: "no point has power_avg_w (no GPU telemetry)"},
	}
	for _, c := range charts {
		c.write(&b, s, knee, hasKnee)
	}
	if len(s.Warnings) > 0 {
		b.WriteString("<ul class=\"warn\">\n")
		for _, w := range s.Warnings {
			fmt.Fprintf(&b, "<li>warning: %s</li>\n", svgplot.Esc(w))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("<p class=\"foot\">Self-contained: inline CSS and SVG, no scripts. Hover over a point for its figures.</p>\n</body>\n</html>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func withEnvelope(s *Summary) int {
	n := 0
	for _, p := range s.Points {
		if p.Envelope != nil {
			n++
		}
	}
	return n
}

func writeHTMLTable(b *bytes.Buffer, s *Summary) {
	t := Table(s)
	fmt.Fprintf(b, "<h2>%s</h2>\n<table>\n<tr>", svgplot.Esc(t.Title))
	for _, c := range t.Columns {
		fmt.Fprintf(b, "<th>%s</th>", svgplot.Esc(c))
	}
	b.WriteString("</tr>\n")
	for _, r := range t.Rows {
		b.WriteString("<tr>")
		for j, c := range r {
			cls := ""
			if j < len(t.Align) && t.Align[j] == 'r' {
				cls = " class=\"r\""
			}
			fmt.Fprintf(b, "<td%s>%s</td>", cls, svgplot.Esc(c))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table>\n")
}

const pageCSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;background:#fff;max-width:1000px;margin:24px auto;padding:0 12px}
h1{font-size:20px;margin:0 0 6px}
h2{font-size:15px;margin:0 0 4px}
ul.meta{margin:0 0 20px;padding-left:18px;color:#444}
ul.warn{color:#8a4b00;font-size:12px}
table{border-collapse:collapse;font-size:12px;margin:0 0 26px}
th,td{border-bottom:1px solid #e4e4e4;padding:3px 8px;text-align:left;white-space:nowrap}
td.r{text-align:right;font-variant-numeric:tabular-nums}
figure,section.nm{margin:0 0 26px}
.legend{display:flex;flex-wrap:wrap;gap:2px 14px;font-size:12px;margin:0 0 2px}
.legend i{display:inline-block;width:16px;height:3px;margin:0 5px 0 0;vertical-align:middle}
svg{display:block;width:100%;height:auto}
svg text{font-size:11px;fill:#444}
svg .grid{stroke:#ececec;stroke-width:1}
svg .frame{fill:none;stroke:#999;stroke-width:1}
svg .s{fill:none;stroke-width:1.5;stroke-linejoin:round}
svg .mark{stroke-width:1;stroke-dasharray:4 3}
section.nm div{border:1px dashed #bbb;background:#fafafa;color:#666;padding:10px 12px}
.foot{font-size:12px;color:#888}
`

// palette is Tableau 10, as report/timeline draws.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}

const (
	kneeColor = "#d62728"
	peakColor = "#2ca02c"
	pastColor = "#7f7f7f"
)

// SVG geometry, in user units of the viewBox.
const (
	svgW, svgH             = 960, 280
	padL, padR, padT, padB = 64, 16, 14, 38
	plotW, plotH           = svgW - padL - padR, svgH - padT - padB
	ticksWanted            = 6.0
)

type series struct{ label, key string }

// curve is one chart: series of metrics against throughput (xKey) or, when
// xKey is "", against the load.
type curve struct {
	title, xLabel, yLabel string
	xKey                  string
	series                []series
	absent                string
}

type xy struct {
	x, y  float64
	point int
}

func (c curve) x(p *Point) (float64, bool) {
	if c.xKey == "" {
		return p.Load, true
	}
	return p.metric(c.xKey)
}

func (c curve) write(b *bytes.Buffer, s *Summary, knee int, hasKnee bool) {
	lines := make([][]xy, len(c.series))
	var all []xy
	for _, i := range s.byLoad() {
		p := &s.Points[i]
		x, ok := c.x(p)
		if !ok {
			continue
		}
		for k, sr := range c.series {
			if y, ok := p.metric(sr.key); ok {
				lines[k] = append(lines[k], xy{x, y, i})
				all = append(all, xy{x, y, i})
			}
		}
	}
	if len(all) == 0 {
		fmt.Fprintf(b, "<section class=\"nm\">\n<h2>%s</h2>\n<div>Not measured: %s</div>\n</section>\n", svgplot.Esc(c.title), svgplot.Esc(c.absent))
		return
	}
	x0, x1, y0, y1 := all[0].x, all[0].x, 0.0, all[0].y
	for _, p := range all {
		x0, x1, y0, y1 = min(x0, p.x), max(x1, p.x), min(y0, p.y), max(y1, p.y)
	}
	if c.xKey == "" {
		x0 = min(x0, 0)
	}
	xstep := svgplot.NiceStep((x1 - x0) / ticksWanted)
	if x1 <= x0 {
		x0, x1 = x0-xstep, x1+xstep
	}
	x0, x1 = math.Floor(x0/xstep)*xstep, math.Ceil(x1/xstep)*xstep
	ystep := svgplot.NiceStep((y1 - y0) / ticksWanted)
	if y1 <= y0 {
		y1 = y0 + ystep
	}
	y0, y1 = math.Floor(y0/ystep)*ystep, math.Ceil(y1/ystep)*ystep
	px := func(v float64) float64 { return padL + (v-x0)/(x1-x0)*plotW }
	py := func(v float64) float64 { return padT + plotH - (v-y0)/(y1-y0)*plotH }

	fmt.Fprintf(b, "<figure>\n<h2>%s</h2>\n<div class=\"legend\">", svgplot.Esc(c.title))
	for k, sr := range c.series {
		if len(lines[k]) > 0 {
			fmt.Fprintf(b, "<span><i style=\"background:%s\"></i>%s</span>", palette[k%len(palette)], svgplot.Esc(sr.label))
		}
	}
	marks := c.marks(s, knee, hasKnee)
	for _, m := range marks {
		fmt.Fprintf(b, "<span><i style=\"background:%s\"></i>%s</span>", m.color, svgplot.Esc(m.label))
	}
	b.WriteString("</div>\n")
	fmt.Fprintf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n", svgW, svgH, svgplot.Esc(c.title))
	for i, v := range svgplot.Ticks(y0, y1, ystep) {
		y := py(v)
		if i > 0 {
			fmt.Fprintf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\"/>", padL, svgplot.Coord(y), padL+plotW, svgplot.Coord(y))
		}
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n", padL-6, svgplot.Coord(y+4), svgplot.TickLabel(v, ystep))
	}
	for _, v := range svgplot.Ticks(x0, x1, xstep) {
		x := px(v)
		fmt.Fprintf(b, "<line class=\"grid\" x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\"/>", svgplot.Coord(x), padT, svgplot.Coord(x), padT+plotH)
		fmt.Fprintf(b, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", svgplot.Coord(x), padT+plotH+15, svgplot.TickLabel(v, xstep))
	}
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", padL+plotW/2, svgH-4, svgplot.Esc(c.xLabel))
	fmt.Fprintf(b, "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">%s</text>\n", padT+plotH/2, padT+plotH/2, svgplot.Esc(c.yLabel))
	for _, m := range marks {
		x := px(m.x)
		fmt.Fprintf(b, "<line class=\"mark\" stroke=\"%s\" x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\"><title>%s</title></line>", m.color, svgplot.Coord(x), padT, svgplot.Coord(x), padT+plotH, svgplot.Esc(m.label))
		fmt.Fprintf(b, "<text x=\"%s\" y=\"%d\" fill=\"%s\">%s</text>\n", svgplot.Coord(x+3), padT+10+12*m.row, m.color, svgplot.Esc(m.label))
	}
	for k, l := range lines {
		if len(l) == 0 {
			continue
		}
		color := palette[k%len(palette)]
		pts := make([]string, len(l))
		for i, p := range l {
			pts[i] = svgplot.Coord(px(p.x)) + "," + svgplot.Coord(py(p.y))
		}
		fmt.Fprintf(b, "<polyline class=\"s\" stroke=\"%s\" points=\"%s\"><title>%s</title></polyline>\n", color, strings.Join(pts, " "), svgplot.Esc(c.series[k].label))
		for _, p := range l {
			pt := &s.Points[p.point]
			tip := fmt.Sprintf("%s: %s %s at %s %s", pt.Label, c.series[k].label, stats.PyFormat(p.y, 'g', 4), stats.PyFormat(p.x, 'g', 4), c.xLabel)
			fmt.Fprintf(b, "<circle cx=\"%s\" cy=\"%s\" r=\"3\" fill=\"%s\"><title>%s</title></circle>", svgplot.Coord(px(p.x)), svgplot.Coord(py(p.y)), color, svgplot.Esc(tip))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n</svg>\n</figure>\n", padL, padT, plotW, plotH)
}

type mark struct {
	label, color string
	x            float64
	row          int
}

// marks are the vertical lines of the knee, the peak and the point past
// it, where the chart has an x for them.
func (c curve) marks(s *Summary, knee int, hasKnee bool) []mark {
	var out []mark
	add := func(i int, what, color string) {
		if i < 0 {
			return
		}
		if x, ok := c.x(&s.Points[i]); ok {
			out = append(out, mark{label: what + " " + s.Points[i].Label, color: color, x: x, row: len(out)})
		}
	}
	if hasKnee {
		add(knee, "knee", kneeColor)
	}
	add(s.find(RolePeak), "peak", peakColor)
	add(s.find(RolePastPeak), "past peak", pastColor)
	return out
}
