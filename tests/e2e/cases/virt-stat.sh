# virtsock-stat against the real /proc/net/virt on the test host and in a
# guest: a listener on each side (virtsock-cat -l), one connection guest ->
# host held open.  On each side its -a listing matches /proc/net/virt row
# for row (state, queues, CID:port with * for any), -l shows exactly the
# listener, the default shows exactly the connection with the known CIDs
# and ports, -p names the virtsock-cat process holding each socket, --json
# says the same, ss-style filters pick the rows, -s has the module's files.
DESCRIPTION="virtsock-stat: -a/-l/-p/--json/filters against /proc/net/virt, host and guest"
TESTBED_ARGS=(--guests 1 --host-grace 60)

# (REPO is set when case.sh runs the case; run.sh reads only its settings.)
stat_bin=${REPO:-}/build/bin/virtsock-stat
cat_bin=${REPO:-}/build/bin/virtsock-cat

# The listing as `virtsock-stat -H -n -a` must show it, from the kernel's
# file: state, Recv-Q (rx_queued), Send-Q (tx_inflight), local, peer.
proc_view() {
	awk 'BEGIN { n["01"] = "ESTAB"; n["02"] = "SYN-SENT"; n["07"] = "UNCONN"; n["0A"] = "LISTEN"; n["0B"] = "CLOSING" }
	function ep(cid, port) { return (cid == 4294967295 ? "*" : cid) ":" (port == 4294967295 ? "*" : port) }
	NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
	{ st = $c["st"]; print (st in n ? n[st] : st), $c["rx_queued"], $c["tx_inflight"],
		ep($c["local_cid"], $c["local_port"]), ep($c["peer_cid"], $c["peer_port"]) }' /proc/net/virt
}
stat_view() { "$stat_bin" -H "$@" | tr -s ' '; }

# The connected rows of this side's /proc/net/virt with that peer port
# and local port: "local_cid local_port peer_cid peer_port".
connection_of() { # connection_of PEER_PORT|any LOCAL_PORT|any
	awk -v pp="$1" -v lp="$2" 'NR > 1 && $2 == "01" && (pp == "any" || $6 == pp) && (lp == "any" || $4 == lp) {
		print $3, $4, $5, $6 }' /proc/net/virt
}
has_connection() { [ -n "$(connection_of "$@")" ]; }
not_listening() { ! is_listening "$1"; }
no_sockets() { [ "$(tail -n +2 /proc/net/virt | wc -l)" = 0 ]; }

# check_side NAME LISTEN_PORT LISTENER_PID CONN_PID LOCAL PEER PEER_NAMED
# (LOCAL and PEER of the connection as CID:PORT; PEER_NAMED as shown
# without -n).
check_side() {
	local name=$1 lport=$2 lpid=$3 cpid=$4 local=$5 peer=$6 peer_named=$7 rows out
	rows=$(tail -n +2 /proc/net/virt | wc -l)
	log "$name: /proc/net/virt:"
	sed 's/^/    /' /proc/net/virt

	expect_eq "$(stat_view -n -a)" "$(proc_view)" "$name: virtsock-stat -H -n -a against /proc/net/virt"
	expect_eq "$(stat_view -n -a | wc -l)" "$rows" "$name: rows of -a"
	expect_eq "$(stat_view -n -l)" "LISTEN 0 0 *:$lport *:*" "$name: -l"
	expect_eq "$(stat_view -n)" "ESTAB 0 0 $local $peer" "$name: the default (connected sockets)"
	expect_eq "$(stat_view | cut -d' ' -f5)" "$peer_named" "$name: the peer without -n"
	expect_eq "$("$stat_bin" -ln | head -n 1 | tr -s ' ')" \
		"State Recv-Q Send-Q Local Address:Port Peer Address:Port" "$name: the header"

	out=$(stat_view -n -l -p)
	case "$out" in
	*"users:((\"virtsock-cat\",pid=$lpid,fd="*) ;;
	*) fail "$name: -l -p does not name the listener's process (pid $lpid): $out" ;;
	esac
	out=$(stat_view -n -p state established)
	case "$out" in
	*"users:((\"virtsock-cat\",pid=$cpid,fd="*) ;;
	*) fail "$name: -p does not name the connection's process (pid $cpid): $out" ;;
	esac
	out=$(stat_view -n -e -a)
	expect_eq "$(echo "$out" | grep -o 'ino:[0-9]*' | cut -d: -f2 | xargs)" \
		"$(tail -n +2 /proc/net/virt | cut -d' ' -f1 | xargs)" "$name: -e inodes against /proc/net/virt"

	expect_eq "$(stat_view -n state listening sport = :"$lport")" "LISTEN 0 0 *:$lport *:*" \
		"$name: state listening sport = :$lport"
	expect_eq "$(stat_view -n -a dst "$peer")" "ESTAB 0 0 $local $peer" "$name: -a dst $peer"
	expect_eq "$(stat_view -n -a dport = :"${peer#*:}" exclude listening)" "ESTAB 0 0 $local $peer" \
		"$name: dport = :${peer#*:}"
	expect_eq "$(stat_view -n state listening sport = :1)" "" "$name: a filter nothing matches"

	"$stat_bin" --json -a -p | python3 -c '
import json, sys
rows, lport, lpid, cpid, local, peer = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
socks = json.load(sys.stdin)["sockets"]
assert len(socks) == rows, f"{len(socks)} sockets, /proc/net/virt has {rows}"
ep = lambda e: "%s:%s" % (e["cid"], e["port"])
l = [s for s in socks if s["state"] == "LISTEN"]
assert len(l) == 1 and l[0]["local"] == {"cid": None, "port": lport}, l
assert l[0]["peer"] == {"cid": None, "port": None}, l
assert [u["pid"] for u in l[0]["users"]] == [lpid] and l[0]["users"][0]["comm"] == "virtsock-cat", l
e = [s for s in socks if s["state"] == "ESTAB"]
assert len(e) == 1 and ep(e[0]["local"]) == local and ep(e[0]["peer"]) == peer, e
assert [u["pid"] for u in e[0]["users"]] == [cpid], e
assert e[0]["inode"] > 0 and e[0]["recv_q"] == 0 and e[0]["send_q"] == 0, e
' "$rows" "$lport" "$lpid" "$cpid" "$local" "$peer" || fail "$name: --json -a -p"

	out=$("$stat_bin" -s)
	case "$out" in
	"Total: $rows ("*"role=$name"*) ;;
	*) fail "$name: -s: $out" ;;
	esac
	log "$name: virtsock-stat matches /proc/net/virt ($rows sockets), -l/-p/-e/--json/filters/-s checked"
}

host() {
	local listener conn rc=0 gcid gport
	"$cat_bin" -l virt:any:6000 >/dev/null &
	listener=$!
	"$cat_bin" -l virt:any:6001 </dev/null >/dev/null &
	conn=$!
	wait_listening 6000
	wait_listening 6001
	signal host-listening
	wait_signal guest-connected
	gcid=$(cat "$TESTBED_OUT/guest1.cid")
	wait_until 30 "the guest's connection to port 6001" has_connection any 6001
	gport=$(connection_of any 6001 | cut -d' ' -f4)
	[ -n "$gport" ] || fail "no connection on port 6001 in /proc/net/virt: $(cat /proc/net/virt)"
	# (6001's listener closed once it accepted.)
	wait_until 30 "the listener on 6001 to close" not_listening 6001
	check_side host 6000 "$listener" "$conn" "2:6001" "$gcid:$gport" "$gcid:$gport"
	expect_eq "$(stat_view | cut -d' ' -f4)" "host:6001" "host: the local address without -n"
	expect_eq "$("$stat_bin" -s | grep -c '^cid  *pid ')" 1 "host: -s shows the VM listing"
	signal host-checked
	wait_signal guest-checked

	wait "$conn" || fail "host virtsock-cat -l 6001 exited $?"	# the guest's end
	kill -TERM "$listener"
	wait "$listener" || rc=$?
	expect_eq "$rc" 143 "host listener's status after SIGTERM"
	expect_host_conns_gone "after virt-stat"
}

guest() {
	local listener conn rc=0 gport cid
	cid=$(sysfs cid)
	echo "$cid" >"$TESTBED_OUT/guest1.cid"
	"$cat_bin" -l virt:any:6002 >/dev/null &
	listener=$!
	wait_listening 6002
	wait_signal host-listening
	# A connection held open: its stdin a fifo this shell keeps open.
	mkfifo /tmp/hold
	"$cat_bin" virt:host:6001 </tmp/hold >/dev/null &
	conn=$!
	exec 3>/tmp/hold
	wait_until 30 "the connection to host:6001" has_connection 6001 any
	# The host's cat, its stdin empty, half-closed at once: the
	# connection stays ESTAB (CLOSING once both ends did).
	gport=$(connection_of 6001 any | cut -d' ' -f2)
	signal guest-connected
	check_side guest 6002 "$listener" "$conn" "$cid:$gport" "2:6001" "host:6001"
	expect_eq "$(stat_view | cut -d' ' -f4)" "$cid:$gport" "guest: its own CID is shown as a number"
	signal guest-checked
	wait_signal host-checked

	exec 3>&-	# the end of stdin: the connection ends
	wait "$conn" || fail "guest virtsock-cat exited $?"
	kill -TERM "$listener"
	wait "$listener" || rc=$?
	expect_eq "$rc" 143 "guest listener's status after SIGTERM"
	wait_until 30 "no AF_VIRT socket left in the guest" no_sockets
}
