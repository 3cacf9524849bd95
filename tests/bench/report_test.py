#!/usr/bin/python3
"""The benchmark pipeline offline, on the real virtsock-perf: two boots of a
sweep made by bench/sweep-host.py's own driver (its order, warm-ups,
windows, --verify, record of each run) against servers on Unix sockets,
then bench/report.py and tests/bench/check_sweep.py on them; then
check_sweep.py on copies spoilt one way each, every one of which it must
reject.  No VM: "virt" and "vsock" here are Unix servers with made-up KVM
counters (check_sweep.py wants counts for them), "unix" has none, as in a
real sweep.

    tests/bench/report_test.py PATH/TO/virtsock-perf
    (REPORT_TEST_KEEP=DIR keeps a copy of the results in DIR)
"""
import csv
import importlib.util
import json
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

repo = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(repo / "bench"))
from perf_json import bytes_moved, rtt_us, throughput_mbps  # noqa: E402
from stats import mean_ci, ratio_ci, verdict  # noqa: E402

TRANSPORTS = ["virt", "vsock", "unix"]
WINDOW = 64 << 10  # under net.core.wmem_max's default: no CAP_NET_ADMIN needed


def fail(why):
    sys.exit(f"report_test: FAIL: {why}")


def fake_kvm(transport):
    """Made-up KVM counts of one run: AF_VIRT makes hypercalls, the others not."""
    if transport == "unix":
        return {}
    kvm = {"exits": 5000, "irq_injections": 300, "io_exits": 10, "mmio_exits": 5, "halt_exits": 50}
    kvm["hypercalls"] = 700 if transport == "virt" else 0
    return kvm


def one_boot(perf, res, tmp, boot, uris):
    """bench/sweep-host.py's driver, in this process, for one boot."""
    tb = tmp / f"testbed.{boot}"
    (tb / "raw").mkdir(parents=True)
    cfg = json.loads((res / "config.json").read_text())
    cfg.update(boot=boot, attempt=1)
    (tb / "bench-config.json").write_text(json.dumps(cfg))
    os.environ["TESTBED_OUT"] = str(tb)
    spec = importlib.util.spec_from_file_location(f"sweep_host_{boot}", repo / "bench/sweep-host.py")
    host = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(host)
    host.perf = perf
    # No KVM here: the counters are made up per transport (by its URI).
    host.snapshot = lambda: {"t": time.monotonic(), "kvm": {}, "vm": {}, "cpu": host.cpu_ticks()}
    real_measure = host.measure

    def measure(args, seconds):
        rep = real_measure(args, seconds)
        t = next(t for t, u in uris.items() if u == args[2])
        rep["counters"]["kvm"] = fake_kvm(t)
        rep["counters"]["vm"] = {"flushes": 10, "tx_descs": 40} if t == "virt" else {}
        return rep

    def stop(why):
        fail(f"sweep-host would power the test host off: {why}")

    host.measure, host.stop_test_host = measure, stop
    base = {"seconds": 3.0, "kvm": {"exits": 300}, "vm": {}, "cpu": {"busy_ticks": 30, "total_ticks": 600}}
    sweep = host.Sweep(uris, base)
    sweep.all(cfg["transports"])
    if sweep.failures:
        fail(f"boot {boot}: {sweep.failures} point(s) failed")
    dest = res / "raw" / f"boot-{boot}"
    dest.mkdir(parents=True)
    for p in (tb / "raw").glob("*.json"):
        shutil.copy(p, dest)


def check(res, want_ok, says=""):
    p = subprocess.run([sys.executable, str(repo / "tests/bench/check_sweep.py"), str(res)],
                       capture_output=True, text=True)
    if want_ok and p.returncode != 0:
        print(p.stdout, end="")
        fail("check_sweep.py rejects the sweep")
    if not want_ok and (p.returncode != 1 or says not in p.stdout):
        print(p.stdout, end="")
        fail(f"check_sweep.py does not reject a sweep with {says!r}")


def spoilt(res, tmp, name, change):
    """A copy of the results with one thing changed."""
    copy = tmp / f"spoilt-{name}"
    shutil.copytree(res, copy)
    change(copy)
    return copy


def edit_json(path, change):
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def wrong_verdict(res):
    """ratios.csv's first verdict turned into another."""
    with open(res / "ratios.csv") as f:
        rows = list(csv.DictReader(f))
    rows[0]["verdict"] = "loss" if rows[0]["verdict"] == "win" else "win"
    with open(res / "ratios.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def check_figures(res):
    """sweep.csv and ratios.csv hold what the raw JSON says."""
    per = {}  # (set, transport, direction, size, mode) -> per boot medians
    for bdir in sorted((res / "raw").glob("boot-*")):
        for path in bdir.glob("*.json"):
            doc = json.loads(path.read_text())
            ends = [r["perf"] for r in doc["reps"]]
            key = (doc["set"], doc["transport"], doc["direction"], doc["size"])
            if doc["mode"] == "throughput":
                per.setdefault(key + ("tp",), []).append(
                    statistics.median(throughput_mbps(p["end"]) for p in ends))
                # The test host's CPUs' time less idle and steal, per byte.
                m = [p["end"]["cpu_machine_seconds"] for p in ends]
                per.setdefault(key + ("cpu",), []).append(statistics.median(
                    (x["host_cpus"] * x["host_seconds"] - x["host_idle"] - x["host_steal"]) * 1e9 /
                    bytes_moved(p["end"]) for p, x in zip(ends, m)))
                per.setdefault(key + ("cpu_ticks",), []).append(statistics.median(
                    x["host_busy"] * 1e9 / bytes_moved(p["end"]) for p, x in zip(ends, m)))
            else:
                per.setdefault(key + ("p50",), []).append(rtt_us(ends[0]["end"])["p50"])
    with open(res / "sweep.csv") as f:
        rows = {(r["set"], r["transport"], r["direction"], int(r["size"])): r for r in csv.DictReader(f)}
    for key, r in rows.items():
        for what, col, lo_col in (("tp", "throughput_MBps", "throughput_ci_lo"),
                                  ("p50", "lat_p50_us", "lat_p50_ci_lo"),
                                  ("cpu", "cpu_host_ns_per_byte", "cpu_host_ci_lo")):
            mean, lo, _ = mean_ci(per[key + (what,)])
            if abs(float(r[col]) - mean) > 1e-3 * max(1, mean) or abs(float(r[lo_col]) - lo) > 1e-3 * max(1, abs(lo)):
                fail(f"{key} {col}: {r[col]} [{r[lo_col]}], the JSON says {mean} [{lo}]")
        ticks = mean_ci(per[key + ("cpu_ticks",)])[0]
        if abs(float(r["cpu_host_ticks_ns_per_byte"]) - ticks) > 1e-3 * max(1, ticks):
            fail(f"{key}: CPU per byte from the ticks {r['cpu_host_ticks_ns_per_byte']}, the JSON says {ticks}")
        want = WINDOW if key[0] == "equal" else int(pathlib.Path("/proc/sys/net/core/wmem_default")
                                                      .read_text()) // 2
        if key[1] == "unix" or key[0] == "equal":  # (the fakes are Unix sockets too)
            if r["window_client"] != str(want) or r["window_server"] != str(want):
                fail(f"{key}: windows {r['window_client']}, {r['window_server']}, expected {want}")
    with open(res / "ratios.csv") as f:
        ratios = list(csv.DictReader(f))
    if not ratios:
        fail("ratios.csv is empty")
    for x in ratios:
        if x["metric"] != "throughput":
            continue
        key = (x["set"], "virt", x["direction"], int(x["size"]), "tp")
        base = (x["set"], x["baseline"], x["direction"], int(x["size"]), "tp")
        r, lo, hi = ratio_ci([a / b for a, b in zip(per[key], per[base])])
        if abs(float(x["ratio"]) - r) > 1e-3 * r or x["verdict"] != verdict(lo, hi, 2, True):
            fail(f"ratios.csv {x}: expected {r} [{lo}, {hi}] {verdict(lo, hi, 2, True)}")


def main():
    perf = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="vsrt") as tmpname:
        tmp = pathlib.Path(tmpname)
        res = tmp / "res"
        (res / "raw").mkdir(parents=True)
        subprocess.run([sys.executable, str(repo / "bench/sweep_config.py"), "--sizes", "4K,64K",
                        "--defaults-sizes", "64K", "--window", str(WINDOW),
                        "--transports", ",".join(TRANSPORTS), "--directions", "g2h,h2g",
                        "--modes", "throughput,latency", "--time", "0.1", "--latency-time", "0.1",
                        "--repeat", "2", "--omit", "0.05", "--warmup", "0.1", "--boots", "2",
                        "--seed", "7", "--out", str(res / "config.json")], check=True)
        servers, uris = [], {}
        try:
            for t in TRANSPORTS:
                uris[t] = f"unix:{tmp}/{t}.sock"
                servers.append(subprocess.Popen([perf, "--server", uris[t]], stdout=subprocess.DEVNULL,
                                                stderr=subprocess.PIPE, text=True))
                if "listening on" not in servers[-1].stderr.readline():
                    fail(f"the {t} server did not start")
            for boot in (1, 2):
                one_boot(perf, res, tmp, boot, uris)
        finally:
            for s in servers:
                s.terminate()
                s.wait()
        (res / "micro.json").write_text(json.dumps({"benchmarks": []}))
        (res / "callgrind.json").write_text(json.dumps({"workloads": []}))
        subprocess.run([sys.executable, str(repo / "bench/report.py"), str(res)], check=True,
                       stdout=subprocess.DEVNULL)
        check(res, True)
        check_figures(res)

        # Each spoilt copy must fail, for its reason.
        point = "equal-virt-h2g-4096-throughput.json"
        b2 = pathlib.Path("raw/boot-2")
        cases = {
            "holds": lambda r: (r / b2 / point).unlink(),
            "byte counts": lambda r: edit_json(
                r / b2 / point, lambda d: d["reps"][1]["perf"]["end"]["sum_received"].update(
                    bytes_total=d["reps"][1]["perf"]["end"]["sum_received"]["bytes_total"] - 1)),
            "payload verification": lambda r: edit_json(
                r / b2 / point, lambda d: d["warmup"]["perf"]["end"]["verified_bytes"].update(remote=0)),
            "no verified warm-up run": lambda r: edit_json(r / b2 / point, lambda d: d.update(warmup=None)),
            "unequal windows": lambda r: edit_json(
                r / b2 / point, lambda d: d["reps"][0]["perf"]["start"]["buffers"]["remote"].update(
                    window=WINDOW // 2)),
            "not interleaved": lambda r: edit_json(
                r / b2 / point, lambda d: [x.update(seq=x["seq"] + (1000 if x["round"] == 0 else 0))
                                           for x in d["reps"]]),
            "a test bed failed": lambda r: (r / "boots.txt").write_text(
                "boot 2.1: exit 1: failure: host soft lockup in virt_flush\n"),
            "the guest died during the AF_VIRT run": lambda r: (r / "crashed").write_text(
                "1 equal-virt-g2h-4096-latency\n"),
            "its interval says": wrong_verdict,
        }
        for says, change in cases.items():
            check(spoilt(res, tmp, says.replace(" ", "-"), change), False, says)
        if os.environ.get("REPORT_TEST_KEEP"):  # a copy to look at
            shutil.copytree(res, os.environ["REPORT_TEST_KEEP"], dirs_exist_ok=True)
    print("report_test: two boots from sweep-host.py's driver and virtsock-perf, reported and checked; "
          f"{len(cases)} spoilt copies rejected")


if __name__ == "__main__":
    main()
