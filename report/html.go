package report

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
)

// Defaults of HTMLOptions, exported so that a CLI can use them as flag
// defaults.
const (
	// DefaultHTMLTitle is the page title when HTMLOptions.Title is empty.
	DefaultHTMLTitle = "benchprof timeline"
	// DefaultHTMLMaxPoints is the most points drawn per series when
	// HTMLOptions.MaxPoints is 0.
	DefaultHTMLMaxPoints = 2000
	// DefaultTokenBin is the narrowest bin of the tokens/s chart when
	// HTMLOptions.TokenBin is 0.
	DefaultTokenBin = 250 * time.Millisecond
	// MinHTMLMaxPoints is the smallest MaxPoints accepted.
	MinHTMLMaxPoints = 64
)

// HTMLOptions configures WriteHTMLTimeline. The zero value is valid: every
// field documents what its zero value means.
type HTMLOptions struct {
	// Title heads the page and names it in the browser. By default
	// (empty) it is DefaultHTMLTitle.
	Title string
	// EnvelopePath, if not empty, is shown under the title as the envelope
	// the timeline belongs to. By default nothing is shown.
	EnvelopePath string
	// WindowStart and WindowEnd are the measurement window, as offsets
	// on the timeline's clock (from the run's origin); it is shaded on
	// every chart. By default (both zero) the window is taken from the
	// trace as the energy package defines it: from the first send of a
	// request that is not warmup to the last end of any request, shifted
	// by TraceOffset; with no such request nothing is shaded. If either
	// is set, WindowEnd must be after WindowStart.
	WindowStart, WindowEnd time.Duration
	// TraceOffset is added to every offset of the trace (which count from
	// the load driver's start) to put it on the timeline's clock (which
	// counts from the run's origin). By default (0) the two clocks are
	// taken to be the same.
	TraceOffset time.Duration
	// MaxPoints bounds the points drawn per series; longer series are
	// downsampled (see WriteHTMLTimeline). By default (0) it is
	// DefaultHTMLMaxPoints. It must be 0 or at least MinHTMLMaxPoints.
	MaxPoints int
	// TokenBin is the narrowest bin of the tokens/s chart; bins widen by
	// doubling when the trace is long. By default (0) it is
	// DefaultTokenBin. It must not be negative.
	TokenBin time.Duration
}

// htmlConfig is HTMLOptions validated, with its defaults applied.
type htmlConfig struct {
	title, envelope string
	winStart        int64
	winEnd          int64
	winGiven        bool
	offset          int64
	maxPoints       int
	tokenBin        int64
}

func (o HTMLOptions) config() (htmlConfig, error) {
	c := htmlConfig{
		title: o.Title, envelope: o.EnvelopePath,
		winStart: int64(o.WindowStart), winEnd: int64(o.WindowEnd),
		winGiven:  o.WindowStart != 0 || o.WindowEnd != 0,
		offset:    int64(o.TraceOffset),
		maxPoints: o.MaxPoints, tokenBin: int64(o.TokenBin),
	}
	if c.title == "" {
		c.title = DefaultHTMLTitle
	}
	if c.maxPoints == 0 {
		c.maxPoints = DefaultHTMLMaxPoints
	}
	if c.tokenBin == 0 {
		c.tokenBin = int64(DefaultTokenBin)
	}
	var errs []error
	if c.winGiven && o.WindowEnd <= o.WindowStart {
		errs = append(errs, fmt.Errorf("report: window end %v is not after its start %v", o.WindowEnd, o.WindowStart))
	}
	if o.MaxPoints < 0 || (o.MaxPoints > 0 && o.MaxPoints < MinHTMLMaxPoints) {
		errs = append(errs, fmt.Errorf("report: MaxPoints %d is below %d", o.MaxPoints, MinHTMLMaxPoints))
	}
	if o.TokenBin < 0 {
		errs = append(errs, fmt.Errorf("report: TokenBin %v is negative", o.TokenBin))
	}
	return c, errors.Join(errs...)
}

// WriteHTMLTimeline writes one self-contained HTML page that charts a run
// over time: inline CSS and inline SVG only, with no script and no
// reference to anything outside the file, so that it can be attached to a
// ticket or opened offline. timeline is a telemetry timeline (the CSV a
// sampler.TimelineWriter writes); trace is a per-request trace (the JSONL a
// loadgen.JSONLWriter writes). Either may be nil.
//
// Five charts share one time axis, in seconds from the run's origin:
// per-GPU power and its sum; per-GPU utilization; CPU package and DRAM
// power from the RAPL energy counters (the growth of a counter between
// consecutive readings of one device over the time between them; devices
// of kind other, such as psys, overlap these and are never drawn) and
// their sum; requests in flight (+1 at send, −1 at end); and output
// tokens per second from the trace's content chunks. The measurement
// window is shaded on each. A chart whose source is missing (no timeline,
// no GPU rows, no RAPL rows, an empty trace) is replaced by a short "not
// measured" panel that says why; missing data is never an error.
//
// Both inputs are read once, concurrently, streaming, in memory bounded by
// the number of devices and opts.MaxPoints, not by the length of the run;
// nothing is written to w until both have been read. Each series is
// accumulated into fixed-width time bins whose width doubles whenever the
// bins would number more than its share of MaxPoints. Sampled series
// (power, utilization) keep the first, lowest, highest and last reading
// of each bin, so peaks and edges survive downsampling (MaxPoints/4 bins).
// In-flight requests are the time-weighted mean count over each bin and
// tokens/s the tokens received in each bin over its width, drawn as steps
// (MaxPoints/2 bins). The page is about 17 KB plus some 11 bytes per
// drawn point, so at most about 22 KB per series with the default
// MaxPoints: an hour of 8 GPUs at 10 ms, 4 RAPL zones and a trace of 28,800
// requests renders to about 300 KB. All text from the inputs and options
// is escaped; lines are named in SVG <title> elements, which browsers show
// on hover without any script.
//
// The inputs are read to their end and cannot be cancelled: to abandon a
// call, close them (an io.PipeReader, a file).
//
// An error means invalid options (nothing is read), an input that could
// not be read or parsed (nothing is written), or a write error.
func WriteHTMLTimeline(w io.Writer, timeline, trace io.Reader, opts HTMLOptions) error {
	cfg, err := opts.config()
	if err != nil {
		return err
	}
	var (
		wg           sync.WaitGroup
		tl           *timelineAgg
		tr           *traceAgg
		tlErr, trErr error
	)
	if timeline != nil {
		wg.Go(func() {
			tl = newTimelineAgg(cfg)
			if err := sampler.ReadTimeline(timeline, tl.reading); err != nil {
				tlErr = fmt.Errorf("report: reading the timeline: %w", err)
			}
		})
	}
	if trace != nil {
		wg.Go(func() {
			tr = newTraceAgg(cfg)
			if err := loadgen.ReadJSONL(trace, tr.result); err != nil {
				trErr = fmt.Errorf("report: reading the trace: %w", err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(tlErr, trErr); err != nil {
		return err
	}
	var buf bytes.Buffer
	renderPage(&buf, cfg, tl, tr)
	_, err = w.Write(buf.Bytes())
	return err
}

// ---- Bins ----------------------------------------------------------------

// Times below are int64 nanoseconds on the timeline's clock.

// baseBin is the narrowest bin of the sampled series and the in-flight
// count; bins widen by doubling from it.
const baseBin = int64(time.Millisecond)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// grid is a run of consecutive fixed-width time bins: bin k covers
// [k·width, (k+1)·width). It never holds more than limit bins; when a new
// time would need more, the width doubles and neighbouring bins merge, as
// often as needed. Times may arrive in any order.
type grid[B any] struct {
	width int64
	lo    int64 // index of b[0]
	b     []B
	limit int
	merge func(dst, src *B)
	// flatten, if set, is called before bins merge (see areaBin).
	flatten func(g *grid[B])
}

// fit makes room for times t0 ≤ t1, widening the bins if needed.
func (g *grid[B]) fit(t0, t1 int64) {
	for {
		k0, k1 := floorDiv(t0, g.width), floorDiv(t1, g.width)
		lo, hi := k0, k1
		if len(g.b) > 0 {
			lo, hi = min(lo, g.lo), max(hi, g.lo+int64(len(g.b))-1)
		}
		if hi-lo < int64(g.limit) {
			g.grow(lo, hi)
			return
		}
		g.coarsen()
	}
}

func (g *grid[B]) grow(lo, hi int64) {
	if len(g.b) == 0 {
		g.lo, g.b = lo, make([]B, hi-lo+1)
		return
	}
	if lo < g.lo {
		g.b = append(make([]B, g.lo-lo, int64(len(g.b))+g.lo-lo), g.b...)
		g.lo = lo
	}
	if n := hi - g.lo + 1; n > int64(len(g.b)) {
		g.b = append(g.b, make([]B, n-int64(len(g.b)))...)
	}
}

func (g *grid[B]) coarsen() {
	if len(g.b) > 0 {
		if g.flatten != nil {
			g.flatten(g)
		}
		nlo := floorDiv(g.lo, 2)
		nb := make([]B, floorDiv(g.lo+int64(len(g.b))-1, 2)-nlo+1)
		for i := range g.b {
			g.merge(&nb[floorDiv(g.lo+int64(i), 2)-nlo], &g.b[i])
		}
		g.lo, g.b = nlo, nb
	}
	g.width *= 2
}

// bin returns the bin of t, which fit must have made room for.
func (g *grid[B]) bin(t int64) *B { return &g.b[floorDiv(t, g.width)-g.lo] }

// start returns the start time of b[i].
func (g *grid[B]) start(i int) int64 { return (g.lo + int64(i)) * g.width }

type pt struct {
	t int64
	v float64
}

// m4 keeps the first, lowest, highest and last point of a bin (the M4
// aggregation: drawing these four per pixel column draws the same line as
// all the points).
type m4 struct {
	n                      int64
	first, last, low, high pt
}

func (b *m4) add(p pt) {
	if b.n == 0 {
		*b = m4{n: 1, first: p, last: p, low: p, high: p}
		return
	}
	b.n++
	if p.t < b.first.t {
		b.first = p
	}
	if p.t >= b.last.t {
		b.last = p
	}
	if p.v < b.low.v {
		b.low = p
	}
	if p.v > b.high.v {
		b.high = p
	}
}

func mergeM4(dst, src *m4) {
	if src.n == 0 {
		return
	}
	if dst.n == 0 {
		*dst = *src
		return
	}
	dst.n += src.n
	if src.first.t < dst.first.t {
		dst.first = src.first
	}
	if src.last.t >= dst.last.t {
		dst.last = src.last
	}
	if src.low.v < dst.low.v {
		dst.low = src.low
	}
	if src.high.v > dst.high.v {
		dst.high = src.high
	}
}

// series is a sampled quantity, downsampled with m4 bins.
type series struct {
	g grid[m4]
	n int64 // points added
}

func newSeries(maxPoints int) *series {
	return &series{g: grid[m4]{width: baseBin, limit: max(maxPoints/4, 1), merge: mergeM4}}
}

func (s *series) add(t int64, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	s.n++
	s.g.fit(t, t)
	s.g.bin(t).add(pt{t, v})
}

// points returns the kept points in time order.
func (s *series) points() []pt {
	var out []pt
	for i := range s.g.b {
		b := &s.g.b[i]
		if b.n == 0 {
			continue
		}
		four := []pt{b.first, b.low, b.high, b.last}
		slices.SortStableFunc(four, func(x, y pt) int { return cmpInt(x.t, y.t) })
		for _, p := range four {
			if len(out) > 0 && out[len(out)-1] == p {
				continue
			}
			out = append(out, p)
		}
	}
	return out
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// areaBin accumulates the time integral of a count. Intervals that cover a
// bin wholly add to a difference array (full) instead of bin by bin, so an
// interval costs O(1) whatever its length; flatten folds full into area
// before bins merge.
type areaBin struct {
	area int64 // count·ns from intervals that end or start inside the bin
	full int64 // difference of the number of intervals covering whole bins
}

func mergeArea(dst, src *areaBin) { dst.area += src.area; dst.full += src.full }

func flattenArea(g *grid[areaBin]) {
	var c int64
	for i := range g.b {
		c += g.b[i].full
		g.b[i].area += c * g.width
		g.b[i].full = 0
	}
}

// addInterval adds 1 over [s, e).
func addInterval(g *grid[areaBin], s, e int64) {
	g.fit(s, e)
	ks, ke := floorDiv(s, g.width), floorDiv(e, g.width)
	if ks == ke {
		g.b[ks-g.lo].area += e - s
		return
	}
	g.b[ks-g.lo].area += (ks+1)*g.width - s
	g.b[ke-g.lo].area += e - ke*g.width
	if ke > ks+1 {
		g.b[ks+1-g.lo].full++
		g.b[ke-g.lo].full--
	}
}

// areaMeans returns the time-weighted mean count of each bin.
func areaMeans(g *grid[areaBin]) []float64 {
	out := make([]float64, len(g.b))
	var c int64
	for i, b := range g.b {
		c += b.full
		out[i] = float64(b.area+c*g.width) / float64(g.width)
	}
	return out
}

// steps turns per-bin values into the corners of a step line.
func steps[B any](g *grid[B], vals []float64) []pt {
	var out []pt
	for i, v := range vals {
		t := g.start(i)
		if i == 0 {
			out = append(out, pt{t, v})
		} else if v != vals[i-1] {
			out = append(out, pt{t, vals[i-1]}, pt{t, v})
		}
	}
	if len(vals) > 0 {
		out = append(out, pt{g.start(len(vals)), vals[len(vals)-1]})
	}
	return out
}

// span tracks the earliest and latest time seen.
type span struct {
	ok     bool
	lo, hi int64
}

func (s *span) add(t int64) {
	if !s.ok {
		s.ok, s.lo, s.hi = true, t, t
		return
	}
	s.lo, s.hi = min(s.lo, t), max(s.hi, t)
}

func (s *span) join(o span) {
	if o.ok {
		s.add(o.lo)
		s.add(o.hi)
	}
}

// ---- Timeline ------------------------------------------------------------

type devKey struct{ sampler, device string }

type devState struct {
	key  devKey
	kind sampler.Kind
	// power is PowerW for a GPU, the RAPL-derived power for CPU and DRAM.
	power, util *series
	last        float64 // latest power, for the sums
	hasLast     bool
	// RAPL counter state.
	prevT   int64
	prevE   float64
	hasPrev bool
}

type timelineAgg struct {
	maxPoints       int
	devs            map[devKey]*devState
	gpus, rapl      []*devState
	gpuSum, raplSum *series
	rows, readings  int64
	other           int64 // rows of kind other or unknown
	samplers        []string
	when            span
}

func newTimelineAgg(c htmlConfig) *timelineAgg {
	return &timelineAgg{
		maxPoints: c.maxPoints, devs: map[devKey]*devState{},
		gpuSum: newSeries(c.maxPoints), raplSum: newSeries(c.maxPoints),
	}
}

func (a *timelineAgg) dev(s string, d *sampler.DeviceReading) *devState {
	if ds, ok := a.devs[devKey{s, d.Device}]; ok {
		if ds.kind != d.Kind {
			return nil // the same device under another kind: keep the first
		}
		return ds
	}
	ds := &devState{key: devKey{strings.Clone(s), strings.Clone(d.Device)}, kind: d.Kind, power: newSeries(a.maxPoints)}
	if d.Kind == sampler.KindGPU {
		ds.util = newSeries(a.maxPoints)
		a.gpus = append(a.gpus, ds)
	} else {
		a.rapl = append(a.rapl, ds)
	}
	a.devs[ds.key] = ds
	if !slices.Contains(a.samplers, ds.key.sampler) {
		a.samplers = append(a.samplers, ds.key.sampler)
	}
	return ds
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (a *timelineAgg) reading(r sampler.Reading) error {
	t := int64(r.At)
	a.readings++
	a.rows += int64(len(r.Devices))
	a.when.add(t)
	gpu := false
	var mids, nmid int64
	for i := range r.Devices {
		d := &r.Devices[i]
		switch d.Kind {
		case sampler.KindGPU:
			ds := a.dev(r.Sampler, d)
			if ds == nil {
				continue
			}
			if finite(d.PowerW) {
				ds.power.add(t, d.PowerW)
				ds.last, ds.hasLast, gpu = d.PowerW, true, true
			}
			ds.util.add(t, d.UtilPct)
		case sampler.KindCPUPackage, sampler.KindDRAM:
			if !finite(d.EnergyJ) {
				continue
			}
			ds := a.dev(r.Sampler, d)
			if ds == nil || (ds.hasPrev && t <= ds.prevT) {
				continue
			}
			if ds.hasPrev && d.EnergyJ >= ds.prevE {
				p := (d.EnergyJ - ds.prevE) / (float64(t-ds.prevT) / 1e9)
				mid := ds.prevT + (t-ds.prevT)/2
				ds.power.add(mid, p)
				ds.last, ds.hasLast = p, true
				mids += mid
				nmid++
			}
			// A counter that went down was reset: start again from here.
			ds.prevT, ds.prevE, ds.hasPrev = t, d.EnergyJ, true
		default:
			a.other++
		}
	}
	if gpu {
		a.gpuSum.add(t, heldSum(a.gpus))
	}
	if nmid > 0 {
		a.raplSum.add(mids/nmid, heldSum(a.rapl))
	}
	return nil
}

// heldSum adds each device's latest value.
func heldSum(devs []*devState) float64 {
	var s float64
	for _, d := range devs {
		if d.hasLast {
			s += d.last
		}
	}
	return s
}

// ---- Trace ---------------------------------------------------------------

type traceAgg struct {
	offset                int64
	inflight              grid[areaBin]
	tokens                grid[int64]
	requests, warmup, bad int64
	spans                 int64 // requests that ended after they were sent
	chunks, tokenCount    int64
	firstSend, lastEnd    int64 // the default window
	hasSend, hasEnd       bool
	when                  span
}

func newTraceAgg(c htmlConfig) *traceAgg {
	return &traceAgg{
		offset:   c.offset,
		inflight: grid[areaBin]{width: baseBin, limit: max(c.maxPoints/2, 1), merge: mergeArea, flatten: flattenArea},
		tokens:   grid[int64]{width: c.tokenBin, limit: max(c.maxPoints/2, 1), merge: func(d, s *int64) { *d += *s }},
	}
}

func (a *traceAgg) result(r loadgen.Result) error {
	a.requests++
	if r.Warmup {
		a.warmup++
	}
	if !r.OK() {
		a.bad++
	}
	sent, end := int64(r.Sent)+a.offset, int64(r.End)+a.offset
	a.when.add(sent)
	if !r.Warmup && (!a.hasSend || sent < a.firstSend) {
		a.firstSend, a.hasSend = sent, true
	}
	if r.End >= r.Sent {
		a.when.add(end)
		if !a.hasEnd || end > a.lastEnd {
			a.lastEnd, a.hasEnd = end, true
		}
	}
	if r.End > r.Sent {
		addInterval(&a.inflight, sent, end)
		a.spans++
	}
	for _, c := range r.Chunks {
		at := int64(c.At) + a.offset
		k := int64(max(c.Tokens, 1)) // as Result.ITLs counts them
		a.tokens.fit(at, at)
		*a.tokens.bin(at) += k
		a.chunks++
		a.tokenCount += k
		a.when.add(at)
	}
	return nil
}

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

func renderPage(b *bytes.Buffer, c htmlConfig, tl *timelineAgg, tr *traceAgg) {
	// The window and the shared time axis.
	win, winFrom := span{}, ""
	switch {
	case c.winGiven:
		win, winFrom = span{ok: true, lo: c.winStart, hi: c.winEnd}, "given"
	case tr != nil && tr.hasSend && tr.hasEnd && tr.lastEnd > tr.firstSend:
		win, winFrom = span{ok: true, lo: tr.firstSend, hi: tr.lastEnd}, "from the trace: first post-warmup send to last end"
	}
	all := span{ok: true, lo: 0, hi: 0}
	if tl != nil {
		all.join(tl.when)
	}
	if tr != nil {
		all.join(tr.when)
	}
	all.join(win)
	ax := axis{all.lo, all.hi}
	if ax.x1 <= ax.x0 {
		ax.x1 = ax.x0 + int64(time.Second)
	}

	charts := []chart{gpuPowerChart(tl), gpuUtilChart(tl), raplChart(tl), inflightChart(tr), tokensChart(tr)}

	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n")
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n")
	fmt.Fprintf(b, "<title>%s</title>\n<style>\n%s</style>\n</head>\n<body>\n", esc(c.title), pageCSS)
	fmt.Fprintf(b, "<h1>%s</h1>\n<ul class=\"meta\">\n", esc(c.title))
	if c.envelope != "" {
		fmt.Fprintf(b, "<li>envelope: <code>%s</code></li>\n", esc(c.envelope))
	}
	if tl == nil {
		b.WriteString("<li>timeline: none given</li>\n")
	} else {
		names := make([]string, len(tl.samplers))
		for i, s := range tl.samplers {
			names[i] = esc(s)
		}
		slices.Sort(names)
		fmt.Fprintf(b, "<li>timeline: %d rows in %d readings", tl.rows, tl.readings)
		if len(names) > 0 {
			fmt.Fprintf(b, " (samplers: %s)", strings.Join(names, ", "))
		}
		if tl.other > 0 {
			fmt.Fprintf(b, "; %d rows of other kinds (psys, subzones) not drawn", tl.other)
		}
		b.WriteString("</li>\n")
	}
	if tr == nil {
		b.WriteString("<li>trace: none given</li>\n")
	} else {
		fmt.Fprintf(b, "<li>trace: %d requests (%d warmup, %d not ok), %d output tokens in %d chunks", tr.requests, tr.warmup, tr.bad, tr.tokenCount, tr.chunks)
		if c.offset != 0 {
			fmt.Fprintf(b, "; its offsets shifted by %s s onto the timeline's clock", signedSeconds(c.offset))
		}
		b.WriteString("</li>\n")
	}
	if win.ok {
		fmt.Fprintf(b, "<li>measurement window: %s s to %s s (%s), shaded on every chart</li>\n", seconds(win.lo), seconds(win.hi), winFrom)
	} else {
		b.WriteString("<li>measurement window: unknown (no window given and no post-warmup request in the trace), not shaded</li>\n")
	}
	b.WriteString("</ul>\n")
	for _, ch := range charts {
		writeChart(b, ch, ax, win)
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
		fmt.Fprintf(b, "<section class=\"nm\">\n<h2>%s</h2>\n<div>Not measured: %s</div>\n</section>\n", esc(title), esc(ch.absent))
		return
	}
	fmt.Fprintf(b, "<figure>\n<h2>%s</h2>\n<div class=\"legend\">", esc(title))
	for _, l := range ch.lines {
		cls := ""
		if l.sum {
			cls = " class=\"sum\""
		}
		fmt.Fprintf(b, "<span><i%s style=\"background:%s\"></i>%s</span>", cls, l.color, esc(l.label))
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
	ystep := niceStep((hi - lo) / yTicksWanted)
	y0, y1 := math.Floor(lo/ystep)*ystep, math.Ceil(hi/ystep)*ystep
	py := func(v float64) float64 { return padT + plotH - (v-y0)/(y1-y0)*plotH }

	fmt.Fprintf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"%s\">\n", svgW, svgH, esc(title))
	if win.ok {
		x0, x1 := max(ax.px(win.lo), padL), min(ax.px(win.hi), padL+plotW)
		if x1 > x0 {
			fmt.Fprintf(b, "<rect class=\"win\" x=\"%s\" y=\"%d\" width=\"%s\" height=\"%d\"><title>measurement window %s s to %s s</title></rect>\n",
				coord(x0), padT, coord(x1-x0), plotH, seconds(win.lo), seconds(win.hi))
		}
	}
	// Grid and tick labels.
	for i, v := range ticks(y0, y1, ystep) {
		y := py(v)
		if i > 0 {
			fmt.Fprintf(b, "<line class=\"grid\" x1=\"%d\" y1=\"%s\" x2=\"%d\" y2=\"%s\"/>", padL, coord(y), padL+plotW, coord(y))
		}
		fmt.Fprintf(b, "<text x=\"%d\" y=\"%s\" text-anchor=\"end\">%s</text>\n", padL-6, coord(y+4), tickLabel(v, ystep))
	}
	xspan := float64(ax.x1-ax.x0) / 1e9
	xstep := niceStep(xspan / xTicksWanted)
	for _, v := range ticks(float64(ax.x0)/1e9, float64(ax.x1)/1e9, xstep) {
		if v < float64(ax.x0)/1e9-1e-9 || v > float64(ax.x1)/1e9+1e-9 {
			continue
		}
		x := padL + (v-float64(ax.x0)/1e9)/xspan*plotW
		fmt.Fprintf(b, "<line class=\"grid\" x1=\"%s\" y1=\"%d\" x2=\"%s\" y2=\"%d\"/>", coord(x), padT, coord(x), padT+plotH)
		fmt.Fprintf(b, "<text x=\"%s\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", coord(x), padT+plotH+15, tickLabel(v, xstep))
	}
	fmt.Fprintf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">time (s)</text>\n", padL+plotW/2, svgH-4)
	fmt.Fprintf(b, "<text x=\"14\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 14 %d)\">%s</text>\n", padT+plotH/2, padT+plotH/2, esc(ch.unit))
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
			xy := [2]string{coord(ax.px(p.t)), coord(py(p.v))}
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
		fmt.Fprintf(b, "\"><title>%s</title></polyline>\n", esc(l.label))
	}
	fmt.Fprintf(b, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n</svg>\n", padL, padT, plotW, plotH)
	fmt.Fprintf(b, "<figcaption>%s %s</figcaption>\n</figure>\n", esc(ch.caption), esc(ch.binNote))
}

// niceStep returns 1, 2 or 5 times a power of ten, at least raw.
func niceStep(raw float64) float64 {
	if raw <= 0 || !finite(raw) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw*(1-1e-9) {
			return m * p
		}
	}
	return 10 * p
}

// ticks returns the multiples of step from the first at or after lo to the
// last at or before hi.
func ticks(lo, hi, step float64) []float64 {
	var out []float64
	for k := math.Ceil(lo/step - 1e-9); k*step <= hi+step*1e-9; k++ {
		out = append(out, k*step)
	}
	return out
}

func tickLabel(v, step float64) string {
	dec := 0
	if step < 1 {
		dec = int(math.Ceil(-math.Log10(step) - 1e-9))
	}
	if math.Abs(v) < step*1e-9 {
		v = 0
	}
	return strconv.FormatFloat(v, 'f', dec, 64)
}

// coord formats an SVG coordinate with one decimal, without a trailing ".0".
func coord(v float64) string {
	v = math.Round(v*10) / 10
	if v == 0 {
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

func seconds(ns int64) string {
	return strconv.FormatFloat(float64(ns)/1e9, 'f', -1, 64)
}

func signedSeconds(ns int64) string {
	if ns > 0 {
		return "+" + seconds(ns)
	}
	return seconds(ns)
}

// esc escapes text for HTML and SVG, dropping control characters and
// replacing invalid UTF-8.
func esc(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return html.EscapeString(s)
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
	sorted, names := sortDevs(devs)
	for _, d := range sorted {
		s := pick(d)
		if s == nil || s.n == 0 {
			continue
		}
		lines = append(lines, line{label: names[d], color: palette[len(lines)%len(palette)], n: s.n, pts: s.points()})
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

func gpuPowerChart(tl *timelineAgg) chart {
	ch := chart{title: "GPU power", unit: "W"}
	switch {
	case tl == nil:
		ch.absent = "no timeline was given."
		return ch
	case len(tl.gpus) == 0:
		ch.absent = "the timeline has no GPU rows (kind gpu): no NVML or remote GPU sampler ran."
		return ch
	}
	lines, bin := deviceLines(tl.gpus, func(d *devState) *series { return d.power }, tl.gpuSum, "sum of GPUs")
	if len(lines) == 0 {
		ch.absent = "the timeline's GPU rows carry no power readings."
		return ch
	}
	ch.lines = lines
	ch.caption = "Board power of each GPU as its sampler read it, and their sum (each GPU's latest reading held until its next). NVML's power reading is a 1-second moving average on Ampere and later GPUs, so short spikes are smoothed and changes show up to a second late; energy figures of record come from the energy counters, not from this line."
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

func inflightChart(tr *traceAgg) chart {
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
	ch.lines = []line{{label: "in flight", color: palette[0], n: tr.requests, pts: steps(&tr.inflight, areaMeans(&tr.inflight))}}
	ch.caption = "Requests sent and not yet ended (+1 at send, −1 at end, warmup included), as the time-weighted mean over each bin."
	ch.binNote = fmt.Sprintf("Bins of %s, from %d requests. Shaded: the measurement window (warmup excluded).", binText(tr.inflight.width), tr.requests)
	return ch
}

func tokensChart(tr *traceAgg) chart {
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
	ch.lines = []line{{label: "output tokens/s", color: palette[2], n: tr.chunks, pts: steps(&tr.tokens, vals)}}
	ch.caption = "Output tokens received per second: each content chunk's tokens counted at its arrival, summed over each bin and divided by the bin's width (warmup included)."
	ch.binNote = fmt.Sprintf("Bins of %s, from %d chunks carrying %d tokens. Shaded: the measurement window (warmup excluded).", binText(tr.tokens.width), tr.chunks, tr.tokenCount)
	return ch
}
