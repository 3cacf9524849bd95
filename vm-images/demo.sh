#!/bin/bash
# `make demo`: boot the test host and two guests, show the handshake from
# both sides with virtsock-stat, and run a short virtsock-perf sweep.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

host_cmd='
. tests/e2e/lib.sh
wait_until 180 "both guests to register" vm_count_is 2
echo "--- test host: virtsock-stat -a"
build/bin/virtsock-stat -i -m
echo "--- test host: Unix-socket ceiling, short sweep (virtsock-perf)"
build/bin/virtsock-perf --server unix:/tmp/perf.sock >/dev/null 2>&1 &
wait_until 10 "the perf server" test -S /tmp/perf.sock
build/bin/virtsock-perf --client unix:/tmp/perf.sock --sweep 64,1K,64K --time 1 --interval 0
kill %1
signal demo-done
wait_until 60 "the guests to power off" vm_count_is 0
echo "--- test host: both VMs gone from the listing after power-off"
'
guest_cmd='
. tests/e2e/lib.sh
echo "--- guest $TESTBED_GUEST: virtsock-stat -i"
build/bin/virtsock-stat -i
wait_signal demo-done 180
'
exec vm-images/testbed --guests 2 --host-grace 60 --host "$host_cmd" --guest "$guest_cmd"
