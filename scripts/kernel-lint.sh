#!/bin/bash
# Build every kernel module of the product (host-module, guest-module and the
# test-only tests/e2e/hostile) twice, from a fresh scratch copy so that every
# file is really compiled:
#
#   1. W=1: the kernel's extra compiler warnings (-Wextra,
#      -Wmissing-prototypes, -Wmissing-declarations, ...) and kernel-doc.
#   2. C=2 CHECK=sparse: sparse over every file, with the kernel's own
#      CHECKFLAGS.  On 6.1 those already hold -Wbitwise, the endian check
#      that CF=-D__CHECK_ENDIAN__ used to switch on (it has been the default
#      since 4.10 and the macro is gone), so no CF is passed.
#
# Exits non-zero on any compiler or sparse diagnostic, wherever it points:
# no file is exempt, not even the kernel headers (none warns today; a filter
# for one would go into is_progress below, with the reason).  The modules'
# own Makefiles are used, so the lint builds with the same flags (-Werror
# from the Kbuild files, the patched KVM headers for the host module) as
# `make modules`.  Logs: build/kernel-lint/{w1,sparse}-*.log.
#
#   scripts/kernel-lint.sh
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
release=$("$repo/scripts/kernel-version.sh")
kvm_out=$repo/build/kvm
out=$repo/build/kernel-lint
src=$out/src
modules=(host-module guest-module tests/e2e/hostile)

die() { echo "kernel-lint: $*" >&2; exit 1; }
# Run as a make recipe, the builds below would inherit the caller's flags and
# jobserver (which a plain recipe does not pass on: make would warn).
unset MAKEFLAGS MFLAGS MAKELEVEL
command -v sparse >/dev/null || die "sparse is not installed (run: make deps)"
for f in nostdinc_flags src/arch/x86/kvm/Module.symvers; do
	[ -f "$kvm_out/$f" ] || die "no patched KVM in $kvm_out (run: make kvm)"
done

# The scratch copy: the work tree's sources (tracked and new files, not build
# products) of the modules and of what they include.
rm -rf "$out"
mkdir -p "$src"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard -- \
	af_virt include "${modules[@]}" | xargs -0 cp --parents -t "$src")

# Kbuild's quiet progress lines ("  CC [M]  file", "  CHECK   file", ...),
# make's directory messages, and the Debian headers' note that they ship no
# vmlinux to take BTF from (scripts/Makefile.modfinal).  Any other line is a
# diagnostic.
is_progress='^(  [A-Z][A-Z0-9_]*( \[M\])? +[^ ]+'
is_progress+='|make(\[[0-9]+\])?: (Entering|Leaving) directory .*'
is_progress+='|Skipping BTF generation for [^ ]+'
is_progress+=' due to unavailability of vmlinux'
is_progress+=')$'

# build PASS MODULE MAKE-ARGS...: build MODULE in the scratch copy, keep
# going past errors so that every file is tried; the log is
# $out/PASS-<module>.log.
build() {
	local pass=$1 mod=$2
	shift 2
	local log=$out/$pass-${mod//\//-}.log
	local rc=0
	# .SILENT: the module Makefile's recipe (make -C ... M=...) is not
	# echoed; kbuild still prints its progress lines.  KDIR: the installed
	# kernel's headers, whatever the environment holds.
	make -k -C "$src/$mod" --eval=.SILENT: KVER="$release" \
		KDIR="/lib/modules/$release/build" KVM_OUT="$kvm_out" \
		-j"$(nproc)" "$@" >"$log" 2>&1 || rc=$?
	# Paths as in the repository: $src/host-module/../af_virt/af_virt.c
	# -> af_virt/af_virt.c.
	SRC=$src/ perl -pi -e 's/\Q$ENV{SRC}\E//g;
		1 while s{(^|[\s:])(?!\.\./)[^/\s:]+/\.\./}{$1}' "$log"
	if [ "$rc" != 0 ] && ! grep -qvE "$is_progress" "$log"; then
		echo "make exited with $rc" >>"$log"
	fi
}

# count PASS REGEX: lines of PASS's logs matching REGEX.
count() { cat "$out/$1"-*.log | grep -cE "$2" || true; }

# report PASS WHAT: print PASS's diagnostics; succeed when there are none.
report() {
	local pass=$1 what=$2 log bad=0
	for log in "$out/$pass"-*.log; do
		if grep -qvE "$is_progress" "$log"; then
			echo "kernel-lint: $what: $(basename "$log" .log | sed "s/^$pass-//"):" >&2
			grep -vE "$is_progress" "$log" >&2
			bad=1
		fi
	done
	return $bad
}

for m in "${modules[@]}"; do
	build w1 "$m" W=1
done
# The compiled files: every object but modpost's *.mod.o.
files=$(cat "$out"/w1-*.log | grep -E '^  CC \[M\]  ' |
	grep -cv '\.mod\.o$' || true)
for m in "${modules[@]}"; do
	build sparse "$m" C=2 CHECK=sparse
done
checked=$(count sparse '^  CHECK   ')

failed=0
w1=clean
sp=clean
# Warnings and errors (-Werror makes the compiler's warnings errors).
diagnostic=': (warning|error): '
if ! report w1 "W=1"; then
	w1="$(count w1 "$diagnostic") warnings"
	failed=1
fi
if ! report sparse sparse; then
	sp="$(count sparse "$diagnostic") warnings"
	failed=1
fi
if [ "$checked" != "$files" ]; then
	# A file that does not compile is not checked (kbuild runs sparse
	# after the compiler).
	sp="$sp, $checked of $files files checked"
	failed=1
fi
summary="kernel-lint: ${#modules[@]} modules, $files files: W=1 $w1, sparse $sp"
if [ "$failed" = 0 ]; then
	echo "$summary"
else
	echo "$summary (logs: ${out#"$repo"/}/)" >&2
fi
exit $failed
