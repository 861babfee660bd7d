// Package hostinfo collects the host's hardware fingerprint exactly as the
// reference (InferenceBench, harness/fingerprint) does, so that the same
// host gives the same envelope.HardwareFingerprint and the same
// fingerprint_sha256, byte for byte (FACTS §1.6).
//
// [Collect] reads files under a root directory ([WithRoot], "/" by
// default), runs dmidecode, and takes the GPU inventory from the caller
// ([WithGPUs]): hostinfo does not talk to NVML; the NVML sampler package
// provides the list. Nothing needs root: what cannot be read takes the
// reference's fallback, and the Result's Warnings say so.
//
// The fields, as the reference fills them (Python's string rules — which
// characters are whitespace or line breaks, what int() accepts — are
// reproduced where they matter):
//
//   - dmi_uuid: the first line of sys/class/dmi/id/product_uuid, stripped;
//     "unknown" if the file cannot be read (it needs root), is not UTF-8,
//     or its first line is blank.
//   - gpus: the caller's GPUs in NVML index order. An empty Model becomes
//     "NVIDIA-GPU-<index>", an empty PCIID "0000:00:<index, 2 hex
//     digits>.0", an empty Serial or VBIOS "unknown"; values are stripped of
//     surrounding whitespace, and a GPU with a field still blank is left
//     out (the reference's validation drops it). The hash sorts them by
//     pci_id; the list keeps NVML order.
//   - cpu.model and cpu.microcode: the first non-empty "model name" and
//     "microcode" values of proc/cpuinfo (keys case-insensitive, values
//     stripped; the scan stops at the first blank line once both are
//     found). Without a model name (arm64 kernels print none, or the file
//     is unreadable), the model is platform.processor() — the output of
//     "uname -p", with "unknown" read as empty — else platform.machine() —
//     the machine field of uname(2) on Linux ("x86_64", "aarch64"); an
//     approximation from GOARCH elsewhere — else "unknown". A missing
//     microcode is "unknown".
//   - memory: parsed from the output of "dmidecode -t memory" (5 s
//     timeout): channels is the number of populated DIMM blocks (not
//     channels), speed_mts the largest "Configured Memory Speed: <n> MT/s"
//     (or "Speed: <n> MT/s") among them, at least 1, and ecc whether a
//     DIMM's Total Width exceeds its Data Width. The reference's quirks are
//     kept: a block mentioning "Size: None" anywhere is skipped, and since
//     dmidecode 3.2+ prints "Non-Volatile Size: None" for every DIMM on
//     SMBIOS 3.2+ hosts, those hosts count no DIMM; speeds printed in MHz
//     (dmidecode before 3.2) are not read. Without output (dmidecode
//     missing, no root, a failure or a timeout) the memory is the
//     reference's placeholder {channels 1, speed_mts 1, ecc false}.
//   - bios.version: the first line of sys/class/dmi/id/bios_version,
//     stripped, else "unknown"; resizable_bar and above_4g are always false
//     (the reference cannot read them).
//   - numa: {"nodes": [{"id", "cpus", "memory_mb"}, …]} from the entries
//     of sys/devices/system/node whose name starts with "node", that are
//     directories (symlinks followed) and whose suffix is an integer, in
//     the order of their names as strings (node10 before node2). cpus is
//     the node's cpulist expanded ("0-3,8" → 0, 1, 2, 3, 8), sorted,
//     without duplicates; memory_mb is the node meminfo's MemTotal in kB
//     floor-divided by 1024, or 0. {} when there is no such node.
//   - driver and cuda: the caller's values ([FormatCUDAVersion] formats
//     NVML's integer CUDA version as the reference does); nccl: the
//     environment variable INFERENCEBENCH_NCCL_VERSION, else "". All three
//     are stripped of surrounding whitespace.
//
// Where the reference would fail rather than record a value, Collect
// records one and warns: more than 16 populated DIMMs (the envelope allows
// 1–16 channels) are recorded as 16; a padded NCCL version is stripped
// (the reference's stored hash would no longer match its stripped fields);
// dmidecode output that is not UTF-8 gives the placeholder memory. To stay
// bounded, a cpulist range of more than 2^20 CPUs, or CPU numbers beyond
// int64, are left out with a warning (no real host has them).
//
// The reference collects the fingerprint after the benchmark, when it
// builds the envelope; callers may collect it whenever they like, but
// before the run is cheaper to fail on.
package hostinfo
