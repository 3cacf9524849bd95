#!/bin/bash
# DKMS build step of virtsocket-host-dkms (installed as dkms-build.sh in
# /usr/src/virtsocket-host-VERSION/, run from DKMS's copy of that directory):
# the patched kvm.ko, kvm-amd.ko and kvm-intel.ko from Debian's
# linux-source-6.1, then virtsocket_host.ko against them.
#
#   dkms-build.sh KERNELVER KERNEL_SOURCE_DIR
#
# The KVM series applies to 6.1 only (dkms.conf's BUILD_EXCLUSIVE_KERNEL
# keeps other kernels away); the KVM source must be the very version the
# kernel was built from, or kvm.ko would mix two kernels' structures.
set -euo pipefail

kernelver=${1:?usage: dkms-build.sh KERNELVER KERNEL_SOURCE_DIR}
kdir=${2:?usage: dkms-build.sh KERNELVER KERNEL_SOURCE_DIR}
here=$(cd "$(dirname "$0")" && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz

refuse() {
	echo "virtsocket-host: $*" >&2
	exit 1
}

case "$kernelver" in
6.1.*) ;;
*) refuse "kernel $kernelver is not supported: the KVM patch is for Linux 6.1 only" ;;
esac
[ -f "$tarball" ] || refuse "$tarball is missing (install linux-source-6.1)"
# Debian builds linux-headers-RELEASE and linux-source-6.1 from one source
# package: their versions agree exactly when the KVM source is the kernel's.
source_version=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	refuse "linux-source-6.1 is not installed"
headers_version=$(dpkg-query -W -f='${Version}' "linux-headers-$kernelver" 2>/dev/null) ||
	refuse "kernel $kernelver has no Debian linux-headers-$kernelver package:" \
		"the patched KVM is built from Debian's linux-source-6.1, for Debian's 6.1 kernels"
[ "$source_version" = "$headers_version" ] ||
	refuse "linux-source-6.1 is $source_version but linux-headers-$kernelver is $headers_version:" \
		"install the linux-source-6.1 of that kernel (or boot the kernel of this source)," \
		"then: dkms autoinstall -k $kernelver"

"$here/kvm-patch/build-kvm.sh" "$here/kvm" "$kdir" "$tarball" "$kernelver"
make -C "$here/host-module" KDIR="$kdir" KVM_OUT="$here/kvm" -j"${JOBS:-$(nproc)}"
