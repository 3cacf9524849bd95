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

static unsigned int rx_buffers = 128;
module_param(rx_buffers, uint, 0444);
MODULE_PARM_DESC(rx_buffers, "Receive buffers lent to the host (1..ring_entries)");

static unsigned int rx_buffer_size = 65536;
module_param(rx_buffer_size, uint, 0444);
MODULE_PARM_DESC(rx_buffer_size, "Bytes per receive buffer (power of two, PAGE_SIZE..65536; at most 64 MiB in all)");

unsigned int flush_batch = 64;
module_param(flush_batch, uint, 0644);
MODULE_PARM_DESC(flush_batch, "Flush when this many descriptors wait (default 64)");

unsigned int flush_delay_us = 2000;
module_param(flush_delay_us, uint, 0644);
MODULE_PARM_DESC(flush_delay_us, "Flush after this many microseconds without new descriptors (default 2000)");

int irq_cpu = -1;
module_param(irq_cpu, int, 0444);
MODULE_PARM_DESC(irq_cpu, "CPU of the notification interrupt (default -1: any)");

struct virt_guest virt_guest;
static struct kobject *virt_kobj;

#define VIRT_SHOW(name, fmt, expr)					\
static ssize_t name##_show(struct kobject *kobj,			\
			   struct kobj_attribute *attr, char *buf)	\
{									\
	return sysfs_emit(buf, fmt "\n", expr);				\
}

VIRT_SHOW(role, "%s", "guest")
VIRT_SHOW(family, "%d", family)
VIRT_SHOW(cid, "%u", virt_guest.cid)
VIRT_SHOW(abi_version, "%u", VIRT_ABI_VERSION)
VIRT_SHOW(host_abi_version, "%u", virt_guest.host_version)
VIRT_SHOW(features, "0x%llx", virt_guest.features)
VIRT_SHOW(ring_entries, "%u", virt_guest.ring_entries)
VIRT_SHOW(vector, "%u", READ_ONCE(virt_guest.vector))
VIRT_SHOW(apic_id, "%u", READ_ONCE(virt_guest.apic_id))
VIRT_SHOW(registered, "%d", !READ_ONCE(virt_guest.dead))

/* Counters: one show function, the field found by offset. */
struct virt_counter_attr {
	struct kobj_attribute attr;
	size_t offset;
};

static ssize_t virt_counter_show(struct kobject *kobj,
				 struct kobj_attribute *attr, char *buf)
{
	struct virt_counter_attr *c = container_of(attr, struct virt_counter_attr, attr);

	return sysfs_emit(buf, "%lld\n",
			  atomic64_read((atomic64_t *)((char *)&virt_guest + c->offset)));
}

#define VIRT_COUNTER(field) {						\
	.attr = { .attr = { .name = #field, .mode = 0444 },		\
		  .show = virt_counter_show },				\
	.offset = offsetof(struct virt_guest, field),			\
}

static struct virt_counter_attr virt_counters[] = {
	VIRT_COUNTER(hypercalls),
	VIRT_COUNTER(interrupts),
	VIRT_COUNTER(notify_moves),
	VIRT_COUNTER(flushes),
	VIRT_COUNTER(tx_descs),
	VIRT_COUNTER(rx_events),
	VIRT_COUNTER(bad_descs),
	VIRT_COUNTER(tx_bytes),
	VIRT_COUNTER(rx_bytes),
	VIRT_COUNTER(rx_copied),
	VIRT_COUNTER(flush_batch),
	VIRT_COUNTER(flush_urgent),
	VIRT_COUNTER(flush_timer_cnt),
	VIRT_COUNTER(flush_wait),
	VIRT_COUNTER(flush_full),
	VIRT_COUNTER(flush_irq),
	VIRT_COUNTER(host_gone),
	VIRT_COUNTER(reregistrations),
};

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
	__ATTR_RO(registered),
};

static struct attribute *virt_attr_list[ARRAY_SIZE(virt_attrs) +
					 ARRAY_SIZE(virt_counters) + 1];

static const struct attribute_group virt_attr_group = {
	.attrs = virt_attr_list,
};

static int __init virt_guest_module_init(void)
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
	r = virt_guest_init(&virt_guest, ring_entries, rx_buffers, rx_buffer_size);
	if (r)
		return r;
	r = virt_core_init(&virt_guest_transport, family);
	if (r)
		goto err_transport;

	for (i = 0; i < ARRAY_SIZE(virt_attrs); i++)
		virt_attr_list[i] = &virt_attrs[i].attr;
	for (i = 0; i < ARRAY_SIZE(virt_counters); i++)
		virt_attr_list[ARRAY_SIZE(virt_attrs) + i] = &virt_counters[i].attr.attr;
	virt_kobj = kobject_create_and_add("virtsocket", kernel_kobj);
	if (!virt_kobj) {
		r = -ENOMEM;
		goto err_core;
	}
	r = sysfs_create_group(virt_kobj, &virt_attr_group);
	if (r)
		goto err_kobj;
	pr_info("virtsocket: guest CID %u (host ABI %u, features 0x%llx, vector %u on APIC %u)\n",
		virt_guest.cid, virt_guest.host_version, virt_guest.features,
		virt_guest.vector, virt_guest.apic_id);
	return 0;

err_kobj:
	kobject_put(virt_kobj);
err_core:
	virt_core_exit();
err_transport:
	virt_guest_exit(&virt_guest);
	return r;
}

/* Refused while AF_VIRT sockets exist: each holds a module reference. */
static void __exit virt_guest_module_exit(void)
{
	kobject_put(virt_kobj);
	virt_core_exit();
	virt_guest_exit(&virt_guest);
}

module_init(virt_guest_module_init);
module_exit(virt_guest_module_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("virtsocket guest: AF_VIRT guest<->host sockets over a shared ring");
MODULE_AUTHOR("virtsocket developers");
