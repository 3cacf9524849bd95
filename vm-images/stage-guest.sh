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

rc=0
if [ "$TB_VSOCK" = 1 ] && ! modprobe vmw_vsock_virtio_transport >"$out/$name.log" 2>&1; then
	echo "testbed: $name: cannot load the vsock transport" >>"$out/$name.log"
	rc=1
elif [ "$TB_GUEST_MODULE" = 1 ] &&
   ! insmod "$TB_REPO/guest-module/virtsocket_guest.ko" >>"$out/$name.log" 2>&1; then
	echo "testbed: $name: loading virtsocket_guest.ko failed:" >>"$out/$name.log"
	dmesg | grep virtsocket >>"$out/$name.log"
	rc=1
else
	(cd "$TB_REPO" && exec bash -c "$TB_GUEST_CMD") >>"$out/$name.log" 2>&1 </dev/null
	rc=$?
fi
echo "$rc" >"$out/$name.rc"
dmesg >"$out/$name.dmesg"
sync
poweroff -f
sleep 60
