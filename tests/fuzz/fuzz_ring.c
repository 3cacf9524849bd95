// SPDX-License-Identifier: GPL-2.0
/*
 * Input bytes drive a guest against the host's tx loop (the model of
 * flush.c in tests/unit/ring/ring_model.c, with the real ring.h and
 * validate.c): ring size, the host's starting tx_cons, then rounds of
 * "write these descriptors, set tx_prod to this, flush".  Guest memory is
 * a heap block holding exactly the ring, so ASan flags any access past it;
 * the host's scratch is exactly one ring, so a run longer than the ring
 * overflows it.  Checks: a flush consumes exactly what tx_prod claims and at
 * most one ring; an impossible tx_prod is refused with nothing read past the
 * header and nothing written; refusals land in the right status fields.
 *
 * Layout: [0] ring size 16 << (b % 9)   [1..4] host tx_cons
 *         [5] bit 0: the guest scribbles over its ring during the flush
 *         rounds: [u32 prod control][u8 count][count * 32 descriptor bytes]
 *         (prod control: top bit set, tx_prod = it; else tx_cons + it % (2n + 2))
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_check.h"
#include "ring_model.h"
#include "validate.h"

#define RING_GPA 0x1000ULL	/* nonzero: the host must add its base */

struct input {
	const uint8_t *p;
	size_t left;
};

static int take(struct input *in, void *dst, size_t n)
{
	if (in->left < n)
		return 0;
	memcpy(dst, in->p, n);
	in->p += n;
	in->left -= n;
	return 1;
}

struct round {
	struct rmodel_host *host;
	struct rmodel_mem *mem;
	uint8_t scribble;	/* 0: off, else the byte to scribble with */
	uint32_t carried;	/* descriptors handed to the carry-out step */
};

static struct virt_ring_hdr *hdr_of(struct rmodel_mem *m)
{
	return (struct virt_ring_hdr *)(m->base + RING_GPA);
}

static int carry_out(void *ctx, const struct virt_desc *d, uint32_t idx)
{
	struct round *r = ctx;
	const struct virt_desc *lo = r->host->scratch;

	(void)idx;
	/* The host acts on its own checked copy, never on guest memory. */
	FUZZ_CHECK(d >= lo && d < lo + r->host->entries);
	FUZZ_CHECK(virt_desc_check(d) == 0);
	r->carried++;
	if (r->scribble) {
		/* A hostile guest on another vCPU rewrites ring and tx_prod. */
		memset(r->mem->base + RING_GPA + virt_ring_tx_offset(0), r->scribble,
		       virt_ring_tx_offset(r->host->entries) - virt_ring_tx_offset(0));
		hdr_of(r->mem)->tx_prod ^= 0x5a5a5a5aU * r->scribble;
	}
	return (idx & 7) == 7 ? -ENOTCONN : 0;	/* some carry-outs fail */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = { data, size };
	struct rmodel_host host;
	struct rmodel_mem mem = { 0 };
	uint8_t log, flags, count;
	uint32_t entries, start, control;
	uint64_t ring_bytes;
	uint8_t *snap;

	if (!take(&in, &log, 1) || !take(&in, &start, 4) || !take(&in, &flags, 1))
		return 0;
	entries = 16U << (log % 9);
	ring_bytes = virt_ring_bytes(entries);
	mem.size = RING_GPA + ring_bytes;
	mem.base = calloc(1, mem.size);
	snap = malloc(mem.size);
	FUZZ_CHECK(mem.base && snap);
	FUZZ_CHECK(rmodel_host_init(&host, RING_GPA, entries) == 0);
	host.tx_cons = start;
	hdr_of(&mem)->tx_prod = hdr_of(&mem)->tx_cons = start;

	while (take(&in, &control, 4) && take(&in, &count, 1)) {
		struct round rd = { &host, &mem, 0, 0 };
		uint32_t cons = host.tx_cons, prod, claimed, i;
		uint64_t acc = host.accepted, ref = host.refused;
		int want, got;

		/* The guest writes up to @count descriptors from tx_cons on. */
		for (i = 0; i < count; i++) {
			struct virt_desc d;
			uint32_t slot = virt_ring_slot(cons + i, entries);

			if (!take(&in, &d, sizeof(d)))
				break;
			memcpy(mem.base + RING_GPA + virt_ring_tx_offset(slot), &d, sizeof(d));
		}
		/* Mostly near the host's index, sometimes anything at all. */
		prod = control & 0x80000000U ? control :
		       cons + control % (2 * entries + 2);
		hdr_of(&mem)->tx_prod = prod;
		rd.scribble = (flags & 1) ? (uint8_t)(control >> 8 | 1) : 0;

		claimed = prod - cons;
		want = claimed <= entries ? (int)claimed : -EINVAL;
		memcpy(snap, mem.base, mem.size);
		mem.reads = 0;
		host.fn = carry_out;
		host.ctx = &rd;

		got = rmodel_host_tx(&host, &mem);

		FUZZ_CHECK(mem.faults == 0 && host.stray_reads == 0);
		FUZZ_CHECK(got == want);
		if (got < 0) {
			FUZZ_CHECK(!memcmp(snap, mem.base, mem.size));
			FUZZ_CHECK(mem.reads == 1);	/* the header, nothing else */
			FUZZ_CHECK(host.tx_cons == cons);
			FUZZ_CHECK(host.accepted == acc && host.refused == ref);
			FUZZ_CHECK(rd.carried == 0);
			/* A real guest would be stopped; resynchronise and go on. */
			hdr_of(&mem)->tx_prod = cons;
			continue;
		}
		FUZZ_CHECK((uint32_t)got <= entries);
		FUZZ_CHECK(host.tx_cons == cons + (uint32_t)got);
		FUZZ_CHECK(hdr_of(&mem)->tx_cons == host.tx_cons);
		FUZZ_CHECK(host.accepted - acc + host.refused - ref == (uint64_t)got);
		FUZZ_CHECK(rd.carried <= (uint32_t)got);
		if (rd.scribble)
			continue;	/* the guest's ring is garbage by design */
		/*
		 * All the host wrote: each refusal's errno into its status, and
		 * tx_cons into the header.  Everything else is as the guest left it.
		 */
		for (i = 0; i < (uint32_t)got; i++) {
			uint64_t off = RING_GPA +
				virt_ring_tx_offset(virt_ring_slot(cons + i, entries));
			struct virt_desc d;
			int err;

			memcpy(&d, snap + off, sizeof(d));
			err = virt_desc_check(&d);
			if (!err && ((cons + i) & 7) == 7)
				err = -ENOTCONN;
			if (err)
				memcpy(snap + off + offsetof(struct virt_desc, status),
				       &err, sizeof(err));
		}
		memcpy(snap + RING_GPA + offsetof(struct virt_ring_hdr, tx_cons),
		       &host.tx_cons, sizeof(host.tx_cons));
		FUZZ_CHECK(!memcmp(snap, mem.base, mem.size));
	}
	rmodel_host_fini(&host);
	free(snap);
	free(mem.base);
	return 0;
}
