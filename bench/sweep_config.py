#!/usr/bin/env python3
"""Check bench/sweep.sh's options and write the run's settings as JSON.

Two sets of points: "equal", every transport at one window (--window), and
"defaults", each transport at its own defaults (fewer sizes: --defaults-sizes;
none: no such set).  Each boot measures every point of both sets."""
import argparse
import json
import math
import random
import sys

TRANSPORTS = ["virt", "vsock", "virtio-net", "e1000", "unix"]
DIRECTIONS = ["g2h", "h2g"]
MODES = ["throughput", "latency"]
MAX_SIZE = 64 << 20  # virtsock-perf's limit
MAX_VM_WINDOW = 8 << 20  # AF_VIRT's SO_VM_SOCKETS_BUFFER_SIZE maximum
# Per run: connecting, the tool's start and end, the JSON; above it the run
# is stopped as hung (sweep-host.py).
RUN_GRACE = 5


def size(text):
    units = {"": 1, "K": 1 << 10, "M": 1 << 20}
    num, unit = (text[:-1], text[-1].upper()) if text[-1:].isalpha() else (text, "")
    if unit not in units or not num.isdigit() or not 0 < int(num) * units[unit] <= MAX_SIZE:
        raise ValueError(f"bad message size '{text}' (1..64M, K and M suffixes)")
    return int(num) * units[unit]


def sizes(text):
    return sorted({size(s) for s in text.split(",") if s})


def choice(text, allowed, what):
    items = [t for t in text.split(",") if t]
    bad = [t for t in items if t not in allowed]
    if bad or not items:
        raise ValueError(f"bad {what} '{text}': choose from {','.join(allowed)}")
    return [t for t in allowed if t in items]  # fixed order, no repeats


def point_name(set_name, transport, direction, size_, mode):
    """The file name (without .json) of one point's record in raw/boot-N/."""
    return f"{set_name}-{transport}-{direction}-{size_}-{mode}"


def points(cfg):
    """Every point of one boot: (set, transport, direction, size, mode)."""
    return [(s["name"], t, d, z, m) for s in cfg["sets"] for t in cfg["transports"]
            for d in cfg["directions"] for z in s["sizes"] for m in cfg["modes"]]


def main():
    ap = argparse.ArgumentParser()
    for opt in ("--sizes", "--transports", "--directions", "--modes", "--out"):
        ap.add_argument(opt, required=True)
    ap.add_argument("--time", type=float, required=True)
    ap.add_argument("--latency-time", type=float, required=True)
    ap.add_argument("--repeat", type=int, required=True)
    ap.add_argument("--omit", type=float, default=0.2)
    ap.add_argument("--warmup", type=float, default=0.3)
    ap.add_argument("--window", default="1M")
    ap.add_argument("--defaults-sizes", default="")
    ap.add_argument("--boots", type=int, default=1)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--micro", type=int, choices=(0, 1), default=1)
    a = ap.parse_args()
    try:
        window = size(a.window)
        if not 4096 <= window <= MAX_VM_WINDOW:
            raise ValueError("--window must be 4K..8M (AF_VIRT's and AF_VSOCK's range)")
        cfg = {
            "transports": choice(a.transports, TRANSPORTS, "transport list"),
            "directions": choice(a.directions, DIRECTIONS, "direction list"),
            "modes": choice(a.modes, MODES, "mode list"),
            "sets": [{"name": "equal", "window": window, "sizes": sizes(a.sizes)}],
        }
        if not cfg["sets"][0]["sizes"]:
            raise ValueError("no message sizes given")
        if a.defaults_sizes:
            # window 0: virtsock-perf without -w, each transport's defaults.
            cfg["sets"].append({"name": "defaults", "window": 0, "sizes": sizes(a.defaults_sizes)})
        for opt, value in (("--time", a.time), ("--latency-time", a.latency_time)):
            if not 0.1 <= value <= 60:
                raise ValueError(f"{opt} must be 0.1..60 seconds")
        for opt, value in (("--omit", a.omit), ("--warmup", a.warmup)):
            if not 0 <= value <= 10:
                raise ValueError(f"{opt} must be 0..10 seconds")
        if 0 < a.warmup < 0.1:
            raise ValueError("--warmup must be 0 (none) or at least 0.1 s")
        if not 1 <= a.repeat <= 9:
            raise ValueError("--repeat must be 1..9")
        if not 1 <= a.boots <= 30:
            raise ValueError("--boots must be 1..30")
    except ValueError as e:
        sys.exit(f"bench/sweep.sh: {e}")
    # The order of the transports within a size (sweep-host.py) follows
    # from the seed, the boot and the point: given the seed it is repeated.
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    cfg.update(time=a.time, latency_time=a.latency_time, repeat=a.repeat, omit=a.omit,
               warmup=a.warmup, boots=a.boots, seed=seed, micro=bool(a.micro),
               baseline_seconds=3, run_grace=RUN_GRACE,
               # The warm-up run checks the payload (virtsock-perf --verify); the
               # measured runs do not: the pattern's copy and compare would be
               # measured too.
               verify="warm-up run")
    cfg["runs"] = len(points(cfg))  # point files per boot
    per_point = {"throughput": a.repeat * (a.omit + a.time + RUN_GRACE),
                 "latency": a.omit + a.latency_time + RUN_GRACE}
    warm = (a.warmup + RUN_GRACE) if a.warmup else 0
    worst = sum(per_point[m] + warm for (_, _, _, _, m) in points(cfg))
    # Boot and baseline, then every run at its own limit at worst.
    cfg["time_limit"] = int(math.ceil(240 + worst))
    with open(a.out, "w") as f:
        json.dump(cfg, f, indent=1)


if __name__ == "__main__":
    main()
