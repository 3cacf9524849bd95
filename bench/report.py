#!/usr/bin/python3
"""Results of one bench/sweep.sh run: sweep.csv, ratios.csv, sweep.md, PNG
plots, and the tables with the AF_VIRT ratios on stdout.

    bench/report.py RESULTS_DIR     (RESULTS_DIR/raw/boot-N/*.json from sweep-host.py)

Per boot, a point's value is the median of its repetitions (throughput,
round trip, CPU per byte).  Across boots: the mean and its 95 % confidence
interval (Student's t, bench/stats.py).  A ratio AF_VIRT / baseline is
taken per boot, both measured in that boot, then summarised across boots
(geometric mean, interval on the logarithms); AF_VIRT wins or loses only
where that interval excludes 1, otherwise it is a tie within the spread.

Counts are the test host's KVM statistics over each run (all repetitions)
minus what the guest does at rest over the same time (each boot's
"baseline"), per MiB moved (throughput runs) or per round trip (latency
runs); the uncorrected totals are kept in raw_exits_per_MiB.  CPU per byte
is each machine's busy CPU time over the measured part of a throughput run
(/proc/stat, virtsock-perf on both ends; perf_json.machine_busy) per byte
received: the test host's includes the guest's vCPU, vhost's workers and
softirqs, so it is the whole cost; the guest's is its share of it (not to be
added).  The figures from the busy ticks alone, which the emulated test
host under-counts (by 15 % in a median --quick stream, 27 % with both Unix
ends busy) and the guest too, are kept in cpu_*_ticks_ns_per_byte: a lower
bound.  Unlike the counts,
CPU time is not corrected for the guest at rest: in the nest an idle guest
costs the test host a quarter to a third of a CPU, but that emulation work
is displaced, not added to, when the guest runs (subtracting it brought the
test host's figure below the guest's own share), so sweep.md only shows it.
"""
import csv
import json
import pathlib
import shutil
import statistics
import subprocess
import sys

from perf_json import (buffers, bytes_moved, count_problem, machine_busy, machine_busy_ticks, rtt_us,
                       throughput_mbps, verify_problem)
from stats import mean_ci, ratio_ci, verdict

TRANSPORTS = ["virt", "vsock", "virtio-net", "e1000", "unix"]
SETS = ["equal", "defaults"]
LABEL = {"virt": "AF_VIRT", "vsock": "vsock (vhost)", "virtio-net": "TCP virtio-net (vhost)",
         "e1000": "TCP e1000 (emulated)", "unix": "Unix (in test host)"}
SHORT = {"virt": "AF_VIRT", "vsock": "vsock", "virtio-net": "virtio-net TCP", "e1000": "e1000 TCP",
         "unix": "Unix"}
DIRECTION = {"g2h": "guest → host", "h2g": "host → guest"}
LEADING = ["transport", "direction", "size", "throughput_MBps", "lat_p50_us", "lat_p99_us",
           "exits_per_MiB", "hypercalls_per_MiB", "irqs_per_MiB"]
COLUMNS = LEADING + [
    "io_exits_per_MiB", "mmio_exits_per_MiB", "halt_exits_per_MiB", "raw_exits_per_MiB",
    "exits_per_rt", "hypercalls_per_rt", "irqs_per_rt", "descs_per_flush",
    "set", "window", "boots", "throughput_ci_lo", "throughput_ci_hi", "lat_p50_ci_lo", "lat_p50_ci_hi",
    "cpu_host_ns_per_byte", "cpu_host_ci_lo", "cpu_host_ci_hi", "cpu_host_ticks_ns_per_byte",
    "cpu_guest_ns_per_byte", "cpu_guest_ci_lo", "cpu_guest_ci_hi", "cpu_guest_ticks_ns_per_byte",
    "window_client", "window_server", "sndbuf_client", "rcvbuf_client", "sndbuf_server", "rcvbuf_server",
    "window_client_end", "window_server_end", "verified_bytes", "data_problem", "error"]
# KVM statistic behind each count column
COUNTS = {"exits": "exits", "hypercalls": "hypercalls", "irqs": "irq_injections",
          "io_exits": "io_exits", "mmio_exits": "mmio_exits", "halt_exits": "halt_exits"}
BASELINES = ["vsock", "virtio-net", "unix"]
# metric: (row column, higher is better for AF_VIRT, what it is)
METRICS = {"throughput": ("throughput_MBps", True, "throughput"),
           "lat_p50": ("lat_p50_us", False, "round trip p50"),
           "cpu_host": ("cpu_host_ns_per_byte", False, "test-host CPU per byte")}


def human(size):
    for unit, shift in (("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def corrected(counters, base, stat):
    """A run's count of STAT less the guest's at-rest rate over the run."""
    rate = base["kvm"].get(stat, 0) / base["seconds"]
    return max(0.0, counters["kvm"].get(stat, 0) - rate * counters["seconds"])


def one_value(values):
    """One figure for a setting seen in several runs: the value, or lo..hi
    (values may be such ranges already)."""
    spans = []
    for v in values:
        if v is None:
            continue
        lo, _, hi = str(v).partition("..")
        spans.append((int(lo), int(hi or lo)))
    if not spans:
        return None
    lo, hi = min(s[0] for s in spans), max(s[1] for s in spans)
    return lo if lo == hi else f"{lo}..{hi}"


def boot_figures(doc, row, problems):
    """One boot's figures of a point (doc) into ROW; data problems into PROBLEMS."""
    reps = [r for r in doc["reps"] if r["perf"]]
    mode = doc["mode"]
    for r in reps:
        if (why := count_problem(r["perf"], mode)):
            problems.append(f"{mode} run {r.get('round')}: {why}")
    warm = doc.get("warmup")
    if doc.get("want_warmup") and not doc.get("error"):
        if not warm or not warm.get("perf"):
            problems.append(f"{mode}: no warm-up run (its payload unverified)")
        elif (why := verify_problem(warm["perf"], mode) or count_problem(warm["perf"], mode)):
            problems.append(f"{mode} warm-up: {why}")
        else:
            row.setdefault("verified", 0)
            row["verified"] += sum(warm["perf"]["end"]["verified_bytes"].values())
    if not reps:
        return
    base = doc["baseline"]
    row.setdefault("rest", base["kvm"].get("exits", 0) / base["seconds"])
    ends = [r["perf"]["end"] for r in reps]
    guest_counts = doc["transport"] != "unix"  # the Unix runs never enter the guest
    for key, when in (("start", "start"), ("end", "end")):
        for r in reps:
            b = buffers(r["perf"], when)
            for side, name in (("host", "client"), ("remote", "server")):
                for field in ("window", "sndbuf", "rcvbuf"):
                    if b.get(side):
                        row.setdefault(f"{key}_{field}_{name}", []).append(b[side][field])

    def count(stat):
        return sum(corrected(r["counters"], base, stat) for r in reps)

    if mode == "throughput":
        row["throughput_MBps"] = statistics.median(throughput_mbps(e) for e in ends)
        mib = sum(bytes_moved(e) for e in ends) / 2**20
        if guest_counts and mib > 0:
            for col, stat in COUNTS.items():
                row[f"{col}_per_MiB"] = count(stat) / mib
            row["raw_exits_per_MiB"] = sum(r["counters"]["kvm"].get("exits", 0) for r in reps) / mib
            flushes = sum(r["counters"]["vm"].get("flushes", 0) for r in reps)
            if doc["transport"] == "virt" and flushes:
                row["descs_per_flush"] = sum(r["counters"]["vm"]["tx_descs"] for r in reps) / flushes
        # CPU per byte: the client's machine is the test host; the server's
        # the guest, except for the Unix socket (both ends in the test host).
        host, host_ticks, guest, guest_ticks = [], [], [], []
        for r in reps:
            moved = bytes_moved(r["perf"]["end"])
            client, server = machine_busy(r["perf"])
            client_ticks, server_ticks = machine_busy_ticks(r["perf"])
            if moved and client is not None:
                host.append(client * 1e9 / moved)
                host_ticks.append(client_ticks * 1e9 / moved)
            if moved and server is not None and guest_counts:
                guest.append(server * 1e9 / moved)
                guest_ticks.append(server_ticks * 1e9 / moved)
        if host:
            row["cpu_host_ns_per_byte"] = statistics.median(host)
            row["cpu_host_ticks_ns_per_byte"] = statistics.median(host_ticks)
        if guest:
            row["cpu_guest_ns_per_byte"] = statistics.median(guest)
            row["cpu_guest_ticks_ns_per_byte"] = statistics.median(guest_ticks)
    else:
        row["lat_p50_us"] = statistics.median(rtt_us(e)["p50"] for e in ends)
        row["lat_p99_us"] = statistics.median(rtt_us(e)["p99"] for e in ends)
        rts = sum(e.get("round_trips") or 0 for e in ends)
        if guest_counts and rts:
            for col, stat in (("exits", "exits"), ("hypercalls", "hypercalls"),
                              ("irqs", "irq_injections")):
                row[f"{col}_per_rt"] = count(stat) / rts


def load(res):
    """Per boot: {(set, transport, direction, size): figures}; and the config."""
    cfg = json.loads((res / "config.json").read_text())
    boots = {}
    for bdir in sorted((res / "raw").glob("boot-*"), key=lambda p: int(p.name.split("-")[1])):
        rows = boots.setdefault(int(bdir.name.split("-")[1]), {})
        for path in sorted(bdir.glob("*.json")):
            doc = json.loads(path.read_text())
            doc["want_warmup"] = bool(cfg.get("warmup"))
            key = (doc["set"], doc["transport"], doc["direction"], doc["size"])
            row = rows.setdefault(key, {"window_set": doc["window"]})
            problems = row.setdefault("problems", [])
            if doc.get("error"):
                row["error"] = "; ".join(filter(None, [row.get("error"),
                                                       f"{doc['mode']}: {doc['error']}"]))
            boot_figures(doc, row, problems)
    return cfg, boots


def aggregate(cfg, boots):
    """Rows of sweep.csv (means and intervals across boots) and ratio records."""
    keys = sorted({k for rows in boots.values() for k in rows},
                  key=lambda k: (SETS.index(k[0]), TRANSPORTS.index(k[1]), k[2], k[3]))
    order = sorted(boots)
    out = []
    for key in keys:
        per = [boots[b].get(key, {}) for b in order]
        row = {"set": key[0], "transport": key[1], "direction": key[2], "size": key[3],
               "window": next((p["window_set"] for p in per if p), None)}
        n = [p for p in per if p.get("throughput_MBps") is not None or p.get("lat_p50_us") is not None]
        row["boots"] = len(n)
        for col, lo, hi in (("throughput_MBps", "throughput_ci_lo", "throughput_ci_hi"),
                            ("lat_p50_us", "lat_p50_ci_lo", "lat_p50_ci_hi"),
                            ("cpu_host_ns_per_byte", "cpu_host_ci_lo", "cpu_host_ci_hi"),
                            ("cpu_guest_ns_per_byte", "cpu_guest_ci_lo", "cpu_guest_ci_hi")):
            row[col], row[lo], row[hi] = mean_ci([p.get(col) for p in per])
        for col in ("lat_p99_us", "raw_exits_per_MiB", "descs_per_flush", "exits_per_rt",
                    "cpu_host_ticks_ns_per_byte", "cpu_guest_ticks_ns_per_byte",
                    "hypercalls_per_rt", "irqs_per_rt") + tuple(f"{c}_per_MiB" for c in COUNTS):
            row[col] = mean_ci([p.get(col) for p in per])[0]
        for side in ("client", "server"):
            row[f"window_{side}"] = one_value(v for p in per for v in p.get(f"start_window_{side}", []))
            row[f"window_{side}_end"] = one_value(v for p in per for v in p.get(f"end_window_{side}", []))
            for field in ("sndbuf", "rcvbuf"):
                row[f"{field}_{side}"] = one_value(v for p in per for v in p.get(f"start_{field}_{side}", []))
        row["verified_bytes"] = sum(p.get("verified", 0) for p in per) or None
        errors = [f"boot {b}: {p['error']}" for b, p in zip(order, per) if p.get("error")]
        missing = [str(b) for b, p in zip(order, per) if not p]
        if missing:
            errors.append("no record in boot(s) " + ", ".join(missing))
        row["error"] = "; ".join(errors) or None
        problems = [f"boot {b}: {x}" for b, p in zip(order, per) for x in p.get("problems", [])]
        row["data_problem"] = "; ".join(problems) or None
        row["_per_boot"] = dict(zip(order, per))
        out.append(row)

    ratios = []
    at = {(r["set"], r["transport"], r["direction"], r["size"]): r for r in out}
    for r in out:
        if r["transport"] != "virt":
            continue
        for b in BASELINES:
            other = at.get((r["set"], b, r["direction"], r["size"]))
            if not other:
                continue
            for metric, (col, higher, _) in METRICS.items():
                per = []
                for boot in order:
                    v, w = r["_per_boot"][boot].get(col), other["_per_boot"][boot].get(col)
                    per.append(v / w if v and w else None)
                got = [x for x in per if x is not None]
                if not got:
                    continue
                # Only boots that measured both: a ratio across boots would mix them.
                mean, lo, hi = ratio_ci(got)
                ratios.append({"set": r["set"], "direction": r["direction"], "size": r["size"],
                               "metric": metric, "baseline": b, "boots": len(got), "ratio": mean,
                               "ci_lo": lo, "ci_hi": hi, "verdict": verdict(lo, hi, len(got), higher),
                               "per_boot": ";".join(f"{x:.4f}" if x is not None else "" for x in per)})
    return out, ratios


def fmt(value, digits=1):
    if value is None or value == "":
        return ""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    return f"{value:.{digits}f}"


def write_csv(res, rows, ratios):
    with open(res / "sweep.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([fmt(r.get(c), 3) for c in COLUMNS])
    with open(res / "ratios.csv", "w", newline="") as f:
        cols = ["set", "direction", "size", "metric", "baseline", "boots", "ratio", "ci_lo", "ci_hi",
                "verdict", "per_boot"]
        w = csv.writer(f)
        w.writerow(cols)
        for r in ratios:
            # Six decimals: check_sweep.py re-derives each verdict from the bounds.
            w.writerow([fmt(r.get(c), 6) for c in cols])


def with_ci(value, lo, hi, digits=1):
    if value is None:
        return ""
    if lo is None:
        return fmt(value, digits)
    return f"{fmt(value, digits)} [{fmt(lo, digits)}, {fmt(hi, digits)}]"


def ratio_cell(rec):
    if not rec:
        return ""
    text = with_ci(rec["ratio"], rec["ci_lo"], rec["ci_hi"], 2)
    return f"{text} {rec['verdict']}"


def tables(cfg, rows, ratios):
    """Markdown: per set and direction, throughput, round trip and costs by size."""
    md = []

    def table(title, head, body):
        md.extend([f"#### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)])
        md.extend("| " + " | ".join(cells) + " |" for cells in body)
        md.append("")

    nboots = max((r["boots"] for r in rows), default=0)
    ci_note = (f"mean [95 % CI] over {nboots} boots" if nboots > 1
               else "one boot: no CI (1 boot), so no win or loss is claimed")
    for set_name in [s for s in SETS if any(r["set"] == s for r in rows)]:
        srows = [r for r in rows if r["set"] == set_name]
        at = {(r["transport"], r["direction"], r["size"]): r for r in srows}
        rat = {(x["direction"], x["size"], x["metric"], x["baseline"]): x
               for x in ratios if x["set"] == set_name}
        transports = [t for t in TRANSPORTS if any(r["transport"] == t for r in srows)]
        directions = [d for d in DIRECTION if any(r["direction"] == d for r in srows)]
        sizes = sorted({r["size"] for r in srows})
        bases = [b for b in BASELINES if "virt" in transports and b in transports]
        window = next((s["window"] for s in cfg["sets"] if s["name"] == set_name), 0)
        md += [f"### {'Equal windows: every transport at ' + human(window) if window else 'Each transport at its defaults'}"
               f" (set \"{set_name}\")", ""]
        md += windows_table(srows, transports)
        for d in directions:
            def get(t, s, col):
                return at.get((t, d, s), {}).get(col)

            if any(get(t, s, "throughput_MBps") for t in transports for s in sizes):
                table(f"Throughput, {DIRECTION[d]} (MB/s, {ci_note}; AF_VIRT / baseline > 1: AF_VIRT faster)",
                      ["size"] + [LABEL[t] for t in transports] + [f"AF_VIRT / {SHORT[b]}" for b in bases],
                      [[human(s)] + [with_ci(get(t, s, "throughput_MBps"), get(t, s, "throughput_ci_lo"),
                                             get(t, s, "throughput_ci_hi")) for t in transports] +
                       [ratio_cell(rat.get((d, s, "throughput", b))) for b in bases] for s in sizes])
            if any(get(t, s, "lat_p50_us") for t in transports for s in sizes):
                table(f"Round trip, {DIRECTION[d]} starts it (p50 µs, {ci_note}; p99 in sweep.csv; "
                      "ratio < 1: AF_VIRT faster)",
                      ["size"] + [LABEL[t] for t in transports] + [f"AF_VIRT / {SHORT[b]}" for b in bases],
                      [[human(s)] + [with_ci(get(t, s, "lat_p50_us"), get(t, s, "lat_p50_ci_lo"),
                                             get(t, s, "lat_p50_ci_hi"), 0) for t in transports] +
                       [ratio_cell(rat.get((d, s, "lat_p50", b))) for b in bases] for s in sizes])
            if any(get(t, s, "cpu_host_ns_per_byte") for t in transports for s in sizes):
                table(f"Cost per byte moved, {DIRECTION[d]}: VM exits per MiB · CPU ns per byte, test host "
                      "(the whole cost, the guest's vCPU included) / guest (its share) "
                      "(throughput runs; at-rest load subtracted from the exits, not from CPU time; "
                      "AF_VIRT / baseline on the test host's CPU: < 1 cheaper)",
                      ["size"] + [LABEL[t] for t in transports] + [f"CPU AF_VIRT / {SHORT[b]}" for b in bases],
                      [[human(s)] + [cost_cell(at.get((t, d, s), {})) for t in transports] +
                       [ratio_cell(rat.get((d, s, "cpu_host", b))) for b in bases] for s in sizes])
    flagged = [r for r in rows if r.get("data_problem")]
    if flagged:
        md.append("**Data problems** (byte counts or payload checks): " + "; ".join(
            f"{r['set']} {r['transport']} {r['direction']} {human(r['size'])}: {r['data_problem']}"
            for r in flagged))
        md.append("")
    failed = [r for r in rows if r.get("error")]
    if failed:
        md.append("Failed runs: " + "; ".join(
            f"{r['set']} {r['transport']} {r['direction']} {human(r['size'])}: {r['error']}" for r in failed))
        md.append("")
    return "\n".join(md)


def cost_cell(r):
    if r.get("cpu_host_ns_per_byte") is None:
        return ""
    exits = fmt(r.get("exits_per_MiB")) if r.get("exits_per_MiB") is not None else "–"
    host = with_ci(r["cpu_host_ns_per_byte"], r.get("cpu_host_ci_lo"), r.get("cpu_host_ci_hi"), 2)
    guest = with_ci(r.get("cpu_guest_ns_per_byte"), r.get("cpu_guest_ci_lo"), r.get("cpu_guest_ci_hi"), 2) \
        if r.get("cpu_guest_ns_per_byte") is not None else "–"
    return f"{exits} · {host} / {guest}"


def windows_table(srows, transports):
    """What each end's data socket got (start of the run; TCP tunes its own
    later, the end's window after →)."""
    md = ["| transport | client (test host): SO_SNDBUF / SO_RCVBUF / window | "
          "server: SO_SNDBUF / SO_RCVBUF / window |", "|---|---|---|"]
    for t in transports:
        rs = [r for r in srows if r["transport"] == t]

        def side(name):
            def v(col):
                return one_value(r.get(col) for r in rs)
            start, end = v(f"window_{name}"), v(f"window_{name}_end")
            text = f"{fmt(v(f'sndbuf_{name}'))} / {fmt(v(f'rcvbuf_{name}'))} / {fmt(start)}"
            return text + (f" → {end}" if end is not None and end != start else "")
        md.append(f"| {LABEL[t]} | {side('client')} | {side('server')} |")
    return md + [""]


def plots(res, rows):
    """throughput.png, latency.png, exits.png, cpu.png: the equal-window set,
    one panel per direction, log scales; throughput with its intervals."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        sys.exit("report.py: gnuplot not found (Debian package gnuplot-nox: make deps)")
    rows = [r for r in rows if r["set"] == "equal"]
    data = res / "plot-data"
    data.mkdir(exist_ok=True)
    directions = [d for d in DIRECTION if any(r["direction"] == d for r in rows)]
    transports = [t for t in TRANSPORTS if any(r["transport"] == t for r in rows)]
    cols = ("size", "throughput_MBps", "lat_p50_us", "lat_p99_us", "exits_per_MiB",
            "throughput_ci_lo", "throughput_ci_hi", "cpu_host_ns_per_byte")
    for t in transports:
        for d in directions:
            with open(data / f"{t}-{d}.dat", "w") as f:
                f.write("# " + " ".join(cols) + "\n")
                for r in rows:
                    if r["transport"] == t and r["direction"] == d:
                        vals = dict(r)
                        # One boot: no interval, a bar of no length.
                        for c in ("throughput_ci_lo", "throughput_ci_hi"):
                            if vals.get(c) is None:
                                vals[c] = vals.get("throughput_MBps")
                        f.write(" ".join(fmt(vals.get(c), 3) or "NaN" for c in cols) + "\n")
    figures = [("throughput.png", "Throughput (MB/s, 95 % CI across boots)", "1:2:6:7 with yerrorlines",
                "throughput_MBps", transports),
               ("latency.png", "Round trip p50 (µs)", "1:3 with linespoints", "lat_p50_us", transports),
               ("exits.png", "VM exits per MiB (at-rest baseline subtracted)", "1:5 with linespoints",
                "exits_per_MiB", [t for t in transports if t != "unix"]),
               ("cpu.png", "Test-host CPU ns per byte (guest included)", "1:8 with linespoints",
                "cpu_host_ns_per_byte", transports)]
    # (A sweep without latency runs, say, has no latency plot.)
    figures = [f for f in figures if any(r.get(f[3]) for r in rows)]
    script = []
    for png, ylabel, using, _, series in figures:
        script += [f"set output '{res / png}'", f"set multiplot layout 1,{len(directions)}"]
        for d in directions:
            script += [f"set title '{DIRECTION[d]}, equal windows'", f"set ylabel '{ylabel}'"]
            script.append("plot " + ", ".join(
                f"'{data / f'{t}-{d}.dat'}' using {using} title '{LABEL[t]}'" for t in series))
        script.append("unset multiplot")
    head = ["set terminal pngcairo size 1400,560 font 'sans,10' noenhanced", "set logscale xy",
            "set xlabel 'message size (bytes)'", "set grid", "set key top left",
            "set datafile missing 'NaN'", "set format x '%.0s%c'"]
    (data / "plots.gp").write_text("\n".join(head + script) + "\n")
    subprocess.run([gnuplot, str(data / "plots.gp")], check=True)
    return [png for png, *_ in figures]


def micro_tables(res):
    md = []
    micro = res / "micro.json"
    if micro.exists():
        doc = json.loads(micro.read_text())
        md += ["### Micro-benchmarks (Google Benchmark, this machine)", "",
               "| benchmark | ns/iteration | ns/descriptor | GB/s |", "|---|---|---|---|"]
        for b in doc["benchmarks"]:
            per_desc = b.get("per_desc")
            bps = b.get("bytes_per_second")
            md.append(f"| {b['name']} | {b['real_time']:.1f} | "
                      f"{per_desc * 1e9:.2f} |" if per_desc else f"| {b['name']} | {b['real_time']:.1f} | |")
            md[-1] += f" {bps / 1e9:.2f} |" if bps else " |"
        md.append("")
    cg = res / "callgrind.json"
    if cg.exists():
        doc = json.loads(cg.read_text())
        md += ["### Instructions per operation (valgrind --tool=callgrind, fixed workloads)", "",
               "| workload | operations | unit | instructions | per operation |", "|---|---|---|---|---|"]
        md += [f"| {w['workload']} | {w['ops']} | {w['unit']} | {w['Ir']} | {w['Ir_per_op']} |"
               for w in doc["workloads"]]
        md.append("")
    return "\n".join(md)


def header(cfg, boots):
    rest, busy = [], []
    for b in sorted(boots):
        seen = [p.get("rest") for p in boots[b].values() if p.get("rest") is not None]
        if seen:
            rest.append(f"{round(seen[0])}")
    for bdir in sorted((cfg["_res"] / "raw").glob("boot-*")):
        for path in sorted(bdir.glob("*.json"))[:1]:
            c = json.loads(path.read_text())["baseline"].get("cpu") or {}
            if c.get("total_ticks"):
                busy.append(f"{c['busy_ticks'] / c['total_ticks']:.1%}")
    sets = ", ".join(f"\"{s['name']}\" ({'window ' + human(s['window']) if s['window'] else 'defaults'}, "
                     f"sizes {','.join(human(z) for z in s['sizes'])})" for s in cfg["sets"])
    return [f"{len(boots)} boot(s) of {cfg['runs']} points each; sets {sets}; transports in a seeded random "
            f"order per size (seed {cfg['seed']}), e1000 in a pass of its own at the end; "
            f"throughput: median of {cfg['repeat']} runs of {cfg['time']} s per boot, round trip: "
            f"{cfg['latency_time']} s; each run leaves its first {cfg['omit']} s out; before each point's "
            f"runs a {cfg['warmup']} s warm-up run that verifies the payload (virtsock-perf --verify) and "
            "whose byte counts must agree.", "",
            "Guest at rest: " + ", ".join(rest) + " VM exits/s (one figure per boot), subtracted from "
            "every run's counts; the test host's CPUs were " + ", ".join(busy) + " busy at rest "
            "(not subtracted from CPU per byte: see bench/report.py).", ""]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/report.py RESULTS_DIR")
    res = pathlib.Path(sys.argv[1])
    cfg, boots = load(res)
    if not boots or not any(boots.values()):
        sys.exit(f"report.py: no runs in {res / 'raw'}/boot-*")
    cfg["_res"] = res
    rows, ratios = aggregate(cfg, boots)
    write_csv(res, rows, ratios)
    body = tables(cfg, rows, ratios)
    pngs = plots(res, rows)
    doc = [f"## Sweep {res.name}", ""] + header(cfg, boots) + \
        [body, micro_tables(res)] + [f"![{p}]({p})" for p in pngs]
    (res / "sweep.md").write_text("\n".join(doc) + "\n")
    print(body)
    print(f"wrote {res / 'sweep.csv'}, {res / 'ratios.csv'}, {res / 'sweep.md'}, " +
          ", ".join(str(res / p) for p in pngs))


if __name__ == "__main__":
    main()
