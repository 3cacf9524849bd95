# The guest module registers with one hypercall; both sides publish what they
# agreed; the host lists the VM and drops it when the VM powers off.
DESCRIPTION="handshake: CID, versions, features, interrupt, VM listing"
TESTBED_ARGS=(--guests 1)

host() {
	expect_eq "$(sysfs role)" host "host role"
	expect_eq "$(sysfs cid)" 2 "host CID"
	expect_eq "$(sysfs family)" 23 "family"
	expect_eq "$(cat /sys/module/virtsocket_host/parameters/family)" 23 "family parameter"
	wait_until 300 "the guest to register" vm_count_is 1
	wait_signal guest-checked
	local cid pid
	cid=$(cat "$TESTBED_OUT/guest1.cid")
	pid=$(vm_field "$cid" pid)
	expect_eq "$(cat "/proc/$pid/comm")" qemu-system-x86 "process of the VM"
	expect_eq "$(vm_field "$cid" ring_entries)" 256 "ring entries"
	[ "$(vm_field "$cid" ring_gpa)" != 0x0 ] || fail "ring address is 0"
	expect_eq "$(($(vm_field "$cid" hypercalls) - $(vm_field "$cid" flushes)))" 1 \
		"hypercalls besides flushes (the handshake)"
	expect_eq "$(vm_field "$cid" errors)" 0 "errors"
	expect_ge "$(vm_field "$cid" irqs)" 1 "interrupts injected"
	expect_eq "$(sysfs vms)" 1 "registered VMs"
	log "VM listed: $(tail -n 1 $VIRT_VMS)"
	signal host-checked
	# The guest powers off: KVM's destroy notifier must drop it.
	wait_until 60 "the VM to leave the listing" vm_count_is 0
	expect_eq "$(sysfs vms)" 0 "registered VMs after power-off"
	log "VM gone from the listing after power-off"
	rmmod virtsocket_host || fail "host module did not unload after the VM died"
}

guest() {
	expect_eq "$(sysfs role)" guest "guest role"
	local cid
	cid=$(sysfs cid)
	expect_ge "$cid" 3 "guest CID"
	expect_eq "$(sysfs abi_version)" 1 "guest ABI"
	expect_eq "$(sysfs host_abi_version)" 1 "host ABI"
	expect_eq "$(sysfs features)" 0x7 "features"
	expect_eq "$(($(sysfs hypercalls) - $(sysfs flushes)))" 1 \
		"hypercalls besides flushes (the handshake)"
	wait_until 10 "the host's first interrupt" sysfs_ge interrupts 1
	grep -q virtsocket /proc/interrupts || fail "no virtsocket line in /proc/interrupts"
	dmesg | grep -F "virtsocket: guest CID $cid" || fail "no handshake line in dmesg"
	echo "$cid" >"$TESTBED_OUT/guest1.cid"
	log "guest CID $cid, interrupts $(sysfs interrupts)"
	signal guest-checked
	wait_signal host-checked
}
