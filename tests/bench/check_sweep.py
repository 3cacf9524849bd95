#!/usr/bin/env python3
"""Checks a bench/sweep.sh results directory (make test runs a --quick sweep):
every file is there, sweep.csv has the fixed columns and one complete row
per transport, direction and size, and the figures are plausible for each
transport.  Exit status 1 with the reasons otherwise.

    tests/bench/check_sweep.py RESULTS_DIR
"""
import csv
import json
import pathlib
import sys

# TESTBED.md: the emulated e1000 of this nest stalls now and then for good.
# Its runs may fail (reported, not counted as passed); every other
# transport's must not.
FLAKY = {"e1000"}
LEADING = ["transport", "direction", "size", "throughput_MBps", "lat_p50_us", "lat_p99_us",
           "exits_per_MiB", "hypercalls_per_MiB", "irqs_per_MiB"]


def main():
    res = pathlib.Path(sys.argv[1])
    cfg = json.loads((res / "config.json").read_text())
    problems = []
    for name in ("sweep.csv", "sweep.md", "throughput.png", "latency.png", "exits.png",
                 "micro.json", "callgrind.json"):
        if not (res / name).is_file() or (res / name).stat().st_size == 0:
            problems.append(f"{name} is missing or empty")
    # Test-bed boots that failed (bench/sweep.sh): only the nest's own crash
    # is forgiven, and never one during an AF_VIRT run.
    boots = res / "boots.txt"
    for line in boots.read_text().splitlines() if boots.exists() else []:
        print(f"check_sweep: {line}")
        if ": failure:" in line:
            problems.append(f"a test-bed boot failed: {line}")
    crashed = res / "crashed"
    for name in crashed.read_text().split() if crashed.exists() else []:
        if name.startswith("virt-"):
            problems.append(f"the guest died during the AF_VIRT run {name}")
    if len(list((res / "raw").glob("*.json"))) != cfg["runs"]:
        problems.append(f"raw/ does not hold the {cfg['runs']} runs")
    with open(res / "sweep.csv") as f:
        rows = list(csv.reader(f))
    if rows[0][:len(LEADING)] != LEADING:
        problems.append(f"sweep.csv columns: {rows[0][:len(LEADING)]}")
    table = {(r[0], r[1], int(r[2])): dict(zip(rows[0], r)) for r in rows[1:]}
    for t in cfg["transports"]:
        for d in cfg["directions"]:
            for s in cfg["sizes"]:
                r = table.get((t, d, s))
                if r is None:
                    problems.append(f"no row for {t} {d} {s}")
                    continue
                where = f"{t} {d} {s}"
                if r["error"] and t in FLAKY:
                    print(f"check_sweep: warning: {where} not measured: {r['error']}")
                    continue
                if r["error"]:
                    problems.append(f"{where}: {r['error']}")
                for col in ("throughput_MBps", "lat_p50_us", "lat_p99_us"):
                    if not r[col] or float(r[col]) <= 0:
                        problems.append(f"{where}: no {col}")
                if r["lat_p50_us"] and r["lat_p99_us"] and \
                        float(r["lat_p50_us"]) > float(r["lat_p99_us"]):
                    problems.append(f"{where}: p50 above p99")
                counts = [r[c] for c in ("exits_per_MiB", "hypercalls_per_MiB", "irqs_per_MiB")]
                if t == "unix":
                    if any(counts):
                        problems.append(f"{where}: KVM counts given for a transport without a VM")
                    continue
                if not all(counts):
                    problems.append(f"{where}: a count is missing")
                    continue
                hypercalls = float(r["hypercalls_per_MiB"])
                # AF_VIRT moves data only by hypercalls; the others never make one.
                if (t == "virt") != (hypercalls > 0):
                    problems.append(f"{where}: {hypercalls} hypercalls per MiB")
                if t != "virt" and float(r["exits_per_MiB"]) <= 0:
                    problems.append(f"{where}: no VM exits counted")
    if problems:
        print("check_sweep: FAIL:\n  " + "\n  ".join(problems))
        return 1
    print(f"check_sweep: the rows of {res / 'sweep.csv'} are complete and plausible")
    return 0


if __name__ == "__main__":
    sys.exit(main())
