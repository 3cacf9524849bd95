// SPDX-License-Identifier: GPL-2.0
/*
 * Registry of the VMs that completed the handshake: CID assignment, lookup
 * by struct kvm or CID, teardown when the VM dies, notification interrupts
 * and the /proc/virtsocket/vms listing.  Locking rules: virt_host.h.
 */
#include <linux/idr.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "virt_host.h"

/* Both under virt_vms_mutex. */
static DEFINE_HASHTABLE(virt_vms, 6);
static unsigned int virt_vms_nr;
static DEFINE_MUTEX(virt_vms_mutex);
/* CIDs of registered VMs; the IDA has its own lock. */
static DEFINE_IDA(virt_cids);

static struct proc_dir_entry *virt_proc_dir;

static void virt_vm_release(struct kref *ref)
{
	struct virt_vm *vm = container_of(ref, struct virt_vm, ref);

	WARN_ON_ONCE(!xa_empty(&vm->conns));
	xa_destroy(&vm->conns);
	kfree(vm->rx_bufs);
	kfree(vm->scratch);
	kfree(vm);
}

void virt_vm_put(struct virt_vm *vm)
{
	kref_put(&vm->ref, virt_vm_release);
}

/*
 * The host has new work for @vm: interrupt the guest if it asked for that
 * in its last flush (once per flush, event-index style).  Process context,
 * not the guest's vCPU: the reference taken under vm->lock keeps the kvm
 * alive across the delivery.
 */
void virt_vm_kick(struct virt_vm *vm)
{
	struct kvm *kvm = NULL;

	if (!(vm->features & VIRT_F_NOTIFY_IRQ))
		return;
	spin_lock(&vm->lock);
	if (!vm->dead && vm->notify_armed && kvm_get_kvm_safe(vm->kvm)) {
		vm->notify_armed = false;
		kvm = vm->kvm;
	}
	spin_unlock(&vm->lock);
	if (!kvm)
		return;
	if (kvm_deliver_fixed_irq(kvm, vm->apic_id, vm->vector) > 0)
		atomic64_inc(&vm->irqs);
	kvm_put_kvm(kvm);
}

/* A new, unregistered virt_vm with its own CID and one reference. */
struct virt_vm *virt_vm_alloc(struct kvm *kvm, u32 ring_entries)
{
	struct virt_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);
	int cid;

	if (!vm)
		return NULL;
	vm->rx_bufs = kcalloc(VIRT_MAX_RX_BUFS, sizeof(*vm->rx_bufs),
			      GFP_KERNEL_ACCOUNT);
	vm->scratch = kcalloc(ring_entries, sizeof(*vm->scratch),
			      GFP_KERNEL_ACCOUNT);
	cid = ida_alloc_range(&virt_cids, VIRT_CID_GUEST_MIN, INT_MAX, GFP_KERNEL);
	if (!vm->rx_bufs || !vm->scratch || cid < 0) {
		if (cid >= 0)
			ida_free(&virt_cids, cid);
		kfree(vm->rx_bufs);
		kfree(vm->scratch);
		kfree(vm);
		return NULL;
	}
	kref_init(&vm->ref);
	vm->cid = cid;
	vm->kvm = kvm;
	vm->pid = kvm->userspace_pid;
	vm->ring_entries = ring_entries;
	mutex_init(&vm->flush_mutex);
	spin_lock_init(&vm->lock);
	xa_init_flags(&vm->conns, XA_FLAGS_ALLOC);
	INIT_LIST_HEAD(&vm->pending);
	vm->next_host_conn = VIRT_CONN_HOST_BASE;
	return vm;
}

static struct virt_vm *virt_vm_find(struct kvm *kvm)
{
	struct virt_vm *vm;

	lockdep_assert_held(&virt_vms_mutex);
	hash_for_each_possible(virt_vms, vm, node, (unsigned long)kvm)
		if (vm->kvm == kvm)
			return vm;
	return NULL;
}

/* Publishes @vm (taking over its reference); -EEXIST if its VM has one. */
int virt_vm_register(struct virt_vm *vm)
{
	int err = 0;

	mutex_lock(&virt_vms_mutex);
	if (virt_vm_find(vm->kvm)) {
		err = -EEXIST;
	} else {
		hash_add(virt_vms, &vm->node, (unsigned long)vm->kvm);
		virt_vms_nr++;
	}
	mutex_unlock(&virt_vms_mutex);
	return err;
}

/* The registered virt_vm of @kvm, with a reference, or NULL. */
struct virt_vm *virt_vm_get(struct kvm *kvm)
{
	struct virt_vm *vm;

	mutex_lock(&virt_vms_mutex);
	vm = virt_vm_find(kvm);
	if (vm)
		kref_get(&vm->ref);
	mutex_unlock(&virt_vms_mutex);
	return vm;
}

struct virt_vm *virt_vm_get_by_cid(u32 cid)
{
	struct virt_vm *vm;
	int bkt;

	mutex_lock(&virt_vms_mutex);
	hash_for_each(virt_vms, bkt, vm, node) {
		if (vm->cid == cid) {
			kref_get(&vm->ref);
			goto out;
		}
	}
	vm = NULL;
out:
	mutex_unlock(&virt_vms_mutex);
	return vm;
}

/*
 * Ends @vm's registration: no new work, every connection reset with @err
 * (its host sockets see it), its CID free for the next VM.
 */
static void virt_vm_finish(struct virt_vm *vm, int err)
{
	spin_lock(&vm->lock);
	vm->dead = true;
	spin_unlock(&vm->lock);
	virt_conn_kill_all(vm, err);
	ida_free(&virt_cids, vm->cid);
	virt_vm_put(vm);	/* the registry's reference */
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

/* The guest said goodbye; called in one of its vCPUs. */
int virt_vm_unregister_kvm(struct kvm *kvm)
{
	struct virt_vm *vm = virt_vm_unhash(kvm);

	if (!vm)
		return -ENOENT;
	virt_vm_finish(vm, -ECONNRESET);
	return 0;
}

unsigned int virt_vm_count(void)
{
	return READ_ONCE(virt_vms_nr);
}

/*
 * The VM's last reference is gone; @dead set under vm->lock keeps everyone
 * else away from the struct kvm KVM frees after this returns.
 */
static int virt_vm_destroyed(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	struct virt_vm *vm = virt_vm_unhash(data);

	if (vm) {
		pr_info("virtsocket: VM with CID %u (pid %d) destroyed\n",
			vm->cid, vm->pid);
		virt_vm_finish(vm, -ECONNRESET);
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

	seq_puts(m, "cid pid ring_gpa ring_entries apic_id vector features hypercalls errors irqs flushes tx_descs rx_descs bad_descs tx_bytes rx_bytes buffer_stalls conns\n");
	mutex_lock(&virt_vms_mutex);
	hash_for_each(virt_vms, bkt, vm, node) {
		unsigned long id, conns = 0;
		void *entry;

		xa_for_each(&vm->conns, id, entry)
			conns++;
		seq_printf(m, "%u %d 0x%llx %u %u %u 0x%llx %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lu\n",
			   vm->cid, vm->pid, vm->ring_gpa, vm->ring_entries,
			   vm->apic_id, vm->vector, vm->features,
			   atomic64_read(&vm->hypercalls),
			   atomic64_read(&vm->errors),
			   atomic64_read(&vm->irqs),
			   atomic64_read(&vm->flushes),
			   atomic64_read(&vm->tx_descs),
			   atomic64_read(&vm->rx_descs),
			   atomic64_read(&vm->bad_descs),
			   atomic64_read(&vm->tx_bytes),
			   atomic64_read(&vm->rx_bytes),
			   atomic64_read(&vm->buffer_stalls), conns);
	}
	mutex_unlock(&virt_vms_mutex);
	return 0;
}

int virt_vms_init(void)
{
	int r = -ENOMEM;

	virt_proc_dir = proc_mkdir("virtsocket", NULL);
	if (!virt_proc_dir)
		return -ENOMEM;
	if (!proc_create_single("vms", 0444, virt_proc_dir, virt_vms_show))
		goto err_proc;
	r = kvm_register_destroy_vm_notifier(&virt_vm_destroy_nb);
	if (r)
		goto err_proc;
	return 0;

err_proc:
	remove_proc_subtree("virtsocket", NULL);
	return r;
}

/* After the hypercall hook is gone: no new registrations can appear. */
void virt_vms_exit(void)
{
	struct virt_vm *vm;
	struct hlist_node *tmp;
	int bkt;

	remove_proc_subtree("virtsocket", NULL);
	mutex_lock(&virt_vms_mutex);
	hash_for_each_safe(virt_vms, bkt, tmp, vm, node) {
		hash_del(&vm->node);
		virt_vms_nr--;
		mutex_unlock(&virt_vms_mutex);
		virt_vm_finish(vm, -ECONNRESET);
		mutex_lock(&virt_vms_mutex);
	}
	mutex_unlock(&virt_vms_mutex);
	kvm_unregister_destroy_vm_notifier(&virt_vm_destroy_nb);
	ida_destroy(&virt_cids);
}
