#!/bin/bash
# Rebuild kvm.ko, kvm-amd.ko and kvm-intel.ko with the virtsocket patch series
# for the installed Debian 6.1 kernel, from the matching linux-source-6.1.
#
#   kvm-patch/build-kvm.sh OUTDIR [KDIR [TARBALL [RELEASE]]]
#
# KDIR is another build tree of the same source (the debug kernel,
# scripts/debug-modules.sh); by default the installed kernel's headers.
# TARBALL is the kernel source to take KVM from, which the caller has
# checked matches KDIR (the DKMS build of virtsocket-host-dkms, which
# builds for a kernel that need not be the one linux-image-amd64 names);
# without it, scripts/kernel-version.sh checks and names it.  RELEASE is
# KDIR's kernel release, by default its include/config/kernel.release
# (Debian's headers say 6.1.NNN there, not 6.1.0-NN-amd64).  JOBS: make -j
# (default: every CPU).
#
# OUTDIR/src holds the patched subset of the kernel tree (arch/x86/kvm,
# virt/kvm and the headers the series touches) shaped like the kernel's, so
# Kbuild builds it as an external module.  Other modules that call the new
# exports (host-module/) build against it with:
#   NOSTDINC_FLAGS="$(cat OUTDIR/nostdinc_flags)"
#   KBUILD_EXTRA_SYMBOLS=OUTDIR/src/arch/x86/kvm/Module.symvers
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:?usage: build-kvm.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
tarball=${3:-}
[ -z "$tarball" ] || [ -n "${2:-}" ] || { echo "build-kvm.sh: TARBALL needs KDIR" >&2; exit 2; }
if [ -z "$tarball" ]; then
	release=$("$here/../scripts/kernel-version.sh")
	tarball=$("$here/../scripts/kernel-version.sh" --source)
	kdir=/lib/modules/$release/build
fi
if [ -n "${2:-}" ]; then
	kdir=$2
	release=${4:-$(cat "$kdir/include/config/kernel.release")}
fi
mapfile -t patches < <(ls "$here"/[0-9][0-9][0-9][0-9]-*.patch | grep -v /0000-)

# Headers the series changes: they shadow the installed ones for every
# module built against the patched KVM.
headers=(include/linux/kvm_host.h include/uapi/linux/kvm_para.h
	 arch/x86/include/asm/kvm_host.h)

# Rebuild the tree only when the source or the series changed.
stamp="$release $(dpkg-query -W -f='${Version}' linux-source-6.1) $(cat "${patches[@]}" | sha256sum | cut -c1-16)"
if [[ ! -f $out/src/.stamp || $(cat "$out/src/.stamp") != "$stamp" ]]; then
	echo "kvm: extracting KVM from $tarball"
	rm -rf "$out/src"
	mkdir -p "$out/src"
	tar -xJf "$tarball" -C "$out/src" --strip-components=1 \
		linux-source-6.1/arch/x86/kvm linux-source-6.1/virt/kvm \
		"${headers[@]/#/linux-source-6.1/}"
	for p in "${patches[@]}"; do
		echo "kvm: applying $(basename "$p")"
		patch -d "$out/src" -p1 --quiet --forward <"$p"
	done
	# Build out of tree: find our own copies, not $(srctree)'s.
	sed -i -e 's|-I $(srctree)/arch/x86/kvm|-I $(src)|' \
	       -e 's|include $(srctree)/virt/kvm/Makefile.kvm|include $(src)/../../../virt/kvm/Makefile.kvm|' \
	       "$out/src/arch/x86/kvm/Makefile"
	# trace.h's TRACE_INCLUDE_PATH (../../arch/x86/kvm) resolves from here.
	mkdir -p "$out/src/include/trace"
	echo "$stamp" >"$out/src/.stamp"
fi
echo "-I$out/src/arch/x86/include -I$out/src/include -I$out/src/include/trace" >"$out/nostdinc_flags"

echo "kvm: building for $release"
make -s -C "$kdir" M="$out/src/arch/x86/kvm" \
	NOSTDINC_FLAGS="$(cat "$out/nostdinc_flags")" -j"${JOBS:-$(nproc)}" modules
for m in kvm kvm-amd kvm-intel; do
	cp "$out/src/arch/x86/kvm/$m.ko" "$out/$m.ko"
	vermagic=$(modinfo -F vermagic "$out/$m.ko")
	[[ $vermagic == "$release "* ]] || { echo "kvm: $m.ko has vermagic '$vermagic', want $release" >&2; exit 1; }
done
echo "kvm: $out/kvm.ko $out/kvm-amd.ko $out/kvm-intel.ko"
