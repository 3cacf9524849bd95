/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtsocket guest module: internal interfaces.
 *
 * Implementation notes
 *
 * - One transport per guest (struct virt_guest): the shared ring, the
 *   handshake block, the notification interrupt, the receive buffers, and
 *   the connection table.  Handshake results change only under flush_mutex,
 *   at each (re)registration.
 * - Lock order: flush_mutex, then tx_lock, then rx_lock (virt_rx_topup(),
 *   virt_ring_reset()); incoming_lock and the table's lock nest in none.
 * - tx_lock (BH spinlock) protects the producer side of the tx ring: tx_prod,
 *   tx_flushed, tx_done, the per-slot ownership arrays and the overflow
 *   list.  Descriptors are written under it, so several CPUs can queue.
 * - flush_mutex serialises flushes: the hypercall, reclaiming consumed tx
 *   slots, and consuming rx events (rx_cons).
 * - Receive buffers are compound pages of rx_buf_size bytes (naturally
 *   aligned, their index in page_private), allocated once.  Buffer i
 *   (rx_pages[i]) is free, posted to the host (bit i of rx_posted), or lent
 *   to an skb in a socket's receive queue, whose destructor gives it back.
 *   rx_lock (irq-safe spinlock, innermost: taken under tx_lock and under a
 *   socket's lock) protects rx_free, rx_nfree and rx_lent; rx_posted
 *   changes under flush_mutex (posting is done under it too).
 *   Socket callbacks are made with it held and never take lock_sock() of a
 *   socket a flusher can hold, except listeners, which never flush.
 * - The connection table (xarray, own lock) maps ids to sockets and holds a
 *   reference on each.
 * - Registration: @dead (not registered: no flush hypercalls, no descriptors
 *   queued) and @stopping change under flush_mutex and are read locklessly.
 *   When the host goes away, every connection is reset, the ring goes back
 *   to its zero state and hello_work probes with HELLO until the host
 *   answers; @epoch (written under flush_mutex and tx_lock) counts those
 *   resets, so that work queued before one does nothing after it.
 */
#ifndef _VIRT_GUEST_H
#define _VIRT_GUEST_H

#include <linux/atomic.h>
#include <linux/hrtimer.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <virtsocket/abi.h>

#include "../af_virt/af_virt.h"

struct virt_guest {
	/* Shared with the host. */
	struct virt_ring_hdr *ring;
	struct virt_desc *tx;
	struct virt_desc *rx;
	u32 ring_entries;
	struct virt_hello *hello;
	/*
	 * Notification interrupt: Linux irq and the (APIC id, vector) it owns,
	 * which change when its CPU goes offline (written under flush_mutex).
	 */
	unsigned int irq;
	u32 apic_id;
	u32 vector;
	struct hlist_node cpuhp_node;	/* virt_cpu_dead() */
	/* Handshake results. */
	u32 cid;
	u32 host_version;
	u64 features;

	spinlock_t tx_lock;	/* producer side, see the notes above */
	u32 tx_prod;		/* next slot we fill */
	u32 tx_flushed;		/* tx_prod at the last hypercall */
	u32 tx_done;		/* slots below are free again */
	void **tx_buf;		/* per slot: payload to free once consumed */
	s32 *tx_rxbuf;		/* per slot: receive buffer posted, or -1 */
	struct list_head overflow;	/* control descriptors waiting for room */

	struct mutex flush_mutex;	/* one flush at a time */
	u32 rx_cons;
	struct page **rx_pages;	/* rx_buffers receive buffers */
	u32 rx_buf_size;	/* bytes per buffer: constant after init */
	unsigned int rx_order;	/* its page order */
	unsigned long *rx_posted;	/* buffers the host holds */
	u32 rx_buffers;
	spinlock_t rx_lock;	/* free and lent buffers, see the notes above */
	u32 *rx_free;		/* stack of buffers neither posted nor lent */
	u32 rx_nfree;
	u32 rx_lent;		/* buffers held by skbs of receive queues */

	struct xarray conns;	/* id -> struct virt_sock */
	u32 next_conn;

	struct hrtimer flush_timer;
	struct work_struct flush_work;
	/*
	 * The host's connection requests, taken in a worker: a flush may run
	 * under some socket's lock, and a listener's lock must not nest there.
	 */
	spinlock_t incoming_lock;	/* @incoming and @nr_incoming */
	struct list_head incoming;	/* struct virt_incoming */
	u32 nr_incoming;
	struct work_struct incoming_work;
	bool dead;		/* not registered: no more flush hypercalls */
	bool stopping;		/* unload or reboot: never register again */
	u32 epoch;		/* resets of the ring, see the notes above */
	struct delayed_work hello_work;	/* probes while the host is gone */
	unsigned int hello_tries;	/* probes since the host went away */
	unsigned long probe_at;	/* jiffies of the last probe */
	struct notifier_block reboot_nb;	/* says goodbye at reboot */

	atomic64_t hypercalls;
	atomic64_t interrupts;
	atomic64_t notify_moves;	/* the interrupt moved to another CPU */
	atomic64_t flushes;
	atomic64_t tx_descs;
	atomic64_t rx_events;
	atomic64_t bad_descs;
	atomic64_t tx_bytes;
	atomic64_t rx_bytes;
	atomic64_t rx_copied;		/* data copied out of a buffer, not lent */
	atomic64_t flush_batch;		/* flushes by reason */
	atomic64_t flush_urgent;
	atomic64_t flush_timer_cnt;
	atomic64_t flush_wait;
	atomic64_t flush_full;
	atomic64_t flush_irq;
	atomic64_t host_gone;		/* times the host stopped serving us */
	atomic64_t reregistrations;	/* HELLOs that succeeded after the first */
};

extern struct virt_guest virt_guest;
extern const struct virt_transport virt_guest_transport;
extern unsigned int flush_batch;
extern unsigned int flush_delay_us;
extern int irq_cpu;

/* transport.c */
/* Receive buffers in all, at most (rx_buffers * rx_buffer_size). */
#define VIRT_RX_POOL_MAX	(64U << 20)

int virt_guest_init(struct virt_guest *g, u32 ring_entries, u32 rx_buffers,
		    u32 rx_buf_size);
void virt_guest_exit(struct virt_guest *g);

#endif
