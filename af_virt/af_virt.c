// SPDX-License-Identifier: GPL-2.0
/*
 * AF_VIRT socket core: SOCK_STREAM semantics of AF_VSOCK/AF_UNIX over a
 * transport (struct virt_transport).  Locking rules: af_virt.h.
 */
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/sched/signal.h>
#include <linux/seq_file.h>
#include <linux/skbuff.h>
#include <linux/sockios.h>
#include <asm/ioctls.h>
#include <net/net_namespace.h>
#include <net/sock.h>

#include "af_virt.h"

#define VIRT_PORT_FIRST_EPHEMERAL	1024U

static const struct virt_transport *virt_tp;
static int virt_family;

static DEFINE_SPINLOCK(virt_table_lock);
static DEFINE_HASHTABLE(virt_bind_table, 8);	/* by local port */
static LIST_HEAD(virt_all_socks);
static u32 virt_next_port;			/* under virt_table_lock */

static struct proto virt_proto = {
	.name = "AF_VIRT",
	.owner = THIS_MODULE,
	.obj_size = sizeof(struct virt_sock),
};

static const struct proto_ops virt_stream_ops;

int virt_core_family(void)
{
	return virt_family;
}

/* ---- Addresses and the bind table ---------------------------------------- */

static int virt_addr_cast(struct sockaddr *addr, int len,
			  struct sockaddr_virt **out)
{
	struct sockaddr_virt *a = (struct sockaddr_virt *)addr;

	if (!addr || len < (int)sizeof(*a))
		return -EINVAL;
	if (a->svirt_family != virt_family)
		return -EAFNOSUPPORT;
	if (a->svirt_flags || a->svirt_zero[0] || a->svirt_zero[1] ||
	    a->svirt_zero[2])
		return -EINVAL;	/* no flags are defined yet */
	*out = a;
	return 0;
}

static struct virt_sock *virt_find_bound(u32 port)
{
	struct virt_sock *vsk;

	lockdep_assert_held(&virt_table_lock);
	hash_for_each_possible(virt_bind_table, vsk, bind_node, port)
		if (vsk->local.svirt_port == port)
			return vsk;
	return NULL;
}

/* Bind @vsk to @port (VIRT_PORT_ANY: an ephemeral one). */
static int virt_bind_port(struct virt_sock *vsk, u32 port)
{
	u32 i;
	int err = 0;

	spin_lock_bh(&virt_table_lock);
	if (vsk->bound) {
		err = -EINVAL;
		goto out;
	}
	if (port == VIRT_PORT_ANY) {
		for (i = 0; i < 1U << 20; i++) {
			port = virt_next_port++;
			if (port < VIRT_PORT_FIRST_EPHEMERAL || port == VIRT_PORT_ANY) {
				virt_next_port = VIRT_PORT_FIRST_EPHEMERAL;
				continue;
			}
			/* Never a port the caller could not bind itself. */
			if (!virt_find_bound(port) &&
			    (!virt_tp->bind_check || !virt_tp->bind_check(port, false)))
				break;
		}
		if (i == 1U << 20) {
			err = -EADDRNOTAVAIL;
			goto out;
		}
	} else if (virt_find_bound(port)) {
		err = -EADDRINUSE;
		goto out;
	}
	vsk->local.svirt_port = port;
	vsk->bound = true;
	hash_add(virt_bind_table, &vsk->bind_node, port);
out:
	spin_unlock_bh(&virt_table_lock);
	return err;
}

static void virt_unbind(struct virt_sock *vsk)
{
	spin_lock_bh(&virt_table_lock);
	if (vsk->bound) {
		hash_del(&vsk->bind_node);
		vsk->bound = false;
	}
	spin_unlock_bh(&virt_table_lock);
}

/* ---- Socket lifetime ------------------------------------------------------ */

static void virt_sk_destruct(struct sock *sk)
{
	skb_queue_purge(&sk->sk_receive_queue);
}

static struct sock *virt_sk_alloc(struct net *net, struct socket *sock,
				  gfp_t gfp, int kern)
{
	struct virt_sock *vsk;
	struct sock *sk;

	sk = sk_alloc(net, virt_family, gfp, &virt_proto, kern);
	if (!sk)
		return NULL;
	sock_init_data(sock, sk);
	sk->sk_destruct = virt_sk_destruct;
	sk->sk_type = SOCK_STREAM;
	sk->sk_protocol = 0;
	sk->sk_rcvbuf = VIRT_DEFAULT_BUF_SIZE;
	sk->sk_sndbuf = VIRT_DEFAULT_BUF_SIZE;
	sk->sk_state = TCP_CLOSE;

	vsk = virt_sk(sk);
	vsk->local.svirt_family = virt_family;
	vsk->local.svirt_cid = VIRT_CID_ANY;
	vsk->local.svirt_port = VIRT_PORT_ANY;
	vsk->remote = vsk->local;
	INIT_LIST_HEAD(&vsk->accept_list);
	INIT_LIST_HEAD(&vsk->accept_node);
	vsk->buf_min = VIRT_MIN_BUF_SIZE;
	vsk->buf_max = VIRT_MAX_BUF_SIZE;
	vsk->connect_timeout = VIRT_CONNECT_TIMEOUT;
	spin_lock_init(&vsk->lock);
	vsk->buf_alloc = VIRT_DEFAULT_BUF_SIZE;

	spin_lock_bh(&virt_table_lock);
	list_add_tail(&vsk->all_node, &virt_all_socks);
	spin_unlock_bh(&virt_table_lock);
	return sk;
}

/* A peer blocked on its own SO_SNDBUF has this much unacknowledged. */
static_assert(VIRT_MIN_BUF_SIZE <= SOCK_MIN_SNDBUF);

/*
 * The receive buffer our credit offers: SO_RCVBUF within buf_min and
 * buf_max (the maximum wins should they cross, as in AF_VSOCK).
 */
static u32 virt_buf_alloc(struct sock *sk)
{
	struct virt_sock *vsk = virt_sk(sk);
	u32 size;

	size = max_t(u32, READ_ONCE(sk->sk_rcvbuf), READ_ONCE(vsk->buf_min));
	return min_t(u32, size, READ_ONCE(vsk->buf_max));
}

static void virt_release_sock(struct sock *sk, int subclass);

/* A new connection: no data either way yet, credit from SO_RCVBUF. */
static void virt_reset_counters(struct virt_sock *vsk)
{
	struct sock *sk = &vsk->sk;

	spin_lock_bh(&vsk->lock);
	__skb_queue_purge(&sk->sk_receive_queue);
	vsk->rx_bytes = 0;
	vsk->rx_off = 0;
	vsk->fwd_cnt = 0;
	vsk->last_fwd_cnt = 0;
	vsk->tx_cnt = 0;
	vsk->peer_fwd_cnt = 0;
	vsk->peer_buf_alloc = 0;
	vsk->buf_alloc = virt_buf_alloc(sk);
	vsk->rx_limit = vsk->buf_alloc;
	spin_unlock_bh(&vsk->lock);
}

static void virt_drop_listener_children(struct sock *listener)
{
	struct virt_sock *lvsk = virt_sk(listener);
	struct virt_sock *child, *tmp;

	list_for_each_entry_safe(child, tmp, &lvsk->accept_list, accept_node) {
		list_del_init(&child->accept_node);
		sk_acceptq_removed(listener);
		child->listener = NULL;
		sock_put(listener);
		/* A child's lock nests inside its listener's. */
		virt_release_sock(&child->sk, SINGLE_DEPTH_NESTING);
	}
}

static void virt_release_sock(struct sock *sk, int subclass)
{
	struct virt_sock *vsk = virt_sk(sk);

	lock_sock_nested(sk, subclass);
	if (sk->sk_state == TCP_LISTEN)
		virt_drop_listener_children(sk);
	if (vsk->tp_conn)
		virt_tp->release(vsk, READ_ONCE(vsk->rx_bytes) ||
				 (sock_flag(sk, SOCK_LINGER) && !sk->sk_lingertime));
	virt_unbind(vsk);
	sk->sk_shutdown = SHUTDOWN_MASK;
	sk->sk_state = TCP_CLOSE;
	sock_orphan(sk);
	release_sock(sk);

	spin_lock_bh(&virt_table_lock);
	list_del_init(&vsk->all_node);
	spin_unlock_bh(&virt_table_lock);
	sock_put(sk);
}

static int virt_release(struct socket *sock)
{
	struct sock *sk = sock->sk;

	if (!sk)
		return 0;
	virt_release_sock(sk, 0);
	sock->sk = NULL;
	sock->state = SS_FREE;
	return 0;
}

static int virt_create(struct net *net, struct socket *sock, int protocol,
		       int kern)
{
	if (!net_eq(net, &init_net))
		return -EAFNOSUPPORT;
	if (sock->type != SOCK_STREAM)
		return -ESOCKTNOSUPPORT;
	if (protocol && protocol != virt_family)
		return -EPROTONOSUPPORT;
	sock->ops = &virt_stream_ops;
	sock->state = SS_UNCONNECTED;
	if (!virt_sk_alloc(net, sock, GFP_KERNEL, kern))
		return -ENOMEM;
	return 0;
}

/* ---- bind, listen, connect, accept ----------------------------------------- */

static int virt_bind(struct socket *sock, struct sockaddr *addr, int len)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	struct sockaddr_virt *a;
	u32 cid;
	int err;

	err = virt_addr_cast(addr, len, &a);
	if (err)
		return err;
	cid = virt_tp->local_cid();
	if (a->svirt_cid != VIRT_CID_ANY && a->svirt_cid != cid)
		return -EADDRNOTAVAIL;
	/* As AF_VSOCK and TCP: a peer trusts a low port to be a service's. */
	if (a->svirt_port < VIRT_PORT_FIRST_EPHEMERAL && !capable(CAP_NET_BIND_SERVICE))
		return -EACCES;
	if (a->svirt_port != VIRT_PORT_ANY && virt_tp->bind_check) {
		err = virt_tp->bind_check(a->svirt_port, true);
		if (err)
			return err;
	}
	lock_sock(sk);
	if (sock->state != SS_UNCONNECTED)
		err = -EINVAL;
	else
		err = virt_bind_port(vsk, a->svirt_port);
	if (!err)	/* as given, like AF_VSOCK: ANY stays ANY */
		vsk->local.svirt_cid = a->svirt_cid;
	release_sock(sk);
	return err;
}

static int virt_autobind(struct virt_sock *vsk)
{
	int err;

	if (vsk->bound)
		return 0;
	err = virt_bind_port(vsk, VIRT_PORT_ANY);
	if (!err)
		vsk->local.svirt_cid = virt_tp->local_cid();
	return err;
}

static int virt_listen(struct socket *sock, int backlog)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	int err = 0;

	lock_sock(sk);
	if (sock->state != SS_UNCONNECTED ||
	    (sk->sk_state != TCP_CLOSE && sk->sk_state != TCP_LISTEN)) {
		err = -EINVAL;
		goto out;
	}
	err = virt_autobind(vsk);
	if (err)
		goto out;
	/* Again for the listener: the rules may have changed since bind(). */
	if (virt_tp->bind_check) {
		err = virt_tp->bind_check(vsk->local.svirt_port, true);
		if (err)
			goto out;
	}
	sk->sk_max_ack_backlog = backlog;
	sk->sk_state = TCP_LISTEN;
out:
	release_sock(sk);
	return err;
}

/*
 * One sleep of a blocking call that owns @sk and prepared @wait: @sk is
 * released while asleep, for at most *@timeout, which is updated.  0 when
 * woken (@wait prepared again), or the errno of a pending signal.
 */
static int virt_sleep(struct sock *sk, struct wait_queue_entry *wait,
		      long *timeout)
{
	release_sock(sk);
	*timeout = schedule_timeout(*timeout);
	lock_sock(sk);
	if (signal_pending(current))
		return sock_intr_errno(*timeout);
	prepare_to_wait(sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
	return 0;
}

/*
 * The connect is given up (timed out, or shut down), unless the peer's
 * answer came first: the state moves under vsk->lock, as
 * virt_core_connected() moves it, so a late answer cannot establish a
 * socket that already gave its connection up.
 */
static bool virt_connect_abandon(struct virt_sock *vsk)
{
	struct sock *sk = &vsk->sk;
	bool abandoned;

	spin_lock_bh(&vsk->lock);
	abandoned = sk->sk_state == TCP_SYN_SENT;
	if (abandoned)
		sk->sk_state = TCP_CLOSE;
	spin_unlock_bh(&vsk->lock);
	return abandoned;
}

static int virt_connect(struct socket *sock, struct sockaddr *addr, int len,
			int flags)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	struct sockaddr_virt *a;
	DEFINE_WAIT(wait);
	long timeout;
	int err;

	lock_sock(sk);
	switch (sock->state) {
	case SS_CONNECTED:
		err = -EISCONN;
		goto out;
	case SS_DISCONNECTING:
		err = -EINVAL;
		goto out;
	case SS_CONNECTING:
		err = -EALREADY;
		if (flags & O_NONBLOCK)
			goto out;
		break;
	default:
		if (sk->sk_state == TCP_LISTEN) {
			err = -EINVAL;
			goto out;
		}
		err = virt_addr_cast(addr, len, &a);
		if (err)
			goto out;
		if (a->svirt_port == VIRT_PORT_ANY) {
			err = -EINVAL;
			goto out;
		}
		if (a->svirt_cid == VIRT_CID_ANY || a->svirt_cid == VIRT_CID_HYPERVISOR ||
		    a->svirt_cid == virt_tp->local_cid()) {
			err = -ENETUNREACH;
			goto out;
		}
		err = virt_autobind(vsk);
		if (err)
			goto out;
		if (vsk->tp_conn)	/* what is left of a failed attempt */
			virt_tp->release(vsk, true);
		vsk->local.svirt_cid = virt_tp->local_cid();
		vsk->remote = *a;
		virt_reset_counters(vsk);
		vsk->peer_shutdown = 0;
		sk->sk_state = TCP_SYN_SENT;
		sk->sk_err = 0;
		/* Before the request: the answer may come during the flush. */
		sock->state = SS_CONNECTING;
		err = virt_tp->connect(vsk);
		if (err) {
			sk->sk_state = TCP_CLOSE;
			sock->state = SS_UNCONNECTED;
			goto out;
		}
		virt_tp->flush(vsk);
		err = -EINPROGRESS;
	}

	/* Non-blocking: -EINPROGRESS even if the answer is already here. */
	if (flags & O_NONBLOCK)
		goto out;
	timeout = vsk->connect_timeout;
	if (sock_sndtimeo(sk, false) != MAX_SCHEDULE_TIMEOUT)
		timeout = min_t(long, timeout, sock_sndtimeo(sk, false));
	prepare_to_wait(sk_sleep(sk), &wait, TASK_INTERRUPTIBLE);
	while (sk->sk_state == TCP_SYN_SENT && !sk->sk_err) {
		err = virt_sleep(sk, &wait, &timeout);
		if (err)
			goto out_wait;
		if (!timeout && virt_connect_abandon(vsk)) {
			err = -ETIMEDOUT;
			sock->state = SS_UNCONNECTED;
			if (vsk->tp_conn)
				virt_tp->release(vsk, true);
			goto out_wait;
		}
	}
	if (sk->sk_err) {
		err = -sk->sk_err;
		sk->sk_err = 0;
		sk->sk_state = TCP_CLOSE;
		sock->state = SS_UNCONNECTED;
	} else if (sk->sk_state == TCP_CLOSE) {
		err = -ECONNRESET;
		sock->state = SS_UNCONNECTED;
	} else {
		err = 0;
		sock->state = SS_CONNECTED;
	}
out_wait:
	finish_wait(sk_sleep(sk), &wait);
out:
	release_sock(sk);
	return err;
}

static struct virt_sock *virt_dequeue_accept(struct sock *listener)
{
	struct virt_sock *lvsk = virt_sk(listener);
	struct virt_sock *child;

	child = list_first_entry_or_null(&lvsk->accept_list, struct virt_sock,
					 accept_node);
	if (child) {
		list_del_init(&child->accept_node);
		sk_acceptq_removed(listener);
		child->listener = NULL;
		sock_put(listener);
	}
	return child;
}

static int virt_accept(struct socket *sock, struct socket *newsock, int flags,
		       bool kern)
{
	struct sock *listener = sock->sk;
	struct virt_sock *child;
	DEFINE_WAIT(wait);
	long timeout;
	int err = 0;

	lock_sock(listener);
	if (listener->sk_state != TCP_LISTEN) {
		err = -EINVAL;
		goto out;
	}
	timeout = sock_rcvtimeo(listener, flags & O_NONBLOCK);
	prepare_to_wait(sk_sleep(listener), &wait, TASK_INTERRUPTIBLE);
	while (!(child = virt_dequeue_accept(listener))) {
		if (!timeout) {
			err = -EAGAIN;
			break;
		}
		err = virt_sleep(listener, &wait, &timeout);
		if (err)
			break;
		if (listener->sk_state != TCP_LISTEN) {
			err = -EINVAL;
			break;
		}
	}
	finish_wait(sk_sleep(listener), &wait);
	if (child) {
		lock_sock_nested(&child->sk, SINGLE_DEPTH_NESTING);
		sock_graft(&child->sk, newsock);
		/* Even if already reset: recv() then reports the error. */
		newsock->state = SS_CONNECTED;
		release_sock(&child->sk);
	}
out:
	release_sock(listener);
	return err;
}

/* ---- Data ----------------------------------------------------------------- */

/* Bytes sent that the peer has not read yet; caller holds vsk->lock. */
static u32 virt_unacked(struct virt_sock *vsk)
{
	lockdep_assert_held(&vsk->lock);
	/* Negative while a send the peer already read is being counted. */
	return max_t(s32, vsk->tx_cnt - vsk->peer_fwd_cnt, 0);
}

/*
 * What we may send now.  Bytes sent and not yet read by the peer stay
 * within the peer's credit and within our SO_SNDBUF (the send buffer holds
 * what is unacknowledged, as TCP's does).  A transport that keeps data
 * queued (the host's) also charges it to the socket, so a peer claiming to
 * have read what it never got cannot grow that queue past SO_SNDBUF.
 */
u32 virt_core_tx_space(struct virt_sock *vsk)
{
	struct sock *sk = &vsk->sk;
	s64 sndbuf = READ_ONCE(sk->sk_sndbuf), space;
	u32 unacked;

	spin_lock_bh(&vsk->lock);
	unacked = virt_unacked(vsk);
	space = min_t(s64, vsk->peer_buf_alloc, sndbuf) - unacked;
	spin_unlock_bh(&vsk->lock);
	space = min(space, sndbuf - sk_wmem_alloc_get(sk));
	return space > 0 ? space : 0;
}

static bool virt_send_blocked(struct sock *sk)
{
	return !sk->sk_err && !(sk->sk_shutdown & SEND_SHUTDOWN) &&
	       !(virt_sk(sk)->peer_shutdown & VIRT_SHUT_RCV) &&
	       sk->sk_state == TCP_ESTABLISHED;
}

static int virt_sendmsg(struct socket *sock, struct msghdr *msg, size_t len)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	size_t sent = 0;
	long timeout;
	int err = 0;

	if (msg->msg_flags & MSG_OOB)
		return -EOPNOTSUPP;
	lock_sock(sk);
	if (msg->msg_namelen) {
		err = sk->sk_state == TCP_ESTABLISHED ? -EISCONN : -EOPNOTSUPP;
		goto out;
	}
	if (sk->sk_err) {
		err = sock_error(sk) ?: -EPIPE;
		goto out_pipe;
	}
	if ((sk->sk_shutdown & SEND_SHUTDOWN) ||
	    (vsk->peer_shutdown & VIRT_SHUT_RCV)) {
		err = -EPIPE;
		goto out_pipe;
	}
	if (sk->sk_state != TCP_ESTABLISHED || !vsk->tp_conn) {
		err = sk->sk_state == TCP_CLOSING ? -EPIPE : -ENOTCONN;
		goto out_pipe;
	}
	timeout = sock_sndtimeo(sk, msg->msg_flags & MSG_DONTWAIT);

	while (sent < len) {
		u32 space;
		ssize_t n;

		add_wait_queue(sk_sleep(sk), &wait);
		while ((space = virt_core_tx_space(vsk)) == 0 &&
		       virt_send_blocked(sk)) {
			if (!timeout) {
				err = -EAGAIN;
				break;
			}
			spin_lock_bh(&vsk->lock);
			vsk->stat_credit_stalls++;
			spin_unlock_bh(&vsk->lock);
			/* About to sleep: whatever is queued must go now. */
			virt_tp->flush(vsk);
			if (virt_core_tx_space(vsk))
				continue;
			release_sock(sk);
			timeout = wait_woken(&wait, TASK_INTERRUPTIBLE, timeout);
			lock_sock(sk);
			if (signal_pending(current)) {
				err = sock_intr_errno(timeout);
				break;
			}
			if (!timeout) {
				err = -EAGAIN;
				break;
			}
		}
		remove_wait_queue(sk_sleep(sk), &wait);
		if (err)
			break;
		if (sk->sk_err) {
			err = -sk->sk_err;
			break;
		}
		if (!virt_send_blocked(sk)) {
			err = -EPIPE;
			break;
		}
		n = virt_tp->send(vsk, msg, min_t(size_t, len - sent, space),
				  (msg->msg_flags & MSG_MORE) || sent + space < len);
		if (n < 0) {
			err = n;
			break;
		}
		spin_lock_bh(&vsk->lock);
		vsk->tx_cnt += n;
		vsk->stat_tx_bytes += n;
		spin_unlock_bh(&vsk->lock);
		sent += n;
	}
	if (sent)
		err = sent;
out_pipe:
	if (err == -EPIPE && !(msg->msg_flags & MSG_NOSIGNAL))
		send_sig(SIGPIPE, current, 0);
out:
	release_sock(sk);
	return err;
}

static bool virt_rx_done(struct sock *sk)
{
	return sk->sk_err || (sk->sk_shutdown & RCV_SHUTDOWN) ||
	       (virt_sk(sk)->peer_shutdown & VIRT_SHUT_SEND) ||
	       (sk->sk_state != TCP_ESTABLISHED && sk->sk_state != TCP_CLOSING);
}

/* Copy up to @len bytes from the receive queue; @peek leaves them there. */
static int virt_rx_copy(struct virt_sock *vsk, struct msghdr *msg, size_t len,
			bool peek)
{
	struct sock *sk = &vsk->sk;
	struct sk_buff *skb;
	size_t copied = 0;
	u32 off;
	bool update = false;

	spin_lock_bh(&vsk->lock);
	skb = skb_peek(&sk->sk_receive_queue);
	off = vsk->rx_off;
	while (skb && copied < len) {
		size_t n = min_t(size_t, skb->len - off, len - copied);
		int err;

		spin_unlock_bh(&vsk->lock);
		err = skb_copy_datagram_msg(skb, off, msg, n);
		spin_lock_bh(&vsk->lock);
		if (err) {
			if (!copied)
				copied = err;
			break;
		}
		copied += n;
		off += n;
		if (off < skb->len)
			break;
		if (peek) {
			skb = skb_peek_next(skb, &sk->sk_receive_queue);
		} else {
			__skb_unlink(skb, &sk->sk_receive_queue);
			kfree_skb(skb);
			skb = skb_peek(&sk->sk_receive_queue);
		}
		off = 0;
	}
	if (!peek && (ssize_t)copied > 0) {
		vsk->rx_off = off;
		vsk->rx_bytes -= copied;
		vsk->fwd_cnt += copied;
		vsk->stat_rx_bytes += copied;
		/*
		 * Every descriptor we send carries our credit; an update of its
		 * own is only needed once the peer may be near its limit.  A
		 * peer blocked on our buffer has buf_alloc bytes unacknowledged,
		 * so half of that consumed triggers one.  A peer blocked on its
		 * own smaller SO_SNDBUF (which we do not know) has at least
		 * 4 KiB unacknowledged (SOCK_MIN_SNDBUF, our minimal buf_alloc),
		 * all of which reach us: so does a drained queue with 4 KiB
		 * consumed since the last update.
		 */
		update = vsk->fwd_cnt - vsk->last_fwd_cnt >= vsk->buf_alloc / 2 ||
			 (!vsk->rx_bytes &&
			  vsk->fwd_cnt - vsk->last_fwd_cnt >= VIRT_MIN_BUF_SIZE);
	}
	spin_unlock_bh(&vsk->lock);
	if (update && vsk->tp_conn)
		virt_tp->credit(vsk);
	return copied;
}

static int virt_recvmsg(struct socket *sock, struct msghdr *msg, size_t len,
			int flags)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	DEFINE_WAIT_FUNC(wait, woken_wake_function);
	size_t copied = 0, target;
	long timeout;
	int err = 0;

	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN || sock->state == SS_UNCONNECTED) {
		err = sk->sk_state == TCP_LISTEN ? -EINVAL : -ENOTCONN;
		goto out;
	}
	if (!len)
		goto out;
	target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
	timeout = sock_rcvtimeo(sk, flags & MSG_DONTWAIT);

	while (copied < len) {
		int n;

		/*
		 * Copy what is there and sleep only when nothing is: the
		 * sender's credit (our buffer) may be smaller than @target.
		 */
		/*
		 * wait_woken(), not prepare_to_wait(): the flush before each
		 * sleep takes a mutex, which must not happen while not
		 * TASK_RUNNING; a wake-up after add_wait_queue() is not lost.
		 */
		add_wait_queue(sk_sleep(sk), &wait);
		while (!READ_ONCE(vsk->rx_bytes) && !virt_rx_done(sk)) {
			if (!timeout) {
				err = -EAGAIN;
				break;
			}
			/* About to sleep: push credit and pull data now. */
			virt_tp->flush(vsk);
			if (READ_ONCE(vsk->rx_bytes))
				break;
			release_sock(sk);
			timeout = wait_woken(&wait, TASK_INTERRUPTIBLE, timeout);
			lock_sock(sk);
			if (signal_pending(current)) {
				err = sock_intr_errno(timeout);
				break;
			}
			if (!timeout) {
				err = -EAGAIN;
				break;
			}
		}
		remove_wait_queue(sk_sleep(sk), &wait);
		if (err && !READ_ONCE(vsk->rx_bytes))
			break;
		err = 0;
		n = virt_rx_copy(vsk, msg, len - copied, flags & MSG_PEEK);
		if (n < 0) {
			err = n;
			break;
		}
		copied += n;
		if (flags & MSG_PEEK || copied >= target || !n)
			break;
	}
	if (copied)
		err = copied;
	else if (!err)
		err = sock_error(sk);	/* 0: end of stream */
out:
	release_sock(sk);
	return err;
}

static __poll_t virt_poll(struct file *file, struct socket *sock,
			  poll_table *wait)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	__poll_t mask = 0;

	poll_wait(file, sk_sleep(sk), wait);
	if (sk->sk_err)
		mask |= EPOLLERR;
	/* Hang-up: both directions closed, or the peer closed entirely. */
	if (sk->sk_shutdown == SHUTDOWN_MASK ||
	    ((sk->sk_shutdown & SEND_SHUTDOWN) &&
	     (vsk->peer_shutdown & VIRT_SHUT_SEND)) ||
	    vsk->peer_shutdown == (VIRT_SHUT_RCV | VIRT_SHUT_SEND))
		mask |= EPOLLHUP;
	if ((sk->sk_shutdown & RCV_SHUTDOWN) ||
	    (vsk->peer_shutdown & VIRT_SHUT_SEND))
		mask |= EPOLLRDHUP | EPOLLIN | EPOLLRDNORM;

	if (sk->sk_state == TCP_LISTEN) {
		if (!list_empty_careful(&vsk->accept_list))
			mask |= EPOLLIN | EPOLLRDNORM;
		return mask;
	}
	if (READ_ONCE(vsk->rx_bytes) >= (u32)sock_rcvlowat(sk, 0, INT_MAX))
		mask |= EPOLLIN | EPOLLRDNORM;
	/* Writable: a send would not block (it may fail, as TCP's would). */
	if (sk->sk_state == TCP_ESTABLISHED && !(sk->sk_shutdown & SEND_SHUTDOWN) &&
	    ((vsk->peer_shutdown & VIRT_SHUT_RCV) || virt_core_tx_space(vsk)))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if ((sk->sk_state == TCP_CLOSE || sk->sk_state == TCP_CLOSING) &&
	    sock->state != SS_UNCONNECTED && !(sk->sk_shutdown & SEND_SHUTDOWN))
		mask |= EPOLLOUT | EPOLLWRNORM;
	if (sk->sk_state == TCP_CLOSE && sock->state == SS_UNCONNECTED &&
	    sk->sk_err)
		mask |= EPOLLOUT | EPOLLWRNORM;
	return mask;
}

static int virt_shutdown(struct socket *sock, int mode)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	u8 how = 0;
	int err = 0;

	/* SHUT_RD = 0, SHUT_WR = 1, SHUT_RDWR = 2, as in every family. */
	mode++;
	if ((mode & ~SHUTDOWN_MASK) || !mode)
		return -EINVAL;
	lock_sock(sk);
	if (sock->state == SS_CONNECTING && virt_connect_abandon(vsk)) {
		/*
		 * As TCP in SYN_SENT: the connect is dropped (a blocked
		 * connect() and SO_ERROR get ECONNRESET, the peer a reset
		 * should it have answered) and the socket may connect again.
		 */
		sock->state = SS_UNCONNECTED;
		sk->sk_err = ECONNRESET;
		sk_error_report(sk);
		if (vsk->tp_conn)
			virt_tp->release(vsk, true);
		goto out;
	}
	if (sock->state == SS_UNCONNECTED) {
		err = -ENOTCONN;
		if (sk->sk_state == TCP_LISTEN && (mode & RCV_SHUTDOWN)) {
			/* Like TCP: wake accept() and refuse new connections. */
			sk->sk_shutdown |= mode;
			virt_drop_listener_children(sk);
			virt_unbind(vsk);
			sk->sk_state = TCP_CLOSE;
			err = 0;
		}
		goto out;
	}
	if (mode & RCV_SHUTDOWN && !(sk->sk_shutdown & RCV_SHUTDOWN))
		how |= VIRT_SHUT_RCV;
	if (mode & SEND_SHUTDOWN && !(sk->sk_shutdown & SEND_SHUTDOWN))
		how |= VIRT_SHUT_SEND;
	sk->sk_shutdown |= mode;
	if (how && vsk->tp_conn && sk->sk_state == TCP_ESTABLISHED)
		virt_tp->shutdown(vsk, how);
out:
	sk->sk_state_change(sk);
	release_sock(sk);
	return err;
}

static int virt_getname(struct socket *sock, struct sockaddr *addr, int peer)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	int err = sizeof(struct sockaddr_virt);

	lock_sock(sk);
	if (peer) {
		if (sock->state != SS_CONNECTED)
			err = -ENOTCONN;
		else
			memcpy(addr, &vsk->remote, sizeof(vsk->remote));
	} else {
		memcpy(addr, &vsk->local, sizeof(vsk->local));
	}
	release_sock(sk);
	return err;
}

/*
 * AF_VSOCK's own options, at the level of our family number as AF_VSOCK has
 * them at AF_VSOCK (net/vmw_vsock/af_vsock.c), so that a vsock program ports
 * by renaming.  The buffer size is our receive buffer, sk_rcvbuf, within our
 * own bounds, so that SO_RCVBUF reads back the same size.
 */
static int virt_vsock_setsockopt(struct sock *sk, int name, sockptr_t val,
				 unsigned int len)
{
	struct virt_sock *vsk = virt_sk(sk);
	struct __kernel_sock_timeval tv;
	long timeout;
	u32 size;
	u64 v;
	int err;

	switch (name) {
	case SO_VM_SOCKETS_BUFFER_SIZE:
	case SO_VM_SOCKETS_BUFFER_MIN_SIZE:
	case SO_VM_SOCKETS_BUFFER_MAX_SIZE:
		if (len < sizeof(v))
			return -EINVAL;
		if (copy_from_sockptr(&v, val, sizeof(v)))
			return -EFAULT;
		size = clamp_t(u64, v, VIRT_MIN_BUF_SIZE, VIRT_MAX_BUF_SIZE);
		lock_sock(sk);
		if (name == SO_VM_SOCKETS_BUFFER_MIN_SIZE)
			WRITE_ONCE(vsk->buf_min, size);
		else if (name == SO_VM_SOCKETS_BUFFER_MAX_SIZE)
			WRITE_ONCE(vsk->buf_max, size);
		else
			WRITE_ONCE(sk->sk_rcvbuf, size);
		/* New bounds clamp the size again, as in AF_VSOCK. */
		WRITE_ONCE(sk->sk_rcvbuf, virt_buf_alloc(sk));
		/* Unlike SO_RCVBUF, tell the peer now, as AF_VSOCK does. */
		if (vsk->tp_conn && sk->sk_state == TCP_ESTABLISHED &&
		    virt_core_credit_stale(vsk))
			virt_tp->credit(vsk);
		release_sock(sk);
		return 0;
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD:
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW:
		err = sock_copy_user_timeval(&tv, val, len,
					     name == SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD);
		if (err)
			return err;
		/* AF_VSOCK's range; it lets a negative tv_usec through. */
		if (tv.tv_sec < 0 || tv.tv_sec >= MAX_SCHEDULE_TIMEOUT / HZ - 1 ||
		    tv.tv_usec < 0 || tv.tv_usec >= USEC_PER_SEC)
			return -ERANGE;
		timeout = tv.tv_sec * HZ + usecs_to_jiffies(tv.tv_usec);
		lock_sock(sk);
		WRITE_ONCE(vsk->connect_timeout, timeout ?: VIRT_CONNECT_TIMEOUT);
		release_sock(sk);
		return 0;
	default:
		/* PEER_HOST_VM_ID, TRUSTED, NONBLOCK_TXRX: AF_VSOCK has none. */
		return -ENOPROTOOPT;
	}
}

static int virt_vsock_getsockopt(struct sock *sk, int name,
				 char __user *optval, int __user *optlen)
{
	struct virt_sock *vsk = virt_sk(sk);
	union {
		u64 val64;
		struct __kernel_sock_timeval tv; /* sock_get_timeout()'s largest */
	} v;
	int lv = sizeof(v.val64);
	int len;

	if (get_user(len, optlen))
		return -EFAULT;
	memset(&v, 0, sizeof(v));
	switch (name) {
	case SO_VM_SOCKETS_BUFFER_SIZE:
		v.val64 = virt_buf_alloc(sk);
		break;
	case SO_VM_SOCKETS_BUFFER_MIN_SIZE:
		v.val64 = READ_ONCE(vsk->buf_min);
		break;
	case SO_VM_SOCKETS_BUFFER_MAX_SIZE:
		v.val64 = READ_ONCE(vsk->buf_max);
		break;
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD:
	case SO_VM_SOCKETS_CONNECT_TIMEOUT_NEW:
		lv = sock_get_timeout(READ_ONCE(vsk->connect_timeout), &v,
				      name == SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD);
		break;
	default:
		return -ENOPROTOOPT;
	}
	if (len < lv)
		return -EINVAL;
	if (copy_to_user(optval, &v, lv) || put_user(lv, optlen))
		return -EFAULT;
	return 0;
}

static int virt_setsockopt(struct socket *sock, int level, int name,
			   sockptr_t val, unsigned int len)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	int v;

	/* Apart from VIRT_SOL: AF_VSOCK's names collide with ours. */
	if (level == virt_family)
		return virt_vsock_setsockopt(sk, name, val, len);
	if (level != VIRT_SOL)
		return -ENOPROTOOPT;
	if (len < sizeof(int))
		return -EINVAL;
	if (copy_from_sockptr(&v, val, sizeof(v)))
		return -EFAULT;
	lock_sock(sk);
	switch (name) {
	case VIRT_NODELAY:
		vsk->nodelay = !!v;
		break;
	case VIRT_CORK:
		vsk->cork = !!v;
		break;
	default:
		release_sock(sk);
		return -ENOPROTOOPT;
	}
	/* Setting no-delay or uncorking pushes what is pending, as TCP does. */
	if (vsk->tp_conn && (vsk->nodelay || !vsk->cork))
		virt_tp->flush(vsk);
	release_sock(sk);
	return 0;
}

static int virt_getsockopt(struct socket *sock, int level, int name,
			   char __user *optval, int __user *optlen)
{
	struct virt_sock *vsk = virt_sk(sock->sk);
	int len, v;

	if (level == virt_family)
		return virt_vsock_getsockopt(sock->sk, name, optval, optlen);
	if (level != VIRT_SOL)
		return -ENOPROTOOPT;
	if (get_user(len, optlen))
		return -EFAULT;
	if (len < (int)sizeof(int))
		return -EINVAL;
	switch (name) {
	case VIRT_NODELAY:
		v = vsk->nodelay;
		break;
	case VIRT_CORK:
		v = vsk->cork;
		break;
	default:
		return -ENOPROTOOPT;
	}
	len = sizeof(int);
	if (put_user(len, optlen) || copy_to_user(optval, &v, len))
		return -EFAULT;
	return 0;
}

/*
 * SIOCINQ: bytes waiting to be read.  SIOCOUTQ: bytes sent that the peer has
 * not yet read (our count of what is unacknowledged, as TCP's counts what
 * the peer has not acknowledged).  A listener has neither (EINVAL, as TCP).
 */
static int virt_ioctl(struct socket *sock, unsigned int cmd, unsigned long arg)
{
	struct sock *sk = sock->sk;
	struct virt_sock *vsk = virt_sk(sk);
	int n;

	if (cmd != SIOCINQ && cmd != SIOCOUTQ)
		return -ENOIOCTLCMD;
	lock_sock(sk);
	if (sk->sk_state == TCP_LISTEN) {
		release_sock(sk);
		return -EINVAL;
	}
	spin_lock_bh(&vsk->lock);
	if (cmd == SIOCINQ)
		n = vsk->rx_bytes;
	else
		n = virt_unacked(vsk);
	spin_unlock_bh(&vsk->lock);
	release_sock(sk);
	return put_user(n, (int __user *)arg);
}

/*
 * .family is informational here (the kernel only compares it with PF_UNIX);
 * the family actually registered is the module parameter.
 */
static const struct proto_ops virt_stream_ops = {
	.family = VIRT_AF_DEFAULT,
	.owner = THIS_MODULE,
	.release = virt_release,
	.bind = virt_bind,
	.connect = virt_connect,
	.socketpair = sock_no_socketpair,
	.accept = virt_accept,
	.getname = virt_getname,
	.poll = virt_poll,
	.ioctl = virt_ioctl,
	.listen = virt_listen,
	.shutdown = virt_shutdown,
	.setsockopt = virt_setsockopt,
	.getsockopt = virt_getsockopt,
	.sendmsg = virt_sendmsg,
	.recvmsg = virt_recvmsg,
	.mmap = sock_no_mmap,
	.sendpage = sock_no_sendpage,
};

/* ---- Transport callbacks ---------------------------------------------------- */

/*
 * The peer opens connection @conn to our @local_port: a child of the
 * listener there, owning @tp_conn, queued for accept(), with a reference for
 * the caller.
 */
struct virt_sock *virt_core_incoming(u32 local_port, u32 remote_cid,
				     u32 remote_port, u32 buf_alloc,
				     u32 fwd_cnt, u32 conn, void *tp_conn,
				     int *err)
{
	struct virt_sock *lvsk, *child;
	struct sock *listener, *sk;

	spin_lock_bh(&virt_table_lock);
	lvsk = virt_find_bound(local_port);
	if (lvsk)
		sock_hold(&lvsk->sk);
	spin_unlock_bh(&virt_table_lock);
	if (!lvsk) {
		*err = -ECONNREFUSED;
		return NULL;
	}
	listener = &lvsk->sk;
	lock_sock(listener);
	if (listener->sk_state != TCP_LISTEN ||
	    (listener->sk_shutdown & RCV_SHUTDOWN)) {
		*err = -ECONNREFUSED;
		goto out_unlock;
	}
	if (sk_acceptq_is_full(listener)) {
		*err = -ECONNREFUSED;
		goto out_unlock;
	}
	sk = virt_sk_alloc(sock_net(listener), NULL, GFP_KERNEL, 0);
	if (!sk) {
		*err = -ENOMEM;
		goto out_unlock;
	}
	child = virt_sk(sk);
	security_sk_clone(listener, sk);
	sk->sk_rcvbuf = listener->sk_rcvbuf;
	sk->sk_sndbuf = listener->sk_sndbuf;
	child->buf_min = lvsk->buf_min;
	child->buf_max = lvsk->buf_max;
	child->connect_timeout = lvsk->connect_timeout;
	child->buf_alloc = virt_buf_alloc(sk);
	child->rx_limit = child->buf_alloc;
	child->nodelay = lvsk->nodelay;
	child->local = lvsk->local;
	child->local.svirt_cid = virt_tp->local_cid();
	child->remote.svirt_cid = remote_cid;
	child->remote.svirt_port = remote_port;
	/* The peer's count of what it consumed starts wherever it says. */
	child->peer_buf_alloc = min_t(u32, buf_alloc, VIRT_MAX_BUF_SIZE);
	child->peer_fwd_cnt = fwd_cnt;
	child->tx_cnt = fwd_cnt;
	child->conn = conn;
	child->tp_conn = tp_conn;
	sk->sk_state = TCP_ESTABLISHED;
	child->listener = listener;
	sock_hold(listener);	/* dropped when dequeued */
	list_add_tail(&child->accept_node, &lvsk->accept_list);
	sk_acceptq_added(listener);
	sock_hold(sk);		/* the caller's */
	listener->sk_data_ready(listener);
	release_sock(listener);
	sock_put(listener);
	*err = 0;
	return child;

out_unlock:
	release_sock(listener);
	sock_put(listener);
	return NULL;
}

/*
 * The peer's credit, checked: its buffer is at most VIRT_MAX_BUF_SIZE, and
 * its count of consumed bytes only moves forward and never past what we
 * sent; otherwise the count stays where it was (descriptors made on two
 * CPUs may carry it out of order, so an old one is no error).  "Sent"
 * includes the one send in progress: the peer may read it before
 * virt_sendmsg() adds it to tx_cnt.
 */
void virt_core_credit(struct virt_sock *vsk, u32 buf_alloc, u32 fwd_cnt)
{
	struct sock *sk = &vsk->sk;

	spin_lock_bh(&vsk->lock);
	vsk->peer_buf_alloc = min_t(u32, buf_alloc, VIRT_MAX_BUF_SIZE);
	if ((u32)(fwd_cnt - vsk->peer_fwd_cnt) <=
	    (u32)(vsk->tx_cnt + VIRT_MAX_SEND - vsk->peer_fwd_cnt))
		vsk->peer_fwd_cnt = fwd_cnt;
	spin_unlock_bh(&vsk->lock);
	sk->sk_write_space(sk);
}

void virt_core_connected(struct virt_sock *vsk, u32 buf_alloc, u32 fwd_cnt)
{
	struct sock *sk = &vsk->sk;

	virt_core_credit(vsk, buf_alloc, fwd_cnt);
	spin_lock_bh(&vsk->lock);
	if (sk->sk_state == TCP_SYN_SENT) {
		sk->sk_state = TCP_ESTABLISHED;
		/* For a non-blocking connect nobody else moves it on. */
		if (sk->sk_socket)
			sk->sk_socket->state = SS_CONNECTED;
	}
	spin_unlock_bh(&vsk->lock);
	sk->sk_state_change(sk);
}

/*
 * Our credit, for a descriptor to the peer: the receive buffer SO_RCVBUF
 * asks for now (larger or smaller) and the bytes our reader consumed.
 */
void virt_core_get_credit(struct virt_sock *vsk, u32 *buf_alloc, u32 *fwd_cnt)
{
	u32 limit;

	spin_lock_bh(&vsk->lock);
	vsk->buf_alloc = virt_buf_alloc(&vsk->sk);
	*buf_alloc = vsk->buf_alloc;
	*fwd_cnt = vsk->fwd_cnt;
	vsk->last_fwd_cnt = vsk->fwd_cnt;
	limit = vsk->fwd_cnt + vsk->buf_alloc;
	if ((s32)(limit - vsk->rx_limit) > 0)
		vsk->rx_limit = limit;
	spin_unlock_bh(&vsk->lock);
}

/*
 * SO_RCVBUF changed since the peer last heard our credit (sock_setsockopt()
 * tells no one; SO_VM_SOCKETS_BUFFER_SIZE does): the transport sends an
 * update when data arrives, so that a smaller buffer stops the peer even if
 * our reader never reads.
 */
bool virt_core_credit_stale(struct virt_sock *vsk)
{
	return virt_buf_alloc(&vsk->sk) != READ_ONCE(vsk->buf_alloc);
}

/*
 * Data from the peer; takes the skb.  Without @wake the caller calls
 * virt_core_data_ready() once for a batch (the host: once per run of the
 * guest's SENDs for one connection in a flush).
 */
int virt_core_enqueue(struct virt_sock *vsk, struct sk_buff *skb, bool wake)
{
	struct sock *sk = &vsk->sk;
	int err = 0;

	spin_lock_bh(&vsk->lock);
	if ((sk->sk_shutdown & RCV_SHUTDOWN) || sk->sk_state == TCP_CLOSE) {
		err = -EPIPE;
	} else if ((s32)(vsk->fwd_cnt + vsk->rx_bytes + skb->len - vsk->rx_limit) >
		   (s32)VIRT_MAX_SEND) {
		err = -ENOBUFS;	/* the peer ignored our credit */
	} else {
		vsk->rx_bytes += skb->len;
		/*
		 * Its memory shows in SO_MEMINFO and sock_diag, as TCP's does;
		 * not an skb with a destructor of its own (the guest's lent
		 * pages): skb_set_owner_r() would run it now, giving the page
		 * back while it still holds data.
		 */
		if (!skb->destructor)
			skb_set_owner_r(skb, sk);
		__skb_queue_tail(&sk->sk_receive_queue, skb);
		skb = NULL;
	}
	spin_unlock_bh(&vsk->lock);
	if (skb)
		kfree_skb(skb);
	else if (wake)
		sk->sk_data_ready(sk);
	return err;
}

void virt_core_data_ready(struct virt_sock *vsk)
{
	vsk->sk.sk_data_ready(&vsk->sk);
}

/*
 * @n bytes at @data appended to the last skb of the receive queue, so that
 * small sends do not cost an skb each; -ENOSPC when it has no room or holds
 * its data in pages (the caller then enqueues an skb of its own), else as
 * virt_core_enqueue().
 */
int virt_core_enqueue_copy(struct virt_sock *vsk, const void *data, u32 n,
			   bool wake)
{
	struct sock *sk = &vsk->sk;
	struct sk_buff *tail;
	int err = 0;

	spin_lock_bh(&vsk->lock);
	tail = skb_peek_tail(&sk->sk_receive_queue);
	if ((sk->sk_shutdown & RCV_SHUTDOWN) || sk->sk_state == TCP_CLOSE) {
		err = -EPIPE;
	} else if ((s32)(vsk->fwd_cnt + vsk->rx_bytes + n - vsk->rx_limit) >
		   (s32)VIRT_MAX_SEND) {
		err = -ENOBUFS;
	} else if (!tail || skb_is_nonlinear(tail) || skb_tailroom(tail) < n) {
		err = -ENOSPC;
	} else {
		/* A reader copies only up to the length it saw under the lock. */
		skb_put_data(tail, data, n);
		vsk->rx_bytes += n;
	}
	spin_unlock_bh(&vsk->lock);
	if (!err && wake)
		sk->sk_data_ready(sk);
	return err;
}

void virt_core_peer_shutdown(struct virt_sock *vsk, u8 how)
{
	struct sock *sk = &vsk->sk;

	spin_lock_bh(&vsk->lock);
	vsk->peer_shutdown |= how & (VIRT_SHUT_RCV | VIRT_SHUT_SEND);
	if (vsk->peer_shutdown == (VIRT_SHUT_RCV | VIRT_SHUT_SEND) &&
	    sk->sk_state == TCP_ESTABLISHED)
		sk->sk_state = TCP_CLOSING;
	spin_unlock_bh(&vsk->lock);
	sk->sk_state_change(sk);
}

/* The connection is gone: @err is 0 for an orderly end. */
void virt_core_reset(struct virt_sock *vsk, int err)
{
	struct sock *sk = &vsk->sk;

	spin_lock_bh(&vsk->lock);
	vsk->peer_shutdown = VIRT_SHUT_RCV | VIRT_SHUT_SEND;
	if (sk->sk_state == TCP_SYN_SENT || err)
		WRITE_ONCE(sk->sk_err, err ? -err : ECONNRESET);
	if (sk->sk_state == TCP_SYN_SENT && sk->sk_socket)
		sk->sk_socket->state = SS_UNCONNECTED;
	sk->sk_state = TCP_CLOSE;
	spin_unlock_bh(&vsk->lock);
	sk->sk_state_change(sk);
	sk_error_report(sk);
}

/* ---- /proc/net/virt ----------------------------------------------------------- */

static int virt_proc_show(struct seq_file *m, void *v)
{
	struct virt_sock *vsk;

	seq_puts(m, "inode st local_cid local_port peer_cid peer_port conn rx_queued tx_inflight tx_bytes rx_bytes credit_stalls\n");
	spin_lock_bh(&virt_table_lock);
	list_for_each_entry(vsk, &virt_all_socks, all_node) {
		struct sock *sk = &vsk->sk;

		spin_lock(&vsk->lock);
		seq_printf(m, "%lu %02X %u %u %u %u %u %u %u %llu %llu %llu\n",
			   sock_i_ino(sk), sk->sk_state, vsk->local.svirt_cid,
			   vsk->local.svirt_port, vsk->remote.svirt_cid,
			   vsk->remote.svirt_port, vsk->conn, vsk->rx_bytes,
			   virt_unacked(vsk), vsk->stat_tx_bytes,
			   vsk->stat_rx_bytes, vsk->stat_credit_stalls);
		spin_unlock(&vsk->lock);
	}
	spin_unlock_bh(&virt_table_lock);
	return 0;
}

/* ---- Registration --------------------------------------------------------------- */

static struct net_proto_family virt_family_ops = {
	.create = virt_create,
	.owner = THIS_MODULE,
};

int virt_core_init(const struct virt_transport *t, int family)
{
	int err;

	virt_tp = t;
	virt_family = family;
	virt_next_port = VIRT_PORT_FIRST_EPHEMERAL +
			 get_random_u32_below(0x40000000);
	virt_family_ops.family = family;
	err = proto_register(&virt_proto, 0);
	if (err)
		return err;
	err = sock_register(&virt_family_ops);
	if (err) {
		pr_err("virtsocket: cannot register address family %d (%d): in use?\n",
		       family, err);
		goto err_proto;
	}
	if (!proc_create_single("virt", 0444, init_net.proc_net, virt_proc_show)) {
		err = -ENOMEM;
		goto err_sock;
	}
	return 0;

err_sock:
	sock_unregister(family);
err_proto:
	proto_unregister(&virt_proto);
	return err;
}

void virt_core_exit(void)
{
	remove_proc_entry("virt", init_net.proc_net);
	sock_unregister(virt_family);
	proto_unregister(&virt_proto);
}
