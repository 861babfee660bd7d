package loadgen_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/benchprof/benchprof/loadgen"
	"github.com/benchprof/benchprof/loadgen/catalog"
	"github.com/benchprof/benchprof/loadgen/enginetest"
)

// BenchmarkTTFTAccuracy compares the client's measured TTFT with the fake
// engine's own (first content chunk flushed − request arrival) on a server
// with TTFT 40 ms and ITL 5 ms, at concurrency 1, 32 and 256, both in this
// process so that their clocks are the same. Each sub-benchmark is one
// fixed-duration run; use -benchtime 1x:
//
//	go test -run '^$' -bench TTFTAccuracy -benchtime 1x ./loadgen
//
// Reported: p50/p99 of the client's and of the server's TTFT, and of the
// per-request difference (client − server), in ms.
func BenchmarkTTFTAccuracy(b *testing.B) {
	for _, c := range []int{1, 32, 256} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			for b.Loop() {
				ttftAccuracyRun(b, c, 10*time.Second)
			}
		})
	}
}

func ttftAccuracyRun(b *testing.B, concurrency int, duration time.Duration) {
	srv, err := enginetest.Start(enginetest.WithTTFT(40*time.Millisecond), enginetest.WithITL(5*time.Millisecond), enginetest.WithOutputTokens(32))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	c, err := loadgen.NewClient(srv.URL(), enginetest.DefaultModel, loadgen.WithMaxConnections(concurrency), loadgen.WithMaxTokens(32))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	prompts := make([]string, 200_000) // unique prompts pair client and server records
	for i := range prompts {
		prompts[i] = fmt.Sprintf("request %d", i)
	}
	d, err := loadgen.NewDriver(c, prompts, loadgen.ClosedLoop{Concurrency: concurrency}, loadgen.WithDuration(duration), loadgen.WithWarmup(concurrency))
	if err != nil {
		b.Fatal(err)
	}
	var rs []loadgen.Result
	info, err := d.Run(context.Background(), func(r loadgen.Result) { rs = append(rs, r) })
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.WaitIdle(context.Background()); err != nil {
		b.Fatal(err)
	}
	server := map[string]time.Duration{}
	for _, rec := range srv.Requests() {
		if !rec.FirstToken.IsZero() {
			server[rec.Prompt] = rec.FirstToken.Sub(rec.Arrival)
		}
	}
	var cli, srvT, diff []float64
	for _, r := range rs {
		if r.Warmup || !r.OK() {
			continue
		}
		st, ok := server[prompts[r.Prompt]]
		if !ok {
			continue
		}
		ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
		cli = append(cli, ms(r.TTFT()))
		srvT = append(srvT, ms(st))
		diff = append(diff, ms(r.TTFT()-st))
	}
	if len(cli) == 0 {
		b.Fatal("no matched requests")
	}
	p := func(v []float64, q float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return loadgen.Percentile(s, q)
	}
	b.ReportMetric(float64(len(cli)), "requests")
	b.ReportMetric(p(cli, 50), "client_p50_ms")
	b.ReportMetric(p(srvT, 50), "server_p50_ms")
	b.ReportMetric(p(cli, 50)-p(srvT, 50), "p50_err_ms")
	b.ReportMetric(p(cli, 99), "client_p99_ms")
	b.ReportMetric(p(srvT, 99), "server_p99_ms")
	b.ReportMetric(p(cli, 99)-p(srvT, 99), "p99_err_ms")
	b.ReportMetric(p(diff, 50), "diff_p50_ms")
	b.ReportMetric(p(diff, 99), "diff_p99_ms")
	b.ReportMetric(float64(info.Issued)/duration.Seconds(), "req/s")
}

const engineProcessEnv = "BENCHPROF_ENGINETEST_PROCESS"

// serveEngineProcess runs a zero-delay engine until killed, printing its URL.
func serveEngineProcess() {
	srv, err := enginetest.Start(enginetest.WithOutputTokens(512))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(srv.URL())
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGTERM, os.Interrupt)
	<-ch
	srv.Close()
}

// BenchmarkStreamThroughput measures how many streamed tokens per second
// the client takes in from a zero-delay engine running in another process,
// with the client limited to one core (GOMAXPROCS=1 for the measured part),
// and the client's CPU time per token (getrusage of this process).
//
//	go test -run '^$' -bench StreamThroughput -benchtime 1x ./loadgen
func BenchmarkStreamThroughput(b *testing.B) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), engineProcessEnv+"=1", "GOMAXPROCS=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	url = strings.TrimSpace(url)
	for _, c := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			for b.Loop() {
				throughputRun(b, url, c, 5*time.Second)
			}
		})
	}
}

func throughputRun(b *testing.B, url string, concurrency int, duration time.Duration) {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	c, err := loadgen.NewClient(url, enginetest.DefaultModel, loadgen.WithMaxConnections(concurrency), loadgen.WithMaxTokens(512))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	d, err := loadgen.NewDriver(c, catalog.BuiltinPrompts(), loadgen.ClosedLoop{Concurrency: concurrency}, loadgen.WithDuration(duration), loadgen.WithWarmup(0))
	if err != nil {
		b.Fatal(err)
	}
	tokens, failed := 0, 0
	cpu0 := cpuTime()
	start := time.Now()
	if _, err := d.Run(context.Background(), func(r loadgen.Result) {
		if r.OK() {
			tokens += r.OutputTokens
		} else {
			failed++
		}
	}); err != nil {
		b.Fatal(err)
	}
	wall := time.Since(start)
	cpu := cpuTime() - cpu0
	if failed > 0 {
		b.Fatalf("%d requests failed", failed)
	}
	b.ReportMetric(float64(tokens)/wall.Seconds(), "tokens/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(tokens), "client_cpu_ns/token")
	b.ReportMetric(cpu.Seconds()/wall.Seconds(), "client_cores")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
