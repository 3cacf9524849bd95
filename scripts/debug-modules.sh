#!/bin/bash
# Our kernel modules for the debug kernel (scripts/debug-kernel.sh), beside
# the ones for Debian's kernel: the patched KVM in build/debug/kvm, and the
# host, guest and hostile test modules compiled from a copy of their sources
# in build/debug/src (Kbuild puts objects next to the sources).
#
#   scripts/debug-modules.sh      -> build/debug/{kvm,src/...}/*.ko
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
kdir=$repo/build/debug-kernel/obj
[ -f "$repo/build/debug-kernel/done" ] ||
	{ echo "debug-modules: no debug kernel in build/debug-kernel (run: make debug-kernel)" >&2; exit 1; }
out=$repo/build/debug
"$repo/kvm-patch/build-kvm.sh" "$out/kvm" "$kdir"

# Copy the module sources (only what Kbuild reads), keeping their layout:
# the modules include ../af_virt and ../include.
mkdir -p "$out/src"
(cd "$repo" && find af_virt include guest-module host-module tests/e2e/hostile \
	\( -name '*.[ch]' -o -name Kbuild -o -name Makefile \) ! -name '*.mod.c' -print0 |
	tar --null -T - -cf -) | tar -xf - -C "$out/src"
for m in host-module guest-module tests/e2e/hostile; do
	make -s -C "$out/src/$m" KDIR="$kdir" KVM_OUT="$out/kvm"
done
release=$(cat "$kdir/include/config/kernel.release")
for ko in src/host-module/virtsocket_host.ko src/guest-module/virtsocket_guest.ko \
	  src/tests/e2e/hostile/virtsocket_hostile.ko; do
	vermagic=$(modinfo -F vermagic "$out/$ko")
	[[ $vermagic == "$release "* ]] ||
		{ echo "debug-modules: $ko has vermagic '$vermagic', want $release" >&2; exit 1; }
done
echo "debug-modules: kvm, virtsocket_host, virtsocket_guest, virtsocket_hostile for $release in build/debug"
