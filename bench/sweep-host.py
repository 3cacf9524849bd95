#!/usr/bin/env python3
"""Test-host side of bench/sweep.sh: drives every run of the sweep.

The guest only runs virtsock-perf servers (bench/sweep-guest.sh), so
nothing but the measured transfer runs in it while a run is measured.  This
script is the client of every run and snapshots the test host's KVM
statistics (debugfs, all of this host's VMs: there is one guest) and the
host module's per-VM counters just before and after it.

Directions are the data's: g2h = the guest sends (the client asks the guest's
server to stream, or, for latency, the guest starts each round trip);
h2g = the host sends or starts each round trip.  The Unix socket runs have
both ends in this test host (the ceiling of a same-machine transfer).

Writes $TESTBED_OUT/raw/<transport>-<direction>-<size>-<mode>.json, one per
point: each repetition's virtsock-perf JSON and counters (throughput runs
are repeated, see sweep_config.py), and the counters of the guest at rest
measured in this boot.  Runs
whose file exists already (copied in by bench/sweep.sh from an earlier boot
whose test host crashed) are not repeated.
"""
import json
import os
import pathlib
import subprocess
import sys
import time

from perf_json import client_args, rtt_us, throughput_mbps

out = pathlib.Path(os.environ["TESTBED_OUT"])
repo = pathlib.Path(__file__).resolve().parent.parent
perf = str(repo / "build/bin/virtsock-perf")
cfg = json.loads((out / "bench-config.json").read_text())
raw = out / "raw"
raw.mkdir(exist_ok=True)
KVM = pathlib.Path("/sys/kernel/debug/kvm")
VMS = pathlib.Path("/proc/virtsocket/vms")
UNIX_PATH = "/tmp/virtsocket-bench.sock"


def log(msg):
    print(f"{time.monotonic():9.2f}s: {msg}", flush=True)


def wait_file(path, seconds):
    end = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > end:
            sys.exit(f"sweep-host: timed out waiting for {path.name}")
        time.sleep(0.1)


def kvm_stats():
    """Every top-level KVM statistic (all VMs summed by KVM itself)."""
    stats = {}
    for f in KVM.iterdir():
        if f.is_file():
            try:
                stats[f.name] = int(f.read_text())
            except (OSError, ValueError):
                pass
    return stats


def vm_row():
    """The host module's counters for the one guest (/proc/virtsocket/vms)."""
    lines = VMS.read_text().split("\n")
    head = lines[0].split()
    rows = [line.split() for line in lines[1:] if line.strip()]
    if len(rows) != 1:
        return {}
    return {k: int(v, 0) for k, v in zip(head, rows[0]) if k not in ("ring_gpa",)}


def snapshot():
    return {"t": time.monotonic(), "kvm": kvm_stats(), "vm": vm_row()}


def delta(pre, post):
    d = {"seconds": post["t"] - pre["t"]}
    for part in ("kvm", "vm"):
        d[part] = {k: post[part][k] - pre[part][k]
                   for k in post[part] if k in pre[part]}
    return d


def net_addr(kind):
    return subprocess.run(["bash", "-c", f". {repo}/vm-images/net.sh; net_addr {kind} 1 guest"],
                          check=True, capture_output=True, text=True).stdout.strip()


def guest_cid():
    row = vm_row()
    if "cid" not in row:
        sys.exit("sweep-host: expected exactly one guest in /proc/virtsocket/vms")
    return row["cid"]


def measure(args, seconds):
    """One client run between counter snapshots."""
    pre = snapshot()
    try:
        # A stalled transport (e1000 in this nest) must not stop the sweep:
        # the run is recorded as failed.
        p = subprocess.run(args, capture_output=True, text=True,
                           timeout=seconds + cfg["run_grace"])
        rc, stdout, stderr = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, stdout, stderr = "timeout", e.stdout or "", e.stderr or ""
        if isinstance(stdout, bytes):
            stdout, stderr = stdout.decode(), (stderr or b"").decode()
    rep = {"rc": rc, "counters": delta(pre, snapshot()), "perf": None}
    try:
        rep["perf"] = json.loads(stdout) if rc == 0 else None
    except json.JSONDecodeError:
        rc = "bad-json"
    if not rep["perf"]:
        rep["error"] = f"({rc}) " + (stderr or stdout).strip()[-500:]
    return rep


def answers(uri, seconds=20):
    """The server at URI answers a 1-byte round trip within SECONDS."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            if subprocess.run([perf, "--client", uri, "--size", "1", "--mode", "latency",
                               "--count", "1", "--interval", "0"], capture_output=True,
                              timeout=10).returncode == 0:
                return True
        except subprocess.TimeoutExpired:
            pass
        time.sleep(2)
    return False


def guest_alive():
    """The guest runs and its AF_VIRT server answers (sweep-guest.sh always
    starts it): a guest this nest's emulation wedged answers nothing."""
    return bool(vm_row()) and answers(f"virt:{guest_cid()}:5201", 10)


def stop_test_host(why):
    """Power this test host off at once: a guest the emulation wedged may
    not even die when killed.  bench/sweep.sh boots a new test bed."""
    log(f"{why}: powering the test host off")
    subprocess.run(["sync"])
    subprocess.run(["poweroff", "-f"])
    sys.exit(1)


def main():
    transports = cfg["transports"]
    uris = {}
    servers = []
    if "unix" in transports:
        if os.path.exists(UNIX_PATH):
            os.unlink(UNIX_PATH)
        servers.append(subprocess.Popen([perf, "--server", f"unix:{UNIX_PATH}"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        uris["unix"] = f"unix:{UNIX_PATH}"
    # The guest boots in any case: measure nothing before it is up.
    wait_file(out / "signal.servers-up", 300)
    for t in transports:
        if t == "virt":
            uris[t] = f"virt:{guest_cid()}:5201"
        elif t == "vsock":
            uris[t] = "vsock:101:5202"
        elif t == "virtio-net":
            uris[t] = f"tcp:{net_addr('virtio-net')}:5203"
        elif t == "e1000":
            uris[t] = f"tcp:{net_addr('e1000')}:5204"

    if "unix" in uris:
        for _ in range(100):
            if os.path.exists(UNIX_PATH):
                break
            time.sleep(0.1)

    # The guest at rest (its servers waiting): what every run's counts
    # include without any transfer, per second.
    time.sleep(1)
    pre = snapshot()
    time.sleep(cfg["baseline_seconds"])
    base = delta(pre, snapshot())
    log(f"baseline: {base['kvm'].get('exits', 0) / base['seconds']:.0f} exits/s at rest")

    failures = 0
    # (transport, mode, direction) -> why its remaining runs are not made
    down = {}
    # Runs during which the guest died, one line per death (bench/sweep.sh
    # keeps the list across boots): a second death and the run is given up.
    crashed = (out / "crashed").read_text().split() if (out / "crashed").exists() else []
    inflight = raw / ".inflight"
    # One transport after another, the emulated e1000 last: when it hangs
    # it can take the guest down, and a new boot then has only its runs left.
    # Round trips before streams: they are light, and the e1000 tends to
    # hang under a stream.
    for t in sorted(transports, key=lambda t: t == "e1000"):
        for mode in sorted(cfg["modes"], key=lambda m: m == "throughput"):
            seconds = cfg["time"] if mode == "throughput" else cfg["latency_time"]
            reps = cfg["repeat"] if mode == "throughput" else 1
            for direction in cfg["directions"]:
                for size in cfg["sizes"]:
                    name = f"{t}-{direction}-{size}-{mode}"
                    if (raw / f"{name}.json").exists():
                        continue
                    key = (t, mode, direction)
                    if crashed.count(name) >= 2:
                        down[key] = f"the guest died twice during {name}"
                    if key in down:
                        # (The emulated e1000 of this nest can hang for good.)
                        doc = {"transport": t, "direction": direction, "size": size,
                               "mode": mode, "uri": uris[t], "baseline": base, "reps": [],
                               "error": f"not run: {down[key]}"}
                        failures += 1
                        log(f"{name}: {doc['error']}")
                        (raw / f"{name}.json").write_text(json.dumps(doc, indent=1))
                        continue
                    inflight.write_text(name + "\n")
                    args = client_args(perf, uris[t], size, mode, direction, seconds)
                    doc = {"transport": t, "direction": direction, "size": size, "mode": mode,
                           "uri": uris[t], "baseline": base,
                           "reps": [measure(args, seconds) for _ in range(reps)]}
                    done = [r for r in doc["reps"] if r["perf"]]
                    if len(done) < reps:
                        failures += 1
                        doc["error"] = next(r["error"] for r in doc["reps"] if not r["perf"])
                        log(f"{name}: FAILED: {doc['error']}")
                        if not answers(uris[t]):
                            if not guest_alive():
                                # This nest's emulation kills or wedges the
                                # guest now and then: sweep.sh boots again.
                                stop_test_host(f"the guest died or hung during {name}")
                            down[key] = f"{t} stopped answering after {name}"
                    else:
                        ends = [r["perf"]["end"] for r in done]
                        what = (" ".join(f"{throughput_mbps(e):.1f}" for e in ends) + " MB/s"
                                if mode == "throughput"
                                else f"p50 {rtt_us(ends[0])['p50']:.0f} us")
                        exits = sum(r["counters"]["kvm"].get("exits", 0) for r in done)
                        log(f"{name}: {what}, {exits} exits")
                    tmp = raw / f".{name}.json"
                    tmp.write_text(json.dumps(doc, indent=1))
                    tmp.rename(raw / f"{name}.json")
                    inflight.unlink()
    for s in servers:
        s.terminate()
    (out / "signal.done").touch()
    log(f"sweep done, {failures} failed run(s)")
    # A guest the emulated e1000 wedged never powers off by itself.
    for _ in range(600):
        if not vm_row():
            return
        time.sleep(0.1)
    (out / "guest-hung").touch()
    stop_test_host("the guest did not power off")


if __name__ == "__main__":
    main()
