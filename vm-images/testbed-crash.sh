#!/bin/bash
# testbed_crash, for tests/e2e/run.sh and vm-images/demo.sh, which boot the
# test bed again when it says so.  $OUTDIR.log is the test bed's own output.

# A failure that our code cannot have caused: the emulated test host
# (QEMU TCG with nested SVM) crashed with no virtsocket code on the stack, or a
# guest died while booting, before its stage script (and our module) ran.
# Such runs are retried; the reason is printed and counted.
testbed_crash() { # testbed_crash OUTDIR -> prints the reason, status 0 if one
	local out=$1 i
	# Stack frames of our code look like "virt_flush+0x12/0x340 [virtsocket_host]".
	if grep -qE "Kernel panic|stack guard page was hit|soft lockup|rcu_preempt detected stalls" "$out/host.console" 2>/dev/null &&
	   ! grep -qE '(virt_[a-z_]+|virtsocket[a-z_]*)\+0x|\[virtsocket' "$out/host.console"; then
		echo "the test host's kernel crashed or locked up outside virtsocket: $(grep -m1 -oE 'BUG: .*|Kernel panic.*|rcu: INFO: .*' "$out/host.console")"
		return 0
	fi
	# Reset with no word from its kernel: a triple fault in the emulator.
	if [ ! -e "$out/host.dmesg" ] && [ -s "$out/host.console" ] &&
	   ! grep -qE 'Call Trace|BUG|Oops|Kernel panic|virtsocket' "$out/host.console" &&
	   ! grep -q 'time limit' "$out.log"; then
		echo "the test host reset without a kernel message, before finishing"
		return 0
	fi
	for i in $(sed -n 's/^guest\([0-9]*\)_qemu_rc .*/\1/p' "$out/times" 2>/dev/null); do
		if ! grep -q "^guest${i}_stage_uptime " "$out/times"; then
			echo "guest$i died while booting, before virtsocket was loaded"
			return 0
		fi
	done
	return 1
}
