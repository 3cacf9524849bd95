/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * The host's control device, VIRT_CTL_DEVICE: which VMs get AF_VIRT.
 *
 * A VM may register with the host module (HELLO) only once the host's
 * administrator enabled it here, by the pid of its VMM process as the
 * caller sees it (a thread-group id; the module keeps a reference on the
 * process, so a recycled pid never inherits an entry).  The guest never
 * names itself: the host matches the VM's creator (struct kvm's
 * userspace_pid) and the process whose vCPU makes the hypercall.  A HELLO
 * of any other VM fails with -EACCES (module parameter open_to_all_vms=1
 * lifts this, for development).
 *
 * Every ioctl needs CAP_NET_ADMIN; the device node is root's (0600).
 * Structures have a fixed size; @version must be VIRT_CTL_VERSION and
 * every reserved field and flag zero, or the call fails with EINVAL.
 *
 * VIRT_CTL_ENABLE: enable the VMM @pid; @cid 0: allocate one (cyclically,
 *	as for any VM), else that CID.  On success @cid holds the CID the VM
 *	gets.  Errors: ESRCH no such process (or not a thread-group leader),
 *	EEXIST @pid is enabled already, EADDRINUSE @cid is in use by a
 *	registered VM or reserved by another entry, EINVAL @cid outside
 *	VIRT_CID_GUEST_MIN..VIRT_CTL_CID_MAX, ENOSPC VIRT_CTL_MAX_ENTRIES
 *	entries exist (or no CID is free).
 * VIRT_CTL_DISABLE: forget @pid's entry and free its CID; a VM registered
 *	through it is unregistered at once (its connections are reset, its
 *	guest's next HELLO fails with -EACCES).  ENOENT: @pid is not enabled.
 * VIRT_CTL_LIST: copy up to @count entries to @entries (a user pointer to
 *	struct virt_ctl_entry[@count]); @count returns how many exist, which
 *	may be more than were copied.
 *
 * Access policy (evaluated by the host module at each connect; a change
 * applies to the next connection at once, established ones are left alone):
 *
 * VIRT_CTL_SET_PORTS: which ports may be reached through @pid's entry in
 *	@direction: VIRT_CTL_TO_HOST, host ports the VM may connect to, or
 *	VIRT_CTL_TO_GUEST, the VM's ports host programs may connect to.
 *	@flags VIRT_CTL_PORTS_ALL: every port (@count must be 0); otherwise
 *	the @count (at most VIRT_CTL_MAX_RANGES) ranges at @ranges (a user
 *	pointer to struct virt_ctl_port_range[@count], lo <= hi), 0: none.
 *	A new entry allows nothing either way (default deny).  Refused
 *	connects fail with EACCES: a host connect() at once, a guest's
 *	connect() by the host's RESET with status -EACCES; each is counted
 *	(sysfs policy_denied, /proc/virtsocket/vms column policy_denied).  A
 *	VM without an entry (open_to_all_vms=1) may reach every port.
 *	ENOENT: @pid is not enabled; EINVAL: a bad range or count.
 * VIRT_CTL_GET_PORTS: @pid's policy in @direction: @flags, and in @count
 *	how many ranges there are; up to the @count given are copied.
 * VIRT_CTL_BIND_ADD / VIRT_CTL_BIND_DEL: a host bind rule.  A host socket
 *	may bind a port covered by a rule only if a covering rule names its
 *	effective uid (VIRT_CTL_BIND_UID) or one of its groups
 *	(VIRT_CTL_BIND_GID), else bind() fails with EACCES (counted in
 *	policy_denied); ports no rule covers stay open.  The same holds for
 *	listen() on the port (a socket autobound by connect() cannot listen
 *	on a ruled port), and autobind skips ruled ports the caller may not
 *	bind.  Root gets no exemption: name uid 0 in a rule.  Ports below
 *	1024 need CAP_NET_BIND_SERVICE besides, rule or not.  At most
 *	VIRT_CTL_MAX_BIND_RULES rules (ENOSPC), no duplicate (EEXIST); DEL
 *	removes the identical rule (ENOENT).  A rule applies to the next
 *	bind(); sockets already bound keep their port.
 * VIRT_CTL_BIND_LIST: as VIRT_CTL_LIST, of struct virt_ctl_bind_rule.
 *
 * An entry ends with DISABLE, with the VM that registered through it (KVM's
 * VM destroy notifier), with its VMM process (an entry whose process has
 * exited matches nothing and is dropped at the next ioctl), and with the
 * module.  The CID stays the VM's across guest module reloads meanwhile.
 */
#ifndef _VIRTSOCKET_CTL_H
#define _VIRTSOCKET_CTL_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

#define VIRT_CTL_DEVICE		"/dev/virtsocket"
#define VIRT_CTL_VERSION	1U
/* Entries the host keeps at most. */
#define VIRT_CTL_MAX_ENTRIES	1024U
/* Highest CID VIRT_CTL_ENABLE accepts (lowest: VIRT_CID_GUEST_MIN, 3). */
#define VIRT_CTL_CID_MAX	0x7fffffffU

struct virt_ctl_enable {
	__u32 version;		/* VIRT_CTL_VERSION */
	__s32 pid;		/* VMM's thread-group id, caller's namespace */
	__u32 cid;		/* in: 0 or the CID wanted; out: the CID */
	__u32 flags;		/* none defined: 0 */
	__u64 reserved[2];	/* 0 */
};

struct virt_ctl_disable {
	__u32 version;
	__s32 pid;
	__u64 reserved[3];
};

/* struct virt_ctl_entry.state */
#define VIRT_CTL_STATE_WAITING		0	/* no VM registered through it yet */
#define VIRT_CTL_STATE_BOUND		1	/* its VM registered, now or before */
#define VIRT_CTL_STATE_REGISTERED	2	/* its VM is registered now */

struct virt_ctl_entry {
	__s32 pid;		/* 0: not in the caller's pid namespace */
	__u32 cid;
	__u32 flags;
	__u32 state;		/* VIRT_CTL_STATE_* */
	__u64 reserved;
};

struct virt_ctl_list {
	__u32 version;
	__u32 count;		/* in: room at @entries; out: entries that exist */
	__u64 entries;		/* user pointer to struct virt_ctl_entry[] */
	__u64 reserved[2];
};

/* struct virt_ctl_ports.direction */
#define VIRT_CTL_TO_HOST	0	/* the VM connects to host ports */
#define VIRT_CTL_TO_GUEST	1	/* host programs connect to the VM */
/* struct virt_ctl_ports.flags */
#define VIRT_CTL_PORTS_ALL	_BITUL(0)
/* Port ranges of one entry in one direction, at most. */
#define VIRT_CTL_MAX_RANGES	64U

struct virt_ctl_port_range {
	__u32 lo;
	__u32 hi;		/* inclusive */
};

struct virt_ctl_ports {
	__u32 version;
	__s32 pid;
	__u32 direction;	/* VIRT_CTL_TO_* */
	__u32 flags;		/* VIRT_CTL_PORTS_ALL or 0 */
	__u32 count;		/* ranges at @ranges (GET: in room, out total) */
	__u32 reserved0;
	__u64 ranges;		/* user pointer to struct virt_ctl_port_range[] */
	__u64 reserved[2];
};

/* struct virt_ctl_bind_rule.kind */
#define VIRT_CTL_BIND_UID	0
#define VIRT_CTL_BIND_GID	1
/* Host bind rules in all, at most. */
#define VIRT_CTL_MAX_BIND_RULES	256U

struct virt_ctl_bind_rule {
	__u32 version;		/* VIRT_CTL_VERSION (0 in a BIND_LIST) */
	__u32 kind;		/* VIRT_CTL_BIND_* */
	__u32 id;		/* uid or gid, caller's user namespace */
	__u32 lo;
	__u32 hi;		/* inclusive, lo <= hi < VIRT_PORT_ANY */
	__u32 reserved0;
	__u64 reserved;
};

struct virt_ctl_bind_list {
	__u32 version;
	__u32 count;		/* in: room at @rules; out: rules that exist */
	__u64 rules;		/* user pointer to struct virt_ctl_bind_rule[] */
	__u64 reserved[2];
};

#define VIRT_CTL_IOC_MAGIC	0xA7
#define VIRT_CTL_ENABLE		_IOWR(VIRT_CTL_IOC_MAGIC, 1, struct virt_ctl_enable)
#define VIRT_CTL_DISABLE	_IOW(VIRT_CTL_IOC_MAGIC, 2, struct virt_ctl_disable)
#define VIRT_CTL_LIST		_IOWR(VIRT_CTL_IOC_MAGIC, 3, struct virt_ctl_list)
#define VIRT_CTL_SET_PORTS	_IOW(VIRT_CTL_IOC_MAGIC, 4, struct virt_ctl_ports)
#define VIRT_CTL_GET_PORTS	_IOWR(VIRT_CTL_IOC_MAGIC, 5, struct virt_ctl_ports)
#define VIRT_CTL_BIND_ADD	_IOW(VIRT_CTL_IOC_MAGIC, 6, struct virt_ctl_bind_rule)
#define VIRT_CTL_BIND_DEL	_IOW(VIRT_CTL_IOC_MAGIC, 7, struct virt_ctl_bind_rule)
#define VIRT_CTL_BIND_LIST	_IOWR(VIRT_CTL_IOC_MAGIC, 8, struct virt_ctl_bind_list)

#ifdef __KERNEL__
#include <linux/build_bug.h>
#else
#include <assert.h>
#endif
static_assert(sizeof(struct virt_ctl_enable) == 32, "virt_ctl_enable size");
static_assert(sizeof(struct virt_ctl_disable) == 32, "virt_ctl_disable size");
static_assert(sizeof(struct virt_ctl_entry) == 24, "virt_ctl_entry size");
static_assert(sizeof(struct virt_ctl_list) == 32, "virt_ctl_list size");
static_assert(sizeof(struct virt_ctl_port_range) == 8, "virt_ctl_port_range size");
static_assert(sizeof(struct virt_ctl_ports) == 48, "virt_ctl_ports size");
static_assert(sizeof(struct virt_ctl_bind_rule) == 32, "virt_ctl_bind_rule size");
static_assert(sizeof(struct virt_ctl_bind_list) == 32, "virt_ctl_bind_list size");

#endif /* _VIRTSOCKET_CTL_H */
