#!/bin/bash
# `make demo`: boot the test host and two guests, show the handshake from
# both sides, a message and a short throughput/latency sweep over AF_VIRT.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

host_cmd='
. tests/e2e/lib.sh
build/bin/virtsock-perf --server virt:any:5201 >/dev/null 2>&1 &
build/bin/virtsock-cat -l virt:any:5000 >/tmp/hello.txt &
wait_listening 5201
wait_until 180 "both guests to register" vm_count_is 2
echo "--- test host: virtsock-stat -i -m"
build/bin/virtsock-stat -i -m
signal host-ready
wait_signal hello-sent 180
wait %2
echo "--- test host: received over AF_VIRT: $(cat /tmp/hello.txt)"
wait_signal demo-done 600
echo "--- test host: AF_VIRT sockets now (virtsock-stat):"
build/bin/virtsock-stat || true
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
	echo "--- guest 1: AF_VIRT to the host, short sweep (virtsock-perf)"
	build/bin/virtsock-perf --client virt:host:5201 --sweep 64,4K,64K --time 1 --interval 0
	build/bin/virtsock-perf --client virt:host:5201 --size 1 --mode latency --count 1000
	echo "--- guest 1: flushes $(sysfs flushes), descriptors $(sysfs tx_descs), interrupts $(sysfs interrupts)"
	signal demo-done
else
	echo "--- guest $TESTBED_GUEST: virtsock-stat -i"
	build/bin/virtsock-stat -i
	wait_signal demo-done 600
fi
'
exec vm-images/testbed --guests 2 --host-grace 60 --host "$host_cmd" --guest "$guest_cmd"
