package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/sampler/nvml"
	"github.com/benchprof/benchprof/sampler/rapl"
)

// cliProcess is the bench CLI running as a child process: this test binary
// started again with BENCH_TEST_AS_CLI=1 (see TestMain), so that the tests
// see what a user's shell sees — the exit status, the files, the process's
// own peak memory — and nothing of the test process's.
type cliProcess struct {
	cmd            *exec.Cmd
	start          time.Time
	stdout, stderr bytes.Buffer // read only after done
	done           chan struct{}
	waitErr        error
	floor          int64 // bytes: this process's peak RSS when the child started
}

// cliExit is how a child ended.
type cliExit struct {
	code    int            // exit status; -1 when a signal ended the process
	signal  syscall.Signal // the signal that ended it, or 0
	wall    time.Duration  // from start to exit
	peakRSS int64          // bytes: the child's ru_maxrss, an upper bound of its peak (see startCLI)
	floor   int64          // bytes: this process's resident size when it started the child
	stdout  string
	stderr  string
}

// shellStatus is the status a shell reports: the exit status, or 128 +
// the signal that ended the process.
func (e cliExit) shellStatus() int {
	if e.signal != 0 {
		return 128 + int(e.signal)
	}
	return e.code
}

const mib = 1 << 20

// startCLI starts `bench args...` with env added to the test's environment.
// A child still running when the test ends is killed.
//
// The child's ru_maxrss is not its own alone: os/exec starts it with
// vfork (CLONE_VM), so until exec it runs on this process's memory map,
// and Linux's exec records that map's high-water mark in the child's
// maxrss. A test process that once held gigabytes (an in-process engine
// building 15 MiB events for 256 streams) would make every later child
// look that large. startCLI therefore first returns this process's free
// memory to the system and resets its high-water mark to its current size
// (/proc/self/clear_refs "5", Linux ≥ 4.0): the child's ru_maxrss is then
// the larger of its own peak and this floor, still an upper bound.
func startCLI(t *testing.T, env []string, args ...string) *cliProcess {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &cliProcess{cmd: exec.Command(exe, args...), done: make(chan struct{})}
	p.floor = lowerPeakRSS(t)
	p.cmd.Env = append(append(os.Environ(), asCLIEnv+"=1"), env...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.start = time.Now()
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting the CLI: %v", err)
	}
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// running reports whether the child has not exited yet.
func (p *cliProcess) running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// signal sends sig to the child.
func (p *cliProcess) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("sending %v: %v", sig, err)
	}
}

// wait waits for the child to exit, at most limit after it started; past
// that it kills the child and fails the test.
func (p *cliProcess) wait(t *testing.T, limit time.Duration) cliExit {
	t.Helper()
	if p.running() {
		timer := time.NewTimer(time.Until(p.start.Add(limit)))
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
			_ = p.cmd.Process.Kill()
			<-p.done
			t.Fatalf("the CLI ran for more than %v and was killed\nstdout:\n%s\nstderr:\n%s", limit, p.stdout.String(), p.stderr.String())
		}
	}
	var ee *exec.ExitError
	if p.waitErr != nil && !errors.As(p.waitErr, &ee) {
		t.Fatalf("waiting for the CLI: %v", p.waitErr)
	}
	st := p.cmd.ProcessState
	e := cliExit{code: st.ExitCode(), wall: time.Since(p.start), floor: p.floor, stdout: p.stdout.String(), stderr: p.stderr.String()}
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		e.signal = ws.Signal()
	}
	if ru, ok := st.SysUsage().(*syscall.Rusage); ok {
		e.peakRSS = ru.Maxrss * 1024 // KiB on Linux
	}
	return e
}

// lowerPeakRSS returns the memory this process no longer uses to the
// system, resets its peak resident size to its current one, and returns
// that peak (VmHWM) in bytes.
func lowerPeakRSS(t *testing.T) int64 {
	t.Helper()
	runtime.GC() // a second cycle frees what sync.Pools kept through the first
	debug.FreeOSMemory()
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		t.Logf("cannot reset this process's peak RSS (%v): the children's ru_maxrss include it", err)
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kib, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kib * 1024
		}
	}
	t.Fatal("no VmHWM in /proc/self/status")
	return 0
}

// readTrace reads a per-request trace (JSONL) strictly: the file ends with
// a line end, and every line is one complete JSON object with an outcome.
func readTrace(t *testing.T, path string) []loadgen.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("%s: the last line is incomplete: %q", path, tail(b, 120))
	}
	var out []loadgen.Result
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 64*mib)
	for n := 1; sc.Scan(); n++ {
		var r loadgen.Result
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		if err := dec.Decode(&r); err != nil || dec.More() {
			t.Fatalf("%s line %d is not one complete trace record (%v): %q", path, n, err, tail(sc.Bytes(), 120))
		}
		if r.Outcome == "" {
			t.Fatalf("%s line %d has no outcome: %q", path, n, tail(sc.Bytes(), 120))
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func tail(b []byte, n int) string {
	if len(b) > n {
		return "…" + string(b[len(b)-n:])
	}
	return string(b)
}

// onlyFile returns the one file in dir matching pattern, failing the test
// when there is not exactly one.
func onlyFile(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, pattern))
	if len(m) != 1 {
		t.Fatalf("files %s in %s: %v; want exactly one", pattern, dir, m)
	}
	return m[0]
}

// checkTimeline checks a timeline CSV: it exists, every row has the
// header's number of fields, and when this machine has telemetry (NVML or
// RAPL open here as they would in the child) it has rows beyond the header.
func checkTimeline(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("timeline: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(b) == 0 || len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("timeline %s is empty or ends inside a line: %q", path, tail(b, 120))
		return
	}
	fields := strings.Count(lines[0], ",")
	for i, l := range lines[1:] {
		if strings.Count(l, ",") != fields {
			t.Errorf("timeline row %d has %d separators, the header %d: %q", i+1, strings.Count(l, ","), fields, l)
		}
	}
	if why := telemetryHere(); why != "" && len(lines) < 2 {
		t.Errorf("timeline %s has only its header, though %s", path, why)
	}
}

// telemetryHere says which telemetry source opens on this machine, or ""
// when none does (no GPU driver, RAPL absent or not readable).
func telemetryHere() string {
	if s, err := nvml.Open(); err == nil {
		s.Close()
		return "NVML opens here"
	}
	if s, err := rapl.Open(); err == nil {
		s.Close()
		return "RAPL opens here"
	}
	return ""
}
