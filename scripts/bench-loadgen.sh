#!/usr/bin/env bash
# Load-generator accuracy and throughput benchmarks (numbers in docs/BENCHMARKS.md).
#  - TTFT accuracy: client-measured TTFT vs the fake engine's own first-token
#    flush times (TTFT 40 ms, ITL 5 ms), concurrency 1, 32, 256, 10 s each.
#  - Stream throughput: streamed tokens/s from a zero-delay engine in another
#    process, client on one core, and client CPU time per token.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'TTFTAccuracy|StreamThroughput' -benchtime 1x ./loadgen
