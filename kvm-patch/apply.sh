#!/bin/bash
# Apply the virtsocket KVM series to a kernel git tree (a real host's kernel):
#   kvm-patch/apply.sh /path/to/linux
# Uses `git am` so each patch becomes a commit with its message; on a
# conflict git stops and leaves the usual `git am --continue/--abort`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tree=${1:?usage: kvm-patch/apply.sh LINUX_GIT_TREE}
git -C "$tree" rev-parse --git-dir >/dev/null 2>&1 ||
	{ echo "apply.sh: $tree is not a git tree (for a plain tree: patch -p1 < each patch)" >&2; exit 1; }
git -C "$tree" am --3way "$here"/000[1-9]-*.patch
echo "apply.sh: applied $(ls "$here"/000[1-9]-*.patch | wc -l) patches to $tree"
