# Two guests at once get distinct CIDs, and the host lists exactly those.
DESCRIPTION="two guests: distinct CIDs"
TESTBED_ARGS=(--guests 2)

host() {
	wait_until 120 "both guests to register" vm_count_is 2
	wait_signal guest1-ready
	wait_signal guest2-ready
	local c1 c2 listed
	c1=$(cat "$TESTBED_OUT/guest1.cid")
	c2=$(cat "$TESTBED_OUT/guest2.cid")
	[ "$c1" != "$c2" ] || fail "both guests have CID $c1"
	listed=$(tail -n +2 $VIRT_VMS | awk '{ print $1 }' | sort -n | tr '\n' ' ')
	expect_eq "$listed" "$(printf '%s\n' "$c1" "$c2" | sort -n | tr '\n' ' ')" "listed CIDs"
	[ "$(vm_field "$c1" pid)" != "$(vm_field "$c2" pid)" ] || fail "both VMs have one pid"
	log "guest CIDs $c1 and $c2"
	signal host-checked
	wait_until 60 "both VMs to leave the listing" vm_count_is 0
}

guest() {
	sysfs cid >"$TESTBED_OUT/guest$TESTBED_GUEST.cid"
	signal "guest$TESTBED_GUEST-ready"
	wait_signal host-checked
}
