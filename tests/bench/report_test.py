#!/usr/bin/env python3
"""The benchmark pipeline offline, on the real virtsock-perf: a sweep's raw
files made as bench/sweep-host.py makes them (its client arguments, its
record of a run), from a server on a Unix socket, then bench/report.py and
tests/bench/check_sweep.py on them.  No VM: the "virt" transport here is
the same Unix server with made-up KVM counters (check_sweep.py wants
counts for it), the "unix" one has none, as in a real sweep.

    tests/bench/report_test.py PATH/TO/virtsock-perf
"""
import csv
import json
import pathlib
import subprocess
import sys
import tempfile

repo = pathlib.Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(repo / "bench"))
from perf_json import client_args, rtt_us, throughput_mbps  # noqa: E402


def fail(why):
    sys.exit(f"report_test: FAIL: {why}")


def counters(transport, seconds):
    kvm = {}
    if transport == "virt":
        kvm = {"exits": 5000, "hypercalls": 700, "irq_injections": 300, "io_exits": 10,
               "mmio_exits": 5, "halt_exits": 50}
    return {"seconds": seconds, "kvm": kvm, "vm": {"flushes": 10, "tx_descs": 40} if kvm else {}}


def main():
    perf = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="vsrt") as tmp:
        res = pathlib.Path(tmp)
        (res / "raw").mkdir()
        subprocess.run([sys.executable, str(repo / "bench/sweep_config.py"), "--sizes", "4K,64K",
                        "--transports", "virt,unix", "--directions", "g2h,h2g",
                        "--modes", "throughput,latency", "--time", "0.2",
                        "--latency-time", "0.2", "--repeat", "1",
                        "--out", str(res / "config.json")], check=True)
        cfg = json.loads((res / "config.json").read_text())
        uri = f"unix:{res}/perf.sock"
        server = subprocess.Popen([perf, "--server", uri], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)
        try:
            if "listening on" not in server.stderr.readline():
                fail("the server did not start")
            base = {"seconds": 3.0, "kvm": {"exits": 300}, "vm": {}}
            ends = {}
            for t in cfg["transports"]:
                for mode in cfg["modes"]:
                    seconds = cfg["time"] if mode == "throughput" else cfg["latency_time"]
                    for d in cfg["directions"]:
                        for size in cfg["sizes"]:
                            args = client_args(perf, uri, size, mode, d, seconds)
                            p = subprocess.run(args, capture_output=True, text=True, timeout=30)
                            if p.returncode != 0:
                                fail(f"{' '.join(args)}: {p.stderr}")
                            doc = json.loads(p.stdout)
                            ends[(t, d, size, mode)] = doc["end"]
                            rep = {"rc": 0, "counters": counters(t, seconds), "perf": doc}
                            (res / "raw" / f"{t}-{d}-{size}-{mode}.json").write_text(json.dumps(
                                {"transport": t, "direction": d, "size": size, "mode": mode,
                                 "uri": uri, "baseline": base, "reps": [rep]}))
        finally:
            server.terminate()
            server.wait()
        (res / "micro.json").write_text(json.dumps({"benchmarks": []}))
        (res / "callgrind.json").write_text(json.dumps({"workloads": []}))

        subprocess.run([sys.executable, str(repo / "bench/report.py"), str(res)], check=True,
                       stdout=subprocess.DEVNULL)
        check = subprocess.run([sys.executable, str(repo / "tests/bench/check_sweep.py"), str(res)],
                               capture_output=True, text=True)
        print(check.stdout, end="")
        if check.returncode != 0:
            fail("check_sweep.py rejects the sweep")

        # sweep.csv holds what virtsock-perf's JSON says.
        with open(res / "sweep.csv") as f:
            rows = {(r["transport"], r["direction"], int(r["size"])): r for r in csv.DictReader(f)}
        for (t, d, size, mode), end in ends.items():
            row = rows[(t, d, size)]
            if mode == "throughput":
                want = throughput_mbps(end)
                if end["sum_received"]["bytes"] <= 0 or abs(float(row["throughput_MBps"]) - want) > 0.001:
                    fail(f"{t} {d} {size}: throughput {row['throughput_MBps']}, the JSON says {want}")
            else:
                lat = rtt_us(end)
                if abs(float(row["lat_p50_us"]) - lat["p50"]) > 0.001 or \
                        abs(float(row["lat_p99_us"]) - lat["p99"]) > 0.001:
                    fail(f"{t} {d} {size}: round trip {row['lat_p50_us']}/{row['lat_p99_us']}, "
                         f"the JSON says {lat['p50']}/{lat['p99']}")
    print("report_test: the sweep's files from virtsock-perf's JSON are complete and agree")


if __name__ == "__main__":
    main()
