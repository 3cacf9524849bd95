#!/usr/bin/env python3
"""Check bench/sweep.sh's options and write the run's settings as JSON."""
import argparse
import json
import math
import sys

TRANSPORTS = ["virt", "vsock", "virtio-net", "e1000", "unix"]
DIRECTIONS = ["g2h", "h2g"]
MODES = ["throughput", "latency"]
MAX_SIZE = 64 << 20  # virtsock-perf's limit


def size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20}
    num, unit = (text[:-1], text[-1].upper()) if text[-1:].isalpha() else (text, "")
    if unit not in units or not num.isdigit() or not 0 < int(num) * units[unit] <= MAX_SIZE:
        raise ValueError(f"bad message size '{text}' (1..64M, K and M suffixes)")
    return int(num) * units[unit]


def choice(text, allowed, what):
    items = [t for t in text.split(",") if t]
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise ValueError(f"bad {what} '{text}': choose from {','.join(allowed)}")
    return [t for t in allowed if t in items]  # fixed order, no repeats


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--sizes", "--transports", "--directions", "--modes", "--out"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--time", type=float, required=True)
    ap.add_argument("--latency-time", type=float, required=True)
    ap.add_argument("--repeat", type=int, required=True)
    a = ap.parse_args()
    try:
        cfg = {
            "sizes": sorted({size(s) for s in a.sizes.split(",") if s}),
            "transports": choice(a.transports, TRANSPORTS, "transport list"),
            "directions": choice(a.directions, DIRECTIONS, "direction list"),
            "modes": choice(a.modes, MODES, "mode list"),
        }
        if not cfg["sizes"]:
            raise ValueError("no message sizes given")
        for opt, value in (("--time", a.time), ("--latency-time", a.latency_time)):
            if not 0.1 <= value <= 60:
                raise ValueError(f"{opt} must be 0.1..60 seconds")
        if not 1 <= a.repeat <= 9:
            raise ValueError("--repeat must be 1..9")
    except ValueError as e:
        sys.exit(f"bench/sweep.sh: {e}")
    cfg.update(time=a.time, latency_time=a.latency_time, repeat=a.repeat,
               baseline_seconds=3, run_grace=5)
    runs = len(cfg["transports"]) * len(cfg["directions"]) * len(cfg["sizes"])
    cfg["runs"] = runs * len(cfg["modes"])
    per_point = {"throughput": a.repeat * (a.time + cfg["run_grace"]),
                 "latency": a.latency_time + cfg["run_grace"]}
    worst = runs * sum(per_point[m] for m in cfg["modes"])
    # Boot and baseline, then every run at its own limit at worst.
    cfg["time_limit"] = int(math.ceil(240 + worst))
    with open(a.out, "w") as f:
        json.dump(cfg, f, indent=1)


if __name__ == "__main__":
    main()
