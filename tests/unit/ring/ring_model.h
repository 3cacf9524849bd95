/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A user-space model of both ends of the tx ring, over a plain buffer that
 * stands in for guest memory:
 *  - the host consumer mirrors virt_flush()/virt_tx() in host-module/flush.c:
 *    read the header once, virt_ring_pending(), copy each run of slots
 *    (virt_ring_run()) once into host memory, virt_desc_check() the copy,
 *    write a refusal's errno into its status field, advance tx_cons;
 *  - the guest producer writes descriptors, then tx_prod.
 * The index arithmetic and the checks are the real ones (ring.h and
 * host-module/validate.c); only the KVM accessors are replaced.  Shared by
 * the unit tests, the fuzzers (tests/fuzz/) and the micro-benchmarks
 * (bench/micro/).  Keep it in step with flush.c.
 */
#ifndef VIRT_RING_MODEL_H
#define VIRT_RING_MODEL_H

#include <stdint.h>

#include <virtsocket/ring.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Guest memory: GPA g is base[g].  Accesses outside [0, size) fail with
 * -EFAULT, as kvm_vcpu_read_guest() does outside the memslots, and are
 * counted: the host model must never try one.
 */
struct rmodel_mem {
	uint8_t *base;
	uint64_t size;
	uint64_t reads;		/* calls of rmodel_read() */
	uint64_t faults;
};

int rmodel_read(struct rmodel_mem *m, uint64_t gpa, void *dst, uint64_t len);
int rmodel_write(struct rmodel_mem *m, uint64_t gpa, const void *src, uint64_t len);

/*
 * Carries out one descriptor that virt_desc_check() accepted (virt_tx_one()'s
 * switch); @d is the host's copy.  Returns 0 or a negative errno, which is
 * written to the descriptor's status like a failed check.
 */
typedef int (*rmodel_desc_fn)(void *ctx, const struct virt_desc *d, uint32_t idx);

/* The host's state for one VM (the ring part of struct virt_vm). */
struct rmodel_host {
	uint64_t ring_gpa;
	uint32_t entries;
	uint32_t tx_cons;		/* the host's own copy: never read back */
	struct virt_desc *scratch;	/* @entries descriptors of host memory */
	rmodel_desc_fn fn;		/* optional */
	void *ctx;
	uint64_t accepted, refused;
	uint64_t stray_reads;		/* descriptor reads outside the tx ring */
};

/* Returns 0, or -ENOMEM / -EINVAL (entries not valid for the ABI). */
int rmodel_host_init(struct rmodel_host *h, uint64_t ring_gpa, uint32_t entries);
void rmodel_host_fini(struct rmodel_host *h);

/*
 * The tx half of one VIRT_HC_FLUSH.  Returns the number of descriptors
 * consumed (at most @entries), -EINVAL when tx_prod claims more than a ring
 * (then nothing past the header is read and nothing is written), or -EFAULT.
 */
int rmodel_host_tx(struct rmodel_host *h, struct rmodel_mem *m);

/* The guest's side: it keeps its own tx_prod and reads the host's tx_cons. */
struct rmodel_guest {
	uint64_t ring_gpa;
	uint32_t entries;
	uint32_t tx_prod;
};

/*
 * Writes as many of @descs (up to @n) as there are free slots, then tx_prod.
 * Returns how many were written.
 */
uint32_t rmodel_guest_produce(struct rmodel_guest *g, struct rmodel_mem *m,
			      const struct virt_desc *descs, uint32_t n);

#ifdef __cplusplus
}
#endif

#endif /* VIRT_RING_MODEL_H */
