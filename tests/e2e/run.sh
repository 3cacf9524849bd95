#!/bin/bash
# End-to-end tests in real nested VMs: each case in tests/e2e/cases/ is one
# test bed run with a host side and a guest side (see case.sh).
#
#   tests/e2e/run.sh [CASE...]     (default: every case)
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"

make -s -C tests/e2e/hostile >/dev/null || { echo "e2e: cannot build the hostile test module" >&2; exit 1; }

if [ $# -gt 0 ]; then
	cases=("$@")
else
	mapfile -t cases < <(ls tests/e2e/cases/ | sed 's/\.sh$//')
fi

# shellcheck source=vm-images/testbed-crash.sh
. vm-images/testbed-crash.sh

results=$repo/build/e2e
rm -rf "$results"
mkdir -p "$results"
passed=0 failed=0 failed_names=() retries=0
for c in "${cases[@]}"; do
	[ -f "tests/e2e/cases/$c.sh" ] || { echo "e2e: no case '$c'" >&2; exit 2; }
	# shellcheck source=/dev/null
	description=$(. "tests/e2e/cases/$c.sh"; echo "$DESCRIPTION")
	mapfile -t args < <(. "tests/e2e/cases/$c.sh"; printf '%s\n' "${TESTBED_ARGS[@]}")
	echo "=== RUN   $c: $description"
	start=$(date +%s)
	for attempt in 1 2 3 4; do
		rm -rf "${results:?}/$c"
		vm-images/testbed "${args[@]}" --timeout 300 --out "$results/$c" \
			--host "tests/e2e/case.sh $c host" \
			--guest "tests/e2e/case.sh $c guest" >"$results/$c.log" 2>&1
		rc=$?
		[ $rc != 0 ] && [ $attempt -lt 4 ] && reason=$(testbed_crash "$results/$c") || break
		echo "=== RETRY $c: $reason"
		retries=$((retries + 1))
		mv "$results/$c" "$results/$c.crash$attempt"
	done
	secs=$(($(date +%s) - start))
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		grep -E '^\[(host|guest[0-9]+)\] [0-9.]+s: ' "$results/$c.log" | sed 's/^/    /'
		echo "--- PASS  $c (${secs}s; $(grep -o 'whole run.*' "$results/$c.log"))"
	else
		failed=$((failed + 1))
		failed_names+=("$c")
		sed 's/^/    /' "$results/$c.log"
		echo "--- FAIL  $c (${secs}s, exit $rc; files in $results/$c)"
	fi
done
[ $failed = 0 ] || echo "e2e: failed: ${failed_names[*]}"
[ $retries = 0 ] || echo "e2e: $retries run(s) repeated after a test-bed crash (kept in $results/*.crash*)"
echo "e2e: $passed passed, $failed failed"
[ $failed = 0 ]
