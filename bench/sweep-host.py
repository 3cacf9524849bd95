#!/usr/bin/env python3
"""Test-host side of bench/sweep.sh: drives every run of one boot.

The guest only runs virtsock-perf servers (bench/sweep-guest.sh), so
nothing but the measured transfer runs in it while a run is measured.  This
script is the client of every run and snapshots the test host's KVM
statistics (debugfs, all of this host's VMs: there is one guest), the host
module's per-VM counters and the test host's /proc/stat just before and
after it; virtsock-perf itself reports both machines' CPU time.

Directions are the data's: g2h = the guest sends (the client asks the guest's
server to stream, or, for latency, the guest starts each round trip);
h2g = the host sends or starts each round trip.  The Unix socket runs have
both ends in this test host (the ceiling of a same-machine transfer).

Order (sweep_config.py's sets, modes, sizes, directions): for each set,
mode, size and direction, the transports of that point run side by side:
first one warm-up run each (short, unmeasured, with --verify: it checks the
payload), then each repetition in turn, the transports shuffled anew for
each round (a seeded shuffle: bench-config.json's seed, the boot and the
point), so that no transport always runs first, or right after a given
other, or its repetitions back to back.  The exception: the emulated e1000
runs in a pass of its own after all the others, as it can hang and take
the guest down (TESTBED.md); a new boot then has only its runs left.

Writes $TESTBED_OUT/raw/<set>-<transport>-<direction>-<size>-<mode>.json
per point once all its runs are done: the warm-up's and each repetition's
virtsock-perf JSON and counters, and the guest at rest measured in this
boot.  Points whose file exists already (copied in by bench/sweep.sh from
an earlier boot of the same series whose test host crashed) are not run
again.
"""
import json
import os
import pathlib
import random
import subprocess
import sys
import time

from perf_json import client_args, count_problem, rtt_us, throughput_mbps, verify_problem
from sweep_config import point_name

out = pathlib.Path(os.environ["TESTBED_OUT"])
repo = pathlib.Path(__file__).resolve().parent.parent
perf = str(repo / "build/bin/virtsock-perf")
cfg = json.loads((out / "bench-config.json").read_text())
raw = out / "raw"
raw.mkdir(exist_ok=True)
KVM = pathlib.Path("/sys/kernel/debug/kvm")
VMS = pathlib.Path("/proc/virtsocket/vms")
UNIX_PATH = "/tmp/virtsocket-bench.sock"
seq = 0  # runs made in this test-bed boot, in order


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


def cpu_ticks():
    """The test host's busy and total CPU ticks (as virtsock-perf counts them)."""
    f = [int(x) for x in pathlib.Path("/proc/stat").read_text().split("\n")[0].split()[1:9]]
    busy = f[0] + f[1] + f[2] + f[5] + f[6]
    return {"busy_ticks": busy, "total_ticks": busy + f[3] + f[4] + f[7]}


def snapshot():
    return {"t": time.monotonic(), "kvm": kvm_stats(), "vm": vm_row(), "cpu": cpu_ticks()}


def delta(pre, post):
    d = {"seconds": post["t"] - pre["t"]}
    for part in ("kvm", "vm", "cpu"):
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
    global seq
    seq += 1
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
    rep = {"seq": seq, "rc": rc, "counters": delta(pre, snapshot()), "perf": None}
    try:
        rep["perf"] = json.loads(stdout) if rc == 0 else None
    except json.JSONDecodeError:
        rc = "bad-json"
    if not rep["perf"]:
        rep["error"] = f"({rc}) " + (stderr or stdout).strip()[-500:]
    elif stderr.strip():
        rep["stderr"] = stderr.strip()[-500:]  # the tool's warnings (a window it did not get)
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


def groups():
    """(set, mode, size, direction): the points whose transports interleave.
    Round trips before streams: they are light, and the e1000 tends to hang
    under a stream."""
    return [(s, mode, size, d) for s in cfg["sets"]
            for mode in sorted(cfg["modes"], key=lambda m: m == "throughput")
            for size in s["sizes"] for d in cfg["directions"]]


class Sweep:
    def __init__(self, uris, base):
        self.uris, self.base = uris, base
        self.failures = 0
        # (set, transport, mode, direction) -> why its remaining runs are not made
        self.down = {}
        # Runs during which the guest died, one line per death (bench/sweep.sh
        # keeps the list across the boots of a series): a second death and the
        # point is given up.
        crashed = out / "crashed"
        self.crashed = crashed.read_text().split() if crashed.exists() else []
        self.inflight = raw / ".inflight"

    def all(self, transports):
        """Every group, the e1000 in a pass of its own after the others."""
        others = [t for t in transports if t != "e1000"]
        for pass_transports in ([others] if others else []) + ([["e1000"]] if "e1000" in transports else []):
            for group in groups():
                self.run(group, pass_transports)

    def write(self, name, doc):
        tmp = raw / f".{name}.json"
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.rename(raw / f"{name}.json")

    def run(self, group, transports):
        s, mode, size, d = group
        names = {t: point_name(s["name"], t, d, size, mode) for t in transports}
        todo = [t for t in transports if not (raw / f"{names[t]}.json").exists()]
        if not todo:
            return
        seconds = cfg["time"] if mode == "throughput" else cfg["latency_time"]
        reps = cfg["repeat"] if mode == "throughput" else 1
        docs = {t: {"set": s["name"], "window": s["window"], "transport": t, "direction": d,
                    "size": size, "mode": mode, "uri": self.uris[t], "boot": cfg["boot"],
                    "attempt": cfg["attempt"], "seed": cfg["seed"], "baseline": self.base,
                    "warmup": None, "reps": []} for t in todo}
        rng = random.Random(f"{cfg['seed']}/{cfg['boot']}/{s['name']}/{mode}/{size}/{d}")
        rounds = (["warmup"] if cfg["warmup"] else []) + list(range(reps))
        live = list(todo)
        for r in rounds:
            order = list(live)
            rng.shuffle(order)
            for t in order:
                if not self.one(docs[t], names[t], (s["name"], t, mode, d), r, seconds, size):
                    live.remove(t)
        for t in live:
            self.write(names[t], docs[t])

    def one(self, doc, name, key, r, seconds, size):
        """One run of a point; False when the point is over (failed, written)."""
        t, mode, d = key[1], key[2], key[3]
        if self.crashed.count(name) >= 2:
            self.down[key] = f"the guest died twice during {name}"
        if key in self.down:
            # (The emulated e1000 of this nest can hang for good.)
            doc["error"] = f"not run: {self.down[key]}"
            self.failures += 1
            log(f"{name}: {doc['error']}")
            self.write(name, doc)
            return False
        self.inflight.write_text(name + "\n")
        warm = r == "warmup"
        run_s = cfg["warmup"] if warm else seconds
        omit = 0 if warm else cfg["omit"]
        args = client_args(perf, self.uris[t], size, mode, d, run_s, window=doc["window"],
                           omit=omit, verify=warm)
        rep = measure(args, run_s + omit)
        rep["round"] = r
        if warm:
            doc["warmup"] = rep
        else:
            doc["reps"].append(rep)
        if not rep["perf"]:
            self.failures += 1
            doc["error"] = ("warm-up: " if warm else "") + rep["error"]
            log(f"{name}: FAILED: {doc['error']}")
            if not answers(self.uris[t]):
                if not guest_alive():
                    # This nest's emulation kills or wedges the guest now
                    # and then: sweep.sh boots again (.inflight names the run).
                    stop_test_host(f"the guest died or hung during {name}")
                self.down[key] = f"{t} stopped answering after {name}"
            self.write(name, doc)
            self.inflight.unlink()
            return False
        self.inflight.unlink()
        end = rep["perf"]["end"]
        problem = count_problem(rep["perf"], mode) or (verify_problem(rep["perf"], mode) if warm else None)
        if warm:
            what = f"warm-up, {sum(end['verified_bytes'].values())} bytes verified"
        elif mode == "throughput":
            what = f"{throughput_mbps(end):.1f} MB/s"
        else:
            what = f"p50 {rtt_us(end)['p50']:.0f} us"
        exits = rep["counters"]["kvm"].get("exits", 0)
        log(f"{name} [{r}]: {what}, {exits} exits" + (f"; {problem}" if problem else ""))
        return True


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
    log(f"boot {cfg['boot']} (attempt {cfg['attempt']}), baseline: "
        f"{base['kvm'].get('exits', 0) / base['seconds']:.0f} exits/s at rest, test host "
        f"{base['cpu']['busy_ticks'] / max(1, base['cpu']['total_ticks']):.1%} busy")

    sweep = Sweep(uris, base)
    sweep.all(transports)
    for s in servers:
        s.terminate()
    (out / "signal.done").touch()
    log(f"sweep done, {sweep.failures} failed point(s)")
    # A guest the emulated e1000 wedged never powers off by itself.
    for _ in range(600):
        if not vm_row():
            return
        time.sleep(0.1)
    (out / "guest-hung").touch()
    stop_test_host("the guest did not power off")


if __name__ == "__main__":
    main()
