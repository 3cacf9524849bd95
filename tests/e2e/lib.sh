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

# The test host or the guests run the debug kernel, where a guest boots in
# one to five minutes: cases that boot guest after guest do fewer rounds.
debug_kernel_anywhere() { [ "${TB_KERNEL:-}" = debug ] || [ "${TB_GUEST_KERNEL:-}" = debug ]; }

# wait_until SECONDS DESCRIPTION COMMAND...: poll every 0.1 s for at most
# SECONDS of wall-clock time (not a count of polls: on a slow debug guest
# each poll takes far longer than 0.1 s).  COMMAND runs again at each poll,
# but its words are expanded once, at the call: a value that must be read at
# each poll goes into a function (e.g. sysfs_ge), never into a $(...) among
# the words.
wait_until() {
	local limit=$1 what=$2 end
	shift 2
	# (Ten times longer on the debug kernel: vm-images/testbed's WAIT_SCALE.)
	limit=$((limit * ${TB_WAIT_SCALE:-1}))
	end=$((SECONDS + limit))
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || fail "timed out after ${limit}s waiting for: $what"
		sleep 0.1
	done
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

# Host: the control device's tool, and guest IDX's QEMU (vm-images/run-guest.sh
# writes its pid and enables it when it starts).
ctl_bin=$REPO/build/bin/virtsocket-ctl
guest_qemu_pid() { cat "/run/guest$1.pid"; }
# After the host module was loaded again (its entries went with it).
# Every port both ways, as vm-images/run-guest.sh does: the cases connect
# freely; the access policy itself is the case policy's.
enable_guest() { # enable_guest IDX [CID]: prints the CID
	"$ctl_bin" enable --pid "$(guest_qemu_pid "$1")" ${2:+--cid "$2"} ||
		fail "cannot enable guest$1 (QEMU pid $(guest_qemu_pid "$1"))"
	"$ctl_bin" ports --pid "$(guest_qemu_pid "$1")" --to-host all --to-guest all ||
		fail "cannot open the ports of guest$1"
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

# ---- Victim VMs a case boots itself, and the host's baseline around them ----

# Slab caches that hold the host module's objects: every accounted kmalloc
# cache (kmalloc-cg-*: struct virt_vm, 2320 bytes on 6.1, in -4k; its
# descriptor scratch in -8k; struct virt_conn, 88, in -96; the data of the
# guests' skbs), kmalloc-512..2k (the host's AF_VIRT sockets, 968 bytes, in
# -1k) and skb heads.  A kernel without memcg (the debug kernel) has no
# kmalloc-cg caches, and its small kmalloc caches move by tens with the test
# host's own work: there, the caches of the VM (-4k, -8k) and of the sockets
# (-1k, -2k with the debug kernel's padding), while kmemleak watches every
# object.  (Not all caches: shrinking one reaches every CPU, and the fewer of
# those while an L2 guest runs, the fewer chances for the nest to crash.)
slab_caches() {
	local d
	if [ -d /sys/kernel/slab/kmalloc-cg-4k ] && [ ! -L /sys/kernel/slab/kmalloc-cg-4k ]; then
		set -- /sys/kernel/slab/kmalloc-cg-[0-9]* /sys/kernel/slab/kmalloc-{512,1k,2k}
	else
		set -- /sys/kernel/slab/kmalloc-{1k,2k,4k,8k}
	fi
	for d in "$@" /sys/kernel/slab/skbuff_head_cache; do
		[ -e "$d/objects" ] && [ ! -L "$d" ] && echo "${d##*/}"
	done | sort -u
}

# "CACHE OBJECTS" per cache.  SLUB counts every object of a slab that a CPU
# holds as in use, so each cache is shrunk first (the CPUs' slabs go back to
# the node lists): the count is then exact as it is read.
slab_objects() {
	local c n
	for c in $(slab_caches); do
		echo 1 >"/sys/kernel/slab/$c/shrink"
		read -r n _ <"/sys/kernel/slab/$c/objects"
		echo "$c $n"
	done
}

# Objects a cache may hold more after the kills than before: fewer than
# one per killed VM, so an object leaked per kill (KILLS more) fails, while
# the test host's own activity meanwhile (ten QEMU processes started and
# gone, its shell, 9p) may move a few.  Measured here over two runs
# (Debian's kernel): the caches watched at most one more (kmalloc-cg-16);
# the small unaccounted ones, not watched, by tens either way (kmalloc-192
# +21 and -10, kmalloc-32 -103); a virt_vm scratch leaked on purpose made
# kmalloc-cg-8k +10.
SLAB_SLACK=5

slab_within_slack() { # slab_within_slack BEFORE AFTER: prints the caches over
	awk -v slack="$SLAB_SLACK" 'NR == FNR { before[$1] = $2; next }
		($1 in before) && $2 - before[$1] > slack { printf " %s %+d", $1, $2 - before[$1]; over = 1 }
		END { exit over }' "$1" "$2"
}

socket_count() { tail -n +2 /proc/net/virt | wc -l; }
live_objects_are() { [ "$(sysfs live_vms) $(sysfs live_conns)" = "$1 $2" ]; }
process_gone() { ! kill -0 "$1" 2>/dev/null; }
# wait_exit SECONDS WHAT PID: the exit status of background job PID, which
# must end within SECONDS (a hang fails at this step, not at the time limit).
wait_exit() {
	wait_until "$1" "$2" process_gone "$3"
	wait "$3"
}

# Wait for victim guest N to be ready, as the test bed does for its own
# guests: one not up within its boot limit is stopped.  Returns 1 when it
# died or hung before its stage and boot_death_verdict calls that the nest's
# (then recorded as this case's repeat), fails the case otherwise.
boot_victim() { # boot_victim N RUNNER_PID SHUTDOWNS_BEFORE
	local deadline=$((SECONDS + TB_BOOT_LIMIT)) how= v ready_limit
	until grep -q "^guest$1_stage_uptime " "$TESTBED_OUT/times"; do
		if ! kill -0 "$2" 2>/dev/null; then
			how=DIED
		elif [ $SECONDS -ge "$deadline" ]; then
			echo "did not boot within $TB_BOOT_LIMIT s" >"$TESTBED_OUT/guest$1.stopped"
			pkill -TERM -P "$2" || true
			how=HUNG
		fi
		if [ -n "$how" ]; then
			v=$(boot_death_verdict "$1" "$how" "$3")
			[[ $v == nest:* ]] || fail "victim guest$1: $v"
			case_repeat "victim guest$1: $v"
			wait "$2" || true
			return 1
		fi
		sleep 0.2
	done
	# (From its stage to its ready signal: a registration, which waits
	# as long as wait_signal, tests/e2e/lib.sh.)
	ready_limit=$((300 * ${TB_WAIT_SCALE:-1}))
	deadline=$((SECONDS + ready_limit))
	until [ -e "$TESTBED_OUT/signal.guest$1-ready" ]; do
		kill -0 "$2" 2>/dev/null || fail "victim guest$1's QEMU ended before its command ran"
		[ $SECONDS -lt "$deadline" ] ||
			fail "victim guest$1 booted but was not ready within $ready_limit s"
		sleep 0.2
	done
}

# Boot victim I as guest 10+I (in its place once, guest 30+I): sets n, runner.
start_victim() { # start_victim I
	local seen
	for n in $((10 + $1)) $((30 + $1)); do
		seen=$(shutdowns_seen)
		# (Its QEMU's end, SIGKILL, is said by bash in run-guest.sh: kept apart.)
		"$REPO/vm-images/run-guest.sh" "$n" 2>"$TESTBED_OUT/guest$n.run-guest.log" &
		runner=$!
		boot_victim "$n" "$runner" "$seen" && return 0
	done
}

# The host module's live objects, this machine's AF_VIRT sockets and the
# slab caches above as they were before (slab_objects >/tmp/slab.before),
# with LIVE_VMS VMs registered and no connection.  What is freed later (RCU,
# workers) may lag: polled.
expect_baseline() { # expect_baseline WHEN LIVE_VMS SOCKETS
	local i over
	for i in $(seq $((60 * ${TB_WAIT_SCALE:-1}))); do
		live_objects_are "$2" 0 && break
		sleep 0.5
	done
	expect_eq "$(sysfs live_vms) $(sysfs live_conns)" "$2 0" "live VMs and connections $1"
	expect_eq "$(socket_count)" "$3" "AF_VIRT sockets listed $1"
	for i in $(seq $((30 * ${TB_WAIT_SCALE:-1}))); do
		slab_objects >/tmp/slab.after
		over=$(slab_within_slack /tmp/slab.before /tmp/slab.after) && break
		sleep 1
	done
	log "slab objects, before -> $1:$(awk 'NR == FNR { b[$1] = $2; next } ($1 in b) { printf " %s %d->%d", $1, b[$1], $2 }' /tmp/slab.before /tmp/slab.after)"
	[ -z "$over" ] || fail "slab caches hold more than $SLAB_SLACK objects more $1:$over"
	log "$1: live VMs $2, live connections 0, $3 sockets, slab caches within $SLAB_SLACK objects"
}

# A side still running shortly before the test bed stops it (a guest at
# TB_GUEST_TIMEOUT - 40 s after its start, the test host at its time limit)
# says where each of its processes waits: a CI run's files are gone, its log
# is what is kept.  The blocked tasks also go to the kernel log (sysrq w).
hang_report() {
	local p state wchan args
	echo "hang report: $TESTBED_ROLE${TESTBED_GUEST:-} still running, $(cut -d" " -f1 /proc/uptime)s after its boot; its processes (pid, state, wait channel, command):"
	for p in /proc/[0-9]*; do
		args=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-160)
		[ -n "$args" ] || continue	# (kernel threads)
		read -r state < <(sed -n 's/^State:\s*\([A-Z]\).*/\1/p' "$p/status" 2>/dev/null) || continue
		wchan=$(cat "$p/wchan" 2>/dev/null)
		echo "hang report:   ${p#/proc/} $state ${wchan:--} $args"
		[ "$state" = D ] && sed 's/^/hang report:       /' "$p/stack" 2>/dev/null
	done
	echo w 2>/dev/null >/proc/sysrq-trigger
	return 0
}

# watch_for_hang PID: hang_report once, if PID still runs near the limit.
# (Timed by the machine's uptime, as the limits are from its QEMU's start:
# a debug guest boots for minutes before its case starts.)
watch_for_hang() {
	local at=$((TB_GUEST_TIMEOUT > 200 ? TB_GUEST_TIMEOUT - 100 : TB_GUEST_TIMEOUT * 2 / 3)) up
	while read -r up _ </proc/uptime && [ "${up%.*}" -lt "$at" ]; do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 2
	done
	kill -0 "$1" 2>/dev/null && hang_report >&2
	return 0
}
