#!/bin/sh
# Install the built tree into a scratch prefix, build userlib/examples against
# it out of tree (find_package and pkg-config), and run the result (and the
# asio example when asio is installed); compile a C program that includes
# only <virtsocket/virt.h>.
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
if [ -f /usr/include/asio.hpp ]; then
	test -f "$prefix/include/virtsocket/asio.hpp" || { echo "not installed: include/virtsocket/asio.hpp"; exit 1; }
	test -x "$scratch/build/asio_echo" || { echo "asio is installed, but asio_echo was not built"; exit 1; }
	"$scratch/build/asio_echo" "unix:$scratch/asio_echo.sock"
	"$scratch/build/asio_echo" "tcp:127.0.0.1:0"
	# The two sides as separate processes, as across a VM boundary.
	"$scratch/build/asio_echo" --server "unix:$scratch/asio_server.sock" 2>"$scratch/asio_server.log" &
	server=$!
	trap 'kill $server 2>/dev/null || true' EXIT
	i=0
	while [ ! -S "$scratch/asio_server.sock" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	"$scratch/build/asio_echo" --client "unix:$scratch/asio_server.sock"
	kill $server
fi

# The application header is installed and compiles alone in C.
test -f "$prefix/include/virtsocket/virt.h" || { echo "not installed: include/virtsocket/virt.h"; exit 1; }
cat >"$scratch/app.c" <<'C'
#include <virtsocket/virt.h>
int main(void)
{
	struct sockaddr_virt sa = { .svirt_port = VIRT_PORT_ANY, .svirt_cid = VIRT_CID_HOST };
	return sizeof(sa) == 16 && VIRT_SOL == 0x5653 ? 0 : 1;
}
C

# The pkg-config file describes the same install; it sets no -std=, so C
# and C++ users alike can take its flags (C++ users add their -std=c++20).
if command -v pkg-config >/dev/null; then
	pc_dir=$(dirname "$(find "$prefix" -name virtsocket.pc)")
	cflags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags virtsocket)
	flags=$(PKG_CONFIG_PATH=$pc_dir pkg-config --cflags --libs virtsocket)
	case " $cflags " in *" -std="*) echo "pkg-config Cflags set a standard: $cflags"; exit 1 ;; esac
	# shellcheck disable=SC2086 # word splitting of the flags is intended
	c++ -std=c++20 -o "$scratch/echo-pc" "$src/echo.cpp" $flags -pthread
	"$scratch/echo-pc" "unix:$scratch/echo-pc.sock"
	# shellcheck disable=SC2086
	cc -std=c11 -Wall -Wextra -Wpedantic -Werror -o "$scratch/app" "$scratch/app.c" $cflags
	"$scratch/app"
fi
