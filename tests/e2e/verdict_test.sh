#!/bin/bash
# The crash verdict (vm-images/testbed-crash.sh) on made-up test-bed output
# directories, one per rule: which failed runs are the nest's own crash (and
# may be repeated) and which are failures.  Runs without VMs (ctest).
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=vm-images/testbed-crash.sh
. "$repo/vm-images/testbed-crash.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crash_signatures_file=$work/signatures
echo "debug: guest vCPU stopped taking interrupts (RCU kthread starved, all quiescent states seen)" >"$crash_signatures_file"
passed=0 failed=0

# mkrun NAME KERNEL: an output directory of a run that loaded our modules.
mkrun() {
	local d=$work/$1
	mkdir -p "$d"
	printf 'TB_KERNEL=%s\nTB_HOST_MODULE=1\nTB_GUEST_MODULE=1\nTB_SYSTEM_MAP=%s\n' \
		"$2" "$work/System.map" >"$d/config"
	echo "host_stage_uptime 2.1" >"$d/times"
	echo "[    0.000000] Linux version 6.1" >"$d/host.console"
	echo "$d"
}
expect() { # expect WANT(nest|failure) TEXT DIR DESCRIPTION
	local got
	got=$(testbed_verdict "$3")
	if [[ $got == "$1: "* && $got == *"$2"* ]]; then
		passed=$((passed + 1))
		echo "ok: $4: $got"
	else
		failed=$((failed + 1))
		echo "FAIL: $4: got '$got', want '$1: ...$2...'"
	fi
}
# idle_lockup DIR: guest1 reported a soft lockup in the idle loop.
idle_lockup() {
	printf '%s\n' '[   30.1] watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [swapper/0:0]' \
		'[   30.1] RIP: 0010:native_safe_halt+0xb/0x10' >>"$1/guest1.console"
}
# triple_fault DIR RIP INTR_INFO VECTOR: guest1 triple-faulted at RIP after
# booting, with its kernel and module placed and VECTOR its notification vector.
triple_fault() {
	echo "[    1.0] ok" >"$1/host.dmesg"
	printf 'guest1_qemu_rc 0\nguest1_stage_uptime 4.0\n' >>"$1/times"
	printf 'kernel 0xffffffff81000000 0xffffffff82000000\nvirtsocket_guest 0xffffffffc0000000 65536\nvector %s\n' \
		"$4" >"$1/guest1.text"
	echo " qemu-system-x86-123 [001] kvm_exit: vcpu 0 reason shutdown rip $2 info1 0 info2 0 intr_info $3 error_code 0" \
		>"$1/host.guest-shutdowns"
}
printf 'ffffffff81000000 T _stext\nffffffff81a59b80 T _raw_spin_unlock_irqrestore\nffffffff81a59c00 T _raw_spin_lock\n' >"$work/System.map"

d=$(mkrun silent-reset debian)
expect nest "host reset without a kernel message" "$d" "a silent test-host reset on Debian's kernel"

d=$(mkrun init-gave-up debian)
printf '%s\n' 'testbed-init: cannot mount /work/x/build/e2e/handshake' '[    4.8] reboot: Power down' >>"$d/host.console"
expect failure "init gave up: cannot mount" "$d" "a test host whose init failed and powered off is no reset"

d=$(mkrun stopped-at-limit debian)
echo "[    1.0] ok" >"$d/host.dmesg"
echo "the test bed stopped the test host at the time limit of 300s" >"$d/stopped"
expect failure "time limit" "$d" "a run stopped at the time limit without a crash"

d=$(mkrun lockup-ours debian)
cat >>"$d/guest1.console" <<'EOF'
[   30.1] watchdog: BUG: soft lockup - CPU#1 stuck for 23s! [case.sh:197]
[   30.1] RIP: 0010:virt_flush+0x42/0x300 [virtsocket_guest]
[   30.1] Call Trace:
EOF
echo "the test bed stopped the test host: guest1 printed 'soft lockup - CPU#1 stuck for 23s!'" >"$d/stopped"
expect failure "our code on the stack" "$d" "a guest soft lockup in our flush"

d=$(mkrun lockup-kernel debian)
idle_lockup "$d"
expect nest "guest soft lockup in native_safe_halt" "$d" "a guest soft lockup in the idle loop, Debian's kernel"

d=$(mkrun kasan-then-lockup debian)
cat >>"$d/guest1.console" <<'EOF'
[   20.0] BUG: KASAN: slab-use-after-free in list_del+0x1/0x2
[   30.1] watchdog: BUG: soft lockup - CPU#0 stuck for 23s! [swapper/0:0]
[   30.1] RIP: 0010:native_safe_halt+0xb/0x10
EOF
expect failure "BUG: KASAN" "$d" "a lockup after a KASAN report"

d=$(mkrun triple-vector debian)
triple_fault "$d" 0xffffffff81a59b99 0x800000ec 236
expect failure "our notification vector" "$d" "a guest triple fault delivering our vector"

d=$(mkrun triple-moved-vector debian)
triple_fault "$d" 0xffffffff81a59b99 0x8000002c 39
echo "vector 44" >>"$d/guest1.text"
expect failure "our notification vector" "$d" \
	"a guest triple fault delivering the vector ours moved to (a CPU offline, a reload)"

d=$(mkrun triple-timer debian)
triple_fault "$d" 0xffffffff81a59b99 0x800000ec 34
expect nest "guest triple fault at _raw_spin_unlock_irqrestore, delivering vector 0xec" "$d" \
	"a guest triple fault in the kernel delivering the timer vector"

d=$(mkrun triple-module debian)
triple_fault "$d" 0xffffffffc0000100 0x0 34
expect failure "in our guest module" "$d" "a guest triple fault in our module"

d=$(mkrun starved-debug debug)
cat >>"$d/guest1.console" <<'EOF'
[   40.0] rcu: INFO: rcu_preempt detected stalls on CPUs/tasks:
[   40.0] rcu: All QSes seen, last rcu_preempt kthread activity 21002
[   40.0] rcu: rcu_preempt kthread starved for 21002 jiffies!
EOF
expect nest "vCPU stopped taking interrupts" "$d" "a crash on the debug kernel that the control lane recorded"

d=$(mkrun unknown-debug debug)
idle_lockup "$d"
expect failure "no control run recorded" "$d" "a crash on the debug kernel that no control run recorded"

d=$(mkrun host-boot-hang debug)
echo "the test bed stopped the test host: it did not boot within 120 s" >"$d/stopped"
expect nest "host hung while booting, before our code was loaded" "$d" "a debug test host that hung at boot"

d=$(mkrun not-resumed debian)
printf 'guest2_qemu_rc 0\n' >>"$d/times"
echo "did not boot within 150 s" >"$d/guest2.stopped"
echo "QEMU pid 812: the monitor never said 'VM status: running' after cont (60 tries)" >"$d/guest2.not-resumed"
expect failure "never resumed guest2" "$d" "a guest the test bed never let run (not a hung boot)"

d=$(mkrun leak debug)
echo "unreferenced object 0xffff888004a2c000 (size 64):" >"$d/guest1.kmemleak"
expect failure "kmemleak" "$d" "a run that leaked"

d=$(mkrun test-failed debian)
echo "[    1.0] ok" >"$d/host.dmesg"
expect failure "no crash" "$d" "a failed check without a crash"

# nmi_panic DIR: the panic of the NMI the test bed sends before it stops a
# guest at its time limit (vm-images/snapshot.sh), with the guest's registers.
nmi_panic() {
	echo "[    1.0] ok" >"$1/host.dmesg"
	printf 'guest1_qemu_rc 0\nguest1_stage_uptime 4.0\n' >>"$1/times"
	printf 'kernel 0xffffffff81000000 0xffffffff82000000\nvirtsocket_guest 0xffffffffc0000000 65536\n' >"$1/guest1.text"
	echo "reached its time limit of 275 s" >"$1/guest1.stopped"
	printf '%s\n' '[  300.0] Uhhuh. NMI received for unknown reason 3d on CPU 0.' \
		'[  300.0] Kernel panic - not syncing: NMI: Not continuing' \
		'[  300.0] RIP: 0010:native_safe_halt+0xb/0x10' \
		'[  300.1] task:swapper/0       state:R  running task     stack:0     pid:0' \
		'[  300.1]  default_idle+0xa/0x10' \
		'[  300.1] task:kthreadd        state:S stack:0     pid:2' \
		'[  300.1]  kthread+0xe8/0x110' \
		'[  300.1] task:virt_test       state:D stack:0     pid:190' \
		'[  300.1]  p9_client_rpc+0x12/0x40 [9pnet]' \
		'[  300.1] task:case.sh         state:S stack:0     pid:191' \
		'[  300.1]  virt_recvmsg+0x10/0x200 [virtsocket_guest]' \
		'[  300.2] ---[ end Kernel panic - not syncing: NMI: Not continuing ]---' >>"$1/guest1.console"
	printf '%s\n' 'CPU#0' 'RIP=ffffffff81a59b99 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=1' \
		'CPU#1' 'RIP=ffffffffc0000100 RFL=00000246 [---Z-P-] CPL=0 II=0 A20=1 SMM=0 HLT=0' >"$1/guest1.registers"
}
d=$(mkrun nmi-snapshot debian)
nmi_panic "$d"
touch "$d/guest1.nmi"
expect failure "stopped guest1: it reached its time limit of 275 s, with no crash" "$d" "a guest stopped at its time limit, with the test bed's NMI panic"
report=$(snapshot_report "$d")
if grep -q 'CPU#0 RIP 0xffffffff81a59b99 (kernel +0xa59b99 _raw_spin_unlock_irqrestore)' <<<"$report" &&
   grep -q 'CPU#1 RIP 0xffffffffc0000100 (virtsocket_guest +0x100)' <<<"$report" &&
   grep -q 'reached its time limit' <<<"$report" && grep -q 'console: .*NMI: Not continuing' <<<"$report" &&
   grep -q 'task:virt_test .*state:D' <<<"$report" && grep -q 'virt_recvmsg' <<<"$report" &&
   ! grep -q 'task:kthreadd\|task:swapper' <<<"$report"; then
	passed=$((passed + 1))
	echo "ok: the snapshot report places each vCPU"
else
	failed=$((failed + 1))
	echo "FAIL: the snapshot report: $report"
fi

d=$(mkrun nmi-not-ours debian)
nmi_panic "$d"
sed -i 's/p9_client_rpc+0x12\/0x40 \[9pnet\]/virt_flush+0x12\/0x340 [virtsocket_guest]/' "$d/guest1.console"
expect failure "guest panic: NMI: Not continuing, with our code on the stack" "$d" \
	"an NMI panic the test bed did not cause, our code in a task waiting uninterruptibly"

# Every task's stack (panic_print=1): one sleeping in our code neither ran
# nor spun, so it is not on the crash's stack.
d=$(mkrun sleeping-in-ours debian)
nmi_panic "$d"
expect nest "guest panic: NMI: Not continuing" "$d" "a panic while a task sleeps in our code"

# host_stack_guard DIR: the test host ran off its stack in the page fault
# handler right after a VMRUN (the nest's #VMEXIT left a bad stack), then
# Oopsed on the way and panicked; every task's stack follows.
host_stack_guard() {
	printf '%s\n' '[  134.8] BUG: TASK stack guard page was hit at 000000001ebeff95' \
		'[  134.8] RIP: 0010:exc_page_fault+0x15/0x170' \
		'[  134.9] BUG: unable to handle page fault for address: ffffd436809854f8' \
		'[  134.9] Oops: 0000 [#2] PREEMPT SMP NOPTI' \
		'[  134.9] RIP: 0010:__svm_vcpu_run+0x102/0x210 [kvm_amd]' \
		'[  134.9]  kvm_vcpu_ioctl+0x25e/0x720 [kvm]' \
		'[  134.9] Kernel panic - not syncing: Fatal exception in interrupt' \
		'[  134.9] task:virtsock-cat    state:S stack:0     pid:300' \
		'[  134.9]  <TASK>' \
		'[  134.9]  virt_sleep+0x20/0x90 [virtsocket_host]' \
		'[  134.9]  </TASK>' \
		'[  134.9] task:case.sh         state:R  running task     stack:0     pid:301' \
		'[  134.9]  <TASK>' \
		'[  134.9]  do_wait+0x114/0x320' \
		'[  134.9]  </TASK>' >>"$1/host.console"
}
d=$(mkrun stack-guard debian)
host_stack_guard "$d"
expect nest "host stack guard page hit in exc_page_fault" "$d" \
	"a test-host stack overflow after a VMRUN, its own Oops after it, a task asleep in our code"

d=$(mkrun stack-guard-running-ours debian)
host_stack_guard "$d"
sed -i 's/do_wait+0x114\/0x320/virt_flush+0x12\/0x340 [virtsocket_host]/' "$d/host.console"
expect failure "with our code on the stack" "$d" "the same, with a running task in our code"

d=$(mkrun oops-before-panic debian)
printf '%s\n' '[   50.0] BUG: unable to handle page fault for address: 0000000000000008' \
	'[   50.0] RIP: 0010:kfree+0x10/0x100' \
	'[   60.0] Kernel panic - not syncing: Fatal exception' >>"$d/host.console"
expect failure "a kernel report in host.console: [   50.0] BUG: unable to handle page fault" "$d" \
	"an Oops before the panic"

echo "verdict: $passed passed, $failed failed"
[ "$failed" = 0 ]
