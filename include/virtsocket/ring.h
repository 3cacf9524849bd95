/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * Index arithmetic of the shared descriptor ring (see abi.h), used by the
 * guest (producer of tx, consumer of rx), the host (the reverse) and the
 * user-space tests, fuzzers and benchmarks: one source for all of them.
 * Indices are free-running u32s; only their difference and the slot matter.
 * @entries must already be valid (virt_ring_entries_valid(): a power of two
 * up to VIRT_RING_MAX_ENTRIES), which the int results rely on too.
 */
#ifndef _VIRTSOCKET_RING_H
#define _VIRTSOCKET_RING_H

#include <virtsocket/abi.h>

static inline __u32 virt_ring_slot(__u32 idx, __u32 entries)
{
	return idx & (entries - 1);
}

/* Entries between a consumer index and a producer index. */
static inline __u32 virt_ring_used(__u32 prod, __u32 cons)
{
	return prod - cons;
}

static inline int virt_ring_full(__u32 prod, __u32 cons, __u32 entries)
{
	return virt_ring_used(prod, cons) >= entries;
}

/*
 * Entries a consumer at @cons may take up to the peer's @prod, or -1 when
 * the peer claims more than a ring holds (its index is not to be trusted).
 */
static inline int virt_ring_pending(__u32 prod, __u32 cons, __u32 entries)
{
	__u32 n = virt_ring_used(prod, cons);

	return n <= entries ? (int)n : -1;
}

/* How many of @n entries from @idx lie in one run of slots, before the wrap. */
static inline __u32 virt_ring_run(__u32 idx, __u32 n, __u32 entries)
{
	__u32 left = entries - virt_ring_slot(idx, entries);

	return n < left ? n : left;
}

#endif /* _VIRTSOCKET_RING_H */
