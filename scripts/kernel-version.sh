#!/bin/bash
# Print the release of the installed Debian 6.1 kernel that virtsocket builds
# for (e.g. 6.1.0-56-amd64), after checking that its image, headers and
# linux-source-6.1 packages are the same Debian version.  Never `uname -r`:
# the build machine may run another kernel than the one the test bed boots.
#
#   scripts/kernel-version.sh            -> release
#   scripts/kernel-version.sh --source   -> path of the matching source tarball
set -euo pipefail

die() { echo "kernel-version: $*" >&2; exit 1; }

dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null) ||
	die "linux-image-amd64 is not installed (run: make deps)"
release=$(sed -n 's/^linux-image-\([^ ,]*\) (= .*/\1/p' <<<"$dep")
[[ $release == 6.1.* ]] || die "linux-image-amd64 depends on '$dep', not a 6.1 kernel"

pkgver() { dpkg-query -W -f='${Version}' "$1" 2>/dev/null || echo missing; }
image=$(pkgver "linux-image-$release")
headers=$(pkgver "linux-headers-$release")
source=$(pkgver linux-source-6.1)
if [[ $image != "$headers" || $image != "$source" || $image == missing ]]; then
	die "kernel packages disagree: linux-image-$release=$image," \
	    "linux-headers-$release=$headers, linux-source-6.1=$source" \
	    "(install matching versions: make deps)"
fi
[[ -f /boot/vmlinuz-$release ]] || die "/boot/vmlinuz-$release missing"
[[ -d /lib/modules/$release/build ]] || die "/lib/modules/$release/build missing"

case "${1:-}" in
--source) echo /usr/src/linux-source-6.1.tar.xz ;;
"") echo "$release" ;;
*) die "unknown option $1" ;;
esac
