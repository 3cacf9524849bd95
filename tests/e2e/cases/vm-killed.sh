# A VM killed with SIGKILL disappears from the host within 2 s, its CID is
# released, and the host keeps serving the other guest.
DESCRIPTION="guest VM killed: state dropped, CID released, others served"
TESTBED_ARGS=(--guests 1 --host-grace 30)

host() {
	wait_until 120 "guest1 to register" vm_count_is 1
	wait_signal guest1-ready
	local c1 victim pid t0 t1 c3
	c1=$(cat "$TESTBED_OUT/guest1.cid")
	# A second VM, booted by hand, to be killed.
	"$REPO/vm-images/run-guest.sh" 8 &
	wait_signal guest8-ready
	victim=$(cat "$TESTBED_OUT/guest8.cid")
	pid=$(vm_field "$victim" pid)
	log "killing VM CID $victim (pid $pid)"
	t0=$(date +%s%N)
	kill -9 "$pid"
	wait_until 2 "the killed VM to leave the listing" vm_count_is 1
	t1=$(date +%s%N)
	log "killed VM gone after $(((t1 - t0) / 1000000)) ms"
	expect_eq "$(vm_field "$c1" cid)" "$c1" "guest1 still registered"
	# The host still serves guest1: it re-registers.
	signal reload
	wait_signal reloaded 60
	expect_eq "$(vm_count)" 1 "VMs after guest1 reloaded"
	# The killed VM's CID is free again: the next VM gets it.
	"$REPO/vm-images/run-guest.sh" 9 &
	wait_signal guest9-ready
	c3=$(cat "$TESTBED_OUT/guest9.cid")
	expect_eq "$c3" "$victim" "CID of the next VM (the killed VM's, released)"
	signal host-checked
	wait
	wait_until 60 "all VMs to leave the listing" vm_count_is 0
}

guest() {
	sysfs cid >"$TESTBED_OUT/guest$TESTBED_GUEST.cid"
	signal "guest$TESTBED_GUEST-ready"
	case "$TESTBED_GUEST" in
	8) sleep 600 ;;	# killed by the host
	1)
		wait_signal reload
		rmmod virtsocket_guest
		insmod "$guest_module"
		expect_eq "$(sysfs cid)" "$(cat "$TESTBED_OUT/guest1.cid")" "CID after reload"
		signal reloaded
		;;
	esac
	wait_signal host-checked
}
