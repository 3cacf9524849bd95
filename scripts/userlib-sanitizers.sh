#!/bin/bash
# The userlib unit tests under sanitizers: one build directory with ASan and
# UBSan, one with TSan (the two cannot share a process), each building only
# the library, its tools and its unit tests (the CMake target userlib_unit),
# then running the tests labelled userlib_unit with ctest.
#
#   scripts/userlib-sanitizers.sh [BUILD_PARENT]     (default: build-sanitizers)
#
# Environment: JOBS (default: nproc) for the build and ctest; SANITIZERS to
# run only some of "asan tsan".  Exit status: 0 when every test passed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
parent=${1:-$src/build-sanitizers}
jobs=${JOBS:-$(nproc)}
sanitizers=${SANITIZERS:-asan tsan}

# Reports stop the test (halt_on_error); leaks count as failures.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}

mkdir -p "$parent"
status=0
for name in $sanitizers; do
	case $name in
	asan) flags=address,undefined ;;
	tsan) flags=thread ;;
	*) echo "userlib-sanitizers: unknown sanitizer set '$name' (asan, tsan)" >&2; exit 2 ;;
	esac
	dir=$parent/$name
	start=$SECONDS
	echo "== $name ($flags) in $dir"
	cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DVIRTSOCKET_SANITIZE="$flags" >"$dir.configure.log" 2>&1 ||
		{ cat "$dir.configure.log"; exit 1; }
	cmake --build "$dir" -j "$jobs" --target userlib_unit
	built=$SECONDS
	if ! ctest --test-dir "$dir" -L userlib_unit --output-on-failure -j "$jobs"; then
		status=1
	fi
	echo "== $name: build $((built - start)) s, tests $((SECONDS - built)) s"
done
exit $status
