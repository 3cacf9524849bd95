/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtsocket guest module: internal interfaces.
 *
 * Implementation notes
 *
 * - One transport per guest (struct virt_transport): the shared ring, the
 *   handshake block and the notification interrupt.  It is set up once at
 *   module load and torn down at unload; between the two its handshake
 *   results are constant and read without locks.
 * - Counters are atomic.
 */
#ifndef _VIRT_GUEST_H
#define _VIRT_GUEST_H

#include <linux/atomic.h>
#include <linux/types.h>
#include <virtsocket/abi.h>

struct virt_transport {
	/* Shared with the host. */
	struct virt_ring_hdr *ring;
	u32 ring_entries;
	struct virt_hello *hello;
	/* Notification interrupt: Linux irq and the (APIC id, vector) it owns. */
	unsigned int irq;
	u32 apic_id;
	u32 vector;
	/* Handshake results. */
	u32 cid;
	u32 host_version;
	u64 features;
	atomic64_t hypercalls;
	atomic64_t interrupts;
};

extern struct virt_transport virt_tp;

/* transport.c */
int virt_transport_init(struct virt_transport *tp, u32 ring_entries);
void virt_transport_exit(struct virt_transport *tp);

#endif
