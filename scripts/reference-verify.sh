#!/usr/bin/env bash
# Checks that the reference's own verifier accepts what benchprof signs.
#
#   REFERENCE=/path/to/yobitelcomm/bench scripts/reference-verify.sh
#
# REFERENCE is a checkout of the reference implementation (its
# envelope/src/inferencebench/envelope package is used as it is; nothing is
# installed). Needs python3 (3.11 or later) with pydantic 2 and cryptography,
# and Go. The script builds bench and fakeengine, starts the fake engine on
# loopback, makes a dev key, then signs four kinds of envelope with it:
#
#   - a run from nothing (bench run),
#   - a profile of that run (bench profile),
#   - a two-point sweep of it (bench profile --sweep 1,4), one envelope a point,
#
# and verifies every one with the reference's verify_envelope(envelope,
# dev_public_key_path=cosign.pub), after parsing it with the reference's
# pydantic Envelope model; as a control, it changes one metric of the
# profile envelope and checks that the same verifier refuses it. It prints
# one line per envelope and exits 1 if any fails or the control is
# accepted. Result recorded in docs/BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${REFERENCE:?set REFERENCE to a checkout of the reference (yobitelcomm/bench)}"
pkg="$REFERENCE/envelope/src"
[ -f "$pkg/inferencebench/envelope/verify.py" ] || { echo "reference-verify: $pkg/inferencebench/envelope/verify.py not found: is REFERENCE a checkout of yobitelcomm/bench?" >&2; exit 2; }
python3 -c 'import pydantic, cryptography' || { echo "reference-verify: python3 needs pydantic and cryptography" >&2; exit 2; }

work=$(mktemp -d)
engine=
cleanup() { [ -n "$engine" ] && kill "$engine" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/bench" ./examples/bench
go build -o "$work/fakeengine" ./examples/fakeengine
model=meta-llama/Llama-3.1-8B-Instruct
"$work/fakeengine" --model "$model" --ttft 20ms --itl 2ms --tokens 32 >"$work/engine.out" 2>"$work/engine.err" &
engine=$!
for _ in $(seq 50); do [ -s "$work/engine.out" ] && break; sleep 0.1; done
url="$(sed 's/^listening on //' "$work/engine.out")/v1"

cd "$work"
# bench's output (warnings about the telemetry this machine lacks, …) goes
# to bench.log, shown if a command fails.
b() { ./bench "$@" >>bench.log 2>&1 || { cat bench.log >&2; echo "reference-verify: bench $1 failed" >&2; exit 1; }; }
b keygen cosign.key
common=(--idle 0 --quiet)
b run --suite llm.inference.chatbot-short --model "$model" --engine vllm --base-url "$url" \
	--duration 5 --grace 5 --output fresh "${common[@]}"
src=$(ls fresh/*.json)
b profile "$src" --trusted-key cosign.pub --base-url "$url" --duration 5 --grace 5 --output prof "${common[@]}"
b profile "$src" --trusted-key cosign.pub --base-url "$url" --duration 3 --grace 3 --sweep 1,4 --output sweep "${common[@]}"
envelopes=("$src" prof/profile-*.json $(ls sweep/profile-c*-*.json))

PYTHONPATH="$pkg" python3 - cosign.pub "${envelopes[@]}" <<'PY'
import sys
from pathlib import Path

from inferencebench.envelope.models import Envelope
from inferencebench.envelope.verify import verify_envelope

key, files = Path(sys.argv[1]), sys.argv[2:]
failed = 0
for f in files:
    env = Envelope.model_validate_json(Path(f).read_text())
    r = verify_envelope(env, dev_public_key_path=key)
    print(f"{'OK  ' if r.ok else 'FAIL'} {f}" + ("" if r.ok else f": {r.reason}"))
    failed += not r.ok
print(f"{len(files) - failed} of {len(files)} envelopes verified by the reference's verify_envelope")

# The control: the same verifier must refuse a signed envelope whose
# measurement was changed after signing.
import json

doc = json.loads(Path(files[1]).read_text())
name = next(k for k, v in doc["metrics"].items() if isinstance(v, (int, float)) and not isinstance(v, bool))
doc["metrics"][name] = doc["metrics"][name] * 2 + 1
r = verify_envelope(Envelope.model_validate(doc), dev_public_key_path=key)
print(f"control: {files[1]} with metrics.{name} changed: {'accepted (WRONG)' if r.ok else 'refused'}")
sys.exit(1 if failed or r.ok else 0)
PY
