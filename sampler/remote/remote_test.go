package remote

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/prometheus/common/expfmt"
	"go.uber.org/goleak"

	"github.com/benchprof/benchprof/sampler"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// nan makes cmp treat two NaNs (absent fields) as equal.
var nan = cmpopts.EquateNaNs()

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exporter is a fake exporter on 127.0.0.1 serving a recorded exposition
// that a test can swap.
type exporter struct {
	srv *httptest.Server

	mu     sync.Mutex
	body   []byte
	status int
	ctype  string
	hits   int
}

func newExporter(t *testing.T, fixture string) *exporter {
	t.Helper()
	e := &exporter{}
	e.serve(t, fixture)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		body, status, ctype := e.body, e.status, e.ctype
		e.hits++
		e.mu.Unlock()
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// serve makes e serve a fixture as node_exporter does.
func (e *exporter) serve(t *testing.T, fixture string) {
	e.serveBytes(http.StatusOK, "text/plain; version=0.0.4; charset=utf-8", readFixture(t, fixture))
}

func (e *exporter) serveBytes(status int, ctype string, body []byte) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.body, e.status, e.ctype = body, status, ctype
}

func (e *exporter) url() string { return e.srv.URL + "/metrics" }

// host is the URL's host:port, the host of devices without a host label.
func (e *exporter) host() string { return strings.TrimPrefix(e.srv.URL, "http://") }

func open(t *testing.T, targets []string, opts ...Option) *Sampler {
	t.Helper()
	s, err := Open(t.Context(), targets, opts...)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample(t *testing.T, s *Sampler) []sampler.DeviceReading {
	t.Helper()
	got, err := s.Sample(t.Context(), nil)
	if err != nil {
		t.Fatalf("Sample: %v", err)
	}
	return got
}

// gpu is a GPU reading; memMiB is DCGM_FI_DEV_FB_USED and energyMJ
// DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, as the exporter reports them.
func gpu(dev string, powerW, energyMJ, util, memUtil, memMiB, sm, mem, temp float64) sampler.DeviceReading {
	r := sampler.NewDeviceReading(dev, sampler.KindGPU)
	r.PowerW, r.EnergyJ, r.UtilPct, r.MemUtilPct = powerW, energyMJ/1000, util, memUtil
	r.MemUsedBytes, r.SMClockMHz, r.MemClockMHz, r.TempC = memMiB*(1<<20), sm, mem, temp
	return r
}

func energy(dev string, kind sampler.Kind, j float64) sampler.DeviceReading {
	r := sampler.NewDeviceReading(dev, kind)
	r.EnergyJ = j
	return r
}

var absent = sampler.Absent()

// h100x4 is what testdata/dcgm-h100x4.prom holds.
func h100x4(host string) []sampler.DeviceReading {
	return []sampler.DeviceReading{
		gpu(host+"/gpu0", 412.371, 183746512903, 97, 41, 71234, 1980, 2619, 61),
		gpu(host+"/gpu1", 419.871, 183747512906, 96, 42, 71235, 1980, 2619, 62),
		gpu(host+"/gpu2", 427.371, 183748512909, 95, 43, 71236, 1980, 2619, 63),
		gpu(host+"/gpu3", 434.871, 183749512912, 94, 44, 71237, 1980, 2619, 64),
	}
}

// nodeRAPL is what testdata/node-rapl.prom and node-rapl-zonelabel.prom
// hold, without the core, uncore, psys and mmio zones.
func nodeRAPL(host string) []sampler.DeviceReading {
	return []sampler.DeviceReading{
		energy(host+"/package-0", sampler.KindCPUPackage, 84512.345678),
		energy(host+"/package-1", sampler.KindCPUPackage, 79001.234567),
		energy(host+"/dram-0", sampler.KindDRAM, 9876.54321),
		energy(host+"/dram-1", sampler.KindDRAM, 9123.456789),
	}
}

func TestSampleMultipleTargets(t *testing.T) {
	h100 := newExporter(t, "dcgm-h100x4.prom")
	node := newExporter(t, "node-rapl.prom")
	l40s := newExporter(t, "dcgm-l40sx2-nohostname.prom")
	s := open(t, []string{h100.url(), node.url(), l40s.url()})

	want := h100x4("gpu-node-01")
	want = append(want, nodeRAPL(node.host())...)
	want = append(want,
		gpu(l40s.host()+"/gpu0", 301.25, absent, 97, 41, 40210, 2520, 9001, 61),
		gpu(l40s.host()+"/gpu1", 302.25, absent, 96, 42, 40220, 2520, 9001, 62),
	)
	for tick := range 2 {
		got := sample(t, s)
		if diff := cmp.Diff(want, got, nan); diff != "" {
			t.Fatalf("tick %d: readings (-want +got):\n%s", tick, diff)
		}
	}
	if got := s.Name(); got != "remote" {
		t.Errorf("Name() = %q, want remote", got)
	}

	var wantInfo []sampler.DeviceInfo
	for _, r := range want {
		model := ""
		switch {
		case strings.HasPrefix(r.Device, "gpu-node-01/"):
			model = "NVIDIA H100 80GB HBM3"
		case r.Kind == sampler.KindGPU:
			model = "NVIDIA L40S"
		}
		wantInfo = append(wantInfo, sampler.DeviceInfo{Device: r.Device, Kind: r.Kind, Model: model})
	}
	info := s.Describe()
	if diff := cmp.Diff(wantInfo, info.Devices); diff != "" {
		t.Errorf("Describe().Devices (-want +got):\n%s", diff)
	}
	if !slices.ContainsFunc(info.Notes, func(n string) bool { return strings.Contains(n, "--collect-interval") }) {
		t.Errorf("Describe().Notes lack the dcgm-exporter collect-interval note: %q", info.Notes)
	}

	st := s.Stats()
	for i, ts := range st.Targets {
		if ts.Scrapes != 3 || ts.Failures != 0 || ts.LastErr != nil {
			t.Errorf("Stats().Targets[%d] = %+v, want 3 scrapes (Open's and two ticks), no failure", i, ts)
		}
	}
	if wantHosts := []string{"gpu-node-01", node.host(), l40s.host()}; !slices.Equal(hosts(st), wantHosts) {
		t.Errorf("hosts = %q, want %q", hosts(st), wantHosts)
	}
	if len(st.CounterResets) != 0 {
		t.Errorf("CounterResets = %v, want none", st.CounterResets)
	}
}

func hosts(st Stats) []string {
	var hs []string
	for _, ts := range st.Targets {
		hs = append(hs, ts.Host)
	}
	return hs
}

func TestRAPLLabelForms(t *testing.T) {
	for _, fixture := range []string{"node-rapl.prom", "node-rapl-zonelabel.prom"} {
		t.Run(fixture, func(t *testing.T) {
			node := newExporter(t, fixture)
			s := open(t, []string{node.url()})
			if diff := cmp.Diff(nodeRAPL(node.host()), sample(t, s), nan); diff != "" {
				t.Errorf("readings (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMIG(t *testing.T) {
	mig := newExporter(t, "dcgm-a100-mig.prom")
	s := open(t, []string{mig.url()})
	want := []sampler.DeviceReading{
		// GPU instances 1 and 2: memory summed, the rest device-wide.
		gpu("a100-node-07/gpu0", 250.5, 50000000000, absent, absent, 20480+10240, 1410, 1593, 44),
		gpu("a100-node-07/gpu1", 88.125, 21000000500, 12, 3, 1, 1275, 1593, 39),
	}
	if diff := cmp.Diff(want, sample(t, s), nan); diff != "" {
		t.Errorf("readings (-want +got):\n%s", diff)
	}
}

// TestCounterResets replays recorded sequences: a GPU whose driver was
// reloaded (DCGM's energy counter restarts near 0) while another GPU drops
// out for a tick, and a RAPL package counter that wraps.
func TestCounterResets(t *testing.T) {
	dcgm := newExporter(t, "reset/dcgm-0.prom")
	node := newExporter(t, "reset/node-0.prom")
	s := open(t, []string{dcgm.url(), node.url()})
	pkg, dram := node.host()+"/package-0", node.host()+"/dram-0"
	ticks := []struct {
		dcgm, node string
		want       []sampler.DeviceReading
	}{{
		dcgm: "reset/dcgm-0.prom", node: "reset/node-0.prom",
		want: []sampler.DeviceReading{
			gpu("gpu-node-02/gpu0", 450, 1000000000, absent, absent, absent, absent, absent, absent),
			gpu("gpu-node-02/gpu1", 500, 2000000000, absent, absent, absent, absent, absent, absent),
			energy(pkg, sampler.KindCPUPackage, 262142.5),
			energy(dram, sampler.KindDRAM, 100),
		},
	}, {
		dcgm: "reset/dcgm-1.prom", node: "reset/node-1.prom",
		want: []sampler.DeviceReading{
			gpu("gpu-node-02/gpu0", 450, 1000450000, absent, absent, absent, absent, absent, absent),
			gpu("gpu-node-02/gpu1", 500, 2000500000, absent, absent, absent, absent, absent, absent),
			energy(pkg, sampler.KindCPUPackage, 262143.25),
			energy(dram, sampler.KindDRAM, 101),
		},
	}, {
		// gpu0 restarts at 12 J: it goes on from 1000450 J. gpu1 is
		// missing: absent, not carried over. The package wraps to 0.75 J.
		dcgm: "reset/dcgm-2.prom", node: "reset/node-2.prom",
		want: []sampler.DeviceReading{
			gpu("gpu-node-02/gpu0", 12, 1000450000+12000, absent, absent, absent, absent, absent, absent),
			energy(pkg, sampler.KindCPUPackage, 262144),
			energy(dram, sampler.KindDRAM, 102),
		},
	}, {
		// gpu1 is back, its counter continuous.
		dcgm: "reset/dcgm-3.prom", node: "reset/node-2.prom",
		want: []sampler.DeviceReading{
			gpu("gpu-node-02/gpu0", 462, 1000450000+462000, absent, absent, absent, absent, absent, absent),
			gpu("gpu-node-02/gpu1", 1000, 2001500000, absent, absent, absent, absent, absent, absent),
			energy(pkg, sampler.KindCPUPackage, 262144),
			energy(dram, sampler.KindDRAM, 102),
		},
	}}
	for i, tick := range ticks {
		dcgm.serve(t, tick.dcgm)
		node.serve(t, tick.node)
		if diff := cmp.Diff(tick.want, sample(t, s), nan); diff != "" {
			t.Fatalf("tick %d: readings (-want +got):\n%s", i, diff)
		}
	}
	want := map[string]int64{"gpu-node-02/gpu0": 1, pkg: 1}
	if diff := cmp.Diff(want, s.Stats().CounterResets); diff != "" {
		t.Errorf("CounterResets (-want +got):\n%s", diff)
	}
}

func TestOneTargetDown(t *testing.T) {
	h100 := newExporter(t, "dcgm-h100x4.prom")
	node := newExporter(t, "node-rapl.prom")
	s := open(t, []string{h100.url(), node.url()})

	node.serveBytes(http.StatusServiceUnavailable, "text/plain", []byte("exporter overloaded\n"))
	got, err := s.Sample(t.Context(), nil)
	if err != nil {
		t.Fatalf("Sample with one target down: %v, want no error", err)
	}
	if diff := cmp.Diff(h100x4("gpu-node-01"), got, nan); diff != "" {
		t.Errorf("readings with the node target down (-want +got):\n%s", diff)
	}
	ts := s.Stats().Targets[1]
	var se *StatusError
	if ts.Failures != 1 || !errors.As(ts.LastErr, &se) || se.Code != http.StatusServiceUnavailable {
		t.Errorf("node target stats = %+v, want 1 failure with a 503 StatusError", ts)
	}

	// Now the GPU host's exporter is gone too: every target failed.
	h100.srv.Close()
	got, err = s.Sample(t.Context(), got[:0])
	var te *TargetError
	if err == nil || !errors.As(err, &te) {
		t.Fatalf("Sample with every target down: %v, want an error joining *TargetErrors", err)
	}
	if len(got) != 0 {
		t.Errorf("Sample with every target down appended %d readings", len(got))
	}
	for _, u := range []string{h100.url(), node.url()} {
		if !strings.Contains(err.Error(), u) {
			t.Errorf("error %q does not name target %s", err, u)
		}
	}

	// The node target recovers: its devices are back.
	node.serve(t, "node-rapl.prom")
	if diff := cmp.Diff(nodeRAPL(node.host()), sample(t, s), nan); diff != "" {
		t.Errorf("readings after recovery (-want +got):\n%s", diff)
	}
}

func TestMalformedDuringSample(t *testing.T) {
	h100 := newExporter(t, "dcgm-h100x4.prom")
	node := newExporter(t, "node-rapl.prom")
	s := open(t, []string{h100.url(), node.url()})
	h100.serve(t, "malformed.prom")
	if diff := cmp.Diff(nodeRAPL(node.host()), sample(t, s), nan); diff != "" {
		t.Errorf("readings (-want +got):\n%s", diff)
	}
	var pe expfmt.ParseError
	if ts := s.Stats().Targets[0]; !errors.As(ts.LastErr, &pe) {
		t.Errorf("dcgm target LastErr = %v, want an expfmt.ParseError", ts.LastErr)
	}
}

func TestOpenUnavailable(t *testing.T) {
	good := newExporter(t, "dcgm-h100x4.prom")
	// A port nothing listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/metrics"
	ln.Close()
	malformed := newExporter(t, "malformed.prom")
	html := newExporter(t, "dcgm-h100x4.prom")
	html.serveBytes(http.StatusOK, "text/html; charset=utf-8", []byte("<html><body>Grafana</body></html>"))
	notFound := newExporter(t, "dcgm-h100x4.prom")
	notFound.serveBytes(http.StatusNotFound, "text/plain", []byte("404 page not found\n"))
	noRAPL := newExporter(t, "node-norapl.prom")

	tests := []struct {
		name   string
		target string
		check  func(error) bool
		detail string
	}{
		{"refused", refused, func(err error) bool { var ne *net.OpError; return errors.As(err, &ne) }, "connect: connection refused"},
		{"malformed", malformed.url(), func(err error) bool { var pe expfmt.ParseError; return errors.As(err, &pe) }, "malformed exposition"},
		{"html", html.url(), func(error) bool { return true }, `unsupported Content-Type "text/html; charset=utf-8"`},
		{"404", notFound.url(), func(err error) bool { var se *StatusError; return errors.As(err, &se) && se.Code == 404 }, "404 Not Found"},
		{"no RAPL", noRAPL.url(), func(err error) bool { return errors.Is(err, ErrNoDevices) }, "rapl collector failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), []string{good.url(), tt.target})
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want an error")
			}
			var te *TargetError
			if !errors.Is(err, sampler.ErrUnavailable) || !errors.As(err, &te) || te.Target != tt.target || !tt.check(err) {
				t.Errorf("Open error = %v (%T); want one wrapping sampler.ErrUnavailable and a *TargetError for %s with the right cause", err, err, tt.target)
			}
			if !strings.Contains(err.Error(), tt.target) || !strings.Contains(err.Error(), tt.detail) {
				t.Errorf("Open error %q does not name %s or say %q", err, tt.target, tt.detail)
			}
		})
	}
}

func TestOpenInvalid(t *testing.T) {
	dummy := []string{"http://127.0.0.1:9/metrics"}
	tests := []struct {
		name    string
		targets []string
		opts    []Option
		want    error
	}{
		{"no targets", nil, nil, ErrInvalidTarget},
		{"no scheme", []string{"gpu-node-1:9400"}, nil, ErrInvalidTarget},
		{"ftp", []string{"ftp://gpu-node-1/metrics"}, nil, ErrInvalidTarget},
		{"relative", []string{"/metrics"}, nil, ErrInvalidTarget},
		{"bad URL", []string{"http://[::1/metrics"}, nil, ErrInvalidTarget},
		{"twice", []string{dummy[0], dummy[0]}, nil, ErrInvalidTarget},
		{"zero timeout", dummy, []Option{WithScrapeTimeout(0)}, ErrInvalidOption},
		{"negative timeout", dummy, []Option{WithScrapeTimeout(-1)}, ErrInvalidOption},
		{"zero concurrency", dummy, []Option{WithMaxConcurrentScrapes(0)}, ErrInvalidOption},
		{"nil client", dummy, []Option{WithHTTPClient(nil)}, ErrInvalidOption},
		{"nil option", dummy, []Option{nil}, ErrInvalidOption},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Open(t.Context(), tt.targets, tt.opts...)
			if err == nil {
				s.Close()
			}
			if !errors.Is(err, tt.want) || errors.Is(err, sampler.ErrUnavailable) {
				t.Errorf("Open error = %v, want one wrapping %v (and not ErrUnavailable)", err, tt.want)
			}
		})
	}
}

// TestHostLabelCollision: two exporters whose Hostname labels agree (two
// containers with the same hostname) fall back to their URLs' hosts.
func TestHostLabelCollision(t *testing.T) {
	a := newExporter(t, "dcgm-h100x4.prom")
	b := newExporter(t, "dcgm-h100x4.prom")
	s := open(t, []string{a.url(), b.url()})
	want := append(h100x4(a.host()), h100x4(b.host())...)
	if diff := cmp.Diff(want, sample(t, s), nan); diff != "" {
		t.Errorf("readings (-want +got):\n%s", diff)
	}
	if notes := s.Describe().Notes; !slices.ContainsFunc(notes, func(n string) bool { return strings.Contains(n, `"gpu-node-01" is shared by 2 targets`) }) {
		t.Errorf("Describe().Notes = %q, want one on the shared host label", notes)
	}
}

func TestCloseReleasesEverything(t *testing.T) {
	h100 := newExporter(t, "dcgm-h100x4.prom")
	node := newExporter(t, "node-rapl.prom")
	// The exporters' own goroutines stay; what Open and Sample start must
	// not, once Close returns: its client's keep-alive connections
	// included (and with them the exporters' per-connection goroutines).
	servers := goleak.IgnoreCurrent()
	s, err := Open(t.Context(), []string{h100.url(), node.url()})
	if err != nil {
		t.Fatal(err)
	}
	sample(t, s)
	for range 2 {
		if err := s.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
	}
	if _, err := s.Sample(t.Context(), nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Sample after Close = %v, want ErrClosed", err)
	}
	goleak.VerifyNone(t, servers)
}

func TestSampleCancelled(t *testing.T) {
	h100 := newExporter(t, "dcgm-h100x4.prom")
	s := open(t, []string{h100.url()})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.Sample(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Sample with a cancelled ctx = %v, want context.Canceled", err)
	}
	if ts := s.Stats().Targets[0]; ts.Scrapes != 1 || ts.Failures != 0 {
		t.Errorf("stats after a cancelled Sample = %+v, want only Open's scrape counted", ts)
	}
}
