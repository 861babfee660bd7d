package catalog

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/google/go-cmp/cmp"
)

func TestPointFromFileName(t *testing.T) {
	tests := []struct {
		path       string
		want       loadgen.Point
		wantPrefix string
		wantOK     bool
		wantErr    bool
	}{
		// Corpus names (validation-runs/<dir>/<name> flattened to <dir>_<name>).
		{"2026-06-13-llm-h100_c1-79d354b13545.json", loadgen.Point{Concurrency: 1}, "c1", true, false},
		{"2026-06-13-llm-h100_c16-b91875fdf860.json", loadgen.Point{Concurrency: 16}, "c16", true, false},
		{"2026-06-13-llm-h100_c4-95cbfd4f49dc.json", loadgen.Point{Concurrency: 4}, "c4", true, false},
		{"/corpus/envelopes/2026-06-13-llm-h100_c4-95cbfd4f49dc.json", loadgen.Point{Concurrency: 4}, "c4", true, false},
		{"2026-06-13-llm-h100_f06278fb9eb4.json", loadgen.Point{}, "", false, false},
		{"2026-05-18-multi-vendor-marathon_marathon_all_010e9504589b.json", loadgen.Point{}, "", false, false},
		{"2026-05-29-voice-testbm-h100_f1c81b4978c8.json", loadgen.Point{}, "", false, false},
		// Names the reference writes.
		{"c16-b91875fdf860.json", loadgen.Point{Concurrency: 16}, "c16", true, false},
		{"results/c64-0123456789ab.json", loadgen.Point{Concurrency: 64}, "c64", true, false},
		{"rps4-0123456789ab.json", loadgen.Point{RPS: 4}, "rps4", true, false},
		{"rps256-0123456789ab.json", loadgen.Point{RPS: 256}, "rps256", true, false},
		{"rps0p5-0123456789ab.json", loadgen.Point{RPS: 0.5}, "rps0p5", true, false},
		{"run_rps2p25-0123456789ab.json", loadgen.Point{RPS: 2.25}, "rps2p25", true, false},
		{"rps1e-05-0123456789ab.json", loadgen.Point{RPS: 1e-5}, "rps1e-05", true, false},
		{"b91875fdf860.json", loadgen.Point{}, "", false, false},
		{"profile-b91875fdf860.json", loadgen.Point{}, "", false, false},
		{"llm-inference-chatbot-short-b91875fdf860.json", loadgen.Point{}, "", false, false},
		// The docs' example name, which the reference never writes.
		{"profile-c16-fc41a902c8de.json", loadgen.Point{}, "", false, false},
		// The directory never counts.
		{"c16-b91875fdf860.json/x_0123456789ab.json", loadgen.Point{}, "", false, false},
		// Near misses: no hash, short or upper-case hash, another extension.
		{"c16.json", loadgen.Point{}, "", false, false},
		{"c16-run.json", loadgen.Point{}, "", false, false},
		{"c16-b91875fdf86.json", loadgen.Point{}, "", false, false},
		{"c16-B91875FDF860.json", loadgen.Point{}, "", false, false},
		{"c16-b91875fdf860.json.tmp", loadgen.Point{}, "", false, false},
		{"xc16-b91875fdf860.json", loadgen.Point{}, "", false, false},
		{"rps-b91875fdf860.json", loadgen.Point{}, "", false, false},
		{"", loadgen.Point{}, "", false, false},
		// A point prefix with an invalid value.
		{"c0-b91875fdf860.json", loadgen.Point{}, "c0", true, true},
		{"rps0-b91875fdf860.json", loadgen.Point{}, "rps0", true, true},
		{"c99999999999999999999999-b91875fdf860.json", loadgen.Point{}, "c99999999999999999999999", true, true},
	}
	for _, tt := range tests {
		p, prefix, ok, err := PointFromFileName(tt.path)
		if (err != nil) != tt.wantErr || ok != tt.wantOK || prefix != tt.wantPrefix || p != tt.want {
			t.Errorf("PointFromFileName(%q) = %+v, %q, %v, %v; want %+v, %q, %v, err %v",
				tt.path, p, prefix, ok, err, tt.want, tt.wantPrefix, tt.wantOK, tt.wantErr)
		}
		if err != nil && !errors.Is(err, loadgen.ErrInvalidPoint) {
			t.Errorf("PointFromFileName(%q) error %v does not wrap ErrInvalidPoint", tt.path, err)
		}
	}
}

func TestPointFilePrefixRoundTrip(t *testing.T) {
	tests := []struct {
		p    loadgen.Point
		want string
	}{
		{loadgen.Point{Concurrency: 1}, "c1"},
		{loadgen.Point{Concurrency: 16}, "c16"},
		{loadgen.Point{RPS: 4}, "rps4"},
		{loadgen.Point{RPS: 256}, "rps256"},
		{loadgen.Point{RPS: 0.5}, "rps0p5"},
		{loadgen.Point{RPS: 2.25}, "rps2p25"},
		{loadgen.Point{RPS: 1e-5}, "rps1e-05"},
		{loadgen.Point{RPS: 0.0001}, "rps0p0001"},
		{loadgen.Point{}, ""},
	}
	for _, tt := range tests {
		got := FilePrefix(tt.p)
		if got != tt.want {
			t.Errorf("FilePrefix(%+v) = %q, want %q", tt.p, got, tt.want)
		}
		if tt.p.IsZero() {
			continue
		}
		back, _, ok, err := PointFromFileName("dir_" + got + "-0123456789ab.json")
		if !ok || err != nil || back != tt.p {
			t.Errorf("PointFromFileName(%q) = %+v, %v, %v; want %+v", got, back, ok, err, tt.p)
		}
	}
}

func srcWithOptions(ms ...envelope.Member) *envelope.Envelope {
	return &envelope.Envelope{SuiteID: "x", DriverOptions: envelope.NewObject(ms...)}
}

func TestResolvePoint(t *testing.T) {
	closed, err := LookupSuite("llm.inference.chatbot-short") // concurrency [4, 16, 64]
	if err != nil {
		t.Fatal(err)
	}
	open, err := LookupSuite("llm.inference.sharegpt-v3") // rps [1, 4, 16, 64, 256]
	if err != nil {
		t.Fatal(err)
	}
	const c16 = "2026-06-13-llm-h100_c16-b91875fdf860.json"
	tests := []struct {
		name     string
		suite    Suite
		src      *envelope.Envelope
		path     string
		override loadgen.Point
		want     PointResolution
		warns    []string // substrings of Warnings, one per warning
	}{
		{name: "suite default, nothing else", suite: closed,
			want: PointResolution{Point: loadgen.Point{Concurrency: 4}, Source: "suite default"}},
		{name: "suite default, open loop", suite: open, src: srcWithOptions(), path: "profile-b91875fdf860.json",
			want: PointResolution{Point: loadgen.Point{RPS: 1}, Source: "suite default"}},
		{name: "empty sweep default", suite: Suite{ID: "s", Driver: loadgen.DriverOpenLoop},
			want: PointResolution{Point: loadgen.Point{RPS: 1}, Source: "suite default"}},
		{name: "corpus file name", suite: closed, src: &envelope.Envelope{}, path: "/corpus/" + c16,
			want: PointResolution{Point: loadgen.Point{Concurrency: 16}, Source: "file name prefix c16"}},
		{name: "rps file name", suite: open, path: "rps0p5-0123456789ab.json",
			want: PointResolution{Point: loadgen.Point{RPS: 0.5}, Source: "file name prefix rps0p5"}},
		{name: "driver_options.concurrency", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(64)}),
			want: PointResolution{Point: loadgen.Point{Concurrency: 64}, Source: "driver_options.concurrency"}},
		{name: "driver_options.concurrency as integral float", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Float(8)}),
			want: PointResolution{Point: loadgen.Point{Concurrency: 8}, Source: "driver_options.concurrency"}},
		{name: "driver_options.rps int", suite: open, src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Int(16)}),
			want: PointResolution{Point: loadgen.Point{RPS: 16}, Source: "driver_options.rps"}},
		{name: "driver_options.rps float", suite: open, src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Float(0.25)}),
			want: PointResolution{Point: loadgen.Point{RPS: 0.25}, Source: "driver_options.rps"}},
		{name: "driver_options beats the file name, with a warning", suite: closed,
			src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(64)}), path: c16,
			want:  PointResolution{Point: loadgen.Point{Concurrency: 64}, Source: "driver_options.concurrency"},
			warns: []string{"file name prefix c16 (concurrency 16) disagrees with driver_options.concurrency (concurrency 64)"}},
		{name: "driver_options agreeing with the file name", suite: closed,
			src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(16)}), path: c16,
			want: PointResolution{Point: loadgen.Point{Concurrency: 16}, Source: "driver_options.concurrency"}},
		{name: "null counts as absent", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Null()}), path: c16,
			want: PointResolution{Point: loadgen.Point{Concurrency: 16}, Source: "file name prefix c16"}},
		{name: "driver_options.rps on a closed-loop suite is ignored", suite: closed,
			src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Float(2)}), path: c16,
			want:  PointResolution{Point: loadgen.Point{Concurrency: 16}, Source: "file name prefix c16"},
			warns: []string{"driver_options.rps (rps 2) ignored: suite llm.inference.chatbot-short runs closed_loop"}},
		{name: "driver_options.concurrency on an open-loop suite is ignored", suite: open,
			src:   srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(16)}),
			want:  PointResolution{Point: loadgen.Point{RPS: 1}, Source: "suite default"},
			warns: []string{"driver_options.concurrency (concurrency 16) ignored: suite llm.inference.sharegpt-v3 runs open_loop"}},
		{name: "both driver options: the suite's kind is used", suite: open,
			src:   srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(16)}, envelope.Member{Key: "rps", Value: envelope.Int(4)}),
			want:  PointResolution{Point: loadgen.Point{RPS: 4}, Source: "driver_options.rps"},
			warns: []string{"driver_options.concurrency (concurrency 16) ignored"}},
		{name: "a c-file on an open-loop suite is ignored", suite: open, path: c16,
			want:  PointResolution{Point: loadgen.Point{RPS: 1}, Source: "suite default"},
			warns: []string{"file name prefix c16 (concurrency 16) ignored: suite llm.inference.sharegpt-v3 runs open_loop"}},
		{name: "an invalid file prefix is only a warning when driver_options decide", suite: closed,
			src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(4)}), path: "c0-0123456789ab.json",
			want:  PointResolution{Point: loadgen.Point{Concurrency: 4}, Source: "driver_options.concurrency"},
			warns: []string{"file name prefix c0"}},
		{name: "override concurrency", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(64)}), path: c16,
			override: loadgen.Point{Concurrency: 2},
			want:     PointResolution{Point: loadgen.Point{Concurrency: 2}, Source: "override"}},
		{name: "override switches closed to open loop", suite: closed, path: c16, override: loadgen.Point{RPS: 2},
			want: PointResolution{Point: loadgen.Point{RPS: 2}, Source: "override"}},
		{name: "override switches open to closed loop", suite: open, override: loadgen.Point{Concurrency: 8},
			want: PointResolution{Point: loadgen.Point{Concurrency: 8}, Source: "override"}},
		{name: "override wins over an invalid source", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(0)}),
			override: loadgen.Point{Concurrency: 3},
			want:     PointResolution{Point: loadgen.Point{Concurrency: 3}, Source: "override"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolvePoint(tt.suite, tt.src, tt.path, tt.override)
			if err != nil {
				t.Fatal(err)
			}
			gotWarns := got.Warnings
			got.Warnings = nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ResolvePoint (-want +got):\n%s", diff)
			}
			if len(gotWarns) != len(tt.warns) {
				t.Fatalf("Warnings = %q, want %d matching %q", gotWarns, len(tt.warns), tt.warns)
			}
			for i, w := range tt.warns {
				if !strings.Contains(gotWarns[i], w) {
					t.Errorf("Warnings[%d] = %q, want it to contain %q", i, gotWarns[i], w)
				}
			}
		})
	}
}

func TestResolvePointErrors(t *testing.T) {
	closed, _ := LookupSuite("llm.inference.code-completion")
	open, _ := LookupSuite("llm.inference.rag-style")
	tests := []struct {
		name     string
		suite    Suite
		src      *envelope.Envelope
		path     string
		override loadgen.Point
		contains string
	}{
		{name: "negative override", suite: closed, override: loadgen.Point{Concurrency: -4}, contains: "override"},
		{name: "NaN override", suite: closed, override: loadgen.Point{RPS: math.NaN()}, contains: "override"},
		{name: "infinite override", suite: open, override: loadgen.Point{RPS: math.Inf(1)}, contains: "override"},
		{name: "negative rps override", suite: open, override: loadgen.Point{RPS: -1}, contains: "override"},
		{name: "both set", suite: open, override: loadgen.Point{Concurrency: 2, RPS: 2}, contains: "both"},
		{name: "concurrency 0", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(0)}), contains: "driver_options.concurrency"},
		{name: "concurrency negative", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(-3)}), contains: "driver_options.concurrency"},
		{name: "concurrency fractional", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Float(16.5)}), contains: "positive integer"},
		{name: "concurrency huge", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(1 << 40)}), contains: "driver_options.concurrency"},
		{name: "concurrency string", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.String("16")}), contains: "string"},
		{name: "concurrency bool", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Bool(true)}), contains: "bool"},
		{name: "rps NaN", suite: open, src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Float(math.NaN())}), contains: "driver_options.rps"},
		{name: "rps infinite", suite: open, src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Float(math.Inf(1))}), contains: "driver_options.rps"},
		{name: "rps zero", suite: open, src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Float(0)}), contains: "driver_options.rps"},
		{name: "rps beyond MaxRPS", suite: open, src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Float(1e12)}), contains: "exceeds MaxRPS"},
		{name: "concurrency beyond MaxConcurrency", suite: closed, src: srcWithOptions(envelope.Member{Key: "concurrency", Value: envelope.Int(100000)}), contains: "driver_options.concurrency: invalid sweep point: concurrency 100000 exceeds MaxConcurrency (65536)"},
		{name: "override beyond MaxRPS", suite: open, override: loadgen.Point{RPS: 1e12}, contains: "override: invalid sweep point: rps 1e+12 exceeds MaxRPS (10000)"},
		{name: "file prefix beyond MaxConcurrency", suite: closed, path: "c70000-0123456789ab.json", contains: "file name prefix c70000"},
		// An invalid value of the other kind is still an error: the source is corrupt.
		{name: "invalid rps on a closed-loop suite", suite: closed, src: srcWithOptions(envelope.Member{Key: "rps", Value: envelope.Int(-1)}), contains: "driver_options.rps"},
		{name: "invalid file prefix", suite: closed, path: "dir_c0-0123456789ab.json", contains: "file name prefix c0"},
		{name: "unknown driver", suite: Suite{ID: "weird", Driver: "batch"}, contains: "weird"},
		{name: "invalid suite default", suite: Suite{ID: "zero", Driver: loadgen.DriverClosedLoop, Concurrency: []int{0}}, contains: "zero"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolvePoint(tt.suite, tt.src, tt.path, tt.override)
			if err == nil {
				t.Fatalf("ResolvePoint = %+v, want an error", got)
			}
			if !errors.Is(err, loadgen.ErrInvalidPoint) {
				t.Errorf("error %v does not wrap ErrInvalidPoint", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
		})
	}
}

func ExampleResolvePoint() {
	s, _ := LookupSuite("llm.inference.chatbot-short")

	// A corpus envelope from `bench run --sweep 1,4,16`: the reference
	// recorded no driver_options, only the file name carries the point.
	res, _ := ResolvePoint(s, &envelope.Envelope{}, "2026-06-13-llm-h100_c16-b91875fdf860.json", loadgen.Point{})
	fmt.Println(res.Point, "from", res.Source)

	// An explicit override wins, and may switch the driver.
	res, _ = ResolvePoint(s, nil, "c16-b91875fdf860.json", loadgen.Point{RPS: 2})
	fmt.Println(res.Point, "from", res.Source, "driver", res.Point.Driver())

	// A source value for the other driver kind is ignored, with a warning.
	src := &envelope.Envelope{DriverOptions: envelope.NewObject(envelope.Member{Key: "rps", Value: envelope.Float(8)})}
	res, _ = ResolvePoint(s, src, "", loadgen.Point{})
	fmt.Println(res.Point, "from", res.Source)
	fmt.Println(res.Warnings[0])

	_, err := ResolvePoint(s, nil, "c0-b91875fdf860.json", loadgen.Point{})
	fmt.Println(err)
	// Output:
	// concurrency 16 from file name prefix c16
	// rps 2 from override driver open_loop
	// concurrency 4 from suite default
	// driver_options.rps (rps 8) ignored: suite llm.inference.chatbot-short runs closed_loop; pass an explicit override to switch drivers
	// file name prefix c0: invalid sweep point: concurrency 0 must be positive
}
