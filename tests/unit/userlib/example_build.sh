#!/bin/sh
# Install the built tree into a scratch prefix, build userlib/examples against
# it out of tree (find_package and pkg-config), and run the result.
#   example_build.sh BUILD_DIR EXAMPLE_SOURCE_DIR SCRATCH_DIR
set -eu
build=$1 src=$2 scratch=$3

rm -rf "$scratch"
mkdir -p "$scratch"
prefix=$scratch/prefix

cmake --install "$build" --prefix "$prefix" >"$scratch/install.log"
for tool in virtsock-cat virtsock-perf virtsock-stat; do
	test -x "$prefix/bin/$tool" || { echo "not installed: bin/$tool"; exit 1; }
done

cmake -S "$src" -B "$scratch/build" -DCMAKE_PREFIX_PATH="$prefix" >"$scratch/configure.log"
cmake --build "$scratch/build" >"$scratch/build.log"
"$scratch/build/echo" "unix:$scratch/echo.sock"
"$scratch/build/echo" "tcp:127.0.0.1:0"

# The pkg-config file describes the same install.
if command -v pkg-config >/dev/null; then
	pc_dir=$(dirname "$(find "$prefix" -name virtsocket.pc)")
	flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs virtsocket)
	# shellcheck disable=SC2086 # word splitting of the flags is intended
	c++ -o "$scratch/echo-pc" "$src/echo.cpp" $flags -pthread
	"$scratch/echo-pc" "unix:$scratch/echo-pc.sock"
fi
