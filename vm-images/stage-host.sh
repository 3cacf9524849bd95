#!/bin/bash
# PID 1 of the test host (L1) after switch_root: load the patched KVM and the
# host module, start the --host command, boot the guests under this KVM,
# collect exit codes and kernel logs into $TESTBED_OUT, power off.
# Settings come from $TESTBED_OUT/config (written by vm-images/testbed).
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for arg in $(cat /proc/cmdline); do
	case "$arg" in tb.out=*) TESTBED_OUT=${arg#tb.out=} ;; esac
done
export TESTBED_OUT TESTBED_ROLE=host HOME=/root
# shellcheck source=/dev/null
. "$TESTBED_OUT/config"
out=$TESTBED_OUT
echo "host_stage_uptime $(cut -d' ' -f1 /proc/uptime)" >>"$out/times"

trace=/sys/kernel/debug/tracing	# guest SHUTDOWN exits, see below
# kmemleak (debug kernel): what became unreferenced since the test bed
# started using the kernel; two scans, as its documentation advises.
kmemleak=/sys/kernel/debug/kmemleak
kmemleak_report() { # kmemleak_report FILE
	[ -w "$kmemleak" ] || return 0
	echo scan >"$kmemleak" && echo scan >"$kmemleak" && cat "$kmemleak" >"$1"
	[ -s "$1" ] || rm -f "$1"
}
finish() {
	kmemleak_report "$out/host.kmemleak"
	grep -v '^#' "$trace/trace" >"$out/host.guest-shutdowns" 2>/dev/null
	[ -s "$out/host.guest-shutdowns" ] || rm -f "$out/host.guest-shutdowns"
	dmesg >"$out/host.dmesg"
	sync
	poweroff -f
	sleep 60
}

step() { # step DESCRIPTION COMMAND...: run, on failure record and stop
	local what=$1; shift
	if ! "$@" >>"$out/host-setup.log" 2>&1; then
		echo "testbed: test host: $what failed: $*" >>"$out/host-setup.log"
		echo 1 >"$out/host-setup.rc"
		finish
	fi
}

mount -t debugfs debugfs /sys/kernel/debug
hostname testhost
[ -w "$kmemleak" ] && echo clear >"$kmemleak"
step "loading irqbypass" modprobe irqbypass
# (Debian's kvm-amd needs ccp for SEV; the debug kernel has no SEV.)
[ "$TB_KERNEL" = debian ] && step "loading ccp" modprobe ccp
if [ "$TB_KVM" = patched ]; then
	step "loading patched kvm.ko" insmod "$TB_KVM_DIR/kvm.ko"
	step "loading patched kvm-amd.ko" insmod "$TB_KVM_DIR/kvm-amd.ko" nested=1 $TB_KVM_AMD_ARGS
else
	step "loading stock kvm" modprobe kvm_amd nested=1 $TB_KVM_AMD_ARGS
fi
[ -c /dev/kvm ] || step "checking /dev/kvm" false
# A guest that resets with nothing on its console hit a triple fault: KVM
# sees a SHUTDOWN exit (SVM 0x7f, VMX 2); keep where the guest was.
echo '(isa == 2 && exit_reason == 127) || (isa == 1 && exit_reason == 2)' \
	>"$trace/events/kvm/kvm_exit/filter" &&
	echo 1 >"$trace/events/kvm/kvm_exit/enable" ||
	echo "testbed: test host: cannot trace guest shutdowns" >>"$out/host-setup.log"
if [ "$TB_VSOCK" = 1 ]; then
	step "loading vhost_vsock" modprobe vhost_vsock
fi
if [ "$TB_NET" = 1 ]; then
	step "loading tun and vhost_net" modprobe -a tun vhost_net
	ip link set lo up
fi
if [ "$TB_HOST_MODULE" = 1 ]; then
	step "loading virtsocket_host.ko" insmod "$TB_HOST_KO"
fi
echo 0 >"$out/host-setup.rc"
# Where the kernel and the modules of the test are, to place the RIPs of a
# test host the test bed stops (vm-images/testbed-crash.sh: snapshot_report).
{
	echo "kernel $(grep -wE '_stext|_etext' /proc/kallsyms | cut -d' ' -f1 | sed 's/^/0x/' | tr '\n' ' ')"
	awk '$1 ~ /^(virtsocket_host|virtsocket_hostile|kvm|kvm_amd)$/ { print $1, $6, $2 }' /proc/modules
} >"$out/host.text" 2>/dev/null

host_pid=
if [ -n "$TB_HOST_CMD" ]; then
	(cd "$TB_REPO" && exec bash -c "$TB_HOST_CMD") >"$out/host.log" 2>&1 </dev/null &
	host_pid=$!
fi

if [ "$TB_SHELL" = 1 ]; then
	echo "testbed: test host shell; boot a guest with: $TB_REPO/vm-images/run-guest.sh 1"
	setsid -c bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
	finish
fi

# Guests: one QEMU each.  Each boots once the previous one runs its stage
# script: nested SVM under TCG has crashed with several guests booting at once.
# This nest also hangs a guest's boot now and then (12-30 s is usual on
# Debian's kernel with qboot): one not up within $TB_BOOT_LIMIT s is stopped, which fails
# the run.
booted() { grep -q "^guest$1_stage_uptime " "$out/times"; }
stop_guest() { # stop_guest IDX: through run-guest.sh's timeout, and so QEMU
	echo stopped >"$out/guest$1.rc"
	pkill -TERM -P "${pids[$1 - 1]}"
}
# A guest that stopped making progress: where it was (vm-images/snapshot.sh),
# with this kernel's symbols when the guest runs it too, then stopped.
snapshot_guest() { # snapshot_guest IDX
	echo stopped >"$out/guest$1.rc"	# (now: its NMI panic is no death)
	[ "$(uname -r)" = "$TB_GUEST_RELEASE" ] && [ ! -e "$out/host.kallsyms" ] &&
		grep -E '^[0-9a-f]+ [tT] ' /proc/kallsyms >"$out/host.kallsyms"
	"$TB_REPO/vm-images/snapshot.sh" "/run/guest$1.monitor" "$out/guest$1.registers" \
		"$out/guest$1.console"
	stop_guest "$1"
}
# Each guest's own time limit comes 40 s before run-guest.sh's, so that
# there is time to see where it is.
guest_limit=$((TB_GUEST_TIMEOUT > 80 ? TB_GUEST_TIMEOUT - 40 : TB_GUEST_TIMEOUT / 2))
# testbed --guests-after NAME: the host command sets up the test host (say,
# loads another KVM) before any guest runs under it.
nguests=$TB_GUESTS
while [ -n "$TB_GUESTS_AFTER" ] && [ ! -e "$out/signal.$TB_GUESTS_AFTER" ]; do
	if [ -z "$host_pid" ] || ! kill -0 "$host_pid" 2>/dev/null; then
		echo "testbed: the host command ended before it signalled $TB_GUESTS_AFTER: no guest booted" >>"$out/host-setup.log"
		nguests=0
		break
	fi
	sleep 0.5
done
pids=() starts=()
for i in $(seq 1 "$nguests"); do
	"$TB_REPO/vm-images/run-guest.sh" "$i" &
	pids+=($!) starts+=($SECONDS)
	# (Timed by the clock: a loop of forks runs slow on this emulated CPU.)
	deadline=$((SECONDS + TB_BOOT_LIMIT))
	while [ $SECONDS -lt $deadline ]; do
		booted "$i" && break
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.2
	done
	if ! booted "$i" && kill -0 "${pids[-1]}" 2>/dev/null; then
		echo "did not boot within $TB_BOOT_LIMIT s" >"$out/guest$i.stopped"
		echo "testbed: guest$i did not boot within $TB_BOOT_LIMIT s; stopped it" >>"$out/host-setup.log"
		snapshot_guest "$i"
	fi
done
# A guest that ended without recording its status died: the run has failed,
# so the others and the host command are stopped rather than left to wait
# out their time limits for it.
grace=$TB_HOST_GRACE
while :; do
	running=() dead=
	for i in $(seq 1 "$nguests"); do
		if kill -0 "${pids[i - 1]}" 2>/dev/null; then
			running+=("$i")
		elif [ ! -e "$out/guest$i.rc" ]; then
			dead=guest$i
		fi
	done
	[ ${#running[@]} = 0 ] && [ -z "$dead" ] && break
	for i in "${running[@]}"; do
		[ $((SECONDS - starts[i - 1])) -ge $guest_limit ] && [ ! -e "$out/guest$i.rc" ] || continue
		echo "reached its time limit of $guest_limit s" >"$out/guest$i.stopped"
		echo "testbed: guest$i still running after $guest_limit s; stopped it" >>"$out/host-setup.log"
		snapshot_guest "$i"
	done
	if [ -n "$dead" ]; then
		echo "testbed: $dead ended without an exit status; stopping the rest of the run" >>"$out/host-setup.log"
		for i in "${running[@]}"; do
			stop_guest "$i"
		done
		grace=2
		break
	fi
	sleep 0.5
done
for p in "${pids[@]}"; do
	wait "$p"
done

if [ -n "$host_pid" ]; then
	# Give the host command a moment to finish on its own, then stop it.
	deadline=$((SECONDS + grace))
	while [ $SECONDS -lt $deadline ]; do
		kill -0 "$host_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$host_pid" 2>/dev/null; then
		echo "testbed: host command still running after the guests finished; stopped it" >>"$out/host-setup.log"
		pkill -TERM -P "$host_pid" 2>/dev/null
		kill -TERM "$host_pid" 2>/dev/null
		echo stopped >"$out/host.rc"
	else
		wait "$host_pid"
		echo $? >"$out/host.rc"
	fi
fi
finish
