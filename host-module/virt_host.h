/* SPDX-License-Identifier: GPL-2.0 */
/*
 * virtsocket host module: internal interfaces.
 *
 * Implementation notes
 *
 * - One struct virt_vm per VM that completed the handshake, counted by
 *   @ref: the registry holds one reference while the VM is registered, every
 *   connection holds one, and a hypercall in flight holds one.  The
 *   virt_vm is keyed by its struct kvm but holds no reference on it: KVM's
 *   destroy notifier unregisters it.  @kvm may be used only by the VM's own
 *   vCPUs, or with a reference taken by kvm_get_kvm_safe() under @lock while
 *   !@dead (the notifier sets @dead under @lock before KVM frees the kvm).
 * - virt_vms_mutex serialises changes to the registry (hash table, CIDs)
 *   and to the entries of enabled VMs (vm.c: struct virt_enabled); lookups
 *   walk the registry under RCU and take a reference with
 *   kref_get_unless_zero() (zero: unregistered and going away).
 * - A VM registers only through an entry the administrator made on the
 *   control device (ctl.c), matched in its vCPU by its VMM process, unless
 *   open_to_all_vms is set.  The entry owns the CID; it ends with DISABLE,
 *   with the VM (destroy notifier), with its VMM process (pruned at the
 *   next control call) or with the module.
 * - vm->lock (spinlock) protects the connection table, the pending list, the
 *   posted receive buffers, the refusals, @dead, @notify_armed, the
 *   notification target (@apic_id, @vector: VIRT_HC_NOTIFY moves it), and every
 *   field of struct virt_conn marked so.  It is never held together with a
 *   socket's lock: take one, drop it, take the other.
 * - vm->flush_mutex serialises flushes of one VM (its vCPUs may race); the
 *   host's copies of the ring indices live under it.
 * - A connection holds a reference on its socket and on its VM; the VM's
 *   table holds the connection until it is finished.
 * - The access policy (policy.c) is read under RCU on the connect and bind
 *   paths; its arrays are replaced under its own virt_policy_mutex.  A VM
 *   registered through an entry holds a reference on the entry's policy
 *   (@policy, constant); one registered without (open_to_all_vms) has none.
 */
#ifndef _VIRT_HOST_H
#define _VIRT_HOST_H

#include <linux/kvm_host.h>
#include <linux/hashtable.h>
#include <linux/kref.h>
#include <linux/refcount.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <virtsocket/abi.h>
#include <virtsocket/ctl.h>

#include "../af_virt/af_virt.h"

/* Receive buffers the guest may have posted and not yet had filled. */
#define VIRT_MAX_RX_BUFS	1024
/* Connections of one VM, both ways (module parameter max_conns_per_vm). */
#define VIRT_MAX_CONNS_DEFAULT	1024
extern unsigned int virt_max_conns;
/* CIDs the host hands out, cyclically. */
#define VIRT_CID_GUEST_MAX	0x7fffffffU
/*
 * Guest SENDs up to this size are copied into the receiver's last skb when
 * it has room (a page-sized skb otherwise): an skb per small send would
 * cost far more memory than the credit it uses.
 */
#define VIRT_SMALL_SEND		2048
/*
 * Guest payload one flush copies at most before it answers MORE and leaves
 * the rest of the ring for the next: a hypercall's time stays bounded.
 */
#define VIRT_FLUSH_TX_BUDGET	(4 * 1024 * 1024)
/* Bytes of one connection per flush before the next connection's turn. */
#define VIRT_FLUSH_QUANTUM	(64 * 1024)

struct virt_rx_buf {
	u64 gpa;
	u32 len;
};

struct virt_vm {
	struct kref ref;
	struct hlist_node node;		/* written under virt_vms_mutex, RCU */
	struct rcu_head rcu;
	struct kvm *kvm;		/* see the notes above */
	u32 cid;
	bool cid_from_entry;		/* @cid is its entry's: constant */
	pid_t pid;			/* the VMM's process */
	/* Set by the handshake, constant afterwards (but the two under @lock). */
	u64 ring_gpa;
	u32 ring_entries;
	u32 apic_id;			/* under @lock */
	u32 vector;			/* under @lock */
	u64 features;
	struct virt_policy *policy;	/* constant; reference held, or NULL */

	struct mutex flush_mutex;	/* one flush at a time */
	u32 tx_cons;			/* under flush_mutex */
	u32 rx_prod;			/* under flush_mutex */
	struct virt_desc *scratch;	/* under flush_mutex */
	u8 *small;			/* under flush_mutex: VIRT_SMALL_SEND bytes */

	spinlock_t lock;		/* see the notes above */
	bool dead;
	bool notify_armed;
	struct xarray conns;		/* id -> struct virt_conn */
	u32 nr_conns;			/* in @conns */
	struct list_head pending;	/* virt_conn.pending_node */
	u32 next_host_conn;
	struct virt_rx_buf *rx_bufs;	/* ring of posted buffers */
	u32 rx_head, rx_count;
	struct virt_desc refusals[64];	/* resets for unknown connections */
	u32 nr_refusals;

	atomic64_t hypercalls;
	atomic64_t errors;		/* hypercalls answered with an error */
	atomic64_t irqs;		/* interrupts injected */
	atomic64_t flushes;
	atomic64_t tx_descs;		/* descriptors consumed */
	atomic64_t rx_descs;		/* events produced */
	atomic64_t bad_descs;		/* descriptors refused as malformed */
	atomic64_t stale_descs;		/* refused: for a connection gone */
	atomic64_t tx_bytes;		/* guest -> host payload */
	atomic64_t rx_bytes;		/* host -> guest payload */
	atomic64_t buffer_stalls;	/* flushes that ran out of guest buffers */
	atomic64_t policy_denied;	/* connects refused by the policy */
};

/* Pending work of a connection, for the next flush. */
#define VIRT_PEND_CONNECT	BIT(0)
#define VIRT_PEND_ACCEPT	BIT(1)
#define VIRT_PEND_CREDIT	BIT(2)
#define VIRT_PEND_SHUTDOWN	BIT(3)
#define VIRT_PEND_RESET		BIT(4)

struct virt_conn {
	refcount_t ref;			/* the socket's, the table's, users' */
	u32 id;
	struct virt_vm *vm;		/* reference held */
	struct virt_sock *vsk;		/* reference held; set before use */
	/* Under vm->lock: */
	struct list_head pending_node;
	u32 pending;			/* VIRT_PEND_* */
	u8 shut_flags;
	int reset_err;
	bool established;
	bool closing;			/* the host socket was released */
	bool in_table;			/* also read locklessly: virt_run_conn() */
	struct sk_buff_head txq;	/* data for the guest */
	u32 tx_off;			/* bytes of the head skb already sent */
};

/* Global counters, including hypercalls from VMs that never registered. */
struct virt_host_stats {
	atomic64_t hypercalls;
	atomic64_t rejected;
};

extern struct virt_host_stats virt_stats;

/* vm.c */
int virt_vms_init(void);
void virt_vms_exit(void);
struct virt_vm *virt_vm_alloc(struct kvm *kvm, u32 ring_entries);
bool virt_vm_admitted(struct kvm *kvm);
int virt_vm_register(struct virt_vm *vm);
int virt_vm_unregister_kvm(struct kvm *kvm);
void virt_vm_unregister(struct virt_vm *vm);
struct virt_vm *virt_vm_get(struct kvm *kvm);
struct virt_vm *virt_vm_get_by_cid(u32 cid);
void virt_vm_put(struct virt_vm *vm);
void virt_vm_kick(struct virt_vm *vm);
unsigned int virt_vm_count(void);
unsigned int virt_vm_live(void);
unsigned int virt_cid_count(void);
int virt_vm_enable(pid_t nr, u32 cid, u32 flags);
int virt_vm_disable(pid_t nr);
unsigned int virt_vm_list(struct virt_ctl_entry *out, unsigned int room);
struct virt_policy *virt_vm_policy(pid_t nr);
unsigned int virt_enabled_count(void);
u64 virt_not_enabled_count(void);
bool virt_open_to_all(void);

/* policy.c: the access policy */
struct virt_policy;
struct virt_policy *virt_policy_alloc(void);
void virt_policy_get(struct virt_policy *pol);
void virt_policy_put(struct virt_policy *pol);
int virt_policy_check(struct virt_vm *vm, unsigned int dir, u32 port);
int virt_policy_set(struct virt_policy *pol, unsigned int dir, u32 flags,
		    const struct virt_ctl_port_range *r, u32 nr);
u32 virt_policy_get_ports(struct virt_policy *pol, unsigned int dir,
			  u32 *flags, struct virt_ctl_port_range *r, u32 room);
int virt_policy_bind_check(u32 port, bool count);
int virt_policy_bind_change(const struct virt_ctl_bind_rule *a, bool add);
u32 virt_policy_bind_list(struct virt_ctl_bind_rule *out, u32 room);
u64 virt_policy_denied_count(void);
void virt_policy_exit(void);

/* ctl.c: the control device */
int virt_ctl_init(void);
void virt_ctl_exit(void);

/* conn.c: connections between host sockets and guests */
extern const struct virt_transport virt_host_transport;
struct virt_conn *virt_conn_alloc(struct virt_vm *vm, u32 id);
void virt_conn_put(struct virt_conn *conn);
void virt_conn_mark(struct virt_conn *conn, u32 what);
void virt_conn_unlink(struct virt_conn *conn);
bool virt_conn_owns(struct virt_conn *conn);
void virt_conn_abort(struct virt_conn *conn, int err);
void virt_conn_kill_all(struct virt_vm *vm, int err);
unsigned int virt_conn_live(void);

/* flush.c */
long virt_flush(struct kvm_vcpu *vcpu, struct virt_vm *vm, unsigned long flags);

/* hypercall.c */
unsigned long virt_hypercall(struct kvm_vcpu *vcpu, unsigned long op,
			     unsigned long a1, unsigned long a2,
			     unsigned long a3);

#endif
