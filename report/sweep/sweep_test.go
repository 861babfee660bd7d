package sweep

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/report"
)

// point returns a closed-loop point at concurrency c with the given
// metrics (key, value pairs).
func point(c int, kv ...any) Point {
	m := &envelope.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i].(string), envelope.Float(kv[i+1].(float64)))
	}
	label := "c" + string(rune('0'+c/10)) + string(rune('0'+c%10))
	return Point{Label: label, Driver: ClosedLoop, Load: float64(c), Envelope: &envelope.Envelope{Metrics: m}, Path: "profile-" + label + "-0123456789ab.json"}
}

// hockey is a curve whose throughput flattens at c32 while TTFT p99 takes
// off: the knee is c32.
func hockey() *Summary {
	return &Summary{Title: "t", SuiteID: "llm.inference.chatbot-short", Points: []Point{
		point(8, "throughput_tok_per_s", 800.0, "ttft_p99_ms", 20.0, "joules_per_token", 0.9, "power_avg_w", 300.0),
		point(64, "throughput_tok_per_s", 2650.0, "ttft_p99_ms", 900.0, "joules_per_token", 0.5, "power_avg_w", 700.0),
		point(16, "throughput_tok_per_s", 1600.0, "ttft_p99_ms", 22.0, "joules_per_token", 0.6, "power_avg_w", 450.0),
		point(32, "throughput_tok_per_s", 2500.0, "ttft_p99_ms", 40.0, "joules_per_token", 0.45, "power_avg_w", 650.0),
		{Label: "c96", Driver: ClosedLoop, Load: 96, Error: "every warmup request failed", Interrupted: false},
	}}
}

func TestKnee(t *testing.T) {
	s := hockey()
	k, ok := Knee(s)
	if !ok || s.Points[k].Label != "c32" {
		t.Fatalf("knee %v %v; want c32", k, ok)
	}
	// A straight line does not bend: no knee.
	line := &Summary{Points: []Point{point(1, "throughput_tok_per_s", 1.0, "ttft_p99_ms", 1.0),
		point(2, "throughput_tok_per_s", 2.0, "ttft_p99_ms", 2.0), point(3, "throughput_tok_per_s", 3.0, "ttft_p99_ms", 3.0)}}
	if k, ok := Knee(line); ok {
		t.Errorf("knee %d on a straight line", k)
	}
	if _, ok := Knee(&Summary{Points: s.Points[:2]}); ok {
		t.Error("a knee from two points")
	}
}

func TestTableAndJSON(t *testing.T) {
	s := hockey()
	s.SLO = "ttft_p99=500ms, ok_rate>=0.99"
	for i := range s.Points {
		s.Points[i].Probe = i + 1
		s.Points[i].Holds = s.Points[i].Load <= 32
		s.Points[i].Verdict = "holds"
	}
	s.Points[3].Role = RolePeak
	s.Points[1].Role, s.Points[1].Verdict = RolePastPeak, "ttft_p99 900 ms > 500 ms"
	tb := Table(s)
	var labels []string
	for _, r := range tb.Rows {
		labels = append(labels, r[0])
	}
	if got := strings.Join(labels, " "); got != "c08 c16 c32 c64 c96" {
		t.Errorf("rows in order %s; want by load", got)
	}
	var text bytes.Buffer
	if err := WriteText(&text, s, report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Peak search", "knee; peak", "past peak", "no envelope: every warmup request failed",
		"peak: c32, 0.45 J/token; past it: c64 (ttft_p99 900 ms > 500 ms)", "TTFT p99 ms", "J/token"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, text.String())
		}
	}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, s); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Knee   string `json:"knee"`
		Points []struct {
			Label   string             `json:"label"`
			Holds   *bool              `json:"holds"`
			Metrics map[string]float64 `json:"metrics"`
		} `json:"points"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Knee != "c32" || len(doc.Points) != 5 || doc.Points[0].Metrics["ttft_p99_ms"] != 20 || doc.Points[0].Holds == nil {
		t.Errorf("JSON %s", buf.String())
	}
	if !strings.Contains(buf.String(), `"peak": "c32"`) || !strings.Contains(buf.String(), `"past_peak": "c64"`) {
		t.Errorf("JSON lacks the peak: %s", buf.String())
	}
}

func TestHTML(t *testing.T) {
	s := hockey()
	s.Points[0].Label = `<script>alert(1)</script>`
	var b bytes.Buffer
	if err := WriteHTML(&b, s); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	for _, want := range []string{"Latency vs throughput", "Energy per token vs throughput", "GPU power vs load", "knee c32", "<svg", "&lt;script&gt;"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"<script", "http://", "https://"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q: it must be self-contained and inert", bad)
		}
	}
	// Without energy telemetry the energy and power charts say so.
	bare := &Summary{Points: []Point{point(1, "throughput_tok_per_s", 10.0, "ttft_p99_ms", 5.0)}}
	b.Reset()
	if err := WriteHTML(&b, bare); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(b.String(), "Not measured:"); n != 2 {
		t.Errorf("%d absent charts; want 2 (energy and power)", n)
	}
}
