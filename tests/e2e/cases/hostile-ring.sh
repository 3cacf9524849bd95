# A hostile guest registers a real ring and feeds the host malformed
# descriptors (forged connection ids, addresses outside its RAM, lengths past
# the limits and the credit, ring indices out of range, a ring rewritten from
# another vCPU while the host reads it); each gets its error code, for that
# guest only.  Meanwhile a well-behaved guest streams data to the host, which
# arrives intact; the host logs no warning (the test bed scans its kernel
# log); the hostile guest can register again with the real module afterwards.
# Nothing depends on the machine's speed: the races are counts of flushes,
# the time limits stop only what hangs (as a failure), and the host's
# counters are checked against what the hostile guest was answered.
# The host also checks its own side of the hostile cases: no connection of
# the hostile guest is left in its table after the guest reset them, every
# byte of a ring of 4096 64 KiB SENDs reached its readers, a host connection
# the guest accepted after forging host-side ids got its data, and no
# connection object or socket is left once every guest has left.
DESCRIPTION="hostile guest: malformed descriptors refused, other guest served"
TESTBED_ARGS=(--guests 2 --guest-cpus 2 --guest-mem 512 --host-grace 30)
# 450 s by default: the hostile module now also waits for host peers and
# moves 256 MiB, and its HELLO races take ~3 minutes on a test host with one
# CPU (a whole run 509 s, 2026-12-04; a safety net, as every limit here).
TESTBED_TIMEOUT=1200

# Ports of the host's listeners.
STREAM_PORT=5000	# guest2's stream
AFTER_PORT=5003		# guest1, back on the real module
SINK_PORT=6000		# virtsock-perf: takes many connections (module's sink_port)
DATA_PORT=6001		# sends "virtsocket-hostile rx\n" once (data_port)
STALL_PORT=6002		# accepts one connection and never reads (stall_port)
DISCARD_PORT=6004	# reads one connection to its end (discard_port)
RXBUF_PORT=6003		# sends RXBUF_LINES 32-byte lines once (rxbuf_port)
RXBUF_LINES=96		# six 512-byte receive buffers' worth (five posted at first)
BULK_PORT=6100		# BULK_CONNS readers with 8 MiB buffers, counting (bulk_port)
BULK_CONNS=32		# 4096 SENDs of 64 KiB: 8 MiB each
H2G_PORT=7000		# the host connects to the hostile guest here (h2g_port)
CONN_LIMIT=48		# the host's max_conns_per_vm in this case

# One snapshot of the host's VM listing (rows of the CIDs given are logged);
# the well-behaved guest has no refused descriptor and no failed hypercall.
check_counters() { # check_counters GOOD_CID [CID...]
	local cid
	cp "$VIRT_VMS" /tmp/vms
	log "$(head -1 /tmp/vms)"
	for cid in "$@"; do
		log "$(grep -E "^$cid " /tmp/vms)"
	done
	expect_eq "$(snap_field "$1" bad_descs)" 0 "descriptors refused to the well-behaved guest (CID $1)"
	expect_eq "$(snap_field "$1" errors)" 0 "failed hypercalls of the well-behaved guest (CID $1)"
}

snap_field() { VIRT_VMS=/tmp/vms vm_field "$@"; }

# Every bulk reader has written its count.
bulk_done() {
	local i
	for ((i = 0; i < BULK_CONNS; i++)); do
		[ -s "/tmp/bulk.$i" ] || return 1
	done
}

# Connects to the hostile guest until one connection ends with the guest's
# end of stream (the guest refuses, resets or ignores the others).
h2g() { # h2g CID
	local i
	for ((i = 0; i < 3000; i++)); do
		[ -e "$TESTBED_OUT/signal.hostile-done" ] && return 1
		"$REPO/build/bin/virtsock-cat" -w 300 "virt:$1:$H2G_PORT" </dev/null \
			>/tmp/h2g.out 2>/dev/null && return 0
		sleep 0.2
	done
	return 1
}

host() {
	local bin=$REPO/build/bin c1 c2 p refused failed_hc held share i total h2g_pid accept_limit
	# Low enough for the hostile guest to reach (each connection costs a
	# flush); guest2 needs one.
	echo "$CONN_LIMIT" >/sys/module/virtsocket_host/parameters/max_conns_per_vm
	trap 'signal host-done' EXIT	# the guests stop waiting, also on failure
	(
		set -o pipefail
		"$bin/virtsock-cat" -l "virt:any:$STREAM_PORT" </dev/null | sha256sum >/tmp/stream.sum
	) &
	local stream=$!
	"$bin/virtsock-cat" -l "virt:any:$AFTER_PORT" </dev/null >/tmp/after.out &
	local after=$!
	"$bin/virtsock-perf" -s "virt:any:$SINK_PORT" >/tmp/sink.log 2>&1 &
	local sink=$!
	printf 'virtsocket-hostile rx\n' | "$bin/virtsock-cat" -l "virt:any:$DATA_PORT" >/dev/null &
	local data=$!
	# The reader blocks on a pipe nobody reads: the connection's credit runs out.
	# (Until the end, not for a time: a debug guest reaches that case after
	# more than ten minutes, when a 'sleep 600' had closed the pipe.)
	"$bin/virtsock-cat" -l "virt:any:$STALL_PORT" </dev/null 2>/dev/null | sleep infinity &
	local stall=$!
	for ((i = 0; i < RXBUF_LINES; i++)); do
		printf 'hostile-rx-%04u-...............\n' "$i"
	done >/tmp/rxbuf.in
	# (From a file: one read, one send, so the host queues it at once.)
	# Listeners give up accepting only long after the case would have
	# failed: a debug guest reaches its last cases ~15 min in, past a fixed
	# 800 s (two cases failed so on 2026-12-07).
	accept_limit=$((800 * ${TB_WAIT_SCALE:-1}))
	"$bin/virtsock-cat" -l -w "$accept_limit" "virt:any:$RXBUF_PORT" </tmp/rxbuf.in >/dev/null &
	local rxbuf=$!
	"$bin/virtsock-cat" -l "virt:any:$DISCARD_PORT" </dev/null >/dev/null &
	local discard=$!
	# Credit for a whole share each (8 MiB, the most a socket offers).
	for ((i = 0; i < BULK_CONNS; i++)); do
		"$bin/virtsock-cat" -l -w "$accept_limit" --buffer $((8 << 20)) "virt:any:$((BULK_PORT + i))" \
			</dev/null | wc -c >"/tmp/bulk.$i" &
	done
	for p in $STREAM_PORT $AFTER_PORT $SINK_PORT $DATA_PORT $STALL_PORT $DISCARD_PORT $RXBUF_PORT \
		 $(seq "$BULK_PORT" $((BULK_PORT + BULK_CONNS - 1))); do
		wait_listening "$p"
	done
	expect_eq "$(sysfs live_conns)" 0 "live connections before the guests connect"
	signal host-listening
	log "listeners up"
	# The hostile guest keeps its CID (parked at its goodbye) in every
	# registration: the host connects to it there.
	wait_until 200 "the hostile guest to load" test -e "$TESTBED_OUT/signal.hostile-loading" -o \
		-e "$TESTBED_OUT/signal.guest1-exit" -o -e "$TESTBED_OUT/guest1.rc"
	[ -e "$TESTBED_OUT/signal.hostile-loading" ] || fail "the hostile guest never loaded"
	h2g "$(cat "$TESTBED_OUT/hostile.cid0")" &
	h2g_pid=$!

	# (The module's own limits, 2 x 40 s for the races, 60 s for each of
	# its two receive cases and for each of the host connections it waits
	# for, stop it first if it hangs.)
	wait_until 500 "the hostile guest" test -e "$TESTBED_OUT/signal.hostile-done" -o \
		-e "$TESTBED_OUT/signal.guest1-exit" -o -e "$TESTBED_OUT/guest1.rc"
	[ -e "$TESTBED_OUT/signal.hostile-done" ] || fail "the hostile guest failed"
	c1=$(cat "$TESTBED_OUT/hostile.cid")
	c2=$(cat "$TESTBED_OUT/guest2.cid")
	expect_eq "$c1" "$(cat "$TESTBED_OUT/hostile.cid0")" "CID of the hostile registration (its parked one)"
	wait_exit 400 "the host connections to the hostile guest" "$h2g_pid" || fail "no host connection to the hostile guest ended well"
	expect_eq "$(cat /tmp/h2g.out)" "virtsocket-hostile h2g" \
		"data of the host connection the hostile guest accepted after forging host-side ids"
	log "host connection to the hostile guest: accepted after the forged ids, data intact"
	check_counters "$c2" "$c1"
	# The guest reset every connection it opened: duplicate CONNECTs and
	# connections refused at the limit left nothing in the host's table.
	read -r held <"$TESTBED_OUT/hostile.held"
	expect_eq "$(snap_field "$c1" conns)" "$held" "connections of the hostile guest in the host's table"
	read -r share <"$TESTBED_OUT/hostile.bulk"
	wait_until 120 "the bulk readers to see their end of stream" bulk_done
	total=0
	for ((i = 0; i < BULK_CONNS; i++)); do
		expect_eq "$(cat "/tmp/bulk.$i")" "$share" "bytes at bulk reader $i (port $((BULK_PORT + i)))"
		total=$((total + $(cat "/tmp/bulk.$i")))
	done
	log "a ring of 4096 SENDs of 64 KiB: $total bytes at $BULK_CONNS readers"
	# The HELLO races registered and said goodbye 2000 times: no CID lost.
	expect_eq "$(sysfs cids)" "$(sysfs vms)" "CIDs in use after the HELLO races (one per registered VM)"
	# The host counted what it answered: every failed flush (including the
	# races' refused indices) and at least every refused descriptor the
	# guest saw outside the races (the races' garbage adds an unknown number).
	read -r refused failed_hc <"$TESTBED_OUT/hostile.must"
	# (Forged connection ids are refused as stale: a late descriptor of a
	# well-behaved guest looks the same.)
	expect_ge "$(($(snap_field "$c1" bad_descs) + $(snap_field "$c1" stale_descs)))" "$refused" \
		"descriptors refused to the hostile guest (CID $c1), malformed and stale"
	expect_eq "$(snap_field "$c1" errors)" "$failed_hc" "hypercalls of the hostile guest answered with an error"
	log "hostile CID $c1: $(snap_field "$c1" bad_descs) descriptors refused as malformed and $(snap_field "$c1" stale_descs) as stale (at least $refused in all), $(snap_field "$c1" errors) hypercall errors"
	signal hostile-checked

	wait_exit 120 "guest2's stream to end" "$stream" || fail "stream listener exited $?"
	wait_signal guest2-sent 60
	expect_eq "$(cat /tmp/stream.sum)" "$(cat "$TESTBED_OUT/stream.sum")" "guest2->host stream checksum"
	log "guest2's stream during the attack: $(cat "$TESTBED_OUT/stream.bytes") bytes, checksum matches"
	check_counters "$c2"

	wait_exit 300 "guest1's stream on the real module to end" "$after" || fail "listener for guest1 on the real module exited $?"
	expect_eq "$(sha256sum </tmp/after.out)" "$(sha256sum <"$TESTBED_OUT/after.in")" "guest1->host checksum after the attack"
	log "guest1, back on the real module: $(stat -c %s /tmp/after.out) bytes, checksum matches"
	wait_exit 120 "the data listener to see the hostile guest leave" "$data" || log "data listener exited $? (reset when the hostile guest left)"
	# (The module checked what its buffers got: the listener may be done.)
	kill "$sink" "$stall" "$rxbuf" "$discard" 2>/dev/null
	wait "$sink" "$stall" "$rxbuf" "$discard" 2>/dev/null || true
	# Back to the baseline: every connection of every guest is gone.
	expect_host_conns_gone "after the hostile guest left and every listener closed"
}

guest_hostile() {
	local hostile=$hostile_module cid
	trap 'signal guest1-exit' EXIT	# guest2 stops streaming, also on failure
	wait_signal host-listening
	wait_until 300 "guest2 to stream" test -e "$TESTBED_OUT/signal.guest2-streaming" -o \
		-e "$TESTBED_OUT/guest2.rc"	# (or stopped by the test bed)
	[ -e "$TESTBED_OUT/signal.guest2-streaming" ] || fail "guest2 never streamed"
	log "guest2 is streaming: attacking"
	sysfs cid >"$TESTBED_OUT/hostile.cid0"
	signal hostile-loading
	rmmod virtsocket_guest || fail "cannot unload the real guest module"
	# Short races, 128 flushes each (two rounds of reconnects): the emulated
	# test host (nested SVM under TCG) does not survive seconds of
	# back-to-back hypercalls from two vCPUs reliably.  A race not done in
	# 300 s fails (a safety stop): on a test host with one CPU (the
	# default) a HELLO round takes ~50 ms (~1 ms on two), so 1000 rounds
	# take ~55 s.
	insmod "$hostile" ram_mb=512 hold=1 race_flushes=128 race_limit_s=300 conn_limit=$CONN_LIMIT \
		sink_port=$SINK_PORT data_port=$DATA_PORT stall_port=$STALL_PORT discard_port=$DISCARD_PORT \
		rxbuf_port=$RXBUF_PORT bulk_port=$BULK_PORT bulk_conns=$BULK_CONNS h2g_port=$H2G_PORT || {
		dmesg | grep virtsocket-hostile
		fail "some hostile descriptor or hypercall did not get its expected answer"
	}
	dmesg | grep virtsocket-hostile
	log "$(dmesg | grep -c 'virtsocket-hostile: .*: ok$') hostile cases got their expected answers"
	cid=$(dmesg | sed -n 's/.*virtsocket-hostile: registered as CID \([0-9]*\)$/\1/p' | tail -1)
	expect_ge "$cid" 3 "CID of the hostile registration"
	echo "$cid" >"$TESTBED_OUT/hostile.cid"
	dmesg | sed -n 's/.*virtsocket-hostile: host must count: at least \([0-9]*\) refused descriptors, exactly \([0-9]*\) failed hypercalls$/\1 \2/p' |
		tail -1 >"$TESTBED_OUT/hostile.must"
	[ -s "$TESTBED_OUT/hostile.must" ] || fail "the hostile module did not say what the host must count"
	dmesg | sed -n 's/.*virtsocket-hostile: host must hold: \([0-9]*\) connections of this guest$/\1/p' |
		tail -1 >"$TESTBED_OUT/hostile.held"
	[ -s "$TESTBED_OUT/hostile.held" ] || fail "the hostile module did not say what the host must hold"
	dmesg | sed -n "s/.*virtsocket-hostile: host must receive: \([0-9]*\) bytes on each of ports $BULK_PORT to $((BULK_PORT + BULK_CONNS - 1))\$/\1/p" |
		tail -1 >"$TESTBED_OUT/hostile.bulk"
	[ -s "$TESTBED_OUT/hostile.bulk" ] || fail "the hostile module did not say what the bulk readers must receive"
	dmesg | grep 'virtsocket-hostile: longest flush' | tail -1
	signal hostile-done
	wait_signal hostile-checked 300
	rmmod virtsocket_hostile
	dmesg | grep 'virtsocket-hostile: at unload' | grep -q ': 0 of ' || {
		dmesg | grep virtsocket-hostile | tail -5
		fail "goodbye of the hostile ring did not get its expected answers"
	}
	insmod "$guest_module" || fail "well-behaved guest module refused after the attack"
	expect_ge "$(sysfs cid)" 3 "CID after the attack"
	head -c 300000 /dev/urandom >"$TESTBED_OUT/after.in"
	timeout 240 "$REPO/build/bin/virtsock-cat" "virt:host:$AFTER_PORT" <"$TESTBED_OUT/after.in" ||
		fail "guest1 virtsock-cat exited $?"
	wait_signal host-done
}

guest_streamer() {
	local bin=$REPO/build/bin chunks=0
	sysfs cid >"$TESTBED_OUT/guest2.cid"
	head -c 131072 /dev/urandom >/tmp/chunk
	wait_signal host-listening
	log "streaming"
	# Streams until the hostile guest is done, a few MB/s at most.
	{
		cat /tmp/chunk
		signal guest2-streaming
		while [ ! -e "$TESTBED_OUT/signal.hostile-done" ] &&
		      [ ! -e "$TESTBED_OUT/signal.guest1-exit" ] &&
		      [ ! -e "$TESTBED_OUT/guest1.rc" ]; do	# (stopped by the test bed)
			cat /tmp/chunk
			sleep 0.05
		done
		cat /tmp/chunk
	} | tee /tmp/sent | "$bin/virtsock-cat" "virt:host:$STREAM_PORT" ||
		fail "guest2 virtsock-cat exited $?"
	stat -c %s /tmp/sent >"$TESTBED_OUT/stream.bytes"
	sha256sum </tmp/sent >"$TESTBED_OUT/stream.sum"
	signal guest2-sent
	log "guest2 sent $(cat "$TESTBED_OUT/stream.bytes") bytes during the attack"
	wait_signal host-done 120
}

guest() {
	case "$TESTBED_GUEST" in
	1) guest_hostile ;;
	*) guest_streamer ;;
	esac
}
