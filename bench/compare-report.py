#!/usr/bin/env python3
"""Table of one bench/compare.sh run: throughput, latency and per-MiB counts."""
import json
import pathlib
import sys

res = pathlib.Path(sys.argv[1])


def counters(path):
    out = {}
    if path.exists():
        for line in path.read_text().split("\n"):
            if line.strip():
                key, value = line.split()
                out[key] = int(value)
    return out


def delta(name, side):
    pre = counters(res / f"{name}.{side}.pre")
    post = counters(res / f"{name}.{side}.post")
    return {k: post[k] - pre[k] for k in post if k in pre}


rows = []
for path in sorted(res.glob("*.json")):
    name = path.stem
    transport, direction, size = name.split("-")
    doc = json.loads(path.read_text())
    end = doc["end"]
    kvm = delta(name, "kvm")
    guest = delta(name, "guest") if transport == "virt" else {}
    row = {"transport": transport, "direction": direction, "size": int(size)}
    if direction == "latency":
        row.update(p50=end["latency_us"]["p50"], p99=end["latency_us"]["p99"])
        per = end.get("round_trips", 1) or 1
        row["exits_per_rt"] = kvm.get("exits", 0) / per
        row["hypercalls_per_rt"] = kvm.get("hypercalls", 0) / per
    else:
        mib = end["bytes"] / 2**20
        row["MBps"] = end["throughput_MBps"]
        row["exits_per_MiB"] = kvm.get("exits", 0) / mib
        row["hypercalls_per_MiB"] = kvm.get("hypercalls", 0) / mib
        row["irqs_per_MiB"] = kvm.get("irq_injections", 0) / mib
        if guest.get("flushes"):
            row["descs_per_flush"] = guest["tx_descs"] / guest["flushes"]
    rows.append(row)

print("| transport | direction | size | MB/s | exits/MiB | hypercalls/MiB | irqs/MiB | descs/flush |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["direction"] != "latency":
        print(f"| {r['transport']} | {r['direction']} | {r['size']} | {r['MBps']:.1f} | "
              f"{r['exits_per_MiB']:.0f} | {r['hypercalls_per_MiB']:.1f} | {r['irqs_per_MiB']:.1f} | "
              f"{r.get('descs_per_flush', float('nan')):.1f} |")
print()
print("| transport | 1-byte round trip p50 (us) | p99 (us) | exits/round trip | hypercalls/round trip |")
print("|---|---|---|---|---|")
for r in rows:
    if r["direction"] == "latency":
        print(f"| {r['transport']} | {r['p50']:.0f} | {r['p99']:.0f} | {r['exits_per_rt']:.1f} | "
              f"{r['hypercalls_per_rt']:.2f} |")
(res.parent.parent / "rows.json").write_text(json.dumps(rows, indent=1))
