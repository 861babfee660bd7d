package timeline

import (
	"bytes"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/html"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler"
)

const ms = time.Millisecond

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

// square returns hi during the even seconds of t and lo during the odd ones.
func square(t time.Duration, hi, lo float64) float64 {
	if (t/time.Second)%2 == 0 {
		return hi
	}
	return lo
}

// synthTimeline is 10 s of telemetry: two GPUs read by "nvml" every
// 100 ms with square-wave power and utilization in opposite phases, and
// "rapl" every 100 ms (50 ms later) with package-0 at 150/50 W, dram-0 at
// a constant 20 W and a psys domain (kind other) at 400 W that must not
// be drawn. The energy counters are integrated exactly (in mJ steps).
// Readings are in the order the two samplers deliver them.
func synthReadings() []sampler.Reading {
	var rs []sampler.Reading
	var pkgJ, dramJ, psysJ float64 = 1000, 500, 9000
	for tick := int64(0); tick <= 100; tick++ {
		at := time.Duration(tick) * 100 * ms
		g0 := sampler.NewDeviceReading("gpu0", sampler.KindGPU)
		g0.PowerW, g0.UtilPct = square(at, 300, 100), square(at, 100, 0)
		g1 := sampler.NewDeviceReading("gpu1", sampler.KindGPU)
		g1.PowerW, g1.UtilPct = square(at, 150, 250), square(at, 10, 90)
		rs = append(rs, sampler.Reading{Sampler: "nvml", Tick: tick, At: at, Devices: []sampler.DeviceReading{g0, g1}})
		at += 50 * ms
		if tick > 0 {
			// Integrate package power over the last 100 ms in 1 ms steps.
			for s := at - 100*ms; s < at; s += ms {
				pkgJ += square(s, 150, 50) / 1000
			}
			dramJ += 20 * 0.1
			psysJ += 400 * 0.1
		}
		pkg := sampler.NewDeviceReading("package-0", sampler.KindCPUPackage)
		pkg.EnergyJ = math.Round(pkgJ*1e6) / 1e6
		dram := sampler.NewDeviceReading("dram-0", sampler.KindDRAM)
		dram.EnergyJ = math.Round(dramJ*1e6) / 1e6
		psys := sampler.NewDeviceReading("psys", sampler.KindOther)
		psys.EnergyJ = math.Round(psysJ*1e6) / 1e6
		rs = append(rs, sampler.Reading{Sampler: "rapl", Tick: tick, At: at, Devices: []sampler.DeviceReading{pkg, dram, psys}})
	}
	return rs
}

// synthTimeline is synthReadings as a timeline file.
func synthTimeline(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := sampler.NewTimelineWriter(&buf)
	for _, r := range synthReadings() {
		if err := tw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// synthResults is a closed loop of 4 workers sending 6 requests each, 1.2 s
// long, the first 4 requests warmup; every request streams 2-token chunks
// every 50 ms from 200 ms after its send. Results are in completion order,
// as the driver delivers them.
func synthResults() []loadgen.Result {
	var rs []loadgen.Result
	for w := range 4 {
		for k := range 6 {
			sent := time.Duration(w)*100*ms + time.Duration(k)*1250*ms
			r := loadgen.Result{Worker: w, Outcome: loadgen.OutcomeOK, Scheduled: sent, Sent: sent,
				FirstToken: sent + 200*ms, End: sent + 1200*ms, PromptTokens: 32, TokenSource: loadgen.TokenSourceUsage}
			for at := r.FirstToken; at <= r.End; at += 50 * ms {
				r.Chunks = append(r.Chunks, loadgen.Chunk{At: at, Tokens: 2})
				r.OutputTokens += 2
			}
			if w == 3 && k == 5 {
				r.Outcome, r.Error = loadgen.OutcomeTimeout, "timeout"
			}
			rs = append(rs, r)
		}
	}
	// Index in send order; the first four are warmup.
	sortBy(rs, func(a, b loadgen.Result) bool { return a.Sent < b.Sent })
	for i := range rs {
		rs[i].Index = i
		rs[i].Warmup = i < 4
	}
	sortBy(rs, func(a, b loadgen.Result) bool { return a.End < b.End })
	return rs
}

// synthTrace is synthResults as a trace file.
func synthTrace(t *testing.T) []byte {
	t.Helper()
	rs := synthResults()
	var buf bytes.Buffer
	jw := loadgen.NewJSONLWriter(&buf)
	for i := range rs {
		if err := jw.Write(&rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := jw.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func sortBy[T any](s []T, less func(a, b T) bool) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// synthPage is the page of the synthetic run: the trace's clock is 0.5 s
// behind the timeline's.
var synthPage = Page{Title: "synthetic run", EnvelopePath: "profile-results/profile-0123456789ab.json", TraceOffset: 500 * ms}

func render(t *testing.T, timeline, trace io.Reader, p Page) string {
	t.Helper()
	var out bytes.Buffer
	if err := WriteHTML(&out, timeline, trace, Options{}, p); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	page := out.String()
	checkSelfContained(t, page)
	checkWellFormed(t, page)
	return page
}

// checkSelfContained fails on anything that would make a browser fetch
// something: links, scripts, stylesheets, fonts, images.
func checkSelfContained(t *testing.T, page string) {
	t.Helper()
	lower := strings.ToLower(page)
	for _, bad := range []string{"http://", "https://", "<script", "@import", "url(", "src=", "href=", "<link", "<img", "<iframe", "<object", "<embed", "xlink:"} {
		if strings.Contains(lower, bad) {
			i := strings.Index(lower, bad)
			t.Errorf("page contains %q: …%s…", bad, page[max(i-60, 0):min(i+60, len(page))])
		}
	}
}

// checkWellFormed parses the page twice: as strict XML (every element
// closed, every attribute quoted, only XML's entities), and as a browser
// would (golang.org/x/net/html), checking that the SVG lands in the SVG
// namespace and that every chart is there.
func checkWellFormed(t *testing.T, page string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(page))
	dec.Strict = true
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("page is not well-formed XML: %v", err)
		}
	}

	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var figures, panels, svgs int
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch {
		case n.Data == "figure":
			figures++
		case n.Data == "section" && attr(n, "class") == "nm":
			panels++
		case n.Data == "svg":
			svgs++
			if n.Namespace != "svg" {
				t.Errorf("<svg> parsed into namespace %q", n.Namespace)
			}
		case n.Data == "polyline" && n.Namespace != "svg":
			t.Errorf("<polyline> outside SVG")
		case n.Data == "script":
			t.Errorf("page has a <script>")
		}
	}
	if figures+panels != 5 || svgs != figures {
		t.Errorf("%d figures, %d not-measured panels, %d svgs; want 5 charts, one svg per figure", figures, panels, svgs)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// polylines returns the number of points of each polyline, by its title.
func polylines(t *testing.T, page string) map[string][]int {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]int{}
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == "polyline" {
			title := ""
			if c := n.FirstChild; c != nil && c.Data == "title" && c.FirstChild != nil {
				title = c.FirstChild.Data
			}
			out[title] = append(out[title], len(strings.Fields(attr(n, "points"))))
		}
	}
	return out
}

func notMeasured(page string) int { return strings.Count(page, "Not measured: ") }

func TestHTMLTimelineGolden(t *testing.T) {
	page := render(t, bytes.NewReader(synthTimeline(t)), bytes.NewReader(synthTrace(t)), synthPage)
	golden(t, "synthetic.golden.html", []byte(page))

	if n := notMeasured(page); n != 0 {
		t.Errorf("%d not-measured panels; want none", n)
	}
	lines := polylines(t, page)
	for _, name := range []string{"gpu0", "gpu1", "sum of GPUs", "package-0", "dram-0", "sum of CPU packages and DRAM", "in flight", "output tokens/s"} {
		if len(lines[name]) == 0 {
			t.Errorf("no line %q; have %v", name, lines)
		}
	}
	if len(lines["gpu0"]) != 2 {
		t.Errorf("gpu0 drawn %d times; want power and utilization", len(lines["gpu0"]))
	}
	if _, ok := lines["psys"]; ok {
		t.Error("psys has a line")
	}
	// The default window: the first post-warmup send (worker 0's second
	// request, 1.25 s, +0.5 s) to the last end (worker 3's last, sent at
	// 6.55 s, ending at 7.75 s, +0.5 s).
	if !strings.Contains(page, "measurement window: 1.75 s to 8.25 s (from the trace") {
		t.Error("window not derived from the trace")
	}
	if !strings.Contains(page, "shifted by +0.5 s") {
		t.Error("trace offset not shown")
	}
}

func TestHTMLTimelineRAPLPower(t *testing.T) {
	tl := newTimelineAgg(DefaultMaxPoints)
	for _, r := range synthReadings() {
		tl.add(&r)
	}
	if len(tl.rapl) != 2 || tl.other != 101 {
		t.Fatalf("%d RAPL devices, %d other rows; want package-0 and dram-0, psys left out", len(tl.rapl), tl.other)
	}
	for _, d := range tl.rapl {
		for _, p := range d.power.points() {
			want := 20.0
			if d.kind == sampler.KindCPUPackage {
				// Intervals inside a second see 150 or 50 W; those
				// straddling an edge the mean, 100 W.
				switch s := time.Duration(p.t) % time.Second; {
				case s == 0:
					want = 100
				default:
					want = square(time.Duration(p.t), 150, 50)
				}
			}
			if math.Abs(p.v-want) > 1e-6 {
				t.Errorf("%s at %v: %v W; want %v", d.key.device, time.Duration(p.t), p.v, want)
			}
		}
	}
	for _, p := range tl.raplSum.points() {
		if p.v > 170+1e-6 || p.v < 70-1e-6 {
			t.Errorf("sum at %v: %v W; want 70 to 170 (psys left out)", time.Duration(p.t), p.v)
		}
	}
}

func TestHTMLTimelineAbsent(t *testing.T) {
	gpuOnly := func() []byte {
		var buf bytes.Buffer
		tw := sampler.NewTimelineWriter(&buf)
		for i := range 5 {
			g := sampler.NewDeviceReading("gpu0", sampler.KindGPU)
			g.PowerW = 100
			other := sampler.NewDeviceReading("psys", sampler.KindOther)
			other.EnergyJ = float64(i)
			dram := sampler.NewDeviceReading("dram-0", sampler.KindDRAM) // no energy read
			if err := tw.Write(sampler.Reading{Sampler: "s", Tick: int64(i), At: time.Duration(i) * time.Second, Devices: []sampler.DeviceReading{g, other, dram}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := tw.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	noChunks := func() []byte {
		var buf bytes.Buffer
		jw := loadgen.NewJSONLWriter(&buf)
		for i := range 3 {
			r := loadgen.Result{Index: i, Outcome: loadgen.OutcomeHTTPStatus, StatusCode: 503, Sent: time.Duration(i) * time.Second, End: time.Duration(i)*time.Second + 10*ms}
			if err := jw.Write(&r); err != nil {
				t.Fatal(err)
			}
		}
		if err := jw.Flush(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}()
	reader := func(b []byte) io.Reader { return bytes.NewReader(b) }
	tests := []struct {
		name            string
		timeline, trace io.Reader
		absent          int // not-measured panels
		want            []string
	}{
		{"nothing", nil, nil, 5, []string{"no timeline was given", "no trace was given"}},
		{"empty inputs", strings.NewReader(""), strings.NewReader(""), 5, []string{"the timeline has no GPU rows", "the timeline has no CPU package or DRAM rows", "the trace is empty"}},
		{"header only", strings.NewReader(strings.Join(sampler.TimelineColumns(), ",") + "\n"), nil, 5, []string{"the timeline has no GPU rows"}},
		{"GPU power only, failed requests", reader(gpuOnly), reader(noChunks), 3, []string{"the timeline&#39;s GPU rows carry no utilization readings", "the timeline has no CPU package or DRAM rows", "the trace has no content chunks"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := render(t, tt.timeline, tt.trace, Page{})
			for _, w := range tt.want {
				if !strings.Contains(page, w) {
					t.Errorf("page does not say %q", w)
				}
			}
			if got := notMeasured(page); got != tt.absent {
				t.Errorf("%d not-measured panels; want %d", got, tt.absent)
			}
		})
	}
}

func TestHTMLTimelineEscapes(t *testing.T) {
	var buf bytes.Buffer
	tw := sampler.NewTimelineWriter(&buf)
	for i := range 3 {
		g := sampler.NewDeviceReading(`<img onerror="alert(1)">&gpu`, sampler.KindGPU)
		g.PowerW, g.UtilPct = 100, 50
		if err := tw.Write(sampler.Reading{Sampler: "nvml\x01", Tick: int64(i), At: time.Duration(i) * time.Second, Devices: []sampler.DeviceReading{g}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Flush(); err != nil {
		t.Fatal(err)
	}
	p := Page{Title: `</title><script>alert("t")</script>`, EnvelopePath: "a&b<c>.json"}
	page := render(t, &buf, nil, p)
	for _, raw := range []string{"<img", "<script", "</title><script", "a&b", "\x01"} {
		if strings.Contains(page, raw) {
			t.Errorf("page holds unescaped %q", raw)
		}
	}
	for _, escaped := range []string{"&lt;img onerror=&#34;alert(1)&#34;&gt;&amp;gpu", "&lt;/title&gt;&lt;script&gt;", "a&amp;b&lt;c&gt;.json"} {
		if !strings.Contains(page, escaped) {
			t.Errorf("page does not hold %q", escaped)
		}
	}
}

func TestHTMLTimelineOptions(t *testing.T) {
	bad := []struct {
		opts Options
		page Page
	}{
		{page: Page{Window: energy.Window{Start: 2 * time.Second, End: time.Second}}},
		{page: Page{Window: energy.Window{Start: time.Second, End: time.Second}}},
		{opts: Options{MaxPoints: -1}},
		{opts: Options{MaxPoints: MinMaxPoints - 1}},
		{opts: Options{TokenBin: -time.Second}},
	}
	for _, tt := range bad {
		var out bytes.Buffer
		// An input that cannot be read: invalid options stop before it.
		if err := WriteHTML(&out, iotest.ErrReader(errors.New("read")), nil, tt.opts, tt.page); err == nil || strings.Contains(err.Error(), "read") {
			t.Errorf("%+v: error %v; want the invalid option's, before reading", tt, err)
		} else if out.Len() != 0 {
			t.Errorf("%+v: wrote %d bytes on error", tt, out.Len())
		}
		if b, err := NewBuilder(tt.opts); err == nil {
			if err := b.WriteHTML(&out, tt.page); err == nil || out.Len() != 0 {
				t.Errorf("%+v: Builder.WriteHTML error %v, %d bytes written", tt, err, out.Len())
			}
		}
	}
	// A given window replaces the trace's.
	page := render(t, nil, bytes.NewReader(synthTrace(t)), Page{Window: energy.Window{Start: 2 * time.Second, End: 4 * time.Second}})
	if !strings.Contains(page, "measurement window: 2 s to 4 s (given)") {
		t.Error("given window not used")
	}
	// No window given and no trace to take one from: nothing shaded.
	page = render(t, bytes.NewReader(synthTimeline(t)), nil, Page{})
	if strings.Contains(page, `class="win"`) || !strings.Contains(page, "measurement window: unknown") {
		t.Error("a window is shaded without one")
	}
}

func TestHTMLTimelineReadErrors(t *testing.T) {
	var out bytes.Buffer
	err := WriteHTML(&out, strings.NewReader("t_ns,oops\n1,2\n"), strings.NewReader("{not json"), Options{}, Page{})
	if err == nil || !strings.Contains(err.Error(), "timeline") || !strings.Contains(err.Error(), "trace") {
		t.Errorf("err = %v; want both inputs' errors", err)
	}
	if out.Len() != 0 {
		t.Errorf("wrote %d bytes on error", out.Len())
	}
	wantErr := errors.New("disk full")
	if err := WriteHTML(failWriter{wantErr}, nil, nil, Options{}, Page{}); !errors.Is(err, wantErr) {
		t.Errorf("err = %v; want the write error", err)
	}
}

type failWriter struct{ err error }

func (f failWriter) Write([]byte) (int, error) { return 0, f.err }

// TestSeriesKeepsExtremes checks the M4 bins: a one-sample spike and dip
// survive any amount of downsampling, points stay within the budget and in
// time order, whatever the order the points come in.
func TestSeriesKeepsExtremes(t *testing.T) {
	const n = 200_000
	rng := rand.New(rand.NewPCG(1, 2))
	order := rng.Perm(n)
	s := newSeries(400)
	done := make([]bool, n)
	for _, i := range order[:n/2] { // half in random order, then the rest in order
		s.add(int64(i)*int64(ms), value(i))
		done[i] = true
	}
	for i := range n {
		if !done[i] {
			s.add(int64(i)*int64(ms), value(i))
		}
	}
	pts := s.points()
	if len(pts) > 400 {
		t.Errorf("%d points; want at most 400", len(pts))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range pts {
		if i > 0 && p.t < pts[i-1].t {
			t.Fatalf("points out of order at %d", i)
		}
		lo, hi = min(lo, p.v), max(hi, p.v)
	}
	if lo != -50 || hi != 1000 {
		t.Errorf("range %v..%v; want the dip -50 and the spike 1000 kept", lo, hi)
	}
	if pts[0].t != 0 || pts[len(pts)-1].t != (n-1)*int64(ms) {
		t.Errorf("first %v, last %v; want the ends kept", pts[0].t, pts[len(pts)-1].t)
	}
}

func value(i int) float64 {
	switch i {
	case 123_457:
		return 1000
	case 77_777:
		return -50
	}
	return float64(i % 100)
}

// TestInflightArea compares the binned in-flight means with an exact
// integration of random intervals, through many coarsenings.
func TestInflightArea(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	g := grid[areaBin]{width: baseBin, limit: 100, merge: mergeArea, flatten: flattenArea}
	type iv struct{ s, e int64 }
	var ivs []iv
	for range 5000 {
		s := rng.Int64N(int64(600 * time.Second))
		e := s + rng.Int64N(int64(30*time.Second)) + 1
		ivs = append(ivs, iv{s, e})
		addInterval(&g, s, e)
	}
	if len(g.b) > 100 {
		t.Fatalf("%d bins; want at most 100", len(g.b))
	}
	means := areaMeans(&g)
	for i, m := range means {
		b0, b1 := g.start(i), g.start(i+1)
		var area int64
		for _, v := range ivs {
			if lo, hi := max(v.s, b0), min(v.e, b1); hi > lo {
				area += hi - lo
			}
		}
		if want := float64(area) / float64(g.width); math.Abs(m-want) > 1e-9*want+1e-12 {
			t.Errorf("bin %d: mean %v; want %v", i, m, want)
		}
	}
}

func TestDeviceLabels(t *testing.T) {
	devs := []*devState{
		{key: devKey{"remote", "gpu0"}}, {key: devKey{"nvml", "gpu10"}},
		{key: devKey{"nvml", "gpu0"}}, {key: devKey{"nvml", "gpu2"}},
	}
	sorted, names := sortDevs(devs)
	var got []string
	for _, d := range sorted {
		got = append(got, names[d])
	}
	if want := "nvml:gpu0 remote:gpu0 gpu2 gpu10"; strings.Join(got, " ") != want {
		t.Errorf("labels %v; want %s", got, want)
	}
}

func TestNaturalCmp(t *testing.T) {
	got := []string{"gpu10", "gpu2", "host/gpu1", "gpu1", "gpu02"}
	sortBy(got, func(a, b string) bool { return naturalCmp(a, b) < 0 })
	want := "gpu1 gpu2 gpu02 gpu10 host/gpu1"
	if strings.Join(got, " ") != want {
		t.Errorf("got %v; want %s", got, want)
	}
}

// TestHTMLTimelineLarge streams an hour of telemetry (8 GPUs every 10 ms,
// 2 packages and 2 DRAM zones every 25 ms: 3.5 million rows) and an hour
// of trace (16 workers, 28,800 requests, 1.4 million chunks) through
// pipes, so that neither exists in memory whole, and checks that the page
// stays small and every line within its point budget.
func TestHTMLTimelineLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("streams an hour of synthetic telemetry")
	}
	const hour = time.Hour
	tlR, tlW := io.Pipe()
	go func() {
		tw := sampler.NewTimelineWriter(tlW)
		devs := make([]sampler.DeviceReading, 8)
		rapl := make([]sampler.DeviceReading, 4)
		var energy [4]float64
		var tick, raplTick int64
		for at := time.Duration(0); at <= hour; at += 5 * ms {
			if at%(10*ms) == 0 {
				for g := range devs {
					d := sampler.NewDeviceReading("gpu"+string(rune('0'+g)), sampler.KindGPU)
					d.PowerW = square(at+time.Duration(g)*time.Second, 650, 120) + float64(tick%7)
					d.UtilPct = square(at+time.Duration(g)*time.Second, 98, 3)
					d.EnergyJ = float64(tick) * 4
					devs[g] = d
				}
				if err := tw.Write(sampler.Reading{Sampler: "nvml", Tick: tick, At: at, Devices: devs}); err != nil {
					tlW.CloseWithError(err)
					return
				}
				tick++
			}
			if at%(25*ms) == 0 {
				for z := range rapl {
					kind := sampler.KindCPUPackage
					if z >= 2 {
						kind = sampler.KindDRAM
					}
					energy[z] += square(at, 200, 80) * 0.025 / float64(z+1)
					d := sampler.NewDeviceReading([]string{"package-0", "package-1", "dram-0", "dram-1"}[z], kind)
					d.EnergyJ = energy[z]
					rapl[z] = d
				}
				if err := tw.Write(sampler.Reading{Sampler: "rapl", Tick: raplTick, At: at, Devices: rapl}); err != nil {
					tlW.CloseWithError(err)
					return
				}
				raplTick++
			}
		}
		tlW.CloseWithError(tw.Flush())
	}()
	trR, trW := io.Pipe()
	go func() {
		jw := loadgen.NewJSONLWriter(trW)
		i := 0
		for start := time.Duration(0); start+2*time.Second <= hour; start += 2 * time.Second {
			for w := range 16 {
				sent := start + time.Duration(w)*ms
				r := loadgen.Result{Index: i, Warmup: i < 16, Worker: w, Outcome: loadgen.OutcomeOK, Sent: sent, Scheduled: sent,
					FirstToken: sent + 100*ms, End: sent + 1990*ms}
				r.Chunks = make([]loadgen.Chunk, 0, 50)
				for at := r.FirstToken; at < r.End; at += 40 * ms {
					r.Chunks = append(r.Chunks, loadgen.Chunk{At: at, Tokens: 1})
				}
				r.OutputTokens = len(r.Chunks)
				if err := jw.Write(&r); err != nil {
					trW.CloseWithError(err)
					return
				}
				i++
			}
		}
		trW.CloseWithError(jw.Flush())
	}()

	begin := time.Now()
	var out bytes.Buffer
	err := WriteHTML(&out, tlR, trR, Options{}, Page{Title: "one hour"})
	elapsed := time.Since(begin)
	tlR.Close()
	trR.Close()
	if err != nil {
		t.Fatal(err)
	}
	page := out.String()
	checkSelfContained(t, page)
	checkWellFormed(t, page)
	t.Logf("one hour, 3.5M timeline rows, 28,800 requests: %d bytes of HTML in %v", len(page), elapsed.Round(time.Millisecond))
	if len(page) > 2<<20 {
		t.Errorf("page is %d bytes; want under 2 MiB", len(page))
	}
	if n := notMeasured(page); n != 0 {
		t.Errorf("%d not-measured panels", n)
	}
	lines := polylines(t, page)
	total := 0
	for name, counts := range lines {
		for _, c := range counts {
			total++
			if c > DefaultMaxPoints {
				t.Errorf("%s: %d points; want at most %d", name, c, DefaultMaxPoints)
			}
		}
	}
	if total != 8+1+8+4+1+1+1 {
		t.Errorf("%d lines; want 8 GPUs + sum, 8 utilizations, 4 RAPL + sum, in flight, tokens/s", total)
	}
	if !strings.Contains(page, "2880008 device readings") {
		t.Error("not every GPU reading was counted")
	}
}

// TestDefaultWindowIsTheMetrics: with no window given, the shaded window is
// loadgen.Summary's — first send to last end of the post-warmup requests —
// even when a warmup request ends last.
func TestDefaultWindowIsTheMetrics(t *testing.T) {
	results := []loadgen.Result{
		{Index: 0, Warmup: true, Outcome: loadgen.OutcomeOK, Sent: 0, End: 9 * time.Second},
		{Index: 1, Outcome: loadgen.OutcomeOK, Sent: time.Second, End: 3 * time.Second},
		{Index: 2, Outcome: loadgen.OutcomeOK, Sent: 2 * time.Second, End: 4 * time.Second},
	}
	s := loadgen.Summarize(results, loadgen.SLO{})
	b, err := NewBuilder(Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		b.AddResult(r)
	}
	var out bytes.Buffer
	if err := b.WriteHTML(&out, Page{}); err != nil {
		t.Fatal(err)
	}
	want := "measurement window: " + seconds(int64(s.WindowStart)) + " s to " + seconds(int64(s.WindowEnd)) + " s (from the trace"
	if !strings.Contains(out.String(), want) || s.WindowEnd != 4*time.Second {
		t.Errorf("page does not say %q (Summary's window %v to %v)", want, s.WindowStart, s.WindowEnd)
	}
}

// TestSecondsForReaders: times are written to the millisecond, not to the
// nanosecond.
func TestSecondsForReaders(t *testing.T) {
	for ns, want := range map[int64]string{1161941: "0.001", 0: "0", 12345678901: "12.346", 3e9: "3", -250e6: "-0.25", -1: "0"} {
		if got := seconds(ns); got != want {
			t.Errorf("seconds(%d) = %q, want %q", ns, got, want)
		}
	}
}

// TestSensorLabels: with Page.Sensors the GPU power chart's lines say
// which power reading each is, its sensor's period, and which GPUs the
// energy figures leave out; the idle phase is named in the header.
func TestSensorLabels(t *testing.T) {
	p := synthPage
	p.Sensors = []Sensor{
		{Sampler: "nvml", Device: "gpu0", Period: 20 * ms},
		{Sampler: "nvml", Device: "gpu1", PowerAveraged: true, NotCounted: true},
	}
	p.IdleWindow = energy.Window{Start: 0, End: 3 * time.Second}
	page := render(t, bytes.NewReader(synthTimeline(t)), nil, p)
	for _, want := range []string{"gpu0 (instant, updates ~20ms)", "gpu1 (1 s average; not counted)", "Each label says which reading its line is",
		"idle phase: 0 s to 3 s"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	p.IdleWindow = energy.Window{Start: time.Second, End: time.Second}
	if err := WriteHTML(io.Discard, nil, nil, Options{}, p); err == nil {
		t.Error("an empty idle window was accepted")
	}
}
