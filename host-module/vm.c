// SPDX-License-Identifier: GPL-2.0
/*
 * Registry of the VMs that completed the handshake: CID assignment, lookup
 * by struct kvm, teardown when the VM dies, notification interrupts and the
 * /proc/virtsocket/vms listing.  Locking rules: virt_host.h.
 */
#include <linux/idr.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "virt_host.h"

/* Both protected by virt_vms_mutex. */
static DEFINE_HASHTABLE(virt_vms, 6);
static unsigned int virt_vms_nr;
static DEFINE_MUTEX(virt_vms_mutex);
/* CIDs of registered VMs; the IDA has its own lock. */
static DEFINE_IDA(virt_cids);

static struct proc_dir_entry *virt_proc_dir;

void virt_vms_lock(void)
{
	mutex_lock(&virt_vms_mutex);
}

void virt_vms_unlock(void)
{
	mutex_unlock(&virt_vms_mutex);
}

static void virt_vm_notify_work(struct work_struct *work)
{
	struct virt_vm *vm = container_of(work, struct virt_vm, notify_work);
	struct kvm *kvm = vm->kvm;

	if (kvm_deliver_fixed_irq(kvm, vm->apic_id, vm->vector) > 0)
		atomic64_inc(&vm->irqs);
	/* May drop the last reference and free @vm: nothing may follow. */
	kvm_put_kvm(kvm);
}

/* Caller holds a reference on vm->kvm or runs in one of its vCPUs. */
void virt_vm_notify(struct virt_vm *vm)
{
	if (!(vm->features & VIRT_F_NOTIFY_IRQ))
		return;
	kvm_get_kvm(vm->kvm);
	if (!schedule_work(&vm->notify_work))
		kvm_put_kvm(vm->kvm);
}

/* A new, unpublished virt_vm with its own CID. */
struct virt_vm *virt_vm_alloc(struct kvm *kvm)
{
	struct virt_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	int cid;

	if (!vm)
		return NULL;
	cid = ida_alloc_range(&virt_cids, VIRT_CID_GUEST_MIN, INT_MAX,
			      GFP_KERNEL);
	if (cid < 0) {
		kfree(vm);
		return NULL;
	}
	vm->cid = cid;
	vm->kvm = kvm;
	vm->pid = kvm->userspace_pid;
	INIT_WORK(&vm->notify_work, virt_vm_notify_work);
	return vm;
}

struct virt_vm *virt_vm_find(struct kvm *kvm)
{
	struct virt_vm *vm;

	lockdep_assert_held(&virt_vms_mutex);
	hash_for_each_possible(virt_vms, vm, node, (unsigned long)kvm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/* Publishes @vm; its VM must not be registered yet. */
void virt_vm_add(struct virt_vm *vm)
{
	lockdep_assert_held(&virt_vms_mutex);
	hash_add(virt_vms, &vm->node, (unsigned long)vm->kvm);
	virt_vms_nr++;
}

static struct virt_vm *virt_vm_unhash(struct kvm *kvm)
{
	struct virt_vm *vm;

	mutex_lock(&virt_vms_mutex);
	vm = virt_vm_find(kvm);
	if (vm) {
		hash_del(&vm->node);
		virt_vms_nr--;
	}
	mutex_unlock(&virt_vms_mutex);
	return vm;
}

void virt_vm_free(struct virt_vm *vm)
{
	ida_free(&virt_cids, vm->cid);
	kfree(vm);
}

/* The guest said goodbye; called in one of its vCPUs (so kvm is alive). */
int virt_vm_remove(struct kvm *kvm)
{
	struct virt_vm *vm = virt_vm_unhash(kvm);

	if (!vm)
		return -ENOENT;
	if (cancel_work_sync(&vm->notify_work))
		kvm_put_kvm(kvm);
	virt_vm_free(vm);
	return 0;
}

unsigned int virt_vm_count(void)
{
	return READ_ONCE(virt_vms_nr);
}

/*
 * The VM's last reference is gone.  No notify work is pending (it would hold
 * a reference); one may be finishing its final kvm_put_kvm(), which is what
 * got us here, and it no longer touches @vm.
 */
static int virt_vm_destroyed(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	struct virt_vm *vm = virt_vm_unhash(data);

	if (vm) {
		pr_info("virtsocket: VM with CID %u (pid %d) destroyed\n",
			vm->cid, vm->pid);
		virt_vm_free(vm);
	}
	return NOTIFY_DONE;
}

static struct notifier_block virt_vm_destroy_nb = {
	.notifier_call = virt_vm_destroyed,
};

static int virt_vms_show(struct seq_file *m, void *v)
{
	struct virt_vm *vm;
	int bkt;

	seq_puts(m, "cid pid ring_gpa ring_entries apic_id vector features hypercalls errors irqs\n");
	mutex_lock(&virt_vms_mutex);
	hash_for_each(virt_vms, bkt, vm, node)
		seq_printf(m, "%u %d 0x%llx %u %u %u 0x%llx %lld %lld %lld\n",
			   vm->cid, vm->pid, vm->ring_gpa, vm->ring_entries,
			   vm->apic_id, vm->vector, vm->features,
			   atomic64_read(&vm->hypercalls),
			   atomic64_read(&vm->errors),
			   atomic64_read(&vm->irqs));
	mutex_unlock(&virt_vms_mutex);
	return 0;
}

int virt_vms_init(void)
{
	int r;

	virt_proc_dir = proc_mkdir("virtsocket", NULL);
	if (!virt_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("vms", 0444, virt_proc_dir, virt_vms_show)) {
		remove_proc_subtree("virtsocket", NULL);
		return -ENOMEM;
	}
	r = kvm_register_destroy_vm_notifier(&virt_vm_destroy_nb);
	if (r)
		remove_proc_subtree("virtsocket", NULL);
	return r;
}

/* After the hypercall hook is gone: no new registrations can appear. */
void virt_vms_exit(void)
{
	struct virt_vm *vm;
	struct hlist_node *tmp;
	HLIST_HEAD(dead);
	int bkt;

	remove_proc_subtree("virtsocket", NULL);
	mutex_lock(&virt_vms_mutex);
	hash_for_each_safe(virt_vms, bkt, tmp, vm, node) {
		hash_del(&vm->node);
		hlist_add_head(&vm->node, &dead);
	}
	virt_vms_nr = 0;
	mutex_unlock(&virt_vms_mutex);

	/*
	 * Unhashed, so the destroy notifier no longer sees them; a pending
	 * notification holds a reference, which keeps vm->kvm valid here.
	 */
	hlist_for_each_entry_safe(vm, tmp, &dead, node) {
		if (cancel_work_sync(&vm->notify_work))
			kvm_put_kvm(vm->kvm);
		virt_vm_free(vm);
	}
	kvm_unregister_destroy_vm_notifier(&virt_vm_destroy_nb);
	ida_destroy(&virt_cids);
}
