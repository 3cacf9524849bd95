#!/bin/bash
# In the test host: boot guest IDX under this host's KVM and wait for it.
# Used by stage-host.sh, and by hand from `testbed --shell`.
#   run-guest.sh IDX [extra QEMU args...]
# With the host module loaded, the VM gets AF_VIRT only once enabled on
# /dev/virtsocket: its QEMU starts paused (-S), is enabled by its pid
# (written to /run/guestIDX.pid; CID allocated) and then let run, so that
# the guest never says HELLO before.  (In --shell mode, without a monitor
# socket, it is enabled as soon as its pid is known.)
set -u
idx=${1:?usage: run-guest.sh IDX [QEMU args...]}
shift
# shellcheck source=/dev/null
. "$TESTBED_OUT/config"
out=$TESTBED_OUT
console=(-serial "file:$out/guest$idx.console")
monitor=(-monitor "unix:/run/guest$idx.monitor,server=on,wait=off")	# (a tmpfs: not $out, a 9p mount)
[ "${TB_SHELL:-0}" = 1 ] && console=(-serial mon:stdio) monitor=()
devices=()
[ "$TB_VSOCK" = 1 ] && devices+=(-device "vhost-vsock-pci,guest-cid=$((100 + idx))")
if [ "$TB_NET" = 1 ]; then
	# shellcheck source=vm-images/net.sh
	. "$TB_REPO/vm-images/net.sh"
	for kind in virtio-net e1000; do
		tap=$(net_tap $kind "$idx")
		ip link del "$tap" 2>/dev/null
		ip tuntap add dev "$tap" mode tap &&
			ip addr add "$(net_addr $kind "$idx" host)/24" dev "$tap" &&
			ip link set "$tap" up || { echo "run-guest.sh: cannot set up tap $tap" >&2; exit 1; }
	done
	devices+=(-netdev "tap,id=vnet,ifname=$(net_tap virtio-net "$idx"),script=no,downscript=no,vhost=on"
		  -device "virtio-net-pci,netdev=vnet,mac=$(net_mac virtio-net "$idx")"
		  -netdev "tap,id=enet,ifname=$(net_tap e1000 "$idx"),script=no,downscript=no"
		  -device "e1000,netdev=enet,mac=$(net_mac e1000 "$idx")")
fi
pidfile=/run/guest$idx.pid
rm -f "$pidfile"
paused=()
ctl=$TB_REPO/build/bin/virtsocket-ctl
enable_vm() { # in the background, while QEMU starts
	local qpid cid err= i
	for ((i = 0; i < 300; i++)); do
		[ -s "$pidfile" ] && break
		sleep 0.1
	done
	qpid=$(cat "$pidfile" 2>/dev/null)
	if [ -z "$qpid" ]; then
		echo "run-guest.sh: guest$idx: QEMU wrote no pid file" >&2
	# Every port both ways (an entry allows none): the test bed's cases
	# connect freely; tests/e2e/cases/policy.sh sets its own policy.
	elif cid=$("$ctl" enable --pid "$qpid" 2>&1) &&
		err=$("$ctl" ports --pid "$qpid" --to-host all --to-guest all 2>&1); then
		echo "testbed: guest$idx: QEMU pid $qpid enabled on /dev/virtsocket, CID $cid" >"$out/guest$idx.enabled"
	else
		echo "run-guest.sh: guest$idx: $cid${err:+ $err}" >&2
	fi
	[ ${#paused[@]} = 0 ] && return
	for ((i = 0; i < 300; i++)); do
		[ -S "/run/guest$idx.monitor" ] && break
		sleep 0.1
	done
	# `cont` until QEMU says it runs: a command sent before its main loop
	# reads the monitor can go with the connection (seen with the machine
	# loaded: a guest left at its reset vector until its boot limit).
	for ((i = 0; i < 60; i++)); do
		printf 'cont\ninfo status\n' | socat -t 2 - "UNIX-CONNECT:/run/guest$idx.monitor" 2>/dev/null |
			grep -q 'VM status: running' && return
	done
	echo "QEMU pid $qpid: the monitor never said 'VM status: running' after cont (60 tries)" \
		>"$out/guest$idx.not-resumed"
	echo "run-guest.sh: guest$idx: $(cat "$out/guest$idx.not-resumed")" >&2
}
if [ -c /dev/virtsocket ]; then
	[ ${#monitor[@]} -gt 0 ] && paused=(-S)
	enable_vm &
fi
start=$(date +%s.%N)
# shellcheck disable=SC2086 # TB_GUEST_QEMU_ARGS is a word list
timeout -k 5 "$TB_GUEST_TIMEOUT" "$TB_QEMU" ${TB_QEMU_DATA:+-L "$TB_QEMU_DATA"} \
	-machine q35,accel=kvm -cpu "$TB_GUEST_CPU" -smp "$TB_GUEST_CPUS" -m "$TB_GUEST_MEM" \
	${TB_GUEST_BIOS:+-bios "$TB_GUEST_BIOS"} \
	-nodefaults -no-user-config -display none -no-reboot \
	-kernel "$TB_GUEST_KIMAGE" -initrd "$TB_GUEST_INITRD" \
	-append "console=ttyS0 loglevel=$((TB_LOGLEVEL + 1)) mitigations=off panic=-1 unknown_nmi_panic panic_print=1${TB_GUEST_ARGS:+ $TB_GUEST_ARGS} tb.role=guest tb.idx=$idx tb.repo=$TB_REPO tb.out=$out${TB_GUEST_MODROOT:+ tb.modroot=$TB_GUEST_MODROOT}" \
	-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap \
	-virtfs "local,path=$TB_REPO,mount_tag=repo,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap" \
	-pidfile "$pidfile" "${paused[@]}" \
	"${console[@]}" "${monitor[@]}" "${devices[@]}" $TB_GUEST_QEMU_ARGS "$@" 2>"$out/guest$idx.qemu.log"
rc=$?
end=$(date +%s.%N)
echo "guest${idx}_qemu_rc $rc" >>"$out/times"
awk -v i="$idx" -v a="$start" -v b="$end" 'BEGIN { printf "guest%s_qemu_seconds %.2f\n", i, b - a }' >>"$out/times"
exit $rc
