# Two guests at once get distinct CIDs, the host lists exactly those, and
# both stream to the host at the same time with no cross-talk.
DESCRIPTION="two guests: distinct CIDs, concurrent transfers without cross-talk"
TESTBED_ARGS=(--guests 2 --host-grace 60)

host() {
	local cat_bin=$REPO/build/bin/virtsock-cat i
	for i in 1 2; do
		"$cat_bin" -l "virt:any:700$i" >"/tmp/from$i" &
	done
	wait_listening 7001
	wait_listening 7002
	wait_until 400 "both guests to register" vm_count_is 2
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
	signal go
	wait
	for i in 1 2; do
		expect_eq "$(sha256sum <"/tmp/from$i")" "$(sha256sum <"$TESTBED_OUT/guest$i.data")" \
			"data on port 700$i (from guest $i only)"
	done
	log "both transfers intact, each from its own guest"
	signal host-checked
	wait_until 60 "both VMs to leave the listing" vm_count_is 0
}

guest() {
	local data=$TESTBED_OUT/guest$TESTBED_GUEST.data
	sysfs cid >"$TESTBED_OUT/guest$TESTBED_GUEST.cid"
	{ echo "guest $TESTBED_GUEST, CID $(sysfs cid)"; head -c 2000000 /dev/urandom; } >"$data"
	signal "guest$TESTBED_GUEST-ready"
	wait_signal go
	"$REPO/build/bin/virtsock-cat" "virt:host:700$TESTBED_GUEST" <"$data" ||
		fail "virtsock-cat to the host failed"
	wait_signal host-checked
}
