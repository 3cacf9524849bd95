# virtsock-cat as a relay, the way `socat VSOCK-LISTEN:22,fork TCP:localhost:22`
# is used: an sshd-like TCP service on 127.0.0.1 (it speaks first, reads
# its client's whole stream, answers with its checksum and a payload of its
# own) is exposed over AF_VIRT by `virtsock-cat -l -k virt:any:PORT
# tcp:127.0.0.1:PORT2`.  The test host exposes one to the guest and the
# guest one to the host; on each, two clients at once move 4 MB in and 3 MB
# out, checked by sha256.  The service answers only once both connections
# are open at the same time (a relay serving one at a time fails), and only
# after its client's end of stream, which only a half-close passed on by the
# relay brings; its own end reaches the client the same way.  SIGTERM then
# stops each relay.
DESCRIPTION="virtsock-cat -l -k relays AF_VIRT to a TCP service: 2 connections at once, both ways, half-close"
TESTBED_ARGS=(--guests 1 --host-grace 60)

relay_port=7000		# the test host's relay (AF_VIRT), in front of TCP 7001
guest_relay_port=7100	# the guest's, in front of TCP 7101

# start_service TCP_PORT PAYLOAD: the sshd-like service, in the background
# (its pid in $service); ready once it listens.
start_service() {
	rm -f "/tmp/service.$1.ready"
	python3 - "$1" "$2" >"/tmp/service.$1.log" 2>&1 <<'EOF' &
import hashlib, socket, sys, threading

port, payload = int(sys.argv[1]), open(sys.argv[2], "rb").read()
cond = threading.Condition()
open_now = most_open = 0

def serve(c):
    global open_now, most_open
    with cond:
        open_now += 1
        most_open = max(most_open, open_now)
        cond.notify_all()
    c.sendall(b"SSH-2.0-virtsocket-relay-test\r\n")
    h, total = hashlib.sha256(), 0
    while True:
        b = c.recv(65536)
        if not b:
            break
        h.update(b)
        total += len(b)
    # The client's end of stream came: both connections must be open at once.
    with cond:
        together = cond.wait_for(lambda: most_open >= 2, timeout=300)
    c.sendall(f"{total} {h.hexdigest()} {'together' if together else 'alone'}\n".encode())
    c.sendall(payload)
    c.close()
    with cond:
        open_now -= 1
    print(f"served {total} bytes, {'together' if together else 'alone'}", flush=True)

s = socket.create_server(("127.0.0.1", port))
open(f"/tmp/service.{port}.ready", "w").close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
EOF
	service=$!
	wait_until 30 "the TCP service on port $1" test -e "/tmp/service.$1.ready"
}

# start_relay VIRT_PORT TCP_PORT: virtsock-cat -l -k in the background ($relay).
start_relay() {
	"$REPO/build/bin/virtsock-cat" -l -k -v "virt:any:$1" "tcp:127.0.0.1:$2" 2>"/tmp/relay.$1.log" &
	relay=$!
	wait_listening "$1"
}

# stop_relay VIRT_PORT: SIGTERM; it dies of it, its listener gone.
stop_relay() {
	local rc=0
	kill -TERM "$relay"
	wait "$relay" || rc=$?
	expect_eq "$rc" 143 "the relay's status after SIGTERM (128 + 15)"
	! is_listening "$1" || fail "port $1 still listening after the relay's SIGTERM"
	expect_eq "$(grep -c 'bytes back' "/tmp/relay.$1.log")" 2 "connections the relay logged as done"
	kill "$service" 2>/dev/null || true
}

# clients CID PORT NAME: two clients at once, each sends 4 MB and half-closes,
# then reads the banner, the service's checksum of what it got, and the
# payload $TESTBED_OUT/NAME.payload, until the service's end.
clients() {
	local cid=$1 port=$2 name=$3 i pids=() want hdr line rc
	for i in 1 2; do
		head -c 4000000 /dev/urandom >"/tmp/$name.in.$i"
		"$REPO/build/bin/virtsock-cat" "virt:$cid:$port" <"/tmp/$name.in.$i" >"/tmp/$name.out.$i" &
		pids+=($!)
	done
	for i in 1 2; do
		rc=0
		wait "${pids[$((i - 1))]}" || rc=$?
		expect_eq "$rc" 0 "$name client $i's virtsock-cat status"
	done
	want=$(sha256sum <"$TESTBED_OUT/$name.payload" | cut -d' ' -f1)
	for i in 1 2; do
		expect_eq "$(head -n 1 "/tmp/$name.out.$i" | tr -d '\r')" "SSH-2.0-virtsocket-relay-test" \
			"$name client $i: the service's banner"
		line=$(sed -n 2p "/tmp/$name.out.$i")
		expect_eq "$line" "4000000 $(sha256sum <"/tmp/$name.in.$i" | cut -d' ' -f1) together" \
			"$name client $i: size and sha256 the service got, both connections open at once"
		hdr=$(head -n 2 "/tmp/$name.out.$i" | wc -c)
		expect_eq "$(tail -c +$((hdr + 1)) "/tmp/$name.out.$i" | sha256sum | cut -d' ' -f1)" "$want" \
			"$name client $i: sha256 of the service's payload"
	done
	log "$name: 2 connections at once, 4000000 bytes each way in and $(stat -c %s "$TESTBED_OUT/$name.payload") out, checksums match"
}

host() {
	ip link set lo up	# (the test host brings it up only with --net)
	head -c 3000000 /dev/urandom >"$TESTBED_OUT/to-guest.payload"
	start_service 7001 "$TESTBED_OUT/to-guest.payload"
	start_relay $relay_port 7001
	signal host-relay
	wait_signal guest-done
	log "host relay: connections from $(sed -n 's/.* from \(.*\): relaying to .*/\1/p' /tmp/relay.$relay_port.log | xargs)"
	stop_relay $relay_port

	wait_signal guest-relay
	clients "$(cat "$TESTBED_OUT/guest1.cid")" $guest_relay_port to-host
	signal host-done
	wait_signal guest-stopped
	expect_host_conns_gone "after both relays"
}

guest() {
	sysfs cid >"$TESTBED_OUT/guest1.cid"
	wait_signal host-relay
	clients host $relay_port to-guest
	signal guest-done

	head -c 3000000 /dev/urandom >"$TESTBED_OUT/to-host.payload"
	start_service 7101 "$TESTBED_OUT/to-host.payload"
	start_relay $guest_relay_port 7101
	signal guest-relay
	wait_signal host-done
	stop_relay $guest_relay_port
	signal guest-stopped
}
