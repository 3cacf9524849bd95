/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Validation of a guest's handshake block.  Pure C over abi.h: builds in the
 * host module and in user space, where tests/unit/ runs it on hostile input.
 */
#ifndef _VIRT_HELLO_CHECK_H
#define _VIRT_HELLO_CHECK_H

#include <virtsocket/abi.h>

/*
 * Checks everything in @h that does not need the VM (the ring's placement in
 * guest RAM is checked by the caller).  Returns 0 or a negative errno:
 * -EBADMSG bad magic or reserved field, -EPROTONOSUPPORT version,
 * -EINVAL sizes, alignment or vector, -EOVERFLOW ring past the address space.
 */
int virt_hello_check(const struct virt_hello *h);

/* Feature bits the host grants for the guest's offer. */
__u64 virt_hello_features(const struct virt_hello *h);

#endif
