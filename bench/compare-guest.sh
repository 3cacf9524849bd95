#!/bin/bash
# Guest side of bench/compare.sh: runs virtsock-perf against the test host
# over AF_VIRT and AF_VSOCK, with the host snapshotting KVM's counters
# around every run.
set -euo pipefail
. "$(dirname "$0")/../tests/e2e/lib.sh"
perf=$REPO/build/bin/virtsock-perf
res=$TESTBED_OUT/results
mkdir -p "$res"
wait_signal servers-up 120
n=0
measure() { # measure NAME ARGS...: one client run between counter snapshots
	local name=$1
	shift
	n=$((n + 1))
	for k in flushes tx_descs interrupts rx_events; do echo "$k $(sysfs $k)"; done >"$res/$name.guest.pre"
	signal "pre.$n"; wait_signal "ack-pre.$n"
	"$perf" "$@" --json >"$res/$name.json"
	for k in flushes tx_descs interrupts rx_events; do echo "$k $(sysfs $k)"; done >"$res/$name.guest.post"
	echo "$name" >"$TESTBED_OUT/name.$n"
	signal "post.$n"; wait_signal "ack-post.$n"
}
for size in 4096 65536; do
	for dir in send recv; do
		for t in virt vsock; do
			port=5201; [ $t = vsock ] && port=5202
			measure "$t-$dir-$size" --client "$t:2:$port" --size "$size" \
				--bytes "${BENCH_BYTES:-8M}" --direction "$dir"
		done
	done
done
for t in virt vsock; do
	port=5201; [ $t = vsock ] && port=5202
	measure "$t-latency-1" --client "$t:2:$port" --size 1 --mode latency \
		--count "${BENCH_ROUNDTRIPS:-2000}"
done
echo "$n" >"$TESTBED_OUT/runs"
signal done
