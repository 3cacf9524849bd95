#!/bin/bash
# The benchmark sweep (`make bench`): throughput and round-trip latency by
# message size, both directions, for AF_VIRT, AF_VSOCK over vhost-vsock, TCP
# over virtio-net with vhost-net, TCP over an emulated e1000 (no vhost) and a
# Unix socket inside the test host, with the test host's KVM counts per MiB;
# then the micro-benchmarks.  One test-bed boot, one guest, all transports
# side by side.  Results: bench/results/<date-time>/ and bench/results/latest.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	cat <<USAGE
usage: bench/sweep.sh [options]       (make bench BENCH_ARGS='...')

  --quick              sizes 56,4K,64K, one 0.5 s run each (make demo runs it)
  --sizes LIST         message sizes, e.g. 56,4K,1M (default: 56,128,256,512,
                       1K,2K,4K,8K,16K,64K,256K,1M)
  --transports LIST    of virt,vsock,virtio-net,e1000,unix (default: all)
  --directions LIST    of g2h,h2g (default: both)
  --modes LIST         of throughput,latency (default: both)
  --time SECONDS       per throughput run (default 1)
  --repeat N           throughput runs per point, the median counts (default 3)
  --latency-time SEC   per latency run (default 1)
  --no-micro           skip the micro-benchmarks
  --out DIR            results directory (default bench/results/<date-time>,
                       also linked as bench/results/latest)
USAGE
}

sizes=56,128,256,512,1K,2K,4K,8K,16K,64K,256K,1M
transports=virt,vsock,virtio-net,e1000,unix directions=g2h,h2g
modes=throughput,latency tp_time=1 repeat=3 lat_time=1 micro=1 micro_time=0.2 out=
while [ $# -gt 0 ]; do
	case "$1" in
	--quick) sizes=56,4K,64K tp_time=0.5 repeat=1 lat_time=0.5 micro_time=0.05 ;;
	--sizes) sizes=$2; shift ;;
	--transports) transports=$2; shift ;;
	--directions) directions=$2; shift ;;
	--modes) modes=$2; shift ;;
	--time) tp_time=$2; shift ;;
	--repeat) repeat=$2; shift ;;
	--latency-time) lat_time=$2; shift ;;
	--no-micro) micro=0 ;;
	--out) out=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "bench/sweep.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
	shift || { echo "bench/sweep.sh: $1 needs a value" >&2; exit 2; }
done

stamp=$(date +%Y%m%d-%H%M%S)
[ -n "$out" ] || out=$repo/bench/results/$stamp
mkdir -p "$out"
out=$(cd "$out" && pwd)
rm -rf "$out"/raw "$out"/testbed.* "$out"/crashed "$out"/boots.txt	# a new run: nothing carried over
# shellcheck source=vm-images/testbed-crash.sh
. "$repo/vm-images/testbed-crash.sh"
mkdir "$out/raw"
# Checks the lists and writes the run's settings (bench/sweep_config.py).
python3 "$repo/bench/sweep_config.py" --sizes "$sizes" --transports "$transports" \
	--directions "$directions" --modes "$modes" --time "$tp_time" \
	--latency-time "$lat_time" --repeat "$repeat" --out "$out/config.json" || exit 2
read -r expected limit < <(python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
print(c["runs"], c["time_limit"])' "$out/config.json")
done_runs() { find "$out/raw" -name '*.json' | wc -l; }
progress() { echo "$(done_runs) $(cat "$out/crashed" 2>/dev/null | wc -l)"; }

# The emulated test host or guest sometimes dies under load (TESTBED.md):
# boot again for the runs still missing (a run during which the guest died
# twice is given up), five boots at most, until two boots in a row get no
# further (the nest also wedges a test host before its first run).
echo "bench: $expected runs; results in $out"
host_cmd='bench/sweep-host.py; rc=$?; touch "$TESTBED_OUT/signal.done"; exit $rc'
stuck=0
for boot in 1 2 3 4 5; do
	tb=$out/testbed.$boot
	mkdir -p "$tb/raw"
	cp "$out/config.json" "$tb/bench-config.json"
	cp "$out"/raw/*.json "$tb/raw/" 2>/dev/null || true
	[ -f "$out/crashed" ] && cp "$out/crashed" "$tb/crashed"
	before=$(progress)
	rc=0
	# Two test-host CPUs, as the README's numbers: vhost's workers and the
	# client run beside the guest's vCPU, as on a real host.
	TESTBED_HOST_CPUS=${TESTBED_HOST_CPUS:-2} "$repo/vm-images/testbed" --net --vsock --timeout "$limit" --host-grace 30 \
		--out "$tb" --host "$host_cmd" --guest bench/sweep-guest.sh || rc=$?
	cp "$tb"/raw/*.json "$out/raw/" 2>/dev/null || true
	# The run that was going when the test host or guest died.
	[ -f "$tb/raw/.inflight" ] && cat "$tb/raw/.inflight" >>"$out/crashed"
	[ "$rc" = 0 ] && [ "$(done_runs)" = "$expected" ] && break
	if [ "$(done_runs)" = "$expected" ] && [ -f "$tb/guest-hung" ]; then
		echo "bench: warning: every run is done, but the guest hung at the end (stopped)" >&2
		rc=0
		break
	fi
	# Every failed boot's verdict is kept (tests/bench/check_sweep.py fails
	# on any that is not the nest's own crash, even when a later boot is
	# clean).
	verdict=$(testbed_verdict "$tb")
	echo "boot $boot: exit $rc: $verdict" >>"$out/boots.txt"
	echo "bench: test bed boot $boot failed (exit $rc, logs in $tb; $verdict); $(done_runs) of $expected runs done" >&2
	if [ "$(progress)" = "$before" ]; then
		stuck=$((stuck + 1))
		[ "$stuck" = 2 ] && break
	else
		stuck=0
	fi
done
if [ "$micro" = 1 ]; then
	echo "bench: micro-benchmarks (Google Benchmark, then callgrind instruction counts)"
	"$repo/build/bin/virt_microbench" --benchmark_min_time="$micro_time" \
		--benchmark_out="$out/micro.json" --benchmark_out_format=json
	"$repo/bench/micro/callgrind.sh" "$repo/build" "$out/callgrind.json"
fi

python3 "$repo/bench/report.py" "$out"
if [ "$(dirname "$out")" = "$repo/bench/results" ]; then
	ln -sfn "$(basename "$out")" "$repo/bench/results/latest"
	echo "bench: results in $out (bench/results/latest)"
else
	echo "bench: results in $out"
fi
if [ "$(done_runs)" != "$expected" ]; then
	echo "bench: FAIL: only $(done_runs) of $expected runs were measured" >&2
	exit 1
elif [ "$rc" != 0 ]; then
	echo "bench: FAIL: the last test bed boot failed (exit $rc, see $tb)" >&2
	exit 1
fi
