// SPDX-License-Identifier: GPL-2.0
/*
 * virtsocket guest module: checks that it runs on KVM, sets up the transport
 * to the host (transport.c) and publishes VIRT_SYSFS_DIR for user space.
 */
#include <linux/kobject.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/sysfs.h>
#include <asm/cpufeature.h>
#include <asm/hypervisor.h>
#include <asm/kvm_para.h>

#include "virt_guest.h"

static int family = VIRT_AF_DEFAULT;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "Address family number of AF_VIRT (default 23, free since AF_IRDA left)");

static unsigned int ring_entries = 256;
module_param(ring_entries, uint, 0444);
MODULE_PARM_DESC(ring_entries, "Descriptors per ring direction (power of two, 16..4096)");

struct virt_transport virt_tp;
static struct kobject *virt_kobj;

#define VIRT_SHOW(name, fmt, expr)					\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, fmt "\n", expr);				\
}

VIRT_SHOW(role, "%s", "guest")
VIRT_SHOW(family, "%d", family)
VIRT_SHOW(cid, "%u", virt_tp.cid)
VIRT_SHOW(abi_version, "%u", VIRT_ABI_VERSION)
VIRT_SHOW(host_abi_version, "%u", virt_tp.host_version)
VIRT_SHOW(features, "0x%llx", virt_tp.features)
VIRT_SHOW(ring_entries, "%u", virt_tp.ring_entries)
VIRT_SHOW(vector, "%u", virt_tp.vector)
VIRT_SHOW(apic_id, "%u", virt_tp.apic_id)
VIRT_SHOW(hypercalls, "%lld", atomic64_read(&virt_tp.hypercalls))
VIRT_SHOW(interrupts, "%lld", atomic64_read(&virt_tp.interrupts))

static struct kobj_attribute virt_attrs[] = {
	__ATTR_RO(role),
	__ATTR_RO(family),
	__ATTR_RO(cid),
	__ATTR_RO(abi_version),
	__ATTR_RO(host_abi_version),
	__ATTR_RO(features),
	__ATTR_RO(ring_entries),
	__ATTR_RO(vector),
	__ATTR_RO(apic_id),
	__ATTR_RO(hypercalls),
	__ATTR_RO(interrupts),
};

static struct attribute *virt_attr_list[ARRAY_SIZE(virt_attrs) + 1];

static const struct attribute_group virt_attr_group = {
	.attrs = virt_attr_list,
};

static int __init virt_guest_init(void)
{
	int i, r;

	if (!boot_cpu_has(X86_FEATURE_HYPERVISOR) ||
	    x86_hyper_type != X86_HYPER_KVM || !kvm_para_available()) {
		pr_err("virtsocket: not running on KVM; the guest module needs a KVM host\n");
		return -ENODEV;
	}
	if (family <= 0 || family >= NPROTO) {
		pr_err("virtsocket: family=%d is outside 1..%d\n", family,
		       NPROTO - 1);
		return -EINVAL;
	}
	r = virt_transport_init(&virt_tp, ring_entries);
	if (r)
		return r;

	for (i = 0; i < ARRAY_SIZE(virt_attrs); i++)
		virt_attr_list[i] = &virt_attrs[i].attr;
	virt_kobj = kobject_create_and_add("virtsocket", kernel_kobj);
	if (!virt_kobj) {
		r = -ENOMEM;
		goto err_transport;
	}
	r = sysfs_create_group(virt_kobj, &virt_attr_group);
	if (r)
		goto err_kobj;
	pr_info("virtsocket: guest CID %u (host ABI %u, features 0x%llx, vector %u on APIC %u)\n",
		virt_tp.cid, virt_tp.host_version, virt_tp.features,
		virt_tp.vector, virt_tp.apic_id);
	return 0;

err_kobj:
	kobject_put(virt_kobj);
err_transport:
	virt_transport_exit(&virt_tp);
	return r;
}

static void __exit virt_guest_exit(void)
{
	kobject_put(virt_kobj);
	virt_transport_exit(&virt_tp);
}

module_init(virt_guest_init);
module_exit(virt_guest_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("virtsocket guest: AF_VIRT guest<->host sockets over a shared ring");
MODULE_AUTHOR("virtsocket developers");
