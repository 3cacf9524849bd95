#!/bin/bash
# Runs virt_test's server and client as two processes on this machine, with a
# temporary control directory, over unix and tcp loopback, and over vsock
# loopback (CID 1) when this kernel has it (otherwise skipped, not counted).
# Every case must pass on every transport that runs.
#
#   selftest.sh PATH/TO/virt_test [extra virt_test options...]
set -uo pipefail
bin=${1:?usage: selftest.sh PATH/TO/virt_test [options]}
shift
extra=("$@")
[[ " $* " == *" --integrity-bytes"* ]] || extra=(--integrity-bytes 256K "$@")

dir=$(mktemp -d /tmp/vtself.XXXXXX)
trap 'rm -rf "$dir"' EXIT

status=0
ran=0

# run NAME LISTEN CONNECT
run() {
	local name=$1 listen=$2 connect=$3
	local ctl=$dir/ctl-$name
	mkdir -p "$ctl"
	echo "=== virt_test over $name: server $listen, client $connect"
	"$bin" --mode server --listen "$listen" --control "$ctl" "${extra[@]}" >"$dir/$name.server" 2>&1 &
	local spid=$!
	"$bin" --mode client --connect "$connect" --control "$ctl" "${extra[@]}" >"$dir/$name.client" 2>&1
	local crc=$?
	wait "$spid"
	local src=$?
	sed "s/^/    /" "$dir/$name.client"
	local sline cline
	sline=$(grep '^virt_test: .* passed, .* failed$' "$dir/$name.server" | tail -n1)
	cline=$(grep '^virt_test: .* passed, .* failed$' "$dir/$name.client" | tail -n1)
	if [ $crc -ne 0 ] || [ $src -ne 0 ] || [ "$sline" != "$cline" ] || [[ "$cline" != *" 0 failed" ]]; then
		echo "--- FAIL $name (client exit $crc, server exit $src)"
		echo "    server output:"
		sed "s/^/    | /" "$dir/$name.server"
		status=1
	else
		echo "--- PASS $name: $cline"
	fi
	ran=$((ran + 1))
}

base=$((20000 + RANDOM % 20000))
run unix "unix:$dir/sock" "unix:$dir/sock"
run tcp "tcp:127.0.0.1:$base" "tcp:127.0.0.1:$base"

vport=$((base + 100))
if probe=$("$bin" --mode probe --listen "vsock:any:$vport" --connect "vsock:1:$vport" 2>&1); then
	run vsock "vsock:any:$((vport + 10))" "vsock:1:$((vport + 10))"
else
	echo "=== virt_test over vsock: SKIPPED (not counted): vsock loopback does not work here"
	echo "    ($probe; try: modprobe vsock_loopback)"
fi

echo "selftest: $ran transports run, $([ $status = 0 ] && echo all passed || echo FAILURES)"
exit $status
