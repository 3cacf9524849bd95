#!/bin/bash
# The benchmark sweep (`make bench`): throughput and round-trip latency by
# message size, both directions, for AF_VIRT, AF_VSOCK over vhost-vsock, TCP
# over virtio-net with vhost-net, TCP over an emulated e1000 (no vhost) and a
# Unix socket inside the test host, with the test host's KVM counts per MiB
# and both machines' CPU time per byte; then the micro-benchmarks.
#
# Fair to the baselines: every transport at one window (the "equal" set),
# and a second, labelled set at each transport's defaults; a warm-up run per
# point (it also verifies the payload) and a warm-up inside each measured
# run; the transports interleaved per size in a seeded random order; N
# independent test-bed boots, each measuring every point, reported as a
# mean with a 95 % confidence interval across boots (bench/report.py).
# Results: bench/results/<date-time>/ and bench/results/latest.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
started=$(date +%s)

usage() {
	cat <<USAGE
usage: bench/sweep.sh [options]       (make bench BENCH_ARGS='...')

  --quick              one boot; sizes 56,4K,64K (defaults set: 64K), one
                       0.5 s run each after a 0.2 s verified warm-up (make
                       demo and make bench-check run it); options after it
                       override it
  --sizes LIST         message sizes, e.g. 56,4K,1M (default: 56,128,256,512,
                       1K,2K,4K,8K,16K,64K,256K,1M)
  --transports LIST    of virt,vsock,virtio-net,e1000,unix (default: all)
  --directions LIST    of g2h,h2g (default: both)
  --modes LIST         of throughput,latency (default: both)
  --window SIZE        the window of every transport in the "equal" set
                       (default 1M, AF_VIRT's default; 4K..8M)
  --defaults-sizes LIST  sizes of the set at each transport's own defaults
                       (default 56,4K,64K,1M)
  --no-defaults-set    only the equal-window set
  --boots N            independent test-bed boots, each measuring every point
                       (default 3; the confidence intervals need 2 or more)
  --seed N             of the transports' order (default: random; recorded in
                       config.json)
  --time SECONDS       per throughput run (default 1)
  --repeat N           throughput runs per point and boot, the median counts
                       (default 3)
  --latency-time SEC   per latency run (default 1)
  --omit SECONDS       warm-up left out of each measured run (default 0.2)
  --warmup SECONDS     the unmeasured, verified run before each point's runs
                       (default 0.3; 0: none, and no payload verification)
  --no-micro           skip the micro-benchmarks
  --out DIR            results directory (default bench/results/<date-time>,
                       also linked as bench/results/latest)
USAGE
}

sizes=56,128,256,512,1K,2K,4K,8K,16K,64K,256K,1M defaults_sizes=56,4K,64K,1M window=1M
transports=virt,vsock,virtio-net,e1000,unix directions=g2h,h2g boots=3 seed=
modes=throughput,latency tp_time=1 repeat=3 lat_time=1 omit=0.2 warmup=0.3
micro=1 micro_time=0.2 out=
while [ $# -gt 0 ]; do
	case "$1" in
	--quick)
		sizes=56,4K,64K defaults_sizes=64K tp_time=0.5 repeat=1 lat_time=0.5 micro_time=0.05
		omit=0.1 warmup=0.2 boots=1 ;;
	--sizes) sizes=$2; shift ;;
	--transports) transports=$2; shift ;;
	--directions) directions=$2; shift ;;
	--modes) modes=$2; shift ;;
	--window) window=$2; shift ;;
	--defaults-sizes) defaults_sizes=$2; shift ;;
	--no-defaults-set) defaults_sizes= ;;
	--boots) boots=$2; shift ;;
	--seed) seed=$2; shift ;;
	--time) tp_time=$2; shift ;;
	--repeat) repeat=$2; shift ;;
	--latency-time) lat_time=$2; shift ;;
	--omit) omit=$2; shift ;;
	--warmup) warmup=$2; shift ;;
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
	--latency-time "$lat_time" --repeat "$repeat" --omit "$omit" --warmup "$warmup" \
	--window "$window" --defaults-sizes "$defaults_sizes" --boots "$boots" \
	--micro "$micro" ${seed:+--seed "$seed"} --out "$out/config.json" || exit 2
read -r expected limit < <(python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
print(c["runs"], c["time_limit"])' "$out/config.json")
done_runs() { find "$out/raw/boot-$1" -name '*.json' | wc -l; }
progress() { echo "$(done_runs "$1") $(grep -c "^$1 " "$out/crashed" 2>/dev/null)"; }

echo "bench: $boots boot(s) of $expected points each; results in $out"
host_cmd='bench/sweep-host.py; rc=$?; touch "$TESTBED_OUT/signal.done"; exit $rc'
failed=0
for boot in $(seq 1 "$boots"); do
	raw=$out/raw/boot-$boot
	mkdir -p "$raw"
	# The emulated test host or guest sometimes dies under load (TESTBED.md):
	# boot again for the points still missing (a point during whose runs
	# the guest died twice is given up), five test beds at most, until two
	# in a row get no further (the nest also wedges a test host before its
	# first run).  Those test beds measure the same boot of the series.
	stuck=0
	for attempt in 1 2 3 4 5; do
		tb=$out/testbed.$boot.$attempt
		mkdir -p "$tb/raw"
		python3 -c 'import json, sys
c = json.load(open(sys.argv[1]))
c.update(boot=int(sys.argv[2]), attempt=int(sys.argv[3]))
json.dump(c, open(sys.argv[4], "w"), indent=1)' "$out/config.json" "$boot" "$attempt" "$tb/bench-config.json"
		cp "$raw"/*.json "$tb/raw/" 2>/dev/null || true
		grep "^$boot " "$out/crashed" 2>/dev/null | cut -d' ' -f2 >"$tb/crashed" || true
		before=$(progress "$boot")
		rc=0
		# Two test-host CPUs, as the README's numbers: vhost's workers and the
		# client run beside the guest's vCPU, as on a real host.
		TESTBED_HOST_CPUS=${TESTBED_HOST_CPUS:-2} "$repo/vm-images/testbed" --net --vsock --timeout "$limit" --host-grace 30 \
			--out "$tb" --host "$host_cmd" --guest bench/sweep-guest.sh || rc=$?
		cp "$tb"/raw/*.json "$raw/" 2>/dev/null || true
		# The point whose run was going when the test host or guest died.
		[ -f "$tb/raw/.inflight" ] && sed "s/^/$boot /" "$tb/raw/.inflight" >>"$out/crashed"
		[ "$rc" = 0 ] && [ "$(done_runs "$boot")" = "$expected" ] && break
		if [ "$(done_runs "$boot")" = "$expected" ] && [ -f "$tb/guest-hung" ]; then
			echo "bench: warning: boot $boot: every run is done, but the guest hung at the end (stopped)" >&2
			rc=0
			break
		fi
		# Every failed test bed's verdict is kept (tests/bench/check_sweep.py
		# fails on any that is not the nest's own crash, even when a later
		# one is clean).
		# (testbed_verdict fails for a verdict of ours: under set -e that
		# ended the sweep before it was written down.)
		verdict=$(testbed_verdict "$tb") || true
		echo "boot $boot.$attempt: exit $rc: $verdict" >>"$out/boots.txt"
		echo "bench: boot $boot, test bed $attempt failed (exit $rc, logs in $tb; $verdict); $(done_runs "$boot") of $expected points done" >&2
		if [ "$(progress "$boot")" = "$before" ]; then
			stuck=$((stuck + 1))
			[ "$stuck" = 2 ] && break
		else
			stuck=0
		fi
	done
	if [ "$(done_runs "$boot")" != "$expected" ]; then
		echo "bench: boot $boot: only $(done_runs "$boot") of $expected points were measured" >&2
		failed=1
	elif [ "$rc" != 0 ]; then
		echo "bench: boot $boot: its last test bed failed (exit $rc, see $tb)" >&2
		failed=1
	fi
done
if [ "$micro" = 1 ]; then
	echo "bench: micro-benchmarks (Google Benchmark, then callgrind instruction counts)"
	"$repo/build/bin/virt_microbench" --benchmark_min_time="$micro_time" \
		--benchmark_out="$out/micro.json" --benchmark_out_format=json
	"$repo/bench/micro/callgrind.sh" "$repo/build" "$out/callgrind.json"
fi

/usr/bin/python3 "$repo/bench/report.py" "$out"
if [ "$(dirname "$out")" = "$repo/bench/results" ]; then
	ln -sfn "$(basename "$out")" "$repo/bench/results/latest"
	echo "bench: results in $out (bench/results/latest)"
else
	echo "bench: results in $out"
fi
echo "bench: took $(($(date +%s) - started)) s"
if [ "$failed" != 0 ]; then
	echo "bench: FAIL: a boot is incomplete or its last test bed failed (see above)" >&2
	exit 1
fi
