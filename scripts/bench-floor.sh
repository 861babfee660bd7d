#!/usr/bin/env bash
# The floor under scripts/bench-process.sh: the least CPU per streamed
# token that any client process spends on this machine against the same
# engine (fakeengine in its own process: TTFT 40 ms, ITL 5 ms, 64 tokens,
# one token per chunk), measured with two clients that do nothing but read:
#
#   goroutines  Go, one goroutine per stream on net.Conn (the runtime's
#               netpoller, as net/http uses it), raw HTTP/1.1, no parsing
#               beyond counting tokens;
#   epoll       Go, one thread, level-triggered epoll and one read per
#               readiness (the shape of an asyncio client), no parsing.
#
# Both keep C keep-alive connections busy for DURATION seconds and print
# their user+sys CPU (getrusage) per token. What they spend is the kernel's
# and the scheduler's share of a streamed token (docs/PERFORMANCE.md).
#
# Environment: CONCURRENCY ("32 256"), DURATION (10). Needs Linux and Go.
set -euo pipefail
cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-32 256}
DURATION=${DURATION:-10}
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-floor.XXXXXX")
engine_pid=""
cleanup() {
	if [ -n "$engine_pid" ]; then kill "$engine_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/fakeengine" ./examples/fakeengine
mkdir "$work/floor"
cat >"$work/floor/go.mod" <<'EOF'
module floor

go 1.26
EOF
cat >"$work/floor/main.go" <<'EOF'
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

var token = []byte(`"content":"tok`)

func main() {
	addr := flag.String("addr", "", "engine host:port")
	c := flag.Int("c", 32, "streams")
	d := flag.Duration("d", 10*time.Second, "duration")
	mode := flag.String("mode", "goroutines", "goroutines or epoll")
	flag.Parse()
	body := `{"model":"Qwen/Qwen2.5-72B-Instruct","max_tokens":128,"temperature":0,"stream":true,` +
		`"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hello there"}]}`
	req := []byte(fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"+
		"Content-Length: %d\r\n\r\n%s", *addr, len(body), body))
	var tokens int64
	if *mode == "epoll" {
		tokens = epollClient(*addr, *c, *d, req)
	} else {
		tokens = goroutineClient(*addr, *c, *d, req)
	}
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	user, sys := time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
	fmt.Printf("%-10s c=%-4d tokens %7d  user %6.2fs  sys %6.2fs  %5.2f us/token\n", *mode, *c, tokens,
		user.Seconds(), sys.Seconds(), float64((user+sys).Nanoseconds())/1e3/float64(tokens))
}

// ended reports whether a response ends in b: the chunked terminator.
func ended(b []byte) bool { return bytes.HasSuffix(b, []byte("0\r\n\r\n")) }

func goroutineClient(addr string, c int, d time.Duration, req []byte) int64 {
	var tokens atomic.Int64
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range c {
		wg.Go(func() {
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				panic(err)
			}
			defer conn.Close()
			buf := make([]byte, 32<<10)
			for time.Now().Before(end) {
				if _, err := conn.Write(req); err != nil {
					panic(err)
				}
				for n := 0; ; {
					k, err := conn.Read(buf[n:])
					if err != nil {
						panic(err)
					}
					tokens.Add(int64(bytes.Count(buf[n:n+k], token)))
					if n += k; ended(buf[:n]) {
						break
					}
					if n > len(buf)/2 {
						n = copy(buf, buf[n-8:n])
					}
				}
			}
		})
	}
	wg.Wait()
	return tokens.Load()
}

func epollClient(addr string, c int, d time.Duration, req []byte) (tokens int64) {
	ep, err := syscall.EpollCreate1(0)
	if err != nil {
		panic(err)
	}
	ta, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		panic(err)
	}
	sa := &syscall.SockaddrInet4{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To4())
	tail := map[int32][]byte{}
	for range c {
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
		if err != nil {
			panic(err)
		}
		if err := syscall.Connect(fd, sa); err != nil {
			panic(err)
		}
		if _, err := syscall.Write(fd, req); err != nil {
			panic(err)
		}
		if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, fd, &syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}); err != nil {
			panic(err)
		}
	}
	end := time.Now().Add(d)
	evs := make([]syscall.EpollEvent, 1024)
	buf := make([]byte, 32<<10)
	for open := c; open > 0; {
		n, err := syscall.EpollWait(ep, evs, -1)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			panic(err)
		}
		for _, e := range evs[:n] {
			k, err := syscall.Read(int(e.Fd), buf)
			if err != nil || k == 0 {
				panic(fmt.Sprint("read: ", err))
			}
			tokens += int64(bytes.Count(buf[:k], token))
			last := append(tail[e.Fd], buf[max(0, k-8):k]...)
			tail[e.Fd] = last[max(0, len(last)-8):]
			if !ended(tail[e.Fd]) {
				continue
			}
			tail[e.Fd] = nil
			if time.Now().Before(end) {
				if _, err := syscall.Write(int(e.Fd), req); err != nil {
					panic(err)
				}
				continue
			}
			_ = syscall.EpollCtl(ep, syscall.EPOLL_CTL_DEL, int(e.Fd), nil)
			_ = syscall.Close(int(e.Fd))
			open--
		}
	}
	return tokens
}
EOF
(cd "$work/floor" && GOFLAGS= go build -o "$work/floor-client" .)

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(go version | cut -d' ' -f3-); load at start:$(cut -d' ' -f1-3 /proc/loadavg)"
for c in $CONCURRENCY; do
	for mode in goroutines epoll; do
		"$work/fakeengine" --ttft 40ms --itl 5ms --tokens 64 >"$work/engine.out" 2>/dev/null &
		engine_pid=$!
		for _ in $(seq 100); do
			grep -q '^listening on ' "$work/engine.out" 2>/dev/null && break
			sleep 0.1
		done
		addr=$(sed -n 's|^listening on http://||p' "$work/engine.out")
		[ -n "$addr" ] || { echo "bench-floor: fakeengine did not start" >&2; exit 1; }
		procs=()
		if [ "$mode" = epoll ]; then procs=(GOMAXPROCS=1); fi
		env "${procs[@]}" "$work/floor-client" -addr "$addr" -c "$c" -d "${DURATION}s" -mode "$mode"
		kill -TERM "$engine_pid"
		wait "$engine_pid" || true
		engine_pid=""
	done
done
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
