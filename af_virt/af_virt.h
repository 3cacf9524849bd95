/* SPDX-License-Identifier: GPL-2.0 */
/*
 * AF_VIRT socket core: the family, shared by the guest and the host module,
 * separated from the transport below it by struct virt_transport (the model
 * is net/vmw_vsock/af_vsock.c).
 *
 * Implementation notes
 *
 * - Socket calls run under lock_sock().  The transport calls back into the
 *   core (virt_core_*) from process context (a vCPU's hypercall on the host,
 *   the flush worker in the guest) without lock_sock(): everything it touches
 *   is under the socket's @lock (a BH spinlock) or the table lock.
 * - Only the reader (under lock_sock) and the destructor remove skbs from
 *   sk_receive_queue; the transport only appends, under @lock.  So the reader
 *   may copy from the head skb with @lock dropped.
 * - Connections: a socket with a transport connection holds @conn; the
 *   transport maps ids to sockets and holds a reference for its mapping.
 * - virt_table_lock protects the bind table, every socket's @bound and the
 *   list of all sockets for /proc/net/virt.
 */
#ifndef _AF_VIRT_H
#define _AF_VIRT_H

#include <linux/list.h>
#include <linux/net.h>
#include <linux/spinlock.h>
#include <net/sock.h>
#include <virtsocket/abi.h>

#define VIRT_DEFAULT_BUF_SIZE	(1024 * 1024)
#define VIRT_MIN_BUF_SIZE	4096	/* at most SOCK_MIN_SNDBUF */
#define VIRT_MAX_BUF_SIZE	(8 * 1024 * 1024)
/* Default of SO_VM_SOCKETS_CONNECT_TIMEOUT (AF_VSOCK's is 2 s). */
#define VIRT_CONNECT_TIMEOUT	(10 * HZ)

struct virt_sock {
	struct sock sk;			/* must be first */
	struct sockaddr_virt local;
	struct sockaddr_virt remote;
	struct hlist_node bind_node;	/* under virt_table_lock */
	bool bound;			/* under virt_table_lock */
	struct list_head all_node;	/* under virt_table_lock */

	/* Listener: children not yet accepted; child: its node there. */
	struct list_head accept_list;	/* under lock_sock of the listener */
	struct list_head accept_node;
	struct sock *listener;		/* child, until accepted (ref held) */

	/* Transport connection: id and the transport's own state. */
	u32 conn;
	void *tp_conn;

	/*
	 * SO_VM_SOCKETS_BUFFER_MIN/MAX_SIZE, within VIRT_MIN/MAX_BUF_SIZE:
	 * what SO_RCVBUF is clamped into for our credit.  Set under
	 * lock_sock(), read without it (as sk_rcvbuf is): READ_ONCE().
	 */
	u32 buf_min;
	u32 buf_max;
	/* SO_VM_SOCKETS_CONNECT_TIMEOUT, jiffies: as buf_min. */
	long connect_timeout;

	spinlock_t lock;	/* everything below */
	u32 rx_bytes;		/* bytes in sk_receive_queue */
	u32 rx_off;		/* bytes already read from the head skb */
	u32 buf_alloc;		/* our receive buffer, advertised */
	u32 fwd_cnt;		/* bytes our reader consumed */
	u32 last_fwd_cnt;	/* fwd_cnt the peer last heard of */
	/*
	 * The furthest byte (fwd_cnt + buf_alloc) any credit we gave allows:
	 * a smaller SO_RCVBUF takes effect for new credit, data sent under
	 * the old one is still taken.
	 */
	u32 rx_limit;
	u32 peer_buf_alloc;
	u32 peer_fwd_cnt;
	u32 tx_cnt;		/* bytes handed to the transport */
	u8 peer_shutdown;	/* VIRT_SHUT_* from the peer */
	bool nodelay;
	bool cork;
	u64 stat_tx_bytes;
	u64 stat_rx_bytes;
	u64 stat_credit_stalls;
};

static inline struct virt_sock *virt_sk(const struct sock *sk)
{
	return container_of(sk, struct virt_sock, sk);
}

/*
 * What the family needs from the machine's transport.  Every call but
 * @local_cid runs under lock_sock() of the socket.
 */
struct virt_transport {
	const char *name;
	u32 (*local_cid)(void);
	/* Start connecting vsk->local to vsk->remote; the answer comes later. */
	int (*connect)(struct virt_sock *vsk);
	/* Take up to @len bytes (within credit) from @msg; bytes taken. */
	ssize_t (*send)(struct virt_sock *vsk, struct msghdr *msg, size_t len,
			bool more);
	/* Our reader consumed data: tell the peer our fwd_cnt. */
	void (*credit)(struct virt_sock *vsk);
	void (*shutdown)(struct virt_sock *vsk, u8 how);
	/*
	 * The socket is closing: finish the connection, data first, or with
	 * @reset abort it (the peer sees ECONNRESET), as TCP does when unread
	 * data is left or SO_LINGER is 0.
	 */
	void (*release)(struct virt_sock *vsk, bool reset);
	/* Push what is queued now (no-delay, or about to sleep). */
	void (*flush)(struct virt_sock *vsk);
	/*
	 * Optional (the host's access policy): may the current task bind or
	 * listen on @port?  0 or -errno (then counted if @count).  Called
	 * under virt_table_lock too, without lock_sock(): must not sleep.
	 */
	int (*bind_check)(u32 port, bool count);
};

int virt_core_init(const struct virt_transport *t, int family);
void virt_core_exit(void);
int virt_core_family(void);

/* Called by the transport (see the notes at the top). */
struct virt_sock *virt_core_incoming(u32 local_port, u32 remote_cid,
				     u32 remote_port, u32 buf_alloc,
				     u32 fwd_cnt, u32 conn, void *tp_conn,
				     int *err);
void virt_core_connected(struct virt_sock *vsk, u32 buf_alloc, u32 fwd_cnt);
int virt_core_enqueue(struct virt_sock *vsk, struct sk_buff *skb, bool wake);
void virt_core_credit(struct virt_sock *vsk, u32 buf_alloc, u32 fwd_cnt);
bool virt_core_credit_stale(struct virt_sock *vsk);
int virt_core_enqueue_copy(struct virt_sock *vsk, const void *data, u32 n,
			   bool wake);
void virt_core_data_ready(struct virt_sock *vsk);
void virt_core_get_credit(struct virt_sock *vsk, u32 *buf_alloc, u32 *fwd_cnt);
void virt_core_peer_shutdown(struct virt_sock *vsk, u8 how);
void virt_core_reset(struct virt_sock *vsk, int err);
u32 virt_core_tx_space(struct virt_sock *vsk);

#endif
