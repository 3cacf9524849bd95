#!/bin/bash
# The test bed's debug kernel: Debian's linux-source-6.1 (the version of the
# installed 6.1 kernel) built with KASAN, lockdep, DEBUG_OBJECTS, kmemleak,
# pattern-initialised stacks and the rest of vm-images/debug-kernel.config,
# with the fixes in vm-images/debug-kernel-patches/ applied.
#
#   scripts/debug-kernel.sh           build it (or find it in the cache), then
#                                     point build/debug-kernel at it
#   scripts/debug-kernel.sh --dir     print where it is (or will be); no build
#
# The cache, $VIRTSOCKET_CACHE (/var/cache/virtsocket), holds one tree per
# source version and configuration: <key>/src (the source), <key>/obj (the
# build, which out-of-tree modules build against), <key>/mods (lib/modules of
# it), <key>/release, and <key>/done once complete.  An interrupted build
# resumes where it stopped.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${VIRTSOCKET_CACHE:-/var/cache/virtsocket}
fragment=$repo/vm-images/debug-kernel.config
shopt -s nullglob
patches=("$repo"/vm-images/debug-kernel-patches/*.patch)
shopt -u nullglob
tarball=$("$repo/scripts/kernel-version.sh" --source)
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
# Bump recipe= when the build steps below change what they produce.
recipe=1
key=debug-$srcver-$( (echo "recipe $recipe"; cat "$fragment" "${patches[@]}") | sha256sum | cut -c1-12)
dir=$cache/$key

case "${1:-}" in
--dir) echo "$dir"; exit 0 ;;
"") ;;
*) echo "debug-kernel: unknown option $1" >&2; exit 2 ;;
esac

link() {
	mkdir -p "$repo/build"
	ln -sfn "$dir" "$repo/build/debug-kernel"
	echo "debug-kernel: $(cat "$dir/release") in $dir (build/debug-kernel)"
}
if [ -f "$dir/done" ]; then
	link
	exit 0
fi

start=$SECONDS
mkdir -p "$dir"
if [ ! -f "$dir/src/.extracted" ]; then
	echo "debug-kernel: extracting $tarball"
	rm -rf "$dir/src"
	mkdir -p "$dir/src"
	tar -xJf "$tarball" -C "$dir/src" --strip-components=1
	for p in "${patches[@]}"; do
		echo "debug-kernel: applying $(basename "$p")"
		patch -s -p1 -d "$dir/src" <"$p"
	done
	touch "$dir/src/.extracted"
fi
kmake() { make -s -C "$dir/src" O="$dir/obj" "$@"; }
if [ ! -f "$dir/obj/.config" ]; then
	mkdir -p "$dir/obj"
	kmake x86_64_defconfig
	"$dir/src/scripts/kconfig/merge_config.sh" -m -O "$dir/obj" "$dir/obj/.config" \
		"$dir/src/kernel/configs/kvm_guest.config" "$fragment" >"$dir/merge.log"
	kmake olddefconfig
fi
# What the test bed relies on must have survived Kconfig's dependencies.
missing=()
for opt in KASAN_GENERIC KASAN_INLINE PROVE_LOCKING PROVE_RCU DEBUG_ATOMIC_SLEEP \
	   DEBUG_OBJECTS_TIMERS DEBUG_OBJECTS_WORK DEBUG_OBJECTS_RCU_HEAD \
	   INIT_STACK_ALL_PATTERN SLUB_DEBUG KFENCE DEBUG_KMEMLEAK DEBUG_LIST UBSAN \
	   NET_9P_VIRTIO 9P_FS VIRTIO_PCI SERIAL_8250_CONSOLE EVENT_TRACING; do
	grep -q "^CONFIG_$opt=y" "$dir/obj/.config" || missing+=("$opt")
done
for opt in KVM KVM_AMD VHOST_VSOCK VHOST_NET TUN VIRTIO_VSOCKETS VIRTIO_NET E1000; do
	grep -q "^CONFIG_$opt=m" "$dir/obj/.config" || missing+=("$opt (module)")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "debug-kernel: the configuration lacks: ${missing[*]}" >&2
	exit 1
fi
echo "debug-kernel: building with $(nproc) jobs in $dir (cold: 7-20 min on 2 cores)"
kmake -j"$(nproc)" bzImage modules
release=$(cat "$dir/obj/include/config/kernel.release")
rm -rf "$dir/mods"
kmake INSTALL_MOD_PATH="$dir/mods" modules_install >/dev/null
echo "$release" >"$dir/release"
touch "$dir/done"
echo "debug-kernel: built in $((SECONDS - start)) s"
link
