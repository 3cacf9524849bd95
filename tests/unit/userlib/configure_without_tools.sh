#!/bin/sh
# Configure the project with VIRTSOCKET_BUILD_TOOLS=OFF and the tools'
# packages (CLI11, nlohmann-json) made unfindable: the library, and its
# unit tests, must not ask for them.  Then check the pkg-config file.
#   configure_without_tools.sh CMAKE SOURCE_DIR SCRATCH_DIR
set -eu
cmake=$1 src=$2 scratch=$3

rm -rf "$scratch"
mkdir -p "$scratch"
for testing in OFF ON; do
	dir=$scratch/testing-$testing
	if ! "$cmake" -S "$src" -B "$dir" -DVIRTSOCKET_BUILD_TOOLS=OFF -DBUILD_TESTING=$testing \
		-DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON -DCMAKE_DISABLE_FIND_PACKAGE_nlohmann_json=ON \
		>"$dir.log" 2>&1; then
		cat "$dir.log"
		echo "configure with VIRTSOCKET_BUILD_TOOLS=OFF, BUILD_TESTING=$testing failed"
		exit 1
	fi
done

pc=$scratch/testing-OFF/userlib/virtsocket.pc
grep -q '^Cflags:' "$pc" || { echo "no Cflags in $pc"; exit 1; }
if grep '^Cflags:' "$pc" | grep -q -- '-std='; then
	echo "$pc sets a language standard:"
	grep '^Cflags:' "$pc"
	exit 1
fi
