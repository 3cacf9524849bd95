# tests/e2e/virt_test: every SOCK_STREAM semantic, server on the host and
# client in the guest (paired cases over a control directory, like the
# kernel's vsock_test).
DESCRIPTION="virt_test, host listens, guest connects"
TESTBED_ARGS=(--guests 1 --host-grace 120)

host() {
	mkdir -p "$TESTBED_OUT/ctl"
	# The server's case timeout holds for both sides.  A safety net: 100 000
	# one-byte sends once took over 30 s on a test host with one CPU.
	"$REPO/build/bin/virt_test" --mode server --listen virt:any:1234 \
		--control "$TESTBED_OUT/ctl" --integrity-bytes 4M \
		--case-timeout $((120 * ${TB_WAIT_SCALE:-1}))
	# Every case's connections, 300 of them in two cases, leave nothing.
	expect_host_conns_gone "after every case"
}

guest() {
	mkdir -p "$TESTBED_OUT/ctl"
	"$REPO/build/bin/virt_test" --mode client --connect virt:2:1234 \
		--control "$TESTBED_OUT/ctl"
}
