# tests/e2e/virt_test the other way round: the guest listens, the host
# connects to the guest's CID.
DESCRIPTION="virt_test, guest listens, host connects"
TESTBED_ARGS=(--guests 1 --host-grace 120)

host() {
	wait_signal guest-cid
	mkdir -p "$TESTBED_OUT/ctl"
	"$REPO/build/bin/virt_test" --mode client \
		--connect "virt:$(cat "$TESTBED_OUT/guest1.cid"):1234" \
		--control "$TESTBED_OUT/ctl"
	# Every case's connections, 300 of them in two cases, leave nothing.
	expect_host_conns_gone "after every case"
}

guest() {
	sysfs cid >"$TESTBED_OUT/guest1.cid"
	signal guest-cid
	mkdir -p "$TESTBED_OUT/ctl"
	# The server's case timeout holds for both sides.  A safety net: 100 000
	# one-byte sends once took over 30 s on a test host with one CPU.
	"$REPO/build/bin/virt_test" --mode server --listen virt:any:1234 \
		--control "$TESTBED_OUT/ctl" --integrity-bytes 4M \
		--case-timeout $((120 * ${TB_WAIT_SCALE:-1}))
}
