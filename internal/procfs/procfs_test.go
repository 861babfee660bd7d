package procfs

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixture writes a /proc tree under a temporary root: files maps paths
// (relative to root) to contents, links maps fd paths to link targets.
func fixture(t *testing.T, files, links map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for p, target := range links {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, full); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

const tcpHeader = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"

func TestFixture(t *testing.T) {
	root := fixture(t, map[string]string{
		"proc/net/tcp": tcpHeader +
			// 127.0.0.1:8000 listening, inode 555
			"   0: 0100007F:1F40 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 555 1 0 100 0 0 10 0\n" +
			// a connection to port 8000 (established, not a listener)
			"   1: 0100007F:9C40 0100007F:1F40 01 00000000:00000000 00:00000000 00000000  1000        0 777 1 0 100 0 0 10 0\n" +
			// another port listening
			"   2: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 888 1 0 100 0 0 10 0\n",
		"proc/net/tcp6": tcpHeader +
			"   0: 00000000000000000000000000000000:1F40 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 556 1 0 100 0 0 10 0\n",
		"proc/100/stat":     "100 (engine (main)) S 50 100 100 0 -1\n",
		"proc/50/stat":      "50 (launcher) S 40 40 40 0 -1\n",
		"proc/40/stat":      "40 (bash) S 1 40 40 0 -1\n",
		"proc/60/stat":      "60 (bench) S 40 40 40 0 -1\n",
		"proc/self/stat":    "60 (bench) S 40 40 40 0 -1\n",
		"proc/101/stat":     "101 (worker) S 100 100 100 0 -1\n",
		"proc/102/stat":     "102 (worker) S 101 100 100 0 -1\n",
		"proc/200/stat":     "200 (other) S 1 200 200 0 -1\n",
		"proc/300/stat":     "300 (ipv6) S 1 300 300 0 -1\n",
		"proc/self/status":  "Name:\tbench\nNSpid:\t4242\t7\n",
		"proc/cpuinfo":      "not a process\n",
		"proc/200/fd/.keep": "",
	}, map[string]string{
		"proc/100/fd/0": "/dev/null",
		"proc/100/fd/7": "socket:[555]",
		"proc/101/fd/3": "socket:[999]",
		"proc/200/fd/4": "socket:[888]",
		"proc/300/fd/5": "socket:[556]",
	})
	inodes, err := ListenInodes(root, 8000)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]uint64{555, 556}, inodes); diff != "" {
		t.Errorf("ListenInodes (-want +got):\n%s", diff)
	}
	own, err := SocketOwners(root, inodes)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{100, 300}, own.PIDs); diff != "" {
		t.Errorf("SocketOwners (-want +got):\n%s", diff)
	}
	tree, err := Tree(root, []int{100})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int{100, 101, 102}, tree); diff != "" {
		t.Errorf("Tree (-want +got):\n%s", diff)
	}
	// The engine's launcher (50) is an ancestor of the listener; the
	// shell (40) that started both it and the reader (60) is not taken.
	if got := Ancestors(root, 100, map[int]bool{40: true, 60: true}); !slices.Equal(got, []int{50}) {
		t.Errorf("Ancestors = %v; want [50]", got)
	}
	if got := Ancestors(root, 100, nil); !slices.Equal(got, []int{50, 40}) {
		t.Errorf("Ancestors without a stop = %v; want [50 40] (PID 1 left out)", got)
	}
	if self, ok := Self(root); !ok || self != 60 {
		t.Errorf("Self = %v, %v", self, ok)
	}
	if nested, ok := NestedPIDNamespace(root); !ok || !nested {
		t.Errorf("NestedPIDNamespace = %v, %v; want true, true", nested, ok)
	}
	if in, err := ListenInodes(root, 9000); err != nil || len(in) != 0 {
		t.Errorf("port 9000: %v %v", in, err)
	}
	if _, err := ListenInodes(root, 0); err == nil {
		t.Error("port 0 accepted")
	}
	if _, err := ListenInodes(t.TempDir(), 8000); err == nil {
		t.Error("a root without /proc/net/tcp gave no error")
	}
}

func TestNoNSpid(t *testing.T) {
	root := fixture(t, map[string]string{"proc/self/status": "Name:\tbench\n"}, nil)
	if _, ok := NestedPIDNamespace(root); ok {
		t.Error("a status without NSpid said something")
	}
	root = fixture(t, map[string]string{"proc/self/status": "NSpid:\t4242\n"}, nil)
	if nested, ok := NestedPIDNamespace(root); !ok || nested {
		t.Errorf("one NSpid entry: %v, %v", nested, ok)
	}
}

// TestLive finds this test's own listener on a loopback port through the
// real /proc, and a child process in its tree.
func TestLive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("procfs is Linux's")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	inodes, err := ListenInodes("/", port)
	if err != nil {
		t.Fatal(err)
	}
	if len(inodes) != 1 {
		t.Fatalf("listen inodes of port %d: %v", port, inodes)
	}
	own, err := SocketOwners("/", inodes)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(own.PIDs, []int{os.Getpid()}) {
		t.Fatalf("owners %v; want this process %d", own.PIDs, os.Getpid())
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep to start a child")
	}
	cmd := exec.Command(sleep, "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	tree, err := Tree("/", own.PIDs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(tree, cmd.Process.Pid) || !slices.Contains(tree, os.Getpid()) {
		t.Errorf("tree %v lacks this process %d or its child %d", tree, os.Getpid(), cmd.Process.Pid)
	}
}
