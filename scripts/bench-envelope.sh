#!/usr/bin/env bash
# Benchmarks of the envelope hot path (parse, canonicalize, hash) on a real
# reference envelope. Numbers are recorded in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
go test -run '^$' -bench 'Parse|ContentHash' -benchmem -count "${COUNT:-5}" ./envelope
