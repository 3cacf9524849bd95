// SPDX-License-Identifier: GPL-2.0
/*
 * Access policy (UAPI, defaults and errnos: include/virtsocket/ctl.h):
 * which ports connects may reach through each enabled VM, both ways, and
 * which host users or groups may bind which host ports.
 *
 * Locking: the port sets of a policy and the bind rules are arrays never
 * changed once published; a change builds a new array and replaces the old
 * one under virt_policy_mutex (rcu_replace_pointer), which is freed after a
 * grace period.  The connect and bind paths read them under RCU only: a
 * change applies to the next connect or bind at once, and they never wait
 * for the control device.
 *
 * Bounds: per enabled VM one struct virt_policy and at most two port sets
 * of VIRT_CTL_MAX_RANGES ranges (8 bytes each); at most one array of
 * VIRT_CTL_MAX_BIND_RULES bind rules; replaced arrays until their grace
 * period ends.  Only CAP_NET_ADMIN changes them.
 */
#include <linux/cred.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/uidgid.h>

#include "virt_host.h"

struct virt_ports {
	struct rcu_head rcu;
	u32 flags;			/* VIRT_CTL_PORTS_ALL */
	u32 nr;
	struct virt_ctl_port_range r[];
};

/*
 * Shared by an entry and every virt_vm registered through it (each holds a
 * reference), so that a change reaches the registered VM at once.
 */
struct virt_policy {
	refcount_t ref;
	struct virt_ports __rcu *ports[2];	/* by VIRT_CTL_TO_*; NULL: none */
};

struct virt_bind_rule {
	u32 lo, hi;
	bool is_gid;
	kuid_t uid;
	kgid_t gid;
};

struct virt_bind_rules {
	struct rcu_head rcu;
	u32 nr;
	struct virt_bind_rule r[];
};

static DEFINE_MUTEX(virt_policy_mutex);	/* writers of the arrays below */
static struct virt_bind_rules __rcu *virt_bind_rules;
static atomic64_t virt_policy_denied = ATOMIC64_INIT(0);

struct virt_policy *virt_policy_alloc(void)
{
	struct virt_policy *pol = kzalloc(sizeof(*pol), GFP_KERNEL_ACCOUNT);

	if (pol)
		refcount_set(&pol->ref, 1);
	return pol;
}

void virt_policy_get(struct virt_policy *pol)
{
	refcount_inc(&pol->ref);
}

void virt_policy_put(struct virt_policy *pol)
{
	unsigned int i;

	if (!pol || !refcount_dec_and_test(&pol->ref))
		return;
	/* No reader left: each holds a reference through its VM. */
	for (i = 0; i < ARRAY_SIZE(pol->ports); i++)
		kfree(rcu_dereference_protected(pol->ports[i], 1));
	kfree(pol);
}

/*
 * May a connect through @vm reach @port in @dir?  0, or -EACCES (counted).
 * A VM with no policy registered without an entry (open_to_all_vms).
 */
int virt_policy_check(struct virt_vm *vm, unsigned int dir, u32 port)
{
	const struct virt_ports *p;
	bool ok;
	u32 i;

	if (!vm->policy)
		return 0;
	rcu_read_lock();
	p = rcu_dereference(vm->policy->ports[dir]);
	ok = p && (p->flags & VIRT_CTL_PORTS_ALL);
	for (i = 0; p && !ok && i < p->nr; i++)
		ok = port >= p->r[i].lo && port <= p->r[i].hi;
	rcu_read_unlock();
	if (ok)
		return 0;
	atomic64_inc(&vm->policy_denied);
	atomic64_inc(&virt_policy_denied);
	return -EACCES;
}

/* VIRT_CTL_SET_PORTS, arguments checked (ctl.c). */
int virt_policy_set(struct virt_policy *pol, unsigned int dir, u32 flags,
		    const struct virt_ctl_port_range *r, u32 nr)
{
	struct virt_ports *p, *old;

	p = kzalloc(struct_size(p, r, nr), GFP_KERNEL_ACCOUNT);
	if (!p)
		return -ENOMEM;
	p->flags = flags;
	p->nr = nr;
	memcpy(p->r, r, nr * sizeof(*r));
	mutex_lock(&virt_policy_mutex);
	old = rcu_replace_pointer(pol->ports[dir], p,
				  lockdep_is_held(&virt_policy_mutex));
	mutex_unlock(&virt_policy_mutex);
	if (old)
		kfree_rcu(old, rcu);
	return 0;
}

/*
 * VIRT_CTL_GET_PORTS: up to @room ranges into @r, the flags into *@flags.
 * Returns how many there are.
 */
u32 virt_policy_get_ports(struct virt_policy *pol, unsigned int dir,
			  u32 *flags, struct virt_ctl_port_range *r, u32 room)
{
	const struct virt_ports *p;
	u32 nr = 0;

	*flags = 0;
	mutex_lock(&virt_policy_mutex);
	p = rcu_dereference_protected(pol->ports[dir],
				      lockdep_is_held(&virt_policy_mutex));
	if (p) {
		*flags = p->flags;
		nr = p->nr;
		memcpy(r, p->r, min(nr, room) * sizeof(*r));
	}
	mutex_unlock(&virt_policy_mutex);
	return nr;
}

/*
 * May the current task bind (or listen on) host port @port?  0, or -EACCES
 * (counted if @count).  Atomic context allowed (autobind asks under a
 * spinlock).
 */
int virt_policy_bind_check(u32 port, bool count)
{
	const struct virt_bind_rules *rules;
	bool ruled = false, ok = false;
	u32 i;

	rcu_read_lock();
	rules = rcu_dereference(virt_bind_rules);
	for (i = 0; rules && !ok && i < rules->nr; i++) {
		const struct virt_bind_rule *b = &rules->r[i];

		if (port < b->lo || port > b->hi)
			continue;
		ruled = true;
		ok = b->is_gid ? in_egroup_p(b->gid) : uid_eq(current_euid(), b->uid);
	}
	rcu_read_unlock();
	if (!ruled || ok)
		return 0;
	if (count)
		atomic64_inc(&virt_policy_denied);
	return -EACCES;
}

/* The rule @a names, ids in the caller's user namespace: -EINVAL if none. */
static int virt_bind_rule_from(const struct virt_ctl_bind_rule *a,
			       struct virt_bind_rule *b)
{
	memset(b, 0, sizeof(*b));
	b->lo = a->lo;
	b->hi = a->hi;
	b->is_gid = a->kind == VIRT_CTL_BIND_GID;
	if (b->is_gid) {
		b->gid = make_kgid(current_user_ns(), a->id);
		return gid_valid(b->gid) ? 0 : -EINVAL;
	}
	b->uid = make_kuid(current_user_ns(), a->id);
	return uid_valid(b->uid) ? 0 : -EINVAL;
}

static bool virt_bind_rule_eq(const struct virt_bind_rule *x,
			      const struct virt_bind_rule *y)
{
	if (x->lo != y->lo || x->hi != y->hi || x->is_gid != y->is_gid)
		return false;
	return x->is_gid ? gid_eq(x->gid, y->gid) : uid_eq(x->uid, y->uid);
}

/* VIRT_CTL_BIND_ADD (@add) or VIRT_CTL_BIND_DEL, arguments checked. */
int virt_policy_bind_change(const struct virt_ctl_bind_rule *a, bool add)
{
	struct virt_bind_rules *old, *new = NULL;
	struct virt_bind_rule b;
	u32 i, nr, at;
	int r;

	r = virt_bind_rule_from(a, &b);
	if (r)
		return r;
	mutex_lock(&virt_policy_mutex);
	old = rcu_dereference_protected(virt_bind_rules,
					lockdep_is_held(&virt_policy_mutex));
	nr = old ? old->nr : 0;
	for (at = 0; at < nr; at++)
		if (virt_bind_rule_eq(&old->r[at], &b))
			break;
	if (add) {
		r = at < nr ? -EEXIST :
		    nr >= VIRT_CTL_MAX_BIND_RULES ? -ENOSPC : 0;
		if (r)
			goto out;
		nr++;
	} else {
		r = at == nr ? -ENOENT : 0;
		if (r)
			goto out;
		nr--;
	}
	if (nr) {
		new = kmalloc(struct_size(new, r, nr), GFP_KERNEL_ACCOUNT);
		if (!new) {
			r = -ENOMEM;
			goto out;
		}
		new->nr = 0;
		for (i = 0; old && i < old->nr; i++)
			if (add || i != at)
				new->r[new->nr++] = old->r[i];
		if (add)
			new->r[new->nr++] = b;
	}
	rcu_assign_pointer(virt_bind_rules, new);
	if (old)
		kfree_rcu(old, rcu);
out:
	mutex_unlock(&virt_policy_mutex);
	return r;
}

/* VIRT_CTL_BIND_LIST: up to @room rules into @out; how many exist. */
u32 virt_policy_bind_list(struct virt_ctl_bind_rule *out, u32 room)
{
	const struct virt_bind_rules *rules;
	u32 i, nr;

	mutex_lock(&virt_policy_mutex);
	rules = rcu_dereference_protected(virt_bind_rules,
					  lockdep_is_held(&virt_policy_mutex));
	nr = rules ? rules->nr : 0;
	for (i = 0; i < min(nr, room); i++) {
		const struct virt_bind_rule *b = &rules->r[i];

		memset(&out[i], 0, sizeof(out[i]));
		out[i].kind = b->is_gid ? VIRT_CTL_BIND_GID : VIRT_CTL_BIND_UID;
		out[i].id = b->is_gid ?
			from_kgid_munged(current_user_ns(), b->gid) :
			from_kuid_munged(current_user_ns(), b->uid);
		out[i].lo = b->lo;
		out[i].hi = b->hi;
	}
	mutex_unlock(&virt_policy_mutex);
	return nr;
}

u64 virt_policy_denied_count(void)
{
	return atomic64_read(&virt_policy_denied);
}

/* Module exit: no socket is left to bind (each pinned the module). */
void virt_policy_exit(void)
{
	kfree(rcu_dereference_protected(virt_bind_rules, 1));
	RCU_INIT_POINTER(virt_bind_rules, NULL);
}
