#!/bin/bash
# checkpatch.pl --strict, from the matching linux-source, over the KVM patch
# series and every kernel C file of the product.  Exits non-zero on any
# error, warning or check.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
tarball=$("$repo/scripts/kernel-version.sh" --source)
dir=$repo/build/checkpatch
if [ ! -x "$dir/scripts/checkpatch.pl" ] || [ "$tarball" -nt "$dir/scripts/checkpatch.pl" ]; then
	mkdir -p "$dir"
	tar -xJf "$tarball" -C "$dir" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	touch "$dir/scripts/checkpatch.pl"
fi
checkpatch=("$dir/scripts/checkpatch.pl" --strict --no-tree --quiet --show-types --color=never
	    --ignore SPDX_LICENSE_TAG)

mapfile -t patches < <(ls "$repo"/kvm-patch/0[0-9][0-9][1-9]-*.patch)
mapfile -t files < <(cd "$repo" && git ls-files 'af_virt/*.[ch]' 'guest-module/*.[ch]' 'host-module/*.[ch]' \
	'include/virtsocket/*.h' 'tests/e2e/*.[ch]' 'tests/e2e/**/*.[ch]')
# Run outside the repository: inside a git work tree checkpatch misreads
# format-patch files.
cd "$dir"
failed=0
for p in "${patches[@]}"; do
	"${checkpatch[@]}" "$p" || failed=1
done
for f in "${files[@]}"; do
	"${checkpatch[@]}" -f "$repo/$f" || failed=1
done
if [ "$failed" = 0 ]; then
	echo "checkpatch: ${#patches[@]} patches and ${#files[@]} files clean (--strict)"
fi
exit $failed
