# A VM killed with SIGKILL in the middle of a transfer: the host's reader
# sees the connection end (ECONNRESET or EOF) within 2 s, the VM leaves the
# listing, its sockets and CID are released, and the host keeps serving the
# other guest.
DESCRIPTION="guest VM killed mid-transfer: peer sees the end, state dropped, others served"
TESTBED_ARGS=(--guests 1 --host-grace 30)

host() {
	wait_until 120 "guest1 to register" vm_count_is 1
	wait_signal guest1-ready
	local c1 victim pid t0 t1 c3
	c1=$(cat "$TESTBED_OUT/guest1.cid")
	# A second VM, booted by hand, streams to us and is killed mid-way.
	"$REPO/build/bin/virtsock-cat" -l virt:any:6000 >/tmp/victim.out &
	local reader=$! rc
	wait_listening 6000
	"$REPO/vm-images/run-guest.sh" 8 &
	wait_signal guest8-ready
	victim=$(cat "$TESTBED_OUT/guest8.cid")
	wait_until 60 "the victim's transfer to start" test -s /tmp/victim.out
	pid=$(vm_field "$victim" pid)
	log "killing VM CID $victim (pid $pid) after $(stat -c %s /tmp/victim.out) bytes"
	t0=$(date +%s%N)
	kill -9 "$pid"
	wait_until 2 "the host reader to see the connection end" eval "! kill -0 $reader 2>/dev/null"
	t1=$(date +%s%N)
	wait "$reader" && rc=0 || rc=$?
	log "reader ended $(((t1 - t0) / 1000000)) ms after the kill (virtsock-cat exit $rc: 0 = EOF, 1 = reset)"
	wait_until 2 "the killed VM to leave the listing" vm_count_is 1
	if awk -v cid="$victim" 'NR > 1 && $5 == cid { found = 1 } END { exit !found }' /proc/net/virt; then
		fail "sockets of the killed VM are still listed: $(cat /proc/net/virt)"
	fi
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
	expect_eq "$(sysfs vms)" 0 "registered VMs at the end"
	rmmod virtsocket_host || fail "host module still in use after every VM died"
}

guest() {
	sysfs cid >"$TESTBED_OUT/guest$TESTBED_GUEST.cid"
	signal "guest$TESTBED_GUEST-ready"
	case "$TESTBED_GUEST" in
	8)	# killed by the host while this runs
		head -c 2000000000 /dev/zero | "$REPO/build/bin/virtsock-cat" virt:host:6000
		sleep 600
		;;
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
