#!/usr/bin/env python3
"""Writes the fixture host trees under roots/ (run from testdata/).

roots/h100-8462y and roots/h100-8480 hold what the reference read on the two
hosts of the corpus envelopes in corpus/ (their CPU model, microcode, BIOS
version and NUMA topology, with MemTotal chosen inside the recorded
memory_mb); product_uuid is absent, as it is unreadable without root there.
roots/epyc-9654 is a one-socket AMD EPYC 9654 with "L3 cache as NUMA node"
enabled: 12 NUMA nodes, so that node10 and node11 sort before node2.
"""

import json
import os
import shutil

INTEL_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr "
    "sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc art arch_perfmon pebs bts rep_good "
    "nopl xtopology nonstop_tsc cpuid aperfmperf tsc_known_freq pni pclmulqdq dtes64 monitor ds_cpl vmx "
    "smx est tm2 ssse3 sdbg fma cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic movbe popcnt "
    "tsc_deadline_timer aes xsave avx f16c rdrand lahf_lm abm 3dnowprefetch cpuid_fault epb cat_l3 "
    "cat_l2 cdp_l3 invpcid_single intel_ppin cdp_l2 ssbd mba ibrs ibpb stibp ibrs_enhanced tpr_shadow "
    "flexpriority ept vpid ept_ad fsgsbase tsc_adjust bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a "
    "avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb intel_pt avx512cd sha_ni avx512bw "
    "avx512vl xsaveopt xsavec xgetbv1 xsaves cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local "
    "split_lock_detect avx_vnni avx512_bf16 wbnoinvd dtherm ida arat pln pts hfi vnmi avx512vbmi umip "
    "pku ospke waitpkg avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg tme "
    "avx512_vpopcntdq la57 rdpid bus_lock_detect cldemote movdiri movdir64b enqcmd fsrm md_clear "
    "serialize tsxldtrk pconfig arch_lbr ibt amx_bf16 avx512_fp16 amx_tile amx_int8 flush_l1d "
    "arch_capabilities"
)

AMD_FLAGS = (
    "fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 "
    "ht syscall nx mmxext fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good amd_lbr_v2 nopl nonstop_tsc "
    "cpuid extd_apicid aperfmperf rapl pni pclmulqdq monitor ssse3 fma cx16 pcid sse4_1 sse4_2 x2apic "
    "movbe popcnt aes xsave avx f16c rdrand lahf_lm cmp_legacy svm extapic cr8_legacy abm sse4a "
    "misalignsse 3dnowprefetch osvw ibs skinit wdt tce topoext perfctr_core perfctr_nb bpext "
    "perfctr_llc mwaitx cpb cat_l3 cdp_l3 hw_pstate ssbd mba perfmon_v2 ibrs ibpb stibp ibrs_enhanced "
    "vmmcall fsgsbase bmi1 avx2 smep bmi2 erms invpcid cqm rdt_a avx512f avx512dq rdseed adx smap "
    "avx512ifma clflushopt clwb avx512cd sha_ni avx512bw avx512vl xsaveopt xsavec xgetbv1 xsaves "
    "cqm_llc cqm_occup_llc cqm_mbm_total cqm_mbm_local avx512_bf16 clzero irperf xsaveerptr rdpru "
    "wbnoinvd amd_ppin cppc arat npt lbrv svm_lock nrip_save tsc_scale vmcb_clean flushbyasid "
    "decodeassists pausefilter pfthreshold avic v_vmsave_vmload vgif x2avic v_spec_ctrl vnmi "
    "avx512vbmi umip pku ospke avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg "
    "avx512_vpopcntdq la57 rdpid overflow_recov succor smca fsrm flush_l1d"
)


def intel_block(cpu, model, microcode, mhz, cache, siblings, cores, core_id):
    return (
        f"processor\t: {cpu}\nvendor_id\t: GenuineIntel\ncpu family\t: 6\nmodel\t\t: 143\n"
        f"model name\t: {model}\nstepping\t: 8\nmicrocode\t: {microcode}\ncpu MHz\t\t: {mhz}\n"
        f"cache size\t: {cache} KB\nphysical id\t: 0\nsiblings\t: {siblings}\ncore id\t\t: {core_id}\n"
        f"cpu cores\t: {cores}\napicid\t\t: {2 * core_id}\ninitial apicid\t: {2 * core_id}\nfpu\t\t: yes\n"
        f"fpu_exception\t: yes\ncpuid level\t: 32\nwp\t\t: yes\nflags\t\t: {INTEL_FLAGS}\n"
        "vmx flags\t: vnmi preemption_timer posted_intr invvpid ept_x_only ept_ad ept_1gb flexpriority "
        "apicv tsc_offset vtpr mtf vapic ept vpid unrestricted_guest vapic_reg vid ple shadow_vmcs pml "
        "ept_mode_based_exec tsc_scaling usr_wait_pause\n"
        "bugs\t\t: spectre_v1 spectre_v2 spec_store_bypass swapgs eibrs_pbrsb bhi\n"
        "bogomips\t: 4000.00\nclflush size\t: 64\ncache_alignment\t: 64\n"
        "address sizes\t: 46 bits physical, 57 bits virtual\npower management:\n\n"
    )


def amd_block(cpu, core_id):
    return (
        f"processor\t: {cpu}\nvendor_id\t: AuthenticAMD\ncpu family\t: 25\nmodel\t\t: 17\n"
        "model name\t: AMD EPYC 9654 96-Core Processor\nstepping\t: 1\nmicrocode\t: 0xa10113e\n"
        "cpu MHz\t\t: 2400.000\ncache size\t: 1024 KB\nphysical id\t: 0\nsiblings\t: 192\n"
        f"core id\t\t: {core_id}\ncpu cores\t: 96\napicid\t\t: {2 * core_id}\ninitial apicid\t: {2 * core_id}\n"
        "fpu\t\t: yes\nfpu_exception\t: yes\ncpuid level\t: 16\nwp\t\t: yes\n"
        f"flags\t\t: {AMD_FLAGS}\n"
        "bugs\t\t: sysret_ss_attrs spectre_v1 spectre_v2 spec_store_bypass srso\n"
        "bogomips\t: 4792.80\nTLB size\t: 3584 4K pages\nclflush size\t: 64\ncache_alignment\t: 64\n"
        "address sizes\t: 52 bits physical, 57 bits virtual\n"
        "power management: ts ttp tm hwpstate cpb eff_freq_ro [13] [14]\n\n"
    )


def ranges(cpus):
    out, start, prev = [], cpus[0], cpus[0]
    for c in cpus[1:]:
        if c == prev + 1:
            prev = c
            continue
        out.append((start, prev))
        start = prev = c
    out.append((start, prev))
    return ",".join(f"{a}-{b}" if a != b else str(a) for a, b in out)


def cpumask(cpus, ncpus):
    bits = sum(1 << c for c in cpus)
    words = [(bits >> (32 * i)) & 0xFFFFFFFF for i in range((ncpus + 31) // 32)]
    return ",".join(f"{w:08x}" for w in reversed(words))


def meminfo(node, kb):
    free = kb * 9 // 10
    return (
        f"Node {node} MemTotal:       {kb} kB\nNode {node} MemFree:        {free} kB\n"
        f"Node {node} MemUsed:        {kb - free} kB\nNode {node} SwapCached:            0 kB\n"
        f"Node {node} Active:          {kb // 50} kB\nNode {node} Inactive:        {kb // 40} kB\n"
        f"Node {node} Dirty:               8 kB\nNode {node} FilePages:       {kb // 30} kB\n"
        f"Node {node} HugePages_Total:     0\nNode {node} HugePages_Free:      0\n"
        f"Node {node} HugePages_Surp:      0\n"
    )


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)


def nodes(root, topo, ncpus, distance):
    base = f"{root}/sys/devices/system/node"
    ids = [n for n, _, _ in topo]
    for n, cpus, kb in topo:
        d = f"{base}/node{n}"
        write(f"{d}/cpulist", ranges(cpus) + "\n" if cpus else "\n")
        write(f"{d}/cpumap", cpumask(cpus, ncpus) + "\n")
        write(f"{d}/meminfo", meminfo(n, kb))
        write(f"{d}/distance", " ".join(str(distance(n, m)) for m in ids) + "\n")
    write(f"{base}/online", f"0-{max(ids)}\n")
    write(f"{base}/possible", f"0-{max(ids)}\n")
    write(f"{base}/has_cpu", f"0-{max(ids)}\n")
    write(f"{base}/has_memory", f"0-{max(ids)}\n")
    write(f"{base}/has_normal_memory", f"0-{max(ids)}\n")
    write(f"{base}/uevent", "")


def corpus_root(name, envelope, cpu_args, bios):
    root = f"roots/{name}"
    shutil.rmtree(root, ignore_errors=True)
    hf = json.load(open(envelope))["hardware_fingerprint"]
    ncpus = sum(len(n["cpus"]) for n in hf["numa"]["nodes"])
    model, microcode, mhz, cache, siblings, cores = cpu_args
    assert hf["cpu"] == {"model": model, "microcode": microcode}
    write(f"{root}/proc/cpuinfo", "".join(intel_block(i, model, microcode, mhz, cache, siblings, cores, i) for i in range(2)))
    write(f"{root}/sys/class/dmi/id/bios_version", bios + "\n")
    write(f"{root}/sys/class/dmi/id/bios_vendor", "American Megatrends International, LLC.\n")
    # MemTotal kB anywhere in [mb*1024, mb*1024+1023] floors to mb.
    topo = [(n["id"], n["cpus"], n["memory_mb"] * 1024 + (n["id"] * 337) % 1024) for n in hf["numa"]["nodes"]]
    nodes(root, topo, ncpus, lambda a, b: 10 if a == b else (12 if a // 2 == b // 2 else 21))


def epyc_root():
    root = "roots/epyc-9654"
    shutil.rmtree(root, ignore_errors=True)
    write(f"{root}/proc/cpuinfo", "".join(amd_block(i, i) for i in range(2)))
    write(f"{root}/sys/class/dmi/id/product_uuid", "4c4c4544-0051-3510-8052-b9c04f4e3934\n")
    write(f"{root}/sys/class/dmi/id/bios_version", "1.9.3\n")
    write(f"{root}/sys/class/dmi/id/bios_vendor", "Dell Inc.\n")
    topo = []
    for n in range(12):
        cpus = list(range(8 * n, 8 * n + 8)) + list(range(96 + 8 * n, 96 + 8 * n + 8))
        kb = 65_537_468 + 1021 * n  # not a multiple of 1024
        if n == 0:
            kb = 64_960_512 + 900  # the kernel's reservations
        topo.append((n, cpus, kb))
    nodes(root, topo, 192, lambda a, b: 10 if a == b else 11)


if __name__ == "__main__":
    corpus_root("h100-8462y", "corpus/2026-05-29-voice-testbm-h100_f1c81b4978c8.json",
                ("Intel(R) Xeon(R) Platinum 8462Y+", "0x2b000643", "2800.000", 61440, 32, 32), "CUXD670_5.32_v2.05")
    corpus_root("h100-8480", "corpus/2026-05-18-multi-vendor-marathon_marathon_all_010e9504589b.json",
                ("Intel(R) Xeon(R) Platinum 8480+", "0x2b000643", "2000.000", 107520, 112, 56), "R24")
    epyc_root()
