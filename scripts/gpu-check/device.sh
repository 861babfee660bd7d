#!/usr/bin/env bash
# The device half of the GPU check. scripts/gpu-check.sh copies it to
# .gpu-check/run.sh beside everything it needs (bench and nvmlprobe built
# with cgo, server.py, summary.py, the source envelope, BUILD.txt); the GPU
# machine runs it from the repository root with that folder carried:
#
#   bash .gpu-check/run.sh            (writes to $OUT, or OUTDIR if given)
#
# It needs nothing but that folder, bash, python3 and coreutils: no Go, no
# curl, no network. Steps: environment and loader check, nvidia-smi, an NVML
# probe with the GPU idle and the NVML calls timed, the GPU-backed server (falls back to sleeping
# without torch/CUDA), a second idle probe and timing with the server loaded, a
# $DURATION s profile (default 20) with real NVML (and RAPL where readable),
# verification of the new envelope, the summary. Every step runs whatever
# failed before it; the summary lists the failed ones. The exit status is
# bench profile's (1 if it wrote no envelope): only the profile failing
# fails the check. Under 2 minutes when every step works; each step has its
# own time limit, the sum under 4 minutes.
#
# $OUT receives at most 8 files (the device tool brings back 8): gpu-check.log
# (everything printed), summary.json, profile.json (bench profile --json),
# the envelope, the timeline CSV and HTML, the request trace, and
# extras.tar.gz (server log, bench stderr, probe JSON, nvidia-smi -q, the
# public key, BUILD.txt).
set -u -o pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${OUT:-}}
if [ -z "$out" ]; then out=$(mktemp -d /tmp/gpu-check-out.XXXXXX); fi
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/gpu-check.XXXXXX)
exec > >(tee -a "$out/gpu-check.log") 2>&1
export PYTHONUNBUFFERED=1 here work
export duration=${DURATION:-20} port=${PORT:-8077} concurrency=${CONCURRENCY:-8}
# Every step but the summary ends by this deadline, whatever hangs: the
# device call's timeout_s (240) leaves the summary and the copy to $OUT time.
deadline=$(($(date +%s) + ${GPU_CHECK_BUDGET:-190}))
: >"$work/steps.tsv"

# step NAME LIMIT_S CMD...: run CMD (a command or one of the functions
# below, all exported) with a time limit, cut to what is left before the
# deadline, and record its status and time. Status 124 or 137: it ran
# past its limit; 125: skipped, no time left.
step() {
	local name=$1 limit=$2 t0 t1 rc left
	shift 2
	if [ "$name" = summary ]; then left=$limit; else left=$((deadline - $(date +%s))); fi
	echo
	echo "== $name"
	[ "$limit" -gt "$left" ] && limit=$left
	if [ "$limit" -le 0 ]; then
		echo "gpu-check: step $name skipped: the check's time budget is spent"
		printf '%s\t125\t0.0\n' "$name" >>"$work/steps.tsv"
		return 125
	fi
	t0=$(date +%s%6N)
	timeout -k 5 "$limit" bash -c '"$@"' "$name" "$@"
	rc=$?
	t1=$(date +%s%6N)
	printf '%s\t%s\t%d.%d\n' "$name" "$rc" $(((t1 - t0) / 1000000)) $(((t1 - t0) / 100000 % 10)) >>"$work/steps.tsv"
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then echo "gpu-check: step $name ran past its ${limit}s limit"; fi
	if [ "$rc" != 0 ]; then echo "gpu-check: step $name failed (status $rc)"; fi
	return "$rc"
}

stop_server() {
	local pid
	pid=$(cat "$work/server.pid" 2>/dev/null) || return 0
	kill "$pid" 2>/dev/null
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
	kill -9 "$pid" 2>/dev/null
}

collect() {
	stop_server
	local f
	for f in profile.json summary.json; do [ -f "$work/$f" ] && cp "$work/$f" "$out/"; done
	for f in "$work"/results/profile-*.json "$work"/results/*.timeline.csv "$work"/results/*.timeline.html "$work"/results/*.requests.jsonl; do
		[ -f "$f" ] || continue
		if [ "$(stat -c %s "$f")" -gt $((15 << 20)) ]; then # the device tool returns files of up to 16 MiB
			python3 -c 'import gzip,shutil,sys; shutil.copyfileobj(open(sys.argv[1],"rb"), gzip.open(sys.argv[2],"wb"))' "$f" "$out/$(basename "$f").gz"
		else
			cp "$f" "$out/"
		fi
	done
	cp "$here/BUILD.txt" "$work/" 2>/dev/null
	(cd "$work" && python3 -m tarfile -c "$out/extras.tar.gz" $(ls server*.log bench.stderr probe-*.json nvidia-smi-q.txt cosign.pub BUILD.txt steps.tsv 2>/dev/null)) ||
		echo "gpu-check: extras.tar.gz not written"
}
trap collect EXIT

echo "gpu-check device half: $(date -u +%FT%TZ) in $(pwd); output in $out; work in $work"

env_info() {
	cat "$here/BUILD.txt"
	uname -a
	echo "user $(id -u), $(nproc) CPUs; $(grep -m1 PRETTY_NAME /etc/os-release 2>/dev/null)"
	echo "glibc: $(ldd --version 2>/dev/null | head -1)"
	echo "python3: $(command -v python3) $(python3 --version 2>&1)"
	echo "go on PATH: $(command -v go || echo none)   curl on PATH: $(command -v curl || echo none)"
}
export -f env_info
step environment 15 env_info

# sampler/nvml dlopens libnvidia-ml.so.1 at run time; where the loader's cache
# lacks it (a container that mounts the driver elsewhere), point
# LD_LIBRARY_PATH at the driver's folder. The CUDA toolkit's stubs are not
# the library and are never used.
find_nvml() {
	if ldconfig -p 2>/dev/null | grep -q 'libnvidia-ml\.so\.1 '; then
		echo "libnvidia-ml.so.1 is in the loader's cache: $(ldconfig -p | grep -m1 'libnvidia-ml\.so\.1 ')"
		return 0
	fi
	local d
	for d in ${LD_LIBRARY_PATH:+${LD_LIBRARY_PATH//:/ }} /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib/wsl/lib; do
		if [ -e "$d/libnvidia-ml.so.1" ]; then
			echo "libnvidia-ml.so.1 found in $d (not in the loader's cache): LD_LIBRARY_PATH gets it"
			echo "$d" >"$work/nvml-dir"
			return 0
		fi
	done
	echo "libnvidia-ml.so.1 not found: NVML will report itself unavailable"
	return 1
}
export -f find_nvml
step nvml-library 15 find_nvml
if [ -s "$work/nvml-dir" ]; then export LD_LIBRARY_PATH="$(cat "$work/nvml-dir")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi

loader() {
	if command -v ldd >/dev/null; then ldd "$here/bench"; fi
	"$here/bench" --version
}
export -f loader
step loader 15 loader

smi() {
	nvidia-smi --query-gpu=index,name,driver_version,pstate,power.draw,power.limit,clocks.sm,memory.used --format=csv || return
	nvidia-smi -q >"$work/nvidia-smi-q.txt" 2>&1
	nvidia-smi --query-gpu=name,driver_version --format=csv,noheader >"$work/nvidia-smi.csv"
}
export -f smi
step nvidia-smi 30 smi

step probe-idle 30 "$here/nvmlprobe" -duration 3s -json "$work/probe-idle.json"

# How long each NVML call takes on this driver, how often power and energy
# change, and whether calls on one GPU wait for each other.
step calls-idle 45 "$here/nvmlprobe" -calls 200 -json "$work/probe-calls-idle.json"

start_server() { # $1: the server's log file
	# The python3 that has torch: the one on PATH, else the image's venv.
	local py=python3 p
	for p in python3 /opt/torch/.venv/bin/python3; do
		if "$p" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("torch") is None)' 2>/dev/null; then py=$p; break; fi
	done
	MODEL="$(cat "$here/MODEL")" PORT="$port" "$py" "$here/server.py" >"$1" 2>&1 &
	echo $! >"$work/server.pid"
	python3 - "$port" "$!" "$1" <<-'PY'
		import os, sys, time, urllib.request
		port, pid, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
		deadline = time.monotonic() + 90
		while time.monotonic() < deadline:
		    try:
		        with urllib.request.urlopen("http://127.0.0.1:%d/v1/models" % port, timeout=2) as r:
		            if r.status == 200:
		                print(next((l.strip() for l in open(log) if "gpu-check server on" in l), "server ready"))
		                sys.exit(0)
		    except OSError:
		        pass
		    try:
		        os.kill(pid, 0)
		    except OSError:
		        print("server exited before it answered; the end of its log:\n" + open(log).read()[-2000:])
		        sys.exit(1)
		    time.sleep(0.5)
		print("server did not answer within 90 s")
		sys.exit(1)
	PY
}
server_up() {
	start_server "$work/server.log" && return 0
	stop_server
	echo "gpu-check: retrying with the sleeping fallback (GPU_CHECK_CPU=1), so that the profile still runs"
	GPU_CHECK_CPU=1 start_server "$work/server-fallback.log"
}
export -f start_server server_up stop_server
step server 120 server_up

step probe-server-idle 30 "$here/nvmlprobe" -duration 3s -json "$work/probe-server.json"
step calls-server 45 "$here/nvmlprobe" -calls 200 -json "$work/probe-calls-server.json"

step keygen 15 "$here/bench" keygen "$work/cosign.key"

run_profile() {
	"$here/bench" profile "$here/source.json" --base-url "http://127.0.0.1:$port/v1" \
		--duration "$duration" --grace 10 --concurrency "$concurrency" \
		--dev-key "$work/cosign.key" --output "$work/results" --json \
		>"$work/profile.json" 2> >(tee "$work/bench.stderr" >&2)
}
export -f run_profile
left=$((deadline - $(date +%s) - 45)) # the load's grace, warmup and signing fit in 45 s
if [ "$left" -lt "$duration" ]; then
	duration=$((left < 5 ? 5 : left))
	echo "gpu-check: the time budget leaves a ${duration}s profile"
fi
step profile $((duration + 60)) run_profile
profile_rc=$?

compute_apps() {
	echo "server pid: $(cat "$work/server.pid" 2>/dev/null || echo unknown)"
	nvidia-smi --query-compute-apps=pid,process_name,used_memory --format=csv
}
export -f compute_apps
step compute-apps 15 compute_apps

envelope=$(ls "$work"/results/profile-*.json 2>/dev/null | head -1)
if [ -n "$envelope" ]; then
	step verify 15 "$here/bench" verify "$envelope" --key "$work/cosign.pub"
else
	echo "gpu-check: bench profile wrote no envelope"
	[ "$profile_rc" = 0 ] && profile_rc=1
fi

echo
step summary 30 python3 "$here/summary.py" "$work" "$profile_rc"
exit "$profile_rc"
