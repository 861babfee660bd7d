package profile_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benchprof/benchprof/envelope"
	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/loadgen/enginetest"
	"github.com/benchprof/benchprof/profile"
	"github.com/benchprof/benchprof/sampler"
	"github.com/benchprof/benchprof/sampler/samplertest"
)

// countingSampler counts its Close calls.
type countingSampler struct {
	*samplertest.GPU
	closes atomic.Int32
}

func (s *countingSampler) Close() error { s.closes.Add(1); return nil }

var _ sampler.Sampler = (*countingSampler)(nil)

// shortOpts are a fixture's options with sub-second points, the fixture's
// GPU sampler replaced by gpu.
func (f *fixture) shortOpts(gpu sampler.Sampler, extra ...profile.Option) []profile.Option {
	opts := []profile.Option{
		profile.WithBaseURL(f.srv.URL() + "/v1"),
		profile.WithDuration(300 * time.Millisecond),
		profile.WithGrace(time.Second),
		profile.WithDevKey(f.key),
		profile.WithOutputDir(f.out),
		profile.WithoutDefaultSamplers(),
		profile.WithSampler(gpu, 10*time.Millisecond),
	}
	return append(opts, extra...)
}

// verifies checks that the envelope at path loads and verifies as signed by pub.
func verifies(t *testing.T, path, pub string) *envelope.Envelope {
	t.Helper()
	e, err := envelope.Load(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	vr, err := envelope.Verify(context.Background(), e, envelope.WithTrustedKeys(pub))
	if err != nil || !vr.Trusted() {
		t.Fatalf("%s does not verify as ours: %+v %v", path, vr, err)
	}
	return e
}

// TestSweep: each point writes its own envelope and side files, named with
// the point, each verifying on its own; the samplers are opened once for
// the sweep and read at every point; the summary is written.
func TestSweep(t *testing.T) {
	f := newFixture(t)
	gpu := &countingSampler{GPU: &samplertest.GPU{Devices: 1, PowerW: 200, UtilPct: 70}}
	points := []loadgen.Point{{RPS: 20}, {RPS: 40.5}}
	res, err := profile.Sweep(context.Background(), profile.FromEnvelope(f.src), points,
		f.shortOpts(gpu, profile.WithSourcePath(source), profile.WithTimelineHTML())...)
	if err != nil {
		t.Fatal(err)
	}
	if n := gpu.closes.Load(); n != 1 {
		t.Errorf("the sampler was closed %d times; want once, after the sweep", n)
	}
	if len(res.Points) != 2 || len(res.Envelopes()) != 2 {
		t.Fatalf("points %+v", res.Points)
	}
	for i, want := range []string{"profile-rps20-", "profile-rps40p5-"} {
		r := res.Points[i].Result
		if !regexp.MustCompile("^" + want + "[0-9a-f]{12}\\.json$").MatchString(filepath.Base(r.Path)) {
			t.Errorf("point %d written as %s; want %s<hash12>.json", i, r.Path, want)
		}
		for _, side := range []string{r.TracePath, r.TimelinePath, r.HTMLPath} {
			if !strings.HasPrefix(filepath.Base(side), want) {
				t.Errorf("side file %s does not name its point (%s)", side, want)
			}
		}
		e := verifies(t, r.Path, f.pub)
		if _, ok := e.Metrics.Get("energy_joules_gpu"); !ok {
			t.Errorf("point %d has no GPU energy: the shared sampler was not read", i)
		}
		if !strings.Contains(strings.Join(e.Warnings, "\n"), "signer untrusted") {
			t.Errorf("point %d lacks the source's trust warning: %v", i, e.Warnings)
		}
	}
	if r, _ := res.Points[1].Result.Envelope.DriverOptions.Get("rps"); r.GoString() != "40.5" {
		t.Errorf("driver_options.rps %#v", r)
	}
	b, err := os.ReadFile(res.SummaryJSONPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Points []struct {
			Label    string             `json:"label"`
			Envelope string             `json:"envelope"`
			Metrics  map[string]float64 `json:"metrics"`
		} `json:"points"`
	}
	if err := json.Unmarshal(b, &doc); err != nil || len(doc.Points) != 2 || doc.Points[1].Label != "rps40p5" ||
		doc.Points[0].Metrics["throughput_tok_per_s"] <= 0 || doc.Points[0].Metrics["power_avg_w"] <= 0 {
		t.Errorf("summary JSON %s: %v", b, err)
	}
	if !strings.HasPrefix(filepath.Base(res.SummaryHTMLPath), "profile-sweep-") {
		t.Errorf("summary page %s", res.SummaryHTMLPath)
	}
}

// TestFresh: a suite run from nothing (no envelope) writes an envelope
// that verifies, named as the reference names fresh runs, and a fresh
// sweep names its points c1-, c2-.
func TestFresh(t *testing.T) {
	f := newFixture(t)
	src, err := profile.FromSuite("llm.inference.code-completion", f.src.Model.ID, "vllm")
	if err != nil {
		t.Fatal(err)
	}
	gpu := &samplertest.GPU{Devices: 1, PowerW: 100, UtilPct: 50}
	res, err := profile.RunSource(context.Background(), src, f.shortOpts(gpu)...)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{12}\.json$`).MatchString(filepath.Base(res.Path)) || res.TracePath != strings.TrimSuffix(res.Path, ".json")+".requests.jsonl" {
		t.Errorf("fresh run written as %s, %s", res.Path, res.TracePath)
	}
	e := verifies(t, res.Path, f.pub)
	if e.SuiteID != "llm.inference.code-completion" || e.Seed != catalog.DefaultSeed || e.SLOTemplate != catalog.SLOStandard ||
		e.Dataset.Hash != "6f4b1f68fc3a813baa983cbe70cd9ef57f8c86e6b2e6ccc9aaa2a498e588d510" || !res.Fresh || res.Verification != nil {
		t.Errorf("fresh envelope %s seed %d slo %q dataset %s", e.SuiteID, e.Seed, e.SLOTemplate, e.Dataset.Hash)
	}
	if res.Point.Point.Concurrency != 1 {
		t.Errorf("point %v; want the suite's first, concurrency 1", res.Point.Point)
	}
	for _, w := range e.Warnings {
		if strings.Contains(w, "verif") || strings.Contains(w, "sweep point") {
			t.Errorf("a fresh run warns about a source it does not have: %q", w)
		}
	}
	// The new envelope is a source: it profiles.
	if _, err := profile.Run(context.Background(), e, f.shortOpts(gpu, profile.WithTrustedKeys(f.pub))...); err != nil {
		t.Errorf("profiling the fresh envelope: %v", err)
	}

	sw, err := profile.Sweep(context.Background(), src, []loadgen.Point{{Concurrency: 1}, {Concurrency: 2}}, f.shortOpts(gpu)...)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"c1-", "c2-"} {
		if p := sw.Points[i].Result.Path; !regexp.MustCompile("^" + want + "[0-9a-f]{12}\\.json$").MatchString(filepath.Base(p)) {
			t.Errorf("fresh sweep point written as %s", p)
		}
		verifies(t, sw.Points[i].Result.Path, f.pub)
	}
	if !strings.HasPrefix(filepath.Base(sw.SummaryJSONPath), "sweep-") {
		t.Errorf("fresh summary %s", sw.SummaryJSONPath)
	}
}

// TestSweepInterrupted: a cancel during the second point keeps the first
// point's envelope, signs nothing for the second, names it, and still
// writes the summary.
func TestSweepInterrupted(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	gpu := &samplertest.GPU{Devices: 1, PowerW: 100, UtilPct: 50}
	opts := f.shortOpts(gpu, profile.WithSourcePath(source), profile.WithDuration(time.Second), profile.WithProgress(func(p profile.Progress) {
		if p.Point.Concurrency == 4 {
			cancel()
		}
	}))
	res, err := profile.Sweep(ctx, profile.FromEnvelope(f.src), []loadgen.Point{{Concurrency: 2}, {Concurrency: 4}, {Concurrency: 8}}, opts...)
	if !errors.Is(err, profile.ErrInterrupted) || !strings.Contains(err.Error(), "during point c4 (2 of 3)") {
		t.Fatalf("Sweep = %v; want ErrInterrupted naming point c4", err)
	}
	if len(res.Points) != 2 || res.Points[0].Err != nil || !res.Points[1].Interrupted {
		t.Fatalf("points %+v", res.Points)
	}
	if !strings.Contains(err.Error(), res.Points[0].Result.Path) {
		t.Errorf("the error does not name the kept envelope %s: %v", res.Points[0].Result.Path, err)
	}
	verifies(t, res.Points[0].Result.Path, f.pub)
	if m, _ := filepath.Glob(filepath.Join(f.out, "profile-c4-*.json")); len(m) != 0 {
		t.Errorf("the interrupted point wrote an envelope: %v", m)
	}
	if _, err := os.Stat(res.SummaryJSONPath); err != nil {
		t.Errorf("no summary after the interruption: %v", err)
	}
	if !res.Summary.Points[1].Interrupted {
		t.Error("the summary does not mark the interrupted point")
	}
}

// TestSweepStopsBeforeLoad: a failure no point could get past (an
// unsigned source) stops the sweep at its first point.
func TestSweepStopsBeforeLoad(t *testing.T) {
	f := newFixture(t)
	unsigned := f.src.Clone()
	unsigned.Signature = nil
	res, err := profile.Sweep(context.Background(), profile.FromEnvelope(unsigned), []loadgen.Point{{Concurrency: 1}, {Concurrency: 2}},
		f.shortOpts(&samplertest.GPU{Devices: 1})...)
	if !errors.Is(err, profile.ErrSourceUnverified) || res == nil || len(res.Points) != 1 || res.Summary != nil {
		t.Fatalf("Sweep = %+v, %v; want ErrSourceUnverified after one point, no summary", res, err)
	}
	if entries, _ := os.ReadDir(f.out); len(entries) != 0 {
		t.Errorf("files written: %v", entries)
	}
}

func TestSweepAndPeakOptions(t *testing.T) {
	f := newFixture(t)
	fresh, err := profile.FromSuite("llm.inference.chatbot-short", "m", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	src := profile.FromEnvelope(f.src)
	slo := profile.PeakSLO{Bounds: []loadgen.Bound{{Metric: "ttft", Percentile: 99, Max: time.Second}}}
	ctx := context.Background()
	for name, call := range map[string]func() error{
		"Sweep with WithPoint": func() error {
			_, err := profile.Sweep(ctx, src, []loadgen.Point{{Concurrency: 1}}, profile.WithPoint(loadgen.Point{Concurrency: 2}))
			return err
		},
		"Sweep without points": func() error { _, err := profile.Sweep(ctx, src, nil); return err },
		"Sweep repeating a point": func() error {
			_, err := profile.Sweep(ctx, src, []loadgen.Point{{Concurrency: 1}, {Concurrency: 1}})
			return err
		},
		"Sweep with an invalid point": func() error { _, err := profile.Sweep(ctx, src, []loadgen.Point{{RPS: -1}}); return err },
		"Sweep mixing drivers": func() error {
			_, err := profile.Sweep(ctx, src, []loadgen.Point{{Concurrency: 1}, {RPS: 1}})
			return err
		},
		"Run with a peak option":     func() error { _, err := profile.Run(ctx, f.src, profile.WithPeakFactor(2)); return err },
		"fresh with a source path":   func() error { _, err := profile.RunSource(ctx, fresh, profile.WithSourcePath("x.json")); return err },
		"fresh with trust":           func() error { _, err := profile.RunSource(ctx, fresh, profile.WithTrustedKeys("k.pub")); return err },
		"FindPeak with an empty SLO": func() error { _, err := profile.FindPeak(ctx, src, profile.PeakSLO{}); return err },
		"FindPeak with WithPoint": func() error {
			_, err := profile.FindPeak(ctx, src, slo, profile.WithPoint(loadgen.Point{Concurrency: 2}))
			return err
		},
		"FindPeak factor 1":  func() error { _, err := profile.FindPeak(ctx, src, slo, profile.WithPeakFactor(1)); return err },
		"FindPeak 0 probes":  func() error { _, err := profile.FindPeak(ctx, src, slo, profile.WithMaxProbes(0)); return err },
		"FindPeak precision": func() error { _, err := profile.FindPeak(ctx, src, slo, profile.WithPeakPrecision(0)); return err },
		"FindPeak mixed drivers": func() error {
			_, err := profile.FindPeak(ctx, src, slo, profile.WithPeakStart(loadgen.Point{Concurrency: 2}), profile.WithPeakLimit(loadgen.Point{RPS: 5}))
			return err
		},
		"FindPeak start above limit": func() error {
			_, err := profile.FindPeak(ctx, src, slo, profile.WithPeakStart(loadgen.Point{Concurrency: 8}), profile.WithPeakLimit(loadgen.Point{Concurrency: 4}))
			return err
		},
	} {
		if err := call(); !errors.Is(err, profile.ErrOptions) {
			t.Errorf("%s: %v; want ErrOptions", name, err)
		}
	}
	if _, err := profile.FromSuite("llm.inference.nope", "m", "vllm"); !errors.Is(err, profile.ErrUnknownSuite) {
		t.Errorf("FromSuite of an unknown suite: %v", err)
	}
	if _, err := profile.FromSuite("llm.inference.chatbot-short", "", "vllm"); !errors.Is(err, profile.ErrOptions) {
		t.Errorf("FromSuite without a model: %v", err)
	}
	if entries, _ := os.ReadDir(f.out); len(entries) != 0 {
		t.Errorf("files written by refused calls: %v", entries)
	}
}

// pipeNet is an in-memory network for a synctest bubble: an http.Server
// serves on it as a listener, and its dial connects to that server through
// net.Pipe, whose blocking is durable in a bubble (a socket's is not), so
// that the bubble's fake clock runs the engine's schedule exactly.
type pipeNet struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeNet() *pipeNet { return &pipeNet{conns: make(chan net.Conn), done: make(chan struct{})} }

func (p *pipeNet) Accept() (net.Conn, error) {
	select {
	case c := <-p.conns:
		return c, nil
	case <-p.done:
		return nil, net.ErrClosed
	}
}

func (p *pipeNet) Close() error   { p.once.Do(func() { close(p.done) }); return nil }
func (p *pipeNet) Addr() net.Addr { return pipeAddr{} }

func (p *pipeNet) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case p.conns <- server:
		return client, nil
	case <-p.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "engine.test:80" }

// TestFindPeakCapacity is the acceptance test of the peak search: against
// an engine with a hidden capacity of N requests in flight (the rest wait
// for a slot, so their TTFT grows by up to a whole response), a search with
// a TTFT p99 SLO finds N within ±10 % in at most 10 probes, and every
// probe's envelope verifies. It runs in a synctest bubble over an
// in-memory network: the engine's schedule and the client's clock are the
// bubble's fake clock, so the verdicts do not depend on how busy the
// machine is, and the 500 ms probes take no real time to wait.
func TestFindPeakCapacity(t *testing.T) {
	for _, hiddenN := range []int{40, 100} {
		t.Run(strconv.Itoa(hiddenN), func(t *testing.T) { findPeakCapacity(t, hiddenN) })
	}
}

func findPeakCapacity(t *testing.T, hiddenN int) {
	src, err := envelope.Load(source)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	key := filepath.Join(dir, "cosign.key")
	pub, err := envelope.GenerateKeyPair(key)
	if err != nil {
		t.Fatal(err)
	}
	bounds, err := loadgen.ParseBounds("ttft_p99=120ms")
	if err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		// A response takes 10 + 32·8 = 266 ms; a request that waits for a
		// slot has a TTFT of up to that, one that does not 10 ms.
		h, err := enginetest.NewHandler(enginetest.WithModels(src.Model.ID), enginetest.WithCapacity(hiddenN),
			enginetest.WithTTFT(10*time.Millisecond), enginetest.WithITL(8*time.Millisecond), enginetest.WithOutputTokens(40),
			enginetest.WithTokensPerChunk(8))
		if err != nil {
			t.Fatal(err)
		}
		pn := newPipeNet()
		srv := &http.Server{Handler: h}
		served := make(chan struct{})
		go func() { defer close(served); _ = srv.Serve(pn) }()
		tr := &http.Transport{DialContext: pn.dial, MaxIdleConnsPerHost: 1024, DisableCompression: true}
		defer func() {
			tr.CloseIdleConnections()
			h.Close()
			_ = srv.Close()
			<-served
		}()
		res, err := profile.FindPeak(context.Background(), profile.FromEnvelope(src), profile.PeakSLO{Bounds: bounds},
			profile.WithBaseURL("http://engine.test/v1"), profile.WithHTTPClient(&http.Client{Transport: tr}),
			profile.WithSourcePath(source), // the search starts at the source's point, c16
			profile.WithDuration(500*time.Millisecond), profile.WithGrace(2*time.Second),
			profile.WithDevKey(key), profile.WithOutputDir(filepath.Join(dir, "out")), profile.WithSystemRoot(dir),
			profile.WithoutDefaultSamplers(), profile.WithSampler(&samplertest.GPU{Devices: 1, PowerW: 300, UtilPct: 80}, 10*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		for _, p := range res.Probes.Points {
			trail = append(trail, catalog.FilePrefix(p.Point)+": "+p.Verdict)
		}
		t.Logf("%d probes: %s; stop: %s", len(res.Probes.Points), strings.Join(trail, " | "), res.Stop)
		if res.Peak == nil {
			t.Fatal("no peak found")
		}
		peak := res.Peak.Point.Concurrency
		t.Logf("hidden capacity %d, peak found %d (%+.1f%%), past it %v", hiddenN, peak, 100*float64(peak-hiddenN)/float64(hiddenN), res.PastPeak.Point)
		if float64(peak) < 0.9*float64(hiddenN) || float64(peak) > 1.1*float64(hiddenN) {
			t.Errorf("peak %d; want within ±10%% of the hidden capacity %d", peak, hiddenN)
		}
		if n := len(res.Probes.Points); n > 10 {
			t.Errorf("%d probes; want at most 10", n)
		}
		if !res.Converged || res.PastPeak == nil || res.PastPeak.Point.Concurrency <= peak {
			t.Errorf("converged %v, past peak %+v", res.Converged, res.PastPeak)
		}
		if j, ok := res.JoulesPerToken(); !ok || j <= 0 {
			t.Errorf("J/token at the peak: %v %v", j, ok)
		}
		for _, p := range res.Probes.Points {
			if p.Err != nil {
				t.Errorf("probe %s: %v", p.Point, p.Err)
				continue
			}
			if !strings.HasPrefix(filepath.Base(p.Result.Path), "profile-c") {
				t.Errorf("probe written as %s", p.Result.Path)
			}
			verifies(t, p.Result.Path, pub)
		}
		b, err := os.ReadFile(res.Probes.SummaryJSONPath)
		if err != nil || !strings.Contains(string(b), `"peak": "c`) || !strings.Contains(string(b), "ttft_p99=120ms") {
			t.Errorf("summary %s: %v", b, err)
		}
	})
}

// TestFindPeakInterrupted: a cancel during a probe stops the search with
// what it had: the finished probes' envelopes, the best peak so far, the
// summary, and an error naming the interrupted probe.
func TestFindPeakInterrupted(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	slo := profile.PeakSLO{Bounds: []loadgen.Bound{{Metric: "ttft", Percentile: 99, Max: 30 * time.Second}}}
	res, err := profile.FindPeak(ctx, profile.FromEnvelope(f.src), slo, f.shortOpts(&samplertest.GPU{Devices: 1},
		profile.WithPeakStart(loadgen.Point{Concurrency: 1}), profile.WithDuration(time.Second),
		profile.WithProgress(func(p profile.Progress) {
			if p.Point.Concurrency == 4 {
				cancel()
			}
		}))...)
	if !errors.Is(err, profile.ErrInterrupted) || !strings.Contains(err.Error(), "during probe c4 (2 of at most 10)") {
		t.Fatalf("FindPeak = %v; want ErrInterrupted naming probe c4", err)
	}
	pts := res.Probes.Points
	if len(pts) != 2 || !pts[0].Holds || !pts[1].Interrupted || res.Peak == nil || res.Peak.Point.Concurrency != 1 || res.PastPeak != nil {
		t.Fatalf("probes %+v, peak %+v", pts, res.Peak)
	}
	if _, err := os.Stat(res.Probes.SummaryJSONPath); err != nil {
		t.Errorf("no summary: %v", err)
	}
}
