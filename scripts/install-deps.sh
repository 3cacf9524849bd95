#!/bin/bash
# Install the Debian packages virtsocket needs to build, test and benchmark,
# once: `apt-get update` and `apt-get install` run only when one is missing.
set -euo pipefail

packages=(
	# kernel side and the test bed (TESTBED.md)
	build-essential linux-image-amd64 linux-headers-amd64 linux-source-6.1
	qemu-system-x86 busybox-static cpio kmod file xz-utils patch procps
	# the debug kernel (scripts/debug-kernel.sh) and W=1/sparse checks
	bison flex bc libelf-dev libssl-dev sparse
	# user space: C++20 library, tests, benchmarks
	cmake g++ pkg-config libgtest-dev libgmock-dev libbenchmark-dev
	nlohmann-json3-dev libcli11-dev clang-14 libclang-rt-14-dev valgrind
	# optional: <virtsocket/asio.hpp>'s example and test (standalone asio)
	libasio-dev
	# comparison transports and tools used by tests
	socat python3 iproute2
	# the benchmark report's confidence intervals (Debian's /usr/bin/python3)
	python3-scipy
	# benchmark plots
	gnuplot-nox
	# Debian packages (make deb): debhelper with DKMS, man pages, lintian
	debhelper dh-dkms dkms help2man lintian
	# the e2e case libvirt: libvirtd and virsh in the test host (no
	# systemd needed: the case starts libvirtd itself)
	libvirt-daemon-system libvirt-clients
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages installed"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages: ${missing[*]}; run 'make deps' as root" >&2
	exit 1
fi
echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
