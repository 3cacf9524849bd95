#!/bin/bash
# Checks the packages `make deb` built (`make deb-check`):
#
#   tests/deb/check-debs.sh [DIR]          (default build/deb)
#   tests/deb/check-debs.sh --self-test [DIR]
#
# - the package list: exactly the expected packages (and their -dbgsym), of
#   the version of debian/changelog, which is CMake's project version;
# - each .deb's contents (dpkg-deb -c) against the tree: every source file
#   a module's Kbuild names (and what those include) in its DKMS package,
#   the KVM series and its build scripts, the tools CMake installs and their
#   man pages, the library with its SONAME, the headers, CMake package and
#   pkg-config file of the -dev package;
# - the dkms.conf files: name, version, the modules they build (each one a
#   Kbuild obj-m of ours, or KVM's three), AUTOINSTALL, and that the host's
#   builds for a 6.1 kernel and refuses others;
# - the -dev package in use: userlib/examples built against its files.
# --self-test damages copies of the packages in five ways and expects each
# damage to be reported: the checks can fail.
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
self_test=0
[ "${1:-}" = --self-test ] && { self_test=1; shift; }
debs=$(realpath -m "${1:-$repo/build/deb}")

version=$(cd "$repo" && dpkg-parsechangelog -S Version)
cmake_version=$(sed -n 's/^project(virtsocket VERSION \([0-9.]*\).*/\1/p' "$repo/CMakeLists.txt")
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)

errors=0
bad() { echo "deb-check: FAIL: $*" >&2; errors=$((errors + 1)); }

# The .c files a Kbuild builds into its module, and the local headers and
# sources they include (recursively), relative to the repository.
kbuild_sources() { # kbuild_sources DIR
	local dir=$1 f inc seen=() queue=()
	for o in $(sed -n "s/^$(obj_m "$dir")-y *:= *//p" "$repo/$dir/Kbuild"); do
		queue+=("$dir/${o%.o}.c")
	done
	while [ ${#queue[@]} -gt 0 ]; do
		f=${queue[0]} queue=("${queue[@]:1}")
		[[ " ${seen[*]} " == *" $f "* ]] && continue
		seen+=("$f")
		for inc in $(sed -n 's/^#include "\(.*\)".*/\1/p' "$repo/$f"); do
			queue+=("$(realpath -m --relative-to="$repo" "$repo/$(dirname "$f")/$inc")")
		done
	done
	printf '%s\n' "${seen[@]}" "$dir/Kbuild" | sort -u
}
obj_m() { sed -n 's/^obj-m *:= *\(.*\)\.o$/\1/p' "$repo/$1/Kbuild"; }

contents() { dpkg-deb -c "$1" | awk '{ print $6 }' | sed 's|^\./|/|'; }
expect_files() { # expect_files DEB PATH...
	local deb=$1 list p
	shift
	list=$(contents "$deb")
	for p in "$@"; do
		grep -qxF "$p" <<<"$list" || bad "$(basename "$deb") lacks $p"
	done
}

check() { # check DIR
	local dir=$1 pkg deb f src tmp
	errors=0
	[ "$version" = "$cmake_version" ] ||
		bad "debian/changelog's version $version is not CMake's project version $cmake_version"

	# ---- the package list ----
	declare -A want=(
		[virtsocket-guest-dkms]=all [virtsocket-host-dkms]=all
		[libvirtsocket0]=$arch [libvirtsocket-dev]=$arch [virtsocket-tools]=$arch
		[virtsocket-libvirt-hook]=all)
	for pkg in "${!want[@]}"; do
		[ -f "$dir/${pkg}_${version}_${want[$pkg]}.deb" ] ||
			bad "no ${pkg}_${version}_${want[$pkg]}.deb in $dir"
	done
	for deb in "$dir"/*.deb; do
		[ -e "$deb" ] || continue
		pkg=$(dpkg-deb -f "$deb" Package)
		[ -n "${want[$pkg]:-}" ] || [ -n "${want[${pkg%-dbgsym}]:-}" ] ||
			bad "unexpected package $pkg ($(basename "$deb"))"
		[ "$(dpkg-deb -f "$deb" Version)" = "$version" ] ||
			bad "$pkg has version $(dpkg-deb -f "$deb" Version), not $version"
	done

	# ---- the DKMS packages ----
	local guest=$dir/virtsocket-guest-dkms_${version}_all.deb
	local host=$dir/virtsocket-host-dkms_${version}_all.deb
	if [ -f "$guest" ]; then
		src=/usr/src/virtsocket-guest-$version
		mapfile -t files < <(kbuild_sources guest-module; ls "$repo"/include/virtsocket/*.h | sed "s|^$repo/||")
		expect_files "$guest" "$src/dkms.conf" "${files[@]/#/$src/}"
		check_dkms_conf "$guest" virtsocket-guest "$(obj_m guest-module)" guest-module/
		grep -qx 'linux-headers-amd64' <<<"$(dpkg-deb -f "$guest" Recommends | tr -d ' ' | tr , '\n')" ||
			bad "virtsocket-guest-dkms does not recommend linux-headers-amd64"
	fi
	if [ -f "$host" ]; then
		src=/usr/src/virtsocket-host-$version
		mapfile -t files < <(kbuild_sources host-module; ls "$repo"/include/virtsocket/*.h "$repo"/kvm-patch/000[1-9]-*.patch | sed "s|^$repo/||")
		expect_files "$host" "$src/dkms.conf" "$src/dkms-build.sh" "$src/kvm-patch/build-kvm.sh" "$src/host-module/Makefile" \
			"${files[@]/#/$src/}" /usr/share/dkms/modules_to_force_install/virtsocket-host
		grep -qE "^-rwx.* \./usr/src/virtsocket-host-$version/kvm-patch/build-kvm.sh$" <<<"$(dpkg-deb -c "$host")" ||
			bad "build-kvm.sh is not executable in virtsocket-host-dkms"
		check_dkms_conf "$host" virtsocket-host "$(obj_m host-module) kvm kvm-amd kvm-intel" host-module/ kvm/
		local deps
		deps=$(dpkg-deb -f "$host" Depends | tr -d ' ' | tr , '\n' | sed 's/(.*//')
		for d in dkms linux-source-6.1 patch xz-utils; do
			grep -qx "$d" <<<"$deps" || bad "virtsocket-host-dkms does not depend on $d"
		done
		tmp=$(mktemp -d)
		dpkg-deb --fsys-tarfile "$host" | tar -xf - -C "$tmp" ./usr/share/dkms/modules_to_force_install/virtsocket-host
		[ "$(cat "$tmp/usr/share/dkms/modules_to_force_install/virtsocket-host")" = virtsocket-host_version-override ] ||
			bad "virtsocket-host-dkms's modules_to_force_install entry is not virtsocket-host_version-override"
		rm -rf "$tmp"
	fi

	# ---- library, headers, tools ----
	local lib=$dir/libvirtsocket0_${version}_$arch.deb dev=$dir/libvirtsocket-dev_${version}_$arch.deb
	local tools=$dir/virtsocket-tools_${version}_$arch.deb libdir=/usr/lib/$multiarch
	if [ -f "$lib" ]; then
		expect_files "$lib" "$libdir/libvirtsocket.so.0" "$libdir/libvirtsocket.so.$version"
		tmp=$(mktemp -d)
		dpkg-deb -x "$lib" "$tmp"
		[ "$(objdump -p "$tmp$libdir/libvirtsocket.so.$version" | awk '$1 == "SONAME" { print $2 }')" = libvirtsocket.so.0 ] ||
			bad "libvirtsocket.so.$version's SONAME is not libvirtsocket.so.0"
		rm -rf "$tmp"
	fi
	if [ -f "$dev" ]; then
		mapfile -t files < <(ls "$repo"/userlib/include/virtsocket/ | sed 's|^|/usr/include/virtsocket/|'
			sed -n 's/^install(FILES \(include\/virtsocket\/[^ ]*\.h\) \(include\/virtsocket\/[^ ]*\.h\)$/\1\n\2/p' "$repo/CMakeLists.txt" |
				sed 's|^|/usr/|')
		[ ${#files[@]} -gt 6 ] || bad "cannot read the installed headers' list from CMakeLists.txt"
		expect_files "$dev" "${files[@]}" "$libdir/libvirtsocket.so" "$libdir/pkgconfig/virtsocket.pc" \
			"$libdir/cmake/virtsocket/virtsocketConfig.cmake" "$libdir/cmake/virtsocket/virtsocketConfigVersion.cmake" \
			"$libdir/cmake/virtsocket/virtsocketTargets.cmake"
	fi
	if [ -f "$tools" ]; then
		mapfile -t files < <(sed -n 's/^ *install(TARGETS \(virtsock-[^)]*\)$/\1/p' "$repo/userlib/CMakeLists.txt" | tr ' ' '\n' | grep .)
		[ ${#files[@]} -ge 3 ] || bad "cannot read the installed tools from userlib/CMakeLists.txt"
		for f in "${files[@]}"; do
			expect_files "$tools" "/usr/bin/$f" "/usr/share/man/man1/$f.1.gz"
		done
	fi
	if [ -f "$lib" ] && [ -f "$dev" ]; then
		check_dev_in_use "$lib" "$dev"
	fi

	# ---- the libvirt hook ----
	local hook=$dir/virtsocket-libvirt-hook_${version}_all.deb deps
	if [ -f "$hook" ]; then
		grep -qE '^-rwx.* \./etc/libvirt/hooks/qemu\.d/virtsocket$' <<<"$(dpkg-deb -c "$hook")" ||
			bad "virtsocket-libvirt-hook lacks an executable /etc/libvirt/hooks/qemu.d/virtsocket"
		tmp=$(mktemp -d)
		dpkg-deb --fsys-tarfile "$hook" | tar -xf - -C "$tmp" ./etc/libvirt/hooks/qemu.d/virtsocket 2>/dev/null
		cmp -s "$tmp/etc/libvirt/hooks/qemu.d/virtsocket" "$repo/libvirt/qemu-hook/virtsocket" ||
			bad "virtsocket-libvirt-hook's hook is not libvirt/qemu-hook/virtsocket"
		rm -rf "$tmp"
		deps=$(dpkg-deb -f "$hook" Depends | tr -d ' ' | tr , '\n' | sed 's/(.*//')
		for d in python3 virtsocket-tools; do
			grep -qx "$d" <<<"$deps" || bad "virtsocket-libvirt-hook does not depend on $d"
		done
	fi
	return $((errors > 0))
}

# dkms.conf read as DKMS reads it (sourced, with its variables set).
check_dkms_conf() { # check_dkms_conf DEB NAME "MODULES" LOCATION...
	local deb=$1 name=$2 modules=$3 tmp conf
	shift 3
	tmp=$(mktemp -d)
	dpkg-deb --fsys-tarfile "$deb" | tar -xf - -C "$tmp" "./usr/src/$name-$version/dkms.conf" ||
		{ bad "$(basename "$deb") has no dkms.conf"; rm -rf "$tmp"; return; }
	conf=$tmp/usr/src/$name-$version/dkms.conf
	# shellcheck disable=SC1090
	if ! out=$(kernelver=6.1.0-57-amd64 kernel_source_dir=/lib/modules/6.1.0-57-amd64/build \
		dkms_tree=/var/lib/dkms bash -c '
		set -u
		. "$1"
		echo "name $PACKAGE_NAME"
		echo "version $PACKAGE_VERSION"
		echo "modules ${BUILT_MODULE_NAME[*]}"
		echo "locations ${BUILT_MODULE_LOCATION[*]}"
		echo "dests ${DEST_MODULE_LOCATION[*]}"
		echo "autoinstall ${AUTOINSTALL:-}"
		echo "make ${MAKE[0]}"
		for k in 6.1.0-57-amd64 6.1.0-99-rt-amd64 6.12.9+bpo-amd64 6.10.0 5.10.0-30-amd64; do
			if [[ ${BUILD_EXCLUSIVE_KERNEL:-} && ! $k =~ $BUILD_EXCLUSIVE_KERNEL ]]; then
				echo "refuses $k"
			else
				echo "builds $k"
			fi
		done
		[[ ${BUILD_EXCLUSIVE_ARCH:-} && ! x86_64 =~ $BUILD_EXCLUSIVE_ARCH ]] && echo "refuses x86_64"
		[[ ${BUILD_EXCLUSIVE_ARCH:-} && ! aarch64 =~ $BUILD_EXCLUSIVE_ARCH ]] && echo "refuses aarch64"
		true' _ "$conf" 2>&1); then
		bad "$name's dkms.conf cannot be read: $out"
		rm -rf "$tmp"
		return
	fi
	rm -rf "$tmp"
	field() { sed -n "s/^$1 //p" <<<"$out"; }
	[ "$(field name)" = "$name" ] || bad "$name's dkms.conf: PACKAGE_NAME is '$(field name)'"
	[ "$(field version)" = "$version" ] || bad "$name's dkms.conf: PACKAGE_VERSION is '$(field version)', not $version"
	[ "$(field modules)" = "$modules" ] || bad "$name's dkms.conf builds '$(field modules)', not '$modules'"
	local loc
	for loc in $(field locations); do
		[[ " $* " == *" $loc "* ]] || bad "$name's dkms.conf: a BUILT_MODULE_LOCATION '$loc' that is not one of: $*"
	done
	[ "$(wc -w <<<"$(field locations)")" = "$(wc -w <<<"$modules")" ] || bad "$name's dkms.conf: not one BUILT_MODULE_LOCATION per module"
	[ "$(wc -w <<<"$(field dests)")" = "$(wc -w <<<"$modules")" ] || bad "$name's dkms.conf: not one DEST_MODULE_LOCATION per module"
	[ "$(field autoinstall)" = yes ] || bad "$name's dkms.conf: AUTOINSTALL is not yes (no rebuild for new kernels)"
	grep -qx 'refuses aarch64' <<<"$out" || bad "$name's dkms.conf does not keep to x86_64"
	grep -qx 'refuses x86_64' <<<"$out" && bad "$name's dkms.conf refuses x86_64"
	grep -qx 'builds 6.1.0-57-amd64' <<<"$out" || bad "$name's dkms.conf refuses Debian's 6.1 kernel"
	if [ "$name" = virtsocket-host ]; then
		for k in 6.12.9+bpo-amd64 6.10.0 5.10.0-30-amd64; do
			grep -qx "refuses $k" <<<"$out" || bad "$name's dkms.conf would build for $k (the KVM patch is for 6.1)"
		done
		[[ $(field make) == *dkms-build.sh* ]] || bad "$name's dkms.conf does not build with dkms-build.sh"
	fi
}

# userlib/examples (echo) built with the -dev package's CMake files and
# linked against libvirtsocket0's library, both unpacked into one prefix.
check_dev_in_use() { # check_dev_in_use LIBDEB DEVDEB
	local tmp
	tmp=$(mktemp -d)
	dpkg-deb -x "$1" "$tmp/root" && dpkg-deb -x "$2" "$tmp/root"
	if ! cmake -S "$tmp/root/usr/share/doc/libvirtsocket-dev/examples" -B "$tmp/build" \
		-DCMAKE_PREFIX_PATH="$tmp/root/usr" >"$tmp/log" 2>&1 ||
	   ! cmake --build "$tmp/build" --target echo >>"$tmp/log" 2>&1; then
		bad "userlib/examples does not build against the -dev package: $(tail -5 "$tmp/log")"
	elif ! grep -q "libvirtsocket.so.0 => $tmp/root/usr/lib/$multiarch/libvirtsocket.so.0 " <<<"$(ldd "$tmp/build/echo")"; then
		bad "the example is not linked against the package's libvirtsocket.so.0: $(ldd "$tmp/build/echo" | grep virtsocket)"
	fi
	local flags incdir
	flags=$(PKG_CONFIG_PATH=$tmp/root/usr/lib/$multiarch/pkgconfig pkg-config --cflags --libs virtsocket)
	incdir=$(sed -n 's/^-I\([^ ]*\) .*/\1/p' <<<"$flags")
	[ "$(realpath -m "$incdir")" = "$tmp/root/usr/include" ] && [[ $flags == *-lvirtsocket* ]] ||
		bad "pkg-config virtsocket from the -dev package gives '$flags'"
	rm -rf "$tmp"
}

if [ "$self_test" = 0 ]; then
	ls "$debs"/*.deb >/dev/null 2>&1 || { echo "deb-check: no packages in $debs: run 'make deb' first" >&2; exit 1; }
	if check "$debs"; then
		echo "deb-check: $(ls "$debs"/*.deb | wc -l) packages in $debs: all checks passed"
		exit 0
	fi
	echo "deb-check: $errors failure(s)" >&2
	exit 1
fi

# ---- self-test: each damage must be seen ----
ls "$debs"/*.deb >/dev/null 2>&1 || { echo "deb-check: no packages in $debs: run 'make deb' first" >&2; exit 1; }
fails=0
damage() { # damage NAME EXPECTED_MESSAGE PACKAGE SED_OR_RM...: repack PACKAGE damaged
	local name=$1 expect=$2 pkg=$3 tmp deb
	shift 3
	tmp=$(mktemp -d)
	cp "$debs"/*.deb "$tmp/"
	deb=$(ls "$tmp/${pkg}_"*.deb)
	dpkg-deb -R "$deb" "$tmp/tree"
	(cd "$tmp/tree" && "$@")
	dpkg-deb -b "$tmp/tree" "$deb" >/dev/null
	rm -rf "$tmp/tree"
	if out=$(check "$tmp" 2>&1); then
		echo "deb-check: self-test: FAIL: '$name' went unnoticed"
		fails=$((fails + 1))
	elif ! grep -qF "$expect" <<<"$out"; then
		echo "deb-check: self-test: FAIL: '$name' reported, but not as '$expect': $out"
		fails=$((fails + 1))
	else
		echo "deb-check: self-test: '$name' seen: $(grep -F "$expect" <<<"$out" | head -1)"
	fi
	rm -rf "$tmp"
}
damage "kvm-amd left out of the host's dkms.conf" "builds 'virtsocket_host kvm kvm-intel'" virtsocket-host-dkms \
	sed -i '/^BUILT_MODULE_NAME\[2\]/d; /^BUILT_MODULE_LOCATION\[2\]/d; /^DEST_MODULE_LOCATION\[2\]/d' \
	"usr/src/virtsocket-host-$version/dkms.conf"
damage "the host's dkms.conf without BUILD_EXCLUSIVE_KERNEL" "would build for 6.12.9+bpo-amd64" virtsocket-host-dkms \
	sed -i '/^BUILD_EXCLUSIVE_KERNEL=/d' "usr/src/virtsocket-host-$version/dkms.conf"
damage "the libvirt hook not executable" "lacks an executable /etc/libvirt/hooks/qemu.d/virtsocket" virtsocket-libvirt-hook \
	chmod -x etc/libvirt/hooks/qemu.d/virtsocket
damage "virtsock-stat missing from the tools" "virtsocket-tools_${version}_$arch.deb lacks /usr/bin/virtsock-stat" virtsocket-tools \
	rm usr/bin/virtsock-stat
damage "transport.c missing from the guest's source" "lacks /usr/src/virtsocket-guest-$version/guest-module/transport.c" virtsocket-guest-dkms \
	rm "usr/src/virtsocket-guest-$version/guest-module/transport.c"
[ $fails = 0 ] || exit 1
echo "deb-check: self-test: every damage was seen"
