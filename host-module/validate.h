/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Checks of everything the host reads from a guest: the handshake block,
 * ring indices and descriptors.  Pure C over abi.h: builds in the host module
 * and in user space, where tests/unit/ and tests/fuzz/ run it on hostile
 * input.
 */
#ifndef _VIRT_VALIDATE_H
#define _VIRT_VALIDATE_H

#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif
#include <virtsocket/abi.h>

/*
 * Checks everything in @h that does not need the VM (the ring's placement in
 * guest RAM is checked by the caller).  Returns 0 or a negative errno:
 * -EBADMSG bad magic or reserved field, -EPROTONOSUPPORT version,
 * -EINVAL sizes, alignment or vector, -EOVERFLOW ring past the address space.
 */
int virt_hello_check(const struct virt_hello *h);

/* A vector the guest may ask to be notified on: not an exception's. */
static inline int virt_vector_valid(__u32 vector)
{
	return vector >= 32 && vector <= 255;
}

/* Feature bits the host grants for the guest's offer. */
__u64 virt_hello_features(const struct virt_hello *h);

/*
 * Checks one tx descriptor (already copied out of guest memory) on its own:
 * op, flags, sizes, address range and which side owns the connection id.
 * Returns 0 or a negative errno for the descriptor's status.
 */
int virt_desc_check(const struct virt_desc *d);

#endif
