#!/usr/bin/env bash
# gpu-check.sh: the device check for a machine with a real NVIDIA GPU.
# Builds the CLI, starts a small GPU-backed OpenAI-compatible server
# (scripts/gpu-check/server.py: a random transformer, no downloads), profiles
# it for 20 s with real NVML (and RAPL where readable), and prints the sample
# count, the achieved NVML interval p99, the counter-vs-integral energy ratio
# and the three tables. Finishes in well under 5 minutes.
#
# Usage: scripts/gpu-check.sh [OUTDIR]   (OUTDIR defaults to $OUT or a temp dir)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-${OUT:-$(mktemp -d)}}
mkdir -p "$out"

nvidia-smi --query-gpu=name,driver_version,power.draw --format=csv,noheader || echo "nvidia-smi not available"
go build -o "$out/bench" ./examples/bench

src=examples/bench/demodata/2026-06-13-llm-h100_c16-b91875fdf860.json
model=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["id"])' "$src")
port=${PORT:-8077}
MODEL="$model" PORT="$port" python3 scripts/gpu-check/server.py 2>"$out/server.log" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
	curl -sf "http://127.0.0.1:$port/v1/models" >/dev/null 2>&1 && break
	sleep 0.5
done
"$out/bench" keygen "$out/cosign.key" >/dev/null

set +e
"$out/bench" profile "$src" --base-url "http://127.0.0.1:$port/v1" --duration "${DURATION:-20}" \
	--dev-key "$out/cosign.key" --output "$out/results" --concurrency "${CONCURRENCY:-8}" | tee "$out/profile.txt"
status=${PIPESTATUS[0]}
set -e
env_file=$(ls "$out"/results/profile-*.json 2>/dev/null | head -1 || true)
if [ -n "$env_file" ]; then
	python3 - "$env_file" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))["metrics"]
keys = ["nvml_sample_count", "nvml_interval_p99_ms", "measure_window_s", "energy_joules_gpu",
        "energy_joules_gpu_integral", "energy_gpu_integral_to_counter_ratio", "power_avg_w",
        "gpu_util_avg_pct", "energy_joules_cpu_dram", "rapl_sample_count", "ttft_p50_ms", "throughput_tok_per_s"]
print("\n== gpu-check figures ==")
for k in keys:
    print("%-40s %s" % (k, m.get(k, "absent")))
PY
	"$out/bench" verify "$env_file" --key "$out/cosign.pub" || status=1
fi
exit "$status"
