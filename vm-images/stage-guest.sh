#!/bin/bash
# PID 1 of a guest (L2) after switch_root: load the guest module, run the
# --guest command, record its exit code and kernel log, power off.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
for arg in $(cat /proc/cmdline); do
	case "$arg" in
	tb.out=*) TESTBED_OUT=${arg#tb.out=} ;;
	tb.idx=*) idx=${arg#tb.idx=} ;;
	esac
done
export TESTBED_OUT TESTBED_ROLE=guest TESTBED_GUEST=$idx HOME=/root
# shellcheck source=/dev/null
. "$TESTBED_OUT/config"
out=$TESTBED_OUT
name=guest$idx
echo "${name}_stage_uptime $(cut -d' ' -f1 /proc/uptime)" >>"$out/times"
mount -t debugfs debugfs /sys/kernel/debug
hostname "$name"
# kmemleak (debug kernel): only what becomes unreferenced from here on.
kmemleak=/sys/kernel/debug/kmemleak
[ -w "$kmemleak" ] && echo clear >"$kmemleak"

# NICs of testbed --net, found by MAC address (no udev here).
net_up() {
	local kind dev
	# shellcheck source=vm-images/net.sh
	. "$TB_REPO/vm-images/net.sh"
	modprobe -a virtio_net e1000 || return 1
	for kind in virtio-net e1000; do
		dev=$(grep -l "$(net_mac $kind "$idx")" /sys/class/net/*/address | cut -d/ -f5)
		[ -n "$dev" ] || { echo "testbed: $name: no $kind NIC" >&2; return 1; }
		ip addr add "$(net_addr $kind "$idx" guest)/24" dev "$dev" &&
			ip link set "$dev" up || return 1
	done
}

# The kernel's text and every module's (NAME BASE SIZE).
address_list() {
	echo "kernel $(grep -wE '_stext|_etext' /proc/kallsyms | cut -d' ' -f1 | sed 's/^/0x/' | tr '\n' ' ')"
	awk '$6 ~ /^0x/ { print $1, $6, $2 }' /proc/modules
}

# insmod, with the address list written first and our module added to it
# as soon as it is placed (listed "Loading", before its init runs): a
# guest that dies while our module initialises is then placed in it.
load_guest_module() {
	local pid r
	address_list >"$out/$name.text" 2>/dev/null
	insmod "$TB_GUEST_KO" >>"$out/$name.log" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		if r=$(awk '$1 == "virtsocket_guest" && $6 ~ /^0x/ { print $1, $6, $2 }' /proc/modules) &&
		   [ -n "$r" ]; then
			echo "$r" >>"$out/$name.text"
			break
		fi
		sleep 0.05
	done
	wait "$pid"
}

ip link set lo up
: >"$out/$name.log"
rc=0
if [ "$TB_NET" = 1 ] && ! net_up >>"$out/$name.log" 2>&1; then
	echo "testbed: $name: cannot set up the NICs" >>"$out/$name.log"
	rc=1
elif [ "$TB_VSOCK" = 1 ] && ! modprobe vmw_vsock_virtio_transport >>"$out/$name.log" 2>&1; then
	echo "testbed: $name: cannot load the vsock transport" >>"$out/$name.log"
	rc=1
elif [ "$TB_GUEST_MODULE" = 1 ] && ! load_guest_module; then
	echo "testbed: $name: loading virtsocket_guest.ko failed:" >>"$out/$name.log"
	dmesg | grep virtsocket >>"$out/$name.log"
	rc=1
else
	# Where the kernel and the modules are, to place a triple fault's RIP
	# (vm-images/testbed-crash.sh: guest_shutdowns), and our vector.
	vector=$(cat /sys/kernel/virtsocket/vector 2>/dev/null)
	{
		address_list
		[ -n "$vector" ] && echo "vector $vector"
	} >"$out/$name.text.new" 2>/dev/null
	mv "$out/$name.text.new" "$out/$name.text"
	# The vector moves with its CPU going offline and may change when the
	# module is loaded again: each new one is added, once a second.
	(
		seen=" $vector "
		while sleep 1; do
			v=$(cat /sys/kernel/virtsocket/vector 2>/dev/null) || continue
			[[ $seen == *" $v "* ]] && continue
			seen="$seen$v "
			echo "vector $v" >>"$out/$name.text"
		done
	) &
	vector_watch=$!
	(cd "$TB_REPO" && exec bash -c "$TB_GUEST_CMD") >>"$out/$name.log" 2>&1 </dev/null
	rc=$?
	kill "$vector_watch" 2>/dev/null
fi
echo "$rc" >"$out/$name.rc"
if [ -w "$kmemleak" ]; then
	echo scan >"$kmemleak" && echo scan >"$kmemleak" && cat "$kmemleak" >"$out/$name.kmemleak"
	[ -s "$out/$name.kmemleak" ] || rm -f "$out/$name.kmemleak"
fi
dmesg >"$out/$name.dmesg"
sync
poweroff -f
sleep 60
