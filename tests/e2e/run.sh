#!/bin/bash
# End-to-end tests in real nested VMs: each case in tests/e2e/cases/ is one
# test bed run with a host side and a guest side (see case.sh).
#
#   tests/e2e/run.sh [--kernel debug|debian] [--guest-kernel debug|debian] [--out DIR] [CASE...]
#                        (default: every case; guests as the test host; files in build/e2e)
#
# The kernel defaults to $KERNEL, else the debug kernel (KASAN, lockdep, ...;
# `make debug-kernel`): correctness is checked there.  A failed run is
# repeated only when vm-images/testbed-crash.sh judges it the emulated nest's
# own crash: at most once per case and twice per suite, each repeat printed
# with its verdict, every attempt's files kept.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 2

kernel=${KERNEL:-debug} guest_kernel= results=$repo/build/e2e
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=${2:?--kernel needs debug or debian}; shift 2 ;;
	--guest-kernel) guest_kernel=${2:?--guest-kernel needs debug or debian}; shift 2 ;;
	--out) results=$(realpath -m "${2:?--out needs a directory}"); shift 2 ;;
	*) break ;;
	esac
done
guest_kernel=${guest_kernel:-$kernel}
for k in $(printf '%s\n' "$kernel" "$guest_kernel" | sort -u); do
	case "$k" in
	debian) make -s -C tests/e2e/hostile >/dev/null || { echo "e2e: cannot build the hostile test module" >&2; exit 1; } ;;
	debug) scripts/debug-modules.sh >/dev/null || { echo "e2e: cannot build the modules for the debug kernel" >&2; exit 1; } ;;
	*) echo "e2e: --kernel and --guest-kernel take debug or debian" >&2; exit 2 ;;
	esac
done

if [ $# -gt 0 ]; then
	cases=("$@")
else
	# (A case that says IN_DEFAULT_SUITE=no runs only when named: dkms.)
	mapfile -t cases < <(grep -L '^IN_DEFAULT_SUITE=no$' tests/e2e/cases/*.sh | sed 's|.*/||; s/\.sh$//')
fi

# shellcheck source=vm-images/testbed-crash.sh
. vm-images/testbed-crash.sh

# (Wiped first: only a directory of the build's own.)
case "$results/" in
"$repo"/build/?*) rm -rf "$results" ;;
*) echo "e2e: --out must be a directory under $repo/build" >&2; exit 2 ;;
esac
mkdir -p "$results"
max_suite_repeats=2
# A case's time limit: a safety net for a hung run, not a measure of speed
# (the debug kernel runs several times slower): 450 s on Debian's kernel (a
# guest may take 150 s to boot, vm-images/testbed), or
# the case's own TESTBED_TIMEOUT (read like TESTBED_ARGS) for one that boots
# many VMs; three times that with the debug kernel at either level.
# What tests/e2e/lib.sh's debug_kernel_anywhere says inside the test bed
# (from TB_KERNEL and TB_GUEST_KERNEL): cases read it at their top level.
debug_kernel_anywhere() { [ "$kernel" = debug ] || [ "$guest_kernel" = debug ]; }
slower=1
debug_kernel_anywhere && slower=3
passed=0 failed=0 failed_names=() repeats=() reasons=()
suite_start=$(date +%s)
echo "e2e: kernel $kernel (guests: $guest_kernel), ${#cases[@]} case(s)"
for c in "${cases[@]}"; do
	[ -f "tests/e2e/cases/$c.sh" ] || { echo "e2e: no case '$c'" >&2; exit 2; }
	# shellcheck source=/dev/null
	# (Read under this script's set -u: a case whose top level fails here
	# is a broken case, said so, not a run with empty settings.)
	description=$(. "tests/e2e/cases/$c.sh" && echo "$DESCRIPTION") && [ -n "$description" ] ||
		{ echo "e2e: case '$c' cannot be read (its top level failed, or it has no DESCRIPTION)" >&2; exit 2; }
	mapfile -t args < <(. "tests/e2e/cases/$c.sh"; printf '%s\n' "${TESTBED_ARGS[@]}")
	limit=$(. "tests/e2e/cases/$c.sh"; echo "${TESTBED_TIMEOUT:-450}")
	limit=$((limit * slower))
	echo "=== RUN   $c: $description"
	start=$(date +%s)
	why=
	for attempt in 1 2; do
		vm-images/testbed --kernel "$kernel" --guest-kernel "$guest_kernel" "${args[@]}" --timeout "$limit" --host-must-exit \
			--out "$results/$c" \
			--host "tests/e2e/case.sh $c host" \
			--guest "tests/e2e/case.sh $c guest" >"$results/$c.log" 2>&1
		rc=$?
		# A case that booted a guest again in place of one the nest killed
		# at boot (tests/e2e/lib.sh: case_repeat) used its repeat.
		inner=0
		while read -r r; do
			echo "=== RETRY $c (within the case): $r"
			repeats+=("$c (within the case): $r")
			inner=$((inner + 1))
		done < <(cat "$results/$c/repeats" 2>/dev/null)
		if [ ${#repeats[@]} -gt $max_suite_repeats ]; then
			why="more than $max_suite_repeats repeats in the suite"
			echo "    verdict: failure: $why"
			rc=1
			break
		fi
		[ $rc = 0 ] && break
		verdict=$(testbed_verdict "$results/$c")
		vrc=$?
		echo "    verdict: $verdict"
		why="verdict: $verdict"
		if [ $vrc != 0 ] || [ $attempt = 2 ] || [ $inner -gt 0 ] || [ ${#repeats[@]} -ge $max_suite_repeats ]; then
			break
		fi
		echo "=== RETRY $c: $verdict"
		repeats+=("$c: $verdict")
		mv "$results/$c" "$results/$c.attempt$attempt"
		mv "$results/$c.log" "$results/$c.attempt$attempt.log"
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
		# (CI keeps only the output's end: each failure's reason goes there too.)
		# A virt_test case's own line says which check failed (both
		# sides print it: once is enough).
		first=$({ grep -oE 'not ok [0-9]+ - .*' "$results/$c.log" | sort -u | head -n 3
			grep -m 3 -e 'FAIL: ' "$results/$c.log"; } | tr '\n' ' ')
		# A side that never finished: its last line, and what its test
		# processes waited on (tests/e2e/lib.sh: hang_report).
		for f in "$results/$c"/host.log "$results/$c"/guest*.log; do
			side=$(basename "$f" .log)
			[[ -f "$f" && $side =~ ^(host|guest[0-9]+)$ ]] || continue
			case "$(cat "$results/$c/$side.rc" 2>/dev/null || echo missing)" in
			missing | stopped) ;;
			*) continue ;;
			esac
			first+="[$side's last line: $(grep -v '^hang report:' "$f" | tail -n 1 | cut -c1-200)"
			waits=$(sed -n 's/^hang report:   [0-9]* \([A-Z]\) \([^ ]*\) \(.*\)/\1 \2 \3/p' "$f" |
				grep -E '^D |build/bin/|(insmod|rmmod|modprobe) ' | cut -c1-100 | paste -sd ';' -)
			first+="${waits:+; waiting: $waits}] "
		done
		reasons+=("$c: $first${why:+($why)}")
	fi
done
# (Each detail line goes to the output and to the machine's record.)
details=()
[ $failed = 0 ] || echo "e2e: failed: ${failed_names[*]}"
for r in "${reasons[@]}"; do
	details+=("failed: $r")
	echo "    failed: $r"
done
echo "e2e: ${#repeats[@]} repeat(s) (at most 1 per case, $max_suite_repeats per suite; files kept in $results/*.attempt*)"
for r in "${repeats[@]}"; do
	details+=("repeat: $r")
	echo "    repeat: $r"
done
suite_secs=$(($(date +%s) - suite_start))
echo "e2e: kernel $kernel, $suite_secs s"
echo "e2e: $passed passed, $failed failed"
scripts/test-history.sh add "e2e: kernel $kernel (guests: $guest_kernel), ${#cases[@]} case(s), $passed passed, $failed failed, ${#repeats[@]} repeat(s), $suite_secs s" "${details[@]}"
[ $failed = 0 ]
