#!/bin/bash
# The verdict on a failed test-bed run, for tests/e2e/run.sh, bench/sweep.sh
# and vm-images/demo.sh (OUT is the run's $TESTBED_OUT), and guest_shutdowns,
# which vm-images/testbed prints when a guest vanished.
#
# testbed_verdict OUT prints one line and returns 0 only for "nest: ...": the
# emulated nest (QEMU TCG with nested SVM) crashed on its own, which may be
# repeated.  Everything else is "failure: ...".  A crash (panic, lockup, RCU
# stall, triple fault, a silent reset) is the nest's own only when none of
# these holds:
#  - a frame of ours or of the KVM patch is on a printed stack: the
#    crashing CPU's, or a task's that was running or waiting uninterruptibly
#    (the task list panic_print=1 adds also shows every sleeping task, which
#    neither ran nor held a spinning CPU: those stacks are not counted);
#  - the triple fault hit our guest module or was delivering our vector;
#  - a kernel report (KASAN, lockdep, UBSAN, DEBUG_OBJECTS, WARN, BUG)
#    came before it (the Oopses the crash itself goes on to print, after
#    its first line, are the crash), or kmemleak found a leak;
#  - on the debug kernel, with our modules loaded: its signature is not one
#    a control run without our modules recorded (tests/e2e/nest-signatures),
#    unless it happened while booting, before any code of ours was loaded.
# A run the test bed stopped at its time limit, with no crash, is a failure.

# Stack frames of our code ("virt_flush+0x12/0x340 [virtsocket_host]") and
# of the KVM patch series.
crash_our_frames='(virt_[a-z_]+|virtsocket[a-z_]*)\+0x|\[virtsocket|kvm_[a-z_]*hypercall_hook|kvm_deliver_fixed_irq|kvm_[a-z_]*destroy_vm_notifier'
# Kernel reports other than the crash itself.
crash_reports='BUG: (KASAN|KFENCE|sleeping function|scheduling while atomic|unable to handle|kernel NULL)|WARNING:|UBSAN:|ODEBUG:|list_(add|del) corruption|Oops|general protection'
crash_signatures_file=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/e2e/nest-signatures

# The crash of a run, as a signature that does not depend on addresses or
# timings: "host soft lockup in FUNC", "guest triple fault at FUNC delivering
# vector 0xec", ...  Prints nothing when the run shows no crash.
crash_signature() { # crash_signature OUT
	local out=$1 f who rip func faults i ended text
	for f in "$out/host.console" "$out"/guest*.console; do
		[ -f "$f" ] || continue
		who=host
		[[ $(basename "$f") == guest* ]] && who=guest
		text=$(console_before_nmi "$f")
		# The first function of the report: RIP, or the first stack frame.
		func=$(awk '/Kernel panic|soft lockup|rcu_preempt detected stalls/ { f = 1 }
			f && /RIP: [0-9]+:[a-z_]/ { sub(/.*RIP: [0-9]+:/, ""); sub(/\+.*/, ""); print; exit }' <<<"$text")
		if grep -q 'BUG: TASK stack guard page was hit' <<<"$text"; then
			func=$(awk '/BUG: TASK stack guard page was hit/ { f = 1 }
				f && /RIP: [0-9]+:[a-z_]/ { sub(/.*RIP: [0-9]+:/, ""); sub(/\+.*/, ""); print; exit }' <<<"$text")
			echo "$who stack guard page hit in ${func:-?}"; return
		elif grep -q 'soft lockup' <<<"$text"; then
			echo "$who soft lockup in ${func:-?}"; return
		elif grep -q 'All QSes seen' <<<"$text" && grep -q 'rcu_preempt kthread starved' <<<"$text"; then
			echo "$who vCPU stopped taking interrupts (RCU kthread starved, all quiescent states seen)"; return
		elif grep -q 'rcu_preempt detected stalls' <<<"$text"; then
			echo "$who RCU stall in ${func:-?}"; return
		elif grep -q 'Kernel panic' <<<"$text"; then
			echo "$who panic: $(grep -m1 -oE 'Kernel panic - not syncing: [^0-9]*' <<<"$text" | cut -c29-80)"; return
		fi
	done
	if grep -qs 'did not boot within' "$out/stopped"; then
		echo "host hung while booting, before our code was loaded (the test bed stopped it)"; return
	fi
	# The test host reset without a word from its kernel (stage never ended);
	# not one that powered off (its init gave up: a failure of the run).
	if [ ! -e "$out/host.dmesg" ] && [ -s "$out/host.console" ] && [ ! -e "$out/stopped" ] &&
	   ! grep -q 'reboot: Power down' "$out/host.console"; then
		echo "host reset without a kernel message"; return
	fi
	ended=$(sed -n 's/^guest\([0-9]*\)_qemu_rc .*/\1/p' "$out/times" 2>/dev/null)
	for i in $ended; do
		grep -q "^guest${i}_stage_uptime " "$out/times" && continue
		if [ -e "$out/guest$i.stopped" ]; then
			echo "guest hung while booting (the test bed stopped it: $(cat "$out/guest$i.stopped"))"
		else
			echo "guest died while booting"
		fi
		return
	done
	faults=$(guest_shutdowns "$out")
	if [ -n "$faults" ]; then
		head -1 <<<"$faults" | sed -E 's/ in guest[0-9]+ \(kernel \+0x[0-9a-f]+ ([^) ][^)]*)\)/ at \1/;
			s/ in guest[0-9]+ \(kernel (\+0x[0-9a-f]+) ?\)/ at kernel \1/;
			s/at RIP 0x[0-9a-f]+/at an address/; s/^/guest /'
		return
	fi
}

# A kernel log up to the first line of its crash: a stack overflow, a panic,
# a lockup or a stall.  (What the crash prints after that line, such as the
# Oops of a fault taken on the overflowed stack, is the crash itself.)
crash_prelude() { # crash_prelude FILE
	awk '/BUG: TASK stack guard page was hit|Kernel panic - not syncing|soft lockup - CPU|rcu_preempt detected stalls/ { exit } 1' "$1"
}

# A kernel log without the stacks of the tasks panic_print=1 lists as
# sleeping (state S or I): a block from its "task:NAME state:S" line to its
# "</TASK>", or to the next task or the end of the panic.
without_sleeping_tasks() { # without_sleeping_tasks FILE
	awk '/ task:[^ ]+ +state:/ { skip = / state:[SI] / }
		skip && /<\/TASK>|---\[ end Kernel panic/ { skip = 0; next }
		!skip' "$1"
}

# A console up to the NMI the test bed sent (vm-images/snapshot.sh) to see
# where a machine that stopped making progress was: the panic that NMI
# causes is the test bed's doing, not a crash.
console_before_nmi() { # console_before_nmi FILE.console
	if [ -e "${1%.console}.nmi" ]; then
		awk '/NMI received for unknown reason|Kernel panic - not syncing: NMI: Not continuing/ { exit } 1' "$1"
	else
		cat "$1"
	fi
}

# Where the vCPUs of machines the test bed stopped were (snapshot.sh), placed
# as guest_shutdowns places a triple fault, and the stack the NMI printed.
snapshot_report() { # snapshot_report OUT
	local out=$1 f name cpu rip map line
	map=$(sed -n 's/^TB_SYSTEM_MAP=//p' "$out/config" 2>/dev/null)
	[ -r "$map" ] || map=$out/host.kallsyms
	for f in "$out"/*.registers; do
		[ -f "$f" ] || continue
		name=$(basename "$f" .registers)
		echo "$name, when the test bed stopped it ($(cat "$out/$name.stopped" 2>/dev/null || echo "time limit")):"
		cpu=?
		while read -r line; do
			case "$line" in
			CPU#*) cpu=${line%% *} ;;
			RIP=*)
				rip=0x${line#RIP=} rip=${rip%% *}
				echo "  $cpu RIP $rip $(place_address "$out" "$name" "$rip" "$map")" ;;
			esac
		done < <(grep -oE '^CPU#[0-9]+|^RIP=[0-9a-f]+' "$f")
		[ -s "$out/$name.console" ] && nmi_stacks "$out/$name.console" | sed 's/^/  console: /'
	done
}

# What the NMI's panic printed: the stack of the CPU it hit, then of every
# task (panic_print=1) those that run, wait uninterruptibly or are in our
# code, for a machine that waits forever.
nmi_stacks() { # nmi_stacks CONSOLE
	awk -v ours="$crash_our_frames" '
	function flush() { if (keep) printf "%s", block; block = ""; keep = 0 }
	/NMI received for unknown reason|NMI: Not continuing/ && !f { f = 1 }
	!f { next }
	/ task:[^ ]+ +state:/ { flush(); tasks = 1; keep = /state:[DR] / && !/task:swapper/ }
	!tasks { if (n++ < 45) print; next }
	{ block = block $0 "\n"; if ($0 ~ ours) keep = 1 }
	/---\[ end Kernel panic/ { flush(); print; exit }
	END { flush() }' "$1" | head -300
}

# An address of a machine, placed with its address list (NAME.text).
place_address() { # place_address OUT NAME ADDRESS MAP
	local out=$1 name=$2 rip=$3 map=$4 what start end
	[ -f "$out/$name.text" ] || { echo "(no address list)"; return; }
	while read -r what start end; do
		[ "$what" = vector ] && continue
		[ -n "$start" ] && [ -n "$end" ] || continue
		[ "$what" = kernel ] || end=$((start + end))	# modules: base, size
		[ $((rip >= start && rip < end)) = 1 ] || continue
		if [ "$what" = kernel ] && [ -r "$map" ]; then
			echo "(kernel +$(printf '%#x' $((rip - start))) $(kernel_symbol "$map" $((rip - start))))"
		else
			echo "($what +$(printf '%#x' $((rip - start))))"
		fi
		return
	done <"$out/$name.text"
	echo "(outside the kernel and the modules listed in $name.text)"
}

testbed_verdict() { # testbed_verdict OUT
	local out=$1 sig f hit v kernel modules=0 stopped=
	[ -e "$out/stopped" ] && stopped=$(cat "$out/stopped")
	# shellcheck source=/dev/null
	[ -f "$out/config" ] && . <(grep -E '^TB_(KERNEL|HOST_MODULE|GUEST_MODULE)=' "$out/config")
	kernel=${TB_KERNEL:-debian}
	[ "${TB_HOST_MODULE:-0}" = 1 ] || [ "${TB_GUEST_MODULE:-0}" = 1 ] && modules=1
	sig=$(crash_signature "$out")
	for f in "$out/host.console" "$out"/guest*.console "$out"/*.dmesg; do
		[ -f "$f" ] || continue
		hit=$(crash_prelude "$f" | grep -m1 -E "$crash_reports") &&
			{ echo "failure: a kernel report in $(basename "$f"): $hit${sig:+; then: $sig}"; return 1; }
	done
	for f in "$out"/*.kmemleak; do
		[ -s "$f" ] && { echo "failure: kmemleak found leaks ($(basename "$f"))${sig:+; then: $sig}"; return 1; }
	done
	# A guest the test bed never let run (vm-images/run-guest.sh) looks
	# like a hung boot, but it is the test bed's own fault.
	for f in "$out"/guest*.not-resumed; do
		[ -e "$f" ] && { echo "failure: the test bed never resumed $(basename "$f" .not-resumed): $(cat "$f")"; return 1; }
	done
	if [ -z "$sig" ]; then
		if hit=$(grep -m1 'testbed-init:' "$out/host.console" 2>/dev/null); then
			echo "failure: the test host's init gave up: ${hit#*testbed-init: }"
		elif [ -e "$out/stopped" ]; then
			echo "failure: $(cat "$out/stopped"), with no crash"
		elif f=$(grep -l 'time limit' "$out"/guest*.stopped 2>/dev/null | head -1) && [ -n "$f" ]; then
			echo "failure: the test bed stopped $(basename "$f" .stopped): it $(cat "$f"), with no crash"
		else
			echo "failure: no crash of the nest (a test failed)"
		fi
		return 1
	fi
	for f in "$out/host.console" "$out"/guest*.console "$out"/*.dmesg; do
		[ -f "$f" ] || continue
		hit=$(without_sleeping_tasks "$f" | grep -m1 -oE "$crash_our_frames" | head -1) && [ -n "$hit" ] &&
			{ echo "failure: $sig, with our code on the stack ($hit in $(basename "$f"))"; return 1; }
	done
	if [[ $sig == "guest triple fault"* ]]; then
		[[ $sig == *virtsocket_guest* ]] && { echo "failure: $sig (in our guest module)"; return 1; }
		for f in "$out"/guest*.text; do
			for v in $(sed -n 's/^vector \([0-9]*\)$/\1/p' "$f" 2>/dev/null); do
				[[ $sig == *"delivering vector $(printf '%#x' "$v")"* ]] &&
					{ echo "failure: $sig (our notification vector)"; return 1; }
			done
		done
	fi
	if [ "$kernel" = debug ] && [ "$modules" = 1 ] && [[ $sig != *"booting"* ]] &&
	   ! grep -qxF "debug: $sig" "$crash_signatures_file" 2>/dev/null; then
		echo "failure: $sig, on the debug kernel with our modules, a crash no control run recorded"
		return 1
	fi
	echo "nest: $sig${stopped:+ ($stopped)}"
	return 0
}

# The triple faults (SHUTDOWN exits) the test host's KVM recorded
# (vm-images/stage-host.sh), placed with the guests' own address lists
# (stage-guest.sh writes guestN.text: kernel text, virtsocket_guest module)
# and, in the kernel, named from its System.map.
guest_shutdowns() { # guest_shutdowns OUT
	local out=$1 line rip info f name placed where map
	[ -s "$out/host.guest-shutdowns" ] || return 0
	map=$(sed -n 's/^TB_SYSTEM_MAP=//p' "$out/config" 2>/dev/null)
	while read -r line; do
		rip=$(grep -oE 'rip 0x[0-9a-f]+' <<<"$line") rip=${rip#rip }
		info=$(grep -oE 'intr_info 0x[0-9a-f]+' <<<"$line") info=${info#intr_info }
		where="at RIP $rip, which no guest's address list places"
		for f in "$out"/guest*.text; do
			[ -f "$f" ] || continue
			name=$(basename "$f" .text)
			placed=$(place_address "$out" "$name" "$rip" "$map")
			[[ $placed == "(outside "* ]] || where="in $name $placed"
		done
		if [ $((info & 0x80000000)) != 0 ]; then
			where="$where, delivering vector $(printf '%#x' $((info & 0xff)))"
		fi
		echo "triple fault $where"
	done <"$out/host.guest-shutdowns"
}

# The function at an offset from _stext, from a System.map.
kernel_symbol() { # kernel_symbol SYSTEM_MAP OFFSET
	python3 - "$1" "$2" <<'PY'
import sys
syms = []
for line in open(sys.argv[1]):
    a, t, n = line.split()[:3]
    if t in "tT":
        syms.append((int(a, 16), n))
syms.sort()
base = dict((n, a) for a, n in syms).get("_stext")
if base is None:  # Debian's System.map is a stub (the real one is in -dbg)
    sys.exit(0)
want = base + int(sys.argv[2])
best = max((s for s in syms if s[0] <= want), default=(0, "?"))
print(best[1])
PY
}
