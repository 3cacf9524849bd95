#!/bin/bash
# testbed_crash, for tests/e2e/run.sh and vm-images/demo.sh, which boot the
# test bed again when it says so ($OUTDIR.log is the test bed's own output),
# and guest_shutdowns, which vm-images/testbed prints when a guest vanished.

# A failure that our code cannot have caused: the emulated test host
# (QEMU TCG with nested SVM) crashed with no virtsocket code on the stack, a
# guest died while booting, before its stage script (and our module) ran, a
# guest triple-faulted outside our module without a kernel error, or a guest
# vCPU stopped taking interrupts as the test host's do.
# Such runs are retried; the reason is printed and counted.
testbed_crash() { # testbed_crash OUTDIR -> prints the reason, status 0 if one
	local out=$1 i f ended faults
	# Stack frames of our code look like "virt_flush+0x12/0x340 [virtsocket_host]".
	local our_frames='(virt_[a-z_]+|virtsocket[a-z_]*)\+0x|\[virtsocket'
	local kernel_errors='(^|[^A-Za-z_])(BUG|WARNING)([^A-Za-z_]|$)|Oops|general protection|Call Trace|Kernel panic'
	if grep -qE "Kernel panic|stack guard page was hit|soft lockup|rcu_preempt detected stalls" "$out/host.console" 2>/dev/null &&
	   ! grep -qE "$our_frames" "$out/host.console"; then
		echo "the test host's kernel crashed or locked up outside virtsocket: $(grep -m1 -oE 'BUG: .*|Kernel panic.*|rcu: INFO: .*' "$out/host.console")"
		return 0
	fi
	# Reset with no word from its kernel: a triple fault in the emulator.
	if [ ! -e "$out/host.dmesg" ] && [ -s "$out/host.console" ] &&
	   ! grep -qE 'Call Trace|BUG|Oops|Kernel panic|virtsocket' "$out/host.console" &&
	   ! grep -qs 'time limit' "$out.log"; then
		echo "the test host reset without a kernel message, before finishing"
		return 0
	fi
	# Guests whose QEMU ended, by index.
	ended=$(sed -n 's/^guest\([0-9]*\)_qemu_rc .*/\1/p' "$out/times" 2>/dev/null)
	for i in $ended; do
		if ! grep -q "^guest${i}_stage_uptime " "$out/times"; then
			echo "guest$i died while booting, before virtsocket was loaded"
			return 0
		fi
	done
	# A guest triple-faulted with no kernel error, outside our module: seen
	# in this nest while a guest takes a timer interrupt just after enabling
	# interrupts (kernel +0xa59b99, _raw_spin_unlock_irqrestore).
	faults=$(guest_shutdowns "$out")
	if [ -n "$faults" ] && ! grep -qv '(kernel +' <<<"$faults"; then
		for i in $ended; do
			[ -e "$out/guest$i.rc" ] && continue
			grep -qE "$kernel_errors" "$out/guest$i.console" 2>/dev/null && continue
			echo "guest$i triple-faulted outside virtsocket: $(head -1 <<<"$faults")"
			return 0
		done
	fi
	# A guest vCPU that stopped taking interrupts, as the test host's do: RCU
	# saw every CPU's quiescent state, yet its grace-period kthread, runnable,
	# never ran (a CPU spinning with interrupts off in our code would have
	# held up a quiescent state instead); none of our code on the stacks.
	for f in "$out"/guest*.console; do
		[ -f "$f" ] || continue
		if grep -q 'All QSes seen' "$f" && grep -q 'rcu_preempt kthread starved' "$f" &&
		   ! grep -qE "$our_frames" "$f"; then
			echo "$(basename "$f" .console): a vCPU stopped taking interrupts (RCU grace-period kthread starved, all quiescent states seen)"
			return 0
		fi
	done
	return 1
}

# The triple faults (SHUTDOWN exits) the test host's KVM recorded
# (vm-images/stage-host.sh), placed with the guests' own address lists
# (stage-guest.sh writes guestN.text: kernel text, virtsocket_guest module).
guest_shutdowns() { # guest_shutdowns OUT
	local out=$1 line rip info f name start end where
	[ -s "$out/host.guest-shutdowns" ] || return 0
	while read -r line; do
		rip=$(grep -oE 'rip 0x[0-9a-f]+' <<<"$line") rip=${rip#rip }
		info=$(grep -oE 'intr_info 0x[0-9a-f]+' <<<"$line") info=${info#intr_info }
		where="at RIP $rip, which no guest's address list places"
		for f in "$out"/guest*.text; do
			[ -f "$f" ] || continue
			while read -r name start end; do
				[ "$name" = virtsocket_guest ] && end=$((start + end))
				[ -n "$start" ] && [ -n "$end" ] || continue
				[ $((rip >= start && rip < end)) = 1 ] &&
					where="in $(basename "$f" .text) ($name +$(printf '%#x' $((rip - start))))"
			done <"$f"
		done
		if [ $((info & 0x80000000)) != 0 ]; then
			where="$where, delivering vector $(printf '%#x' $((info & 0xff)))"
		fi
		echo "triple fault $where"
	done <"$out/host.guest-shutdowns"
}
