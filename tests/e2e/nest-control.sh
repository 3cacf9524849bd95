#!/bin/bash
# The control lane: what the emulated nest (QEMU TCG with nested SVM) does on
# its own.  Runs the e2e suite's heaviest shapes of work with none of our code
# in the test host or the guests (Debian's unpatched KVM, no virtsocket
# module): streams over vhost-vsock of the volume virt-test moves, on two
# guests with two vCPUs each, and guests booted and killed as vm-killed does.
# Each run that crashes is given a signature (vm-images/testbed-crash.sh:
# crash_signature); the summary gives the crash rate per signature.
# Signatures seen here on the debug kernel may be copied to
# tests/e2e/nest-signatures, which testbed_verdict consults.
# --qemu takes QEMU binaries separated by commas (the installed one is
# "system"); their runs alternate, so the machine's load falls on each alike.
#
# --guest-kernel gives the guests another kernel than the test host's, as
# make e2e-debug-smoke does (a debug test host, Debian's kernel in guests).
#
#   tests/e2e/nest-control.sh [--kernel debug|debian] [--guest-kernel debug|debian] [--runs N]
#       [--workload streams|boot-kill|boots|both] [--qemu system,/opt/qemu-7.2/usr/bin/qemu-system-x86_64]
set -uo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo" || exit 2
kernel=debug guest_kernel= runs=10 workload=both qemus=system
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift ;;
	--guest-kernel) guest_kernel=$2; shift ;;
	--runs) runs=$2; shift ;;
	--workload) workload=$2; shift ;;
	--qemu) qemus=$2; shift ;;
	-h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "nest-control: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || { echo "nest-control: --runs must be a positive number" >&2; exit 2; }
case "$workload" in
both) workloads=(streams boot-kill) ;;
streams|boot-kill|boots) workloads=("$workload") ;;
*) echo "nest-control: --workload must be streams, boot-kill, boots or both" >&2; exit 2 ;;
esac
IFS=, read -ra qemu_list <<<"$qemus"
qemu_version() {
	local q=$1
	[ "$q" = system ] && q=qemu-system-x86_64
	"$q" --version | head -1 | sed 's/^QEMU emulator version //'
}
qemu_versions=()
for q in "${qemu_list[@]}"; do
	qemu_versions+=("$(qemu_version "$q")") || { echo "nest-control: cannot run QEMU '$q'" >&2; exit 2; }
done
# shellcheck source=vm-images/testbed-crash.sh
. vm-images/testbed-crash.sh

# streams: each guest sends 64 MiB to the test host and receives 64 MiB from
# it over vsock, checked by sha256 on both ends.
streams_host='
for g in 1 2; do
	for dir in up down; do
		port=$((7000 + g * 10)); [ $dir = down ] && port=$((port + 1))
		if [ $dir = up ]; then
			socat -u VSOCK-LISTEN:$port STDOUT | sha256sum >/tmp/up$g.sum &
		else
			head -c 64M /dev/urandom >/tmp/down$g.in
			sha256sum </tmp/down$g.in >"$TESTBED_OUT/down$g.sum"
			socat -u FILE:/tmp/down$g.in VSOCK-LISTEN:$port &
		fi
	done
done
touch "$TESTBED_OUT/signal.listening"
wait
for g in 1 2; do cmp /tmp/up$g.sum "$TESTBED_OUT/up$g.sum" || { echo "stream from guest$g corrupted"; exit 1; }; done
'
streams_guest='
g=$TESTBED_GUEST
while [ ! -e "$TESTBED_OUT/signal.listening" ]; do sleep 0.2; done
head -c 64M /dev/urandom >/tmp/up.in
sha256sum </tmp/up.in >"$TESTBED_OUT/up$g.sum"
socat -u FILE:/tmp/up.in VSOCK-CONNECT:2:$((7000 + g * 10)) &
socat -u VSOCK-CONNECT:2:$((7001 + g * 10)) STDOUT | sha256sum >/tmp/down.sum
wait
while [ ! -e "$TESTBED_OUT/down$g.sum" ]; do sleep 0.2; done
cmp /tmp/down.sum "$TESTBED_OUT/down$g.sum"
'
# boot-kill: five more guests booted in the test host, each streaming to it,
# killed with SIGKILL mid-stream.
bootkill_host='
for i in 11 12 13 14 15; do
	# Gone first: the reader truncates it only once it runs, and the bytes
	# of the victim before would pass the wait below before this one booted.
	rm -f /tmp/victim.out
	socat -u VSOCK-LISTEN:$((7100 + i)) STDOUT >/tmp/victim.out &
	reader=$!
	vm-images/run-guest.sh $i &
	deadline=$((SECONDS + 120))
	while [ ! -s /tmp/victim.out ] && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
	[ -s /tmp/victim.out ] || { echo "victim guest$i sent nothing"; exit 1; }
	pkill -KILL -f "tb.idx=$i "
	wait $reader
	wait
	rm -f "$TESTBED_OUT/guest$i.rc"
done
'
bootkill_guest='
[ "$TESTBED_GUEST" -gt 10 ] || exit 0
head -c 2000M /dev/zero | socat -u STDIN VSOCK-CONNECT:2:$((7100 + TESTBED_GUEST))
sleep 600
'

# boots: the test host boots 20 guests (8 debug guests) one after another,
# each killed once it reached its stage script; every boot is counted
# (booted, died, hung), and the test host goes on after a guest's death: the
# nest's risk per boot.
boots_host='
for i in $(seq 11 $((10 + @BOOTS@))); do
	vm-images/run-guest.sh $i 2>/dev/null &
	runner=$!
	deadline=$((SECONDS + @BOOT_WAIT@))
	until grep -q "^guest${i}_stage_uptime " "$TESTBED_OUT/times" || ! kill -0 $runner 2>/dev/null ||
	      [ $SECONDS -ge $deadline ]; do
		sleep 0.2
	done
	if grep -q "^guest${i}_stage_uptime " "$TESTBED_OUT/times"; then
		echo "boot $i: booted" >>"$TESTBED_OUT/boots"
	elif kill -0 $runner 2>/dev/null; then
		echo "boot $i: hung" >>"$TESTBED_OUT/boots"
	else
		echo "boot $i: died" >>"$TESTBED_OUT/boots"
	fi
	pkill -KILL -f "tb.idx=$i "
	wait $runner
done
touch "$TESTBED_OUT/signal.boots-done"
'
boots_guest='
[ "$TESTBED_GUEST" -gt 10 ] && exit 0
while [ ! -e "$TESTBED_OUT/signal.boots-done" ]; do sleep 1; done
'

# A debug kernel at either level runs many times slower (README, "The debug
# kernel"): longer limits, and fewer boots per run (a debug guest reaches its
# stage in 30-60 s of its uptime, a Debian one in 4-10 s).
slow=1
[ "$kernel" = debug ] || [ "${guest_kernel:-$kernel}" = debug ] && slow=4
if [ "${guest_kernel:-$kernel}" = debug ]; then
	boots_host=${boots_host//@BOOTS@/8} boots_host=${boots_host//@BOOT_WAIT@/240}
else
	boots_host=${boots_host//@BOOTS@/20} boots_host=${boots_host//@BOOT_WAIT@/60}
fi

out=$repo/build/nest-control/$(date +%Y%m%d-%H%M%S)-$kernel${guest_kernel:+-guests-$guest_kernel}
mkdir -p "$out"
declare -A crashes runs_of crashed_of failed_of secs_of boots_of
start=$(date +%s)
for w in "${workloads[@]}"; do
	case "$w" in
	streams) args=(--guests 2 --guest-cpus 2) tmo=$((300 * slow)) host=$streams_host guest=$streams_guest ;;
	boot-kill) args=(--guests 1 --host-grace 580) tmo=$((600 * slow)) host=$bootkill_host guest=$bootkill_guest ;;
	boots) args=(--guests 1 --host-grace 60) tmo=$((900 * slow)) host=$boots_host guest=$boots_guest ;;
	esac
	for r in $(seq 1 "$runs"); do
		for qi in "${!qemu_list[@]}"; do
			q=${qemu_list[$qi]} v=${qemu_versions[$qi]}
			qenv=()
			[ "$q" = system ] || qenv=(TESTBED_QEMU="$q")
			tb=$out/$w.q$qi.$r
			t0=$(date +%s)
			env "${qenv[@]}" vm-images/testbed --kernel "$kernel" ${guest_kernel:+--guest-kernel "$guest_kernel"} --stock-kvm --no-guest-module --vsock \
				"${args[@]}" --timeout "$tmo" --host-must-exit --out "$tb" \
				--host "$host" --guest "$guest" >"$tb.log" 2>&1
			rc=$?
			k="$w, QEMU $v"
			runs_of[$k]=$((${runs_of[$k]:-0} + 1))
			secs_of[$k]=$((${secs_of[$k]:-0} + $(date +%s) - t0))
			if [ $rc = 0 ]; then
				result=pass
			else
				sig=$(crash_signature "$tb")
				if [ -n "$sig" ]; then
					result="crash: $sig"
					crashed_of[$k]=$((${crashed_of[$k]:-0} + 1))
					crashes[$k: $sig]=$((${crashes[$k: $sig]:-0} + 1))
				else
					result="failed without a crash (exit $rc): $(grep -m1 'FAIL' "$tb.log")"
					failed_of[$k]=$((${failed_of[$k]:-0} + 1))
				fi
			fi
			if [ -f "$tb/boots" ]; then
				for b in booted died hung; do
					n=$(grep -c ": $b" "$tb/boots")
					boots_of[$k $b]=$((${boots_of[$k $b]:-0} + n))
				done
				result="$result; boots: $(cut -d' ' -f3 "$tb/boots" | sort | uniq -c | xargs)"
			fi
			echo "nest-control: $w run $r, QEMU $v: $result ($(($(date +%s) - t0)) s)" | tee -a "$out/summary"
		done
	done
done
{
	echo "nest-control: kernel $kernel${guest_kernel:+ (guests: $guest_kernel)}, $(($(date +%s) - start)) s in all"
	for k in "${!runs_of[@]}"; do
		n=${runs_of[$k]}
		echo "nest-control: $k: $n runs, ${crashed_of[$k]:-0} crashed, ${failed_of[$k]:-0} failed otherwise, $((${secs_of[$k]} / n)) s a run"
		[ -n "${boots_of[$k booted]:-}" ] &&
			echo "nest-control: $k: guest boots: ${boots_of[$k booted]} booted, ${boots_of[$k died]} died, ${boots_of[$k hung]} hung"
	done | sort
	for sig in "${!crashes[@]}"; do
		echo "nest-control:   ${crashes[$sig]}x $sig"
	done | sort
} | tee -a "$out/summary"
echo "nest-control: files in $out"
