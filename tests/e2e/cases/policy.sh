# The access policy, evaluated by the host module at each connect and bind:
# an enabled VM reaches only the host ports set for it, host programs only
# the VM's ports set for it; a refused connect fails with EACCES on either
# side (the guest's by the host's RESET) and is counted, globally and per
# VM; a change applies to the next connection at once.  Bind rules: a host
# port a rule covers is bound (or listened on) only by the users and groups
# its rules name, other ports stay open to all.  (The test bed opened every
# port of guest1 when it enabled it; this case narrows them.)
DESCRIPTION="access policy: ports each way (EACCES, counted, changes at once), host bind rules by uid and gid"
TESTBED_ARGS=(--guests 1)

# (Helpers of host() and guest(), which set cat_bin.)
# Runs a virtsock-cat connect that must fail with "Permission denied".
refused() { # refused WHAT URI
	local out
	if out=$(echo "not for $2" | timeout 30 "$cat_bin" "$2" 2>&1); then
		fail "$1: connect to $2 succeeded ($out), expected EACCES"
	fi
	grep -qF "Permission denied" <<<"$out" || fail "$1: connect to $2: got '$out', expected EACCES"
	log "refused as expected: $1: $out"
}
sent() { # sent WHAT URI: a line goes through
	echo "hello $2" | timeout 30 "$cat_bin" "$2" || fail "$1: connect to $2 failed ($?)"
}
denied() { sysfs policy_denied; }
# Either side's signal NAME; stop waiting (failing) once the other side
# has ended without giving it.
wait_host() { # wait_host NAME
	wait_until 300 "signal $1" test -e "$TESTBED_OUT/signal.$1" -o -e "$TESTBED_OUT/signal.host-done"
	[ -e "$TESTBED_OUT/signal.$1" ] || fail "the host's command ended without signal $1"
}
wait_guest() { # wait_guest NAME
	wait_until 300 "signal $1" test -e "$TESTBED_OUT/signal.$1" -o -e "$TESTBED_OUT/guest1.rc"
	[ -e "$TESTBED_OUT/signal.$1" ] || fail "guest1 ended without signal $1"
}
nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; }

host() {
	local cat_bin=$REPO/build/bin/virtsock-cat p1 cid before l_ok l_no out l
	trap 'signal host-done' EXIT
	wait_until 300 "the guest to register" vm_count_is 1
	p1=$(guest_qemu_pid 1)
	cid=$("$ctl_bin" list | awk -v pid="$p1" 'NR > 1 && $1 == pid { print $2 }')
	expect_eq "$("$ctl_bin" ports --pid "$p1" | tr '\n' ' ')" "to-host all to-guest all " \
		"the test bed's policy"
	echo "$cid" >"$TESTBED_OUT/guest1.cid"
	"$ctl_bin" ports --pid "$p1" --to-host 5000-5010,5500 --to-guest 6000 || fail "set ports"
	expect_eq "$("$ctl_bin" ports --pid "$p1" | tr '\n' ' ')" "to-host 5000-5010,5500 to-guest 6000 " \
		"the policy set"
	out=$("$ctl_bin" ports --pid 1 --to-host all 2>&1) && fail "ports of pid 1, not enabled, were set"
	grep -qF "ports pid 1: that pid is not enabled" <<<"$out" ||
		fail "ports of a pid not enabled: got '$out', expected ENOENT"
	# Listening on both: the refusal is the policy's, not an absent listener's.
	timeout 300 "$cat_bin" -l virt:any:5005 >/tmp/p5005.out &
	l_ok=$!
	timeout 300 "$cat_bin" -l virt:any:5020 >/tmp/p5020.out &
	l_no=$!
	wait_listening 5005
	wait_listening 5020
	before=$(denied)
	signal host-ready

	# Guest -> host: 5005 allowed, 5020 refused (EACCES in the guest).
	wait_guest guest-listening
	expect_eq "$(denied)" $((before + 1)) "policy_denied after the guest's refused connect"
	expect_eq "$(vm_field "$cid" policy_denied)" 1 "the VM's policy_denied"
	wait "$l_ok" || fail "host listener on 5005 exited $?"
	grep -qF "hello virt:host:5005" /tmp/p5005.out || fail "nothing from the guest on 5005"
	# Listening again: the refusal after the change is the policy's.
	timeout 300 "$cat_bin" -l virt:any:5005 >/tmp/p5005.out &
	l_ok=$!
	wait_listening 5005
	[ ! -s /tmp/p5020.out ] || fail "the refused connect reached the listener on 5020"

	# Host -> guest: 6000 allowed, 6001 refused at once.
	sent "host to guest 6000, allowed" "virt:$cid:6000"
	refused "host to guest 6001, not in the policy" "virt:$cid:6001"
	expect_eq "$(denied)" $((before + 2)) "policy_denied after the host's refused connect"
	expect_eq "$(vm_field "$cid" policy_denied)" 2 "the VM's policy_denied"

	# A change applies to the next connection at once, both ways.
	"$ctl_bin" ports --pid "$p1" --to-guest 6001 --to-host none || fail "change the ports"
	sent "host to guest 6001, allowed now" "virt:$cid:6001"
	refused "host to guest 6000, not any more" "virt:$cid:6000"
	signal host-changed
	wait_guest guest-refused-after-change
	expect_eq "$(vm_field "$cid" policy_denied)" 5 "the VM's policy_denied after the change"
	[ ! -s /tmp/p5005.out ] || fail "a refused connect reached the listener on 5005"
	kill "$l_no" "$l_ok" 2>/dev/null || true
	wait "$l_ok" "$l_no" 2>/dev/null || true

	# Bind rules: ports 7000-7010 are root's and then also group 65534's.
	"$ctl_bin" bind-rule add --ports 7000-7010 --uid 0 || fail "bind-rule add"
	out=$("$ctl_bin" bind-rule add --ports 7000-7010 --uid 0 2>&1) && fail "a duplicate rule was added"
	grep -qF "that rule exists already" <<<"$out" || fail "duplicate rule: got '$out'"
	expect_eq "$("$ctl_bin" bind-rule list | tr '\n' ' ')" "ports kind id 7000-7010 uid 0 " "the rules"
	before=$(denied)
	if out=$(nobody timeout 10 "$cat_bin" -l virt:any:7005 2>&1); then
		fail "user 65534 listened on ruled port 7005 ($out)"
	fi
	grep -qF "Permission denied" <<<"$out" || fail "user 65534 binding 7005: got '$out', expected EACCES"
	log "refused as expected: user 65534 binding port 7005: $out"
	expect_eq "$(denied)" $((before + 1)) "policy_denied after the refused bind"
	# An unruled port is open to every user.
	nobody timeout 300 "$cat_bin" -l virt:any:7100 >/dev/null &
	l=$!
	wait_listening 7100
	kill "$l" || true
	wait "$l" 2>/dev/null || true
	# Root is named: it binds.
	timeout 300 "$cat_bin" -l virt:any:7005 >/dev/null &
	l=$!
	wait_listening 7005
	kill "$l" || true
	wait "$l" 2>/dev/null || true
	# A rule for the group lets user 65534 bind too; taken away, refused again.
	"$ctl_bin" bind-rule add --ports 7000-7010 --gid 65534 || fail "bind-rule add --gid"
	nobody timeout 300 "$cat_bin" -l virt:any:7006 >/dev/null &
	l=$!
	wait_listening 7006
	kill "$l" || true
	wait "$l" 2>/dev/null || true
	"$ctl_bin" bind-rule del --ports 7000-7010 --gid 65534 || fail "bind-rule del --gid"
	out=$(nobody timeout 10 "$cat_bin" -l virt:any:7006 2>&1) && fail "user 65534 listened on 7006 after the del"
	grep -qF "Permission denied" <<<"$out" || fail "after the del: got '$out', expected EACCES"
	"$ctl_bin" bind-rule del --ports 7000-7010 --uid 0 || fail "bind-rule del"
	out=$("$ctl_bin" bind-rule del --ports 7000-7010 --uid 0 2>&1) && fail "a rule gone was deleted"
	grep -qF "no such rule" <<<"$out" || fail "del of a rule gone: got '$out'"
	expect_eq "$("$ctl_bin" bind-rule list)" "ports kind id" "the rules at the end"
	log "policy_denied at the end: $(denied); VM: $(vm_field "$cid" policy_denied)"
	signal host-checked
}

guest() {
	local cat_bin=$REPO/build/bin/virtsock-cat l6000 l6001
	wait_host host-ready
	"$cat_bin" -l virt:any:6000 >/tmp/g6000.out &
	l6000=$!
	"$cat_bin" -l virt:any:6001 >/tmp/g6001.out &
	l6001=$!
	wait_listening 6000
	wait_listening 6001
	sent "guest to host 5005, allowed" virt:host:5005
	refused "guest to host 5020, not in the policy" virt:host:5020
	signal guest-listening

	wait_host host-changed
	wait "$l6000" || fail "guest listener on 6000 exited $?"
	wait "$l6001" || fail "guest listener on 6001 exited $?"
	grep -qF "hello virt:" /tmp/g6000.out || fail "nothing from the host on 6000"
	grep -qF "hello virt:" /tmp/g6001.out || fail "nothing from the host on 6001 after the change"
	refused "guest to host 5005, to-host none now" virt:host:5005
	refused "guest to host 5500, to-host none now" virt:host:5500
	signal guest-refused-after-change
	wait_host host-checked
}
