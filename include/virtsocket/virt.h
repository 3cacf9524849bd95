/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * AF_VIRT for applications: what <linux/vm_sockets.h> is to AF_VSOCK.
 * C and C++, user space and kernel.  Socket address, option names, CID and
 * port constants, and where to find the family number.
 *
 * The hypercall, the handshake block and the descriptor ring are the two
 * modules' business and live in <virtsocket/abi.h>, which includes this
 * header; applications need only this one.
 *
 * The family number is not a constant: out-of-tree code cannot add an AF_*,
 * so the modules take one as their "family" parameter (VIRT_AF_DEFAULT
 * unless told otherwise) and publish the number in use in
 * VIRT_SYSFS_DIR "/family".  Read it from there before socket():
 *
 *	int af = <number read from /sys/kernel/virtsocket/family>;
 *	int fd = socket(af, SOCK_STREAM, 0);
 *	struct sockaddr_virt sa = { .svirt_family = af,
 *				    .svirt_port = 5000,
 *				    .svirt_cid = VIRT_CID_HOST };
 *	connect(fd, (struct sockaddr *)&sa, sizeof(sa));
 */
#ifndef _VIRTSOCKET_VIRT_H
#define _VIRTSOCKET_VIRT_H

#include <linux/types.h>
#include <linux/vm_sockets.h>	/* SO_VM_SOCKETS_*, for the family level */

/*
 * Default address family number.  Out-of-tree code cannot raise AF_MAX, so
 * virtsocket takes a slot left free in Linux 6.1 and 6.12: 23 was AF_IRDA,
 * removed in 4.17.  The modules take it as the "family" parameter and
 * publish the value in use in VIRT_SYSFS_DIR "/family"; user space must
 * read it from there rather than use this constant.
 */
#define VIRT_AF_DEFAULT		23

/* Run-time discovery: one directory on whichever side is loaded. */
#define VIRT_SYSFS_DIR		"/sys/kernel/virtsocket"
/* Files in it: "family" (number), "role" ("guest"/"host"), "cid" (own CID). */

#define VIRT_CID_ANY		0xffffffffU
#define VIRT_CID_HYPERVISOR	0U
#define VIRT_CID_LOCAL		1U
#define VIRT_CID_HOST		2U
#define VIRT_CID_GUEST_MIN	3U	/* the host assigns guests CIDs from here */
#define VIRT_PORT_ANY		0xffffffffU

/* Laid out like struct sockaddr_vm, so vsock tools port by renaming. */
struct sockaddr_virt {
	__u16 svirt_family;		/* sa_family_t */
	__u16 svirt_reserved1;
	__u32 svirt_port;
	__u32 svirt_cid;
	__u8 svirt_flags;
	__u8 svirt_zero[3];
};

/*
 * setsockopt() level of AF_VIRT's own options (levels are per family, so any
 * number outside SOL_SOCKET's works; this one reads "VS" in a trace).
 */
#define VIRT_SOL		0x5653
/* int booleans with TCP_NODELAY / TCP_CORK semantics */
#define VIRT_NODELAY		1	/* flush the ring at once on send */
#define VIRT_CORK		2	/* hold partial data until uncorked */

/*
 * At the level of the family number itself, as AF_VSOCK has them at level
 * AF_VSOCK: AF_VSOCK's own options, by <linux/vm_sockets.h>'s names.  Their
 * numbers collide with VIRT_SOL's, hence the two levels.
 *   SO_VM_SOCKETS_BUFFER_SIZE, _MIN_SIZE, _MAX_SIZE: __u64; the size is
 *	the receive buffer (SO_RCVBUF), all three within 4 KiB..8 MiB;
 *   SO_VM_SOCKETS_CONNECT_TIMEOUT_OLD, _NEW: timeval, 0 the default (10 s).
 * The other SO_VM_SOCKETS_* fail with ENOPROTOOPT, as on AF_VSOCK.
 */

#endif /* _VIRTSOCKET_VIRT_H */
