// SPDX-License-Identifier: GPL-2.0
/*
 * The guest's transport to the host: the descriptor ring in guest memory,
 * the flush scheduler that hands it to the host with one hypercall per
 * batch, the notification interrupt the host raises, and the handshake.
 * Locking rules: virt_guest.h.
 *
 * Flush policy (module parameters flush_batch and flush_delay_us):
 *  - at once when flush_batch descriptors are waiting, or the ring is full;
 *  - at once when a no-delay socket sends without MSG_MORE or cork, and for
 *    connect, shutdown and no-delay credit;
 *  - at once when a sender or receiver is about to sleep (socket core);
 *  - otherwise flush_delay_us after the first descriptor that waits (an
 *    hrtimer armed once, not per send: moving the first expiring timer
 *    reprograms the timer hardware, a VM exit each time).
 * Flushes that keep a streaming sender going do not ask for an interrupt
 * (the host's credit updates would cost one each) but arm the idle deadline,
 * whose flush does; every other flush asks, so the host can always wake an
 * idle guest.
 */
#include <linux/cpuhotplug.h>
#include <linux/interrupt.h>
#include <linux/log2.h>
#include <linux/irq.h>
#include <linux/irqdomain.h>
#include <linux/reboot.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <asm/hw_irq.h>
#include <asm/irq_remapping.h>
#include <asm/irqdomain.h>
#include <asm/kvm_para.h>
#include <asm/smp.h>

#include <virtsocket/ring.h>

#include "virt_guest.h"

struct virt_overflow {
	struct list_head node;
	struct virt_desc desc;
};

static long virt_hypercall(struct virt_guest *g, unsigned long op,
			   unsigned long a1)
{
	atomic64_inc(&g->hypercalls);
	return kvm_hypercall2(VIRT_HC_NR, op, a1);
}

static long virt_hypercall2(struct virt_guest *g, unsigned long op,
			    unsigned long a1, unsigned long a2)
{
	atomic64_inc(&g->hypercalls);
	return kvm_hypercall3(VIRT_HC_NR, op, a1, a2);
}

static struct virt_sock *virt_conn_lookup(struct virt_guest *g, u32 id)
{
	struct virt_sock *vsk;

	xa_lock_bh(&g->conns);
	vsk = xa_load(&g->conns, id);
	if (vsk)
		sock_hold(&vsk->sk);
	xa_unlock_bh(&g->conns);
	return vsk;
}

/* Forget connection @id; drops the table's reference if @vsk held it. */
static void virt_conn_forget(struct virt_guest *g, u32 id, struct virt_sock *vsk)
{
	if (xa_cmpxchg_bh(&g->conns, id, vsk, NULL, 0) == vsk)
		sock_put(&vsk->sk);
}

/* Our credit for @vsk, as every descriptor carries it. */
static void virt_desc_credit(struct virt_sock *vsk, struct virt_desc *d)
{
	virt_core_get_credit(vsk, &d->buf_alloc, &d->fwd_cnt);
}

/* ---- Producing tx descriptors ------------------------------------------------ */

static u32 virt_tx_pending(struct virt_guest *g)
{
	return virt_ring_used(READ_ONCE(g->tx_prod), READ_ONCE(g->tx_flushed));
}

/*
 * Write @d (owning @buf, or receive buffer @rxbuf) into the next slot;
 * -ENOSPC if the ring is full.  Under tx_lock.
 */
static int virt_tx_put(struct virt_guest *g, const struct virt_desc *d,
		       void *buf, s32 rxbuf)
{
	u32 slot;

	lockdep_assert_held(&g->tx_lock);
	/* Nobody would take it, and the next host knows no old connection. */
	if (READ_ONCE(g->dead))
		return -ENOTCONN;
	if (virt_ring_full(g->tx_prod, g->tx_done, g->ring_entries))
		return -ENOSPC;
	slot = virt_ring_slot(g->tx_prod, g->ring_entries);
	g->tx[slot] = *d;
	g->tx_buf[slot] = buf;
	g->tx_rxbuf[slot] = rxbuf;
	g->tx_prod++;
	return 0;
}

/*
 * Control descriptors never fail: without room they wait for the flush.
 * Dropped while no host is registered, or once the ring was reset after
 * @epoch: the connection they are for was reset with it.
 */
static void virt_tx_ctrl_at(struct virt_guest *g, const struct virt_desc *d,
			    u32 epoch)
{
	struct virt_overflow *o = NULL;

	for (;;) {
		spin_lock_bh(&g->tx_lock);
		if (g->epoch != epoch || READ_ONCE(g->dead) ||
		    (list_empty(&g->overflow) && !virt_tx_put(g, d, NULL, -1))) {
			spin_unlock_bh(&g->tx_lock);
			kfree(o);
			return;
		}
		if (o) {
			list_add_tail(&o->node, &g->overflow);
			spin_unlock_bh(&g->tx_lock);
			return;
		}
		spin_unlock_bh(&g->tx_lock);
		o = kmalloc(sizeof(*o), GFP_KERNEL | __GFP_NOFAIL);
		o->desc = *d;
	}
}

static void virt_tx_ctrl(struct virt_guest *g, const struct virt_desc *d)
{
	virt_tx_ctrl_at(g, d, READ_ONCE(g->epoch));
}

static void virt_tx_drain_overflow(struct virt_guest *g)
{
	struct virt_overflow *o;

	spin_lock_bh(&g->tx_lock);
	while ((o = list_first_entry_or_null(&g->overflow, struct virt_overflow, node))) {
		if (virt_tx_put(g, &o->desc, NULL, -1))
			break;
		list_del(&o->node);
		kfree(o);
	}
	spin_unlock_bh(&g->tx_lock);
}

/* Buffer @i can be posted again; @lent if an skb held it until now. */
static void virt_rx_free(struct virt_guest *g, u32 i, bool lent)
{
	unsigned long flags;

	spin_lock_irqsave(&g->rx_lock, flags);
	g->rx_free[g->rx_nfree++] = i;
	g->rx_lent -= lent;
	spin_unlock_irqrestore(&g->rx_lock, flags);
}

/* Post free receive buffers; under flush_mutex. */
static void virt_rx_topup(struct virt_guest *g)
{
	lockdep_assert_held(&g->flush_mutex);
	spin_lock_bh(&g->tx_lock);
	spin_lock_irq(&g->rx_lock);
	while (g->rx_nfree) {
		u32 i = g->rx_free[g->rx_nfree - 1];
		struct virt_desc d = {
			.op = VIRT_OP_RX_POST,
			.addr = page_to_phys(g->rx_pages[i]),
			.len = g->rx_buf_size,
		};

		if (virt_tx_put(g, &d, NULL, i))
			break;
		g->rx_nfree--;
		__set_bit(i, g->rx_posted);
	}
	spin_unlock_irq(&g->rx_lock);
	spin_unlock_bh(&g->tx_lock);
}

/* ---- The flush ---------------------------------------------------------------- */

/* Slots the host consumed: free payloads, act on refusals. */
static void virt_tx_reclaim(struct virt_guest *g)
{
	u32 cons = READ_ONCE(g->ring->tx_cons);

	spin_lock_bh(&g->tx_lock);
	while (g->tx_done != cons && g->tx_done != g->tx_flushed) {
		u32 slot = virt_ring_slot(g->tx_done, g->ring_entries);
		struct virt_desc *d = &g->tx[slot];
		s32 status = READ_ONCE(d->status);
		s32 rxbuf = g->tx_rxbuf[slot];

		kfree(g->tx_buf[slot]);
		g->tx_buf[slot] = NULL;
		if (status && rxbuf >= 0 && __test_and_clear_bit(rxbuf, g->rx_posted))
			virt_rx_free(g, rxbuf, false);
		g->tx_done++;
		/* A reset carries our own reason in status, not the host's. */
		if (status && d->conn && d->op != VIRT_OP_RX_POST &&
		    d->op != VIRT_OP_RESET) {
			u32 id = d->conn;
			u16 op = d->op;
			struct virt_sock *vsk;

			atomic64_inc(&g->bad_descs);
			spin_unlock_bh(&g->tx_lock);
			pr_warn_ratelimited("virtsocket: host refused op %u on connection %u: %d\n",
					    op, id, status);
			vsk = virt_conn_lookup(g, id);
			if (vsk) {
				virt_conn_forget(g, id, vsk);
				/*
				 * Only a refused connect() has a reason of
				 * its own; to the socket, any other refusal
				 * is the host resetting the connection (its
				 * -EPIPE for a send the host socket closed
				 * under would read as our own shutdown).
				 */
				virt_core_reset(vsk, op == VIRT_OP_CONNECT ?
						status : -ECONNRESET);
				sock_put(&vsk->sk);
			}
			spin_lock_bh(&g->tx_lock);
		}
	}
	spin_unlock_bh(&g->tx_lock);
}

/* The host connects to one of our ports; @epoch: the ring's when it asked. */
static void virt_rx_connect(struct virt_guest *g, const struct virt_desc *ev,
			    u32 epoch)
{
	struct virt_desc reply = { .conn = ev->conn };
	struct virt_sock *child;
	int err;

	if (ev->conn < VIRT_CONN_HOST_BASE || xa_load(&g->conns, ev->conn)) {
		atomic64_inc(&g->bad_descs);
		return;
	}
	child = virt_core_incoming((u32)ev->addr, VIRT_CID_HOST, ev->addr >> 32,
				   ev->buf_alloc, ev->fwd_cnt, ev->conn, g, &err);
	if (!child) {
		reply.op = VIRT_OP_RESET;
		reply.status = err;
		virt_tx_ctrl_at(g, &reply, epoch);
		return;
	}
	/* The table takes the reference virt_core_incoming() gave us. */
	if (xa_err(xa_store_bh(&g->conns, ev->conn, child, GFP_KERNEL))) {
		virt_core_reset(child, -ENOMEM);
		sock_put(&child->sk);
		reply.op = VIRT_OP_RESET;
		virt_tx_ctrl_at(g, &reply, epoch);
		return;
	}
	/*
	 * The store before the look at the epoch; pairs with the barrier of
	 * virt_host_gone(): a reset either finds the child in the table or
	 * is seen here, and the child goes the way of every connection.
	 */
	smp_mb();
	if (READ_ONCE(g->epoch) != epoch) {
		sock_hold(&child->sk);
		virt_conn_forget(g, ev->conn, child);
		virt_core_reset(child, -ECONNRESET);
		sock_put(&child->sk);
		return;
	}
	reply.op = VIRT_OP_ACCEPT;
	virt_desc_credit(child, &reply);
	virt_tx_ctrl_at(g, &reply, epoch);
}

static void virt_flush(struct virt_guest *g, bool notify);

struct virt_incoming {
	struct list_head node;
	struct virt_desc ev;
	u32 epoch;		/* of the host that asked */
};

/* The host's requests beyond this many waiting are refused at once. */
#define VIRT_MAX_INCOMING	1024

static void virt_rx_defer_connect(struct virt_guest *g, const struct virt_desc *ev)
{
	struct virt_desc reply = { .op = VIRT_OP_RESET, .conn = ev->conn, .status = -ENOBUFS };
	struct virt_incoming *in = kmalloc(sizeof(*in), GFP_KERNEL);
	bool queued = false;

	if (in) {
		in->ev = *ev;
		in->epoch = g->epoch;	/* in a flush: stable */
		spin_lock_bh(&g->incoming_lock);
		if (g->nr_incoming < VIRT_MAX_INCOMING) {
			list_add_tail(&in->node, &g->incoming);
			g->nr_incoming++;
			queued = true;
		}
		spin_unlock_bh(&g->incoming_lock);
	}
	if (!queued) {
		kfree(in);
		virt_tx_ctrl(g, &reply);
		return;
	}
	queue_work(system_highpri_wq, &g->incoming_work);
}

static void virt_incoming_work(struct work_struct *work)
{
	struct virt_guest *g = container_of(work, struct virt_guest, incoming_work);
	struct virt_incoming *in;
	bool any = false;

	for (;;) {
		spin_lock_bh(&g->incoming_lock);
		in = list_first_entry_or_null(&g->incoming, struct virt_incoming, node);
		if (in) {
			list_del(&in->node);
			g->nr_incoming--;
		}
		spin_unlock_bh(&g->incoming_lock);
		if (!in)
			break;
		/* A request from before a reset: that host is gone. */
		if (in->epoch == READ_ONCE(g->epoch) && !READ_ONCE(g->dead)) {
			virt_rx_connect(g, &in->ev, in->epoch);
			any = true;
		}
		kfree(in);
	}
	/* The answers go out now: the host's connect is waiting. */
	if (any && !READ_ONCE(g->dead))
		virt_flush(g, true);
}

/* The reader is done with a lent buffer: it can be posted again. */
static void virt_rx_skb_destruct(struct sk_buff *skb)
{
	virt_rx_free(&virt_guest,
		     page_private(skb_frag_page(&skb_shinfo(skb)->frags[0])), true);
}

/* Buffer @i: rx_buf_size bytes, one compound page, its index in private. */
static struct page *virt_rx_page_alloc(struct virt_guest *g, u32 i)
{
	struct page *page = alloc_pages(GFP_KERNEL | __GFP_COMP | __GFP_NOWARN,
					g->rx_order);

	if (page)
		set_page_private(page, i);
	return page;
}

/*
 * Data up to this size is copied out of its buffer, which goes back to the
 * host at once: lending a 64 KiB buffer for a few bytes would soon leave
 * the host none.  Appended to the socket's last skb when it has room.
 */
#define VIRT_RX_COPYBREAK	1024
/* A small skb's room: later small data shares it (and its truesize). */
#define VIRT_RX_SMALL_ROOM	SKB_WITH_OVERHEAD(PAGE_SIZE)
static_assert(VIRT_RX_COPYBREAK <= VIRT_RX_SMALL_ROOM);
/* Data copied instead of lent goes into order-0 pages, one frag each. */
static_assert(VIRT_RX_BUF_MAX / PAGE_SIZE <= MAX_SKB_FRAGS);

static int virt_rx_copy_small(struct virt_sock *vsk, const void *data, u32 len)
{
	struct sk_buff *skb;
	int err = virt_core_enqueue_copy(vsk, data, len, true);

	if (err != -ENOSPC)
		return err;
	skb = alloc_skb(VIRT_RX_SMALL_ROOM, GFP_KERNEL);
	if (!skb)
		return -ENOMEM;
	skb_put_data(skb, data, len);
	return virt_core_enqueue(vsk, skb, true);
}

/* @len bytes at @data in an skb of order-0 pages: no high-order allocation. */
static struct sk_buff *virt_rx_copy_pages(const void *data, u32 len)
{
	struct sk_buff *skb = alloc_skb(0, GFP_KERNEL);
	u32 off;
	int f;

	for (off = 0, f = 0; skb && off < len; off += PAGE_SIZE, f++) {
		u32 n = min_t(u32, len - off, PAGE_SIZE);
		struct page *page = alloc_page(GFP_KERNEL);

		if (!page) {
			kfree_skb(skb);
			return NULL;
		}
		memcpy(page_address(page), data + off, n);
		skb_add_rx_frag(skb, f, page, 0, n, PAGE_SIZE);
	}
	return skb;
}

/*
 * The data of buffer @i for @vsk.  Small data is copied (copy-break).
 * Larger data is not copied while at most half the buffers are lent: the
 * buffer goes into an skb, which gives it back when the reader is done.
 * Past that (a reader falling behind must not starve the host of buffers)
 * it is copied into order-0 pages and the buffer is free again at once.
 * 0, or -ENOMEM, or an error of virt_core_enqueue().
 */
static int virt_rx_deliver(struct virt_guest *g, struct virt_sock *vsk,
			   u32 i, u32 len)
{
	struct page *page = g->rx_pages[i];
	void *data = page_address(page);
	struct sk_buff *skb;
	bool lend = false;
	int err;

	if (len <= VIRT_RX_COPYBREAK) {
		err = virt_rx_copy_small(vsk, data, len);
		virt_rx_free(g, i, false);
		atomic64_inc(&g->rx_copied);
		return err;
	}
	spin_lock_irq(&g->rx_lock);
	if (g->rx_lent < g->rx_buffers / 2) {
		g->rx_lent++;
		lend = true;
	}
	spin_unlock_irq(&g->rx_lock);
	if (lend) {
		skb = alloc_skb(0, GFP_KERNEL);
		if (!skb) {
			virt_rx_free(g, i, true);
			return -ENOMEM;
		}
		get_page(page);	/* the pool keeps its own reference */
		skb->destructor = virt_rx_skb_destruct;
		skb_add_rx_frag(skb, 0, page, 0, len, g->rx_buf_size);
	} else {
		skb = virt_rx_copy_pages(data, len);
		virt_rx_free(g, i, false);
		atomic64_inc(&g->rx_copied);
		if (!skb)
			return -ENOMEM;
	}
	return virt_core_enqueue(vsk, skb, true);
}

/* Buffer of an event, which must be one the host holds; or -1. */
static s32 virt_rx_buffer(struct virt_guest *g, const struct virt_desc *ev)
{
	struct page *page;
	u32 i;

	if (!ev->len || ev->len > g->rx_buf_size ||
	    (ev->addr & (g->rx_buf_size - 1)) || !pfn_valid(PHYS_PFN(ev->addr)))
		return -1;
	page = pfn_to_page(PHYS_PFN(ev->addr));
	i = page_private(page);
	if (i >= g->rx_buffers || g->rx_pages[i] != page ||
	    !__test_and_clear_bit(i, g->rx_posted))
		return -1;
	return i;
}

/*
 * Our end of @vsk fails on its own (no memory, nobody reading): reset it and
 * tell the host, as TCP answers with RST.
 */
static void virt_rx_abort(struct virt_guest *g, struct virt_sock *vsk, int err)
{
	struct virt_desc d = { .op = VIRT_OP_RESET, .conn = vsk->conn, .status = err };

	if (xa_load(&g->conns, vsk->conn) == vsk) {
		virt_conn_forget(g, vsk->conn, vsk);
		virt_tx_ctrl(g, &d);
	}
	virt_core_reset(vsk, err);
}

static void virt_rx_data(struct virt_guest *g, struct virt_sock *vsk,
			 const struct virt_desc *ev)
{
	s32 i = virt_rx_buffer(g, ev);
	int err;

	if (i < 0) {
		atomic64_inc(&g->bad_descs);
		return;
	}
	if (!vsk) {
		virt_rx_free(g, i, false);	/* the buffer is ours again */
		return;
	}
	err = virt_rx_deliver(g, vsk, i, ev->len);
	if (err) {
		virt_rx_abort(g, vsk, err == -ENOMEM ? -ENOMEM : -ENOBUFS);
		return;
	}
	atomic64_add(ev->len, &g->rx_bytes);
	if (virt_core_credit_stale(vsk)) {
		/* Goes out in this flush (we are in it: no kick). */
		struct virt_desc d = { .op = VIRT_OP_CREDIT, .conn = vsk->conn };

		virt_desc_credit(vsk, &d);
		virt_tx_ctrl(g, &d);
	}
}

static void virt_rx_event(struct virt_guest *g, const struct virt_desc *ev)
{
	struct virt_sock *vsk;

	if (ev->op == VIRT_OP_CONNECT) {
		virt_rx_defer_connect(g, ev);
		return;
	}
	vsk = virt_conn_lookup(g, ev->conn);
	if (vsk && ev->op != VIRT_OP_RESET)
		virt_core_credit(vsk, ev->buf_alloc, ev->fwd_cnt);
	switch (ev->op) {
	case VIRT_OP_ACCEPT:
		if (vsk)
			virt_core_connected(vsk, ev->buf_alloc, ev->fwd_cnt);
		break;
	case VIRT_OP_SEND:
		virt_rx_data(g, vsk, ev);
		if (!vsk) {
			struct virt_desc reply = { .op = VIRT_OP_RESET, .conn = ev->conn };

			virt_tx_ctrl(g, &reply);
		}
		break;
	case VIRT_OP_SHUTDOWN:
		if (!vsk)
			break;
		virt_core_peer_shutdown(vsk, ev->flags);
		/* The host forgets a connection it shut both ways. */
		if (ev->flags == (VIRT_SHUT_RCV | VIRT_SHUT_SEND))
			virt_conn_forget(g, ev->conn, vsk);
		break;
	case VIRT_OP_RESET:
		if (!vsk)
			break;
		virt_conn_forget(g, ev->conn, vsk);
		virt_core_reset(vsk, ev->status ?: -ECONNRESET);
		break;
	case VIRT_OP_CREDIT:
		break;
	default:
		atomic64_inc(&g->bad_descs);
		break;
	}
	if (vsk)
		sock_put(&vsk->sk);
}

static void virt_rx_process(struct virt_guest *g)
{
	u32 prod = READ_ONCE(g->ring->rx_prod);

	if (virt_ring_pending(prod, g->rx_cons, g->ring_entries) < 0) {
		pr_err_ratelimited("virtsocket: host produced a bad rx index\n");
		return;
	}
	while (g->rx_cons != prod) {
		struct virt_desc ev = g->rx[virt_ring_slot(g->rx_cons, g->ring_entries)];

		virt_rx_event(g, &ev);
		g->rx_cons++;
		atomic64_inc(&g->rx_events);
	}
	WRITE_ONCE(g->ring->rx_cons, g->rx_cons);
}

/*
 * The ring back to its zero state, as before the first handshake: the host
 * forgot it.  Posted receive buffers are ours again (posted anew after the
 * next handshake), queued descriptors are dropped (their connections were
 * reset); buffers lent to skbs come back as their readers finish.  Locks in
 * the documented order: flush_mutex, tx_lock, rx_lock.
 */
static void virt_ring_reset(struct virt_guest *g)
{
	struct virt_overflow *o, *tmp;
	LIST_HEAD(dropped);
	u32 i;

	lockdep_assert_held(&g->flush_mutex);
	spin_lock_bh(&g->tx_lock);
	for (i = 0; i < g->ring_entries; i++) {
		kfree(g->tx_buf[i]);
		g->tx_buf[i] = NULL;
		g->tx_rxbuf[i] = -1;
	}
	list_splice_init(&g->overflow, &dropped);
	g->tx_prod = 0;
	g->tx_flushed = 0;
	g->tx_done = 0;
	spin_lock_irq(&g->rx_lock);
	for_each_set_bit(i, g->rx_posted, g->rx_buffers)
		g->rx_free[g->rx_nfree++] = i;
	spin_unlock_irq(&g->rx_lock);
	bitmap_zero(g->rx_posted, g->rx_buffers);
	g->rx_cons = 0;
	memset(g->ring, 0, sizeof(*g->ring));
	spin_unlock_bh(&g->tx_lock);
	list_for_each_entry_safe(o, tmp, &dropped, node)
		kfree(o);
}

/* Probes after the host went away: 1, 2, 4 and 8 s, then every 10 s. */
static unsigned long virt_hello_delay(struct virt_guest *g)
{
	static const u8 secs[] = { 1, 2, 4, 8 };
	unsigned int i = g->hello_tries++;

	return (i < ARRAY_SIZE(secs) ? secs[i] : 10) * HZ;
}

/*
 * The host forgot us (its module went away or was reloaded): every
 * connection is reset, as vsock does on a transport reset, so that nothing
 * waits for a host that will not answer; then the ring is reset and
 * hello_work probes until a host takes us again.  Under flush_mutex.
 */
static void virt_host_gone(struct virt_guest *g)
{
	struct virt_incoming *in, *next;
	struct virt_sock *vsk;
	LIST_HEAD(stale);
	unsigned long id;

	lockdep_assert_held(&g->flush_mutex);
	WRITE_ONCE(g->dead, true);
	atomic64_inc(&g->host_gone);
	spin_lock_bh(&g->tx_lock);
	WRITE_ONCE(g->epoch, g->epoch + 1);
	spin_unlock_bh(&g->tx_lock);
	/* The new epoch before the look at the table: see virt_rx_connect(). */
	smp_mb();
	pr_warn("virtsocket: the host stopped serving this guest: connections reset; registering again once it is back\n");
	xa_for_each(&g->conns, id, vsk) {
		sock_hold(&vsk->sk);
		virt_conn_forget(g, id, vsk);
		virt_core_reset(vsk, -ECONNRESET);
		sock_put(&vsk->sk);
	}
	virt_ring_reset(g);
	spin_lock_bh(&g->incoming_lock);
	list_splice_init(&g->incoming, &stale);
	g->nr_incoming = 0;
	spin_unlock_bh(&g->incoming_lock);
	list_for_each_entry_safe(in, next, &stale, node)
		kfree(in);
	if (!READ_ONCE(g->stopping)) {
		g->hello_tries = 0;
		mod_delayed_work(system_wq, &g->hello_work, virt_hello_delay(g));
	}
}

/* One flush: hand the ring to the host and take its answers. */
static void virt_flush(struct virt_guest *g, bool notify)
{
	bool more = false;
	int loops;

	mutex_lock(&g->flush_mutex);
	hrtimer_try_to_cancel(&g->flush_timer);
	for (loops = 0; loops < 8 && !READ_ONCE(g->dead); loops++) {
		u32 n;
		long r;

		virt_tx_drain_overflow(g);
		virt_rx_topup(g);
		spin_lock_bh(&g->tx_lock);
		n = g->tx_prod - g->tx_flushed;
		/* Descriptors before the index that publishes them. */
		smp_store_release(&g->ring->tx_prod, g->tx_prod);
		g->tx_flushed = g->tx_prod;
		spin_unlock_bh(&g->tx_lock);

		r = virt_hypercall(g, VIRT_HC_FLUSH, notify ? VIRT_FLUSH_NOTIFY : 0);
		atomic64_inc(&g->flushes);
		atomic64_add(n, &g->tx_descs);
		if (r < 0) {
			pr_err_ratelimited("virtsocket: flush failed: %ld\n", r);
			if (r == -VIRT_HC_ENOSYS || r == -ENOTCONN)
				virt_host_gone(g);
			break;
		}
		virt_tx_reclaim(g);
		virt_rx_process(g);
		/* Answers queued while taking events go out in this flush. */
		more = (r & VIRT_FLUSH_MORE) || !list_empty_careful(&g->overflow) ||
		       virt_tx_pending(g);
		if (!more)
			break;
	}
	/* Bounded work here; the rest in the worker, not forgotten. */
	if (more && !READ_ONCE(g->dead))
		queue_work(system_highpri_wq, &g->flush_work);
	/*
	 * Without an interrupt armed, the host relies on our next flush: make
	 * sure there is one, with the interrupt armed, if we go idle.
	 */
	if (!notify && !READ_ONCE(g->dead))
		hrtimer_start(&g->flush_timer, ns_to_ktime(flush_delay_us * NSEC_PER_USEC),
			      HRTIMER_MODE_REL);
	mutex_unlock(&g->flush_mutex);
}

static void virt_flush_work(struct work_struct *work)
{
	struct virt_guest *g = container_of(work, struct virt_guest, flush_work);

	virt_flush(g, true);
}

static enum hrtimer_restart virt_flush_timer(struct hrtimer *t)
{
	struct virt_guest *g = container_of(t, struct virt_guest, flush_timer);

	atomic64_inc(&g->flush_timer_cnt);
	queue_work(system_highpri_wq, &g->flush_work);
	return HRTIMER_NORESTART;
}

/*
 * Something was queued: flush now if @urgent or the batch is full, else
 * (re)arm the idle deadline.  Must be allowed to sleep.
 */
static void virt_kick(struct virt_guest *g, bool urgent)
{
	if (urgent) {
		atomic64_inc(&g->flush_urgent);
		virt_flush(g, true);
	} else if (virt_tx_pending(g) >= flush_batch) {
		atomic64_inc(&g->flush_batch);
		virt_flush(g, false);
	} else if (!hrtimer_active(&g->flush_timer)) {
		hrtimer_start(&g->flush_timer, ns_to_ktime(flush_delay_us * NSEC_PER_USEC),
			      HRTIMER_MODE_REL);
	}
}

static irqreturn_t virt_notify_irq(int irq, void *data)
{
	struct virt_guest *g = data;

	atomic64_inc(&g->interrupts);
	atomic64_inc(&g->flush_irq);
	queue_work(system_highpri_wq, &g->flush_work);
	return IRQ_HANDLED;
}

/* ---- The transport under the socket core ----------------------------------- */

static u32 virt_guest_local_cid(void)
{
	return READ_ONCE(virt_guest.cid);
}

static int virt_handshake(struct virt_guest *g, bool quiet);

/* Callers asking for the host probe at most this often while it is gone. */
#define VIRT_PROBE_MIN_MS	100

/*
 * One probe while not registered: HELLO again, with the ring as the last
 * reset left it.  Under flush_mutex; 0 once registered.
 */
static int virt_rehello(struct virt_guest *g)
{
	int r;

	lockdep_assert_held(&g->flush_mutex);
	g->probe_at = jiffies;
	r = virt_handshake(g, true);
	if (r)
		return r;
	WRITE_ONCE(g->dead, false);
	atomic64_inc(&g->reregistrations);
	pr_info("virtsocket: registered again as CID %u\n", g->cid);
	/* Receive buffers go to the host now, not with the next send. */
	queue_work(system_highpri_wq, &g->flush_work);
	return 0;
}

static void virt_hello_work(struct work_struct *work)
{
	struct virt_guest *g = container_of(to_delayed_work(work),
					    struct virt_guest, hello_work);

	mutex_lock(&g->flush_mutex);
	if (!READ_ONCE(g->stopping) && READ_ONCE(g->dead) && virt_rehello(g))
		schedule_delayed_work(&g->hello_work, virt_hello_delay(g));
	mutex_unlock(&g->flush_mutex);
}

/*
 * Registered with the host, or registered by one more probe (at most one
 * every VIRT_PROBE_MIN_MS, whoever asks: a loop of connect() calls does not
 * turn into a loop of hypercalls).  May sleep.
 */
static bool virt_registered(struct virt_guest *g)
{
	if (!READ_ONCE(g->dead))
		return true;
	mutex_lock(&g->flush_mutex);
	if (READ_ONCE(g->dead) && !READ_ONCE(g->stopping) &&
	    time_after_eq(jiffies, g->probe_at + msecs_to_jiffies(VIRT_PROBE_MIN_MS)))
		virt_rehello(g);
	mutex_unlock(&g->flush_mutex);
	return !READ_ONCE(g->dead);
}

static int virt_guest_connect(struct virt_sock *vsk)
{
	struct virt_guest *g = &virt_guest;
	struct virt_desc d = { .op = VIRT_OP_CONNECT };
	u32 id, epoch;
	int err;

	if (vsk->remote.svirt_cid != VIRT_CID_HOST)
		return -ENETUNREACH;
	epoch = READ_ONCE(g->epoch);
	if (!virt_registered(g))
		return -ENETUNREACH;
	sock_hold(&vsk->sk);
	err = xa_alloc_cyclic_bh(&g->conns, &id, vsk,
				 XA_LIMIT(1, VIRT_CONN_HOST_BASE - 1),
				 &g->next_conn, GFP_KERNEL);
	if (err < 0) {
		sock_put(&vsk->sk);
		return err;
	}
	/* As in virt_rx_connect(): a reset since we looked may have missed us. */
	smp_mb();
	if (READ_ONCE(g->epoch) != epoch) {
		virt_conn_forget(g, id, vsk);
		return -ENETUNREACH;
	}
	vsk->conn = id;
	vsk->tp_conn = g;
	d.conn = id;
	d.addr = (u64)vsk->local.svirt_port << 32 | vsk->remote.svirt_port;
	virt_desc_credit(vsk, &d);
	virt_tx_ctrl_at(g, &d, epoch);
	return 0;
}

static ssize_t virt_guest_send(struct virt_sock *vsk, struct msghdr *msg,
			       size_t len, bool more)
{
	struct virt_guest *g = &virt_guest;
	struct virt_desc d = { .op = VIRT_OP_SEND, .conn = vsk->conn };
	size_t n = min_t(size_t, len, VIRT_MAX_SEND);
	void *buf;
	int err;

	buf = kmalloc(n, GFP_KERNEL | __GFP_NOWARN);
	if (!buf) {
		n = min_t(size_t, n, PAGE_SIZE);
		buf = kmalloc(n, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	if (memcpy_from_msg(buf, msg, n)) {
		kfree(buf);
		return -EFAULT;
	}
	d.addr = virt_to_phys(buf);
	d.len = n;
	virt_desc_credit(vsk, &d);
	for (;;) {
		spin_lock_bh(&g->tx_lock);
		err = list_empty(&g->overflow) ? virt_tx_put(g, &d, buf, -1) : -ENOSPC;
		spin_unlock_bh(&g->tx_lock);
		if (!err)
			break;
		if (err == -ENOTCONN || READ_ONCE(g->dead)) {
			kfree(buf);
			return -ECONNRESET;
		}
		atomic64_inc(&g->flush_full);
		virt_flush(g, false);
	}
	atomic64_add(n, &g->tx_bytes);
	virt_kick(g, vsk->nodelay && !vsk->cork && !more);
	return n;
}

static void virt_guest_credit(struct virt_sock *vsk)
{
	struct virt_desc d = { .op = VIRT_OP_CREDIT, .conn = vsk->conn };

	virt_desc_credit(vsk, &d);
	virt_tx_ctrl(&virt_guest, &d);
	virt_kick(&virt_guest, false);
}

static void virt_guest_shutdown(struct virt_sock *vsk, u8 how)
{
	struct virt_desc d = { .op = VIRT_OP_SHUTDOWN, .conn = vsk->conn,
			       .flags = how };

	virt_desc_credit(vsk, &d);
	virt_tx_ctrl(&virt_guest, &d);
	virt_kick(&virt_guest, true);
}

/*
 * The socket is closing: queued data goes first (ring order), then a full
 * shutdown; or a reset, when asked or for a connection the host never
 * answered.  May run under a listener's lock_sock(), so the flush is left
 * to the worker.
 */
static void virt_guest_release(struct virt_sock *vsk, bool reset)
{
	struct virt_guest *g = &virt_guest;
	struct virt_desc d = { .conn = vsk->conn };

	vsk->tp_conn = NULL;
	if (xa_load(&g->conns, vsk->conn) != vsk)
		return;		/* the host already forgot it */
	if (reset || vsk->sk.sk_state == TCP_SYN_SENT) {
		d.op = VIRT_OP_RESET;
	} else {
		d.op = VIRT_OP_SHUTDOWN;
		d.flags = VIRT_SHUT_RCV | VIRT_SHUT_SEND;
		virt_desc_credit(vsk, &d);
	}
	virt_conn_forget(g, vsk->conn, vsk);
	virt_tx_ctrl(g, &d);
	queue_work(system_highpri_wq, &g->flush_work);
}

static void virt_guest_flush(struct virt_sock *vsk)
{
	atomic64_inc(&virt_guest.flush_wait);
	virt_flush(&virt_guest, true);
}

const struct virt_transport virt_guest_transport = {
	.name = "guest",
	.local_cid = virt_guest_local_cid,
	.connect = virt_guest_connect,
	.send = virt_guest_send,
	.credit = virt_guest_credit,
	.shutdown = virt_guest_shutdown,
	.release = virt_guest_release,
	.flush = virt_guest_flush,
};

/* ---- Set-up: interrupt and handshake ------------------------------------------ */

/*
 * Where our interrupt is now, as the host must raise it: the vector and the
 * physical APIC ID of its CPU.  Not irq_cfg's dest_apicid, which is whatever
 * the APIC driver programs: a logical ID in flat (xAPIC, up to 8 CPUs) and
 * x2APIC cluster mode, and the host delivers in physical mode.
 */
static void virt_irq_dest(struct virt_guest *g, u32 *apic_id, u32 *vector)
{
	struct irq_data *d = irq_get_irq_data(g->irq);
	unsigned int cpu = cpumask_first(irq_data_get_effective_affinity_mask(d));

	*vector = irqd_cfg(d)->vector;
	*apic_id = cpu_physical_id(cpu);
}

/*
 * A vector of our own from the x86 vector domain, reported to the host as
 * (APIC id, vector).  IRQF_NOBALANCING keeps it on one CPU: the host only
 * learns the pair at the handshake.
 */
static int virt_irq_init(struct virt_guest *g)
{
	struct irq_alloc_info info = {};
	int irq, r;

	if (irq_cpu >= 0) {
		if (irq_cpu >= nr_cpu_ids || !cpu_online(irq_cpu)) {
			pr_err("virtsocket: irq_cpu=%d is not an online CPU\n",
			       irq_cpu);
			return -EINVAL;
		}
		info.mask = cpumask_of(irq_cpu);
	}
	irq = irq_domain_alloc_irqs(x86_vector_domain, 1, NUMA_NO_NODE, &info);
	if (irq < 0)
		return irq;
	/* The vector domain sets the chip but no flow handler. */
	irq_set_handler(irq, handle_edge_irq);
	r = request_irq(irq, virt_notify_irq, IRQF_NOBALANCING, "virtsocket", g);
	if (r) {
		irq_dispose_mapping(irq);
		return r;
	}
	g->irq = irq;
	virt_irq_dest(g, &g->apic_id, &g->vector);
	return 0;
}

static void virt_irq_exit(struct virt_guest *g)
{
	free_irq(g->irq, g);
	irq_dispose_mapping(g->irq);
}

static enum cpuhp_state virt_cpuhp_state;

/*
 * A CPU went offline and the vector domain moved our interrupt off it, if it
 * was there (IRQF_NOBALANCING does not stop that): tell the host the new
 * (APIC id, vector), then flush, since the host may have raised the old one
 * meanwhile and will not raise another until a flush asks.  A teardown of a
 * CPUHP_BP_PREPARE_DYN state: it runs on a control CPU once @cpu is dead.
 */
static int virt_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	struct virt_guest *g = hlist_entry(node, struct virt_guest, cpuhp_node);
	u32 apic_id, vector;
	bool told = false;
	long r = 0;

	virt_irq_dest(g, &apic_id, &vector);
	if (apic_id == READ_ONCE(g->apic_id) && vector == READ_ONCE(g->vector))
		return 0;
	mutex_lock(&g->flush_mutex);
	WRITE_ONCE(g->apic_id, apic_id);
	WRITE_ONCE(g->vector, vector);
	/* Unregistered: the next HELLO carries the new pair. */
	if (!READ_ONCE(g->dead)) {
		r = g->features & VIRT_F_NOTIFY_MOVE ?
			virt_hypercall2(g, VIRT_HC_NOTIFY, apic_id, vector) :
			-EOPNOTSUPP;
		told = !r;
	}
	mutex_unlock(&g->flush_mutex);
	atomic64_inc(&g->notify_moves);
	if (r)
		pr_warn("virtsocket: CPU %u went offline: the host did not take the notification vector %u on APIC %u (%ld)\n",
			cpu, vector, apic_id, r);
	else
		pr_info("virtsocket: CPU %u went offline: notification vector %u on APIC %u now%s\n",
			cpu, vector, apic_id,
			told ? "" : " (told at the next registration)");
	schedule_work(&g->flush_work);
	return 0;
}

static int virt_cpuhp_init(struct virt_guest *g)
{
	int r = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN,
					"virtsocket:notify", NULL,
					virt_cpu_dead);

	if (r < 0)
		return r;
	virt_cpuhp_state = r;
	r = cpuhp_state_add_instance_nocalls(virt_cpuhp_state, &g->cpuhp_node);
	if (r)
		cpuhp_remove_multi_state(virt_cpuhp_state);
	return r;
}

/* Also waits for a virt_cpu_dead() in progress. */
static void virt_cpuhp_exit(struct virt_guest *g)
{
	cpuhp_state_remove_instance_nocalls(virt_cpuhp_state, &g->cpuhp_node);
	cpuhp_remove_multi_state(virt_cpuhp_state);
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
	case -EACCES:
		return "host has not enabled AF_VIRT for this VM";
	default:
		return "the host rejected the handshake";
	}
}

/* HELLO; @quiet: a probe, for which no host is no news. */
static int virt_handshake(struct virt_guest *g, bool quiet)
{
	struct virt_hello *h = g->hello;
	long r;

	memset(h, 0, sizeof(*h));
	h->magic = VIRT_HELLO_MAGIC;
	h->guest_version = VIRT_ABI_VERSION;
	h->guest_features = VIRT_F_KNOWN;
	h->ring_gpa = virt_to_phys(g->ring);
	h->ring_entries = g->ring_entries;
	h->apic_id = READ_ONCE(g->apic_id);
	h->vector = READ_ONCE(g->vector);

	r = virt_hypercall(g, VIRT_HC_HELLO, virt_to_phys(h));
	if (r == -EEXIST) {
		/* Left registered by a previous boot or a crashed instance. */
		virt_hypercall(g, VIRT_HC_BYE, 0);
		r = virt_hypercall(g, VIRT_HC_HELLO, virt_to_phys(h));
	}
	if (r) {
		if (!quiet)
			pr_err("virtsocket: handshake failed (%ld): %s\n", r,
			       virt_hello_error(r));
		else if (r != -VIRT_HC_ENOSYS)
			pr_warn_ratelimited("virtsocket: registering again failed (%ld): %s\n",
					    r, virt_hello_error(r));
		return r == -VIRT_HC_ENOSYS ? -ENODEV : -EPROTO;
	}
	if (h->host_version != VIRT_ABI_VERSION || h->cid < VIRT_CID_GUEST_MIN ||
	    h->cid == VIRT_CID_ANY) {
		pr_err("virtsocket: host answered version %u, CID %u\n",
		       h->host_version, h->cid);
		virt_hypercall(g, VIRT_HC_BYE, 0);
		return -EPROTO;
	}
	WRITE_ONCE(g->cid, h->cid);
	g->host_version = h->host_version;
	g->features = h->host_features;
	return 0;
}

/*
 * A reboot (or kexec) leaves the host a ring in memory the next kernel
 * reuses: say goodbye first, and flush no more.
 */
static int virt_guest_reboot(struct notifier_block *nb, unsigned long action,
			     void *data)
{
	struct virt_guest *g = container_of(nb, struct virt_guest, reboot_nb);

	mutex_lock(&g->flush_mutex);
	/* Nor register again: a probe would hand the host that ring anew. */
	WRITE_ONCE(g->stopping, true);
	if (!READ_ONCE(g->dead)) {
		WRITE_ONCE(g->dead, true);
		virt_hypercall(g, VIRT_HC_BYE, 0);
	}
	mutex_unlock(&g->flush_mutex);
	return NOTIFY_DONE;
}

static void virt_guest_free(struct virt_guest *g)
{
	u32 i;

	for (i = 0; g->tx_buf && i < g->ring_entries; i++)
		kfree(g->tx_buf[i]);
	kfree(g->tx_buf);
	kfree(g->tx_rxbuf);
	kfree(g->rx_free);
	for (i = 0; g->rx_pages && i < g->rx_buffers; i++)
		if (g->rx_pages[i])
			__free_pages(g->rx_pages[i], g->rx_order);
	kfree(g->rx_pages);
	bitmap_free(g->rx_posted);
	kfree(g->hello);
	if (g->ring)
		free_pages_exact(g->ring, virt_ring_bytes(g->ring_entries));
}

int virt_guest_init(struct virt_guest *g, u32 ring_entries, u32 rx_buffers,
		    u32 rx_buf_size)
{
	u32 i;
	int r = -ENOMEM;

	if (!virt_ring_entries_valid(ring_entries)) {
		pr_err("virtsocket: ring_entries=%u must be a power of two in %u..%u\n",
		       ring_entries, VIRT_RING_MIN_ENTRIES, VIRT_RING_MAX_ENTRIES);
		return -EINVAL;
	}
	if (!rx_buffers || rx_buffers > ring_entries) {
		pr_err("virtsocket: rx_buffers=%u must be 1..ring_entries\n", rx_buffers);
		return -EINVAL;
	}
	if (!is_power_of_2(rx_buf_size) || rx_buf_size < PAGE_SIZE ||
	    rx_buf_size > VIRT_RX_BUF_MAX) {
		pr_err("virtsocket: rx_buffer_size=%u must be a power of two in %lu..%u\n",
		       rx_buf_size, PAGE_SIZE, VIRT_RX_BUF_MAX);
		return -EINVAL;
	}
	if ((u64)rx_buffers * rx_buf_size > VIRT_RX_POOL_MAX) {
		pr_err("virtsocket: rx_buffers * rx_buffer_size must be at most %u MiB\n",
		       VIRT_RX_POOL_MAX >> 20);
		return -EINVAL;
	}
	g->ring_entries = ring_entries;
	g->rx_buffers = rx_buffers;
	g->rx_buf_size = rx_buf_size;
	g->rx_order = get_order(rx_buf_size);
	spin_lock_init(&g->tx_lock);
	spin_lock_init(&g->rx_lock);
	spin_lock_init(&g->incoming_lock);
	INIT_LIST_HEAD(&g->incoming);
	INIT_WORK(&g->incoming_work, virt_incoming_work);
	INIT_LIST_HEAD(&g->overflow);
	mutex_init(&g->flush_mutex);
	xa_init_flags(&g->conns, XA_FLAGS_ALLOC1 | XA_FLAGS_LOCK_BH);
	hrtimer_init(&g->flush_timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	g->flush_timer.function = virt_flush_timer;
	INIT_WORK(&g->flush_work, virt_flush_work);
	INIT_DELAYED_WORK(&g->hello_work, virt_hello_work);
	g->probe_at = jiffies - msecs_to_jiffies(VIRT_PROBE_MIN_MS);

	g->ring = alloc_pages_exact(virt_ring_bytes(ring_entries),
				    GFP_KERNEL | __GFP_ZERO);
	/* kmalloc() aligns power-of-two sizes: the block stays in one page. */
	g->hello = kzalloc(sizeof(*g->hello), GFP_KERNEL);
	g->tx_buf = kcalloc(ring_entries, sizeof(*g->tx_buf), GFP_KERNEL);
	g->tx_rxbuf = kcalloc(ring_entries, sizeof(*g->tx_rxbuf), GFP_KERNEL);
	g->rx_free = kcalloc(rx_buffers, sizeof(*g->rx_free), GFP_KERNEL);
	g->rx_pages = kcalloc(rx_buffers, sizeof(*g->rx_pages), GFP_KERNEL);
	g->rx_posted = bitmap_zalloc(rx_buffers, GFP_KERNEL);
	if (!g->ring || !g->hello || !g->tx_buf || !g->tx_rxbuf || !g->rx_free ||
	    !g->rx_pages || !g->rx_posted)
		goto err_free;
	g->tx = (void *)g->ring + virt_ring_tx_offset(0);
	g->rx = (void *)g->ring + virt_ring_rx_offset(ring_entries, 0);
	for (i = 0; i < rx_buffers; i++) {
		g->rx_pages[i] = virt_rx_page_alloc(g, i);
		if (!g->rx_pages[i]) {
			pr_err("virtsocket: no memory for %u receive buffers of %u bytes\n",
			       rx_buffers, rx_buf_size);
			goto err_free;
		}
		g->rx_free[i] = i;
	}
	g->rx_nfree = rx_buffers;

	r = virt_irq_init(g);
	if (r)
		goto err_free;
	r = virt_cpuhp_init(g);
	if (r)
		goto err_irq;
	mutex_lock(&g->flush_mutex);	/* against virt_cpu_dead() */
	r = virt_handshake(g, false);
	mutex_unlock(&g->flush_mutex);
	if (r)
		goto err_cpuhp;
	g->reboot_nb.notifier_call = virt_guest_reboot;
	register_reboot_notifier(&g->reboot_nb);
	return 0;

err_cpuhp:
	virt_cpuhp_exit(g);
err_irq:
	virt_irq_exit(g);
err_free:
	virt_guest_free(g);
	return r;
}

/* No sockets exist (each holds a module reference). */
void virt_guest_exit(struct virt_guest *g)
{
	long r;

	/* No probe from now on: hello_work re-arms itself only while !stopping. */
	mutex_lock(&g->flush_mutex);
	WRITE_ONCE(g->stopping, true);
	mutex_unlock(&g->flush_mutex);
	cancel_delayed_work_sync(&g->hello_work);
	unregister_reboot_notifier(&g->reboot_nb);
	hrtimer_cancel(&g->flush_timer);
	cancel_work_sync(&g->flush_work);
	if (!READ_ONCE(g->dead))
		virt_flush(g, false);	/* the last shutdowns and resets */
	/*
	 * That flush armed the idle timer: with no flush from now on, neither
	 * the timer nor its work may outlive the module.
	 */
	WRITE_ONCE(g->dead, true);
	cancel_work_sync(&g->incoming_work);	/* it flushes only while !dead */
	hrtimer_cancel(&g->flush_timer);
	cancel_work_sync(&g->flush_work);
	while (!list_empty(&g->incoming)) {
		struct virt_incoming *in = list_first_entry(&g->incoming,
							    struct virt_incoming, node);

		list_del(&in->node);
		kfree(in);
	}
	r = virt_hypercall(g, VIRT_HC_BYE, 0);
	if (r)
		pr_info("virtsocket: host did not take the goodbye (%ld)\n", r);
	/* The host dropped our buffers with the registration: free them. */
	virt_cpuhp_exit(g);
	virt_irq_exit(g);
	cancel_work_sync(&g->flush_work);
	virt_guest_free(g);
	xa_destroy(&g->conns);
	while (!list_empty(&g->overflow)) {
		struct virt_overflow *o = list_first_entry(&g->overflow,
							   struct virt_overflow, node);

		list_del(&o->node);
		kfree(o);
	}
}
