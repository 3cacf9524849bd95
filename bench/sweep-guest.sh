#!/bin/bash
# Guest side of bench/sweep.sh: one virtsock-perf server per transport, then
# wait for the test host's driver (bench/sweep-host.py) to finish.  Nothing
# else runs here during a measured run; the wait polls the shared directory
# only once a second (the driver's at-rest baseline includes that).
set -euo pipefail
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$REPO/vm-images/net.sh"
perf=$REPO/build/bin/virtsock-perf
servers=(
	virt:any:5201
	vsock:any:5202
	"tcp:$(net_addr virtio-net "$TESTBED_GUEST" guest):5203"
	"tcp:$(net_addr e1000 "$TESTBED_GUEST" guest):5204"
)
for uri in "${servers[@]}"; do
	"$perf" --server "$uri" >"/tmp/server.${uri%%:*}.${uri##*:}.log" 2>&1 &
done
for uri in "${servers[@]}"; do
	wait_until 30 "the $uri server" grep -q listening "/tmp/server.${uri%%:*}.${uri##*:}.log"
done
signal servers-up
while [ ! -e "$TESTBED_OUT/signal.done" ]; do
	sleep 1
done
kill $(jobs -p) 2>/dev/null || true
