// SPDX-License-Identifier: GPL-2.0
/*
 * TEST ONLY, never part of the product: a guest module that attacks the
 * virtsocket host with malformed hypercalls and checks that each one gets the
 * documented error.  Loading succeeds only if every case matched; the result
 * of each case is logged as "virtsocket-hostile: <case>: ...".
 */
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <asm/kvm_para.h>
#include <virtsocket/abi.h>

static unsigned long ram_mb = 512;
module_param(ram_mb, ulong, 0444);
MODULE_PARM_DESC(ram_mb, "Guest RAM in MiB (places a ring across its end)");

struct hostile_case {
	const char *name;
	void (*mangle)(struct virt_hello *h);
	unsigned long op;
	long hello_offset;	/* added to the hello block's address */
	long expect;
};

static struct virt_hello *hello;
static void *ring;

#define RING_ENTRIES 16

static void fill_valid(struct virt_hello *h)
{
	memset(h, 0, sizeof(*h));
	h->magic = VIRT_HELLO_MAGIC;
	h->guest_version = VIRT_ABI_VERSION;
	h->guest_features = VIRT_F_STREAM;
	h->ring_gpa = virt_to_phys(ring);
	h->ring_entries = RING_ENTRIES;
}

static void m_none(struct virt_hello *h)
{
}

static void m_magic(struct virt_hello *h)
{
	h->magic ^= 1;
}

static void m_version(struct virt_hello *h)
{
	h->guest_version = 99;
}

static void m_reserved(struct virt_hello *h)
{
	h->reserved0 = 1;
}

static void m_entries_zero(struct virt_hello *h)
{
	h->ring_entries = 0;
}

static void m_entries_odd(struct virt_hello *h)
{
	h->ring_entries = 48;
}

static void m_entries_huge(struct virt_hello *h)
{
	h->ring_entries = 0x80000000U;
}

static void m_entries_max(struct virt_hello *h)
{
	h->ring_entries = 0xffffffffU;
}

static void m_ring_unaligned(struct virt_hello *h)
{
	h->ring_gpa += 64;
}

static void m_ring_outside(struct virt_hello *h)
{
	h->ring_gpa = 1ULL << 40;
}

static void m_ring_wrap(struct virt_hello *h)
{
	h->ring_gpa = ~0xfffULL;
}

static void m_ring_mmio(struct virt_hello *h)
{
	h->ring_gpa = 0xfee00000ULL;
}

static void m_ring_straddle(struct virt_hello *h)
{
	/* Starts on the last page of RAM and runs 4 pages past it. */
	h->ring_entries = 256;
	h->ring_gpa = (ram_mb << 20) - PAGE_SIZE;
}

static void m_vector(struct virt_hello *h)
{
	h->guest_features |= VIRT_F_NOTIFY_IRQ;
	h->vector = 3;
}

static const struct hostile_case cases[] = {
	{ "unknown op", m_none, 77, 0, -EOPNOTSUPP },
	{ "goodbye before hello", m_none, VIRT_HC_BYE, 0, -ENOENT },
	{ "hello block unaligned", m_none, VIRT_HC_HELLO, 8, -EINVAL },
	{ "hello block outside RAM", m_none, VIRT_HC_HELLO, 1L << 40, -EFAULT },
	{ "bad magic", m_magic, VIRT_HC_HELLO, 0, -EBADMSG },
	{ "wrong ABI version", m_version, VIRT_HC_HELLO, 0, -EPROTONOSUPPORT },
	{ "reserved field set", m_reserved, VIRT_HC_HELLO, 0, -EBADMSG },
	{ "ring of 0 entries", m_entries_zero, VIRT_HC_HELLO, 0, -EINVAL },
	{ "ring of 48 entries", m_entries_odd, VIRT_HC_HELLO, 0, -EINVAL },
	{ "ring of 2^31 entries", m_entries_huge, VIRT_HC_HELLO, 0, -EINVAL },
	{ "ring of 2^32-1 entries", m_entries_max, VIRT_HC_HELLO, 0, -EINVAL },
	{ "ring unaligned", m_ring_unaligned, VIRT_HC_HELLO, 0, -EINVAL },
	{ "ring outside RAM", m_ring_outside, VIRT_HC_HELLO, 0, -ERANGE },
	{ "ring wraps the address space", m_ring_wrap, VIRT_HC_HELLO, 0, -EOVERFLOW },
	{ "ring on the local APIC", m_ring_mmio, VIRT_HC_HELLO, 0, -ERANGE },
	{ "ring across the end of RAM", m_ring_straddle, VIRT_HC_HELLO, 0, -ERANGE },
	{ "notification vector 3", m_vector, VIRT_HC_HELLO, 0, -EINVAL },
	{ "valid hello", m_none, VIRT_HC_HELLO, 0, 0 },
	{ "repeated hello", m_none, VIRT_HC_HELLO, 0, -EEXIST },
	{ "goodbye", m_none, VIRT_HC_BYE, 0, 0 },
	{ "second goodbye", m_none, VIRT_HC_BYE, 0, -ENOENT },
};

static int __init hostile_init(void)
{
	int i, failed = 0;
	long r;

	hello = kzalloc(sizeof(*hello), GFP_KERNEL);
	ring = alloc_pages_exact(virt_ring_bytes(RING_ENTRIES), GFP_KERNEL | __GFP_ZERO);
	if (!hello || !ring) {
		kfree(hello);
		if (ring)
			free_pages_exact(ring, virt_ring_bytes(RING_ENTRIES));
		return -ENOMEM;
	}
	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct hostile_case *c = &cases[i];

		fill_valid(hello);
		c->mangle(hello);
		r = kvm_hypercall2(VIRT_HC_NR, c->op,
				   virt_to_phys(hello) + c->hello_offset);
		if (r == 0 && c->op == VIRT_HC_HELLO &&
		    (hello->cid < VIRT_CID_GUEST_MIN || hello->host_version != VIRT_ABI_VERSION))
			r = -EPROTO;	/* accepted, but the reply is wrong */
		pr_info("virtsocket-hostile: %s: returned %ld, expected %ld: %s\n",
			c->name, r, c->expect, r == c->expect ? "ok" : "MISMATCH");
		failed += r != c->expect;
	}
	kfree(hello);
	free_pages_exact(ring, virt_ring_bytes(RING_ENTRIES));
	pr_info("virtsocket-hostile: %d of %zu cases failed\n", failed, ARRAY_SIZE(cases));
	return failed ? -EINVAL : 0;
}

static void __exit hostile_exit(void)
{
}

module_init(hostile_init);
module_exit(hostile_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST ONLY: malformed virtsocket hypercalls");
