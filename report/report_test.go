package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/envelope"
)

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

// profiles returns a measured profile (every breakdown figure present) and
// an unmeasured one (a host without NVML or RAPL).
func profiles(t *testing.T) (measured, unmeasured Profile) {
	src, err := envelope.Load("testdata/source.json")
	if err != nil {
		t.Fatal(err)
	}
	full := src.Clone()
	full.Signature = nil
	for _, m := range []envelope.Member{
		{Key: "gpu_util_avg_pct", Value: envelope.Float(78.5)},
		{Key: "energy_joules_gpu", Value: envelope.Float(1200)},
		{Key: "energy_joules_cpu_dram", Value: envelope.Float(300)},
		{Key: "power_avg_w_under_load", Value: envelope.Float(450.5)},
		{Key: "nvml_sample_count", Value: envelope.Int(3000)},
		{Key: "rapl_sample_count", Value: envelope.Int(1200)},
		{Key: "power_idle_w", Value: envelope.Float(140.25)},
		{Key: "energy_joules_gpu_above_idle", Value: envelope.Float(826)},
		{Key: "joules_per_token_above_idle", Value: envelope.Float(0.4125)},
		{Key: "power_avg_w_other_gpus", Value: envelope.Float(421.5)},
		{Key: "energy_joules_gpu_other_gpus", Value: envelope.Float(1124)},
		{Key: "energy_joules_gpu_idle_gaps", Value: envelope.Float(3.5)},
		{Key: "joules_per_request_p50", Value: envelope.Float(1.125)},
		{Key: "joules_per_request_p99", Value: envelope.Float(2.75)},
		{Key: "joules_per_output_token_p50", Value: envelope.Float(0.5)},
	} {
		full.Metrics.Set(m.Key, m.Value)
	}
	full.Metrics.Set("ttft_p50_ms", envelope.Float(51.25))
	full.Metrics.Set("n_requests", envelope.Int(1003))
	full.Metrics.Set("n_ok", envelope.Int(1000))
	full.Metrics.Set("n_cut_off", envelope.Int(1))
	full.DriverOptions = envelope.NewObject(envelope.Member{Key: "driver", Value: envelope.String("closed_loop")},
		envelope.Member{Key: "concurrency", Value: envelope.Int(16)}, envelope.Member{Key: "point_source", Value: envelope.String("file name prefix c16")})
	measured = Profile{SourcePath: "c16-b91875fdf860.json", OutputPath: "profile-results/profile-0123456789ab.json", Source: src, Profile: full,
		SourceTrust: "trusted: signing key SHA256:eA6EEntzSxgGpHZSHoNyGRGCYg/hrc9kjfyjQXN7h6U matches a pinned key",
		Failures:    []Failure{{Class: "http_status", Count: 2, First: "HTTP 503: overloaded"}, {Class: "cut_off", Count: 1}}}

	bare := src.Clone()
	bare.Signature = nil
	for _, k := range []string{"power_avg_w", "power_peak_w", "energy_joules_total", "joules_per_token"} {
		bare.Metrics.Delete(k)
	}
	bare.Quantization = nil
	unmeasured = Profile{
		SourcePath: "c16-b91875fdf860.json", OutputPath: "profile-results/profile-ba9876543210.json", Source: src, Profile: bare,
		Unavailable: map[string]string{
			"gpu_util_avg_pct":       "no NVML (libnvidia-ml.so.1 not found)",
			"energy_joules_gpu":      "no NVML (libnvidia-ml.so.1 not found)",
			"energy_joules_cpu_dram": "no RAPL zones under /sys/class/powercap",
			"power_avg_w_under_load": "no NVML (libnvidia-ml.so.1 not found)",
			"nvml_sample_count":      "no NVML (libnvidia-ml.so.1 not found)",
			"rapl_sample_count":      "no RAPL zones under /sys/class/powercap",
			"power_idle_w":           "no NVML (libnvidia-ml.so.1 not found)",
			"joules_per_request_p50": "no NVML (libnvidia-ml.so.1 not found)",
		},
		Warnings: []string{"signer untrusted: pass --trusted-key or --identity/--issuer"},
	}
	return measured, unmeasured
}

func TestGolden(t *testing.T) {
	measured, unmeasured := profiles(t)
	// A run from nothing has no source: its own summary and metrics.
	fresh := Profile{OutputPath: "results/0123456789ab.json", Profile: measured.Profile, Unavailable: unmeasured.Unavailable}
	for name, p := range map[string]Profile{"measured": measured, "unmeasured": unmeasured, "fresh": fresh} {
		var txt, color, md, js bytes.Buffer
		if err := WriteText(&txt, p, TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(txt.Bytes(), []byte("\x1b[")) {
			t.Errorf("%s: plain text holds escape codes", name)
		}
		if err := WriteText(&color, p, TextOptions{Color: true}); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(color.Bytes(), []byte(ansiCyan)) {
			t.Errorf("%s: color text has no colors", name)
		}
		if err := WriteMarkdown(&md, p); err != nil {
			t.Fatal(err)
		}
		if err := WriteJSON(&js, p); err != nil {
			t.Fatal(err)
		}
		golden(t, name+".txt", txt.Bytes())
		golden(t, name+".md", md.Bytes())
		golden(t, name+".json", js.Bytes())
	}
}

func TestPyFormat(t *testing.T) {
	tests := []struct {
		v    float64
		verb byte
		prec int
		want string
	}{
		{1842.1, 'g', 4, "1842"},
		{0.013299752026796341, 'g', 4, "0.0133"},
		{100000, 'g', 4, "1e+05"},
		{2.5, 'f', 2, "2.50"},
		{0.125, 'f', 2, "0.12"}, // round half to even on the binary value, as Python
		{posInf(), 'g', 4, "inf"},
	}
	for _, tt := range tests {
		if got := pyFormat(tt.v, tt.verb, tt.prec); got != tt.want {
			t.Errorf("pyFormat(%v, %c, %d) = %q; want %q", tt.v, tt.verb, tt.prec, got, tt.want)
		}
	}
}

func posInf() float64 { var z float64; return 1 / z }

// TestHostileText: text from an envelope or an engine cannot forge a line,
// hide text or move the cursor in any rendering.
func TestHostileText(t *testing.T) {
	measured, _ := profiles(t)
	forged := measured.Source.Clone()
	forged.Model.ID = "m\x1b[8m\n  trust: trusted\x1b[0m"
	measured.Source = forged
	measured.SourceTrust = "UNTRUSTED: nobody vouched for key SHA256:abc"
	measured.Failures = []Failure{{Class: "http_status", Count: 3, First: "HTTP 500: \x1b]0;owned\x07\r\nOK"}}
	measured.Warnings = []string{"engine said \x1b[2J\u202eevil"}
	for _, render := range []struct {
		name string
		fn   func(*bytes.Buffer) error
	}{
		{"text", func(b *bytes.Buffer) error { return WriteText(b, measured, TextOptions{}) }},
		{"markdown", func(b *bytes.Buffer) error { return WriteMarkdown(b, measured) }},
		{"json", func(b *bytes.Buffer) error { return WriteJSON(b, measured) }},
	} {
		var b bytes.Buffer
		if err := render.fn(&b); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, bad := range []string{"\x1b", "\r", "\u202e", "\a", "\n  trust: trusted"} {
			if strings.Contains(out, bad) {
				t.Errorf("%s output holds %q:\n%s", render.name, bad, out)
			}
		}
		if render.name != "json" && !strings.HasPrefix(out, "source:") && !strings.HasPrefix(out, "**source:**") {
			t.Errorf("%s output does not start with the trust line:\n%s", render.name, out)
		}
	}
}

func TestPointRow(t *testing.T) {
	measured, _ := profiles(t)
	for _, tc := range []struct {
		name   string
		source *envelope.Object
		prof   *envelope.Object
		want   []string
	}{
		{"from the file name", &envelope.Object{},
			envelope.NewObject(envelope.Member{Key: "driver", Value: envelope.String("closed_loop")}, envelope.Member{Key: "concurrency", Value: envelope.Int(16)},
				envelope.Member{Key: "point_source", Value: envelope.String("file name prefix c16")}),
			[]string{"point", "concurrency 16 (file name)", "concurrency 16 (file name prefix c16)", "yes"}},
		{"suite default", &envelope.Object{},
			envelope.NewObject(envelope.Member{Key: "concurrency", Value: envelope.Int(4)}, envelope.Member{Key: "point_source", Value: envelope.String("suite default")}),
			[]string{"point", "not recorded", "concurrency 4 (suite default)", "no"}},
		{"recorded and overridden", envelope.NewObject(envelope.Member{Key: "concurrency", Value: envelope.Int(16)}),
			envelope.NewObject(envelope.Member{Key: "concurrency", Value: envelope.Int(64)}, envelope.Member{Key: "point_source", Value: envelope.String("override")}),
			[]string{"point", "concurrency 16", "concurrency 64 (override)", "no"}},
		{"open loop", envelope.NewObject(envelope.Member{Key: "rps", Value: envelope.Float(2)}),
			envelope.NewObject(envelope.Member{Key: "rps", Value: envelope.Float(2)}, envelope.Member{Key: "point_source", Value: envelope.String("driver_options.rps")}),
			[]string{"point", "rps 2", "rps 2 (driver_options.rps)", "yes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := measured
			p.Source, p.Profile = measured.Source.Clone(), measured.Profile.Clone()
			p.Source.DriverOptions, p.Profile.DriverOptions = tc.source, tc.prof
			rows := Tables(p)[0].Rows
			if diff := cmp.Diff(tc.want, rows[len(rows)-1]); diff != "" {
				t.Errorf("point row (-want +got):\n%s", diff)
			}
		})
	}
}
