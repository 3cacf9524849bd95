// SPDX-License-Identifier: GPL-2.0
/*
 * TEST ONLY, never part of the product: a guest module that attacks the
 * virtsocket host and checks that each attack gets the documented answer.
 *
 * Phase 1: malformed hypercalls (handshakes, unknown operations).
 * Phase 2 (ring=1): a valid handshake with a real ring, then malformed
 * descriptors: forged connection ids, addresses outside guest RAM, lengths
 * past the limits and past the host's credit, ring indices out of range,
 * and descriptors rewritten from another CPU while the host reads them.
 * Phase 2 needs three listeners on the host (see the module parameters and
 * tests/e2e/cases/hostile-ring.sh).
 *
 * Loading succeeds only if every case matched; each case is logged as
 * "virtsocket-hostile: <case>: returned X, expected Y: ok|MISMATCH".  With
 * hold=1 the ring stays registered until rmmod (which says goodbye), so
 * that the host can inspect this VM's counters; what the host must have
 * counted is logged as "virtsocket-hostile: host must count: ...".
 *
 * Nothing here depends on the machine's speed: the races run for a number
 * of flushes, and the time limits only stop a case that hangs, as a failure.
 */
#include <linux/module.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/delay.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <linux/kthread.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <asm/kvm_para.h>
#include <virtsocket/ring.h>

static unsigned long ram_mb = 512;
module_param(ram_mb, ulong, 0444);
MODULE_PARM_DESC(ram_mb, "Guest RAM in MiB (places a ring across its end)");

static bool ring_cases = true;
module_param_named(ring, ring_cases, bool, 0444);
MODULE_PARM_DESC(ring, "Also attack through a registered ring (needs the host listeners)");

static unsigned int sink_port = 6000;
module_param(sink_port, uint, 0444);
MODULE_PARM_DESC(sink_port, "Host port whose listener takes many connections");

static unsigned int data_port = 6001;
module_param(data_port, uint, 0444);
MODULE_PARM_DESC(data_port, "Host port whose listener sends \"virtsocket-hostile rx\\n\" once");

static unsigned int stall_port = 6002;
module_param(stall_port, uint, 0444);
MODULE_PARM_DESC(stall_port, "Host port whose listener accepts one connection and never reads");

static unsigned int race_flushes = 256;
module_param(race_flushes, uint, 0444);
MODULE_PARM_DESC(race_flushes, "Flushes of each ring-rewriting race, each of a ring rewritten since the last");

static unsigned int race_limit_s = 120;
module_param(race_limit_s, uint, 0444);
MODULE_PARM_DESC(race_limit_s, "Safety stop: a race not done in this many seconds fails");

static unsigned int conn_limit;
module_param(conn_limit, uint, 0444);
MODULE_PARM_DESC(conn_limit, "The host's max_conns_per_vm: open more than that (0: skip)");

static unsigned int hello_rounds = 1000;
module_param(hello_rounds, uint, 0444);
MODULE_PARM_DESC(hello_rounds, "Rounds of each two-vCPU HELLO race (HELLO/HELLO, HELLO/BYE)");

static bool hold;
module_param(hold, bool, 0444);
MODULE_PARM_DESC(hold, "Stay registered until rmmod");

struct hostile_case {
	const char *name;
	void (*mangle)(struct virt_hello *h);
	unsigned long op;
	long hello_offset;	/* added to the hello block's address */
	long expect;
};

static struct virt_hello *hello;
static void *ring;
static bool registered;

#define RING_ENTRIES	16
#define NO_EVENT	1L			/* in reports: no such event */
#define FAR_GPA		BIT_ULL(40)		/* far beyond the guest's RAM */
#define GPA_LIMIT	BIT_ULL(52)		/* x86-64's guest-physical limit */
#define SINK_ORDER	5			/* 128 KiB, naturally aligned */
#define SINK_BYTES	(PAGE_SIZE << SINK_ORDER)
#define RX_MSG		"virtsocket-hostile rx\n"

static int failed, total;

/*
 * What the host answered this registration, for its counters: descriptors
 * it gave an error status (outside the races, whose garbage it overwrites)
 * and flush hypercalls that failed.
 */
static unsigned long refused_seen, hc_failed;

static bool report(const char *name, long got, long expect)
{
	bool ok = got == expect;

	total++;
	failed += !ok;
	pr_info("virtsocket-hostile: %s: returned %ld, expected %ld: %s\n",
		name, got, expect, ok ? "ok" : "MISMATCH");
	return ok;
}

/* A side condition of a case: logged only when it does not hold. */
static bool check(const char *name, const char *what, long got, long expect)
{
	if (got == expect)
		return true;
	failed++;
	pr_info("virtsocket-hostile: %s: %s returned %ld, expected %ld: MISMATCH\n",
		name, what, got, expect);
	return false;
}

static const char *const op_names[] = {
	[VIRT_OP_CONNECT] = "CONNECT", [VIRT_OP_ACCEPT] = "ACCEPT",
	[VIRT_OP_SEND] = "SEND", [VIRT_OP_RX_POST] = "RX_POST",
	[VIRT_OP_SHUTDOWN] = "SHUTDOWN", [VIRT_OP_RESET] = "RESET",
	[VIRT_OP_CREDIT] = "CREDIT",
};

/* An event's status, or NO_EVENT, printed as "none". */
static void report_event(const char *name, u16 op, long got, long expect)
{
	char g[24] = "none", e[24] = "none";
	bool ok = got == expect;

	if (got != NO_EVENT)
		snprintf(g, sizeof(g), "%ld", got);
	if (expect != NO_EVENT)
		snprintf(e, sizeof(e), "%ld", expect);
	total++;
	failed += !ok;
	pr_info("virtsocket-hostile: %s: %s event: returned %s, expected %s: %s\n",
		name, op_names[op], g, e, ok ? "ok" : "MISMATCH");
}

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
	h->ring_gpa = FAR_GPA;
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

/* The host's half filled in by the guest: ignored (CID 2 is the host's). */
static void m_prefilled(struct virt_hello *h)
{
	h->host_version = 99;
	h->cid = VIRT_CID_HOST;
	h->host_features = ~0ULL;
}

static const struct hostile_case cases[] = {
	{ "unknown op", m_none, 77, 0, -EOPNOTSUPP },
	{ "goodbye before hello", m_none, VIRT_HC_BYE, 0, -ENOENT },
	{ "flush before hello", m_none, VIRT_HC_FLUSH, 0, -ENOTCONN },
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
	{ "valid hello, its reply fields pre-filled", m_prefilled, VIRT_HC_HELLO, 0, 0 },
	{ "repeated hello", m_none, VIRT_HC_HELLO, 0, -EEXIST },
	{ "goodbye", m_none, VIRT_HC_BYE, 0, 0 },
	{ "second goodbye", m_none, VIRT_HC_BYE, 0, -ENOENT },
};

static void handshake_cases(void)
{
	int i;
	long r;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		const struct hostile_case *c = &cases[i];

		fill_valid(hello);
		c->mangle(hello);
		r = kvm_hypercall2(VIRT_HC_NR, c->op,
				   virt_to_phys(hello) + c->hello_offset);
		if (r == 0 && c->op == VIRT_HC_HELLO &&
		    (hello->cid < VIRT_CID_GUEST_MIN || hello->host_version != VIRT_ABI_VERSION))
			r = -EPROTO;	/* accepted, but the reply is wrong */
		report(c->name, r, c->expect);
	}
}

/* ---- Phase 2: a registered ring ------------------------------------------ */

static struct virt_ring_hdr *hdr;
static struct virt_desc *txr, *rxr;
static u32 tx_prod, rx_cons;		/* this guest's indices */
static struct virt_desc evs[64];	/* events taken since the case began */
static u32 nev;
static void *sink;			/* RX_POST buffers, SEND sources */
static u64 sink_gpa;

static long hc_flush(unsigned long flags)
{
	long r = kvm_hypercall2(VIRT_HC_NR, VIRT_HC_FLUSH, flags);

	hc_failed += r < 0;
	return r;
}

/* Consumes the host's events, as a guest must, keeping them in evs[]. */
static long take_events(void)
{
	u32 prod = READ_ONCE(hdr->rx_prod);

	if (virt_ring_pending(prod, rx_cons, RING_ENTRIES) < 0)
		return -EPROTO;
	smp_rmb();	/* the events after their index */
	for (; rx_cons != prod; rx_cons++)
		if (nev < ARRAY_SIZE(evs))
			evs[nev++] = rxr[virt_ring_slot(rx_cons, RING_ENTRIES)];
	smp_mb();	/* the reads before the slots are given back */
	WRITE_ONCE(hdr->rx_cons, rx_cons);
	return 0;
}

/* Flushes until the host has nothing more (8 rounds at most). */
static long flush(unsigned long flags)
{
	long r;
	int i;

	for (i = 0; i < 8; i++) {
		r = hc_flush(flags);
		if (r < 0 || (r & ~VIRT_FLUSH_MORE))
			return r;
		if (take_events())
			return -EPROTO;
		if (!r)
			break;
	}
	return 0;
}

static struct virt_desc *queue(const struct virt_desc *d)
{
	struct virt_desc *slot = &txr[virt_ring_slot(tx_prod++, RING_ENTRIES)];

	*slot = *d;
	slot->status = 0;
	return slot;
}

static void publish(void)
{
	smp_wmb();	/* the descriptors before their index */
	WRITE_ONCE(hdr->tx_prod, tx_prod);
}

static const struct virt_desc *find_event(u32 conn, u16 op)
{
	u32 i;

	for (i = 0; i < nev; i++)
		if (evs[i].conn == conn && evs[i].op == op)
			return &evs[i];
	return NULL;
}

static struct virt_desc desc(u16 op, u16 flags, u32 conn, u64 addr, u32 len)
{
	return (struct virt_desc) {
		.op = op, .flags = flags, .conn = conn, .addr = addr, .len = len,
		.buf_alloc = 65536,
	};
}

static u64 ports(u32 local, u32 remote)
{
	return (u64)local << 32 | remote;
}

/*
 * Sends @d alone and checks the answer: @status in the descriptor, and an
 * event @ev_op with @ev_status for @d's connection, or with @ev_op 0 no
 * RESET for it.  The flush must succeed and consume the descriptor.
 */
static bool desc_case(const char *name, struct virt_desc d, s32 status,
		      u16 ev_op, s32 ev_status)
{
	const struct virt_desc *ev;
	struct virt_desc *slot;
	bool ok;

	nev = 0;
	slot = queue(&d);
	publish();
	ok = check(name, "flush", flush(0), 0);
	ok &= check(name, "tx_cons", READ_ONCE(hdr->tx_cons), tx_prod);
	refused_seen += READ_ONCE(slot->status) != 0;
	ok &= report(name, READ_ONCE(slot->status), status);
	ev = find_event(d.conn, ev_op ?: VIRT_OP_RESET);
	if (ev_op) {
		report_event(name, ev_op, ev ? ev->status : NO_EVENT, ev_status);
		ok &= ev && ev->status == ev_status;
	} else {
		ok &= check(name, "RESET event", ev ? ev->status : NO_EVENT, NO_EVENT);
	}
	return ok;
}

/* Opens connection @id to the host's @port; the host accepts at once. */
static bool open_conn(u32 id, u32 port, u32 *host_buf_alloc)
{
	const struct virt_desc *ev;
	char name[64];

	snprintf(name, sizeof(name), "CONNECT %u to host port %u", id, port);
	if (!desc_case(name, desc(VIRT_OP_CONNECT, 0, id, ports(1000 + id, port), 0),
		       0, VIRT_OP_ACCEPT, 0))
		return false;
	ev = find_event(id, VIRT_OP_ACCEPT);
	if (host_buf_alloc)
		*host_buf_alloc = ev->buf_alloc;
	return true;
}

static void flush_cases(void)
{
	report("empty flush", flush(0), 0);
	report("flush with an unknown flag bit", hc_flush(2), -EINVAL);
	report("flush with every flag bit", hc_flush(~0UL), -EINVAL);
	report("flush asking for interrupts it did not negotiate",
	       flush(VIRT_FLUSH_NOTIFY), 0);
}

static void forged_id_cases(void)
{
	desc_case("SEND on a forged connection id",
		  desc(VIRT_OP_SEND, 0, 77, sink_gpa, 64),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("SHUTDOWN on a forged connection id",
		  desc(VIRT_OP_SHUTDOWN, VIRT_SHUT_SEND, 78, 0, 0),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("CREDIT on a forged connection id",
		  desc(VIRT_OP_CREDIT, 0, 79, 0, 0),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("ACCEPT of a forged host connection id",
		  desc(VIRT_OP_ACCEPT, 0, VIRT_CONN_HOST_BASE + 5, 0, 0),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("SEND on a forged host connection id",
		  desc(VIRT_OP_SEND, 0, U32_MAX, sink_gpa, 64),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("RESET of a forged connection id",
		  desc(VIRT_OP_RESET, 0, 80, 0, 0), -ENOTCONN, 0, 0);
}

static void malformed_cases(void)
{
	desc_case("op 0", desc(0, 0, 1, 0, 0), -EOPNOTSUPP, 0, 0);
	desc_case("op past VIRT_OP_MAX", desc(VIRT_OP_MAX + 1, 0, 1, 0, 0),
		  -EOPNOTSUPP, 0, 0);
	desc_case("op 0xffff", desc(0xffff, 0, 1, 0, 0), -EOPNOTSUPP, 0, 0);
	desc_case("CONNECT with id 0",
		  desc(VIRT_OP_CONNECT, 0, 0, ports(1, sink_port), 0), -EINVAL, 0, 0);
	desc_case("CONNECT with a host-side id",
		  desc(VIRT_OP_CONNECT, 0, VIRT_CONN_HOST_BASE, ports(1, sink_port), 0),
		  -EINVAL, 0, 0);
	desc_case("CONNECT with id 2^32-1",
		  desc(VIRT_OP_CONNECT, 0, U32_MAX, ports(1, sink_port), 0),
		  -EINVAL, 0, 0);
	desc_case("CONNECT to VIRT_PORT_ANY",
		  desc(VIRT_OP_CONNECT, 0, 9, ports(1, VIRT_PORT_ANY), 0), -EINVAL, 0, 0);
	desc_case("CONNECT with a length",
		  desc(VIRT_OP_CONNECT, 0, 9, ports(1, sink_port), 1), -EINVAL, 0, 0);
	desc_case("ACCEPT of a guest-side id",
		  desc(VIRT_OP_ACCEPT, 0, 5, 0, 0), -EINVAL, 0, 0);
	desc_case("SEND on connection 0",
		  desc(VIRT_OP_SEND, 0, 0, sink_gpa, 64), -EINVAL, 0, 0);
	desc_case("SHUTDOWN without flags",
		  desc(VIRT_OP_SHUTDOWN, 0, 78, 0, 0), -EINVAL, 0, 0);
	desc_case("SHUTDOWN with an unknown flag",
		  desc(VIRT_OP_SHUTDOWN, 4, 78, 0, 0), -EINVAL, 0, 0);
	desc_case("CREDIT with a length",
		  desc(VIRT_OP_CREDIT, 0, 79, 0, 8), -EINVAL, 0, 0);
	desc_case("RESET of connection 0",
		  desc(VIRT_OP_RESET, 0, 0, 0, 0), -EINVAL, 0, 0);
	desc_case("RX_POST of 511 bytes",
		  desc(VIRT_OP_RX_POST, 0, 0, sink_gpa, VIRT_RX_BUF_MIN - 1), -EINVAL, 0, 0);
	desc_case("RX_POST past VIRT_RX_BUF_MAX",
		  desc(VIRT_OP_RX_POST, 0, 0, sink_gpa, VIRT_RX_BUF_MAX + 1), -EINVAL, 0, 0);
	desc_case("RX_POST unaligned",
		  desc(VIRT_OP_RX_POST, 0, 0, sink_gpa + 8, 4096), -EINVAL, 0, 0);
	desc_case("RX_POST with flags",
		  desc(VIRT_OP_RX_POST, 1, 0, sink_gpa, 4096), -EINVAL, 0, 0);
	desc_case("RX_POST past 2^52",
		  desc(VIRT_OP_RX_POST, 0, 0, GPA_LIMIT - 512, 1024), -EFAULT, 0, 0);
	desc_case("RX_POST wrapping the address space",
		  desc(VIRT_OP_RX_POST, 0, 0, ~63ULL, 4096), -EFAULT, 0, 0);
}

/* Refused SENDs on established connections. */
static void connection_cases(void)
{
	u64 ram_end = ram_mb << 20;

	desc_case("CONNECT to a port without listener",
		  desc(VIRT_OP_CONNECT, 0, 10, ports(1010, 65000), 0),
		  0, VIRT_OP_RESET, -ECONNREFUSED);
	if (!open_conn(1, sink_port, NULL))
		return;
	desc_case("CONNECT reusing a live id",
		  desc(VIRT_OP_CONNECT, 0, 1, ports(1001, sink_port), 0), -EEXIST, 0, 0);
	/* Malformed descriptors are refused before their connection is looked up. */
	desc_case("SEND of 0 bytes", desc(VIRT_OP_SEND, 0, 1, sink_gpa, 0), -EINVAL, 0, 0);
	desc_case("SEND past VIRT_MAX_SEND",
		  desc(VIRT_OP_SEND, 0, 1, sink_gpa, VIRT_MAX_SEND + 1), -EINVAL, 0, 0);
	desc_case("SEND with flags", desc(VIRT_OP_SEND, 1, 1, sink_gpa, 64), -EINVAL, 0, 0);
	desc_case("SEND past 2^52",
		  desc(VIRT_OP_SEND, 0, 1, GPA_LIMIT - 32, 64), -EFAULT, 0, 0);
	desc_case("SEND wrapping the address space",
		  desc(VIRT_OP_SEND, 0, 1, ~15ULL, 64), -EFAULT, 0, 0);
	desc_case("SHUTDOWN with an unknown flag on a live connection",
		  desc(VIRT_OP_SHUTDOWN, 8, 1, 0, 0), -EINVAL, 0, 0);
	desc_case("CREDIT on the live connection",
		  desc(VIRT_OP_CREDIT, 0, 1, 0, 0), 0, 0, 0);
	/* A SEND the host cannot carry out costs the connection. */
	desc_case("SEND from outside guest RAM",
		  desc(VIRT_OP_SEND, 0, 1, FAR_GPA, 64), -EFAULT, VIRT_OP_RESET, -ECONNRESET);
	desc_case("SEND on the connection the host reset",
		  desc(VIRT_OP_SEND, 0, 1, sink_gpa, 64),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	if (open_conn(2, sink_port, NULL))
		desc_case("SEND across the end of guest RAM",
			  desc(VIRT_OP_SEND, 0, 2, ram_end - 32, 64),
			  -EFAULT, VIRT_OP_RESET, -ECONNRESET);
	if (open_conn(3, sink_port, NULL))
		desc_case("SEND from the last byte below 2^52",
			  desc(VIRT_OP_SEND, 0, 3, GPA_LIMIT - 64, 64),
			  -EFAULT, VIRT_OP_RESET, -ECONNRESET);
}

/* More data than the host's credit, to a reader that never reads. */
static void credit_case(void)
{
	const char *name = "SEND past the host's credit";
	const struct virt_desc *ev;
	u32 buf_alloc, round, i;
	s32 status = 0;

	if (!open_conn(4, stall_port, &buf_alloc))
		return;
	pr_info("virtsocket-hostile: host credit %u bytes\n", buf_alloc);
	for (round = 0; round < 64 && !status; round++) {
		u32 first = tx_prod;
		s32 st;

		for (i = 0; i < RING_ENTRIES; i++)
			queue(&(struct virt_desc) {
				.op = VIRT_OP_SEND, .conn = 4, .addr = sink_gpa,
				.len = VIRT_MAX_SEND, .buf_alloc = 65536,
			});
		publish();
		nev = 0;
		if (!check(name, "flush", flush(0), 0))
			return;
		for (i = first; i != tx_prod; i++) {
			st = READ_ONCE(txr[virt_ring_slot(i, RING_ENTRIES)].status);
			refused_seen += st != 0;
			if (!status)
				status = st;
		}
	}
	report(name, status, -ENOBUFS);
	ev = find_event(4, VIRT_OP_RESET);
	report_event(name, VIRT_OP_RESET, ev ? ev->status : NO_EVENT, -ECONNRESET);
}

/*
 * A buffer outside RAM is refused when posted (the host also skips one
 * that is no longer RAM when it writes): the host's data lands in the next.
 */
static void rx_post_case(void)
{
	const char *name = "host data after a buffer outside guest RAM";
	const struct virt_desc *ev;
	unsigned long end;

	desc_case("RX_POST outside guest RAM",
		  desc(VIRT_OP_RX_POST, 0, 0, FAR_GPA, 4096), -EFAULT, 0, 0);
	memset(sink, 0, 4096);
	desc_case("RX_POST of a good buffer",
		  desc(VIRT_OP_RX_POST, 0, 0, sink_gpa, 4096), 0, 0, 0);
	/* The host may answer, send and shut down within the CONNECT's flush. */
	if (!open_conn(20, data_port, NULL))
		return;
	/* The host's listener writes when it likes: wait for it, up to a limit. */
	end = jiffies + 60 * HZ;
	while (!(ev = find_event(20, VIRT_OP_SEND))) {
		if (time_after(jiffies, end)) {
			failed++;
			pr_info("virtsocket-hostile: %s: no data from the host within 60 s (a safety stop, not a pass): MISMATCH\n",
				name);
			return;
		}
		msleep(20);
		if (!check(name, "flush", flush(0), 0))
			return;
	}
	if (!report(name, ev->len, strlen(RX_MSG)))
		return;
	check(name, "buffer", ev->addr - sink_gpa, 0);
	check(name, "memcmp", memcmp(sink, RX_MSG, strlen(RX_MSG)), 0);
	desc_case("SHUTDOWN both ways",
		  desc(VIRT_OP_SHUTDOWN, VIRT_SHUT_RCV | VIRT_SHUT_SEND, 20, 0, 0), 0, 0, 0);
}

/*
 * CONNECTs to the sink past the host's per-VM limit: at most @conn_limit
 * are accepted (fewer if others are open), every later one is refused with
 * -ENOBUFS; once they are reset, a new one is accepted again.
 */
static void conn_limit_case(void)
{
	const char *name = "CONNECTs past the host's per-VM connection limit";
	u32 i, opened = 0, refused = 0, other = 0;

	if (!conn_limit)
		return;
	for (i = 0; i < conn_limit + 8; i++) {
		struct virt_desc d = desc(VIRT_OP_CONNECT, 0, 500 + i,
					  ports(1500 + i, sink_port), 0);
		struct virt_desc *slot;
		s32 st;

		nev = 0;
		slot = queue(&d);
		publish();
		if (!check(name, "flush", flush(0), 0))
			return;
		st = READ_ONCE(slot->status);
		if (!st && find_event(500 + i, VIRT_OP_ACCEPT) && !refused) {
			opened++;
		} else if (st == -ENOBUFS) {
			refused++;
		} else {
			if (!other++)
				pr_info("virtsocket-hostile: %s: CONNECT %u: status %d after %u accepted, %u refused\n",
					name, 500 + i, st, opened, refused);
		}
	}
	refused_seen += refused;
	pr_info("virtsocket-hostile: %s: %u accepted, then %u refused with -ENOBUFS (limit %u)\n",
		name, opened, refused, conn_limit);
	check(name, "accepted within the limit", opened <= conn_limit, 1);
	check(name, "other answers", other, 0);
	report(name, refused >= 8 ? -ENOBUFS : 0, -ENOBUFS);
	for (i = 0; i < opened; i++) {
		queue(&(struct virt_desc){ .op = VIRT_OP_RESET, .conn = 500 + i });
		if (i % 8 == 7 || i == opened - 1) {
			publish();
			nev = 0;
			if (!check(name, "flush of the resets", flush(0), 0))
				return;
		}
	}
	if (open_conn(900, sink_port, NULL))
		desc_case("RESET of the connection after the limit",
			  desc(VIRT_OP_RESET, 0, 900, 0, 0), 0, 0, 0);
}

/* A whole ring of refused descriptors in one flush. */
static void full_ring_case(void)
{
	const char *name = "a full ring of CREDITs on forged ids";
	u32 first = tx_prod, i, refused = 0, resets = 0;

	nev = 0;
	for (i = 0; i < RING_ENTRIES; i++)
		queue(&(struct virt_desc){ .op = VIRT_OP_CREDIT, .conn = 100 + i });
	publish();
	check(name, "flush", flush(0), 0);
	check(name, "tx_cons", READ_ONCE(hdr->tx_cons), tx_prod);
	for (i = 0; i < RING_ENTRIES; i++) {
		s32 st = txr[virt_ring_slot(first + i, RING_ENTRIES)].status;

		refused_seen += st != 0;
		refused += st == -ENOTCONN;
		resets += !!find_event(100 + i, VIRT_OP_RESET);
	}
	report(name, refused, RING_ENTRIES);
	check(name, "RESET events", resets, RING_ENTRIES);
}

/*
 * The guest publishes indices the host never produced: the flush fails and
 * nothing moves.  The ring is full of CONNECTs the host must not carry out.
 */
static void index_case(const char *name, u32 bad_tx_prod, u32 bad_rx_cons)
{
	u32 cons = READ_ONCE(hdr->tx_cons), prod = READ_ONCE(hdr->rx_prod), i;

	for (i = 0; i < RING_ENTRIES; i++)
		txr[i] = desc(VIRT_OP_CONNECT, 0, 200 + i, ports(1200 + i, 65000), 0);
	smp_wmb();	/* the bait before the indices */
	WRITE_ONCE(hdr->tx_prod, bad_tx_prod);
	WRITE_ONCE(hdr->rx_cons, bad_rx_cons);
	report(name, hc_flush(0), -EINVAL);
	check(name, "tx_cons", READ_ONCE(hdr->tx_cons), cons);
	check(name, "rx_prod", READ_ONCE(hdr->rx_prod), prod);
	WRITE_ONCE(hdr->tx_prod, tx_prod);
	WRITE_ONCE(hdr->rx_cons, rx_cons);
}

static void index_cases(void)
{
	index_case("tx_prod a ring and one past tx_cons", tx_prod + RING_ENTRIES + 1, rx_cons);
	index_case("tx_prod behind tx_cons", tx_prod - 1, rx_cons);
	index_case("tx_prod 2^31 past tx_cons", tx_prod + 0x80000000U, rx_cons);
	index_case("rx_cons past rx_prod", tx_prod, rx_cons + 1);
	index_case("rx_cons a ring and one behind rx_prod", tx_prod, rx_cons - RING_ENTRIES - 1);
	nev = 0;
	report("flush with sane indices again", flush(0), 0);
	check("flush with sane indices again", "events", nev, 0);
}

/* ---- Descriptors rewritten while the host reads them ------------------- */

struct race {
	bool header;			/* also scribble tx_prod and rx_cons */
	bool pause, paused;		/* the flusher wants a quiet ring */
	struct completion started[2];
	struct completion done;		/* the flusher made its @target flushes */
	unsigned long target;
	unsigned long rewrites;		/* whole-ring rewrites by the scribbler */
	unsigned long flushes, bad_answers, bad_cons, reconnects, einval;
};

/*
 * Garbage addresses: the sink plus an offset below 64 KiB, with or without
 * bits above 4 GiB (outside this guest's RAM).  However the host's copy
 * tears the bytes of two such values, the result is one of them too, so
 * the host never writes RX data anywhere but the sink or outside RAM.
 */
static u64 garbage_addr(u32 r)
{
	static const u64 high[] = { 0, FAR_GPA, GPA_LIMIT - FAR_GPA, 0x1234ULL << 32 };

	return high[r & 3] | sink_gpa | ((r >> 2) & 0xffff);
}

static void garbage(struct virt_desc *d)
{
	static const u32 conns[] = {
		0, 1, 30, 31, 77, VIRT_CONN_HOST_BASE, VIRT_CONN_HOST_BASE + 1, U32_MAX,
	};
	static const u32 lens[] = { 0, 1, 64, 511, 512, 4096, 65536, 65537 };
	u32 r = get_random_u32(), s = get_random_u32();

	*d = (struct virt_desc) {
		.op = r % 10,
		.flags = (r >> 4) & 3,
		.conn = conns[(r >> 6) & 7],
		.addr = garbage_addr(s),
		.len = (r >> 9) & 1 ? s : lens[(r >> 10) & 7],
		.status = s,
		.buf_alloc = (r >> 13) & 1 ? s : 65536,
		.fwd_cnt = (r >> 14) & 1 ? r : 0,
	};
}

static int scribbler(void *arg)
{
	struct race *rc = arg;
	u32 i;

	complete(&rc->started[1]);
	while (!kthread_should_stop()) {
		/* Acquire/release pairs with reconnect(): no garbage while paused. */
		if (smp_load_acquire(&rc->pause)) {
			/* our garbage before the flusher's descriptors */
			smp_store_release(&rc->paused, true);
			/* the flusher's descriptors before our garbage */
			while (smp_load_acquire(&rc->pause) && !kthread_should_stop())
				usleep_range(50, 100);
			/* pairs with the wait in reconnect() */
			smp_store_release(&rc->paused, false);
			continue;
		}
		for (i = 0; i < RING_ENTRIES; i++)
			garbage(&txr[i]);
		if (rc->header) {
			u32 r = get_random_u32();

			WRITE_ONCE(hdr->tx_prod, READ_ONCE(hdr->tx_cons) + r % 20);
			WRITE_ONCE(hdr->rx_cons, READ_ONCE(hdr->rx_prod) - (r >> 8) % 20);
		}
		WRITE_ONCE(rc->rewrites, rc->rewrites + 1);
		cond_resched();
	}
	return 0;
}

/*
 * With the scribbler paused, reopen connections 30 and 31 to the sink, so
 * that the garbage also hits live connections (-EEXIST while they live).
 */
static void reconnect(struct race *rc)
{
	u32 id;

	/* pairs with the scribbler's acquire of @pause */
	smp_store_release(&rc->pause, true);
	/* the scribbler's last garbage before our descriptors */
	while (!smp_load_acquire(&rc->paused) && !kthread_should_stop())
		usleep_range(50, 100);
	tx_prod = READ_ONCE(hdr->tx_cons);
	rx_cons = READ_ONCE(hdr->rx_prod);
	WRITE_ONCE(hdr->rx_cons, rx_cons);
	for (id = 30; id <= 31; id++)
		queue(&(struct virt_desc) {
			.op = VIRT_OP_CONNECT, .conn = id,
			.addr = ports(1000 + id, sink_port), .buf_alloc = 65536,
		});
	publish();
	nev = 0;
	if (flush(0) == 0)
		rc->reconnects++;
	/* our flush before the next garbage */
	smp_store_release(&rc->pause, false);
}

/*
 * @target flushes, each of a ring the scribbler rewrote since the previous
 * one (and goes on rewriting during it); every 64th reconnects first.
 */
static int flusher(void *arg)
{
	struct race *rc = arg;
	unsigned long seen = 0;
	long r;

	complete(&rc->started[0]);
	while (rc->flushes < rc->target && !kthread_should_stop()) {
		if (rc->flushes % 64 == 0)
			reconnect(rc);
		while (READ_ONCE(rc->rewrites) == seen && !kthread_should_stop())
			usleep_range(20, 50);
		if (kthread_should_stop())
			break;
		seen = READ_ONCE(rc->rewrites);
		tx_prod = READ_ONCE(hdr->tx_cons) + RING_ENTRIES;
		publish();
		r = hc_flush(0);
		rc->flushes++;
		rc->einval += r == -EINVAL;
		if (r < 0 ? !(rc->header && r == -EINVAL) : r & ~VIRT_FLUSH_MORE)
			rc->bad_answers++;
		if (!rc->header && r >= 0 && READ_ONCE(hdr->tx_cons) != tx_prod)
			rc->bad_cons++;
		/* Consume the events, as a guest must. */
		rx_cons = READ_ONCE(hdr->rx_prod);
		WRITE_ONCE(hdr->rx_cons, rx_cons);
		/* Paced: the rewriter still overlaps each flush many times. */
		usleep_range(20, 50);
	}
	complete(&rc->done);
	/* Until kthread_stop(), which needs us alive. */
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

/* Two kthreads, on the first two online CPUs when there are two, started. */
static bool start_pair(const char *name, struct task_struct *t[2],
		       int (*const fn[2])(void *), void *arg, const char *const comm[2])
{
	int cpu0 = cpumask_first(cpu_online_mask);
	int cpu1 = cpumask_next(cpu0, cpu_online_mask);
	int i;

	for (i = 0; i < 2; i++) {
		t[i] = kthread_create(fn[i], arg, "%s", comm[i]);
		if (IS_ERR(t[i])) {
			check(name, "kthread_create", PTR_ERR(t[i]), 0);
			if (i)
				kthread_stop(t[0]);
			return false;
		}
	}
	if (cpu1 < nr_cpu_ids) {
		kthread_bind(t[0], cpu0);
		kthread_bind(t[1], cpu1);
	}
	for (i = 0; i < 2; i++)
		wake_up_process(t[i]);
	return true;
}

static void race_case(const char *name, bool header)
{
	static int (*const fn[2])(void *) = { flusher, scribbler };
	static const char *const comm[2] = { "hostile-flush", "hostile-scribble" };
	struct race rc = { .header = header, .target = race_flushes };
	struct task_struct *t[2];
	bool in_time;
	char what[96];
	int i;

	init_completion(&rc.started[0]);
	init_completion(&rc.started[1]);
	init_completion(&rc.done);
	if (num_online_cpus() < 2)
		pr_info("virtsocket-hostile: one CPU: rewrites interleave with flushes\n");
	if (!start_pair(name, t, fn, &rc, comm))
		return;
	for (i = 0; i < 2; i++)
		wait_for_completion(&rc.started[i]);
	in_time = wait_for_completion_timeout(&rc.done, race_limit_s * HZ);
	kthread_stop(t[0]);
	kthread_stop(t[1]);

	pr_info("virtsocket-hostile: %s: %lu of %lu flushes, %lu ring rewrites, %lu reconnects, %lu flushes refused with -EINVAL\n",
		name, rc.flushes, rc.target, rc.rewrites, rc.reconnects, rc.einval);
	if (!in_time) {
		failed++;
		pr_info("virtsocket-hostile: %s: time limit of %u s reached after %lu of %lu flushes (a safety stop, not a pass): MISMATCH\n",
			name, race_limit_s, rc.flushes, rc.target);
	}
	snprintf(what, sizeof(what), "%s: answers other than 0/MORE%s", name,
		 header ? "/-EINVAL" : "");
	report(what, rc.bad_answers, 0);
	if (!header)
		check(name, "flushes with tx_cons off tx_prod", rc.bad_cons, 0);
	/* Each reconnect's flush, on a quiet ring, must succeed. */
	if (in_time)
		check(name, "reconnects", rc.reconnects, DIV_ROUND_UP(rc.target, 64));

	/* Back to a sane ring. */
	memset(txr, 0, RING_ENTRIES * sizeof(*txr));
	tx_prod = READ_ONCE(hdr->tx_cons);
	rx_cons = READ_ONCE(hdr->rx_prod);
	WRITE_ONCE(hdr->tx_prod, tx_prod);
	WRITE_ONCE(hdr->rx_cons, rx_cons);
	nev = 0;
	snprintf(what, sizeof(what), "flush after %s", name);
	report(what, flush(0), 0);
}

/*
 * Two vCPUs in lock step, @hello_rounds rounds: HELLO against HELLO (one
 * wins, the other gets -EEXIST), HELLO against BYE (the BYE may free the
 * registration while the HELLO still finishes it), or a FLUSH carrying a
 * CONNECT to the host's sink against BYE (the connection may be made while
 * the VM is torn down).  After each round the first thread says goodbye;
 * exactly one goodbye of a round succeeds.
 */
struct hello_race {
	unsigned long op[2];		/* FLUSH: registered and CONNECT queued first */
	long r[2];
	atomic_t arrived, finished;
	unsigned long deadline;		/* jiffies: the safety stop */
	unsigned int rounds, bad;
	bool late;
	struct completion started[2], done[2];
};

/* Both threads at @target, or false on the safety stop. */
static bool hello_gate(struct hello_race *hr, atomic_t *count, int target)
{
	atomic_inc(count);
	while (atomic_read(count) < target) {
		if (kthread_should_stop() || time_after(jiffies, hr->deadline)) {
			WRITE_ONCE(hr->late, true);
			return false;
		}
		cpu_relax();
		cond_resched();
	}
	return true;
}

static void hello_round_check(struct hello_race *hr)
{
	long bye_expect, bye;
	int won;

	if (hr->op[0] == VIRT_HC_FLUSH) {
		if ((hr->r[0] != 0 && hr->r[0] != VIRT_FLUSH_MORE && hr->r[0] != -ENOTCONN) ||
		    hr->r[1] != 0)
			goto bad;
		bye_expect = -ENOENT;
	} else if (hr->op[1] == VIRT_HC_HELLO) {
		won = (hr->r[0] == 0) + (hr->r[1] == 0);
		if (won != 1 || (hr->r[0] != -EEXIST && hr->r[1] != -EEXIST))
			goto bad;
		bye_expect = 0;
	} else {
		if (hr->r[0] != 0 || (hr->r[1] != 0 && hr->r[1] != -ENOENT))
			goto bad;
		bye_expect = hr->r[1] == 0 ? -ENOENT : 0;
	}
	bye = kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE);
	if (bye == bye_expect)
		return;
	hr->r[1] = bye;
bad:
	if (!hr->bad++)
		pr_info("virtsocket-hostile: HELLO race round %u: returned %ld and %ld\n",
			hr->rounds, hr->r[0], hr->r[1]);
	/* Whatever happened, start the next round unregistered. */
	kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE);
}

static int hello_racer(struct hello_race *hr, int t)
{
	unsigned int i;

	complete(&hr->started[t]);
	for (i = 0; i < hello_rounds; i++) {
		if (t == 0 && hr->op[0] == VIRT_HC_FLUSH) {
			long r = kvm_hypercall2(VIRT_HC_NR, VIRT_HC_HELLO, virt_to_phys(hello));

			if (r) {
				hr->r[0] = r;
				hr->r[1] = 0;
				hr->bad++;
				pr_info("virtsocket-hostile: HELLO before round %u returned %ld\n",
					i, r);
			}
			/* The HELLO zeroed the ring's indices. */
			tx_prod = 0;
			rx_cons = 0;
			queue(&(struct virt_desc) {
				.op = VIRT_OP_CONNECT, .conn = 40,
				.addr = ports(1040, sink_port), .buf_alloc = 65536,
			});
			publish();
		}
		if (!hello_gate(hr, &hr->arrived, 2 * (i + 1)))
			break;
		/* (FLUSH takes flags, none here; the others the hello block.) */
		hr->r[t] = kvm_hypercall2(VIRT_HC_NR, hr->op[t],
					  hr->op[t] == VIRT_HC_FLUSH ? 0 : virt_to_phys(hello));
		if (!hello_gate(hr, &hr->finished, 2 * (i + 1)))
			break;
		if (t == 0) {
			hello_round_check(hr);
			hr->rounds++;
		}
		/*
		 * Paced between rounds: two vCPUs spinning in the guest
		 * back to back starve the emulated test host (nested SVM
		 * under TCG) of its own timer ticks.
		 */
		usleep_range(100, 200);
	}
	complete(&hr->done[t]);
	while (!kthread_should_stop()) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (!kthread_should_stop())
			schedule();
		__set_current_state(TASK_RUNNING);
	}
	return 0;
}

static int hello_racer0(void *arg)
{
	return hello_racer(arg, 0);
}

static int hello_racer1(void *arg)
{
	return hello_racer(arg, 1);
}

static void hello_race_case(const char *name, unsigned long op0, unsigned long op1)
{
	static int (*const fn[2])(void *) = { hello_racer0, hello_racer1 };
	static const char *const comm[2] = { "hostile-hello0", "hostile-hello1" };
	struct hello_race hr = { .op = { op0, op1 } };
	struct task_struct *t[2];
	int i;

	if (num_online_cpus() < 2) {
		check(name, "online CPUs (a race needs two)", 1, 2);
		return;
	}
	atomic_set(&hr.arrived, 0);
	atomic_set(&hr.finished, 0);
	hr.deadline = jiffies + race_limit_s * HZ;
	for (i = 0; i < 2; i++) {
		init_completion(&hr.started[i]);
		init_completion(&hr.done[i]);
	}
	fill_valid(hello);
	if (!start_pair(name, t, fn, &hr, comm))
		return;
	for (i = 0; i < 2; i++)
		wait_for_completion(&hr.started[i]);
	for (i = 0; i < 2; i++)
		wait_for_completion(&hr.done[i]);
	kthread_stop(t[0]);
	kthread_stop(t[1]);
	pr_info("virtsocket-hostile: %s: %u of %u rounds, %u with unexpected answers\n",
		name, hr.rounds, hello_rounds, hr.bad);
	if (READ_ONCE(hr.late))
		check(name, "rounds before the time limit (a safety stop, not a pass)",
		      hr.rounds, hello_rounds);
	report(name, hr.bad, 0);
}

static void ring_phase(void)
{
	long r;

	memset(ring, 0, virt_ring_bytes(RING_ENTRIES));
	hdr = ring;
	txr = ring + virt_ring_tx_offset(0);
	rxr = ring + virt_ring_rx_offset(RING_ENTRIES, 0);
	tx_prod = 0;
	rx_cons = 0;
	hello_race_case("HELLO against HELLO on two vCPUs", VIRT_HC_HELLO, VIRT_HC_HELLO);
	hello_race_case("HELLO against BYE on two vCPUs", VIRT_HC_HELLO, VIRT_HC_BYE);
	hello_race_case("FLUSH with a CONNECT against BYE on two vCPUs", VIRT_HC_FLUSH,
			VIRT_HC_BYE);
	memset(ring, 0, virt_ring_bytes(RING_ENTRIES));
	tx_prod = 0;
	rx_cons = 0;
	fill_valid(hello);
	r = kvm_hypercall2(VIRT_HC_NR, VIRT_HC_HELLO, virt_to_phys(hello));
	if (!report("hello with a ring", r, 0))
		return;
	registered = true;
	pr_info("virtsocket-hostile: registered as CID %u\n", hello->cid);

	flush_cases();
	forged_id_cases();
	malformed_cases();
	connection_cases();
	credit_case();
	rx_post_case();
	full_ring_case();
	conn_limit_case();
	index_cases();
	race_case("descriptors rewritten during flushes", false);
	race_case("descriptors and indices rewritten during flushes", true);
	desc_case("CONNECT after the rewrites",
		  desc(VIRT_OP_CONNECT, 0, 300, ports(1300, 65000), 0),
		  0, VIRT_OP_RESET, -ECONNREFUSED);
	pr_info("virtsocket-hostile: host must count: at least %lu refused descriptors, exactly %lu failed hypercalls\n",
		refused_seen, hc_failed);
}

static void goodbye_cases(void)
{
	report("goodbye with a ring", kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE), 0);
	registered = false;
	report("flush after goodbye", hc_flush(0), -ENOTCONN);
	report("goodbye after goodbye", kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE), -ENOENT);
}

static void hostile_free(void)
{
	kfree(hello);
	hello = NULL;
	if (ring)
		free_pages_exact(ring, virt_ring_bytes(RING_ENTRIES));
	ring = NULL;
	if (sink)
		free_pages((unsigned long)sink, SINK_ORDER);
	sink = NULL;
}

static int __init hostile_init(void)
{
	hello = kzalloc(sizeof(*hello), GFP_KERNEL);
	ring = alloc_pages_exact(virt_ring_bytes(RING_ENTRIES), GFP_KERNEL | __GFP_ZERO);
	sink = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, SINK_ORDER);
	if (!hello || !ring || !sink) {
		hostile_free();
		return -ENOMEM;
	}
	sink_gpa = virt_to_phys(sink);
	handshake_cases();
	if (ring_cases) {
		ring_phase();
		if (registered && (failed || !hold))
			goodbye_cases();
	}
	pr_info("virtsocket-hostile: %d of %d cases failed\n", failed, total);
	if (registered)
		return 0;	/* hold=1: the host may inspect us until rmmod */
	/* The host dropped our buffers with the registration. */
	hostile_free();
	return failed ? -EINVAL : 0;
}

static void __exit hostile_exit(void)
{
	if (registered) {
		failed = 0;
		total = 0;
		goodbye_cases();
		pr_info("virtsocket-hostile: at unload: %d of %d cases failed\n",
			failed, total);
	}
	hostile_free();
}

module_init(hostile_init);
module_exit(hostile_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("TEST ONLY: malformed virtsocket hypercalls and descriptors");
