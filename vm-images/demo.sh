#!/bin/bash
# `make demo`: boot the test host and two guests, show the handshake from
# both sides and a message over AF_VIRT; then a short benchmark sweep of
# every transport (bench/sweep.sh --quick) in a second test-bed run.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

host_cmd='
. tests/e2e/lib.sh
build/bin/virtsock-perf --server virt:any:5201 >/dev/null 2>&1 &
build/bin/virtsock-cat -l virt:any:5000 >/tmp/hello.txt &
wait_listening 5201
wait_until 180 "both guests to register" vm_count_is 2
echo "--- test host: virtsock-stat -s"
build/bin/virtsock-stat -s
signal host-ready
wait_signal hello-sent 180
wait %2
echo "--- test host: received over AF_VIRT: $(cat /tmp/hello.txt)"
wait_signal demo-done 600
echo "--- test host: AF_VIRT sockets now (virtsock-stat -ap):"
build/bin/virtsock-stat -ap || true
kill %1
wait_until 60 "the guests to power off" vm_count_is 0
echo "--- test host: both VMs gone from the listing after power-off"
'
guest_cmd='
. tests/e2e/lib.sh
wait_signal host-ready 180
if [ "$TESTBED_GUEST" = 1 ]; then
	echo "hello from guest $TESTBED_GUEST, CID $(sysfs cid)" | build/bin/virtsock-cat virt:host:5000
	signal hello-sent
	echo "--- guest 1: 4 MiB to the host over AF_VIRT (virtsock-perf)"
	build/bin/virtsock-perf --client virt:host:5201 --size 4K --bytes 4M --interval 0
	echo "--- guest 1: flushes $(sysfs flushes), descriptors $(sysfs tx_descs), interrupts $(sysfs interrupts)"
	signal demo-done
else
	echo "--- guest $TESTBED_GUEST: virtsock-stat -s"
	build/bin/virtsock-stat -s
	wait_signal demo-done 600
fi
'
. vm-images/testbed-crash.sh
# The emulated test host crashes now and then on its own (TESTBED.md): boot
# it again then, saying why, as tests/e2e/run.sh does.
out=$(mktemp -d /tmp/demo.XXXXXX)
for attempt in 1 2 3; do
	rc=0
	vm-images/testbed --guests 2 --host-grace 60 --out "$out/$attempt" \
		--host "$host_cmd" --guest "$guest_cmd" 2>&1 | tee "$out/$attempt.log" || rc=$?
	[ "$rc" = 0 ] && break
	reason=$(testbed_verdict "$out/$attempt") || { echo "--- demo: $reason"; exit "$rc"; }
	[ "$attempt" = 3 ] && exit "$rc"
	echo "--- demo: $reason; booting the test bed again"
done
echo "--- demo: short sweep of all transports (make bench for the full one)"
bench/sweep.sh --quick
