// SPDX-License-Identifier: GPL-2.0
/*
 * VIRT_HC_FLUSH: one hypercall carries out a batch of the guest's
 * descriptors and hands back everything the host has queued for it.
 *
 * Runs in the guest's vCPU thread, so guest memory is read and written with
 * the vCPU's own accessors.  Every descriptor is copied once into host
 * memory and checked there (a guest rewriting its ring meanwhile changes
 * nothing); the work is bounded by the ring size; nothing here waits for a
 * host reader: data beyond the credit the host gave is refused.
 */
#include <linux/skbuff.h>
#include <linux/slab.h>

#include <virtsocket/ring.h>

#include "validate.h"
#include "virt_host.h"

#define VIRT_HDR_TX_CONS	offsetof(struct virt_ring_hdr, tx_cons)
#define VIRT_HDR_RX_PROD	offsetof(struct virt_ring_hdr, rx_prod)

static int virt_write_u32(struct kvm_vcpu *vcpu, gpa_t gpa, u32 v)
{
	return kvm_vcpu_write_guest(vcpu, gpa, &v, sizeof(v));
}

/* A reset for a connection the host does not know, sent at the next fill. */
static void virt_refuse(struct virt_vm *vm, u32 conn, int err)
{
	spin_lock(&vm->lock);
	if (vm->nr_refusals < ARRAY_SIZE(vm->refusals)) {
		vm->refusals[vm->nr_refusals++] = (struct virt_desc) {
			.op = VIRT_OP_RESET, .conn = conn, .status = err,
		};
	}
	spin_unlock(&vm->lock);
}

/* The connection @id of @vm, with a reference, if it is in the table. */
static struct virt_conn *virt_conn_get(struct virt_vm *vm, u32 id)
{
	struct virt_conn *conn;

	spin_lock(&vm->lock);
	conn = xa_load(&vm->conns, id);
	if (conn && conn->in_table)
		refcount_inc(&conn->ref);
	else
		conn = NULL;
	spin_unlock(&vm->lock);
	return conn;
}

/*
 * A run of the guest's descriptors for one connection.  Its per-connection
 * work is done once, when the run ends, not per descriptor: the guest's
 * credit (the furthest fwd_cnt of the run, its last buf_alloc) with one
 * sk_write_space(), one sk_data_ready() for the data queued, one look at a
 * changed SO_RCVBUF.  Under flush_mutex, on the stack of one flush.
 */
struct virt_tx_run {
	struct virt_conn *conn;	/* the last one looked up, reference held */
	bool credit;		/* @buf_alloc, @fwd_cnt to apply */
	bool data;		/* data queued without a wake-up */
	u32 buf_alloc;
	u32 fwd_cnt;
	u64 bytes;		/* payload of the whole flush, for tx_bytes */
};

/* The guest's credit on a descriptor of the run's connection. */
static void virt_run_credit(struct virt_tx_run *run, const struct virt_desc *d)
{
	/* Descriptors made on two CPUs may carry an older count later. */
	if (!run->credit || (s32)(d->fwd_cnt - run->fwd_cnt) > 0)
		run->fwd_cnt = d->fwd_cnt;
	run->buf_alloc = d->buf_alloc;
	run->credit = true;
}

/* What the run owes its connection's socket, done now. */
static void virt_run_end(struct virt_vm *vm, struct virt_tx_run *run)
{
	struct virt_conn *conn = run->conn;

	if (!conn || (!run->credit && !run->data))
		return;
	if (run->credit)
		virt_core_credit(conn->vsk, run->buf_alloc, run->fwd_cnt);
	if (run->data) {
		virt_core_data_ready(conn->vsk);
		if (virt_core_credit_stale(conn->vsk)) {
			spin_lock(&vm->lock);
			if (conn->in_table)
				virt_conn_mark(conn, VIRT_PEND_CREDIT);
			spin_unlock(&vm->lock);
		}
	}
	run->credit = false;
	run->data = false;
}

/*
 * Connection @id, with the run's reference: the last one looked up while it
 * is still in the table (a lockless look: see virt_conn_unlink()), else
 * after ending the run, a new lookup.  NULL if @id is not in the table.
 */
static struct virt_conn *virt_run_conn(struct virt_vm *vm,
				       struct virt_tx_run *run, u32 id)
{
	if (run->conn && run->conn->id == id && READ_ONCE(run->conn->in_table))
		return run->conn;
	virt_run_end(vm, run);
	if (run->conn)
		virt_conn_put(run->conn);
	run->conn = virt_conn_get(vm, id);
	return run->conn;
}

/*
 * Every page of [@gpa, @gpa + @len) is guest RAM the host may write: not
 * MMIO such as the local APIC's page, nor KVM's private slots, nor a
 * read-only slot (the firmware's ROM), which the write would only fail on
 * later.  Pages of one buffer may lie in different slots: the write looks
 * each page's slot up again.
 */
static bool virt_gpa_writable(struct kvm_vcpu *vcpu, u64 gpa, u32 len)
{
	gfn_t gfn = gpa_to_gfn(gpa), last = gpa_to_gfn(gpa + len - 1);

	/* (kvm_vcpu_gfn_to_memslot() is not exported: two exported looks.) */
	for (; gfn <= last; gfn++)
		if (!kvm_vcpu_is_visible_gfn(vcpu, gfn) ||
		    kvm_is_error_hva(kvm_vcpu_gfn_to_hva(vcpu, gfn)))
			return false;
	return true;
}

/* [@gpa, @gpa + @len) meets @vm's ring (both ranges are below 2^52). */
static bool virt_on_ring(struct virt_vm *vm, u64 gpa, u32 len)
{
	return gpa < vm->ring_gpa + virt_ring_bytes(vm->ring_entries) &&
	       vm->ring_gpa < gpa + len;
}

/* The guest connects to a host port. */
static int virt_tx_connect(struct virt_vm *vm, const struct virt_desc *d)
{
	struct virt_conn *conn, *old;
	struct virt_sock *child;
	bool alive;
	int err;

	conn = virt_conn_alloc(vm, d->conn);
	if (!conn)
		return -ENOMEM;
	spin_lock(&vm->lock);
	if (vm->dead) {
		err = -ECONNRESET;
	} else if (vm->nr_conns >= READ_ONCE(virt_max_conns)) {
		err = -ENOBUFS;
	} else {
		old = xa_cmpxchg(&vm->conns, d->conn, NULL, conn, GFP_ATOMIC);
		err = xa_is_err(old) ? xa_err(old) : old ? -EEXIST : 0;
	}
	if (!err) {
		vm->nr_conns++;
		WRITE_ONCE(conn->in_table, true);
		refcount_inc(&conn->ref);	/* the table's */
	}
	spin_unlock(&vm->lock);
	if (err) {
		virt_conn_put(conn);
		return err;
	}

	/* A refusal by the policy is answered as any other: a RESET. */
	child = NULL;
	err = virt_policy_check(vm, VIRT_CTL_TO_HOST, (u32)d->addr);
	if (!err)
		child = virt_core_incoming((u32)d->addr, vm->cid, d->addr >> 32,
					   d->buf_alloc, d->fwd_cnt, d->conn,
					   conn, &err);
	if (!child) {
		virt_conn_unlink(conn);
		virt_conn_put(conn);
		virt_refuse(vm, d->conn, err);
		return 0;	/* a refusal is an answer, not a bad descriptor */
	}
	/*
	 * A BYE from another vCPU (or the VM's death) may have emptied the
	 * table meanwhile, before this connection had a socket to reset.
	 */
	spin_lock(&vm->lock);
	alive = conn->in_table;
	if (alive) {
		conn->vsk = child;	/* the reference virt_core_incoming() gave us */
		conn->established = true;
		virt_conn_mark(conn, VIRT_PEND_ACCEPT);
	}
	spin_unlock(&vm->lock);
	if (!alive) {
		virt_core_reset(child, -ECONNRESET);
		sock_put(&child->sk);
	}
	return 0;
}

/* Queue a SEND's payload on the run's socket; its wake-up waits for the run. */
static int virt_tx_send(struct kvm_vcpu *vcpu, struct virt_vm *vm,
			struct virt_tx_run *run, const struct virt_desc *d)
{
	struct virt_conn *conn = run->conn;
	struct sk_buff *skb;
	int err;

	if (!conn->established)
		return -ENOTCONN;
	if (d->len <= VIRT_SMALL_SEND) {
		if (kvm_vcpu_read_guest(vcpu, d->addr, vm->small, d->len))
			return -EFAULT;
		err = virt_core_enqueue_copy(conn->vsk, vm->small, d->len, false);
		if (err != -ENOSPC)
			goto out;
		skb = alloc_skb(SKB_WITH_OVERHEAD(PAGE_SIZE), GFP_KERNEL_ACCOUNT);
		if (!skb)
			return -ENOMEM;
		skb_put_data(skb, vm->small, d->len);
	} else {
		skb = alloc_skb(d->len, GFP_KERNEL_ACCOUNT);
		if (!skb)
			return -ENOMEM;
		if (kvm_vcpu_read_guest(vcpu, d->addr, skb_put(skb, d->len), d->len)) {
			kfree_skb(skb);
			return -EFAULT;
		}
	}
	err = virt_core_enqueue(conn->vsk, skb, false);
out:
	if (err)
		return err;
	run->data = true;
	run->bytes += d->len;
	return 0;
}

/*
 * One descriptor, already copied out of guest memory.  *@stale: refused for
 * being late, not malformed: its connection is gone, or its host socket let
 * go of it (the guest may not have seen that event yet when it wrote it).
 */
static int virt_tx_one(struct kvm_vcpu *vcpu, struct virt_vm *vm,
		       struct virt_tx_run *run, const struct virt_desc *d,
		       bool *stale)
{
	struct virt_conn *conn;
	int err = virt_desc_check(d);

	if (err)
		return err;
	switch (d->op) {
	case VIRT_OP_RX_POST:
		/*
		 * Refused when posted, not only dropped when written: data on
		 * the ring would be overwritten by the events and indices the
		 * same flush writes there.
		 */
		if (virt_on_ring(vm, d->addr, d->len))
			return -EINVAL;
		if (!virt_gpa_writable(vcpu, d->addr, d->len))
			return -EFAULT;
		spin_lock(&vm->lock);
		if (vm->rx_count == VIRT_MAX_RX_BUFS) {
			err = -ENOSPC;
		} else {
			u32 i = (vm->rx_head + vm->rx_count++) % VIRT_MAX_RX_BUFS;

			vm->rx_bufs[i] = (struct virt_rx_buf){ d->addr, d->len };
		}
		spin_unlock(&vm->lock);
		return err;
	case VIRT_OP_CONNECT:
		return virt_tx_connect(vm, d);
	}

	conn = virt_run_conn(vm, run, d->conn);
	if (!conn) {
		if (d->op != VIRT_OP_RESET)
			virt_refuse(vm, d->conn, -ECONNRESET);
		*stale = true;
		return -ENOTCONN;
	}
	/*
	 * A connection whose host socket let go of it (closed, or connecting
	 * again) only waits for its end: nothing of it reaches the socket,
	 * which may belong to a new connection by now.
	 */
	if (!virt_conn_owns(conn)) {
		virt_run_end(vm, run);
		err = d->op == VIRT_OP_SEND ? -EPIPE : 0;
		if (d->op == VIRT_OP_RESET || err ||
		    (d->op == VIRT_OP_SHUTDOWN && d->flags == (VIRT_SHUT_RCV | VIRT_SHUT_SEND)))
			virt_conn_unlink(conn);
		if (err)
			virt_refuse(vm, d->conn, -ECONNRESET);
		*stale = true;
		return err;
	}
	/* SENDs and CREDITs make runs; any other op ends one first. */
	if (d->op == VIRT_OP_SEND || d->op == VIRT_OP_CREDIT) {
		if (conn->established)
			virt_run_credit(run, d);
	} else {
		virt_run_end(vm, run);
		if (conn->established || d->op == VIRT_OP_ACCEPT)
			virt_core_credit(conn->vsk, d->buf_alloc, d->fwd_cnt);
	}

	switch (d->op) {
	case VIRT_OP_ACCEPT:
		if (conn->established) {
			err = -EPROTO;
			break;
		}
		spin_lock(&vm->lock);
		conn->established = true;
		spin_unlock(&vm->lock);
		virt_core_connected(conn->vsk, d->buf_alloc, d->fwd_cnt);
		break;
	case VIRT_OP_SEND:
		err = virt_tx_send(vcpu, vm, run, d);
		break;
	case VIRT_OP_SHUTDOWN:
		virt_core_peer_shutdown(conn->vsk, d->flags);
		/* The guest forgets a connection it shut both ways. */
		if (d->flags == (VIRT_SHUT_RCV | VIRT_SHUT_SEND))
			virt_conn_unlink(conn);
		break;
	case VIRT_OP_RESET:
		virt_conn_unlink(conn);
		/* The only reason taken from the guest: a refused connect. */
		virt_core_reset(conn->vsk, !conn->established &&
				d->status == -ECONNREFUSED ? -ECONNREFUSED : -ECONNRESET);
		break;
	}
	/* A guest that breaks the protocol on a connection loses it. */
	if (err && d->op != VIRT_OP_RESET) {
		virt_run_end(vm, run);
		virt_conn_abort(conn, -ECONNRESET);
		if (d->op == VIRT_OP_SEND || d->op == VIRT_OP_ACCEPT) {
			/* Unlinked, its pending reset goes as a refusal. */
			virt_conn_unlink(conn);
			virt_refuse(vm, d->conn, -ECONNRESET);
		}
	}
	return err;
}

/*
 * Consume the guest's descriptors from vm->tx_cons up to @n of them, or
 * until VIRT_FLUSH_TX_BUDGET bytes of SENDs were taken (*@more: some left).
 */
static int virt_tx(struct kvm_vcpu *vcpu, struct virt_vm *vm, u32 n, bool *more)
{
	struct virt_tx_run run = {};
	u32 budget = VIRT_FLUSH_TX_BUDGET;
	int r = 0;

	while (n) {
		u32 slot = virt_ring_slot(vm->tx_cons, vm->ring_entries);
		u32 chunk = virt_ring_run(vm->tx_cons, n, vm->ring_entries);
		gpa_t gpa = vm->ring_gpa + virt_ring_tx_offset(slot);
		u32 i;

		if (kvm_vcpu_read_guest(vcpu, gpa, vm->scratch,
					chunk * sizeof(*vm->scratch))) {
			r = -EFAULT;
			break;
		}
		for (i = 0; i < chunk; i++) {
			const struct virt_desc *d = &vm->scratch[i];
			bool stale = false;
			int err;

			if (d->op == VIRT_OP_SEND) {
				/* (A bad length is refused below, at most this.) */
				u32 len = min(d->len, VIRT_MAX_SEND);

				if (len > budget) {
					*more = true;
					break;
				}
				budget -= len;
			}
			err = virt_tx_one(vcpu, vm, &run, d, &stale);
			if (err) {
				atomic64_inc(stale ? &vm->stale_descs : &vm->bad_descs);
				virt_write_u32(vcpu, gpa + i * sizeof(struct virt_desc) +
					       offsetof(struct virt_desc, status), err);
			}
		}
		atomic64_add(i, &vm->tx_descs);
		vm->tx_cons += i;
		if (i < chunk)
			break;
		n -= chunk;
		cond_resched();
	}
	virt_run_end(vm, &run);
	if (run.conn)
		virt_conn_put(run.conn);
	atomic64_add(run.bytes, &vm->tx_bytes);
	return r;
}

/*
 * Our credit for a connection, as every event carries it: read from its
 * socket once per turn, at its first event (none once let go).
 */
struct virt_rx_credit {
	bool read;
	u32 buf_alloc;
	u32 fwd_cnt;
};

static void virt_fill_credit(struct virt_conn *conn, struct virt_rx_credit *c,
			     struct virt_desc *ev)
{
	ev->conn = conn->id;
	if (!c->read && virt_conn_owns(conn)) {
		virt_core_get_credit(conn->vsk, &c->buf_alloc, &c->fwd_cnt);
		c->read = true;
	}
	if (c->read) {
		ev->buf_alloc = c->buf_alloc;
		ev->fwd_cnt = c->fwd_cnt;
	}
}

/*
 * Fill one posted buffer with the data queued on @conn, from as many skbs
 * as fit: small sends share a buffer and an event.  Returns the bytes
 * written; *@bad if the guest's buffer could not be written (what was
 * written before stands, the rest stays queued).
 */
static u32 virt_rx_pack(struct kvm_vcpu *vcpu, struct virt_vm *vm,
			struct virt_conn *conn, const struct virt_rx_buf *buf,
			bool *bad)
{
	u32 filled = 0;

	while (filled < buf->len) {
		struct sk_buff *skb;
		u32 len;

		spin_lock(&vm->lock);
		skb = __skb_dequeue(&conn->txq);
		spin_unlock(&vm->lock);
		if (!skb)
			break;
		len = min_t(u32, skb->len - conn->tx_off, buf->len - filled);
		*bad = kvm_vcpu_write_guest(vcpu, buf->gpa + filled,
					    skb->data + conn->tx_off, len);
		if (!*bad) {
			filled += len;
			conn->tx_off += len;
		}
		if (*bad || conn->tx_off < skb->len) {
			spin_lock(&vm->lock);
			__skb_queue_head(&conn->txq, skb);
			spin_unlock(&vm->lock);
			break;
		}
		conn->tx_off = 0;
		kfree_skb(skb);
	}
	return filled;
}

/*
 * Data of @conn into the guest's posted buffers: at most @max events and
 * VIRT_FLUSH_QUANTUM bytes, so one busy connection cannot starve the others.
 * Returns the events written to @ev; sets *@starved if buffers ran out.
 */
static u32 virt_rx_data(struct kvm_vcpu *vcpu, struct virt_vm *vm,
			struct virt_conn *conn, struct virt_rx_credit *c,
			struct virt_desc *ev, u32 max, bool *starved, u64 *total)
{
	u32 n = 0, bytes = 0;

	while (n < max && bytes < VIRT_FLUSH_QUANTUM) {
		struct virt_rx_buf buf;
		bool bad = false;
		u32 len;

		spin_lock(&vm->lock);
		if (skb_queue_empty(&conn->txq)) {
			spin_unlock(&vm->lock);
			break;
		}
		if (!vm->rx_count) {
			*starved = true;
			spin_unlock(&vm->lock);
			break;
		}
		buf = vm->rx_bufs[vm->rx_head];
		vm->rx_head = (vm->rx_head + 1) % VIRT_MAX_RX_BUFS;
		vm->rx_count--;
		spin_unlock(&vm->lock);

		len = virt_rx_pack(vcpu, vm, conn, &buf, &bad);
		/* A bad buffer is dropped; its data goes into the next one. */
		if (bad)
			atomic64_inc(&vm->bad_descs);
		if (!len && !bad) {
			/* The queue was purged meanwhile: the buffer is still good. */
			spin_lock(&vm->lock);
			vm->rx_head = (vm->rx_head + VIRT_MAX_RX_BUFS - 1) % VIRT_MAX_RX_BUFS;
			vm->rx_bufs[vm->rx_head] = buf;
			vm->rx_count++;
			spin_unlock(&vm->lock);
			break;
		}
		if (!len)
			continue;
		ev[n++] = (struct virt_desc) {
			.op = VIRT_OP_SEND, .addr = buf.gpa, .len = len,
		};
		virt_fill_credit(conn, c, &ev[n - 1]);
		bytes += len;
	}
	*total += bytes;
	return n;
}

/*
 * Events of one pending connection, in order: its connection request or
 * reply, data, credit, then shutdown once the data is out, or a reset.
 * Returns the number written to @ev (at most @max).
 */
static u32 virt_rx_conn(struct kvm_vcpu *vcpu, struct virt_vm *vm,
			struct virt_conn *conn, struct virt_desc *ev, u32 max,
			bool *starved, u64 *bytes)
{
	struct virt_rx_credit c = {};
	u32 n = 0, pending, left;
	bool unlink = false;
	u8 shut;

	spin_lock(&vm->lock);
	pending = conn->pending;
	conn->pending = 0;
	shut = conn->shut_flags;
	spin_unlock(&vm->lock);

	if (pending & VIRT_PEND_RESET && n < max) {
		ev[n] = (struct virt_desc){ .op = VIRT_OP_RESET, .status = conn->reset_err };
		virt_fill_credit(conn, &c, &ev[n++]);
		pending = 0;
		unlink = true;
	}
	if (pending & VIRT_PEND_CONNECT && n < max) {
		ev[n] = (struct virt_desc) {
			.op = VIRT_OP_CONNECT,
			.addr = (u64)conn->vsk->local.svirt_port << 32 |
				conn->vsk->remote.svirt_port,
		};
		virt_fill_credit(conn, &c, &ev[n++]);
		pending &= ~VIRT_PEND_CONNECT;
	}
	if (pending & VIRT_PEND_ACCEPT && n < max) {
		ev[n] = (struct virt_desc){ .op = VIRT_OP_ACCEPT };
		virt_fill_credit(conn, &c, &ev[n++]);
		pending &= ~VIRT_PEND_ACCEPT;
	}
	if (!unlink && !(pending & (VIRT_PEND_CONNECT | VIRT_PEND_ACCEPT)))
		n += virt_rx_data(vcpu, vm, conn, &c, ev + n, max - n, starved, bytes);
	if (pending & VIRT_PEND_CREDIT && n < max) {
		ev[n] = (struct virt_desc){ .op = VIRT_OP_CREDIT };
		virt_fill_credit(conn, &c, &ev[n++]);
		pending &= ~VIRT_PEND_CREDIT;
	}
	spin_lock(&vm->lock);
	if (pending & VIRT_PEND_SHUTDOWN && n < max && skb_queue_empty(&conn->txq)) {
		ev[n] = (struct virt_desc){ .op = VIRT_OP_SHUTDOWN, .flags = shut };
		spin_unlock(&vm->lock);
		virt_fill_credit(conn, &c, &ev[n++]);
		spin_lock(&vm->lock);
		pending &= ~VIRT_PEND_SHUTDOWN;
		if (conn->closing && shut == (VIRT_SHUT_RCV | VIRT_SHUT_SEND))
			unlink = true;
	}
	left = unlink ? 0 : pending;
	if (conn->in_table && (left || !skb_queue_empty(&conn->txq)))
		virt_conn_mark(conn, left);
	spin_unlock(&vm->lock);
	if (unlink)
		virt_conn_unlink(conn);
	return n;
}

/*
 * Produce up to @space events for the guest; returns how many.  Pending
 * connections take turns of at most VIRT_FLUSH_QUANTUM bytes, round robin,
 * until the ring or the guest's buffers are full or nothing is left.
 * *@starved: data is left for want of buffers, which only the guest's next
 * RX_POST (a flush of its own) can fix, so it is no reason for MORE.
 */
static u32 virt_rx_fill(struct kvm_vcpu *vcpu, struct virt_vm *vm, u32 space,
			bool *starved)
{
	struct virt_desc *ev = vm->scratch;
	struct virt_conn *conn;
	u32 n = 0, turns, before;
	u64 bytes = 0;

	spin_lock(&vm->lock);
	while (vm->nr_refusals && n < space) {
		ev[n++] = vm->refusals[0];
		memmove(vm->refusals, vm->refusals + 1,
			--vm->nr_refusals * sizeof(vm->refusals[0]));
	}
	spin_unlock(&vm->lock);

	do {
		before = n;
		/* One pass: each connection pending now gets one turn. */
		turns = 0;
		spin_lock(&vm->lock);
		list_for_each_entry(conn, &vm->pending, pending_node)
			turns++;
		spin_unlock(&vm->lock);
		while (turns-- && n < space) {
			spin_lock(&vm->lock);
			conn = list_first_entry_or_null(&vm->pending, struct virt_conn,
							pending_node);
			if (conn) {
				list_del_init(&conn->pending_node);
				refcount_inc(&conn->ref);
			}
			spin_unlock(&vm->lock);
			if (!conn)
				break;
			n += virt_rx_conn(vcpu, vm, conn, ev + n, space - n, starved,
					  &bytes);
			virt_conn_put(conn);
		}
	} while (n < space && n > before && !*starved);

	atomic64_add(bytes, &vm->rx_bytes);
	if (*starved)
		atomic64_inc(&vm->buffer_stalls);
	return n;
}

/* Write @n events from vm->scratch at vm->rx_prod. */
static int virt_rx_write(struct kvm_vcpu *vcpu, struct virt_vm *vm, u32 n)
{
	u32 done = 0;

	while (done < n) {
		u32 slot = virt_ring_slot(vm->rx_prod + done, vm->ring_entries);
		u32 chunk = virt_ring_run(vm->rx_prod + done, n - done, vm->ring_entries);

		if (kvm_vcpu_write_guest(vcpu, vm->ring_gpa +
					 virt_ring_rx_offset(vm->ring_entries, slot),
					 vm->scratch + done,
					 chunk * sizeof(*vm->scratch)))
			return -EFAULT;
		done += chunk;
	}
	vm->rx_prod += n;
	atomic64_add(n, &vm->rx_descs);
	return 0;
}

long virt_flush(struct kvm_vcpu *vcpu, struct virt_vm *vm, unsigned long flags)
{
	struct virt_ring_hdr hdr;
	bool starved = false, more = false;
	long r;
	int n, used;
	u32 produced;

	if (flags & ~VIRT_FLUSH_NOTIFY)
		return -EINVAL;
	mutex_lock(&vm->flush_mutex);
	atomic64_inc(&vm->flushes);
	r = -EFAULT;
	if (kvm_vcpu_read_guest(vcpu, vm->ring_gpa, &hdr, sizeof(hdr)))
		goto out;
	r = -EINVAL;
	n = virt_ring_pending(hdr.tx_prod, vm->tx_cons, vm->ring_entries);
	used = virt_ring_pending(vm->rx_prod, hdr.rx_cons, vm->ring_entries);
	if (n < 0 || used < 0)
		goto out;	/* indices the host never produced */

	/* What was carried out is published even if a later run failed. */
	r = virt_tx(vcpu, vm, n, &more);
	if (virt_write_u32(vcpu, vm->ring_gpa + VIRT_HDR_TX_CONS, vm->tx_cons))
		r = -EFAULT;
	if (r)
		goto out;
	r = -EFAULT;

	produced = virt_rx_fill(vcpu, vm, vm->ring_entries - used, &starved);
	if (virt_rx_write(vcpu, vm, produced) ||
	    virt_write_u32(vcpu, vm->ring_gpa + VIRT_HDR_RX_PROD, vm->rx_prod))
		goto out;

	/*
	 * Arm the interrupt and look for work in one go: work queued before
	 * this is answered with MORE, work queued after it finds the interrupt
	 * armed.  Either way the guest hears of it.  Data waiting for buffers
	 * is not work the guest can take now: MORE for it would only make the
	 * guest flush in a loop until it posts some.
	 */
	spin_lock(&vm->lock);
	vm->notify_armed = flags & VIRT_FLUSH_NOTIFY;
	more |= vm->nr_refusals || (!list_empty(&vm->pending) && !starved);
	spin_unlock(&vm->lock);
	r = more ? VIRT_FLUSH_MORE : 0;
out:
	mutex_unlock(&vm->flush_mutex);
	return r;
}
