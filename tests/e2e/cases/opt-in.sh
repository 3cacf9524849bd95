# A VM gets AF_VIRT only once the host's administrator enabled it on
# /dev/virtsocket, by its QEMU's pid: the test bed enables every guest as its
# QEMU starts (vm-images/run-guest.sh).  Here guest1 is enabled again with a
# CID chosen, guest2's entry is taken away before its module loads: guest2
# is refused (a clear message, counted) and has no AF_VIRT until enabled
# with a CID allocated.  A CID reserved or in use is refused with
# EADDRINUSE; only root with CAP_NET_ADMIN reaches the device; DISABLE
# unregisters a VM at once, and a VM's death ends its entry.
DESCRIPTION="per-VM opt-in: chosen and allocated CIDs, EADDRINUSE, a VM not enabled refused and counted, disable and VM death end entries"
TESTBED_ARGS=(--guests 2 --no-guest-module --host-grace 30)

CHOSEN_CID=77

# Host: "CID STATE" of the entry of PID in virtsocket-ctl's listing.
listed() { "$ctl_bin" list | awk -v pid="$1" 'NR > 1 && $1 == pid { print $2, $3 }'; }
sysfs_is() { [ "$(sysfs "$1")" = "$2" ]; }
# Guests: the host's signal NAME; stop waiting (failing) once the host's
# command has ended without giving it.
wait_host() { # wait_host NAME
	wait_until 300 "signal $1" test -e "$TESTBED_OUT/signal.$1" -o -e "$TESTBED_OUT/signal.host-done"
	[ -e "$TESTBED_OUT/signal.$1" ] || fail "the host's command ended without signal $1"
}
# Host: guest N's signal NAME, alike.
wait_guest() { # wait_guest N NAME
	wait_until 300 "signal $2" test -e "$TESTBED_OUT/signal.$2" -o -e "$TESTBED_OUT/guest$1.rc"
	[ -e "$TESTBED_OUT/signal.$2" ] || fail "guest$1 ended without signal $2"
}
ctl_must_fail() { # ctl_must_fail EXPECTED_MESSAGE [setpriv ARGS... --] ARGS...
	local msg=$1 out
	shift
	if out=$("$@" 2>&1); then
		fail "$* succeeded ($out), expected a refusal"
	fi
	grep -qF -- "$msg" <<<"$out" || fail "$*: got '$out', expected '$msg'"
	log "refused as expected: ${*#"$ctl_bin"}: $out"
}

host() {
	local p1 p2 before cid2 vcpu dead
	trap 'signal host-done' EXIT
	wait_guest 2 guest2-up
	p1=$(guest_qemu_pid 1) p2=$(guest_qemu_pid 2)
	# The test bed enabled both QEMUs before they ran.
	expect_eq "$(listed "$p1" | cut -d' ' -f2)" waiting "guest1's entry, made by the test bed"
	expect_eq "$(listed "$p2" | cut -d' ' -f2)" waiting "guest2's entry, made by the test bed"
	expect_eq "$(sysfs enabled)" 2 "entries"
	expect_eq "$(stat -c '%a %U' /dev/virtsocket)" "600 root" "mode and owner of /dev/virtsocket"
	# Root without CAP_NET_ADMIN, then an unprivileged user.
	ctl_must_fail "list: needs CAP_NET_ADMIN" \
		setpriv --inh-caps=-all --bounding-set=-net_admin -- "$ctl_bin" list
	ctl_must_fail "list: needs CAP_NET_ADMIN" \
		setpriv --reuid=65534 --regid=65534 --clear-groups -- "$ctl_bin" list

	# The administrator's CID.
	"$ctl_bin" disable --pid "$p1" || fail "disable guest1"
	expect_eq "$("$ctl_bin" enable --pid "$p1" --cid $CHOSEN_CID)" $CHOSEN_CID "CID guest1 is given"
	expect_eq "$(listed "$p1")" "$CHOSEN_CID waiting" "guest1's entry"
	"$ctl_bin" disable --pid "$p2" || fail "disable guest2"
	expect_eq "$(listed "$p2")" "" "guest2's entry after its disable"
	ctl_must_fail "CID $CHOSEN_CID is in use by another VM or reserved by another entry" \
		"$ctl_bin" enable --pid "$p2" --cid $CHOSEN_CID
	ctl_must_fail "that pid is enabled already" "$ctl_bin" enable --pid "$p1"
	ctl_must_fail "that pid is not enabled" "$ctl_bin" disable --pid "$p2"
	# A VMM is a process: a thread of QEMU (a vCPU) is not, nor a pid gone.
	for vcpu in /proc/"$p1"/task/*; do
		vcpu=${vcpu##*/}
		[ "$vcpu" != "$p1" ] && break
	done
	ctl_must_fail "no such process" "$ctl_bin" enable --pid "$vcpu"
	sleep 0 &
	dead=$!
	wait "$dead"
	ctl_must_fail "no such process" "$ctl_bin" enable --pid "$dead"
	expect_eq "$(sysfs enabled)" 1 "entries after the refusals"
	before=$(sysfs not_enabled)
	signal host-ready

	wait_guest 2 guest2-refused
	wait_guest 1 guest1-registered
	expect_eq "$(vm_count)" 1 "registered VMs"
	expect_eq "$(vm_field $CHOSEN_CID pid)" "$p1" "the VM registered as CID $CHOSEN_CID"
	expect_eq "$(listed "$p1")" "$CHOSEN_CID registered" "guest1's entry"
	expect_ge "$(sysfs not_enabled)" $((before + 1)) "HELLOs refused as not enabled"
	log "HELLOs refused as not enabled: $before -> $(sysfs not_enabled)"
	dmesg | grep -F "virtsocket: VM pid $p2 not enabled on /dev/virtsocket: HELLO refused" ||
		fail "no host message for guest2's refused HELLO"
	# In use by a registered VM: refused alike.
	ctl_must_fail "CID $CHOSEN_CID is in use" "$ctl_bin" enable --pid "$p2" --cid $CHOSEN_CID
	# Enabled now, CID allocated: guest2 registers.
	cid2=$("$ctl_bin" enable --pid "$p2") || fail "enable guest2"
	expect_ge "$cid2" 3 "guest2's allocated CID"
	[ "$cid2" != $CHOSEN_CID ] || fail "guest2 was allocated CID $CHOSEN_CID, guest1's"
	echo "$cid2" >"$TESTBED_OUT/guest2.expected-cid"
	signal guest2-enabled
	wait_guest 2 guest2-registered
	expect_eq "$(vm_field "$cid2" pid)" "$p2" "the VM registered as CID $cid2"
	expect_eq "$(listed "$p2")" "$cid2 registered" "guest2's entry"

	# DISABLE of a registered VM: unregistered at once, its CID free.
	"$ctl_bin" disable --pid "$p1" || fail "disable guest1"
	expect_eq "$(vm_field $CHOSEN_CID pid)" "" "VM listed as CID $CHOSEN_CID after its disable"
	expect_eq "$(listed "$p1")" "" "guest1's entry after its disable"
	expect_eq "$(sysfs cids)" 1 "CIDs in use (guest2's)"
	signal guest1-disabled
	wait_guest 1 guest1-saw-disable

	# VM death: guest2 powers off, KVM's destroy notifier ends its entry (no
	# listing in between: a listing would drop it as its process is gone).
	signal guest2-may-go
	wait_until 120 "guest2's QEMU to exit" process_gone "$p2"
	wait_until 30 "guest2's entry to end with its VM" sysfs_is enabled 0
	expect_eq "$(sysfs cids)" 0 "CIDs in use after guest2's death"
	expect_eq "$("$ctl_bin" list)" "pid cid state" "listing at the end"
	log "guest2's entry ended with its VM; no entry, no CID left"
	signal host-checked
}

guest() {
	[ ! -e $VIRT_SYSFS ] || fail "virtsocket_guest loaded before the case"
	if [ "$TESTBED_GUEST" = 2 ]; then
		signal guest2-up
		wait_host host-ready
		insmod_must_fail "$guest_module" "host has not enabled AF_VIRT for this VM"
		[ ! -e $VIRT_SYSFS ] || fail "AF_VIRT is there after the refusal"
		grep -qw virtsocket_guest /proc/modules && fail "virtsocket_guest loaded after the refusal"
		signal guest2-refused
		wait_host guest2-enabled
		insmod "$guest_module" || fail "insmod after the host enabled this VM"
		expect_eq "$(sysfs cid)" "$(cat "$TESTBED_OUT/guest2.expected-cid")" "guest2's CID"
		signal guest2-registered
		wait_host guest2-may-go
		return 0
	fi
	wait_host host-ready
	insmod "$guest_module" || fail "insmod in guest1, enabled"
	expect_eq "$(sysfs cid)" $CHOSEN_CID "the CID the administrator chose"
	log "guest1 registered as CID $(sysfs cid)"
	signal guest1-registered
	wait_host guest1-disabled
	# The host's interrupt makes it flush: unknown there now; probes refused.
	wait_until 60 "the guest to see the host gone" sysfs_ge host_gone 1
	wait_until 60 "a refused probe in the log" refused_logged
	log "after the disable: $(dmesg | grep -F 'host has not enabled' | tail -n 1)"
	signal guest1-saw-disable
	wait_host host-checked
}

refused_logged() { dmesg | grep -qF "registering again failed (-13): host has not enabled AF_VIRT for this VM"; }
