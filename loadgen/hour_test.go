package loadgen_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/benchprof/benchprof/loadgen"
)

// streamer is an in-memory engine: every request streams tokens one per
// chunk at rate per second after a TTFT, on the (virtual) clock.
type streamer struct {
	ttft   time.Duration
	tokens int
	rate   float64
}

func (s streamer) Do(ctx context.Context, clock loadgen.Clock, _ string, r *loadgen.Result) {
	r.Sent = clock.Now().Sub(clock.Start)
	time.Sleep(s.ttft)
	gap := time.Duration(float64(time.Second) / s.rate)
	for i := range s.tokens {
		if i > 0 {
			time.Sleep(gap)
		}
		r.Chunks = append(r.Chunks, loadgen.Chunk{At: clock.Now().Sub(clock.Start), Tokens: 1})
	}
	r.FirstToken = r.Chunks[0].At
	r.End = clock.Now().Sub(clock.Start)
	r.Outcome, r.StatusCode, r.FinishReason = loadgen.OutcomeOK, 200, "length"
	r.OutputTokens, r.PromptTokens, r.TokenSource = s.tokens, 12, loadgen.TokenSourceUsage
}

// hourEnv runs the simulated hour in a child process, so that its peak RSS
// is its own.
const hourEnv = "BENCHPROF_SIMULATED_HOUR"

// TestSimulatedHourInBoundedMemory drives an hour at concurrency 256, 50
// tokens/s per stream (about 900 000 requests and 46 M tokens), through the
// driver, the JSONL trace and the metrics (a Summarizer fed as results
// arrive, as profile does), on a virtual clock, in a child process; the
// child's peak RSS (from the kernel) must stay under 64 MiB.
func TestSimulatedHourInBoundedMemory(t *testing.T) {
	if os.Getenv(hourEnv) == "1" {
		simulatedHour(t)
		return
	}
	if testing.Short() || raceEnabled {
		t.Skip("a simulated hour takes tens of seconds, and the race detector multiplies its memory")
	}
	if runtime.GOOS != "linux" {
		t.Skip("peak RSS is read from Linux's rusage")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestSimulatedHourInBoundedMemory$", "-test.v")
	cmd.Env = append(os.Environ(), hourEnv+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the simulated hour failed: %v\n%s", err, out)
	}
	// The child's own peak, which it reads from its /proc/self/status
	// (VmHWM): its ru_maxrss would not do, since os/exec starts it with
	// vfork, sharing this process's memory until exec, and Linux carries
	// the larger peak of the two over exec: with other tests run before,
	// it measured this process (72 MiB), not the hour (38 MiB).
	t.Logf("child output:\n%s", out)
	_, after, ok := strings.Cut(string(out), hwmPrefix)
	kib, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]), 10, 64)
	if !ok || err != nil {
		t.Fatalf("no %q line in the child's output (%v)", hwmPrefix, err)
	}
	maxRSS := kib * 1024
	t.Logf("peak RSS of the simulated hour: %.1f MiB", float64(maxRSS)/(1<<20))
	if maxRSS >= 64<<20 {
		t.Errorf("peak RSS %.1f MiB; want under 64 MiB", float64(maxRSS)/(1<<20))
	}
}

// hwmPrefix starts the child's line giving its peak RSS in KiB.
const hwmPrefix = "peak RSS KiB (VmHWM): "

func simulatedHour(t *testing.T) {
	defer func() {
		status, err := os.ReadFile("/proc/self/status")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				fmt.Printf("%s%s\n", hwmPrefix, strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			}
		}
	}()
	synctest.Test(t, func(t *testing.T) {
		eng := streamer{ttft: 40 * time.Millisecond, tokens: 50, rate: 50}
		d, err := loadgen.NewDriver(eng, []string{"p"}, loadgen.ClosedLoop{Concurrency: 256},
			loadgen.WithDuration(time.Hour), loadgen.WithGrace(10*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		trace := loadgen.NewJSONLWriter(io.Discard)
		z := loadgen.NewSummarizer(loadgen.SLO{})
		info, err := d.Run(context.Background(), func(r loadgen.Result) {
			if err := trace.Write(&r); err != nil {
				t.Error(err)
			}
			z.Add(&r)
		})
		if err != nil {
			t.Fatal(err)
		}
		s := z.Summary()
		fmt.Printf("issued %s requests, %s ok, %s output tokens, ITL p50 %.3f ms p99 %.3f ms, TTFT p99 %.3f ms\n",
			strconv.Itoa(info.Issued), strconv.Itoa(s.OK), strconv.Itoa(s.OutputTokens), s.ITL.P50, s.ITL.P99, s.TTFT.P99)
		if s.OK < 800_000 || s.OutputTokens < 40_000_000 {
			t.Errorf("the hour ran %d ok requests and %d tokens; want about 900 000 and 46 M", s.OK, s.OutputTokens)
		}
		if s.ITL.P50 < 19.9 || s.ITL.P50 > 20.1 {
			t.Errorf("ITL p50 %.3f ms; want 20 ms (50 tokens/s)", s.ITL.P50)
		}
	})
}
