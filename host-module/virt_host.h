/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtsocket host module: internal interfaces.
 *
 * Implementation notes
 *
 * - One struct virt_vm per VM that completed the handshake.  It is keyed by
 *   its struct kvm but holds no reference on it: the VM's lifetime is
 *   followed with KVM's destroy notifier, which unhashes and frees the
 *   virt_vm.  Everything that needs the kvm outside the VM's own vCPU
 *   threads takes a reference with kvm_get_kvm_safe() under virt_vms_lock.
 * - virt_vms_lock (a mutex: every path that takes it may sleep) protects the
 *   hash table and each virt_vm's membership in it.  Counters are atomic and
 *   read without it.
 * - The notify work of a virt_vm holds a kvm reference while queued, so a VM
 *   with pending notifications cannot be destroyed under it.
 */
#ifndef _VIRT_HOST_H
#define _VIRT_HOST_H

#include <linux/kvm_host.h>
#include <linux/hashtable.h>
#include <linux/workqueue.h>
#include <virtsocket/abi.h>

struct virt_vm {
	struct hlist_node node;		/* in virt_vms, under virt_vms_lock */
	struct kvm *kvm;		/* not a reference: see notes above */
	u32 cid;
	pid_t pid;			/* the VMM's process */
	/* Set by the handshake, constant afterwards. */
	u64 ring_gpa;
	u32 ring_entries;
	u32 apic_id;
	u32 vector;
	u64 features;
	struct work_struct notify_work;
	atomic64_t hypercalls;
	atomic64_t errors;		/* hypercalls answered with an error */
	atomic64_t irqs;		/* interrupts injected */
};

/* Global counters, including hypercalls from VMs that never registered. */
struct virt_host_stats {
	atomic64_t hypercalls;
	atomic64_t rejected;
};

extern struct virt_host_stats virt_stats;

/* vm.c */
int virt_vms_init(void);
void virt_vms_exit(void);
struct virt_vm *virt_vm_alloc(struct kvm *kvm);
void virt_vm_add(struct virt_vm *vm);
int virt_vm_remove(struct kvm *kvm);
struct virt_vm *virt_vm_find(struct kvm *kvm);
void virt_vm_notify(struct virt_vm *vm);
void virt_vm_free(struct virt_vm *vm);
unsigned int virt_vm_count(void);
void virt_vms_lock(void);
void virt_vms_unlock(void);

/* hypercall.c */
unsigned long virt_hypercall(struct kvm_vcpu *vcpu, unsigned long op,
			     unsigned long a1, unsigned long a2,
			     unsigned long a3);

#endif
