// SPDX-License-Identifier: GPL-2.0
/*
 * Connections between host AF_VIRT sockets and guests: the host's transport
 * under the socket core.  Host sockets only queue work here (data, control)
 * and kick the guest; the guest's next flush hypercall carries it out
 * (hypercall.c), so guest memory is touched only in the guest's own vCPU.
 * Locking rules: virt_host.h.
 */
#include <linux/skbuff.h>
#include <linux/slab.h>

#include "virt_host.h"

/* Allocated struct virt_conn (leak checks). */
static atomic_t virt_conns_live = ATOMIC_INIT(0);

unsigned int virt_conn_live(void)
{
	return atomic_read(&virt_conns_live);
}

static u32 virt_host_local_cid(void)
{
	return VIRT_CID_HOST;
}

/* A connection of @vm, with one reference for its socket. */
struct virt_conn *virt_conn_alloc(struct virt_vm *vm, u32 id)
{
	struct virt_conn *conn = kzalloc(sizeof(*conn), GFP_KERNEL_ACCOUNT);

	if (!conn)
		return NULL;
	atomic_inc(&virt_conns_live);
	refcount_set(&conn->ref, 1);
	conn->id = id;
	conn->vm = vm;
	kref_get(&vm->ref);
	INIT_LIST_HEAD(&conn->pending_node);
	skb_queue_head_init(&conn->txq);
	return conn;
}

void virt_conn_put(struct virt_conn *conn)
{
	if (!refcount_dec_and_test(&conn->ref))
		return;
	skb_queue_purge(&conn->txq);
	if (conn->vsk)
		sock_put(&conn->vsk->sk);
	virt_vm_put(conn->vm);
	kfree(conn);
	atomic_dec(&virt_conns_live);
}

/*
 * Queue @conn for the guest's next flush.  Under vm->lock.  The pending
 * list holds no reference: only a connection in the table may be on it.
 */
void virt_conn_mark(struct virt_conn *conn, u32 what)
{
	lockdep_assert_held(&conn->vm->lock);
	if (WARN_ON_ONCE(!conn->in_table))
		return;
	conn->pending |= what;
	if (list_empty(&conn->pending_node))
		list_add_tail(&conn->pending_node, &conn->vm->pending);
}

/*
 * @conn is still its socket's connection: the socket has not released it
 * (closed, or connecting again).  vsk->tp_conn is written under the
 * socket's lock; this lockless look can be stale only towards "not", for a
 * socket releasing it right now, whose connection then ends anyway.
 */
bool virt_conn_owns(struct virt_conn *conn)
{
	return conn->vsk && READ_ONCE(conn->vsk->tp_conn) == conn;
}

/* Take @conn out of its VM's table; drops the table's reference. */
void virt_conn_unlink(struct virt_conn *conn)
{
	struct virt_vm *vm = conn->vm;
	bool put = false;

	spin_lock(&vm->lock);
	if (conn->in_table) {
		xa_erase(&vm->conns, conn->id);
		vm->nr_conns--;
		WRITE_ONCE(conn->in_table, false);
		list_del_init(&conn->pending_node);
		conn->pending = 0;
		put = true;
	}
	spin_unlock(&vm->lock);
	if (put)
		virt_conn_put(conn);
}

/* The VM is gone: every connection ends with @err. */
void virt_conn_kill_all(struct virt_vm *vm, int err)
{
	struct virt_conn *conn;
	unsigned long id = 0;

	for (;;) {
		spin_lock(&vm->lock);
		conn = xa_find(&vm->conns, &id, ULONG_MAX, XA_PRESENT);
		if (conn)
			refcount_inc(&conn->ref);
		spin_unlock(&vm->lock);
		if (!conn)
			break;
		virt_conn_unlink(conn);
		if (conn->vsk)
			virt_core_reset(conn->vsk, err);
		virt_conn_put(conn);
	}
}

/* Guest @conn's peer protocol was broken: reset both ends. */
void virt_conn_abort(struct virt_conn *conn, int err)
{
	spin_lock(&conn->vm->lock);
	if (conn->in_table) {
		conn->reset_err = err;
		virt_conn_mark(conn, VIRT_PEND_RESET);
	}
	spin_unlock(&conn->vm->lock);
	if (conn->vsk)
		virt_core_reset(conn->vsk, err);
}

/*
 * Queue @what for @conn, with @skb or the @n bytes at @data, and kick the
 * guest.  @data goes into the tailroom of the last queued skb: -ENOSPC if it
 * does not fit there.  -ECONNRESET when the connection or its VM is gone.
 */
static int virt_conn_queue(struct virt_conn *conn, u32 what, struct sk_buff *skb,
			   const void *data, u32 n)
{
	struct virt_vm *vm = conn->vm;
	struct sk_buff *tail;
	int err = 0;

	spin_lock(&vm->lock);
	tail = skb_peek_tail(&conn->txq);
	if (vm->dead || !conn->in_table) {
		err = -ECONNRESET;
	} else if (data && (!tail || skb_tailroom(tail) < n)) {
		err = -ENOSPC;
	} else {
		if (data)
			skb_put_data(tail, data, n);
		if (skb)
			__skb_queue_tail(&conn->txq, skb);
		virt_conn_mark(conn, what);
	}
	spin_unlock(&vm->lock);
	if (!err)
		virt_vm_kick(vm);
	return err;
}

static int virt_host_connect(struct virt_sock *vsk)
{
	struct virt_vm *vm = virt_vm_get_by_cid(vsk->remote.svirt_cid);
	struct virt_conn *conn;
	u32 id;
	int err;

	if (!vm)
		return -EHOSTUNREACH;
	err = virt_policy_check(vm, VIRT_CTL_TO_GUEST, vsk->remote.svirt_port);
	if (err) {
		virt_vm_put(vm);
		return err;
	}
	conn = virt_conn_alloc(vm, 0);
	virt_vm_put(vm);
	if (!conn)
		return -ENOMEM;
	sock_hold(&vsk->sk);
	conn->vsk = vsk;

	spin_lock(&vm->lock);
	if (vm->dead)
		err = -EHOSTUNREACH;
	else if (vm->nr_conns >= READ_ONCE(virt_max_conns))
		err = -ENOBUFS;
	else
		err = xa_alloc_cyclic(&vm->conns, &id, conn,
				      XA_LIMIT(VIRT_CONN_HOST_BASE, U32_MAX),
				      &vm->next_host_conn, GFP_ATOMIC);
	if (err >= 0) {
		err = 0;
		conn->id = id;
		vm->nr_conns++;
		WRITE_ONCE(conn->in_table, true);
		refcount_inc(&conn->ref);	/* the table's */
		virt_conn_mark(conn, VIRT_PEND_CONNECT);
	}
	spin_unlock(&vm->lock);
	if (err) {
		virt_conn_put(conn);
		return err;
	}
	vsk->conn = id;
	vsk->tp_conn = conn;
	virt_vm_kick(vm);
	return 0;
}

/*
 * Small sends share skbs (a page each, with room to spare): an skb per send
 * would cost an allocation per send here and a receive buffer per send in
 * the guest.  They are copied to the stack first, as the queue's lock is
 * held to append them.
 */
#define VIRT_SEND_SMALL		256
#define VIRT_SEND_ROOM		SKB_WITH_OVERHEAD(PAGE_SIZE)

static ssize_t virt_host_send(struct virt_sock *vsk, struct msghdr *msg,
			      size_t len, bool more)
{
	struct sk_buff *skb;
	size_t n = min_t(size_t, len, VIRT_MAX_SEND);
	int err;

	if (n <= VIRT_SEND_SMALL) {
		u8 small[VIRT_SEND_SMALL];

		if (memcpy_from_msg(small, msg, n))
			return -EFAULT;
		err = virt_conn_queue(vsk->tp_conn, 0, NULL, small, n);
		if (err != -ENOSPC)
			return err ?: n;
		skb = alloc_skb(VIRT_SEND_ROOM, GFP_KERNEL);
		if (!skb)
			return -ENOMEM;
		skb_put_data(skb, small, n);
	} else {
		skb = alloc_skb(n, GFP_KERNEL);
		if (!skb)
			return -ENOMEM;
		err = memcpy_from_msg(skb_put(skb, n), msg, n);
		if (err) {
			kfree_skb(skb);
			return err;
		}
	}
	/*
	 * Charged to the sender until the guest has it: the queue is bounded
	 * by SO_SNDBUF (virt_core_tx_space()) whatever credit the guest claims.
	 */
	skb_set_owner_w(skb, &vsk->sk);
	err = virt_conn_queue(vsk->tp_conn, 0, skb, NULL, 0);
	if (err) {
		kfree_skb(skb);
		return err;
	}
	return n;
}

static void virt_host_credit(struct virt_sock *vsk)
{
	virt_conn_queue(vsk->tp_conn, VIRT_PEND_CREDIT, NULL, NULL, 0);
}

static void virt_host_shutdown(struct virt_sock *vsk, u8 how)
{
	struct virt_conn *conn = vsk->tp_conn;

	spin_lock(&conn->vm->lock);
	conn->shut_flags |= how;
	spin_unlock(&conn->vm->lock);
	virt_conn_queue(conn, VIRT_PEND_SHUTDOWN, NULL, NULL, 0);
}

/*
 * The host socket is closing.  Queued data still goes to the guest, then a
 * full shutdown; with @reset, a reset instead.  A connection the guest never
 * answered is forgotten at once, so that connects to a silent guest do not
 * pile up: a request not yet sent is dropped, and a late answer to one that
 * was draws a reset (an unknown connection).
 */
static void virt_host_release(struct virt_sock *vsk, bool reset)
{
	struct virt_conn *conn = vsk->tp_conn;
	struct virt_vm *vm = conn->vm;
	bool unlink = false;

	vsk->tp_conn = NULL;
	spin_lock(&vm->lock);
	conn->closing = true;
	if (conn->in_table) {
		if (!conn->established) {
			unlink = true;
		} else if (reset) {
			skb_queue_purge(&conn->txq);
			conn->reset_err = -ECONNRESET;
			virt_conn_mark(conn, VIRT_PEND_RESET);
		} else if (vsk->peer_shutdown == (VIRT_SHUT_RCV | VIRT_SHUT_SEND) &&
			   skb_queue_empty(&conn->txq)) {
			unlink = true;
		} else {
			conn->shut_flags = VIRT_SHUT_RCV | VIRT_SHUT_SEND;
			virt_conn_mark(conn, VIRT_PEND_SHUTDOWN);
		}
	}
	spin_unlock(&vm->lock);
	if (unlink)
		virt_conn_unlink(conn);
	else
		virt_vm_kick(vm);
	virt_conn_put(conn);	/* the socket's */
}

static void virt_host_flush(struct virt_sock *vsk)
{
	/* Host work reaches the guest with the kick already sent. */
}

const struct virt_transport virt_host_transport = {
	.name = "host",
	.local_cid = virt_host_local_cid,
	.connect = virt_host_connect,
	.send = virt_host_send,
	.credit = virt_host_credit,
	.shutdown = virt_host_shutdown,
	.release = virt_host_release,
	.flush = virt_host_flush,
	.bind_check = virt_policy_bind_check,
};
