#!/bin/bash
# Build the Debian packages (debian/) into OUTDIR (default build/deb), then
# run lintian over them.  `make deb`; as root or not.
#
#   scripts/build-deb.sh [OUTDIR]
#
# dpkg-buildpackage writes its results next to the source tree, so the tree
# is copied to OUTDIR/src/virtsocket-VERSION first (git's files when this is
# a checkout, with edits not yet committed; else everything but build/):
# nothing is built or left in the work tree.  JOBS: parallel jobs (default
# every CPU).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$repo/build/deb}")
cd "$repo"

for tool in dpkg-buildpackage dh dh_dkms lintian help2man; do
	command -v "$tool" >/dev/null || { echo "deb: $tool missing: run 'make deps'" >&2; exit 1; }
done
version=$(dpkg-parsechangelog -S Version)
src=$out/src/virtsocket-$version

# (Wiped first: only an empty directory or a previous run's.)
if [ -n "$(ls -A "$out" 2>/dev/null)" ] && [ ! -f "$out/build.log" ]; then
	echo "deb: $out is neither empty nor an earlier output of build-deb.sh: not wiping it" >&2
	exit 2
fi
rm -rf "$out"
mkdir -p "$src"
: >"$out/build.log"	# (the mark of our output directory)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# (Deleted but not yet committed files are listed and missing: skipped.)
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		tar --null -T - -cf - | tar -xf - -C "$src"
else
	tar --exclude=./build -cf - . | tar -xf - -C "$src"
fi

echo "deb: building virtsocket $version in $src"
(cd "$src" && DEB_BUILD_OPTIONS="parallel=${JOBS:-$(nproc)} ${DEB_BUILD_OPTIONS:-}" \
	dpkg-buildpackage --build=full --no-sign) >"$out/build.log" 2>&1 || {
	tail -n 40 "$out/build.log" >&2
	echo "deb: dpkg-buildpackage failed; the whole log is $out/build.log" >&2
	exit 1
}
rm -rf "$src"
mv "$out"/src/* "$out"/
rmdir "$out/src"
changes=$out/virtsocket_${version}_$(dpkg --print-architecture).changes
ls -l "$out"/*.deb

# Every tag we still get is explained in debian/*lintian-overrides or
# debian/source/lintian-overrides; anything else fails the build.
echo "deb: lintian"
lintian --fail-on error,warning --info --display-info "$changes" | tee "$out/lintian.log"
echo "deb: packages in $out"
