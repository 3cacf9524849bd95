"""What the benchmark scripts run of virtsock-perf and read from its JSON
(iperf3's keys since wire version 3), in one place: bench/sweep-host.py
runs it, bench/report.py and tests/bench/check_sweep.py read it,
tests/bench/report_test.py checks them against the real tool offline."""


def client_args(perf, uri, size, mode, direction, seconds, window=0, omit=0.0, verify=False):
    """One client run of the sweep.  DIRECTION is the data's: g2h = the
    guest (the server) sends or starts each round trip.  WINDOW 0: each
    transport's defaults; OMIT: seconds of warm-up left out of the figures
    (the connection's own: TCP's slow start, the first ring wraps)."""
    args = [perf, "--client", uri, "--size", str(size), "--mode", mode,
            "--direction", "recv" if direction == "g2h" else "send",
            "--time", str(seconds), "--interval", "0", "--json"]
    if window:
        args += ["--window", str(window)]
    if omit:
        args += ["--omit", str(omit)]
    if verify:
        args.append("--verify")
    return args


def throughput_mbps(end):
    """MB/s (10^6 bytes) the receiving end measured."""
    if "sum_received" not in end:  # a run of wire version 2 (before iperf3's keys)
        return end["throughput_MBps"]
    return end["sum_received"]["bits_per_second"] / 8e6


def bytes_moved(end):
    """Bytes the receiving end got (throughput runs, after the warm-up)."""
    return end["sum_received"]["bytes"] if "sum_received" in end else end["bytes"]


def rtt_us(end):
    """The round-trip percentiles in µs: min, mean, p50, p90, p99, p99_9, max."""
    return end["rtt_us"] if "rtt_us" in end else end["latency_us"]


def count_problem(doc, mode):
    """Why the two ends' counts of a whole run (warm-up included) disagree,
    or None: the receiver must get every byte the sender sent, the echoer
    echo every round trip."""
    end = doc["end"]
    if mode == "throughput":
        sent = end["sum_sent"].get("bytes_total")
        got = end["sum_received"].get("bytes_total")
        if sent is None or got is None:
            return "an end did not report its byte count"
        if sent != got:
            return f"the sender sent {sent} bytes, the receiver got {got}"
        if got == 0:
            return "no bytes moved"
        return None
    trips = end.get("round_trips_total") or {}
    if trips.get("initiator") is None or trips.get("echoer") is None:
        return "an end did not report its round trips"
    if trips["initiator"] != trips["echoer"]:
        return f"{trips['initiator']} round trips made, {trips['echoer']} echoed"
    return None


def verify_problem(doc, mode):
    """Why a --verify run did not check every byte it received, or None."""
    end = doc["end"]
    if not doc["start"]["test_start"].get("verify"):
        return "not a --verify run"
    v = end.get("verified_bytes")
    if not v:
        return "no verified_bytes"
    if mode == "throughput":
        got = end["sum_received"].get("bytes_total") or 0
        checked = v["host"] + v["remote"]  # one end receives
        if got == 0 or checked != got:
            return f"{checked} bytes verified of {got} received"
        return None
    size = doc["start"]["test_start"]["blksize"]
    trips = (end.get("round_trips_total") or {}).get("initiator") or 0
    if trips == 0 or v["host"] != size * trips or v["remote"] != size * trips:
        return f"{v['host']} and {v['remote']} bytes verified of {size * trips} each way"
    return None


def windows(doc):
    """The window each end had at the start (start.buffers): (client, server)."""
    b = doc["start"].get("buffers") or {}
    host, remote = b.get("host") or {}, b.get("remote") or {}
    return host.get("window"), remote.get("window")


def buffers(doc, when="start"):
    """{"host": {...}, "remote": {...}} with sndbuf, rcvbuf, vm_buffer_size, window."""
    return (doc[when].get("buffers") or {}) if when == "start" else (doc["end"].get("buffers") or {})


def machine_busy(doc):
    """CPU-seconds the client's and the server's machines were busy over the
    measured part (/proc/stat; None where not reported): each machine's CPU
    time (its CPUs times the wall clock) less its idle and stolen time.  The
    kernel measures idle time (NO_HZ) but only samples busy time at the
    tick, and the emulated test host loses ticks when busy (10-20 % of them
    in a stream here), so its busy count alone falls short."""
    m = doc["end"].get("cpu_machine_seconds") or {}

    def side(s):
        if m.get(f"{s}_idle") is None:
            return None
        all_cpu = m[f"{s}_cpus"] * m[f"{s}_seconds"]
        return min(all_cpu, max(0.0, all_cpu - m[f"{s}_idle"] - m[f"{s}_steal"]))
    return side("host"), side("remote")


def machine_busy_ticks(doc):
    """The same from the busy ticks alone (the lower bound)."""
    m = doc["end"].get("cpu_machine_seconds") or {}
    return m.get("host_busy"), m.get("remote_busy")
