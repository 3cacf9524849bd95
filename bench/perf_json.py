"""What the benchmark scripts run of virtsock-perf and read from its JSON
(iperf3's keys since wire version 3), in one place: bench/sweep-host.py
runs it, bench/report.py reads it, tests/bench/report_test.py checks both
against the real tool offline."""


def client_args(perf, uri, size, mode, direction, seconds):
    """One client run of the sweep.  DIRECTION is the data's: g2h = the
    guest (the server) sends or starts each round trip."""
    return [perf, "--client", uri, "--size", str(size), "--mode", mode,
            "--direction", "recv" if direction == "g2h" else "send",
            "--time", str(seconds), "--interval", "0", "--json"]


def throughput_mbps(end):
    """MB/s (10^6 bytes) the receiving end measured."""
    if "sum_received" not in end:  # a run of wire version 2 (before iperf3's keys)
        return end["throughput_MBps"]
    return end["sum_received"]["bits_per_second"] / 8e6


def bytes_moved(end):
    """Bytes the receiving end got (throughput runs)."""
    return end["sum_received"]["bytes"] if "sum_received" in end else end["bytes"]


def rtt_us(end):
    """The round-trip percentiles in µs: min, mean, p50, p90, p99, p99_9, max."""
    return end["rtt_us"] if "rtt_us" in end else end["latency_us"]
