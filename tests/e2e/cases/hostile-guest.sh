# A test-only guest module sends malformed hypercalls; each gets its error,
# the host logs no warning (the test bed scans its kernel log) and still
# serves a well-behaved registration afterwards.
DESCRIPTION="hostile guest: malformed handshakes rejected"
TESTBED_ARGS=(--guests 1 --no-guest-module --guest-mem 512)

host() {
	wait_signal guest-done 180
	expect_ge "$(sysfs rejected)" 17 "rejected hypercalls"
	wait_until 60 "the VM to leave the listing" vm_count_is 0
}

guest() {
	local hostile=$hostile_module
	insmod "$hostile" ram_mb=512 ring=0 || {
		dmesg | grep virtsocket-hostile
		fail "some malformed hypercall was not rejected as expected"
	}
	dmesg | grep virtsocket-hostile
	log "$(dmesg | grep -c 'virtsocket-hostile: .*: ok$') malformed or out-of-order hypercalls got their expected errors"
	rmmod virtsocket_hostile
	insmod "$guest_module" || fail "well-behaved guest module refused after the attack"
	expect_ge "$(sysfs cid)" 3 "CID after the attack"
	signal guest-done
}
