#!/bin/bash
# Quick side-by-side of AF_VIRT and AF_VSOCK (vhost-vsock) in one test-bed
# run: throughput at 4 KiB and 64 KiB both ways, 1-byte round trips, and the
# counts that carry over to real hardware (hypercalls and flushes, VM exits,
# interrupts, per MiB).  Prints a table; results in bench/results/compare-*.
#
#   bench/compare.sh [--bytes 8M] [--roundtrips 2000]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
bytes=8M roundtrips=2000
while [ $# -gt 0 ]; do
	case "$1" in
	--bytes) bytes=$2; shift ;;
	--roundtrips) roundtrips=$2; shift ;;
	*) echo "usage: bench/compare.sh [--bytes N] [--roundtrips N]" >&2; exit 2 ;;
	esac
	shift
done
out=$repo/bench/results/compare-$(date +%Y%m%d-%H%M%S)
mkdir -p "$out"
"$repo/vm-images/testbed" --vsock --timeout 1200 --host-grace 60 --out "$out/testbed" \
	--host "bench/compare-host.sh" \
	--guest "BENCH_BYTES=$bytes BENCH_ROUNDTRIPS=$roundtrips bench/compare-guest.sh"
python3 "$repo/bench/compare-report.py" "$out/testbed/results" | tee "$out/table.md"
