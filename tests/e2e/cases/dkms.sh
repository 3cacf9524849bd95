# The Debian packages of `make deb` (build/deb) installed as a user installs
# them, on a writable overlay of each machine's read-only root: the test
# host (on Debian's stock KVM) installs virtsocket-host-dkms, whose DKMS
# build makes the patched KVM and the host module in the test host itself;
# it swaps the stock KVM for DKMS's and loads the host module with modprobe.
# Only then does the guest boot (testbed --guests-after), install
# virtsocket-guest-dkms (DKMS builds the guest module for its running
# kernel) and load it.  Each side checks that what it loaded is DKMS's
# (/lib/modules/*/updates/dkms/), and a file goes guest->host through the
# packaged virtsock-cat and libvirtsocket.so.0.  Then both remove their
# DKMS package: the modules leave updates/dkms, the kernel's KVM is back.
#
# Not in the default suite (tests/e2e/run.sh runs it only by name; `make
# e2e-dkms`): the test host compiles KVM under TCG, which takes far longer
# than any other case (README, "Packages").
DESCRIPTION="packages: DKMS builds the patched KVM + host module in the test host, the guest module in a guest; AF_VIRT between them"
IN_DEFAULT_SUITE=no
TESTBED_ARGS=(--guests 1 --stock-kvm --no-guest-module --guests-after host-ready --guest-mem 1024 --host-grace 300)
TESTBED_TIMEOUT=5400

# (tests/e2e/run.sh reads this file without lib.sh: no $REPO there.)
DEBS=${REPO:-}/build/deb
ROOT=/tmp/dkms-root

# A writable view of this machine's root (the build machine's, read-only
# over 9p): an overlay whose upper layer is a tmpfs, with the kernel's
# file systems bound in; the packages go to its /tmp.
overlay_root() {
	local d
	mkdir -p /tmp/dkms-layer
	mount -t tmpfs -o size=1536m tmpfs /tmp/dkms-layer || fail "cannot mount the overlay's tmpfs"
	mkdir -p /tmp/dkms-layer/upper /tmp/dkms-layer/work "$ROOT"
	mount -t overlay overlay -o lowerdir=/,upperdir=/tmp/dkms-layer/upper,workdir=/tmp/dkms-layer/work "$ROOT" ||
		fail "cannot mount an overlay over /"
	for d in proc sys dev; do
		mount --bind "/$d" "$ROOT/$d" || fail "cannot bind /$d into the overlay"
	done
	mount -t tmpfs tmpfs "$ROOT/tmp" || fail "cannot mount the overlay's /tmp"
	# The test bed's /dev is a bare devtmpfs (no udev): bash's <(...),
	# which dkms uses, needs /dev/fd.
	[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
	for d in stdin:0 stdout:1 stderr:2; do
		[ -e "/dev/${d%:*}" ] || ln -s "/proc/self/fd/${d#*:}" "/dev/${d%:*}"
	done
	# (man-db's trigger would index every manual page over 9p, under TCG.)
	rm -f "$ROOT/var/lib/man-db/auto-update"
	mkdir -p "$ROOT/tmp/debs"
	# (Not the -dbgsym packages: 8 MB nobody here needs.)
	find "$DEBS" -maxdepth 1 -name '*.deb' ! -name '*-dbgsym_*' -exec cp {} "$ROOT/tmp/debs/" \; ||
		fail "cannot copy the packages"
}
in_root() { chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive "$@"; }

# The packages of this version, by name.
deb() { # deb PACKAGE -> its file inside the overlay
	local f
	f=$(cd "$ROOT/tmp/debs" && ls "$1"_*.deb 2>/dev/null | head -1)
	[ -n "$f" ] || fail "no $1 package in $DEBS: run 'make deb' first"
	echo "/tmp/debs/$f"
}

# modinfo's file of MODULE in the overlay is DKMS's.
expect_dkms_module() { # expect_dkms_module MODULE
	local f
	f=$(in_root modinfo -n "$1") || fail "modinfo $1 failed in the overlay"
	[[ $f == /lib/modules/$(uname -r)/updates/dkms/* ]] || fail "$1 is $f, not under /lib/modules/$(uname -r)/updates/dkms/"
	log "$1: $f"
}

# modprobe -v in the overlay: it loads MODULE from updates/dkms, and no
# KVM or virtsocket module it loads (MODULE's dependencies too) comes from
# elsewhere.  (irqbypass and ccp, the kernel's, are loaded already.)
modprobe_dkms() { # modprobe_dkms MODULE [PARAMS...]
	local out
	out=$(in_root modprobe -v "$@" 2>&1) || fail "modprobe $*: $out"
	echo "$out"
	grep -q "^insmod /lib/modules/$(uname -r)/updates/dkms/${1//_/[-_]}\.ko" <<<"$out" ||
		fail "modprobe $1 did not load it from updates/dkms: $out"
	if grep -E '^insmod .*/(kvm|kvm-amd|kvm-intel|virtsocket_[a-z]*)\.ko' <<<"$out" |
		grep -v "^insmod /lib/modules/$(uname -r)/updates/dkms/"; then
		fail "modprobe $1 loaded a module from outside updates/dkms"
	fi
}

# The packaged virtsock-cat, linked against the packaged library.
packaged_cat() {
	local libs
	libs=$(in_root ldd /usr/bin/virtsock-cat) || fail "ldd /usr/bin/virtsock-cat failed"
	grep -qE 'libvirtsocket\.so\.0 => (/usr)?/lib/x86_64-linux-gnu/libvirtsocket\.so\.0 ' <<<"$libs" ||
		fail "virtsock-cat is not linked against the packaged libvirtsocket.so.0: $libs"
}

no_qemu() { ! pgrep -f qemu-system >/dev/null; }
unload() { # unload MODULE...: each one still loaded, in order
	local m
	for m in "$@"; do
		[ ! -e "/sys/module/$m" ] || rmmod "$m" 2>/dev/null || return 1
	done
}

# install_dkms SIDE WHAT: dpkg -i virtsocket-SIDE-dkms in the overlay root
# (DKMS builds WHAT), timed into $TESTBED_OUT/times, and DKMS must say so.
install_dkms() {
	local pkg=virtsocket-$1-dkms start secs
	start=$SECONDS
	in_root dpkg -i "$(deb "$pkg")" >"/tmp/dpkg-$1.log" 2>&1 ||
		{ cat "/tmp/dpkg-$1.log"; tail -n 30 "$ROOT/var/lib/dkms/virtsocket-$1"/*/build/make.log; fail "dpkg -i $pkg failed"; }
	secs=$((SECONDS - start))
	cat "/tmp/dpkg-$1.log"
	echo "dkms_$1_build_seconds $secs" >>"$TESTBED_OUT/times"
	log "$pkg installed: DKMS built $2 in ${secs}s"
	grep -q "^virtsocket-$1/.*, $(uname -r), x86_64: installed" <<<"$(in_root dkms status)" ||
		fail "dkms status: $(in_root dkms status)"
}

host() {
	overlay_root
	install_dkms host "the patched KVM and the host module"
	for m in kvm kvm_amd kvm_intel virtsocket_host; do
		expect_dkms_module "$m"
	done
	in_root dpkg -i "$(deb libvirtsocket0)" "$(deb virtsocket-tools)" >/dev/null || fail "dpkg -i of the library and tools failed"
	packaged_cat

	# The stock KVM the test bed loaded (--stock-kvm) makes way for DKMS's.
	grep -q kvm_set_hypercall_hook /proc/kallsyms && fail "the stock KVM exports kvm_set_hypercall_hook"
	rmmod kvm_amd kvm || fail "cannot unload the stock KVM"
	modprobe_dkms kvm_amd nested=1
	modprobe_dkms virtsocket_host
	grep -q kvm_set_hypercall_hook /proc/kallsyms || fail "the loaded KVM is not the patched one"
	[ -e "$VIRT_SYSFS" ] || fail "no $VIRT_SYSFS after modprobe virtsocket_host"
	[ -c /dev/kvm ] || fail "no /dev/kvm after modprobe kvm_amd"
	# (The test bed's trace of guest SHUTDOWN exits was on the stock kvm's
	# event: armed again on this one, for vm-images/testbed-crash.sh.)
	echo '(isa == 2 && exit_reason == 127) || (isa == 1 && exit_reason == 2)' \
		>/sys/kernel/debug/tracing/events/kvm/kvm_exit/filter &&
		echo 1 >/sys/kernel/debug/tracing/events/kvm/kvm_exit/enable || log "cannot trace guest shutdowns"

	in_root virtsock-cat -l virt:any:5000 >/tmp/g2h.out &
	local listener=$!
	wait_listening 5000
	signal host-ready

	wait "$listener" || fail "host virtsock-cat -l exited $?"
	wait_signal guest-sent 3600
	expect_eq "$(sha256sum </tmp/g2h.out)" "$(cat "$TESTBED_OUT/g2h.sha256")" "guest->host checksum"
	log "guest->host: $(stat -c %s /tmp/g2h.out) bytes through DKMS's modules, checksum matches"
	wait_signal guest-done 3600

	# Removal: the host module and DKMS's KVM go (once the guest's QEMU
	# has let go of /dev/kvm), the kernel's KVM is back.
	wait_until 300 "the guest's QEMU to end" no_qemu
	wait_until 60 "DKMS's modules to unload" unload virtsocket_host kvm_amd kvm
	in_root dpkg -r virtsocket-host-dkms >/tmp/dpkg-remove.log 2>&1 ||
		{ cat /tmp/dpkg-remove.log; fail "dpkg -r virtsocket-host-dkms failed"; }
	[ -z "$(ls "$ROOT/lib/modules/$(uname -r)/updates/dkms/" 2>/dev/null)" ] ||
		fail "updates/dkms still holds: $(ls "$ROOT/lib/modules/$(uname -r)/updates/dkms/")"
	[[ $(in_root modinfo -n kvm) == /lib/modules/$(uname -r)/kernel/arch/x86/kvm/kvm.ko* ]] ||
		fail "after removal kvm is $(in_root modinfo -n kvm), not the kernel's own"
	in_root modprobe kvm_amd nested=1 || fail "the kernel's own KVM does not load after removal"
	grep -q kvm_set_hypercall_hook /proc/kallsyms && fail "the KVM loaded after removal is still the patched one"
	log "virtsocket-host-dkms removed: updates/dkms is empty, the kernel's own KVM loads again"
}

guest() {
	[ ! -e "$VIRT_SYSFS" ] || fail "a guest module is loaded before the package is installed"
	overlay_root
	install_dkms guest "the guest module"
	expect_dkms_module virtsocket_guest
	in_root dpkg -i "$(deb libvirtsocket0)" "$(deb virtsocket-tools)" >/dev/null || fail "dpkg -i of the library and tools failed"
	packaged_cat

	modprobe_dkms virtsocket_guest
	wait_until 60 "a CID from the host" sysfs_ge cid 3
	log "guest module from DKMS registered: CID $(sysfs cid)"

	head -c 2000000 /dev/urandom >/tmp/g2h.in
	sha256sum </tmp/g2h.in >"$TESTBED_OUT/g2h.sha256"
	in_root virtsock-cat virt:host:5000 <"/tmp/g2h.in" || fail "guest virtsock-cat exited $?"
	signal guest-sent

	# Removal: the module leaves updates/dkms (once unloaded: the last
	# socket may take a moment to go).
	wait_until 60 "virtsocket_guest to unload" unload virtsocket_guest
	in_root dpkg -r virtsocket-guest-dkms >/tmp/dpkg-remove.log 2>&1 ||
		{ cat /tmp/dpkg-remove.log; fail "dpkg -r virtsocket-guest-dkms failed"; }
	in_root modinfo -n virtsocket_guest 2>/dev/null &&
		fail "virtsocket_guest is still installed after dpkg -r"
	log "virtsocket-guest-dkms removed: no virtsocket_guest module left"
	signal guest-done
}
