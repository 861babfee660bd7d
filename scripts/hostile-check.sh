#!/usr/bin/env bash
# Whole-process acceptance of `bench profile` against hostile engines
# (docs/HOSTILE.md). Builds bench and fakeengine, then for every behaviour
# starts fakeengine as its own process and runs
#
#   /usr/bin/time -v bench profile <bundled envelope> --no-verify \
#       --base-url URL/v1 --concurrency 256 --duration $DURATION --grace $GRACE ...
#
# against it, and prints one row per behaviour: exit status (and the one
# expected), peak RSS, wall time against duration + grace, and the requests
# of the per-request trace by outcome. Exits 1 if any run's peak RSS reaches
# MAX_RSS_MIB, takes longer than duration + grace + SLACK seconds, exits
# with another status than expected, or if the redirect's other origin saw
# a request. Needs Linux, GNU time (/usr/bin/time) and Go.
#
# Environment: DURATION (10), GRACE (5), SLACK (5), MAX_RSS_MIB (200),
# ONLY (a regular expression: run only the behaviours it matches),
# KEEP=1 keeps the work directory.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10}
GRACE=${GRACE:-5}
SLACK=${SLACK:-5}
MAX_RSS_MIB=${MAX_RSS_MIB:-200}
ONLY=${ONLY:-.}
CONCURRENCY=256
SOURCE=examples/bench/demodata/2026-06-13-llm-h100_c16-b91875fdf860.json
# Every engine answers like a modest real one: 50 ms to the first token,
# 10 ms per token, 8 tokens (the suite's max_tokens is 128).
ENGINE=(--ttft 50ms --itl 10ms --tokens 8)

[ -x /usr/bin/time ] || { echo "hostile-check: needs GNU time at /usr/bin/time" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hostile-check.XXXXXX")
engine_pid=""
cleanup() {
	if [ -n "$engine_pid" ]; then kill "$engine_pid" 2>/dev/null || true; fi
	if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

go build -o "$work/bench" ./examples/bench
go build -o "$work/fakeengine" ./examples/fakeengine
"$work/bench" keygen "$work/cosign.key" >/dev/null

# A dataset whose first three prompts, those of the warmup requests, start
# with "warmup ": with --healthy-prefix the engine serves them healthy and
# turns hostile after the warmup (1.5 % of the load stays healthy).
for i in $(seq 0 199); do
	if [ "$i" -lt 3 ]; then
		printf '{"prompt":"warmup %d: say hello"}\n' "$i"
	else
		printf '{"prompt":"prompt %d: tell me a short story about a lighthouse keeper"}\n' "$i"
	fi
done >"$work/warmup-first.jsonl"

# name | expected exit | fakeengine fault flags | extra bench flags
behaviours=(
	"usage 9223372036854775807|0|--fault huge-usage --usage 9223372036854775807|"
	"usage 1e9|0|--fault huge-usage --usage 1e9|"
	"usage 100000|0|--fault huge-usage --usage 100000|"
	"usage -5|0|--fault huge-usage --usage -5|"
	"usage 1e400|0|--fault huge-usage --usage 1e400|"
	"unterminated|1|--fault unterminated|"
	"giant-chunk 15 MiB|1|--fault giant-chunk|"
	"endless|1|--fault endless|"
	"http500|1|--fault http500|"
	"redirect|1|--fault redirect --api-key hostile-check-key|--api-key-env HOSTILE_CHECK_KEY"
	"stall|1|--fault stall|"
	"unterminated after warmup|1|--fault unterminated --healthy-prefix warmup|--dataset file://$work/warmup-first.jsonl"
	"giant-chunk after warmup|1|--fault giant-chunk --healthy-prefix warmup|--dataset file://$work/warmup-first.jsonl"
	"endless after warmup|1|--fault endless --healthy-prefix warmup|--dataset file://$work/warmup-first.jsonl"
)
export HOSTILE_CHECK_KEY=hostile-check-key

limit=$((DURATION + GRACE + SLACK))
failed=0
printf '%-28s %-9s %9s %-15s %-10s %s\n' behaviour "exit/want" "RSS MiB" "wall s / d+g" envelope "trace outcomes"
for b in "${behaviours[@]}"; do
	IFS='|' read -r name want fault extra <<<"$b"
	[[ $name =~ $ONLY ]] || continue
	slug=$(tr -c 'a-zA-Z0-9\n' '-' <<<"$name")
	dir="$work/$slug"
	mkdir -p "$dir"
	# shellcheck disable=SC2086 # the flags are words
	"$work/fakeengine" "${ENGINE[@]}" $fault >"$dir/engine.out" 2>"$dir/engine.err" &
	engine_pid=$!
	for _ in $(seq 100); do
		grep -q '^listening on ' "$dir/engine.out" 2>/dev/null && break
		sleep 0.1
	done
	url=$(sed -n 's/^listening on //p' "$dir/engine.out")
	[ -n "$url" ] || { echo "hostile-check: fakeengine did not start for $name:" >&2; cat "$dir/engine.err" >&2; exit 1; }

	start=$(date +%s.%N)
	status=0
	# shellcheck disable=SC2086
	/usr/bin/time -v -o "$dir/time.txt" "$work/bench" profile "$SOURCE" --no-verify --base-url "$url/v1" \
		--concurrency "$CONCURRENCY" --duration "$DURATION" --grace "$GRACE" \
		--dev-key "$work/cosign.key" --output "$dir/out" --quiet $extra >"$dir/bench.out" 2>"$dir/bench.err" || status=$?
	end=$(date +%s.%N)

	kill -TERM "$engine_pid"
	wait "$engine_pid" || true
	engine_pid=""

	rss_kib=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$dir/time.txt")
	rss_mib=$(awk -v k="$rss_kib" 'BEGIN { printf "%.1f", k / 1024 }')
	wall=$(awk -v s="$start" -v e="$end" 'BEGIN { printf "%.1f", e - s }')
	outcomes=$(cat "$dir"/out/*.requests.jsonl 2>/dev/null | grep -o '"outcome":"[a-z_]*"' | cut -d'"' -f4 | sort | uniq -c |
		awk '{ printf "%s%s %s", sep, $2, $1; sep = ", " }')
	envelope=none
	if compgen -G "$dir/out/profile-*.json" >/dev/null; then
		envelope=written
		if ! "$work/bench" verify "$dir"/out/profile-*.json >"$dir/verify.out" 2>&1; then
			envelope="NOT VERIFIED"
			failed=1
		fi
	fi

	verdict=""
	if [ "$status" != "$want" ]; then verdict+=" EXIT"; fi
	if awk -v r="$rss_kib" -v m="$MAX_RSS_MIB" 'BEGIN { exit !(r >= m * 1024) }'; then verdict+=" RSS"; fi
	if awk -v w="$wall" -v l="$limit" 'BEGIN { exit !(w > l) }'; then verdict+=" WALL"; fi
	if [[ $name == redirect* ]] && ! grep -q 'saw 0 requests, 0 with an Authorization header' "$dir/engine.err"; then verdict+=" LEAK"; fi
	[ -z "$verdict" ] || failed=1
	printf '%-28s %-9s %9s %-15s %-10s %s%s\n' "$name" "$status/$want" "$rss_mib" "$wall / $((DURATION + GRACE))" "$envelope" "${outcomes:-no trace}" "${verdict:+  FAIL:$verdict}"
done

echo
echo "limits: peak RSS < $MAX_RSS_MIB MiB; wall <= duration + grace + $SLACK s = $limit s; concurrency $CONCURRENCY"
if [ "$failed" != 0 ]; then
	echo "hostile-check: FAILED (KEEP=1 keeps the outputs)" >&2
	exit 1
fi
echo "hostile-check: ok"
