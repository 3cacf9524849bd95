// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's transport to the host: the descriptor ring in guest memory,
 * the notification interrupt the host raises, and the hypercall that
 * connects them to the host module.
 */
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/slab.h>
#include <asm/hw_irq.h>
#include <asm/irq_remapping.h>
#include <asm/irqdomain.h>
#include <asm/kvm_para.h>

#include "virt_guest.h"

static long virt_hypercall(struct virt_transport *tp, unsigned long op,
			   unsigned long a1)
{
	atomic64_inc(&tp->hypercalls);
	return kvm_hypercall2(VIRT_HC_NR, op, a1);
}

static irqreturn_t virt_notify_irq(int irq, void *data)
{
	struct virt_transport *tp = data;

	atomic64_inc(&tp->interrupts);
	return IRQ_HANDLED;
}

/*
 * A vector of our own from the x86 vector domain, reported to the host as
 * (APIC id, vector).  IRQF_NOBALANCING keeps it on one CPU: the host only
 * learns the pair at the handshake.
 */
static int virt_irq_init(struct virt_transport *tp)
{
	struct irq_alloc_info info = {};
	struct irq_cfg *cfg;
	int irq, r;

	irq = irq_domain_alloc_irqs(x86_vector_domain, 1, NUMA_NO_NODE, &info);
	if (irq < 0)
		return irq;
	/* The vector domain sets the chip but no flow handler. */
	irq_set_handler(irq, handle_edge_irq);
	r = request_irq(irq, virt_notify_irq, IRQF_NOBALANCING, "virtsocket", tp);
	if (r) {
		irq_dispose_mapping(irq);
		return r;
	}
	cfg = irqd_cfg(irq_get_irq_data(irq));
	tp->irq = irq;
	tp->vector = cfg->vector;
	tp->apic_id = cfg->dest_apicid;
	return 0;
}

static void virt_irq_exit(struct virt_transport *tp)
{
	free_irq(tp->irq, tp);
	irq_dispose_mapping(tp->irq);
}

static const char *virt_hello_error(long r)
{
	switch (r) {
	case -VIRT_HC_ENOSYS:
		/* KVM without the patch, or virtsocket_host not loaded */
		return "the host does not service virtsocket hypercalls";
	case -EPROTONOSUPPORT:
		return "the host speaks another virtsocket ABI version";
	case -EEXIST:
		return "this VM is already registered";
	default:
		return "the host rejected the handshake";
	}
}

static int virt_handshake(struct virt_transport *tp)
{
	struct virt_hello *h = tp->hello;
	long r;

	memset(h, 0, sizeof(*h));
	h->magic = VIRT_HELLO_MAGIC;
	h->guest_version = VIRT_ABI_VERSION;
	h->guest_features = VIRT_F_KNOWN;
	h->ring_gpa = virt_to_phys(tp->ring);
	h->ring_entries = tp->ring_entries;
	h->apic_id = tp->apic_id;
	h->vector = tp->vector;

	r = virt_hypercall(tp, VIRT_HC_HELLO, virt_to_phys(h));
	if (r == -EEXIST) {
		/* Left registered by a previous boot or a crashed instance. */
		virt_hypercall(tp, VIRT_HC_BYE, 0);
		r = virt_hypercall(tp, VIRT_HC_HELLO, virt_to_phys(h));
	}
	if (r) {
		pr_err("virtsocket: handshake failed (%ld): %s\n", r,
		       virt_hello_error(r));
		return r == -VIRT_HC_ENOSYS ? -ENODEV : -EPROTO;
	}
	if (h->host_version != VIRT_ABI_VERSION || h->cid < VIRT_CID_GUEST_MIN ||
	    h->cid == VIRT_CID_ANY) {
		pr_err("virtsocket: host answered version %u, CID %u\n",
		       h->host_version, h->cid);
		virt_hypercall(tp, VIRT_HC_BYE, 0);
		return -EPROTO;
	}
	tp->cid = h->cid;
	tp->host_version = h->host_version;
	tp->features = h->host_features;
	return 0;
}

int virt_transport_init(struct virt_transport *tp, u32 ring_entries)
{
	int r;

	if (!virt_ring_entries_valid(ring_entries)) {
		pr_err("virtsocket: ring_entries=%u must be a power of two in %u..%u\n",
		       ring_entries, VIRT_RING_MIN_ENTRIES, VIRT_RING_MAX_ENTRIES);
		return -EINVAL;
	}
	tp->ring_entries = ring_entries;
	tp->ring = alloc_pages_exact(virt_ring_bytes(ring_entries),
				     GFP_KERNEL | __GFP_ZERO);
	if (!tp->ring)
		return -ENOMEM;
	/* kmalloc() aligns power-of-two sizes: the block stays in one page. */
	tp->hello = kzalloc(sizeof(*tp->hello), GFP_KERNEL);
	if (!tp->hello) {
		r = -ENOMEM;
		goto err_ring;
	}
	r = virt_irq_init(tp);
	if (r)
		goto err_hello;
	r = virt_handshake(tp);
	if (r)
		goto err_irq;
	return 0;

err_irq:
	virt_irq_exit(tp);
err_hello:
	kfree(tp->hello);
err_ring:
	free_pages_exact(tp->ring, virt_ring_bytes(ring_entries));
	return r;
}

void virt_transport_exit(struct virt_transport *tp)
{
	long r = virt_hypercall(tp, VIRT_HC_BYE, 0);

	if (r)
		pr_info("virtsocket: host did not take the goodbye (%ld)\n", r);
	virt_irq_exit(tp);
	kfree(tp->hello);
	free_pages_exact(tp->ring, virt_ring_bytes(tp->ring_entries));
}
