// SPDX-License-Identifier: GPL-2.0
/*
 * Registry of the VMs that completed the handshake: CID assignment, lookup
 * by struct kvm or CID, teardown when the VM dies, notification interrupts
 * and the /proc/virtsocket/vms listing; and the VMs the administrator
 * enabled (the control device, ctl.c).  Locking rules: virt_host.h.
 */
#include <linux/idr.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "virt_host.h"

/*
 * The registry: written under virt_vms_mutex, read under RCU (every
 * hypercall looks its VM up; a reader never waits for the listing or for
 * another VM's registration).
 */
static DEFINE_HASHTABLE(virt_vms, 6);
static DEFINE_MUTEX(virt_vms_mutex);
static unsigned int virt_vms_nr;	/* under virt_vms_mutex */
/*
 * CIDs of registered VMs, handed out cyclically from @virt_cid_next (under
 * virt_vms_mutex) so that a host peer of a VM that just left does not reach
 * the next VM; the IDA has its own lock.
 */
static DEFINE_IDA(virt_cids);
static u32 virt_cid_next = VIRT_CID_GUEST_MIN;
static atomic_t virt_cids_used = ATOMIC_INIT(0);

/*
 * The CID of a VM that said goodbye stays its own until the VM is
 * destroyed, so that a guest reloading its module keeps its address: at
 * most one per struct kvm, under virt_vms_mutex.
 */
struct virt_cid_park {
	struct hlist_node node;
	struct kvm *kvm;
	u32 cid;
};

static DEFINE_HASHTABLE(virt_parked, 6);

/*
 * VMs the administrator enabled (VIRT_CTL_ENABLE), under virt_vms_mutex.
 * An entry holds a reference on its VMM's struct pid, so a pid number
 * recycled for another process never matches it, and owns its CID in
 * virt_cids from ENABLE to its end: a VM registered through it takes that
 * CID and leaves it to the entry (virt_vm.cid_from_entry).
 */
struct virt_enabled {
	struct list_head node;
	struct pid *pid;		/* reference held */
	/*
	 * The VM that registered through it first: no reference, the destroy
	 * notifier ends the entry before KVM frees the kvm.
	 */
	struct kvm *kvm;
	struct virt_policy *policy;	/* its own reference; VMs take theirs */
	u32 cid;
	u32 flags;
};

static LIST_HEAD(virt_enabled_list);
static unsigned int virt_enabled_nr;	/* under virt_vms_mutex */
static atomic64_t virt_not_enabled = ATOMIC64_INIT(0);

static bool open_to_all_vms;
module_param(open_to_all_vms, bool, 0644);
MODULE_PARM_DESC(open_to_all_vms, "Development only: every VM gets AF_VIRT, enabled on /dev/virtsocket or not (default off)");

/* Allocated struct virt_vm, registered or not (leak checks). */
static atomic_t virt_vms_live = ATOMIC_INIT(0);

static struct proc_dir_entry *virt_proc_dir;

static void virt_vm_release(struct kref *ref)
{
	struct virt_vm *vm = container_of(ref, struct virt_vm, ref);

	WARN_ON_ONCE(!xa_empty(&vm->conns));
	xa_destroy(&vm->conns);
	virt_policy_put(vm->policy);
	kfree(vm->rx_bufs);
	kfree(vm->scratch);
	kfree(vm->small);
	kfree_rcu(vm, rcu);	/* a registry reader may still look at it */
	atomic_dec(&virt_vms_live);
}

void virt_vm_put(struct virt_vm *vm)
{
	kref_put(&vm->ref, virt_vm_release);
}

/* Raise @vm's notification vector; drops the caller's reference on @kvm. */
static void virt_vm_raise(struct virt_vm *vm, struct kvm *kvm)
{
	u32 apic_id, vector;
	int r;

	spin_lock(&vm->lock);
	apic_id = vm->apic_id;
	vector = vm->vector;
	spin_unlock(&vm->lock);
	r = kvm_deliver_fixed_irq(kvm, apic_id, vector);
	if (r > 0)
		atomic64_inc(&vm->irqs);
	else if (r < 0)	/* the guest named no vCPU of its own: never woken */
		pr_warn_ratelimited("virtsocket: CID %u: notification vector %u on APIC %u not delivered (%d)\n",
				    vm->cid, vector, apic_id, r);
	kvm_put_kvm(kvm);
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
	if (kvm)
		virt_vm_raise(vm, kvm);
}

/* A new, unregistered virt_vm (no CID yet) with the caller's reference. */
struct virt_vm *virt_vm_alloc(struct kvm *kvm, u32 ring_entries)
{
	struct virt_vm *vm = kzalloc(sizeof(*vm), GFP_KERNEL_ACCOUNT);

	if (!vm)
		return NULL;
	vm->rx_bufs = kcalloc(VIRT_MAX_RX_BUFS, sizeof(*vm->rx_bufs),
			      GFP_KERNEL_ACCOUNT);
	vm->scratch = kcalloc(ring_entries, sizeof(*vm->scratch),
			      GFP_KERNEL_ACCOUNT);
	vm->small = kmalloc(VIRT_SMALL_SEND, GFP_KERNEL_ACCOUNT);
	if (!vm->rx_bufs || !vm->scratch || !vm->small) {
		kfree(vm->rx_bufs);
		kfree(vm->scratch);
		kfree(vm->small);
		kfree(vm);
		return NULL;
	}
	atomic_inc(&virt_vms_live);
	kref_init(&vm->ref);
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

static struct virt_cid_park *virt_cid_parked(struct kvm *kvm)
{
	struct virt_cid_park *p;

	lockdep_assert_held(&virt_vms_mutex);
	hash_for_each_possible(virt_parked, p, node, (unsigned long)kvm)
		if (p->kvm == kvm)
			return p;
	return NULL;
}

static void virt_cid_free(u32 cid)
{
	ida_free(&virt_cids, cid);
	atomic_dec(&virt_cids_used);
}

/* The next free CID, cyclically. */
static int virt_cid_alloc_next(void)
{
	int cid;

	lockdep_assert_held(&virt_vms_mutex);
	cid = ida_alloc_range(&virt_cids, virt_cid_next, VIRT_CID_GUEST_MAX,
			      GFP_KERNEL);
	if (cid == -ENOSPC && virt_cid_next > VIRT_CID_GUEST_MIN)
		cid = ida_alloc_range(&virt_cids, VIRT_CID_GUEST_MIN,
				      VIRT_CID_GUEST_MAX, GFP_KERNEL);
	if (cid < 0)
		return cid;
	virt_cid_next = cid < VIRT_CID_GUEST_MAX ? cid + 1 : VIRT_CID_GUEST_MIN;
	atomic_inc(&virt_cids_used);
	return cid;
}

/* @kvm's parked CID, or the next free one. */
static int virt_cid_alloc(struct kvm *kvm)
{
	struct virt_cid_park *p = virt_cid_parked(kvm);
	int cid;

	if (p) {
		cid = p->cid;
		hash_del(&p->node);
		kfree(p);
		return cid;
	}
	return virt_cid_alloc_next();
}

/* Exactly @cid: -EADDRINUSE if a VM or an entry holds it. */
static int virt_cid_take(u32 cid)
{
	int r;

	lockdep_assert_held(&virt_vms_mutex);
	r = ida_alloc_range(&virt_cids, cid, cid, GFP_KERNEL);
	if (r == -ENOSPC)
		return -EADDRINUSE;
	if (r < 0)
		return r;
	atomic_inc(&virt_cids_used);
	return r;
}

/*
 * The entry @kvm registers through: the one it registered through before,
 * else one waiting for its VMM.  Called in a vCPU thread of @kvm: the VMM
 * is the process that created the VM (KVM records its pid number at
 * KVM_CREATE_VM, global namespace) and whose thread makes this hypercall;
 * the second makes a recycled number harmless.
 */
static struct virt_enabled *virt_enabled_match(struct kvm *kvm)
{
	struct pid *tgid = task_tgid(current);
	struct virt_enabled *e;

	lockdep_assert_held(&virt_vms_mutex);
	list_for_each_entry(e, &virt_enabled_list, node)
		if (e->kvm == kvm)
			return e;
	list_for_each_entry(e, &virt_enabled_list, node)
		if (!e->kvm && e->pid == tgid && kvm->userspace_pid &&
		    pid_nr(e->pid) == kvm->userspace_pid)
			return e;
	return NULL;
}

/* Keeps @cid for @kvm's next registration (freed if it has one kept). */
static void virt_cid_park(struct kvm *kvm, u32 cid)
{
	struct virt_cid_park *p = kmalloc(sizeof(*p), GFP_KERNEL_ACCOUNT);

	mutex_lock(&virt_vms_mutex);
	if (p && !virt_cid_parked(kvm)) {
		p->kvm = kvm;
		p->cid = cid;
		hash_add(virt_parked, &p->node, (unsigned long)kvm);
		p = NULL;
	} else {
		virt_cid_free(cid);
	}
	mutex_unlock(&virt_vms_mutex);
	kfree(p);
}

/* @kvm is gone: its kept CID is free. */
static void virt_cid_unpark(struct kvm *kvm)
{
	struct virt_cid_park *p;

	mutex_lock(&virt_vms_mutex);
	p = virt_cid_parked(kvm);
	if (p) {
		hash_del(&p->node);
		virt_cid_free(p->cid);
	}
	mutex_unlock(&virt_vms_mutex);
	kfree(p);
}

/*
 * May @kvm's guest register?  Asked first in its HELLO, before the host
 * writes to its memory or allocates anything for it.  In a vCPU thread of
 * @kvm; a refusal is counted.
 */
bool virt_vm_admitted(struct kvm *kvm)
{
	bool ok;

	mutex_lock(&virt_vms_mutex);
	ok = READ_ONCE(open_to_all_vms) || virt_enabled_match(kvm);
	mutex_unlock(&virt_vms_mutex);
	if (!ok)
		atomic64_inc(&virt_not_enabled);
	return ok;
}

/*
 * Gives @vm a CID and publishes it; the registry takes a reference of its
 * own, the caller keeps its one.  In a vCPU thread of @vm's VM.  -EEXIST if
 * @vm's VM has one already, -EACCES if the administrator did not enable it
 * (and open_to_all_vms is off).
 */
int virt_vm_register(struct virt_vm *vm)
{
	struct virt_enabled *e;
	int cid;

	mutex_lock(&virt_vms_mutex);
	if (virt_vm_find(vm->kvm)) {
		mutex_unlock(&virt_vms_mutex);
		return -EEXIST;
	}
	e = virt_enabled_match(vm->kvm);
	if (e) {
		e->kvm = vm->kvm;
		cid = e->cid;
		vm->cid_from_entry = true;
		virt_policy_get(e->policy);
		vm->policy = e->policy;
	} else if (READ_ONCE(open_to_all_vms)) {
		cid = virt_cid_alloc(vm->kvm);
	} else {
		cid = -EACCES;	/* disabled since virt_vm_admitted() */
	}
	if (cid < 0) {
		mutex_unlock(&virt_vms_mutex);
		return cid;
	}
	vm->cid = cid;
	kref_get(&vm->ref);
	hash_add_rcu(virt_vms, &vm->node, (unsigned long)vm->kvm);
	virt_vms_nr++;
	mutex_unlock(&virt_vms_mutex);
	return 0;
}

/* The registered virt_vm of @kvm, with a reference, or NULL. */
struct virt_vm *virt_vm_get(struct kvm *kvm)
{
	struct virt_vm *vm;

	rcu_read_lock();
	hash_for_each_possible_rcu(virt_vms, vm, node, (unsigned long)kvm) {
		/* Zero: unregistered, its last user is letting go. */
		if (vm->kvm == kvm && kref_get_unless_zero(&vm->ref))
			goto out;
	}
	vm = NULL;
out:
	rcu_read_unlock();
	return vm;
}

struct virt_vm *virt_vm_get_by_cid(u32 cid)
{
	struct virt_vm *vm;
	int bkt;

	rcu_read_lock();
	hash_for_each_rcu(virt_vms, bkt, vm, node) {
		if (vm->cid == cid && kref_get_unless_zero(&vm->ref))
			goto out;
	}
	vm = NULL;
out:
	rcu_read_unlock();
	return vm;
}

/*
 * Ends @vm's registration: no new work, every connection reset with @err
 * (its host sockets see it).  Its CID is kept for the VM (@park: it lives
 * on and may register again) or free for the next VM.
 */
static void virt_vm_finish(struct virt_vm *vm, int err, bool park)
{
	spin_lock(&vm->lock);
	vm->dead = true;
	spin_unlock(&vm->lock);
	virt_conn_kill_all(vm, err);
	/* An entry's CID is freed when the entry ends, not here. */
	if (!vm->cid_from_entry) {
		if (park)
			virt_cid_park(vm->kvm, vm->cid);
		else
			virt_cid_free(vm->cid);
	}
	virt_vm_put(vm);	/* the registry's reference */
}

static void virt_vm_unhash_locked(struct virt_vm *vm)
{
	lockdep_assert_held(&virt_vms_mutex);
	hash_del_rcu(&vm->node);
	virt_vms_nr--;
}

static struct virt_vm *virt_vm_unhash(struct kvm *kvm)
{
	struct virt_vm *vm;

	mutex_lock(&virt_vms_mutex);
	vm = virt_vm_find(kvm);
	if (vm)
		virt_vm_unhash_locked(vm);
	mutex_unlock(&virt_vms_mutex);
	return vm;
}

/*
 * Undoes virt_vm_register() of @vm itself, unless a BYE or the VM's death
 * got there first (then not a later registration of the same VM).
 */
void virt_vm_unregister(struct virt_vm *vm)
{
	bool hashed;

	mutex_lock(&virt_vms_mutex);
	hashed = !hlist_unhashed(&vm->node);
	if (hashed)
		virt_vm_unhash_locked(vm);
	mutex_unlock(&virt_vms_mutex);
	if (hashed)
		virt_vm_finish(vm, -ECONNRESET, true);
}

/* The guest said goodbye; called in one of its vCPUs. */
int virt_vm_unregister_kvm(struct kvm *kvm)
{
	struct virt_vm *vm = virt_vm_unhash(kvm);

	if (!vm)
		return -ENOENT;
	virt_vm_finish(vm, -ECONNRESET, true);
	return 0;
}

unsigned int virt_vm_count(void)
{
	return READ_ONCE(virt_vms_nr);
}

unsigned int virt_vm_live(void)
{
	return atomic_read(&virt_vms_live);
}

unsigned int virt_cid_count(void)
{
	return atomic_read(&virt_cids_used);
}

unsigned int virt_enabled_count(void)
{
	return READ_ONCE(virt_enabled_nr);
}

u64 virt_not_enabled_count(void)
{
	return atomic64_read(&virt_not_enabled);
}

bool virt_open_to_all(void)
{
	return READ_ONCE(open_to_all_vms);
}

/*
 * What ending an entry leaves to do once virt_vms_mutex is dropped: the VM
 * registered through it to finish (and its guest to interrupt, so that its
 * next flush finds itself unregistered), then the entry and its CID to free.
 */
struct virt_enabled_end {
	struct virt_enabled *e;
	struct virt_vm *vm;
	struct kvm *kvm;	/* a reference, to interrupt @vm's guest */
};

static void virt_enabled_end_locked(struct virt_enabled *e,
				    struct virt_enabled_end *end)
{
	lockdep_assert_held(&virt_vms_mutex);
	list_del(&e->node);
	virt_enabled_nr--;
	end->e = e;
	end->kvm = NULL;
	end->vm = e->kvm ? virt_vm_find(e->kvm) : NULL;
	if (!end->vm)
		return;
	spin_lock(&end->vm->lock);
	if ((end->vm->features & VIRT_F_NOTIFY_IRQ) && !end->vm->dead &&
	    kvm_get_kvm_safe(end->vm->kvm))
		end->kvm = end->vm->kvm;
	spin_unlock(&end->vm->lock);
	virt_vm_unhash_locked(end->vm);
}

/* Not under virt_vms_mutex (the last kvm put may run the destroy notifier). */
static void virt_enabled_end_finish(struct virt_enabled_end *end)
{
	if (end->vm) {
		/* The registry's reference keeps the VM until it is finished. */
		if (end->kvm)
			virt_vm_raise(end->vm, end->kvm);
		virt_vm_finish(end->vm, -ECONNRESET, false);
	}
	virt_cid_free(end->e->cid);
	put_pid(end->e->pid);
	virt_policy_put(end->e->policy);
	kfree(end->e);
}

/*
 * Ends the entries whose VMM process has exited: they could match no VM
 * (a new process of the same number has another struct pid) but would
 * hold their CID and a place in the table.
 */
static void virt_enabled_prune(void)
{
	for (;;) {
		struct virt_enabled_end end = {};
		struct virt_enabled *e;

		mutex_lock(&virt_vms_mutex);
		list_for_each_entry(e, &virt_enabled_list, node) {
			if (!pid_has_task(e->pid, PIDTYPE_TGID)) {
				virt_enabled_end_locked(e, &end);
				break;
			}
		}
		mutex_unlock(&virt_vms_mutex);
		if (!end.e)
			return;
		virt_enabled_end_finish(&end);
	}
}

/* VIRT_CTL_ENABLE; @cid is 0 or in range (ctl.c).  The CID or -errno. */
int virt_vm_enable(pid_t nr, u32 cid, u32 flags)
{
	struct virt_enabled *e, *other;
	struct pid *pid;
	int r;

	pid = find_get_pid(nr);		/* in the caller's namespace */
	if (!pid)
		return -ESRCH;
	/* A VMM is a process: its thread-group id, with a live leader. */
	if (!pid_has_task(pid, PIDTYPE_TGID)) {
		put_pid(pid);
		return -ESRCH;
	}
	e = kzalloc(sizeof(*e), GFP_KERNEL_ACCOUNT);
	if (e)
		e->policy = virt_policy_alloc();	/* denies both ways */
	if (!e || !e->policy) {
		kfree(e);
		put_pid(pid);
		return -ENOMEM;
	}
	virt_enabled_prune();
	mutex_lock(&virt_vms_mutex);
	r = -ENOSPC;
	if (virt_enabled_nr >= VIRT_CTL_MAX_ENTRIES)
		goto out;
	r = -EEXIST;
	list_for_each_entry(other, &virt_enabled_list, node)
		if (other->pid == pid)
			goto out;
	r = cid ? virt_cid_take(cid) : virt_cid_alloc_next();
	if (r < 0)
		goto out;
	e->cid = r;
	e->flags = flags;
	e->pid = pid;
	list_add_tail(&e->node, &virt_enabled_list);
	virt_enabled_nr++;
	mutex_unlock(&virt_vms_mutex);
	pr_info("virtsocket: VMM pid %d enabled with CID %u\n", pid_nr(pid),
		e->cid);
	return e->cid;

out:
	mutex_unlock(&virt_vms_mutex);
	put_pid(pid);
	virt_policy_put(e->policy);
	kfree(e);
	return r;
}

/* The policy of @nr's entry (caller's namespace), with a reference, or NULL. */
struct virt_policy *virt_vm_policy(pid_t nr)
{
	struct virt_policy *pol = NULL;
	struct virt_enabled *e;

	virt_enabled_prune();
	mutex_lock(&virt_vms_mutex);
	list_for_each_entry(e, &virt_enabled_list, node) {
		if (pid_vnr(e->pid) == nr) {
			pol = e->policy;
			virt_policy_get(pol);
			break;
		}
	}
	mutex_unlock(&virt_vms_mutex);
	return pol;
}

/* VIRT_CTL_DISABLE: @nr in the caller's namespace. */
int virt_vm_disable(pid_t nr)
{
	struct virt_enabled_end end = {};
	struct virt_enabled *e;

	virt_enabled_prune();
	mutex_lock(&virt_vms_mutex);
	list_for_each_entry(e, &virt_enabled_list, node) {
		if (pid_vnr(e->pid) == nr) {
			virt_enabled_end_locked(e, &end);
			break;
		}
	}
	mutex_unlock(&virt_vms_mutex);
	if (!end.e)
		return -ENOENT;
	pr_info("virtsocket: VMM pid %d disabled (CID %u%s)\n",
		pid_nr(end.e->pid), end.e->cid,
		end.vm ? ", its VM unregistered" : "");
	virt_enabled_end_finish(&end);
	return 0;
}

/*
 * VIRT_CTL_LIST: up to @room entries into @out, pids in the caller's
 * namespace.  Returns how many exist.
 */
unsigned int virt_vm_list(struct virt_ctl_entry *out, unsigned int room)
{
	struct virt_enabled *e;
	unsigned int n = 0;

	virt_enabled_prune();
	mutex_lock(&virt_vms_mutex);
	list_for_each_entry(e, &virt_enabled_list, node) {
		if (n < room) {
			struct virt_ctl_entry *o = &out[n];

			memset(o, 0, sizeof(*o));
			o->pid = pid_vnr(e->pid);
			o->cid = e->cid;
			o->flags = e->flags;
			if (!e->kvm)
				o->state = VIRT_CTL_STATE_WAITING;
			else if (virt_vm_find(e->kvm))
				o->state = VIRT_CTL_STATE_REGISTERED;
			else
				o->state = VIRT_CTL_STATE_BOUND;
		}
		n++;
	}
	mutex_unlock(&virt_vms_mutex);
	return n;
}

/* @kvm is gone: the entry it registered through ends with it. */
static void virt_enabled_destroyed(struct kvm *kvm)
{
	struct virt_enabled_end end = {};
	struct virt_enabled *e;

	mutex_lock(&virt_vms_mutex);
	list_for_each_entry(e, &virt_enabled_list, node) {
		if (e->kvm == kvm) {
			virt_enabled_end_locked(e, &end);
			break;
		}
	}
	mutex_unlock(&virt_vms_mutex);
	if (!end.e)
		return;
	/* Its VM was unhashed before: nothing to finish here. */
	WARN_ON_ONCE(end.vm);
	pr_info("virtsocket: VMM pid %d: its VM is gone, so is its entry (CID %u)\n",
		pid_nr(end.e->pid), end.e->cid);
	virt_enabled_end_finish(&end);
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
		virt_vm_finish(vm, -ECONNRESET, false);
	}
	virt_cid_unpark(data);
	virt_enabled_destroyed(data);
	return NOTIFY_DONE;
}

static struct notifier_block virt_vm_destroy_nb = {
	.notifier_call = virt_vm_destroyed,
};

static int virt_vms_show(struct seq_file *m, void *v)
{
	struct virt_vm *vm;
	int bkt;

	seq_puts(m, "cid pid ring_gpa ring_entries apic_id vector features hypercalls errors irqs flushes tx_descs rx_descs bad_descs tx_bytes rx_bytes buffer_stalls conns stale_descs policy_denied\n");
	mutex_lock(&virt_vms_mutex);
	hash_for_each(virt_vms, bkt, vm, node) {
		unsigned long id, conns = 0;
		void *entry;

		xa_for_each(&vm->conns, id, entry)
			conns++;
		seq_printf(m, "%u %d 0x%llx %u %u %u 0x%llx %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld %lu %lld %lld\n",
			   vm->cid, vm->pid, vm->ring_gpa, vm->ring_entries,
			   READ_ONCE(vm->apic_id), READ_ONCE(vm->vector),
			   vm->features,
			   atomic64_read(&vm->hypercalls),
			   atomic64_read(&vm->errors),
			   atomic64_read(&vm->irqs),
			   atomic64_read(&vm->flushes),
			   atomic64_read(&vm->tx_descs),
			   atomic64_read(&vm->rx_descs),
			   atomic64_read(&vm->bad_descs),
			   atomic64_read(&vm->tx_bytes),
			   atomic64_read(&vm->rx_bytes),
			   atomic64_read(&vm->buffer_stalls), conns,
			   atomic64_read(&vm->stale_descs),
			   atomic64_read(&vm->policy_denied));
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
	/* Ring addresses and VMM pids: root's business only. */
	if (!proc_create_single("vms", 0400, virt_proc_dir, virt_vms_show))
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
	int bkt;

	remove_proc_subtree("virtsocket", NULL);
	/*
	 * One VM at a time, from the start of the table each time: the mutex
	 * is dropped to finish it, and a VM dying meanwhile unhashes its own.
	 * Each guest is interrupted, asked or not: its next flush finds no
	 * host (the hook is gone) and it starts probing to register again.
	 * Its kvm is pinned while the VM is still hashed, as the destroy
	 * notifier cannot unhash it (before KVM frees the kvm) without the
	 * mutex; the interrupt and the put wait until the mutex is dropped,
	 * as the last put runs that notifier.
	 */
	for (;;) {
		struct virt_vm *found = NULL;
		struct kvm *kvm = NULL;

		mutex_lock(&virt_vms_mutex);
		for (bkt = 0; !found && bkt < HASH_SIZE(virt_vms); bkt++)
			found = hlist_entry_safe(virt_vms[bkt].first,
						 struct virt_vm, node);
		if (found) {
			spin_lock(&found->lock);
			if ((found->features & VIRT_F_NOTIFY_IRQ) && !found->dead &&
			    kvm_get_kvm_safe(found->kvm))
				kvm = found->kvm;
			spin_unlock(&found->lock);
			virt_vm_unhash_locked(found);
		}
		mutex_unlock(&virt_vms_mutex);
		if (!found)
			break;
		/* The registry's reference keeps @found until it is finished. */
		if (kvm)
			virt_vm_raise(found, kvm);
		virt_vm_finish(found, -ECONNRESET, false);
	}
	kvm_unregister_destroy_vm_notifier(&virt_vm_destroy_nb);
	for (;;) {
		struct virt_cid_park *p = NULL;

		mutex_lock(&virt_vms_mutex);
		for (bkt = 0; !p && bkt < HASH_SIZE(virt_parked); bkt++)
			p = hlist_entry_safe(virt_parked[bkt].first,
					     struct virt_cid_park, node);
		if (p) {
			hash_del(&p->node);
			virt_cid_free(p->cid);
		}
		mutex_unlock(&virt_vms_mutex);
		if (!p)
			break;
		kfree(p);
	}
	/* Every entry's VM is finished: only the entries are left. */
	for (;;) {
		struct virt_enabled_end end = {};

		mutex_lock(&virt_vms_mutex);
		if (!list_empty(&virt_enabled_list))
			virt_enabled_end_locked(list_first_entry(&virt_enabled_list,
								 struct virt_enabled,
								 node), &end);
		mutex_unlock(&virt_vms_mutex);
		if (!end.e)
			break;
		virt_enabled_end_finish(&end);
	}
	/* kfree_rcu() of the last VMs before the module's text goes. */
	rcu_barrier();
	ida_destroy(&virt_cids);
}
