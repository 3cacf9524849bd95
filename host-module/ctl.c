// SPDX-License-Identifier: GPL-2.0
/*
 * The control device, /dev/virtsocket: the host's administrator enables
 * VMs by their VMM's pid (UAPI and errnos: include/virtsocket/ctl.h).  Only
 * the copying and checking of the ioctl arguments live here; the entries
 * are vm.c's, under virt_vms_mutex with the registry they gate, the access
 * policy is policy.c's.
 */
#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "virt_host.h"

static bool virt_ctl_zero(const u64 *r, size_t n)
{
	while (n--)
		if (*r++)
			return false;
	return true;
}

static long virt_ctl_enable(void __user *uarg)
{
	struct virt_ctl_enable a;
	int r;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	/* No flag is defined yet: refusing them keeps them for later. */
	if (a.version != VIRT_CTL_VERSION || a.flags ||
	    !virt_ctl_zero(a.reserved, ARRAY_SIZE(a.reserved)) || a.pid <= 0)
		return -EINVAL;
	if (a.cid && (a.cid < VIRT_CID_GUEST_MIN || a.cid > VIRT_CTL_CID_MAX))
		return -EINVAL;
	r = virt_vm_enable(a.pid, a.cid, a.flags);
	if (r < 0)
		return r;
	a.cid = r;
	/* The entry stands: the caller learns its CID from the listing too. */
	if (copy_to_user(uarg, &a, sizeof(a)))
		return -EFAULT;
	return 0;
}

static long virt_ctl_disable(void __user *uarg)
{
	struct virt_ctl_disable a;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.version != VIRT_CTL_VERSION ||
	    !virt_ctl_zero(a.reserved, ARRAY_SIZE(a.reserved)) || a.pid <= 0)
		return -EINVAL;
	return virt_vm_disable(a.pid);
}

/*
 * The LIST calls (struct virt_ctl_list and struct virt_ctl_bind_list share
 * one layout): up to @max items of @size bytes, which @fill writes into a
 * kernel buffer, copied out after its locks are dropped (no fault under
 * them); the buffer stays bounded by @max whatever the caller asks.
 */
static long virt_ctl_copy_list(void __user *uarg, size_t size, u32 max,
			       u32 (*fill)(void *buf, u32 room))
{
	struct virt_ctl_list a;
	void *buf = NULL;
	u32 room, n;
	long r = 0;

	BUILD_BUG_ON(sizeof(struct virt_ctl_list) != sizeof(struct virt_ctl_bind_list));
	BUILD_BUG_ON(offsetof(struct virt_ctl_list, count) !=
		     offsetof(struct virt_ctl_bind_list, count));
	BUILD_BUG_ON(offsetof(struct virt_ctl_list, entries) !=
		     offsetof(struct virt_ctl_bind_list, rules));
	BUILD_BUG_ON(offsetof(struct virt_ctl_list, reserved) !=
		     offsetof(struct virt_ctl_bind_list, reserved));
	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.version != VIRT_CTL_VERSION ||
	    !virt_ctl_zero(a.reserved, ARRAY_SIZE(a.reserved)))
		return -EINVAL;
	room = min(a.count, max);
	if (room) {
		buf = kvcalloc(room, size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	n = fill(buf, room);
	if (copy_to_user(u64_to_user_ptr(a.entries), buf, min(n, room) * size)) {
		r = -EFAULT;
		goto out;
	}
	a.count = n;
	if (copy_to_user(uarg, &a, sizeof(a)))
		r = -EFAULT;
out:
	kvfree(buf);
	return r;
}

static u32 virt_ctl_fill_vms(void *buf, u32 room)
{
	return virt_vm_list(buf, room);
}

static u32 virt_ctl_fill_bind_rules(void *buf, u32 room)
{
	return virt_policy_bind_list(buf, room);
}

static long virt_ctl_ports(void __user *uarg, bool set)
{
	struct virt_ctl_port_range *r = NULL;
	struct virt_policy *pol;
	struct virt_ctl_ports a;
	u32 room, n;
	long err = 0;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.version != VIRT_CTL_VERSION || a.reserved0 ||
	    !virt_ctl_zero(a.reserved, ARRAY_SIZE(a.reserved)) || a.pid <= 0 ||
	    a.direction > VIRT_CTL_TO_GUEST)
		return -EINVAL;
	if (set && ((a.flags & ~VIRT_CTL_PORTS_ALL) ||
		    ((a.flags & VIRT_CTL_PORTS_ALL) && a.count) ||
		    a.count > VIRT_CTL_MAX_RANGES))
		return -EINVAL;
	if (!set && a.flags)
		return -EINVAL;
	room = min(a.count, VIRT_CTL_MAX_RANGES);
	if (room) {
		r = kcalloc(room, sizeof(*r), GFP_KERNEL);
		if (!r)
			return -ENOMEM;
	}
	if (set && copy_from_user(r, u64_to_user_ptr(a.ranges),
				  room * sizeof(*r))) {
		err = -EFAULT;
		goto out;
	}
	for (n = 0; set && n < room; n++) {
		if (r[n].lo > r[n].hi) {
			err = -EINVAL;
			goto out;
		}
	}
	pol = virt_vm_policy(a.pid);
	if (!pol) {
		err = -ENOENT;
		goto out;
	}
	if (set) {
		err = virt_policy_set(pol, a.direction, a.flags, r, room);
		virt_policy_put(pol);
		goto out;
	}
	n = virt_policy_get_ports(pol, a.direction, &a.flags, r, room);
	virt_policy_put(pol);
	if (copy_to_user(u64_to_user_ptr(a.ranges), r,
			 min(n, room) * sizeof(*r))) {
		err = -EFAULT;
		goto out;
	}
	a.count = n;
	if (copy_to_user(uarg, &a, sizeof(a)))
		err = -EFAULT;
out:
	kfree(r);
	return err;
}

static long virt_ctl_bind_rule(void __user *uarg, bool add)
{
	struct virt_ctl_bind_rule a;

	if (copy_from_user(&a, uarg, sizeof(a)))
		return -EFAULT;
	if (a.version != VIRT_CTL_VERSION || a.reserved0 || a.reserved ||
	    a.kind > VIRT_CTL_BIND_GID || a.lo > a.hi || a.hi == VIRT_PORT_ANY)
		return -EINVAL;
	return virt_policy_bind_change(&a, add);
}

static long virt_ctl_ioctl(struct file *file, unsigned int cmd,
			   unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	/* Again at each call: a descriptor handed to another process. */
	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	switch (cmd) {
	case VIRT_CTL_ENABLE:
		return virt_ctl_enable(uarg);
	case VIRT_CTL_DISABLE:
		return virt_ctl_disable(uarg);
	case VIRT_CTL_LIST:
		return virt_ctl_copy_list(uarg, sizeof(struct virt_ctl_entry),
					  VIRT_CTL_MAX_ENTRIES, virt_ctl_fill_vms);
	case VIRT_CTL_SET_PORTS:
		return virt_ctl_ports(uarg, true);
	case VIRT_CTL_GET_PORTS:
		return virt_ctl_ports(uarg, false);
	case VIRT_CTL_BIND_ADD:
		return virt_ctl_bind_rule(uarg, true);
	case VIRT_CTL_BIND_DEL:
		return virt_ctl_bind_rule(uarg, false);
	case VIRT_CTL_BIND_LIST:
		return virt_ctl_copy_list(uarg, sizeof(struct virt_ctl_bind_rule),
					  VIRT_CTL_MAX_BIND_RULES,
					  virt_ctl_fill_bind_rules);
	default:
		return -ENOTTY;
	}
}

static int virt_ctl_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_NET_ADMIN))
		return -EPERM;
	return nonseekable_open(inode, file);
}

static const struct file_operations virt_ctl_fops = {
	.owner = THIS_MODULE,	/* an open descriptor pins the module */
	.open = virt_ctl_open,
	.unlocked_ioctl = virt_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,	/* same layout on 32 bits */
	.llseek = no_llseek,
};

static struct miscdevice virt_ctl_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "virtsocket",
	.fops = &virt_ctl_fops,
	.mode = 0600,
};

int virt_ctl_init(void)
{
	return misc_register(&virt_ctl_dev);
}

void virt_ctl_exit(void)
{
	misc_deregister(&virt_ctl_dev);
}
