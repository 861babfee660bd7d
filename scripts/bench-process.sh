#!/usr/bin/env bash
# Whole-process cost and timing accuracy of `bench profile` against an
# engine in another process (numbers in docs/PERFORMANCE.md). Builds bench
# and fakeengine, then for every concurrency and repeat starts fakeengine as
# its own process (TTFT 40 ms, ITL 5 ms, 64 output tokens, one token per SSE
# chunk, --records for its own times) and runs
#
#   /usr/bin/time -v bench profile <bundled demo envelope> --no-verify \
#       --base-url URL/v1 --concurrency C --duration $DURATION --grace $GRACE ...
#
# against it. Per run it prints: the tokens streamed (content chunks in the
# per-request trace), the bench process's user+sys CPU (start-up, load,
# report and signing included) and that CPU per token, its peak RSS, and
# the 1-minute load average when the run started (other processes on the
# machine distort both CPU and timing), and the TTFT error: for every ok, non-warmup request, the client's TTFT
# (first_token_ns - sent_ns of the trace) minus the engine's own
# (first_token_ns - arrival_ns of its records), paired by the X-Request-Id
# the client sends. "d p50"/"d p99" are percentiles of that per-request
# difference; "dr p99" leaves out each connection's first request, whose
# client TTFT includes the TCP connect and the engine's accept; "e p50"/
# "e p99" are the client's percentile minus the engine's. Then, per
# concurrency, the median of every column over the repeats (a 2-core
# machine is noisy). The engine's own TTFT percentiles and CPU are shown
# for context: on a small machine the two processes share the cores.
#
# Environment: CONCURRENCY ("32 256"), DURATION (20), GRACE (10), REPEAT (3),
# BENCH (a prebuilt bench binary to measure instead of building one),
# BASELINE (another bench binary, e.g. an older tree's, measured too,
# interleaved run by run with the first; rows are labelled "baseline" and
# "measured"), PPROF=1 (one more run per concurrency under
# `perf record -g`, not counted in the medians; prints the top functions
# and keeps perf.data), BENCH_ENV (environment settings for the bench
# process only, e.g. "GOMAXPROCS=1 GOGC=400"), KEEP=1 keeps the work
# directory. Needs Linux, GNU
# time (/usr/bin/time), python3 and Go; PPROF=1 needs perf.
set -euo pipefail
cd "$(dirname "$0")/.."

CONCURRENCY=${CONCURRENCY:-32 256}
DURATION=${DURATION:-20}
GRACE=${GRACE:-10}
REPEAT=${REPEAT:-3}
SOURCE=examples/bench/demodata/2026-06-13-llm-h100_c16-b91875fdf860.json
ENGINE=(--ttft 40ms --itl 5ms --tokens 64 --tokens-per-chunk 1)

[ -x /usr/bin/time ] || { echo "bench-process: needs GNU time at /usr/bin/time" >&2; exit 2; }
command -v python3 >/dev/null || { echo "bench-process: needs python3" >&2; exit 2; }
if [ "${PPROF:-0}" = 1 ]; then command -v perf >/dev/null || { echo "bench-process: PPROF=1 needs perf" >&2; exit 2; }; fi
export CGO_CFLAGS="${CGO_CFLAGS:--O2 -g -Wno-deprecated-declarations}"

work=$(mktemp -d "${TMPDIR:-/tmp}/bench-process.XXXXXX")
engine_pid=""
cleanup() {
	if [ -n "$engine_pid" ]; then kill "$engine_pid" 2>/dev/null || true; fi
	if [ "${KEEP:-0}" = 1 ] || [ "${PPROF:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

if [ -n "${BENCH:-}" ]; then
	cp "$BENCH" "$work/bench"
else
	go build -o "$work/bench" ./examples/bench
fi
if [ -n "${BASELINE:-}" ]; then
	cp "$BASELINE" "$work/bench-baseline"
fi
go build -o "$work/fakeengine" ./examples/fakeengine
"$work/bench" keygen "$work/cosign.key" >/dev/null
# A copy of the demo envelope, read with --no-verify.
cp "$SOURCE" "$work/source.json"

# one_run BENCH DIR C [perf]: engine up, bench under time (or perf), engine down.
one_run() {
	local bench=$1 dir=$2 c=$3 mode=${4:-}
	mkdir -p "$dir"
	cut -d' ' -f1 /proc/loadavg >"$dir/load.txt"
	"$work/fakeengine" "${ENGINE[@]}" --records "$dir/engine.jsonl" >"$dir/engine.out" 2>"$dir/engine.err" &
	engine_pid=$!
	for _ in $(seq 100); do
		grep -q '^listening on ' "$dir/engine.out" 2>/dev/null && break
		sleep 0.1
	done
	local url
	url=$(sed -n 's/^listening on //p' "$dir/engine.out")
	[ -n "$url" ] || { echo "bench-process: fakeengine did not start:" >&2; cat "$dir/engine.err" >&2; exit 1; }
	local cmd=(env ${BENCH_ENV:-} "$bench" profile "$work/source.json" --no-verify --base-url "$url/v1"
		--concurrency "$c" --duration "$DURATION" --grace "$GRACE"
		--dev-key "$work/cosign.key" --output "$dir/out" --quiet)
	local status=0
	if [ "$mode" = perf ]; then
		perf record -F 999 -g -o "$dir/perf.data" -- "${cmd[@]}" >"$dir/bench.out" 2>"$dir/bench.err" || status=$?
	else
		/usr/bin/time -v -o "$dir/time.txt" "${cmd[@]}" >"$dir/bench.out" 2>"$dir/bench.err" || status=$?
	fi
	# The engine's CPU (user+sys clock ticks), then its end and its records.
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$engine_pid/stat" >"$dir/engine-cpu.txt"
	kill -TERM "$engine_pid"
	wait "$engine_pid" || true
	engine_pid=""
	if [ "$status" != 0 ]; then
		echo "bench-process: bench profile exited $status (c=$c):" >&2
		cat "$dir/bench.err" >&2
		exit 1
	fi
}

echo "machine: $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(go version | cut -d' ' -f3-); load at start:$(cut -d' ' -f1-3 /proc/loadavg)"
runs=()
for c in $CONCURRENCY; do
	for r in $(seq "$REPEAT"); do
		if [ -z "${BASELINE:-}" ]; then
			one_run "$work/bench" "$work/c$c-r$r" "$c"
			runs+=("measured:$c:$work/c$c-r$r")
			continue
		fi
		# Interleaved, in ABBA order, so that a drift in the machine's
		# load touches both alike.
		order=(baseline measured)
		if [ $((r % 2)) = 0 ]; then order=(measured baseline); fi
		for label in "${order[@]}"; do
			bin="$work/bench"
			if [ "$label" = baseline ]; then bin="$work/bench-baseline"; fi
			one_run "$bin" "$work/$label-c$c-r$r" "$c"
			runs+=("$label:$c:$work/$label-c$c-r$r")
		done
	done
	if [ "${PPROF:-0}" = 1 ]; then
		one_run "$work/bench" "$work/c$c-perf" "$c" perf
		echo "== perf: bench profile at c=$c ($work/c$c-perf/perf.data) =="
		perf report -i "$work/c$c-perf/perf.data" --stdio --no-children --sort dso,sym >"$work/c$c-perf/report.txt" 2>/dev/null || true
		grep -E '^ +[0-9]' "$work/c$c-perf/report.txt" | head -40 || true
		echo
	fi
done

echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${runs[@]}" <<'EOF'
import glob, json, re, statistics, sys

def pct(v, q):
    # linear interpolation between closest ranks, as numpy's default
    s = sorted(v)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q / 100
    i = int(k)
    j = min(i + 1, len(s) - 1)
    return s[i] + (s[j] - s[i]) * (k - i)

def gnu_time(path):
    t = open(path).read()
    def field(name):
        m = re.search(re.escape(name) + r": *([0-9.:]+)", t)
        return m.group(1) if m else "0"
    return float(field("User time (seconds)")), float(field("System time (seconds)")), int(field("Maximum resident set size (kbytes)"))

rows = []
for arg in sys.argv[1:]:
    label, c, d = arg.split(":", 2)
    user, sys_, rss = gnu_time(d + "/time.txt")
    ecpu = float(open(d + "/engine-cpu.txt").read())
    engine = {}
    opened = set()  # the engine's seq of each connection's first request
    seen = set()
    for rec in sorted((json.loads(line) for line in open(d + "/engine.jsonl")), key=lambda r: r["seq"]):
        if rec.get("remote_addr") not in seen:
            seen.add(rec.get("remote_addr"))
            opened.add(rec["seq"])
        rid = rec.get("request_id", "")
        if rid:
            engine[int(rid.rsplit("-", 1)[1])] = rec
    trace = glob.glob(d + "/out/*.requests.jsonl")
    if len(trace) != 1:
        sys.exit("bench-process: expected one trace in %s/out, found %d" % (d, len(trace)))
    tokens = requests = ok = 0
    cli, eng, diff, reused = [], [], [], []
    for line in open(trace[0]):
        r = json.loads(line)
        requests += 1
        tokens += len(r.get("chunks") or [])
        if r["outcome"] != "ok":
            continue
        ok += 1
        e = engine.get(r["index"])
        if r.get("warmup") or e is None or "first_token_ns" not in r or "first_token_ns" not in e:
            continue
        ct = (r["first_token_ns"] - r["sent_ns"]) / 1e6
        et = (e["first_token_ns"] - e["arrival_ns"]) / 1e6
        cli.append(ct); eng.append(et); diff.append(ct - et)
        if e["seq"] not in opened:
            reused.append(ct - et)
    cpu = user + sys_
    rows.append(dict(label=label, load=float(open(d + "/load.txt").read()), c=int(c), requests=requests, ok=ok, matched=len(diff), tokens=tokens,
        cpu=cpu, us_tok=cpu / tokens * 1e6 if tokens else float("nan"), rss=rss / 1024,
        diff50=pct(diff, 50), diff99=pct(diff, 99), reused99=pct(reused, 99),
        err50=pct(cli, 50) - pct(eng, 50), err99=pct(cli, 99) - pct(eng, 99),
        eng50=pct(eng, 50), eng99=pct(eng, 99), ecpu=ecpu))

cols = [("label", "bench", 8, 0), ("load", "load", 5, 1), ("c", "c", 4, 0), ("requests", "requests", 8, 0), ("ok", "ok", 6, 0),
    ("tokens", "tokens", 7, 0), ("cpu", "cpu s", 6, 2), ("us_tok", "us/tok", 6, 2), ("rss", "RSS MiB", 7, 1),
    ("diff50", "d p50", 6, 2), ("diff99", "d p99", 6, 2), ("reused99", "dr p99", 6, 2),
    ("err50", "e p50", 6, 2), ("err99", "e p99", 6, 2),
    ("eng50", "eng p50", 7, 2), ("eng99", "eng p99", 7, 2), ("ecpu", "eng cpu", 7, 2)]

def line(vals):
    return "  ".join(("%*.*f" % (w, p, v)) if not isinstance(v, str) else "%*s" % (w, v)
                     for (_, _, w, p), v in zip(cols, vals))

header = line([h for _, h, _, _ in cols])
print("bench profile, whole process: CPU = user+sys of the bench process; TTFT error in ms:")
print("d = percentile of (client TTFT - engine TTFT) per request; dr = the same without each connection's first")
print("request (whose client TTFT includes the TCP connect); e = client percentile - engine percentile")
print(header)
for r in rows:
    print(line([r[k] for k, _, _, _ in cols]))
print()
groups = sorted({(r["c"], r["label"]) for r in rows})
print("median over %d repeats:" % (len(rows) // len(groups)))
print(header)
for c, label in groups:
    sel = [r for r in rows if r["c"] == c and r["label"] == label]
    print(line([label] + [statistics.median(r[k] for r in sel) for k, _, _, _ in cols[1:]]))
EOF
