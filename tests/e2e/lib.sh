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

# wait_until SECONDS DESCRIPTION COMMAND...: poll every 0.1 s.  COMMAND runs
# again at each poll, but its words are expanded once, at the call: a value
# that must be read at each poll goes into a function (e.g. sysfs_ge), never
# into a $(...) among the words.
wait_until() {
	local limit=$1 what=$2 i
	shift 2
	# (Ten times longer on the debug kernel: vm-images/testbed's WAIT_SCALE.)
	limit=$((limit * ${TB_WAIT_SCALE:-1}))
	for ((i = 0; i < limit * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "timed out after ${limit}s waiting for: $what"
}

signal() { touch "$TESTBED_OUT/signal.$1"; }
wait_signal() { wait_until "${2:-300}" "signal $1" test -e "$TESTBED_OUT/signal.$1"; }

expect_eq() { # expect_eq ACTUAL EXPECTED WHAT
	[ "$1" = "$2" ] || fail "$3: got '$1', expected '$2'"
}

expect_ge() { # expect_ge ACTUAL MIN WHAT
	[ "$1" -ge "$2" ] 2>/dev/null || fail "$3: got '$1', expected at least $2"
}

sysfs() { cat "$VIRT_SYSFS/$1"; }
sysfs_ge() { [ "$(sysfs "$1")" -ge "$2" ] 2>/dev/null; } # sysfs_ge FILE MIN, read at each call

# Host, once every socket of a case is closed: no connection object or
# AF_VIRT socket of ours is left.  What is freed later (RCU, workers) may
# lag, so it is polled; the counts are printed when they stay.
host_conns_gone() { [ "$(sysfs live_conns) $(tail -n +2 /proc/net/virt | wc -l)" = "0 0" ]; }
expect_host_conns_gone() { # expect_host_conns_gone WHEN
	local i
	for ((i = 0; i < 600 * ${TB_WAIT_SCALE:-1}; i++)); do
		host_conns_gone && return 0
		sleep 0.1
	done
	fail "$1: $(sysfs live_conns) live connections and $(tail -n +2 /proc/net/virt | wc -l) AF_VIRT sockets are left: $(cat /proc/net/virt)"
}

# Host: rows of the VM listing, and one column of the row of CID $1.
vm_count() { tail -n +2 "$VIRT_VMS" | wc -l; }
vm_count_is() { [ "$(vm_count)" = "$1" ]; }
vm_field() { # vm_field CID COLUMN
	awk -v cid="$1" -v col="$2" '
		NR == 1 { for (i = 1; i <= NF; i++) idx[$i] = i; next }
		$1 == cid { print $idx[col] }' "$VIRT_VMS"
}

# The modules of the kernel the test bed runs (testbed --kernel).
# shellcheck source=/dev/null
. "$TESTBED_OUT/config"
guest_module=$TB_GUEST_KO
host_module=$TB_HOST_KO
hostile_module=$TB_HOSTILE_KO

# A guest a case boots itself (vm-killed's victims) that died or hung before
# its stage script, so before any code of ours ran in it, with no kernel
# report on its console and, if it died, a triple fault recorded: the nest's
# own crash, which the control lane shows alike (tests/e2e/nest-control.sh
# --workload boots).  The case may boot another in its place once: that is
# its one repeat, which tests/e2e/run.sh prints and counts in the suite's.
. "$REPO/vm-images/testbed-crash.sh"
# (The test host's trace of guest SHUTDOWN exits: vm-images/stage-host.sh.)
shutdown_trace=/sys/kernel/debug/tracing/trace
shutdowns_seen() { # the SHUTDOWN exits the trace holds so far
	local n
	n=$(grep -vc '^#' "$shutdown_trace" 2>/dev/null) || true
	echo "${n:-0}"
}
boot_death_verdict() { # boot_death_verdict N DIED|HUNG SHUTDOWNS_BEFORE
	local console=$TESTBED_OUT/guest$1.console hit
	if hit=$(grep -m1 -E "$crash_reports" "$console" 2>/dev/null); then
		echo "failure: guest$1's kernel reported: $hit"
	elif [ "$2" = HUNG ]; then
		echo "nest: guest$1 hung while booting, before its stage (not up within $TB_BOOT_LIMIT s)"
	elif [ "$(shutdowns_seen)" -gt "$3" ]; then
		echo "nest: guest$1 died while booting, before its stage: $(grep -v '^#' "$shutdown_trace" |
			tail -1 | grep -oE 'rip 0x[0-9a-f]+|intr_info 0x[0-9a-f]+' | xargs)"
	else
		echo "failure: guest$1's QEMU ended while it booted, without a triple fault"
	fi
}
case_repeat() { # case_repeat VERDICT
	[ ! -s "$TESTBED_OUT/repeats" ] ||
		fail "a second crash of the nest in this case (the first: $(cat "$TESTBED_OUT/repeats")): $1"
	echo "$1" >>"$TESTBED_OUT/repeats"
	log "REPEAT (counted by run.sh): $1"
}

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
