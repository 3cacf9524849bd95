#!/bin/bash
# Host side of bench/compare.sh: perf servers, and KVM's counters (the test
# host's debugfs, all VMs) before and after each of the guest's runs.
set -euo pipefail
. "$(dirname "$0")/../tests/e2e/lib.sh"
perf=$REPO/build/bin/virtsock-perf
res=$TESTBED_OUT/results
mkdir -p "$res"
"$perf" --server virt:any:5201 >/dev/null 2>&1 &
"$perf" --server vsock:any:5202 >/dev/null 2>&1 &
wait_listening 5201
sleep 1
signal servers-up
kvm_counters() {
	local k
	for k in exits hypercalls io_exits mmio_exits irq_injections; do
		echo "$k $(cat /sys/kernel/debug/kvm/$k)"
	done
	grep -E '^[0-9]' /proc/virtsocket/vms | awk '{ print "virt_irqs " $10 }' | head -1
}
n=0
while [ ! -e "$TESTBED_OUT/signal.done" ]; do
	n=$((n + 1))
	wait_until 600 "guest run $n" test -e "$TESTBED_OUT/signal.pre.$n" -o -e "$TESTBED_OUT/signal.done"
	[ -e "$TESTBED_OUT/signal.done" ] && break
	kvm_counters >"$res/kvm.pre.$n"
	signal "ack-pre.$n"
	wait_signal "post.$n" 600
	kvm_counters >"$res/kvm.post.$n"
	cp "$res/kvm.pre.$n" "$res/$(cat "$TESTBED_OUT/name.$n").kvm.pre"
	cp "$res/kvm.post.$n" "$res/$(cat "$TESTBED_OUT/name.$n").kvm.post"
	signal "ack-post.$n"
done
kill %1 %2 2>/dev/null || true
