# virtsock-cat moves a file guest->host and host->guest over AF_VIRT; the
# checksums match at the far end.
DESCRIPTION="SOCK_STREAM: virtsock-cat moves files both ways"
TESTBED_ARGS=(--guests 1 --host-grace 60)

host() {
	local cat_bin=$REPO/build/bin/virtsock-cat

	"$cat_bin" -l virt:any:5000 >/tmp/g2h.out &
	local listener=$!
	wait_listening 5000
	signal host-listening
	wait "$listener" || fail "host virtsock-cat -l exited $?"
	expect_eq "$(sha256sum </tmp/g2h.out)" "$(sha256sum <"$TESTBED_OUT/g2h.in")" "guest->host checksum"
	log "guest->host: $(stat -c %s /tmp/g2h.out) bytes, checksum matches"

	wait_signal guest-listening
	head -c 3000000 /dev/urandom >"$TESTBED_OUT/h2g.in"
	"$cat_bin" "virt:$(cat "$TESTBED_OUT/guest1.cid"):5001" <"$TESTBED_OUT/h2g.in" ||
		fail "host virtsock-cat exited $?"
	wait_signal guest-done
}

guest() {
	local cat_bin=$REPO/build/bin/virtsock-cat
	sysfs cid >"$TESTBED_OUT/guest1.cid"
	head -c 4000000 /dev/urandom >"$TESTBED_OUT/g2h.in"
	wait_signal host-listening
	"$cat_bin" virt:host:5000 <"$TESTBED_OUT/g2h.in" || fail "guest virtsock-cat exited $?"

	"$cat_bin" -l virt:any:5001 >/tmp/h2g.out &
	local listener=$!
	wait_listening 5001
	signal guest-listening
	wait "$listener" || fail "guest virtsock-cat -l exited $?"
	expect_eq "$(sha256sum </tmp/h2g.out)" "$(sha256sum <"$TESTBED_OUT/h2g.in")" "host->guest checksum"
	log "host->guest: $(stat -c %s /tmp/h2g.out) bytes, checksum matches"
	log "guest counters: flushes $(sysfs flushes), tx_descs $(sysfs tx_descs), rx_events $(sysfs rx_events), interrupts $(sysfs interrupts)"
	signal guest-done
}
