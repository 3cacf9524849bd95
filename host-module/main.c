// SPDX-License-Identifier: GPL-2.0
/*
 * virtsocket host module: services the guests' hypercall (hypercall.c),
 * keeps per-VM state (vm.c) and publishes VIRT_SYSFS_DIR for user space.
 */
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/sysfs.h>

#include "virt_host.h"

static int family = VIRT_AF_DEFAULT;
module_param(family, int, 0444);

unsigned int virt_max_conns = VIRT_MAX_CONNS_DEFAULT;
module_param_named(max_conns_per_vm, virt_max_conns, uint, 0644);
MODULE_PARM_DESC(max_conns_per_vm, "Connections one VM may have open, both ways (more: ENOBUFS)");
MODULE_PARM_DESC(family, "Address family number of AF_VIRT (default 23, free since AF_IRDA left)");

static struct kobject *virt_kobj;

static ssize_t role_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "host\n");
}

static ssize_t family_show(struct kobject *kobj, struct kobj_attribute *attr,
			   char *buf)
{
	return sysfs_emit(buf, "%d\n", family);
}

static ssize_t cid_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%u\n", VIRT_CID_HOST);
}

static ssize_t abi_version_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", VIRT_ABI_VERSION);
}

static ssize_t hypercalls_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&virt_stats.hypercalls));
}

static ssize_t rejected_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&virt_stats.rejected));
}

static ssize_t vms_show(struct kobject *kobj, struct kobj_attribute *attr,
			char *buf)
{
	return sysfs_emit(buf, "%u\n", virt_vm_count());
}

/* Live objects, for leak checks: every virt_vm and virt_conn allocated. */
static ssize_t live_vms_show(struct kobject *kobj, struct kobj_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", virt_vm_live());
}

static ssize_t live_conns_show(struct kobject *kobj,
			       struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%u\n", virt_conn_live());
}

/* HELLOs refused because the administrator had not enabled the VM. */
static ssize_t not_enabled_show(struct kobject *kobj,
				struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", virt_not_enabled_count());
}

/* Entries on the control device (VMs enabled, registered or not). */
static ssize_t enabled_show(struct kobject *kobj, struct kobj_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", virt_enabled_count());
}

/*
 * CIDs in use: one per registered VM, VM that said goodbye and lives, or
 * entry of an enabled VM.
 */
static ssize_t cids_show(struct kobject *kobj, struct kobj_attribute *attr,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", virt_cid_count());
}

/* Connects (both ways) and host binds refused by the access policy. */
static ssize_t policy_denied_show(struct kobject *kobj,
				  struct kobj_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%llu\n", virt_policy_denied_count());
}

static struct kobj_attribute virt_attrs[] = {
	__ATTR_RO(role),
	__ATTR_RO(family),
	__ATTR_RO(cid),
	__ATTR_RO(abi_version),
	__ATTR_RO(hypercalls),
	__ATTR_RO(rejected),
	__ATTR_RO(vms),
	__ATTR_RO(live_vms),
	__ATTR_RO(live_conns),
	__ATTR_RO(cids),
	__ATTR_RO(not_enabled),
	__ATTR_RO(enabled),
	__ATTR_RO(policy_denied),
};

static struct attribute *virt_attr_list[ARRAY_SIZE(virt_attrs) + 1];

static const struct attribute_group virt_attr_group = {
	.attrs = virt_attr_list,
};

static int __init virt_host_init(void)
{
	int i, r;

	if (family <= 0 || family >= NPROTO) {
		pr_err("virtsocket: family=%d is outside 1..%d\n", family,
		       NPROTO - 1);
		return -EINVAL;
	}
	for (i = 0; i < ARRAY_SIZE(virt_attrs); i++)
		virt_attr_list[i] = &virt_attrs[i].attr;
	virt_kobj = kobject_create_and_add("virtsocket", kernel_kobj);
	if (!virt_kobj)
		return -ENOMEM;
	r = sysfs_create_group(virt_kobj, &virt_attr_group);
	if (r)
		goto err_kobj;
	r = virt_vms_init();
	if (r)
		goto err_kobj;
	r = virt_ctl_init();
	if (r)
		goto err_vms;
	r = virt_core_init(&virt_host_transport, family);
	if (r)
		goto err_ctl;
	r = kvm_set_hypercall_hook(virt_hypercall);
	if (r) {
		pr_err("virtsocket: KVM_HC_MODULE is already serviced by another module\n");
		goto err_core;
	}
	pr_info("virtsocket: host ready (ABI %u, hypercall 0x%lx, family %d)\n",
		VIRT_ABI_VERSION, VIRT_HC_NR, family);
	if (virt_open_to_all())
		pr_warn("virtsocket: open_to_all_vms=1: every VM gets AF_VIRT, enabled on %s or not (development only)\n",
			VIRT_CTL_DEVICE);
	return 0;

err_core:
	virt_core_exit();
err_ctl:
	virt_ctl_exit();
err_vms:
	virt_vms_exit();
err_kobj:
	kobject_put(virt_kobj);
	return r;
}

/*
 * Unloading is refused while AF_VIRT sockets exist (each holds a module
 * reference); otherwise it is safe: the hook is cleared first (waiting for
 * vCPUs in the handler), then every VM's guest is interrupted and its state
 * dropped; their guests see -ENOSYS from then on, at once, and register
 * again when the module is back.
 */
static void __exit virt_host_exit(void)
{
	kvm_clear_hypercall_hook(virt_hypercall);
	virt_core_exit();
	virt_ctl_exit();
	virt_vms_exit();
	virt_policy_exit();
	kobject_put(virt_kobj);
}

module_init(virt_host_init);
module_exit(virt_host_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("virtsocket host: AF_VIRT guest<->host sockets over a shared ring");
MODULE_AUTHOR("virtsocket developers");
