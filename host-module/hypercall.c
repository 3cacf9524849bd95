// SPDX-License-Identifier: GPL-2.0
/*
 * The hypercall service: KVM calls virt_hypercall() in the vCPU thread that
 * executed VMCALL/VMMCALL with RAX = KVM_HC_MODULE.  Nothing read from the
 * guest is trusted; every failure is an errno returned to that guest only.
 */
#include <linux/slab.h>

#include "validate.h"
#include "virt_host.h"

struct virt_host_stats virt_stats;

/* The host's half of struct virt_hello starts here. */
#define VIRT_HELLO_REPLY offsetof(struct virt_hello, host_version)

/* Every page of the ring must be guest RAM (not MMIO, not outside slots). */
static int virt_ring_in_ram(struct kvm_vcpu *vcpu, u64 gpa, u32 entries)
{
	gfn_t gfn = gpa_to_gfn(gpa);
	gfn_t end = gfn + (virt_ring_bytes(entries) >> PAGE_SHIFT);

	for (; gfn < end; gfn++)
		if (!kvm_vcpu_is_visible_gfn(vcpu, gfn))
			return -ERANGE;
	return 0;
}

static long virt_hello(struct kvm_vcpu *vcpu, u64 hello_gpa)
{
	struct virt_hello hello;
	struct virt_ring_hdr hdr = {};
	struct virt_vm *vm;
	int r;

	if (!virt_vm_admitted(vcpu->kvm)) {
		pr_info_ratelimited("virtsocket: VM pid %d not enabled on %s: HELLO refused\n",
				    vcpu->kvm->userspace_pid, VIRT_CTL_DEVICE);
		return -EACCES;
	}
	if (!IS_ALIGNED(hello_gpa, VIRT_HELLO_ALIGN))
		return -EINVAL;
	if (kvm_vcpu_read_guest(vcpu, hello_gpa, &hello, sizeof(hello)))
		return -EFAULT;
	r = virt_hello_check(&hello);
	if (r)
		return r;
	r = virt_ring_in_ram(vcpu, hello.ring_gpa, hello.ring_entries);
	if (r)
		return r;
	/* The host owns tx_cons and rx_prod: start them from zero. */
	if (kvm_vcpu_write_guest(vcpu, hello.ring_gpa, &hdr, sizeof(hdr)))
		return -EFAULT;

	vm = virt_vm_get(vcpu->kvm);
	if (vm) {
		virt_vm_put(vm);
		return -EEXIST;
	}
	vm = virt_vm_alloc(vcpu->kvm, hello.ring_entries);
	if (!vm)
		return -ENOMEM;
	vm->ring_gpa = hello.ring_gpa;
	vm->apic_id = hello.apic_id;
	vm->vector = hello.vector;
	vm->features = virt_hello_features(&hello);
	atomic64_set(&vm->hypercalls, 1);
	/*
	 * Two vCPUs may race here.  Once registered, a BYE from another vCPU
	 * can unregister @vm at any moment: our own reference keeps it.
	 */
	r = virt_vm_register(vm);
	if (r)
		goto out;
	hello.host_version = VIRT_ABI_VERSION;
	hello.cid = vm->cid;
	hello.host_features = vm->features;
	if (kvm_vcpu_write_guest(vcpu, hello_gpa + VIRT_HELLO_REPLY,
				 &hello.host_version,
				 sizeof(hello) - VIRT_HELLO_REPLY)) {
		virt_vm_unregister(vm);
		r = -EFAULT;
		goto out;
	}
	/* A guest looping HELLO/BYE must not flood the host's log. */
	pr_info_ratelimited("virtsocket: VM pid %d registered as CID %u (ring 0x%llx, %u entries)\n",
			    vm->pid, vm->cid, vm->ring_gpa, vm->ring_entries);
	/* Proves the notification path to the guest right away. */
	spin_lock(&vm->lock);
	vm->notify_armed = true;
	spin_unlock(&vm->lock);
	virt_vm_kick(vm);
out:
	virt_vm_put(vm);
	return r;
}

/*
 * The guest's notification interrupt moved (its CPU went offline).  Any APIC
 * id is harmless: KVM delivers to no vCPU for one that does not exist.
 */
static long virt_notify_move(struct virt_vm *vm, unsigned long apic_id,
			     unsigned long vector)
{
	if (!(vm->features & VIRT_F_NOTIFY_MOVE))
		return -EOPNOTSUPP;
	if (apic_id > U32_MAX || vector > U32_MAX || !virt_vector_valid(vector))
		return -EINVAL;
	spin_lock(&vm->lock);
	vm->apic_id = apic_id;
	vm->vector = vector;
	spin_unlock(&vm->lock);
	return 0;
}

unsigned long virt_hypercall(struct kvm_vcpu *vcpu, unsigned long op,
			     unsigned long a1, unsigned long a2,
			     unsigned long a3)
{
	struct virt_vm *vm = NULL;
	long r;

	atomic64_inc(&virt_stats.hypercalls);
	switch (op) {
	case VIRT_HC_HELLO:
		r = virt_hello(vcpu, a1);
		break;
	case VIRT_HC_BYE:
		r = virt_vm_unregister_kvm(vcpu->kvm);
		break;
	case VIRT_HC_FLUSH:
		vm = virt_vm_get(vcpu->kvm);
		r = vm ? virt_flush(vcpu, vm, a1) : -ENOTCONN;
		break;
	case VIRT_HC_NOTIFY:
		vm = virt_vm_get(vcpu->kvm);
		r = vm ? virt_notify_move(vm, a1, a2) : -ENOTCONN;
		break;
	default:
		r = -EOPNOTSUPP;
		break;
	}
	if (op != VIRT_HC_HELLO || r) {
		if (!vm)
			vm = virt_vm_get(vcpu->kvm);
		if (vm) {
			atomic64_inc(&vm->hypercalls);
			if (r < 0)
				atomic64_inc(&vm->errors);
		}
	}
	if (vm)
		virt_vm_put(vm);
	if (r < 0)
		atomic64_inc(&virt_stats.rejected);
	return r;
}
