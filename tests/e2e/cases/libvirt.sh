# libvirt gives AF_VIRT to the domains that ask for it in their XML: libvirtd
# runs in the test host (its /etc/libvirt, /var/lib/libvirt, /var/cache/libvirt
# and /var/log/libvirt on tmpfs over the read-only root, virtsocket's hook
# libvirt/qemu-hook/virtsocket in qemu.d/), and virsh defines and starts
# domains from vm-images/libvirt-domain.xml (the test bed's guest as a
# libvirt domain).  Domain A asks for CID 42 and gets it; its guest
# module registers; a port its policy permits carries data, and one it
# forbids is refused with EACCES (where virtsocket-ctl has the port policy:
# otherwise said and skipped).  Domain B, the same XML without our
# metadata, is not enabled: its guest's HELLO is refused.  A domain whose
# metadata is malformed does not start, with the hook's message.  virsh
# destroy removes A from the host's listing (the hook's release).
DESCRIPTION="libvirt: the hook enables a domain with our metadata at the CID it asks for, not one without; a malformed one refused; destroy removes it"
TESTBED_ARGS=(--guests 1 --no-guest-module --host-grace 60)
# libvirtd's start and its QEMU probe, then two domains booted one after
# the other beside the test bed's guest.
TESTBED_TIMEOUT=1200

CID_A=42
ALLOWED_PORT=5001	# <virtsocket:port number=...> in A's to-host policy
ALLOWED_FIRST=6000 ALLOWED_LAST=6010
FORBIDDEN_PORT=7000
export LIBVIRT_DEFAULT_URI=qemu:///system

vsh() { virsh -q "$@"; }
libvirtd_answers() { vsh version >/dev/null 2>&1; }
listed() { "$ctl_bin" list | awk -v pid="$1" 'NR > 1 && $1 == pid { print $2 }'; }
domain_pid() { cat "/run/libvirt/qemu/$1.pid" 2>/dev/null || true; }
policy_supported() { "$ctl_bin" --help 2>&1 | grep -qE '^ +ports( |$)'; }
wait_guest() { wait_until 300 "guest$1's signal $2" test -e "$TESTBED_OUT/signal.$2"; } # wait_guest N NAME

# libvirtd on writable copies of its directories: the test host's root is
# this machine's, read-only over 9p.
start_libvirtd() {
	local d
	for d in /etc/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt; do
		mkdir -p "/tmp/lv-orig$d"
		[ -d "$d" ] || fail "$d is missing: libvirt-daemon-system is not installed (make deps)"
		cp -a "$d/." "/tmp/lv-orig$d/"
		mount -t tmpfs tmpfs "$d" || fail "cannot mount a tmpfs on $d"
		cp -a "/tmp/lv-orig$d/." "$d/"
	done
	# No polkit, D-Bus, cgroups, namespaces or labels in the test host;
	# root's QEMU; logs to files (no virtlogd); no network to start.
	cat >>/etc/libvirt/libvirtd.conf <<-EOF
		auth_unix_rw = "none"
		auth_unix_ro = "none"
		log_filters = "1:util.hook 1:qemu.qemu_process 3:*"
		log_outputs = "1:file:/var/log/libvirt/libvirtd.log"
	EOF
	cat >>/etc/libvirt/qemu.conf <<-EOF
		user = "root"
		group = "root"
		dynamic_ownership = 0
		remember_owner = 0
		security_driver = "none"
		namespaces = [ ]
		cgroup_controllers = [ ]
		stdio_handler = "file"
		seccomp_sandbox = 0
	EOF
	rm -f /etc/libvirt/qemu/networks/autostart/*.xml
	mkdir -p /etc/libvirt/hooks/qemu.d
	install -m 755 "$REPO/libvirt/qemu-hook/virtsocket" /etc/libvirt/hooks/qemu.d/virtsocket
	# (PATH reaches the hook: virtsocket-ctl of this build.)
	PATH=$REPO/build/bin:$PATH setsid libvirtd >/var/log/libvirt/libvirtd.out 2>&1 </dev/null &
	echo $! >/tmp/libvirtd.pid
	wait_until 300 "libvirtd to answer" libvirtd_answers
	log "libvirtd answers: $(vsh version | grep -i 'running hypervisor' | xargs)"
}

keep_logs() {
	mkdir -p "$TESTBED_OUT/libvirt"
	cp -a /var/log/libvirt/. "$TESTBED_OUT/libvirt/" 2>/dev/null
	cp -a /run/virtsocket "$TESTBED_OUT/libvirt/hook-state" 2>/dev/null
	true
}

# The domain XML for guest IDX named NAME; without our metadata when asked.
domain_xml() { # domain_xml NAME IDX CID with|without
	local cmdline cpu='' bios=${TB_GUEST_BIOS:-}
	cmdline="console=ttyS0 loglevel=$((TB_LOGLEVEL + 1)) mitigations=off panic=-1 unknown_nmi_panic panic_print=1${TB_GUEST_ARGS:+ $TB_GUEST_ARGS} tb.role=guest tb.idx=$2 tb.repo=$TB_REPO tb.out=$TESTBED_OUT${TB_GUEST_MODROOT:+ tb.modroot=$TB_GUEST_MODROOT}"
	[[ $TB_GUEST_CPU == *-xsave* ]] && cpu="<feature policy='disable' name='xsave'/>"
	sed -e "s|@NAME@|$1|; s|@CID@|$3|; s|@ALLOWED_PORT@|$ALLOWED_PORT|" \
		-e "s|@ALLOWED_FIRST@|$ALLOWED_FIRST|; s|@ALLOWED_LAST@|$ALLOWED_LAST|; s|@MEM@|256|" \
		-e "s|@KERNEL@|$TB_GUEST_KIMAGE|; s|@INITRD@|$TB_GUEST_INITRD|; s|@CMDLINE@|$cmdline|" \
		-e "s|@CPU_FEATURES@|$cpu|; s|@REPO@|$TB_REPO|; s|@OUT@|$TESTBED_OUT|" \
		-e "s|@CONSOLE@|$TESTBED_OUT/guest$2.console|" "$REPO/vm-images/libvirt-domain.xml" |
		if [ -n "$bios" ]; then sed "s|/usr/share/qemu/qboot.rom|/usr/share/qemu/$bios|"; else grep -v '<loader '; fi |
		if [ "$4" = without ]; then sed '/^  <metadata>$/,/^  <\/metadata>$/d'; else cat; fi
}

# Define NAME from the XML and start it; wait for guest IDX's ready signal.
# A guest the nest killed or hung while booting, before any code of ours
# ran in it (boot_victim's verdict, recorded as this case's one repeat), is
# destroyed and started once more.
boot_domain() { # boot_domain NAME IDX CID with|without
	local pid seen try
	domain_xml "$@" >"/tmp/$1.xml"
	grep -q '@[A-Z_]*@' "/tmp/$1.xml" && fail "unfilled fields in /tmp/$1.xml: $(grep -o '@[A-Z_]*@' "/tmp/$1.xml" | sort -u | xargs)"
	cp "/tmp/$1.xml" "$TESTBED_OUT/libvirt-$1.xml"
	vsh define "/tmp/$1.xml" >/dev/null || fail "virsh define $1"
	for try in 1 2; do
		seen=$(shutdowns_seen)
		vsh start "$1" || fail "virsh start $1"
		pid=$(domain_pid "$1")
		[ -n "$pid" ] || fail "no QEMU pid for $1 in /run/libvirt/qemu"
		log "$1 started: QEMU pid $pid, $(ps -o args= -p "$pid" | tr ' ' '\n' | grep -A1 -E '^-(cpu|bios|machine)$' | xargs)"
		# (Where it waits for a QEMU that is not its child, bash says so.)
		boot_victim "$2" "$pid" "$seen" && return 0
		[ "$try" = 1 ] || fail "$1's guest did not boot twice"
		vsh destroy "$1" >/dev/null 2>&1 || true
		mv "$TESTBED_OUT/guest$2.console" "$TESTBED_OUT/guest$2.console.attempt1" 2>/dev/null || true
	done
}

host() {
	local pid_a pid_b before out denied=0
	trap 'keep_logs; signal host-done' EXIT
	start_libvirtd

	# A malformed element: the hook's prepare refuses the start.
	domain_xml lv-bad 13 2 with >/tmp/lv-bad.xml
	vsh define /tmp/lv-bad.xml >/dev/null || fail "virsh define lv-bad"
	if out=$(vsh start lv-bad 2>&1); then
		fail "lv-bad, with CID 2, started: $out"
	fi
	grep -qF "virtsocket metadata: <cid> address 2 is out of range (3..2147483647)" <<<"$out" ||
		fail "lv-bad refused without the hook's message: $out"
	log "lv-bad refused: $(tr '\n' ' ' <<<"$out")"
	expect_eq "$(vsh domstate lv-bad)" "shut off" "lv-bad's state"

	wait_guest 1 guest1-up

	# A: our metadata, CID 42.
	boot_domain lv-a 11 $CID_A with
	pid_a=$(domain_pid lv-a)
	expect_eq "$(listed "$pid_a")" $CID_A "lv-a's entry on /dev/virtsocket (pid $pid_a)"
	expect_eq "$(cat "$TESTBED_OUT/guest11.cid")" $CID_A "the CID lv-a's guest registered with"
	expect_eq "$(vm_field $CID_A pid)" "$pid_a" "the VM registered as CID $CID_A"
	log "lv-a: QEMU pid $pid_a enabled by the hook, registered as CID $CID_A"
	if policy_supported; then
		# The hook applied lv-a's <virtsocket:policy> at `started`.
		expect_eq "$("$ctl_bin" ports --pid "$pid_a" | tr '\n' ';')" \
			"to-host $ALLOWED_PORT,$ALLOWED_FIRST-$ALLOWED_LAST;to-guest all;" "lv-a's port policy"
		log "lv-a's port policy, set by the hook: $("$ctl_bin" ports --pid "$pid_a" | tr '\n' ' ')"
		denied=$(sysfs policy_denied)
	fi

	# Its ports: permitted, then forbidden (host listeners on both).
	"$REPO/build/bin/virtsock-cat" -l "virt:any:$ALLOWED_PORT" </dev/null >/tmp/allowed.out &
	local l1=$!
	"$REPO/build/bin/virtsock-cat" -l "virt:any:$FORBIDDEN_PORT" </dev/null >/tmp/forbidden.out &
	local l2=$!
	wait_listening $ALLOWED_PORT
	wait_listening $FORBIDDEN_PORT
	if policy_supported; then echo yes; else echo no; fi >"$TESTBED_OUT/policy"
	signal host-listening
	wait_guest 11 guest11-talked
	wait_exit 30 "the permitted port's listener" "$l1" || fail "virtsock-cat -l on port $ALLOWED_PORT exited $?"
	expect_eq "$(cat /tmp/allowed.out)" "hello from lv-a" "what came through port $ALLOWED_PORT"
	log "port $ALLOWED_PORT (permitted): '$(cat /tmp/allowed.out)'"
	if [ "$(cat "$TESTBED_OUT/policy")" = yes ]; then
		expect_eq "$(cat /tmp/forbidden.out)" "" "what came through port $FORBIDDEN_PORT (forbidden)"
		expect_ge "$(sysfs policy_denied)" $((denied + 1)) "connects refused by the policy"
		log "port $FORBIDDEN_PORT (forbidden): $(cat "$TESTBED_OUT/guest11.forbidden"); policy_denied $denied -> $(sysfs policy_denied)"
	else
		log "SKIPPED: the forbidden port: this virtsocket-ctl has no port policy (the hook warned and served lv-a without one)"
	fi
	kill "$l2" 2>/dev/null || true
	wait "$l2" 2>/dev/null || true	# (its SIGTERM's 143 under set -e)

	# B: the same domain without our metadata: not enabled, refused.
	before=$(sysfs not_enabled)
	boot_domain lv-b 12 0 without
	pid_b=$(domain_pid lv-b)
	expect_eq "$(listed "$pid_b")" "" "lv-b's entry on /dev/virtsocket"
	expect_ge "$(sysfs not_enabled)" $((before + 1)) "HELLOs refused as not enabled"
	dmesg | grep -F "virtsocket: VM pid $pid_b not enabled on /dev/virtsocket: HELLO refused" ||
		fail "no host message for lv-b's refused HELLO"
	expect_eq "$(vm_count)" 1 "registered VMs (lv-a only)"

	# virsh destroy: the hook's release takes lv-a off the listing.
	vsh destroy lv-a >/dev/null || fail "virsh destroy lv-a"
	expect_eq "$(listed "$pid_a")" "" "lv-a's entry after virsh destroy"
	wait_until 30 "lv-a's VM to leave the host's VM listing" vm_count_is 0
	[ ! -e /run/virtsocket/libvirt/lv-a.enabled ] || fail "the hook's record of lv-a is left after its release"
	log "virsh destroy lv-a: off the listing; listing now: $("$ctl_bin" list | tr '\n' ';')"
	vsh destroy lv-b >/dev/null || fail "virsh destroy lv-b"
	# (The test bed enabled its own guest1: its entry is the one left.)
	expect_eq "$("$ctl_bin" list | awk 'NR > 1 { print $1 }')" "$(guest_qemu_pid 1)" \
		"pids listed at the end (the test bed's guest1 only)"
	signal host-checked
}

guest() {
	case "$TESTBED_GUEST" in
	1)	# The test bed's own guest: up first, idle while the domains run.
		signal guest1-up
		wait_until 1000 "the host's checks" test -e "$TESTBED_OUT/signal.host-done"
		[ -e "$TESTBED_OUT/signal.host-checked" ] || fail "the host's command ended without its checks"
		;;
	11)	# lv-a: enabled by the hook at CID 42.
		insmod "$guest_module" || fail "insmod in lv-a, which the hook enabled"
		sysfs cid >"$TESTBED_OUT/guest11.cid"
		signal guest11-ready
		wait_signal host-listening
		echo "hello from lv-a" | "$REPO/build/bin/virtsock-cat" "virt:host:$ALLOWED_PORT" ||
			fail "virtsock-cat to permitted port $ALLOWED_PORT exited $?"
		if [ "$(cat "$TESTBED_OUT/policy")" = yes ]; then
			local out
			if out=$(echo "must not arrive" | "$REPO/build/bin/virtsock-cat" "virt:host:$FORBIDDEN_PORT" 2>&1); then
				fail "virtsock-cat to forbidden port $FORBIDDEN_PORT succeeded"
			fi
			grep -q "Permission denied" <<<"$out" || fail "forbidden port $FORBIDDEN_PORT: got '$out', expected EACCES (Permission denied)"
			echo "$out" >"$TESTBED_OUT/guest11.forbidden"
		fi
		signal guest11-talked
		sleep 3600	# (until virsh destroy)
		;;
	12)	# lv-b: no metadata, not enabled.
		insmod_must_fail "$guest_module" "host has not enabled AF_VIRT for this VM"
		[ ! -e "$VIRT_SYSFS" ] || fail "AF_VIRT is there after the refusal"
		signal guest12-ready
		sleep 3600
		;;
	*) fail "no part for guest $TESTBED_GUEST" ;;
	esac
}
