#!/bin/bash
# Helpers for end-to-end cases; they run inside the test host and guests.
# Host and guests coordinate through files in $TESTBED_OUT (shared, uncached).

VIRT_SYSFS=/sys/kernel/virtsocket
VIRT_VMS=/proc/virtsocket/vms
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

log() { echo "$(cut -d' ' -f1 /proc/uptime)s: $*"; }

# wait_until SECONDS DESCRIPTION COMMAND...: poll every 0.1 s.
wait_until() {
	local limit=$1 what=$2 i
	shift 2
	for ((i = 0; i < limit * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "timed out after ${limit}s waiting for: $what"
}

signal() { touch "$TESTBED_OUT/signal.$1"; }
wait_signal() { wait_until "${2:-120}" "signal $1" test -e "$TESTBED_OUT/signal.$1"; }

expect_eq() { # expect_eq ACTUAL EXPECTED WHAT
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

expect_ge() { # expect_ge ACTUAL MIN WHAT
	[ "$1" -ge "$2" ] 2>/dev/null || fail "$3: got '$1', expected at least $2"
}

sysfs() { cat "$VIRT_SYSFS/$1"; }

# Host: rows of the VM listing, and one column of the row of CID $1.
vm_count() { tail -n +2 "$VIRT_VMS" | wc -l; }
vm_count_is() { [ "$(vm_count)" = "$1" ]; }
vm_field() { # vm_field CID COLUMN
	awk -v cid="$1" -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == cid { print $idx[col] }' "$VIRT_VMS"
}

guest_module=$REPO/guest-module/virtsocket_guest.ko
host_module=$REPO/host-module/virtsocket_host.ko

# insmod that must fail; prints the module's kernel messages.
insmod_must_fail() { # insmod_must_fail MODULE EXPECTED_DMESG_TEXT
	local before
	before=$(dmesg | wc -l)
	if insmod "$1" 2>/dev/null; then
		fail "insmod $(basename "$1") succeeded, expected a refusal"
	fi
	dmesg | tail -n +"$((before + 1))" | grep -F "$2" ||
		fail "insmod $(basename "$1") failed without the message '$2'"
}

# An AF_VIRT socket of this machine listens on PORT (from /proc/net/virt).
is_listening() {
	awk -v port="$1" 'NR > 1 && $2 == "0A" && $4 == port { found = 1 } END { exit !found }' /proc/net/virt
}
wait_listening() { wait_until "${2:-30}" "a listener on port $1" is_listening "$1"; }
