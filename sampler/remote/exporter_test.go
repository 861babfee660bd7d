package remote

import (
	"bytes"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/benchprof/benchprof/sampler"
)

// These tests run the real node_exporter of Debian's
// prometheus-node-exporter package, listening on 127.0.0.1 only, with
// every collector off but rapl; they skip where it is not installed.

const debianNodeExporter = "/usr/bin/prometheus-node-exporter"

func nodeExporterBinary(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(debianNodeExporter); err == nil {
		return debianNodeExporter
	}
	if p, err := exec.LookPath("prometheus-node-exporter"); err == nil {
		return p
	}
	t.Skip("prometheus-node-exporter is not installed (apt-get install prometheus-node-exporter); skipping the tests against a real node_exporter")
	return ""
}

// requireFlag skips the test if node_exporter does not know flag (the
// rapl_zone label came with node_exporter 1.4).
func requireFlag(t *testing.T, bin, flag string) {
	t.Helper()
	help, _ := exec.Command(bin, "--help").CombinedOutput()
	if !bytes.Contains(help, []byte(flag)) {
		t.Skipf("this node_exporter has no %s flag", flag)
	}
}

// startNodeExporter runs node_exporter with args on a free port of
// 127.0.0.1, waits until it serves, and returns its metrics URL. The
// process is killed when the test ends.
func startNodeExporter(t *testing.T, args ...string) string {
	t.Helper()
	bin := nodeExporterBinary(t)
	var lastOut string
	for range 3 { // the free port may be taken between Close and the exporter's bind
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		var out bytes.Buffer
		cmd := exec.Command(bin, append([]string{
			"--web.listen-address=" + addr,
			"--collector.disable-defaults",
			"--collector.rapl",
			"--log.level=warn",
		}, args...)...)
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("starting %s: %v", bin, err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			<-exited
		})
		url := "http://" + addr + "/metrics"
		if waitServing(url, exited) {
			return url
		}
		lastOut = out.String()
	}
	t.Fatalf("node_exporter did not start serving; its last output:\n%s", lastOut)
	return ""
}

// waitServing polls url for up to 10 s, until it answers 200 or the
// process exits.
func waitServing(url string, exited <-chan error) bool {
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	for range 100 {
		select {
		case <-exited:
			return false
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

// powercapZone is one zone of a fake /sys/class/powercap tree.
type powercapZone struct {
	dir, name string
	energyUJ  uint64
}

func writePowercap(t *testing.T, root string, zones []powercapZone) {
	t.Helper()
	for _, z := range zones {
		dir := filepath.Join(root, "class", "powercap", z.dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for file, content := range map[string]string{
			"name":                z.name,
			"energy_uj":           strconv.FormatUint(z.energyUJ, 10),
			"max_energy_range_uj": "262143328850",
		} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(content+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestNodeExporterFakeSysfs points the real exporter at a fake sysfs tree
// (--path.sysfs) of a two-socket machine, in both label forms, and checks
// the readings, then a counter wrap.
func TestNodeExporterFakeSysfs(t *testing.T) {
	bin := nodeExporterBinary(t)
	for _, form := range []struct {
		name string
		args []string
	}{
		{"zone per metric", nil},
		{"rapl_zone label", []string{"--collector.rapl.enable-zone-label"}},
	} {
		t.Run(form.name, func(t *testing.T) {
			for _, flag := range form.args {
				requireFlag(t, bin, flag)
			}
			sysfs := t.TempDir()
			zones := []powercapZone{
				{"intel-rapl:0", "package-0", 84512345678},
				{"intel-rapl:0:0", "core", 51234567890},
				{"intel-rapl:0:1", "dram", 9876543210},
				{"intel-rapl:1", "package-1", 79001234567},
				{"intel-rapl:1:0", "dram", 9123456789},
				{"intel-rapl:2", "psys", 170123456789},
				{"intel-rapl-mmio:0", "package-0", 84500000001},
			}
			writePowercap(t, sysfs, zones)
			url := startNodeExporter(t, append([]string{"--path.sysfs=" + sysfs}, form.args...)...)
			s := open(t, []string{url})
			host := strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics")
			uj := func(v uint64) float64 { return float64(v) / 1e6 } // as node_exporter converts
			want := []sampler.DeviceReading{
				energy(host+"/package-0", sampler.KindCPUPackage, uj(84512345678)),
				energy(host+"/package-1", sampler.KindCPUPackage, uj(79001234567)),
				energy(host+"/dram-0", sampler.KindDRAM, uj(9876543210)),
				energy(host+"/dram-1", sampler.KindDRAM, uj(9123456789)),
			}
			if diff := cmp.Diff(want, sample(t, s), nan); diff != "" {
				t.Fatalf("readings (-want +got):\n%s", diff)
			}

			// package-0 wraps past max_energy_range_uj to 1.5 J.
			zones[0].energyUJ = 1500000
			writePowercap(t, sysfs, zones)
			want[0].EnergyJ = uj(84512345678) + uj(1500000)
			if diff := cmp.Diff(want, sample(t, s), nan); diff != "" {
				t.Errorf("readings after the wrap (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(map[string]int64{host + "/package-0": 1}, s.Stats().CounterResets); diff != "" {
				t.Errorf("CounterResets (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNodeExporterHostSysfs runs the exporter on this machine's own /sys.
// Where RAPL is readable, Open finds at least package-0. Where it is not
// (VMs and containers have no powercap zones; since Linux 5.10 energy_uj is
// root-only), the exporter still serves, its rapl collector reports
// failure, and Open fails with an error wrapping sampler.ErrUnavailable and
// ErrNoDevices that says so: a host without RAPL yields no devices, never
// a sampler that reads nothing.
func TestNodeExporterHostSysfs(t *testing.T) {
	url := startNodeExporter(t)
	s, err := Open(t.Context(), []string{url})
	if hostRAPLReadable() {
		if err != nil {
			t.Fatalf("Open with readable RAPL zones: %v", err)
		}
		defer s.Close()
		got := sample(t, s)
		if len(got) == 0 || !strings.HasSuffix(got[0].Device, "/package-0") || !sampler.Has(got[0].EnergyJ) {
			t.Errorf("readings = %v, want package-0 first, with energy", got)
		}
		return
	}
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded against an exporter without RAPL zones")
	}
	var te *TargetError
	if !errors.Is(err, sampler.ErrUnavailable) || !errors.Is(err, ErrNoDevices) || !errors.As(err, &te) || te.Target != url {
		t.Errorf("Open error = %v; want ErrUnavailable, ErrNoDevices and a *TargetError for %s", err, url)
	}
	if !strings.Contains(err.Error(), "rapl collector failed") {
		t.Errorf("Open error %q does not say that the rapl collector failed", err)
	}
	t.Logf("no RAPL on this host, as expected: %v", err)
}

// hostRAPLReadable reports whether this process can read a package zone's
// energy counter, as the exporter (same user) would.
func hostRAPLReadable() bool {
	dirs, _ := filepath.Glob("/sys/class/powercap/intel-rapl:*")
	for _, d := range dirs {
		name, err := os.ReadFile(filepath.Join(d, "name"))
		if err != nil || !strings.HasPrefix(string(name), "package") {
			continue
		}
		if _, err := os.ReadFile(filepath.Join(d, "energy_uj")); err == nil {
			return true
		}
	}
	return false
}
