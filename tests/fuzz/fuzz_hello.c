// SPDX-License-Identifier: GPL-2.0
/*
 * Input bytes are a guest's handshake block (struct virt_hello, zero-padded
 * to 64 bytes); whatever virt_hello_check() (host-module/validate.c) accepts
 * must satisfy the bounds abi.h documents, since the host then maps and
 * walks the ring it describes; and a block within them must be accepted.
 * A 65th input byte with bit 0 set places the ring near the top of the
 * guest-physical address space (ring_gpa = 2^52 - (ring_gpa mod 2^24)),
 * where the overflow checks are, which random bytes seldom reach.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "validate.h"

#define GPA_LIMIT (1ULL << 52)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virt_hello h;
	uint64_t granted;
	int r;

	memset(&h, 0, sizeof(h));
	memcpy(&h, data, size < sizeof(h) ? size : sizeof(h));
	if (size > sizeof(h) && (data[sizeof(h)] & 1))
		h.ring_gpa = GPA_LIMIT - (h.ring_gpa & 0xffffff);

	r = virt_hello_check(&h);
	FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTONOSUPPORT ||
		   r == -EINVAL || r == -EOVERFLOW);
	granted = virt_hello_features(&h);
	FUZZ_CHECK(!(granted & ~VIRT_F_KNOWN));
	FUZZ_CHECK(!(granted & ~h.guest_features));
	if (r) {
		/* Refused: then some documented bound must really be broken. */
		FUZZ_CHECK(h.magic != VIRT_HELLO_MAGIC || h.reserved0 ||
			   h.guest_version != VIRT_ABI_VERSION ||
			   h.ring_entries < VIRT_RING_MIN_ENTRIES ||
			   h.ring_entries > VIRT_RING_MAX_ENTRIES ||
			   (h.ring_entries & (h.ring_entries - 1)) ||
			   h.ring_gpa % VIRT_RING_ALIGN ||
			   h.ring_gpa >= GPA_LIMIT ||
			   h.ring_gpa + virt_ring_bytes(h.ring_entries) > GPA_LIMIT ||
			   ((granted & VIRT_F_NOTIFY_IRQ) &&
			    (h.vector < 32 || h.vector > 255)));
		return 0;
	}

	FUZZ_CHECK(h.magic == VIRT_HELLO_MAGIC && h.reserved0 == 0);
	FUZZ_CHECK(h.guest_version == VIRT_ABI_VERSION);
	FUZZ_CHECK(h.ring_entries >= VIRT_RING_MIN_ENTRIES &&
		   h.ring_entries <= VIRT_RING_MAX_ENTRIES &&
		   !(h.ring_entries & (h.ring_entries - 1)));
	FUZZ_CHECK(h.ring_gpa % VIRT_RING_ALIGN == 0);
	/* the whole ring, rx half included, ends at or below 2^52, no wrap */
	FUZZ_CHECK(h.ring_gpa < GPA_LIMIT);
	FUZZ_CHECK(h.ring_gpa + virt_ring_bytes(h.ring_entries) > h.ring_gpa);
	FUZZ_CHECK(h.ring_gpa + virt_ring_bytes(h.ring_entries) <= GPA_LIMIT);
	if (granted & VIRT_F_NOTIFY_IRQ)
		FUZZ_CHECK(h.vector >= 32 && h.vector <= 255);
	return 0;
}
