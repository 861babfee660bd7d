//go:build linux

package profile_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/benchprof/benchprof/profile"
)

// TestEngineGPUsOfAnotherProcess: the engine is another process, started
// through a shell as a grandchild of this one; the GPU driver lists the
// listener on gpu2 and its launching shell on gpu5. Both count: the
// engine's process tree includes the launchers above the listener (but
// not this process, their common ancestor).
func TestEngineGPUsOfAnotherProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/fd"); err != nil {
		t.Skip("no /proc")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	f := newFixture(t)
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-c", `"$0" & wait`, bin)
	cmd.Env = append(os.Environ(), childEngineEnv+"="+f.src.Model.ID)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	var url string
	var pid int
	if _, err := fmt.Fscan(out, &url, &pid); err != nil {
		t.Fatalf("the child engine said nothing: %v", err)
	}
	gpus := &loadGPUs{PIDs: make([][]int, 4)}
	for i := range 4 {
		gpus.IdleW = append(gpus.IdleW, 100+10*float64(i))
		gpus.LoadW = append(gpus.LoadW, 100+10*float64(i))
	}
	gpus.PIDs[2] = []int{pid}
	gpus.PIDs[3] = []int{cmd.Process.Pid}
	gpus.PIDs[0] = []int{os.Getpid()} // this process is not the engine
	res, err := profile.Run(context.Background(), f.src, replaceEngine(f, url, gpus, profile.WithIdlePhase(0))...)
	if err != nil {
		t.Fatal(err)
	}
	var counted []string
	for _, g := range res.GPUs.GPUs {
		if g.Counted {
			counted = append(counted, g.Device)
		}
	}
	if res.GPUs.How != profile.GPUsOfEngine || strings.Join(counted, ",") != "gpu2,gpu3" {
		t.Fatalf("counted %v of %+v; want gpu2, gpu3", counted, res.GPUs)
	}
	if slices.Contains(res.GPUs.EnginePIDs, os.Getpid()) {
		t.Errorf("engine PIDs %v hold this process", res.GPUs.EnginePIDs)
	}
	window := metric(t, res.Envelope, "measure_window_s")
	within(t, "energy_joules_gpu", metric(t, res.Envelope, "energy_joules_gpu"), (120+130)*window, 0.01)
}
