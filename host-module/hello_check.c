// SPDX-License-Identifier: GPL-2.0
#ifdef __KERNEL__
#include <linux/errno.h>
#else
#include <errno.h>
#endif

#include "hello_check.h"

/* Guest-physical addresses are at most 52 bits on x86-64. */
#define VIRT_GPA_LIMIT	_BITULL(52)

int virt_hello_check(const struct virt_hello *h)
{
	__u64 bytes;

	if (h->magic != VIRT_HELLO_MAGIC || h->reserved0)
		return -EBADMSG;
	if (h->guest_version != VIRT_ABI_VERSION)
		return -EPROTONOSUPPORT;
	if (!virt_ring_entries_valid(h->ring_entries))
		return -EINVAL;
	if (h->ring_gpa & (VIRT_RING_ALIGN - 1))
		return -EINVAL;
	bytes = virt_ring_bytes(h->ring_entries);
	if (h->ring_gpa >= VIRT_GPA_LIMIT || bytes > VIRT_GPA_LIMIT - h->ring_gpa)
		return -EOVERFLOW;
	if ((h->guest_features & VIRT_F_NOTIFY_IRQ) &&
	    (h->vector < 32 || h->vector > 255))
		return -EINVAL;
	return 0;
}

__u64 virt_hello_features(const struct virt_hello *h)
{
	return h->guest_features & VIRT_F_KNOWN;
}
