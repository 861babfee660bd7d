#!/usr/bin/env bash
# gpu-check.sh: prepares the device check for a machine with a real NVIDIA
# GPU, which has no Go toolchain, no package registry and no network. This
# half runs here: it builds bench and nvmlprobe (cgo, for the NVML leaf,
# stripped) and gathers everything the device needs into the git-ignored
# folder .gpu-check/:
#
#   bench, nvmlprobe       linux/amd64, dynamically linked against libc.so.6
#                          only; libnvidia-ml.so.1 is dlopened at run time, so
#                          a machine without it gets "GPU telemetry unavailable"
#   run.sh                 the device half (scripts/gpu-check/device.sh)
#   server.py, summary.py  the GPU-backed engine and the printed summary
#   source.json, MODEL     the bundled source envelope and its model id
#   BUILD.txt              commit, toolchain, checksums, dynamic dependencies
#
# Then call the device tool with carry [".gpu-check"], the command
# `bash .gpu-check/run.sh` and timeout_s 240 (docs/BENCHMARKS.md, "On a real
# GPU", says what it prints and records the runs).
#
# Usage:
#   scripts/gpu-check.sh              build .gpu-check/
#   scripts/gpu-check.sh --try [DIR]  build, then run the device half here the
#                                     way the GPU machine would: PATH holds only
#                                     the standard tools try_here lists (no Go,
#                                     no curl), output in DIR (default a temp dir);
#                                     DURATION, PORT, CONCURRENCY and
#                                     GPU_CHECK_BUDGET pass through
#   scripts/gpu-check.sh --rerun [DIR] the same with the binaries built before
#                                     (the scripts are copied afresh)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=.gpu-check
src=examples/bench/demodata/2026-06-13-llm-h100_c16-b91875fdf860.json
max_bytes=$((60 << 20)) # the device tool carries 64 MiB with the working tree

mode=build
case "${1:-}" in
--try) mode=try; tryout=${2:-} ;;
--rerun) mode=rerun; tryout=${2:-} ;;
"") ;;
*) echo "usage: scripts/gpu-check.sh [--try [DIR] | --rerun [DIR]]" >&2; exit 2 ;;
esac

# try_here runs the device half here the way the GPU machine would: PATH
# holds only the standard tools the GPU machine has (no go, no curl, no
# wget), and the environment is empty but for a few settings.
try_here() {
	local tools t p status pass=() v
	tools=$(mktemp -d)
	for t in bash sh env cat cp mv rm mkdir mktemp ls date sleep timeout tee head tail uname id nproc \
		grep sed cut tr sort wc du stat dirname basename readlink kill ps python3 ldd ldconfig nvidia-smi; do
		p=$(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin command -v "$t" 2>/dev/null) || continue
		case $p in */go/*) continue ;; esac
		ln -s "$p" "$tools/$t"
	done
	for v in DURATION PORT CONCURRENCY GPU_CHECK_BUDGET; do [ -n "${!v:-}" ] && pass+=("$v=${!v}"); done
	echo "running the device half here with PATH=$tools (no go, no curl):"
	set +e
	env -i HOME="$HOME" LANG=C.UTF-8 PATH="$tools" "${pass[@]}" "$tools/bash" "$dir/run.sh" ${tryout:+"$tryout"}
	status=$?
	rm -rf "$tools"
	exit $status
}
if [ "$mode" = rerun ]; then
	[ -x "$dir/bench" ] || { echo "gpu-check.sh: no $dir/bench: build first (scripts/gpu-check.sh)" >&2; exit 1; }
	cp scripts/gpu-check/device.sh "$dir/run.sh"
	cp scripts/gpu-check/server.py scripts/gpu-check/summary.py "$dir/"
	echo "rerun: the binaries of $(sed -n 1p "$dir/BUILD.txt"); run.sh, server.py and summary.py copied afresh"
	try_here
fi

if [ "$(go env GOHOSTARCH)" != amd64 ] || [ "$(go env GOHOSTOS)" != linux ]; then
	echo "gpu-check.sh: this machine is $(go env GOHOSTOS)/$(go env GOHOSTARCH); the GPU machine is linux/amd64 and the build needs cgo: build on a linux/amd64 machine" >&2
	exit 1
fi
export CGO_ENABLED=1 GOOS=linux GOARCH=amd64
export CGO_CFLAGS="-O2 -g -Wno-deprecated-declarations"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "building bench and nvmlprobe (cgo, stripped) ..."
go build -trimpath -ldflags="-s -w" -o "$tmp/bench" ./examples/bench
go build -trimpath -ldflags="-s -w" -o "$tmp/nvmlprobe" ./scripts/gpu-check/nvmlprobe

# The binaries must be cgo builds (else NVML is a stub) and need nothing at
# load time but glibc: sampler/nvml dlopens libnvidia-ml.so.1 when NVML opens.
for b in bench nvmlprobe; do
	go version -m "$tmp/$b" | grep -q 'CGO_ENABLED=1' || { echo "gpu-check.sh: $b was built without cgo" >&2; exit 1; }
	needed=$(readelf -d "$tmp/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | sort | tr '\n' ' ')
	for lib in $needed; do
		case $lib in
		libc.so.6 | libpthread.so.0 | libdl.so.2 | libm.so.6) ;;
		*) echo "gpu-check.sh: $b needs $lib at load time; only glibc may be needed" >&2; exit 1 ;;
		esac
	done
	[ -n "$needed" ] || { echo "gpu-check.sh: $b is not dynamically linked (a static cgo binary cannot dlopen NVML)" >&2; exit 1; }
done

cp scripts/gpu-check/device.sh "$tmp/run.sh"
cp scripts/gpu-check/server.py scripts/gpu-check/summary.py "$tmp/"
cp "$src" "$tmp/source.json"
python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model"]["id"])' "$src" >"$tmp/MODEL"
{
	echo "gpu-check build $(date -u +%FT%TZ) on $(uname -n)"
	echo "commit $(git rev-parse HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD 2>/dev/null || echo ' (working tree modified)')"
	echo "$(go version); CGO_ENABLED=1; -trimpath -ldflags='-s -w'"
	for b in bench nvmlprobe; do
		echo "$b: $(stat -c %s "$tmp/$b") bytes, sha256 $(sha256sum "$tmp/$b" | cut -d' ' -f1)"
		echo "  NEEDED: $(readelf -d "$tmp/$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
		echo "  newest glibc symbol version: $(readelf -V "$tmp/$b" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -1)"
	done
	echo "source envelope: $src"
} >"$tmp/BUILD.txt"
size=$(du -sb "$tmp" | cut -f1)
if [ "$size" -gt "$max_bytes" ]; then
	echo "gpu-check.sh: $dir would be $size bytes; the device tool carries 64 MiB with the working tree" >&2
	exit 1
fi
rm -rf "$dir"
mv "$tmp" "$dir"
trap - EXIT
chmod 755 "$dir"
cat "$dir/BUILD.txt"
echo "$dir: $((size >> 20)) MiB"
echo
echo "device tool call: run with carry [\"$dir\"], command \"bash $dir/run.sh\", timeout_s 240"

[ "$mode" = try ] || exit 0

echo
try_here
