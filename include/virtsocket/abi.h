/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * virtsocket ABI: the one definition shared by the guest module, the host
 * module and user space (C and C++).
 *
 * Three interfaces live here:
 *  - the socket address and run-time discovery files (user space <-> kernel),
 *    defined in <virtsocket/virt.h>, the header applications include;
 *  - the hypercall and handshake (guest module <-> host module);
 *  - the shared descriptor ring in guest memory (guest module <-> host module).
 *
 * Every structure has a fixed size and layout checked at compile time, in C
 * and in C++, by the static_assert()s at the bottom of this file.
 */
#ifndef _VIRTSOCKET_ABI_H
#define _VIRTSOCKET_ABI_H

#include <linux/const.h>
#include <linux/types.h>
#include <virtsocket/virt.h>	/* sockaddr_virt, VIRT_SOL, CIDs, ports */
#ifdef __KERNEL__
#include <linux/build_bug.h>
#include <linux/stddef.h>
#else
#include <assert.h>
#include <stddef.h>
#endif

/* ---- Hypercall and handshake --------------------------------------------- */

/*
 * The host module services KVM_HC_MODULE (added by kvm-patch/), chosen far
 * from upstream's sequential numbers 1..12 and the 13 that research patches
 * reuse.  a0 selects the operation; the return value is 0 or a negative
 * Linux errno (or -KVM_ENOSYS, 1000, when the host module is absent).
 */
#define VIRT_HC_NR		0x10000UL
#define VIRT_HC_ENOSYS		1000L	/* KVM_ENOSYS */

/*
 * HELLO fails with -EACCES when the host's administrator has not enabled
 * this VM (<virtsocket/ctl.h>): the guest has no AF_VIRT until it does.
 */
enum virt_hc_op {
	VIRT_HC_HELLO = 1,	/* a1 = GPA of struct virt_hello */
	VIRT_HC_BYE = 2,	/* unregister this VM's ring */
	VIRT_HC_FLUSH = 3,	/* process the ring (data path) */
	VIRT_HC_NOTIFY = 4,	/* a1 = APIC id, a2 = vector: interrupt moved */
};

#define VIRT_ABI_VERSION	1U
#define VIRT_HELLO_MAGIC	0x76697274U	/* "virt" */

/* Feature bits, offered by the guest and masked by the host. */
#define VIRT_F_NOTIFY_IRQ	_BITULL(0)	/* guest wants interrupts */
#define VIRT_F_STREAM		_BITULL(1)	/* SOCK_STREAM */
#define VIRT_F_NOTIFY_MOVE	_BITULL(2)	/* VIRT_HC_NOTIFY */
#define VIRT_F_KNOWN		(VIRT_F_NOTIFY_IRQ | VIRT_F_STREAM | VIRT_F_NOTIFY_MOVE)

/*
 * Handshake block, in guest memory, 64-byte aligned (so it never crosses a
 * page).  The guest fills the first half; the host validates all of it and,
 * on success, fills the second half.
 */
struct virt_hello {
	/* guest -> host */
	__u32 magic;
	__u32 guest_version;
	__u64 guest_features;
	__u64 ring_gpa;			/* page aligned */
	__u32 ring_entries;		/* descriptors per direction */
	__u32 apic_id;			/* physical APIC ID taking notifications */
	__u32 vector;			/* notification vector, 32..255 */
	__u32 reserved0;
	/* host -> guest */
	__u32 host_version;
	__u32 cid;
	__u64 host_features;
	__u64 reserved1;
};

#define VIRT_HELLO_ALIGN	64

/* ---- Descriptor ring ----------------------------------------------------- */

/*
 * One region of guest memory, registered at the handshake: a header, then
 * the tx ring (guest -> host), then the rx ring (host -> guest), each of
 * ring_entries descriptors.  Indices are free running u32s; slot = index &
 * (entries - 1).
 *
 * tx: the guest writes descriptors, then tx_prod, then issues VIRT_HC_FLUSH.
 *     Inside that hypercall the host copies each descriptor once (later
 *     rewrites by the guest are ignored), validates it, carries it out
 *     (payload is copied straight out of guest memory) and advances tx_cons.
 *     A descriptor the host refuses gets a negative errno in its status
 *     field; the guest may reuse every slot and buffer below tx_cons as soon
 *     as the hypercall returns.
 * rx: inside the same hypercall the host writes events (connection
 *     requests, replies, data in buffers the guest posted with
 *     VIRT_OP_RX_POST, credit, shutdown, reset) and advances rx_prod; the
 *     guest consumes them and advances rx_cons.  The host never writes guest
 *     memory outside a hypercall: when it has new work for a guest that
 *     asked for it (VIRT_FLUSH_NOTIFY), it raises the guest's vector once,
 *     and the guest answers with a flush.
 */
#define VIRT_RING_MIN_ENTRIES	16U
#define VIRT_RING_MAX_ENTRIES	4096U
#define VIRT_RING_ALIGN		4096U

struct virt_ring_hdr {
	__u32 tx_prod;		/* guest writes */
	__u32 tx_cons;		/* host writes */
	__u32 rx_prod;		/* host writes */
	__u32 rx_cons;		/* guest writes */
	__u32 reserved[12];
};

/* VIRT_HC_FLUSH: a1 = flags below; returns VIRT_FLUSH_* bits or -errno. */
#define VIRT_FLUSH_NOTIFY	_BITUL(0)	/* a1: interrupt me for new work */
#define VIRT_FLUSH_MORE		_BITUL(0)	/* return: flush again, work left */

enum virt_op {
	/*
	 * tx: open connection @conn (guest-chosen, < VIRT_CONN_HOST_BASE) from
	 *     port addr >> 32 to the host's port (u32)addr.
	 * rx: the host's port addr >> 32 connects to this guest's port
	 *     (u32)addr as connection @conn (host-chosen).
	 */
	VIRT_OP_CONNECT = 1,
	/* tx: accept the host's @conn.  rx: the host accepted @conn. */
	VIRT_OP_ACCEPT = 2,
	/* tx: @len bytes at @addr for @conn.  rx: @len bytes of @conn were
	 * written at @addr, the start of a buffer posted with RX_POST.
	 */
	VIRT_OP_SEND = 3,
	/*
	 * tx: a buffer of @len bytes at @addr the host may fill (no @conn):
	 *     in guest RAM (-EFAULT otherwise) and off the ring (-EINVAL).
	 *     Buffers may overlap one another: the guest's own business.
	 */
	VIRT_OP_RX_POST = 4,
	/* both: the sender will not send (VIRT_SHUT_SEND) / receive more. */
	VIRT_OP_SHUTDOWN = 5,
	/* both: @conn is gone; rx @status says why (-ECONNREFUSED, ...). */
	VIRT_OP_RESET = 6,
	/* both: credit update only. */
	VIRT_OP_CREDIT = 7,
	VIRT_OP_MAX = VIRT_OP_CREDIT,
};

#define VIRT_SHUT_RCV		1U
#define VIRT_SHUT_SEND		2U

/* Connection ids at or above this are chosen by the host. */
#define VIRT_CONN_HOST_BASE	0x80000000U

#define VIRT_MAX_SEND		65536U	/* payload bytes per tx SEND */
#define VIRT_RX_BUF_MIN		512U
#define VIRT_RX_BUF_MAX		65536U

/*
 * Every descriptor also carries the sender's credit for @conn (as vsock
 * does): buf_alloc is its receive buffer size, fwd_cnt the bytes its reader
 * has consumed.  A peer may have at most buf_alloc - (sent - fwd_cnt) bytes
 * in flight; the host refuses data past that with -ENOBUFS and resets.
 */
struct virt_desc {
	__u16 op;		/* enum virt_op */
	__u16 flags;		/* VIRT_SHUT_* for SHUTDOWN */
	__u32 conn;		/* connection id */
	__u64 addr;		/* guest-physical address, or ports */
	__u32 len;
	__s32 status;		/* 0, or -errno set by the host */
	__u32 buf_alloc;
	__u32 fwd_cnt;
};

static inline __u64 virt_ring_bytes(__u32 entries)
{
	__u64 raw = sizeof(struct virt_ring_hdr) +
		    2ULL * entries * sizeof(struct virt_desc);

	return (raw + VIRT_RING_ALIGN - 1) & ~(__u64)(VIRT_RING_ALIGN - 1);
}

static inline __u64 virt_ring_tx_offset(__u32 slot)
{
	return sizeof(struct virt_ring_hdr) + (__u64)slot * sizeof(struct virt_desc);
}

static inline __u64 virt_ring_rx_offset(__u32 entries, __u32 slot)
{
	return virt_ring_tx_offset(entries) + (__u64)slot * sizeof(struct virt_desc);
}

static inline int virt_ring_entries_valid(__u32 entries)
{
	return entries >= VIRT_RING_MIN_ENTRIES &&
	       entries <= VIRT_RING_MAX_ENTRIES &&
	       (entries & (entries - 1)) == 0;
}

/* ---- Layout checks --------------------------------------------------------- */

#define VIRT_ABI_CHECK(type, size)                                      \
	static_assert(sizeof(struct type) == (size), #type " size")

#define VIRT_ABI_CHECK_OFF(type, field, off)                            \
	static_assert(offsetof(struct type, field) == (off),          \
			#type "." #field " offset")

VIRT_ABI_CHECK(sockaddr_virt, 16);
VIRT_ABI_CHECK_OFF(sockaddr_virt, svirt_port, 4);
VIRT_ABI_CHECK_OFF(sockaddr_virt, svirt_cid, 8);
VIRT_ABI_CHECK_OFF(sockaddr_virt, svirt_flags, 12);
VIRT_ABI_CHECK(virt_hello, 64);
VIRT_ABI_CHECK_OFF(virt_hello, ring_gpa, 16);
VIRT_ABI_CHECK_OFF(virt_hello, vector, 32);
VIRT_ABI_CHECK_OFF(virt_hello, host_version, 40);
VIRT_ABI_CHECK_OFF(virt_hello, cid, 44);
VIRT_ABI_CHECK_OFF(virt_hello, host_features, 48);
VIRT_ABI_CHECK(virt_ring_hdr, 64);
VIRT_ABI_CHECK_OFF(virt_ring_hdr, rx_cons, 12);
VIRT_ABI_CHECK(virt_desc, 32);
VIRT_ABI_CHECK_OFF(virt_desc, addr, 8);
VIRT_ABI_CHECK_OFF(virt_desc, status, 20);
VIRT_ABI_CHECK_OFF(virt_desc, fwd_cnt, 28);

#endif /* _VIRTSOCKET_ABI_H */
