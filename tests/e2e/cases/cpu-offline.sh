# The guest's notification interrupt lives on one CPU; when that CPU goes
# offline, Linux moves the interrupt to another CPU with another vector, and
# the host must be told (VIRT_HC_NOTIFY), or it raises a vector no CPU takes
# and an idle guest never hears of a host connect or host data again.
DESCRIPTION="notification interrupt moves with its CPU going offline"
TESTBED_ARGS=(--guests 1 --guest-cpus 2 --host-grace 30)

host() {
	local cat_bin=$REPO/build/bin/virtsock-cat apic vector listed
	wait_signal guest-moved
	read -r apic vector <"$TESTBED_OUT/guest1.target"
	# cid pid ring_gpa ring_entries apic_id vector ...
	listed=$(tail -n 1 $VIRT_VMS | cut -d' ' -f5,6)
	expect_eq "$listed" "$apic $vector" "the host's notification target (APIC id, vector)"
	log "host notifies APIC $apic, vector $vector"
	signal host-checked
	wait_signal guest-listening
	# The guest is idle now: only its notification can tell it of the connect.
	sleep 2
	head -c 2000000 /dev/urandom >"$TESTBED_OUT/h2g.in"
	"$cat_bin" "virt:$(cat "$TESTBED_OUT/guest1.cid"):5100" <"$TESTBED_OUT/h2g.in" ||
		fail "host virtsock-cat to the guest exited $?"
	wait_signal guest-done
}

# APIC id of CPU $1, from /proc/cpuinfo.
apic_of() { awk -v cpu="$1" '/^processor/ { p = $3 } /^apicid/ && p == cpu { print $3 }' /proc/cpuinfo; }

guest() {
	local cat_bin=$REPO/build/bin/virtsock-cat listener irqs
	rmmod virtsocket_guest || fail "rmmod virtsocket_guest"
	insmod "$guest_module" irq_cpu=1 || fail "insmod virtsocket_guest irq_cpu=1"
	expect_eq "$(sysfs apic_id)" "$(apic_of 1)" "notification APIC id with irq_cpu=1"
	log "notification on CPU 1: APIC $(sysfs apic_id), vector $(sysfs vector)"
	echo 0 >/sys/devices/system/cpu/cpu1/online || fail "CPU 1 did not go offline"
	wait_until 30 "the notification to move" sysfs_ge notify_moves 1
	expect_eq "$(sysfs apic_id)" "$(apic_of 0)" "notification APIC id with CPU 1 offline"
	dmesg | grep -q "virtsocket: CPU 1 went offline: notification vector $(sysfs vector) on APIC $(sysfs apic_id) now" ||
		fail "no kernel message for the move: $(dmesg | grep virtsocket | tail -n 3)"
	echo "$(sysfs apic_id) $(sysfs vector)" >"$TESTBED_OUT/guest1.target"
	sysfs cid >"$TESTBED_OUT/guest1.cid"
	signal guest-moved
	wait_signal host-checked
	irqs=$(sysfs interrupts)
	"$cat_bin" -l virt:any:5100 >/tmp/h2g.out &
	listener=$!
	wait_listening 5100
	signal guest-listening
	wait "$listener" || fail "guest virtsock-cat -l exited $?"
	expect_eq "$(sha256sum </tmp/h2g.out)" "$(sha256sum <"$TESTBED_OUT/h2g.in")" "host->guest checksum"
	expect_ge "$(sysfs interrupts)" $((irqs + 1)) "interrupts taken after the move"
	log "host->guest: $(stat -c %s /tmp/h2g.out) bytes after the move, $(($(sysfs interrupts) - irqs)) interrupts"
	echo 1 >/sys/devices/system/cpu/cpu1/online || fail "CPU 1 did not come back"
	signal guest-done
}
