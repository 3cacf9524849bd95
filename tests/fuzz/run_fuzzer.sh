#!/bin/sh
# Runs one libFuzzer target for a bounded time on its committed seed corpus.
#   run_fuzzer.sh FUZZER SEED_DIR WORK_DIR [libFuzzer options...]
# New inputs go to WORK_DIR/corpus (never into the source tree), a crashing
# input to WORK_DIR/crash-*.  Exits nonzero, as libFuzzer does, on any crash,
# sanitizer report, leak or failed invariant.  Longer runs by hand, e.g.:
#   tests/fuzz/run_fuzzer.sh build/bin/fuzz_ring tests/fuzz/corpus/fuzz_ring \
#       /tmp/fr -max_total_time=600 -jobs=2
set -eu
fuzzer=$1 seeds=$2 work=$3
shift 3
mkdir -p "$work/corpus"
exec "$fuzzer" -artifact_prefix="$work/" -print_final_stats=1 "$@" \
	"$work/corpus" "$seeds"
