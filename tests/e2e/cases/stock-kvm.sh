# Without the KVM patch the guest module refuses to load with a clear
# message, and off KVM (the test host runs under TCG) it refuses too.
DESCRIPTION="guest module refuses: host without the patch, and not on KVM"
TESTBED_ARGS=(--guests 1 --stock-kvm --no-guest-module)

host() {
	[ ! -e $VIRT_SYSFS ] || fail "host module loaded in a stock-KVM run"
	if grep -qw hypervisor /proc/cpuinfo && dmesg | grep -q "Hypervisor detected: KVM"; then
		log "test host runs on KVM: skipping the not-on-KVM check"
	else
		# (Built for the test host's kernel, which may not be the guests'.)
		insmod_must_fail "$TB_HOST_GUEST_KO" "not running on KVM"
	fi
	wait_signal guest-done
}

guest() {
	insmod_must_fail "$guest_module" "the host does not service virtsocket hypercalls"
	signal guest-done
}
