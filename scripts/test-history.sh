#!/bin/bash
# The machine's record of test runs, kept outside the checkout so that runs
# from fresh clones (CI's, a newcomer's) can be compared afterwards: each
# `make test` start and end, and each e2e suite with its repeats and their
# verdicts.  One line per event, indented lines for details.
#
#   scripts/test-history.sh start|end          (make test; end only when it passed)
#   scripts/test-history.sh add LINE [DETAIL...]
#
# VIRTSOCKET_TEST_HISTORY names the file (default /var/lib/virtsocket/test-history).
set -uo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
file=${VIRTSOCKET_TEST_HISTORY:-/var/lib/virtsocket/test-history}
stamp=$repo/build/.make-test-start

head_line() {
	local commit
	commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)
	git -C "$repo" diff --quiet HEAD 2>/dev/null || commit+=+changes
	printf '%s %s %s' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$commit" "$repo"
}

add() {
	mkdir -p "$(dirname "$file")" 2>/dev/null
	{
		printf '%s %s\n' "$(head_line)" "$1"
		shift
		for d in "$@"; do
			if [ -n "$d" ]; then printf '%s\n' "$d" | sed 's/^/    /'; fi
		done
	} >>"$file" 2>/dev/null || echo "test-history: cannot write $file (the run is not recorded)" >&2
}

case "${1:-}" in
start)
	mkdir -p "$(dirname "$stamp")"
	date +%s >"$stamp"
	add "make test: started"
	;;
end)
	secs=unknown
	[ -r "$stamp" ] && secs=$(($(date +%s) - $(cat "$stamp")))
	add "make test: passed in $secs s"
	echo "make test: passed in $secs s (recorded in $file)"
	;;
add)
	shift
	[ $# -gt 0 ] || { echo "test-history: add needs a line" >&2; exit 2; }
	add "$@"
	;;
*)
	sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
