package timeline

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/benchprof/benchprof/internal/svgplot"
)

// ---- Rendering -----------------------------------------------------------

// palette is Tableau 10, which stays distinguishable for up to 10 series.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"}

const sumColor = "#222222"

// SVG geometry, in user units of the viewBox.
const (
	svgW, svgH                         = 960, 250
	padL, padR, padT, padB             = 64, 16, 10, 38
	plotW, plotH                       = svgW - padL - padR, svgH - padT - padB
	xTicksWanted, yTicksWanted float64 = 9, 5
)

type line struct {
	label, color string
	sum          bool
	n            int64 // input points
	pts          []pt
}

type chart struct {
	title, unit string
	absent      string // not measured: why
	lines       []line
	yFloor      float64 // the y axis reaches at least this
	binNote     string
	caption     string
}

type axis struct{ x0, x1 int64 }

func (ax axis) px(t int64) float64 {
	return padL + float64(t-ax.x0)/float64(ax.x1-ax.x0)*plotW
}

// view is everything a page shows, taken from the aggregates (under the
// builder's locks) so that it is formatted without them.
type view struct {
	page                  pageConfig
	timeline, trace       bool // given
	rows, readings, other int64
	samplers              []string
	requests, warmup, bad int64
	tokens, chunks        int64
	win                   span
	winFrom               string
	ax                    axis
	charts                []chart
}

// newView draws the page's charts from tl and tr (nil when not given),
// putting the trace on the timeline's clock.
func newView(c pageConfig, tl *timelineAgg, tr *traceAgg) view {
	v := view{page: c, timeline: tl != nil, trace: tr != nil}
	// The window and the shared time axis.
	switch {
	case c.win.ok:
		v.win, v.winFrom = c.win, "given"
	case tr != nil && tr.hasSend && tr.hasEnd && tr.lastEnd > tr.firstSend:
		v.win, v.winFrom = span{ok: true, lo: tr.firstSend + c.offset, hi: tr.lastEnd + c.offset}, "from the trace: first post-warmup send to last end"
	}
	all := span{ok: true, lo: 0, hi: 0}
	if tl != nil {
		all.join(tl.when)
		v.rows, v.readings, v.other = tl.rows, tl.readings, tl.other
		v.samplers = slices.Clone(tl.samplers)
	}
	if tr != nil {
		all.join(tr.when.shift(c.offset))
		v.requests, v.warmup, v.bad, v.tokens, v.chunks = tr.requests, tr.warmup, tr.bad, tr.tokenCount, tr.chunks
	}
	all.join(v.win)
	v.ax = axis{all.lo, all.hi}
	if v.ax.x1 <= v.ax.x0 {
		v.ax.x1 = v.ax.x0 + int64(time.Second)
	}
	v.charts = []chart{gpuPowerChart(tl, c.sensors), gpuUtilChart(tl), raplChart(tl), inflightChart(tr, c.offset), tokensChart(tr, c.offset)}
	return v
}

func (v *view) write(b *bytes.Buffer) {
	c := v.page
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	fmt.Fprintf(b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", svgplot.Esc(c.title), pageCSS)
	fmt.Fprintf(b, "<h1>%s</h1>\n<ul class=\"meta\">\n", svgplot.Esc(c.title))
	if c.envelope != "" {
		fmt.Fprintf(b, "<li>envelope: <code>%s</code></li>\n", svgplot.Esc(c.envelope))
	}
	if !v.timeline {
		b.WriteString("<li>timeline: none given</li>\n")
	} else {
		names := make([]string, len(v.samplers))
		for i, s := range v.samplers {
			names[i] = svgplot.Esc(s)
		}
		slices.Sort(names)
		fmt.Fprintf(b, "<li>timeline: %d rows in %d readings", v.rows, v.readings)
		if len(names) > 0 {
			fmt.Fprintf(b, " (samplers: %s)", strings.Join(names, ", "))
		}
		if v.other > 0 {
			fmt.Fprintf(b, "; %d rows of other kinds (psys, subzones) not drawn", v.other)
		}
		b.WriteString("</li>\n")
	}
	if !v.trace {
		b.WriteString("<li>trace: none given</li>\n")
	} else {
		fmt.Fprintf(b, "<li>trace: %d requests (%d warmup, %d not ok), %d output tokens in %d chunks", v.requests, v.warmup, v.bad, v.tokens, v.chunks)
		if c.offset != 0 {
			fmt.Fprintf(b, "; its offsets shifted by %s s onto the timeline's clock", signedSeconds(c.offset))
		}
		b.WriteString("</li>\n")
	}
	if c.idle.ok {
		fmt.Fprintf(b, "<li>idle phase: %s s to %s s, before the load (the idle baseline, power_idle_w, is measured over it)</li>\n", seconds(c.idle.lo), seconds(c.idle.hi))
	}
	if v.win.ok {
		fmt.Fprintf(b, "<li>measurement window: %s s to %s s (%s), shaded on every chart</li>\n", seconds(v.win.lo), seconds(v.win.hi), v.winFrom)
	} else {
		b.WriteString("<li>measurement window: unknown (no window given and no post-warmup request in the trace), not shaded</li>\n")
	}
	b.WriteString("</ul>\n")
	for _, ch := range v.charts {
		writeChart(b, ch, v.ax, v.win)
	}
	b.WriteString("<p class=\"foot\">Self-contained: inline CSS and SVG, no scripts. Hover over a line for its name.</p>\n</body>\n</html>\n")
}

const pageCSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222;background:#fff;max-width:1000px;margin:24px auto;padding:0 12px}
h1{font-size:20px;margin:0 0 6px}
h2{font-size:15px;margin:0 0 4px}
ul.meta{margin:0 0 20px;padding-left:18px;color:#444}
figure,section.nm{margin:0 0 26px}
.legend{display:flex;flex-wrap:wrap;gap:2px 14px;font-size:12px;margin:0 0 2px}
.legend i{display:inline-block;width:16px;height:3px;margin:0 5px 0 0;vertical-align:middle}
.legend i.win{height:10px;background:#dcebf7;border:1px solid #a9c9e6}
.legend i.sum{height:4px}
svg{display:block;width:100%;height:auto}
svg text{font-size:11px;fill:#444}
svg .grid{stroke:#ececec;stroke-width:1}
svg .frame{fill:none;stroke:#999;stroke-width:1}
svg .win{fill:#dcebf7}
svg .s{fill:none;stroke-width:1.2;stroke-linejoin:round}
svg .s.sum{stroke-width:2}
figcaption{font-size:12px;color:#555;margin-top:2px}
section.nm div{border:1px dashed #bbb;background:#fafafa;color:#666;padding:10px 12px}
.foot{font-size:12px;color:#888}
`

func writeChart(b *bytes.Buffer, ch chart, ax axis, win span) {
	title := ch.title
	if ch.unit != "" {
		title += " (" + ch.unit + ")"
	}
	if ch.absent != "" {
		fmt.Fprintf(b, "<section class=\"nm\">\n<h2>%s</h2>\n<div>Not measured: %s</div>\n</section>\n", svgplot.Esc(title), svgplot.Esc(ch.absent))
		return
	}
	fmt.Fprintf(b, "<figure>\n<h2>%s</h2>\n<div class=\"legend\">", svgplot.Esc(title))
	for _, l := range ch.lines {
		cls := ""
		if l.sum {
			cls = " class=\"sum\""
		}
		fmt.Fprintf(b, "<span><i%s style=\"background:%s\"></i>%s</span>", cls, l.color, svgplot.Esc(l.label))
	}
	if win.ok {
		b.WriteString("<span><i class=\"win\"></i>measurement window</span>")
	}
	b.WriteString("</div>\n")

	// The y axis: from min(0, lowest) to at least yFloor.
	lo, hi := 0.0, ch.yFloor
	for _, l := range ch.lines {
		for _, p := range l.pts {
			lo, hi = min(lo, p.v), max(hi, p.v)
		}
	}
	if hi <= lo {
		hi = lo + 1
	}
	ystep := svgplot.NiceStep((hi - lo) / yTicksWanted)
	y0, y1 := math.Floor(lo/ystep)*ystep, math.Ceil(hi/ystep)*ystep
	py := func(v float64) float64 { return padT + plotH - (v-y0)/(y1-y0)*plotH }

	fmt.Fprintf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n", svgW, svgH, svgplot.Esc(title))
	if win.ok {
		x0, x1 := max(ax.px(win.lo), padL), min(ax.px(win.hi), padL+plotW)
		if x1 > x0 {
			fmt.Fprintf(b, "<rect class=\"win\" x=\"%s\" y=\"%d\" width=\"%s\" height=\"%d\"><title>measurement window %s s to %s s</title></rect>\n",
				svgplot.Coord(x0), padT, svgplot.Coord(x1-x0), plotH, seconds(win.lo), seconds(win.hi))
		}
	}
	// Grid and tick labels.
	for i, v := range svgplot.Ticks(y0, y1, ystep) {
		y := py(v)
		if i > 0 {
			fmt.Fprintf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\"/>", padL, svgplot.Coord(y), padL+plotW, svgplot.Coord(y))
		}
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n", padL-6, svgplot.Coord(y+4), svgplot.TickLabel(v, ystep))
	}
	xspan := float64(ax.x1-ax.x0) / 1e9
	xstep := svgplot.NiceStep(xspan / xTicksWanted)
	for _, v := range svgplot.Ticks(float64(ax.x0)/1e9, float64(ax.x1)/1e9, xstep) {
		if v < float64(ax.x0)/1e9-1e-9 || v > float64(ax.x1)/1e9+1e-9 {
			continue
		}
		x := padL + (v-float64(ax.x0)/1e9)/xspan*plotW
		fmt.Fprintf(b, "<line class=\"grid\" x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\"/>", svgplot.Coord(x), padT, svgplot.Coord(x), padT+plotH)
		fmt.Fprintf(b, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", svgplot.Coord(x), padT+plotH+15, svgplot.TickLabel(v, xstep))
	}
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time (s)</text>\n", padL+plotW/2, svgH-4)
	fmt.Fprintf(b, "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">%s</text>\n", padT+plotH/2, padT+plotH/2, svgplot.Esc(ch.unit))
	// Lines, in legend order: sums come last, so that they are drawn on top.
	for _, l := range ch.lines {
		cls := "s"
		if l.sum {
			cls = "s sum"
		}
		fmt.Fprintf(b, "<polyline class=\"%s\" stroke=\"%s\" points=\"", cls, l.color)
		var last [2]string
		first := true
		for _, p := range l.pts {
			xy := [2]string{svgplot.Coord(ax.px(p.t)), svgplot.Coord(py(p.v))}
			if xy == last {
				continue
			}
			if !first {
				b.WriteByte(' ')
			}
			first = false
			b.WriteString(xy[0])
			b.WriteByte(',')
			b.WriteString(xy[1])
			last = xy
		}
		fmt.Fprintf(b, "\"><title>%s</title></polyline>\n", svgplot.Esc(l.label))
	}
	fmt.Fprintf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n</svg>\n", padL, padT, plotW, plotH)
	fmt.Fprintf(b, "<figcaption>%s %s</figcaption>\n</figure>\n", svgplot.Esc(ch.caption), svgplot.Esc(ch.binNote))
}

// seconds writes a time for a reader: to the millisecond, without
// trailing zeros ("12.345", "0.001", "3").
func seconds(ns int64) string {
	s := strconv.FormatFloat(math.Round(float64(ns)/1e6)/1e3, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

func signedSeconds(ns int64) string {
	if ns > 0 {
		return "+" + seconds(ns)
	}
	return seconds(ns)
}

func binText(w int64) string { return time.Duration(w).String() }

// ---- The charts ----------------------------------------------------------

// sortDevs orders devices naturally ("gpu2" before "gpu10") and labels
// them by their device name, prefixed with the sampler's name where two
// samplers report the same device name.
func sortDevs(devs []*devState) ([]*devState, map[*devState]string) {
	out := slices.Clone(devs)
	slices.SortStableFunc(out, func(a, b *devState) int {
		if c := naturalCmp(a.key.device, b.key.device); c != 0 {
			return c
		}
		return strings.Compare(a.key.sampler, b.key.sampler)
	})
	count := map[string]int{}
	for _, d := range out {
		count[d.key.device]++
	}
	names := map[*devState]string{}
	for _, d := range out {
		names[d] = d.key.device
		if count[d.key.device] > 1 {
			names[d] = d.key.sampler + ":" + d.key.device
		}
	}
	return out, names
}

// naturalCmp compares strings with runs of digits compared as numbers.
func naturalCmp(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmpInt(int64(len(na)), int64(len(nb))); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmpInt(int64(a[0]), int64(b[0]))
		}
		a, b = a[1:], b[1:]
	}
	return cmpInt(int64(len(a)), int64(len(b)))
}

func digitRun(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

// deviceLines draws one line per device with data in pick, then the sum if
// there are two or more.
func deviceLines(devs []*devState, pick func(*devState) *series, sum *series, sumLabel string) (lines []line, bin int64) {
	return annotatedLines(devs, pick, sum, sumLabel, nil)
}

// annotatedLines is deviceLines with note(d), when not empty, appended to
// each device's label in parentheses.
func annotatedLines(devs []*devState, pick func(*devState) *series, sum *series, sumLabel string, note func(*devState) string) (lines []line, bin int64) {
	sorted, names := sortDevs(devs)
	for _, d := range sorted {
		s := pick(d)
		if s == nil || s.n == 0 {
			continue
		}
		label := names[d]
		if note != nil {
			if n := note(d); n != "" {
				label += " (" + n + ")"
			}
		}
		lines = append(lines, line{label: label, color: palette[len(lines)%len(palette)], n: s.n, pts: s.points()})
		bin = max(bin, s.g.width)
	}
	if sum != nil && len(lines) > 1 && sum.n > 0 {
		lines = append(lines, line{label: sumLabel, color: sumColor, sum: true, n: sum.n, pts: sum.points()})
		bin = max(bin, sum.g.width)
	}
	return lines, bin
}

func m4Note(lines []line, bin int64) string {
	var n int64
	for _, l := range lines {
		if !l.sum {
			n += l.n
		}
	}
	return fmt.Sprintf("Drawn from %d device readings in bins of %s, each keeping its first, lowest, highest and last reading, so peaks survive downsampling. Shaded: the measurement window (warmup excluded).", n, binText(bin))
}

func gpuPowerChart(tl *timelineAgg, sensors map[devKey]Sensor) chart {
	ch := chart{title: "GPU power", unit: "W"}
	switch {
	case tl == nil:
		ch.absent = "no timeline was given."
		return ch
	case len(tl.gpus) == 0:
		ch.absent = "the timeline has no GPU rows (kind gpu): no NVML or remote GPU sampler ran."
		return ch
	}
	var note func(*devState) string
	if len(sensors) > 0 {
		note = func(d *devState) string {
			s, ok := sensors[d.key]
			if !ok {
				return ""
			}
			return s.label()
		}
	}
	lines, bin := annotatedLines(tl.gpus, func(d *devState) *series { return d.power }, tl.gpuSum, "sum of GPUs", note)
	if len(lines) == 0 {
		ch.absent = "the timeline's GPU rows carry no power readings."
		return ch
	}
	ch.lines = lines
	ch.caption = "Board power of each GPU as its sampler read it, and their sum (each GPU's latest reading held until its next). NVML's power reading is a 1-second moving average on Ampere and later GPUs, so short spikes are smoothed and changes show up to a second late; energy figures of record come from the energy counters, not from this line."
	if len(sensors) > 0 {
		ch.caption = "Board power of each GPU as its sampler read it, and the sum of every GPU drawn (each GPU's latest reading held until its next). " +
			"Each label says which reading its line is: the instant field, or a 1 s average (NVML's moving average on Ampere and later GPUs, which smooths short spikes and shows changes up to a second late); " +
			"and the power sensor's update period as measured at the start (a line sampled faster repeats values). " +
			"A GPU marked \"not counted\" runs none of the engine's processes and is left out of the energy figures. " +
			"Energy figures of record come from the energy counters, not from these lines."
	}
	ch.binNote = m4Note(lines, bin)
	return ch
}

func gpuUtilChart(tl *timelineAgg) chart {
	ch := chart{title: "GPU utilization", unit: "%", yFloor: 100}
	switch {
	case tl == nil:
		ch.absent = "no timeline was given."
		return ch
	case len(tl.gpus) == 0:
		ch.absent = "the timeline has no GPU rows (kind gpu): no NVML or remote GPU sampler ran."
		return ch
	}
	lines, bin := deviceLines(tl.gpus, func(d *devState) *series { return d.util }, nil, "")
	if len(lines) == 0 {
		ch.absent = "the timeline's GPU rows carry no utilization readings."
		return ch
	}
	ch.lines = lines
	ch.caption = "Percent of the last sample period during which a kernel ran on each GPU (NVML utilization.gpu). It says the GPU was busy, not how much of it was used."
	ch.binNote = m4Note(lines, bin)
	return ch
}

func raplChart(tl *timelineAgg) chart {
	ch := chart{title: "CPU and DRAM power (RAPL)", unit: "W"}
	switch {
	case tl == nil:
		ch.absent = "no timeline was given."
		return ch
	case len(tl.rapl) == 0:
		ch.absent = "the timeline has no CPU package or DRAM rows with an energy counter (no RAPL sampler ran, or its zones were not readable)."
		return ch
	}
	lines, bin := deviceLines(tl.rapl, func(d *devState) *series { return d.power }, tl.raplSum, "sum of CPU packages and DRAM")
	if len(lines) == 0 {
		ch.absent = "no CPU package or DRAM device has two successive energy readings to take a power from."
		return ch
	}
	ch.lines = lines
	ch.caption = "Power of each CPU package and DRAM domain: the growth of its RAPL energy counter between two successive readings over the time between them, drawn at the middle of that interval; and their sum. Platform (psys) and other domains overlap these and are left out."
	ch.binNote = m4Note(lines, bin)
	return ch
}

func inflightChart(tr *traceAgg, offset int64) chart {
	ch := chart{title: "Requests in flight", unit: "requests"}
	switch {
	case tr == nil:
		ch.absent = "no trace was given."
		return ch
	case tr.requests == 0:
		ch.absent = "the trace is empty."
		return ch
	case tr.spans == 0:
		ch.absent = "no request in the trace ended after it was sent."
		return ch
	}
	ch.lines = []line{{label: "in flight", color: palette[0], n: tr.requests, pts: steps(&tr.inflight, areaMeans(&tr.inflight), offset, tr.when.hi)}}
	ch.caption = "Requests sent and not yet ended (+1 at send, −1 at end, warmup included), as the time-weighted mean over each bin."
	ch.binNote = fmt.Sprintf("Bins of %s, from %d requests. Shaded: the measurement window (warmup excluded).", binText(tr.inflight.width), tr.requests)
	return ch
}

func tokensChart(tr *traceAgg, offset int64) chart {
	ch := chart{title: "Output tokens per second", unit: "tokens/s"}
	switch {
	case tr == nil:
		ch.absent = "no trace was given."
		return ch
	case tr.requests == 0:
		ch.absent = "the trace is empty."
		return ch
	case tr.chunks == 0:
		ch.absent = "the trace has no content chunks (no request received a token)."
		return ch
	}
	vals := make([]float64, len(tr.tokens.b))
	for i, n := range tr.tokens.b {
		vals[i] = float64(n) / (float64(tr.tokens.width) / 1e9)
	}
	ch.lines = []line{{label: "output tokens/s", color: palette[2], n: tr.chunks, pts: steps(&tr.tokens, vals, offset, tr.when.hi)}}
	ch.caption = "Output tokens received per second: each content chunk's tokens counted at its arrival, summed over each bin and divided by the bin's width (warmup included)."
	ch.binNote = fmt.Sprintf("Bins of %s, from %d chunks carrying %d tokens. Shaded: the measurement window (warmup excluded).", binText(tr.tokens.width), tr.chunks, tr.tokenCount)
	return ch
}
