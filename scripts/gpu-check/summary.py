"""The GPU check's printed summary (scripts/gpu-check/device.sh runs it).

    python3 summary.py WORKDIR PROFILE_STATUS

Reads what the device half left in WORKDIR: steps.tsv, nvidia-smi.csv, the
NVML probes' JSON (probe-idle.json, probe-server.json), the server's log,
bench profile's --json report (profile.json) and stderr, and the profile's
files (envelope, request trace, telemetry timeline, HTML page). Prints the
figures the check exists for, then the three tables, and writes them to
WORKDIR/summary.json. Every figure that cannot be computed says why; a
missing or broken input never stops the rest. Standard library only.

Clocks: the timeline's t_ns count from the telemetry's origin, the trace's
offsets from the load's start (sampler/timeline.go, loadgen/result.go). The
load's start on the timeline's clock is the envelope's
driver_options.trace_offset_s; failing that, it is read from the HTML page ("shifted
by +X s onto the timeline's clock"), or else estimated as the last
telemetry reading minus the last request's end (the samplers stop right
after the load, so this is late by at most one interval).
"""
import csv
import glob
import json
import math
import os
import re
import statistics
import sys

WORK = sys.argv[1] if len(sys.argv) > 1 else "."
PROFILE_RC = int(sys.argv[2]) if len(sys.argv) > 2 else -1
S = {}  # summary.json


def path(*p):
    return os.path.join(WORK, *p)


def load_json(name):
    try:
        with open(path(name)) as f:
            return json.load(f), None
    except Exception as e:
        return None, "%s: %s" % (name, e)


def first(pattern):
    m = sorted(glob.glob(path(pattern)))
    return m[0] if m else None


def pct(xs, q):
    """Percentile with linear interpolation between closest ranks."""
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def line(label, text):
    print("%-15s %s" % (label, text))


def fmt(v, spec="%.1f"):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else spec % v


# ---------------------------------------------------------------- inputs
steps = []
try:
    with open(path("steps.tsv")) as f:
        for row in csv.reader(f, delimiter="\t"):
            if len(row) == 3:
                steps.append((row[0], int(row[1]), row[2]))
except Exception as e:
    print("steps.tsv unreadable:", e)
step_rc = {n: rc for n, rc, _ in steps}

report, report_err = load_json("profile.json")
probe_idle, probe_idle_err = load_json("probe-idle.json")
probe_srv, probe_srv_err = load_json("probe-server.json")
files = (report or {}).get("files") or {}


def side_file(key, pattern):
    """The file the report names (looked for in WORKDIR/results first, so
    that a copied work folder still reads its own), else the pattern's."""
    named = files.get(key)
    if named:
        for p in (path("results", os.path.basename(named)), named):
            if os.path.isfile(p):
                return p
    return first(pattern)


env_path = side_file("envelope", "results/profile-*[0-9a-f].json")
timeline_path = side_file("timeline", "results/*.timeline.csv")
trace_path = side_file("requests", "results/*.requests.jsonl")
html_path = side_file("html", "results/*.timeline.html")
metrics = {}
envelope = None
if env_path:
    try:
        with open(env_path) as f:
            envelope = json.load(f)
        metrics = envelope.get("metrics") or {}
    except Exception as e:
        print("envelope unreadable:", e)

warnings = (report or {}).get("warnings")
if warnings is None:  # no JSON report: take them from stderr
    warnings = []
    try:
        with open(path("bench.stderr")) as f:
            warnings = [l[len("bench: warning: "):].rstrip("\n") for l in f if l.startswith("bench: warning: ")]
    except Exception:
        pass

print("=" * 30, "gpu-check summary", "=" * 30)

# ---------------------------------------------------------------- GPU, driver
smi = None
try:
    with open(path("nvidia-smi.csv")) as f:
        smi = [l.strip() for l in f if l.strip()]
except Exception:
    pass
gpu_text = "nvidia-smi: " + ("; ".join(smi) if smi else "not available (step %s)" % step_rc.get("nvidia-smi", "not run"))
if probe_idle and not probe_idle.get("open_error"):
    names = ", ".join("gpu%d %s" % (g["index"], g["name"]) for g in probe_idle.get("gpus") or [])
    gpu_text += " | NVML: %s, driver %s, CUDA %s" % (names or "no GPU", probe_idle.get("driver") or "-", probe_idle.get("cuda") or "-")
elif probe_idle:
    gpu_text += " | NVML unavailable: " + probe_idle.get("open_error", "")
else:
    gpu_text += " | NVML probe: no report (%s)" % probe_idle_err
line("GPU, driver", gpu_text)
S["nvidia_smi"], S["nvml_inventory"] = smi, probe_idle and {k: probe_idle.get(k) for k in ("driver", "cuda", "gpus", "open_error")}

# ---------------------------------------------------------------- the load
server_line = None
for log in ("server-fallback.log", "server.log"):
    try:
        with open(path(log), errors="replace") as f:
            server_line = next((l.strip() for l in f if "gpu-check server on" in l), "%s: the server never said it started" % log)
        break
    except Exception:
        pass
on_gpu = bool(server_line and "device=cuda" in server_line) and step_rc.get("server") == 0
if step_rc.get("server") != 0:
    line("load", "THE SERVER DID NOT START (step server: %s); its last words: %s" % (step_rc.get("server", "not run"), server_line or "no log"))
else:
    line("load", (server_line or "server log missing") + ("" if on_gpu else "  <- NO GPU WORK: power under load is not a real load"))
S["server"], S["server_on_gpu"] = server_line, on_gpu

# ---------------------------------------------------------------- timeline and trace
tl_rows, tl_err = [], None
if timeline_path:
    try:
        with open(timeline_path, newline="") as f:
            tl_rows = list(csv.DictReader(f))
    except Exception as e:
        tl_err = "timeline unreadable: %s" % e
else:
    tl_err = "no timeline file"

trace, trace_err = [], None
if trace_path:
    try:
        with open(trace_path) as f:
            trace = [json.loads(l) for l in f if l.strip()]
    except Exception as e:
        trace_err = "trace unreadable: %s" % e
else:
    trace_err = "no request trace"


def num(s):
    return float(s) if s not in ("", None) else None


gpu_ticks = {}  # (sampler, tick) -> {"t": ns, "p": summed power, "n": devices with power}
per_dev = {}  # device -> [(t, power)]
for r in tl_rows:
    if r.get("kind") != "gpu":
        continue
    t = int(r["t_ns"])
    key = (r["sampler"], r["tick"])
    g = gpu_ticks.setdefault(key, {"t": t, "p": 0.0, "n": 0})
    p = num(r.get("power_w"))
    if p is not None:
        g["p"] += p
        g["n"] += 1
        per_dev.setdefault(r["device"], []).append((t, p))
ticks = sorted(gpu_ticks.values(), key=lambda g: g["t"])

offset_ns, offset_how = None, None
try:  # the envelope records it exactly (driver_options.trace_offset_s)
    t_off = (envelope or {}).get("driver_options", {}).get("trace_offset_s")
    if isinstance(t_off, (int, float)):
        offset_ns, offset_how = round(t_off * 1e9), "from the envelope's driver_options.trace_offset_s"
except Exception:
    pass
if offset_ns is None and html_path:
    try:
        with open(html_path, errors="replace") as f:
            html = f.read()
        m = re.search(r"shifted by ([+-]?[0-9.]+) s onto the timeline", html)
        if m:
            offset_ns, offset_how = round(float(m.group(1)) * 1e9), "from the HTML page"
    except Exception:
        pass
if offset_ns is None and trace and tl_rows:
    last_t = max(int(r["t_ns"]) for r in tl_rows)
    last_end = max(r.get("end_ns", 0) for r in trace)
    offset_ns, offset_how = max(0, last_t - last_end), "estimated: last reading - last request's end"
if offset_ns is None and trace:
    offset_ns, offset_how = 0, "unknown: taken as 0"

window = None
measured = [r for r in trace if not r.get("warmup")]
if measured and offset_ns is not None:
    ws = min(r["sent_ns"] for r in measured)
    we = max(r["end_ns"] for r in measured)
    window = (offset_ns + ws, offset_ns + we)
    first_send = offset_ns + min(r["sent_ns"] for r in trace)
S["load_offset_ns"], S["load_offset_source"] = offset_ns, offset_how
S["window_ns"] = window

# ---------------------------------------------------------------- NVML samples and interval
if not ticks:
    line("NVML samples", "none in the timeline (%s)" % (tl_err or "no GPU rows: NVML unavailable, see the warnings"))
else:
    inwin = [g["t"] for g in ticks if window and window[0] <= g["t"] <= window[1]] if window else [g["t"] for g in ticks]
    gaps = [(b - a) / 1e6 for a, b in zip(inwin, inwin[1:])]
    p50, p99 = pct(gaps, 50), pct(gaps, 99)
    line("NVML samples", "%s in the window (envelope nvml_sample_count), %d GPU ticks in the whole timeline; achieved interval p50 %s ms, p99 %s ms "
         "(timeline, ticks in the window); envelope nvml_interval_p99_ms %s"
         % (metrics.get("nvml_sample_count", "absent"), len(ticks), fmt(p50, "%.2f"), fmt(p99, "%.2f"), metrics.get("nvml_interval_p99_ms", "absent")))
    S["nvml_interval_p50_ms"], S["nvml_interval_p99_ms"] = p50, p99
S["nvml_sample_count"] = metrics.get("nvml_sample_count")

# ---------------------------------------------------------------- power sensor period
parts = []
for g in (((envelope or {}).get("driver_options") or {}).get("telemetry") or {}).get("gpus") or []:
    sp = g.get("sensor_period_ms")
    parts.append("%s ~%s ms (the envelope: bench's measure, from its ticks or its probe at Open; %s power)" % (
        g.get("device"), fmt(sp, "%g") if sp else "unknown", g.get("power_field", "?")))
for name, probe in (("probe", probe_idle),):
    for d in (probe or {}).get("devices") or []:
        sp = d.get("sensor_period_ms")
        parts.append("%s ~%s ms (nvmlprobe, GPU idle, after 3 s of ticks%s)" % (d["device"], fmt(sp, "%g") if sp else "unknown", ", power averaged over 1 s" if d.get("power_averaged") else ""))
for dev, pts in sorted(per_dev.items()):
    changes = [t for (t, p), (_, q) in zip(pts[1:], pts) if p != q]
    if len(changes) > 2:
        med = statistics.median((b - a) / 1e6 for a, b in zip(changes, changes[1:]))
        parts.append("%s: median gap between power changes in the timeline %.1f ms (%d changes)" % (dev, med, len(changes)))
        S.setdefault("sensor_period_timeline_ms", {})[dev] = med
    elif pts:
        parts.append("%s: power changed %d time(s) in the timeline" % (dev, len(changes)))
sensor_warn = [w for w in warnings if "power sensor" in w]
parts += ["bench: " + w for w in sensor_warn]
line("power sensor", "; ".join(parts) if parts else "unknown: no NVML")
S["sensor_period_probe_ms"] = {d["device"]: d.get("sensor_period_ms") for d in (probe_idle or {}).get("devices") or []}

# ---------------------------------------------------------------- energy
c, i, r = metrics.get("energy_joules_gpu"), metrics.get("energy_joules_gpu_integral"), metrics.get("energy_gpu_integral_to_counter_ratio")
if c is None and i is None:
    why = next((row[2] for t in (report or {}).get("tables", []) for row in t.get("rows", []) if row and row[0] == "Energy GPU vs CPU+DRAM"), "")
    line("GPU energy", "not in the envelope: " + (why or "no envelope"))
else:
    if r is None and c and i:
        r = i / c
    verdict = "within 5 %: yes" if r is not None and abs(r - 1) <= 0.05 else "within 5 %: NO"
    line("GPU energy", "counter %s J vs integral of P dt %s J over the window: ratio (integral/counter) %s -> %s"
         % (fmt(c), fmt(i), fmt(r, "%.4f"), verdict))
S["energy_counter_j"], S["energy_integral_j"], S["energy_ratio"] = c, i, r

# ---------------------------------------------------------------- idle vs load power
if not ticks or window is None:
    line("power", "idle vs under load: unavailable (%s)" % (tl_err or trace_err or "no GPU power in the timeline"))
else:
    idle = [g["p"] for g in ticks if g["n"] and g["t"] < first_send]
    load = [g["p"] for g in ticks if g["n"] and window[0] <= g["t"] <= window[1]]
    idle_w = statistics.mean(idle) if idle else None
    load_w = statistics.mean(load) if load else None
    text = "idle %s W (%d reading(s) before the load's first request) vs under load %s W (%d readings in the measurement window %.2f-%.2f s)" % (
        fmt(idle_w), len(idle), fmt(load_w), len(load), window[0] / 1e9, window[1] / 1e9)
    if not idle:
        text = "idle: no timeline reading before the load's first request (the samplers start %.1f ms before it) vs under load %s W (%d readings in the measurement window)" % (
            first_send / 1e6, fmt(load_w), len(load))
    line("power", text)
    line("", "load start on the timeline's clock: %+.1f ms (%s)" % (offset_ns / 1e6, offset_how))
    S["power_idle_w"], S["power_idle_n"], S["power_load_w"], S["power_load_n"] = idle_w, len(idle), load_w, len(load)
base = []
for label, probe in (("GPU idle before the server started", probe_idle), ("server loaded, idle", probe_srv)):
    if probe and probe.get("power_mean_total_w") is not None:
        base.append("%s %.1f W" % (label, probe["power_mean_total_w"]))
line("", "idle baselines from the NVML probes (3 s each): " + ("; ".join(base) if base else "none (NVML unavailable)"))
S["power_idle_probe_w"] = (probe_idle or {}).get("power_mean_total_w")
S["power_idle_server_probe_w"] = (probe_srv or {}).get("power_mean_total_w")

# ---------------------------------------------------------------- process mapping
tel = ((envelope or {}).get("driver_options") or {}).get("telemetry") or {}
sel = tel.get("gpu_selection")
if sel:
    counted = [g.get("device") for g in tel.get("gpus", []) if g.get("counted")]
    how = "%s: %s; engine PIDs %s" % (sel, ", ".join(map(str, counted)) or "none", tel.get("engine_pids", []))
    if tel.get("gpu_selection_reason"):
        how += " (" + str(tel["gpu_selection_reason"]) + ")"
    line("process -> GPU", how + "; nvidia-smi compute-apps step status %s" % step_rc.get("compute-apps", "not run"))
    S["process_mapping"] = {"gpu_selection": sel, "counted": counted, "engine_pids": tel.get("engine_pids", []),
                            "reason": tel.get("gpu_selection_reason", "")}
else:
    line("process -> GPU", "not recorded (no envelope, or it has no driver_options.telemetry)")
    S["process_mapping"] = "not recorded"

# ---------------------------------------------------------------- what failed in NVML, RAPL
for name, probe, err in (("probe (GPU idle)", probe_idle, probe_idle_err), ("probe (server up)", probe_srv, probe_srv_err)):
    if not probe:
        line("NVML " + name, "no report: " + str(err))
        continue
    if probe.get("open_error"):
        line("NVML " + name, ("UNAVAILABLE: " if probe.get("unavailable") else "FAILED: ") + probe["open_error"])
        continue
    smp = probe.get("sampling")
    if not smp:
        line("NVML " + name, "opened but did not sample")
        continue
    failed = ["%s: %s (last: %s)" % (h["device"], ", ".join("%s %d" % kv for kv in sorted(h["field_errors"].items())), h.get("last_error") or "-")
              for h in probe.get("health") or [] if h.get("field_errors")]
    unsup = [n for n in probe.get("notes") or [] if "power sensor updates" not in n and "are read every" not in n and "failed read" not in n]
    line("NVML " + name, "%d readings, %d failed ticks, interval p50 %s ms p99 %s ms; failed NVML calls: %s%s"
         % (smp.get("readings", 0), smp.get("errors", 0), smp.get("interval_p50_ms"), smp.get("interval_p99_ms"),
            "; ".join(failed) if failed else "none", ("; " + "; ".join(unsup)) if unsup else ""))
    S.setdefault("nvml_failed_calls", {})[name] = failed
nvml_warn = [w for w in warnings if w.startswith("nvml:") or "GPU telemetry" in w]
for w in nvml_warn:
    line("NVML (bench)", w)
rapl = [w for w in warnings if w.startswith("CPU/DRAM energy")]
if rapl:
    line("RAPL", rapl[0])
elif envelope is None:
    line("RAPL", "unknown: no envelope")
else:
    line("RAPL", "%s samples in the window, CPU+DRAM %s J" % (metrics.get("rapl_sample_count", "absent"), metrics.get("energy_joules_cpu_dram", "absent")))

# ---------------------------------------------------------------- tables
print()
if report and report.get("tables"):
    if report.get("source_trust"):
        print("source:", report["source_trust"])
    for t in report["tables"]:
        cols, rows = t.get("columns") or [], t.get("rows") or []
        widths = [max(len(str(x)) for x in [c] + [r[k] if k < len(r) else "" for r in rows]) for k, c in enumerate(cols)]
        widths = [min(w, 70) for w in widths]
        print()
        print(t.get("title", ""))
        print("  ".join(str(c).ljust(w) for c, w in zip(cols, widths)).rstrip())
        print("  ".join("-" * w for w in widths))
        for r in rows:
            print("  ".join(str(x).ljust(w) for x, w in zip(r, widths)).rstrip())
    if report.get("footer"):
        print()
        print(report["footer"])
else:
    print("tables: no JSON report from bench profile (%s)" % report_err)

print()
print("warnings from bench profile (%d):" % len(warnings))
for w in warnings:
    print("  -", w)
S["warnings"] = warnings

print()
WHY = {3: "NVML unavailable", 124: "timed out", 137: "timed out", 125: "skipped: no time left", 127: "command not found"}
print("steps: " + ", ".join("%s %s (%ss)" % (n, "ok" if rc == 0 else "FAILED %d%s" % (rc, " " + WHY[rc] if rc in WHY else ""), t)
                           for n, rc, t in steps))
failed = [n for n, rc, _ in steps if rc != 0]
S["steps"] = [{"step": n, "status": rc, "seconds": float(t)} for n, rc, t in steps]
S["profile_status"] = PROFILE_RC
print("failed steps: " + (", ".join(failed) if failed else "none"))
print("gpu-check: profile %s" % ("ok" if PROFILE_RC == 0 else "FAILED (status %d)" % PROFILE_RC))
with open(path("summary.json"), "w") as f:
    json.dump(S, f, indent=2, default=str)
