// SPDX-License-Identifier: GPL-2.0
/*
 * Input bytes are an array of tx descriptors as a guest would put them in
 * its ring; each goes through the host's virt_desc_check() (compiled from
 * host-module/validate.c) and whatever it accepts must satisfy the bounds
 * abi.h documents, since flush.c acts on an accepted descriptor unchecked.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_check.h"
#include "validate.h"

#define GPA_LIMIT (1ULL << 52)

/* The bounds of abi.h (and the zero fields an op does not use). */
static int range_ok(const struct virt_desc *d)
{
	return d->addr < GPA_LIMIT && d->len <= GPA_LIMIT - d->addr;
}

static int documented_ok(const struct virt_desc *d)
{
	switch (d->op) {
	case VIRT_OP_CONNECT:
		return d->conn >= 1 && d->conn < VIRT_CONN_HOST_BASE &&
		       (uint32_t)d->addr != VIRT_PORT_ANY &&
		       (uint32_t)(d->addr >> 32) != VIRT_PORT_ANY && !d->len && !d->flags;
	case VIRT_OP_ACCEPT:
		return d->conn >= VIRT_CONN_HOST_BASE && !d->len && !d->flags;
	case VIRT_OP_SEND:
		return d->conn && d->len >= 1 && d->len <= VIRT_MAX_SEND &&
		       !d->flags && range_ok(d);
	case VIRT_OP_RX_POST:
		return d->len >= VIRT_RX_BUF_MIN && d->len <= VIRT_RX_BUF_MAX &&
		       d->addr % 64 == 0 && !d->flags && !d->conn && range_ok(d);
	case VIRT_OP_SHUTDOWN:
		return d->conn && d->flags &&
		       !(d->flags & ~(VIRT_SHUT_RCV | VIRT_SHUT_SEND)) && !d->len;
	case VIRT_OP_RESET:
	case VIRT_OP_CREDIT:
		return d->conn && !d->len && !d->flags;
	default:
		return 0;
	}
}

static void check_one(const struct virt_desc *d)
{
	struct virt_desc copy = *d;
	int r = virt_desc_check(d);

	/* const in, no side effects: the same answer twice, input unchanged */
	FUZZ_CHECK(virt_desc_check(d) == r);
	FUZZ_CHECK(!memcmp(&copy, d, sizeof(copy)));
	FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EFAULT || r == -EOPNOTSUPP);
	/* -EOPNOTSUPP for exactly the ops abi.h does not define */
	FUZZ_CHECK((r == -EOPNOTSUPP) == (d->op < VIRT_OP_CONNECT || d->op > VIRT_OP_MAX));
	/* -EFAULT only for a bad address range of a data op */
	if (r == -EFAULT)
		FUZZ_CHECK((d->op == VIRT_OP_SEND || d->op == VIRT_OP_RX_POST) &&
			   !range_ok(d));
	/* accepted exactly when within the documented bounds */
	FUZZ_CHECK((r == 0) == documented_ok(d));
	if (r)
		return;

	switch (d->op) {
	case VIRT_OP_CONNECT:
		FUZZ_CHECK(d->conn >= 1 && d->conn < VIRT_CONN_HOST_BASE);
		FUZZ_CHECK((uint32_t)d->addr != VIRT_PORT_ANY);
		FUZZ_CHECK(d->len == 0 && d->flags == 0);
		break;
	case VIRT_OP_ACCEPT:
		FUZZ_CHECK(d->conn >= VIRT_CONN_HOST_BASE);
		FUZZ_CHECK(d->len == 0 && d->flags == 0);
		break;
	case VIRT_OP_SEND:
		FUZZ_CHECK(d->conn != 0 && d->flags == 0);
		FUZZ_CHECK(d->len >= 1 && d->len <= VIRT_MAX_SEND);
		/* addr + len computed without wrapping, ending at or below 2^52 */
		FUZZ_CHECK(d->addr < GPA_LIMIT);
		FUZZ_CHECK(d->addr + d->len > d->addr && d->addr + d->len <= GPA_LIMIT);
		break;
	case VIRT_OP_RX_POST:
		FUZZ_CHECK(d->len >= VIRT_RX_BUF_MIN && d->len <= VIRT_RX_BUF_MAX);
		FUZZ_CHECK(d->addr % 64 == 0 && d->flags == 0);
		FUZZ_CHECK(d->addr < GPA_LIMIT && d->addr + d->len <= GPA_LIMIT);
		break;
	case VIRT_OP_SHUTDOWN:
		FUZZ_CHECK(d->conn != 0 && d->len == 0);
		FUZZ_CHECK(d->flags != 0 &&
			   !(d->flags & ~(VIRT_SHUT_RCV | VIRT_SHUT_SEND)));
		break;
	case VIRT_OP_RESET:
	case VIRT_OP_CREDIT:
		FUZZ_CHECK(d->conn != 0 && d->len == 0 && d->flags == 0);
		break;
	default:
		FUZZ_CHECK(!"accepted an unknown op");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virt_desc d;
	size_t off;

	/* memcpy: guest bytes carry no alignment; a short tail is zero-padded */
	for (off = 0; off < size; off += sizeof(d)) {
		size_t n = size - off < sizeof(d) ? size - off : sizeof(d);

		memset(&d, 0, sizeof(d));
		memcpy(&d, data + off, n);
		check_one(&d);
	}
	return 0;
}
