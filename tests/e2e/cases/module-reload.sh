# Unload and reload the guest module, then the host module under a registered
# guest: every step gives a clean result and a clear message, and nothing of
# an unloaded module (its idle-flush timer) is left to run.  Last, the host
# module goes away under a guest with a connection: the guest's socket is
# reset, the guest notices at once (the unload interrupts it), a connect()
# meanwhile is ENETUNREACH, and once the module is back the guest registers
# again by itself, without reloading its own module, and moves data.
DESCRIPTION="module unload/reload on both sides; the guest registers again by itself"
TESTBED_ARGS=(--guests 1 --host-grace 30)

RESET_PORT=5200		# guest -> host, the host aborts it before unloading
AGAIN_PORT=5201		# guest -> host once the guest registered again

# Host: the established AF_VIRT socket on PORT holds at least MIN unread bytes.
rx_queued_ge() { # rx_queued_ge PORT MIN
	awk -v port="$1" -v min="$2" 'NR > 1 && $2 == "01" && $4 == port && $8 >= min { found = 1 }
		END { exit !found }' /proc/net/virt
}
# Host: an unload refused only while the last socket's references go.
host_unloads() { rmmod virtsocket_host 2>/dev/null; }
sysfs_is() { [ "$(sysfs "$1")" = "$2" ]; } # sysfs_is FILE VALUE, read at each call

host() {
	wait_until 300 "the guest to register" vm_count_is 1
	wait_signal guest-unloaded
	expect_eq "$(vm_count)" 0 "VMs after the guest module unloaded"
	signal host-saw-unload
	wait_signal guest-reloaded
	expect_eq "$(vm_count)" 1 "VMs after the guest module reloaded"
	# Unloading the host module with a guest registered drops its state.
	rmmod virtsocket_host || fail "rmmod virtsocket_host refused"
	[ ! -e $VIRT_VMS ] || fail "$VIRT_VMS still there after rmmod"
	signal host-unloaded
	wait_signal guest-saw-no-host
	insmod "$host_module" || fail "host module did not load again"
	# (Its VM entries went with the module: the administrator's part.)
	log "guest1 enabled again as CID $(enable_guest 1)"
	expect_eq "$(vm_count)" 0 "VMs after the host module reloaded"
	signal host-reloaded
	wait_until 60 "the guest to register again" vm_count_is 1

	# A guest connection the host aborts: its reader (virtsock-cat) is
	# stuck writing into a FIFO nobody reads (this shell holds it open,
	# read-write, so that neither open blocks), the guest's data waits
	# unread, and closing with unread data resets (as TCP does).
	local cat_bin=$REPO/build/bin/virtsock-cat stall
	rm -f /tmp/stall
	mkfifo /tmp/stall
	exec {stall}<>/tmp/stall
	"$cat_bin" -l "virt:any:$RESET_PORT" >/tmp/stall &
	local reader=$!
	wait_listening $RESET_PORT
	signal host-reset-listening
	wait_until 60 "guest data waiting unread on the host" rx_queued_ge $RESET_PORT 65536
	kill -KILL "$reader"
	wait "$reader" 2>/dev/null || true
	exec {stall}<&-
	rm -f /tmp/stall
	wait_signal guest-saw-reset
	# Unloading is refused while a socket of the module exists.
	expect_host_conns_gone "after the host aborted the guest's connection"
	wait_until 30 "the host module to unload" host_unloads
	signal host-gone
	wait_signal guest-saw-host-gone
	insmod "$host_module" || fail "host module did not load the third time"
	log "guest1 enabled again as CID $(enable_guest 1)"
	"$cat_bin" -l "virt:any:$AGAIN_PORT" >/tmp/again.out &
	local listener=$!
	wait_listening $AGAIN_PORT
	signal host-back
	# No guest module reload in between: the guest probes by itself.
	wait_until 60 "the guest to register by itself" vm_count_is 1
	wait "$listener" || fail "host virtsock-cat -l exited $?"
	expect_eq "$(sha256sum </tmp/again.out)" "$(sha256sum <"$TESTBED_OUT/again.in")" \
		"guest->host checksum after the guest registered again"
	log "guest->host after registering again: $(stat -c %s /tmp/again.out) bytes, checksum matches"
	wait_signal guest-done
	wait_until 60 "the VM to leave the listing" vm_count_is 0
}

guest() {
	local cid
	cid=$(sysfs cid)
	# The last flush at unload arms the idle timer; with a 1 s delay, a
	# timer left armed fires after the module is gone (an oops; ODEBUG's
	# "free active object" on the debug kernel) during the wait.
	echo 1000000 >/sys/module/virtsocket_guest/parameters/flush_delay_us
	rmmod virtsocket_guest || fail "rmmod virtsocket_guest"
	[ ! -e $VIRT_SYSFS ] || fail "$VIRT_SYSFS still there after rmmod"
	sleep 2
	signal guest-unloaded
	wait_signal host-saw-unload
	insmod "$guest_module" || fail "guest module did not load again"
	expect_eq "$(sysfs cid)" "$cid" "CID after reload"
	signal guest-reloaded
	wait_signal host-unloaded
	# No host module: unload still works, loading is refused clearly.
	rmmod virtsocket_guest || fail "rmmod virtsocket_guest without a host module"
	insmod_must_fail "$guest_module" "the host does not service virtsocket hypercalls"
	signal guest-saw-no-host
	wait_signal host-reloaded
	insmod "$guest_module" || fail "guest module did not load after the host module came back"
	expect_ge "$(sysfs cid)" 3 "CID after the host module came back"
	expect_eq "$(sysfs registered)" 1 "registered after loading"

	# The host aborts our connection (closing with our data unread):
	# virtsock-cat's exit status 3 is ECONNRESET.
	local cat_bin=$REPO/build/bin/virtsock-cat rc=0 gone
	head -c 4000000 /dev/urandom >/tmp/reset.in
	wait_signal host-reset-listening
	"$cat_bin" "virt:host:$RESET_PORT" </tmp/reset.in >/dev/null || rc=$?
	expect_eq "$rc" 3 "guest virtsock-cat's exit status when the host aborted (3: ECONNRESET)"
	gone=$(sysfs host_gone)
	signal guest-saw-reset
	wait_signal host-gone
	# The unload interrupts us: we learn it without sending anything.
	wait_until 30 "the guest to see the host gone" sysfs_ge host_gone $((gone + 1))
	wait_until 30 "the guest to count itself unregistered" sysfs_is registered 0
	# Probing in connect() finds no host either: ENETUNREACH.
	rc=0
	"$cat_bin" "virt:host:$AGAIN_PORT" </dev/null >/dev/null 2>/tmp/unreach.err || rc=$?
	[ "$rc" != 0 ] || fail "connect() succeeded with no host module"
	grep -q "unreachable" /tmp/unreach.err ||
		fail "connect() with no host module: '$(cat /tmp/unreach.err)', expected ENETUNREACH"
	expect_eq "$(sysfs registered)" 0 "registered after a connect() with no host module"
	signal guest-saw-host-gone
	wait_signal host-back
	# Back by itself (probes at 1, 2, 4, 8 s, then every 10 s): no reload.
	wait_until 60 "the guest to register again by itself" sysfs_is registered 1
	expect_eq "$(sysfs reregistrations)" 1 "registrations after the first"
	expect_ge "$(sysfs cid)" 3 "CID after registering again"
	log "registered again as CID $(sysfs cid) (host went away $(sysfs host_gone) times)"
	head -c 3000000 /dev/urandom >"$TESTBED_OUT/again.in"
	"$cat_bin" "virt:host:$AGAIN_PORT" <"$TESTBED_OUT/again.in" ||
		fail "guest virtsock-cat after registering again exited $?"
	signal guest-done
}
