// SPDX-License-Identifier: GPL-2.0
#include "validate.h"

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
	    !virt_vector_valid(h->vector))
		return -EINVAL;
	return 0;
}

__u64 virt_hello_features(const struct virt_hello *h)
{
	return h->guest_features & VIRT_F_KNOWN;
}

static int virt_range_ok(__u64 addr, __u32 len)
{
	return addr < VIRT_GPA_LIMIT && len <= VIRT_GPA_LIMIT - addr;
}

int virt_desc_check(const struct virt_desc *d)
{
	switch (d->op) {
	case VIRT_OP_CONNECT:
		if (!d->conn || d->conn >= VIRT_CONN_HOST_BASE)
			return -EINVAL;
		if ((__u32)d->addr == VIRT_PORT_ANY ||
		    (__u32)(d->addr >> 32) == VIRT_PORT_ANY || d->len || d->flags)
			return -EINVAL;
		return 0;
	case VIRT_OP_ACCEPT:
		if (d->conn < VIRT_CONN_HOST_BASE || d->len || d->flags)
			return -EINVAL;
		return 0;
	case VIRT_OP_SEND:
		if (!d->conn || !d->len || d->len > VIRT_MAX_SEND || d->flags)
			return -EINVAL;
		return virt_range_ok(d->addr, d->len) ? 0 : -EFAULT;
	case VIRT_OP_RX_POST:
		if (d->len < VIRT_RX_BUF_MIN || d->len > VIRT_RX_BUF_MAX ||
		    (d->addr & 63) || d->flags || d->conn)
			return -EINVAL;
		return virt_range_ok(d->addr, d->len) ? 0 : -EFAULT;
	case VIRT_OP_SHUTDOWN:
		if (!d->conn || !d->flags ||
		    (d->flags & ~(VIRT_SHUT_RCV | VIRT_SHUT_SEND)) || d->len)
			return -EINVAL;
		return 0;
	case VIRT_OP_RESET:
	case VIRT_OP_CREDIT:
		if (!d->conn || d->len || d->flags)
			return -EINVAL;
		return 0;
	default:
		return -EOPNOTSUPP;
	}
}
