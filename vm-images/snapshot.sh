#!/bin/bash
# Before the test bed stops a machine that stopped making progress (a guest
# at its time limit or hung at boot, the test host at the run's time limit):
# where its vCPUs are, from its QEMU monitor, twice a second apart (the same
# RIP twice: spinning; an idle RIP: waiting for an interrupt), then an NMI.
# The machines boot with unknown_nmi_panic panic_print=1, so a kernel that
# still takes NMIs prints the stack it was on and then every task's (the
# one that waits forever among them); the report is let finish (at most 30 s).
#   snapshot.sh MONITOR_SOCKET REGISTERS_FILE CONSOLE_FILE
# A stopped run stays a failure: this only says where it was.
set -u
mon=$1 regs=$2 console=$3
[ -S "$mon" ] || { echo "snapshot: no monitor socket $mon" >"$regs"; exit 0; }
{
	echo "info registers -a"
	sleep 1
	echo "info registers -a"
	sleep 0.5
	# (Marked first: the panic that follows is the test bed's doing.)
	echo nmi >"${regs%.registers}.nmi"
	echo nmi
	sleep 0.5
} | socat -t 2 - "UNIX-CONNECT:$mon" 2>&1 | tr -d '\r' |
	sed 's/\x1b\[[0-9;]*[A-Za-z]//g' >"$regs"
for _ in $(seq 1 60); do
	grep -qE -- '---\[ end Kernel panic' "$console" 2>/dev/null && break
	sleep 0.5
done
