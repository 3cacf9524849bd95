#!/bin/bash
# Build the test bed's initramfs: static busybox, the virtio/9p modules of
# the kernel, and ./init.   mkinitramfs.sh RELEASE OUTPUT [MODROOT]
# MODROOT holds lib/modules/RELEASE of a kernel not installed here (the
# debug kernel); modules it has built in are left out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
release=${1:?usage: mkinitramfs.sh RELEASE OUTPUT}
output=${2:?usage: mkinitramfs.sh RELEASE OUTPUT}
modinfo=(modinfo -k "$release")
[ -n "${3:-}" ] && modinfo+=(-b "$3")

busybox=/bin/busybox
file -L "$busybox" | grep -q "statically linked" ||
	{ echo "mkinitramfs: $busybox is not static (install busybox-static)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,dev,proc,sys,modules,newroot}
cp "$busybox" "$work/bin/busybox"
cp "$here/init" "$work/init"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
	 virtio_pci netfs fscache 9pnet 9pnet_virtio 9p; do
	# (The debug kernel has virtio and 9p built in and no fscache.)
	if ! path=$("${modinfo[@]}" -n "$m" 2>/dev/null); then
		[ -n "${3:-}" ] && continue
		echo "mkinitramfs: no module $m for $release" >&2; exit 1
	fi
	case "$path" in
	"(builtin)") ;;
	*.ko) cp "$path" "$work/modules/$m.ko" ;;
	*.ko.xz) xz -dc "$path" >"$work/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$path" >"$work/modules/$m.ko" ;;
	*) echo "mkinitramfs: no module $m for $release" >&2; exit 1 ;;
	esac
done
mkdir -p "$(dirname "$output")"
(cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) >"$output.tmp"
mv "$output.tmp" "$output"
