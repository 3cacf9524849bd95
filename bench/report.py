#!/usr/bin/env python3
"""Results of one bench/sweep.sh run: sweep.csv, sweep.md, PNG plots, and the
table with the AF_VIRT ratios on stdout.

    bench/report.py RESULTS_DIR     (RESULTS_DIR/raw/*.json from sweep-host.py)

Throughput is the median of a point's repetitions.  Counts are the test
host's KVM statistics over each run (all repetitions) minus what the guest
does at rest over the same time (each run's "baseline"), per MiB moved
(throughput runs) or per round trip (latency runs).  The uncorrected totals
are kept in raw_exits_per_MiB.
"""
import csv
import json
import pathlib
import shutil
import statistics
import subprocess
import sys

from perf_json import bytes_moved, rtt_us, throughput_mbps

TRANSPORTS = ["virt", "vsock", "virtio-net", "e1000", "unix"]
LABEL = {"virt": "AF_VIRT", "vsock": "vsock (vhost)", "virtio-net": "TCP virtio-net (vhost)",
         "e1000": "TCP e1000 (emulated)", "unix": "Unix (in test host)"}
DIRECTION = {"g2h": "guest → host", "h2g": "host → guest"}
COLUMNS = ["transport", "direction", "size", "throughput_MBps", "lat_p50_us", "lat_p99_us",
           "exits_per_MiB", "hypercalls_per_MiB", "irqs_per_MiB",
           # beyond the fixed leading columns
           "io_exits_per_MiB", "mmio_exits_per_MiB", "halt_exits_per_MiB", "raw_exits_per_MiB",
           "exits_per_rt", "hypercalls_per_rt", "irqs_per_rt", "descs_per_flush", "error"]
# KVM statistic behind each count column
COUNTS = {"exits": "exits", "hypercalls": "hypercalls", "irqs": "irq_injections",
          "io_exits": "io_exits", "mmio_exits": "mmio_exits", "halt_exits": "halt_exits"}
RATIOS = [("vsock", "AF_VIRT / vsock"), ("virtio-net", "AF_VIRT / virtio-net TCP"),
          ("unix", "AF_VIRT / Unix")]


def human(size):
    for unit, shift in (("M", 20), ("K", 10)):
        if size >= 1 << shift and size % (1 << shift) == 0:
            return f"{size >> shift}{unit}"
    return str(size)


def corrected(counters, base, stat):
    """A run's count of STAT less the guest's at-rest rate over the run."""
    rate = base["kvm"].get(stat, 0) / base["seconds"]
    return max(0.0, counters["kvm"].get(stat, 0) - rate * counters["seconds"])


def load(res):
    raw = res / "raw"
    rows, rest = {}, []
    for path in sorted(raw.glob("*-*-*-*.json")):
        doc = json.loads(path.read_text())
        key = (doc["transport"], doc["direction"], doc["size"])
        row = rows.setdefault(key, {"transport": key[0], "direction": key[1], "size": key[2]})
        reps = [r for r in doc["reps"] if r["perf"]]
        if doc.get("error"):
            row["error"] = "; ".join(filter(None, [row.get("error"),
                                                   f"{doc['mode']}: {doc['error']}"]))
        if not reps:
            continue
        base = doc["baseline"]
        rest.append(base["kvm"].get("exits", 0) / base["seconds"])
        ends = [r["perf"]["end"] for r in reps]
        guest_counts = doc["transport"] != "unix"  # the Unix runs never enter the guest

        def count(stat):
            return sum(corrected(r["counters"], base, stat) for r in reps)

        if doc["mode"] == "throughput":
            # The median repetition's rate; counts over all repetitions.
            row["throughput_MBps"] = statistics.median(throughput_mbps(e) for e in ends)
            mib = sum(bytes_moved(e) for e in ends) / 2**20
            if guest_counts and mib > 0:
                for col, stat in COUNTS.items():
                    row[f"{col}_per_MiB"] = count(stat) / mib
                row["raw_exits_per_MiB"] = sum(r["counters"]["kvm"].get("exits", 0)
                                               for r in reps) / mib
                flushes = sum(r["counters"]["vm"].get("flushes", 0) for r in reps)
                if doc["transport"] == "virt" and flushes:
                    row["descs_per_flush"] = sum(r["counters"]["vm"]["tx_descs"]
                                                 for r in reps) / flushes
        else:
            lat = rtt_us(ends[0])
            row["lat_p50_us"], row["lat_p99_us"] = lat["p50"], lat["p99"]
            rts = sum(e.get("round_trips") or 0 for e in ends)
            if guest_counts and rts:
                for col, stat in (("exits", "exits"), ("hypercalls", "hypercalls"),
                                  ("irqs", "irq_injections")):
                    row[f"{col}_per_rt"] = count(stat) / rts
    order = {t: i for i, t in enumerate(TRANSPORTS)}
    return rest, sorted(rows.values(), key=lambda r: (order[r["transport"]], r["direction"], r["size"]))


def fmt(value, digits=1):
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return value
    return f"{value:.{digits}f}"


def write_csv(res, rows):
    with open(res / "sweep.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(COLUMNS)
        for r in rows:
            w.writerow([r.get(c, "") if c in ("transport", "direction", "size", "error")
                        else fmt(r.get(c), 3) for c in COLUMNS])


def index(rows):
    return {(r["transport"], r["direction"], r["size"]): r for r in rows}


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else ""


def tables(rows):
    """Markdown: per direction, throughput, latency and counts by size."""
    at = index(rows)
    transports = [t for t in TRANSPORTS if any(r["transport"] == t for r in rows)]
    directions = [d for d in DIRECTION if any(r["direction"] == d for r in rows)]
    sizes = sorted({r["size"] for r in rows})
    ratios = [(t, name) for t, name in RATIOS if "virt" in transports and t in transports]
    md = []

    def table(title, head, body):
        md.extend([f"### {title}", "", "| " + " | ".join(head) + " |",
                   "|" + "---|" * len(head)])
        md.extend("| " + " | ".join(cells) + " |" for cells in body)
        md.append("")

    for d in directions:
        get = lambda t, s, col: at.get((t, d, s), {}).get(col)  # noqa: E731
        if any(get(t, s, "throughput_MBps") for t in transports for s in sizes):
            table(f"Throughput, {DIRECTION[d]} (MB/s; ratios > 1: AF_VIRT faster)",
                  ["size"] + [LABEL[t] for t in transports] + [n for _, n in ratios],
                  [[human(s)] + [fmt(get(t, s, "throughput_MBps")) for t in transports] +
                   [ratio(get("virt", s, "throughput_MBps"), get(t, s, "throughput_MBps"))
                    for t, _ in ratios] for s in sizes])
        if any(get(t, s, "lat_p50_us") for t in transports for s in sizes):
            table(f"Round trip, {DIRECTION[d]} starts it (p50 / p99 µs; ratios of p50 < 1: AF_VIRT faster)",
                  ["size"] + [LABEL[t] for t in transports] + [n for _, n in ratios],
                  [[human(s)] + [f"{fmt(get(t, s, 'lat_p50_us'), 0)} / {fmt(get(t, s, 'lat_p99_us'), 0)}"
                                 if get(t, s, "lat_p50_us") else "" for t in transports] +
                   [ratio(get("virt", s, "lat_p50_us"), get(t, s, "lat_p50_us")) for t, _ in ratios]
                   for s in sizes])
        counted = [t for t in transports if t != "unix"]
        if any(get(t, s, "exits_per_MiB") is not None for t in counted for s in sizes):
            table(f"Counts per MiB, {DIRECTION[d]}: VM exits / hypercalls / interrupts injected "
                  "(at-rest baseline subtracted)",
                  ["size"] + [LABEL[t] for t in counted],
                  [[human(s)] + [" / ".join(fmt(get(t, s, f"{c}_per_MiB"))
                                            for c in ("exits", "hypercalls", "irqs"))
                                 if get(t, s, "exits_per_MiB") is not None else "" for t in counted]
                   for s in sizes])
    failed = [r for r in rows if r.get("error")]
    if failed:
        md.append("Failed runs: " + "; ".join(
            f"{r['transport']} {r['direction']} {human(r['size'])}: {r['error']}" for r in failed))
        md.append("")
    return "\n".join(md)


def plots(res, rows):
    """throughput.png, latency.png, exits.png: one panel per direction, log scales."""
    gnuplot = shutil.which("gnuplot")
    if not gnuplot:
        sys.exit("report.py: gnuplot not found (Debian package gnuplot-nox: make deps)")
    data = res / "plot-data"
    data.mkdir(exist_ok=True)
    directions = [d for d in DIRECTION if any(r["direction"] == d for r in rows)]
    transports = [t for t in TRANSPORTS if any(r["transport"] == t for r in rows)]
    for t in transports:
        for d in directions:
            with open(data / f"{t}-{d}.dat", "w") as f:
                f.write("# size throughput_MBps lat_p50_us lat_p99_us exits_per_MiB\n")
                for r in rows:
                    if r["transport"] == t and r["direction"] == d:
                        f.write(" ".join(fmt(r.get(c), 3) or "NaN" for c in
                                         ("size", "throughput_MBps", "lat_p50_us", "lat_p99_us",
                                          "exits_per_MiB")) + "\n")
    figures = [("throughput.png", "Throughput (MB/s)", 2, transports),
               ("latency.png", "Round trip p50 (µs)", 3, transports),
               ("exits.png", "VM exits per MiB (at-rest baseline subtracted)", 5,
                [t for t in transports if t != "unix"])]
    column = {2: "throughput_MBps", 3: "lat_p50_us", 5: "exits_per_MiB"}
    # (A sweep without latency runs, say, has no latency plot.)
    figures = [f for f in figures if any(r.get(column[f[2]]) for r in rows)]
    script = []
    for png, ylabel, col, series in figures:
        script += [f"set output '{res / png}'",
                   f"set multiplot layout 1,{len(directions)}"]
        for d in directions:
            script += [f"set title '{DIRECTION[d]}'", f"set ylabel '{ylabel}'"]
            script.append("plot " + ", ".join(
                f"'{data / f'{t}-{d}.dat'}' using 1:{col} with linespoints title '{LABEL[t]}'"
                for t in series))
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


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench/report.py RESULTS_DIR")
    res = pathlib.Path(sys.argv[1])
    rest, rows = load(res)
    if not rows:
        sys.exit(f"report.py: no runs in {res / 'raw'}")
    write_csv(res, rows)
    body = tables(rows)
    rest = sorted(set(round(r) for r in rest))
    pngs = plots(res, rows)
    doc = [f"## Sweep {res.name}", "",
           "Guest at rest: " + ", ".join(map(str, rest)) + " VM exits/s (one figure per boot), "
           "subtracted from every run's counts.", "",
           body, micro_tables(res)] + [f"![{p}]({p})" for p in pngs]
    (res / "sweep.md").write_text("\n".join(doc) + "\n")
    print(body)
    print(f"wrote {res / 'sweep.csv'}, {res / 'sweep.md'}, " + ", ".join(str(res / p) for p in pngs))


if __name__ == "__main__":
    main()
