#!/bin/sh
# Instruction counts (callgrind's Ir) per operation for the fixed workloads
# of virt_microwork: unlike times, they hardly vary between runs and
# machines, so they show what a change to ring.h or validate.c costs.
#   bench/micro/callgrind.sh [BUILD_DIR [OUT.json]]
# Prints a table and writes OUT.json (default BUILD_DIR/callgrind.json).
# Only instructions inside the work_* function are counted (setup is not).
set -eu
build=${1:-build}
out=${2:-$build/callgrind.json}
bin=$build/bin/virt_microwork

if ! command -v valgrind >/dev/null 2>&1; then
	echo "callgrind.sh: valgrind not found (Debian package: valgrind)" >&2
	exit 1
fi
[ -x "$bin" ] || { echo "callgrind.sh: no $bin; build first" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The table goes to stdout (fd 3 inside the block, whose stdout is the JSON).
exec 3>&1
printf '%-8s %10s %-12s %14s %10s\n' workload ops unit Ir Ir/op
sep=
{
	printf '{\n  "tool": "valgrind --tool=callgrind",\n  "workloads": [\n'
	for w in desc hello ring copy; do
		if ! valgrind --tool=callgrind --toggle-collect="work_$w" \
			--callgrind-out-file="$tmp/cg.$w" "$bin" "$w" \
			>"$tmp/out.$w" 2>"$tmp/log.$w"; then
			cat "$tmp/log.$w" >&2
			echo "callgrind.sh: $w failed" >&2
			exit 1
		fi
		read -r name ops unit <"$tmp/out.$w"
		ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$tmp/cg.$w")
		[ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$tmp/cg.$w")
		if [ -z "$ir" ] || [ "$ir" -eq 0 ] || [ "$name" != "$w" ]; then
			echo "callgrind.sh: no instructions counted in work_$w" >&2
			exit 1
		fi
		per=$(awk -v a="$ir" -v b="$ops" 'BEGIN { printf "%.2f", a / b }')
		printf '%-8s %10s %-12s %14s %10s\n' "$w" "$ops" "$unit" "$ir" "$per" >&3
		printf '%s    {"workload": "%s", "ops": %s, "unit": "%s", "Ir": %s, "Ir_per_op": %s}' \
			"$sep" "$w" "$ops" "$unit" "$ir" "$per"
		sep=',
'
	done
	printf '\n  ]\n}\n'
} >"$tmp/json"
mv "$tmp/json" "$out"
echo "wrote $out"
