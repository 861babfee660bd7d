package archtest

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/benchprof/benchprof/energy"
	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/envelope/keyless"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/sampler/hostinfo"
	"github.com/benchprof/benchprof/sampler/nvml"
	"github.com/benchprof/benchprof/sampler/prometheus"
	"github.com/benchprof/benchprof/sampler/rapl"
	"github.com/benchprof/benchprof/sampler/remote"
)

type nopRequester struct{}

func (nopRequester) Do(context.Context, loadgen.Clock, string, *loadgen.Result) {}

// TestNilOptionPolicy pins the one policy every package follows for a nil
// option: it is reported, never a panic nor a silent skip — as an error by
// the function that takes it, or, by Summarize, which cannot fail, in its
// result's Warnings.
func TestNilOptionPolicy(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		call func() error
	}{
		{"energy.Compute", func() error {
			_, err := energy.Compute(strings.NewReader(""), energy.Window{End: 1}, 0, nil)
			return err
		}},
		{"envelope.ReadFile", func() error { _, err := envelope.ReadFile("x.json", nil); return err }},
		{"envelope.Build", func() error { _, err := envelope.Build(&envelope.Envelope{}, nil); return err }},
		{"envelope.Verify", func() error { _, err := envelope.Verify(ctx, &envelope.Envelope{}, nil); return err }},
		{"keyless.NewSigner", func() error { _, err := keyless.NewSigner(nil); return err }},
		{"keyless.NewVerifier", func() error { _, err := keyless.NewVerifier(nil); return err }},
		{"nvml.Open", func() error { _, err := nvml.Open(nil); return err }},
		{"rapl.Open", func() error { _, err := rapl.Open(nil); return err }},
		{"remote.Open", func() error { _, err := remote.Open(ctx, []string{"dcgm=http://127.0.0.1:1/metrics"}, nil); return err }},
		{"prometheus.Open", func() error {
			_, err := prometheus.Open(ctx, "http://127.0.0.1:1", prometheus.WithGPUSelector(""), nil)
			return err
		}},
		{"hostinfo.Collect", func() error { _, err := hostinfo.Collect(ctx, nil); return err }},
		{"loadgen.Probe", func() error {
			_, err := loadgen.Probe(ctx, nil, "http://127.0.0.1:1", loadgen.EngineVLLM, "m", "", nil)
			return err
		}},
		{"loadgen.NewClient", func() error { _, err := loadgen.NewClient("http://127.0.0.1:1", "m", nil); return err }},
		{"loadgen.NewDriver", func() error {
			_, err := loadgen.NewDriver(nopRequester{}, []string{"p"}, loadgen.ClosedLoop{Concurrency: 1}, nil)
			return err
		}},
		{"loadgen.Summarize (in Warnings)", func() error {
			if w := loadgen.Summarize(nil, loadgen.SLO{}, nil).Warnings; len(w) > 0 {
				return errors.New(w[0])
			}
			return nil
		}},
		{"catalog.LoadPrompts", func() error { _, err := catalog.LoadPrompts(ctx, "builtin://", 1, nil); return err }},
		{"enginetest.NewHandler", func() error { _, err := enginetest.NewHandler(nil); return err }},
		{"profile.Run", func() error { _, err := profile.Run(ctx, &envelope.Envelope{}, nil); return err }},
		{"profile.RunSource", func() error {
			_, err := profile.RunSource(ctx, profile.FromEnvelope(&envelope.Envelope{}), nil)
			return err
		}},
		{"profile.Sweep", func() error {
			_, err := profile.Sweep(ctx, profile.FromEnvelope(&envelope.Envelope{}), []loadgen.Point{{Concurrency: 1}}, nil)
			return err
		}},
		{"profile.FindPeak", func() error {
			_, err := profile.FindPeak(ctx, profile.FromEnvelope(&envelope.Envelope{}), profile.PeakSLO{Template: true}, nil)
			return err
		}},
		{"profile.OpenDefaultSamplers", func() error { _, err := profile.OpenDefaultSamplers(nil); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("panicked on a nil option: %v", p)
				}
			}()
			err := tc.call()
			if err == nil || !strings.Contains(err.Error(), "nil") {
				t.Errorf("error %v; want one naming the nil option", err)
			}
		})
	}
}
