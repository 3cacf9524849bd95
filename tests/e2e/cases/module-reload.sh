# Unload and reload the guest module, then the host module under a registered
# guest: every step gives a clean result and a clear message, and nothing of
# an unloaded module (its idle-flush timer) is left to run.
DESCRIPTION="module unload/reload on both sides"
TESTBED_ARGS=(--guests 1 --host-grace 30)

host() {
	wait_until 300 "the guest to register" vm_count_is 1
	wait_signal guest-unloaded
	expect_eq "$(vm_count)" 0 "VMs after the guest module unloaded"
	signal host-saw-unload
	wait_signal guest-reloaded
	expect_eq "$(vm_count)" 1 "VMs after the guest module reloaded"
	# Unloading the host module with a guest registered drops its state.
	rmmod virtsocket_host || fail "rmmod virtsocket_host refused"
	[ ! -e $VIRT_VMS ] || fail "$VIRT_VMS still there after rmmod"
	signal host-unloaded
	wait_signal guest-saw-no-host
	insmod "$host_module" || fail "host module did not load again"
	expect_eq "$(vm_count)" 0 "VMs after the host module reloaded"
	signal host-reloaded
	wait_until 60 "the guest to register again" vm_count_is 1
	wait_signal guest-done
	wait_until 60 "the VM to leave the listing" vm_count_is 0
}

guest() {
	local cid
	cid=$(sysfs cid)
	# The last flush at unload arms the idle timer; with a 1 s delay, a
	# timer left armed fires after the module is gone (an oops; ODEBUG's
	# "free active object" on the debug kernel) during the wait.
	echo 1000000 >/sys/module/virtsocket_guest/parameters/flush_delay_us
	rmmod virtsocket_guest || fail "rmmod virtsocket_guest"
	[ ! -e $VIRT_SYSFS ] || fail "$VIRT_SYSFS still there after rmmod"
	sleep 2
	signal guest-unloaded
	wait_signal host-saw-unload
	insmod "$guest_module" || fail "guest module did not load again"
	expect_eq "$(sysfs cid)" "$cid" "CID after reload"
	signal guest-reloaded
	wait_signal host-unloaded
	# No host module: unload still works, loading is refused clearly.
	rmmod virtsocket_guest || fail "rmmod virtsocket_guest without a host module"
	insmod_must_fail "$guest_module" "the host does not service virtsocket hypercalls"
	signal guest-saw-no-host
	wait_signal host-reloaded
	insmod "$guest_module" || fail "guest module did not load after the host module came back"
	expect_ge "$(sysfs cid)" 3 "CID after the host module came back"
	signal guest-done
}
