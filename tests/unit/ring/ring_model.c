// SPDX-License-Identifier: GPL-2.0
/* See ring_model.h: flush.c's tx loop with KVM's accessors replaced. */
#include "ring_model.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "validate.h"

int rmodel_read(struct rmodel_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
	m->reads++;
	if (gpa > m->size || len > m->size - gpa) {
		m->faults++;
		return -EFAULT;
	}
	memcpy(dst, m->base + gpa, len);
	return 0;
}

int rmodel_write(struct rmodel_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
	if (gpa > m->size || len > m->size - gpa) {
		m->faults++;
		return -EFAULT;
	}
	memcpy(m->base + gpa, src, len);
	return 0;
}

int rmodel_host_init(struct rmodel_host *h, uint64_t ring_gpa, uint32_t entries)
{
	memset(h, 0, sizeof(*h));
	if (!virt_ring_entries_valid(entries))
		return -EINVAL;
	/* Exactly @entries, so ASan catches a run longer than the ring. */
	h->scratch = malloc(entries * sizeof(*h->scratch));
	if (!h->scratch)
		return -ENOMEM;
	h->ring_gpa = ring_gpa;
	h->entries = entries;
	return 0;
}

void rmodel_host_fini(struct rmodel_host *h)
{
	free(h->scratch);
	h->scratch = NULL;
}

/* virt_tx(): consume @n descriptors from h->tx_cons. */
static int rmodel_tx(struct rmodel_host *h, struct rmodel_mem *m, uint32_t n)
{
	const uint64_t tx_lo = h->ring_gpa + virt_ring_tx_offset(0);
	const uint64_t tx_hi = h->ring_gpa + virt_ring_tx_offset(h->entries);

	while (n) {
		uint32_t slot = virt_ring_slot(h->tx_cons, h->entries);
		uint32_t chunk = virt_ring_run(h->tx_cons, n, h->entries);
		uint64_t gpa = h->ring_gpa + virt_ring_tx_offset(slot);
		uint64_t bytes = (uint64_t)chunk * sizeof(*h->scratch);
		uint32_t i;

		/* flush.c trusts the run to stay in the ring: verify it here. */
		if (gpa < tx_lo || gpa + bytes > tx_hi)
			h->stray_reads++;
		/* The one copy: everything below looks at h->scratch only. */
		if (rmodel_read(m, gpa, h->scratch, bytes))
			return -EFAULT;
		for (i = 0; i < chunk; i++) {
			const struct virt_desc *d = &h->scratch[i];
			int err = virt_desc_check(d);

			if (!err && h->fn)
				err = h->fn(h->ctx, d, h->tx_cons + i);
			if (err) {
				h->refused++;
				rmodel_write(m, gpa + i * sizeof(struct virt_desc) +
					     offsetof(struct virt_desc, status),
					     &err, sizeof(err));
			} else {
				h->accepted++;
			}
		}
		h->tx_cons += chunk;
		n -= chunk;
	}
	return 0;
}

/* virt_flush()'s tx half. */
int rmodel_host_tx(struct rmodel_host *h, struct rmodel_mem *m)
{
	struct virt_ring_hdr hdr;
	uint32_t cons;
	int n, r;

	/* The header is read once: a guest rewriting tx_prod later changes nothing. */
	if (rmodel_read(m, h->ring_gpa, &hdr, sizeof(hdr)))
		return -EFAULT;
	n = virt_ring_pending(hdr.tx_prod, h->tx_cons, h->entries);
	if (n < 0)
		return -EINVAL;	/* indices the guest could not have produced */
	r = rmodel_tx(h, m, (uint32_t)n);
	if (r)
		return r;
	cons = h->tx_cons;
	if (rmodel_write(m, h->ring_gpa + offsetof(struct virt_ring_hdr, tx_cons),
			 &cons, sizeof(cons)))
		return -EFAULT;
	return n;
}

uint32_t rmodel_guest_produce(struct rmodel_guest *g, struct rmodel_mem *m,
			      const struct virt_desc *descs, uint32_t n)
{
	uint32_t cons, done;
	int used;

	if (rmodel_read(m, g->ring_gpa + offsetof(struct virt_ring_hdr, tx_cons),
			&cons, sizeof(cons)))
		return 0;
	used = virt_ring_pending(g->tx_prod, cons, g->entries);
	if (used < 0)
		return 0;	/* a host index the guest never saw: stop */
	if (n > g->entries - (uint32_t)used)
		n = g->entries - (uint32_t)used;
	for (done = 0; done < n; done++) {
		uint32_t slot = virt_ring_slot(g->tx_prod + done, g->entries);

		rmodel_write(m, g->ring_gpa + virt_ring_tx_offset(slot),
			     &descs[done], sizeof(descs[done]));
	}
	/* Descriptors first, then the index (a real guest needs a wmb() here). */
	g->tx_prod += n;
	rmodel_write(m, g->ring_gpa + offsetof(struct virt_ring_hdr, tx_prod),
		     &g->tx_prod, sizeof(g->tx_prod));
	return n;
}
