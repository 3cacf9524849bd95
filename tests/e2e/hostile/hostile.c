// SPDX-License-Identifier: GPL-2.0
/*
 * TEST ONLY, never part of the product: a guest module that attacks the
 * virtsocket host and checks that each attack gets the documented answer.
 *
 * Phase 1: malformed hypercalls (handshakes, unknown operations).
 * Phase 2 (ring=1): a valid handshake with a real ring, then malformed
 * descriptors: forged connection ids, addresses outside guest RAM, lengths
 * past the limits and past the host's credit, ring indices out of range,
 * and descriptors rewritten from another CPU while the host reads them;
 * rings full of one CONNECT, receive buffers where the host must not write,
 * host-side connection ids, and (a registration of its own) a ring of the
 * most entries, all SENDs of the most bytes.  Phase 2 needs the host's
 * listeners and a host peer (see the module parameters and
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
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/random.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
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

static unsigned int discard_port = 6004;
module_param(discard_port, uint, 0444);
MODULE_PARM_DESC(discard_port, "Host port whose listener reads one connection to its end");

static unsigned int rxbuf_port = 6003;
module_param(rxbuf_port, uint, 0444);
MODULE_PARM_DESC(rxbuf_port, "Host port whose listener sends 96 32-byte lines once, 3 KiB (0: skip)");

static unsigned int bulk_port;
module_param(bulk_port, uint, 0444);
MODULE_PARM_DESC(bulk_port, "First of bulk_conns host ports, each a reader with an 8 MiB buffer (0: skip)");

static unsigned int bulk_conns = 32;
module_param(bulk_conns, uint, 0444);
MODULE_PARM_DESC(bulk_conns, "Connections the ring of 4096 64 KiB SENDs is spread over");

static unsigned int h2g_port;
module_param(h2g_port, uint, 0444);
MODULE_PARM_DESC(h2g_port, "Port a host peer connects to, again until one connection ends well (0: skip)");

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

static unsigned int flood_port;
module_param(flood_port, uint, 0444);
MODULE_PARM_DESC(flood_port, "Only flush a ring of 4096 entries to FLOOD_CONNS readers from this port on, until the VM is killed (0: skip)");

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
#define H2G_MSG		"virtsocket-hostile h2g\n"
/* The ring's pages, and one more for a buffer right after it. */
#define RING_ALLOC	(virt_ring_bytes(RING_ENTRIES) + PAGE_SIZE)
#define LAPIC_GPA	0xfee00000ULL
#define FW_ROM_GPA	0xfffff000ULL		/* the firmware's last page: ROM */
/* The host's per-flush payload budget (README, "Limits"). */
#define HOST_TX_BUDGET	(4U << 20)

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
static u32 entries = RING_ENTRIES;	/* of the ring registered now */
static u32 tx_prod, rx_cons;		/* this guest's indices */
/* The last connection request of a host peer, 0 once it is reset. */
static u32 h2g_conn;
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

/*
 * Consumes the host's events, as a guest must, each passed to @fn: the
 * first error @fn returned, or -EPROTO for an index out of range.
 */
static long consume_events(int (*fn)(const struct virt_desc *ev, void *arg), void *arg)
{
	u32 prod = READ_ONCE(hdr->rx_prod);
	int err = 0, e;

	if (virt_ring_pending(prod, rx_cons, entries) < 0)
		return -EPROTO;
	smp_rmb();	/* the events after their index */
	for (; rx_cons != prod; rx_cons++) {
		e = fn(&rxr[virt_ring_slot(rx_cons, entries)], arg);
		err = err ?: e;
	}
	smp_mb();	/* the reads before the slots are given back */
	WRITE_ONCE(hdr->rx_cons, rx_cons);
	return err;
}

static int keep_event(const struct virt_desc *ev, void *unused)
{
	/* A host peer may connect at any time: noted for h2g_case(). */
	if (ev->conn >= VIRT_CONN_HOST_BASE && ev->op == VIRT_OP_CONNECT)
		h2g_conn = ev->conn;
	else if (ev->conn == h2g_conn && ev->op == VIRT_OP_RESET)
		h2g_conn = 0;
	if (nev < ARRAY_SIZE(evs))
		evs[nev++] = *ev;
	return 0;
}

/* Consumes the host's events, keeping them in evs[]. */
static long take_events(void)
{
	return consume_events(keep_event, NULL);
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
	struct virt_desc *slot = &txr[virt_ring_slot(tx_prod++, entries)];

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
 * A whole ring of CONNECTs repeating one id: one connection, the other
 * CONNECTs refused with -EEXIST.  Then rings of CONNECTs with distinct ids
 * past the host's per-VM limit: each accepted once, the rest -ENOBUFS.
 * Every connection is reset at the end (the host's table checked from the
 * host, "host must hold").
 */
static void repeated_connect_case(void)
{
	const char *name = "a full ring of CONNECTs repeating one id";
	const char *name2 = "full rings of CONNECTs with distinct ids past the connection limit";
	u32 first = tx_prod, i, eexist = 0, accepts = 0, rounds, round;
	u32 opened = 1, refused = 0, other = 0, id;

	nev = 0;
	for (i = 0; i < RING_ENTRIES; i++)
		queue(&(struct virt_desc) {
			.op = VIRT_OP_CONNECT, .conn = 700,
			.addr = ports(1700, sink_port), .buf_alloc = 65536,
		});
	publish();
	if (!check(name, "flush", flush(0), 0))
		return;
	check(name, "tx_cons", READ_ONCE(hdr->tx_cons), tx_prod);
	check(name, "status of the first", txr[virt_ring_slot(first, RING_ENTRIES)].status, 0);
	for (i = 1; i < RING_ENTRIES; i++)
		eexist += txr[virt_ring_slot(first + i, RING_ENTRIES)].status == -EEXIST;
	for (i = 0; i < nev; i++)
		accepts += evs[i].conn == 700 && evs[i].op == VIRT_OP_ACCEPT;
	refused_seen += eexist;
	report(name, eexist, RING_ENTRIES - 1);
	check(name, "ACCEPT events", accepts, 1);
	check(name, "RESET events", find_event(700, VIRT_OP_RESET) ? 1 : 0, 0);

	/* With no limit given, two rings (the default limit is far). */
	rounds = conn_limit ? DIV_ROUND_UP(conn_limit + RING_ENTRIES, RING_ENTRIES) : 2;
	for (round = 0, id = 701; round < rounds; round++) {
		first = tx_prod;
		nev = 0;
		for (i = 0; i < RING_ENTRIES; i++)
			queue(&(struct virt_desc) {
				.op = VIRT_OP_CONNECT, .conn = id + i,
				.addr = ports(id + i, sink_port), .buf_alloc = 65536,
			});
		publish();
		if (!check(name2, "flush", flush(0), 0))
			return;
		for (i = 0; i < RING_ENTRIES; i++, id++) {
			s32 st = txr[virt_ring_slot(first + i, RING_ENTRIES)].status;
			u32 n = 0, j;

			for (j = 0; j < nev; j++)
				n += evs[j].conn == id && evs[j].op == VIRT_OP_ACCEPT;
			/* Once refused, refused until one is closed. */
			if (!st && n == 1 && !refused) {
				opened++;
			} else if (st == -ENOBUFS && !n) {
				refused++;
			} else if (!other++) {
				pr_info("virtsocket-hostile: %s: CONNECT %u: status %d, %u ACCEPTs, after %u accepted, %u refused\n",
					name2, id, st, n, opened, refused);
			}
		}
	}
	refused_seen += refused;
	pr_info("virtsocket-hostile: %s: %u open, then %u refused with -ENOBUFS (limit %u)\n",
		name2, opened, refused, conn_limit);
	check(name2, "other answers", other, 0);
	if (conn_limit) {
		check(name2, "open within the limit", opened <= conn_limit, 1);
		report(name2, refused ? -ENOBUFS : 0, -ENOBUFS);
	} else {
		report(name2, refused, 0);
	}
	/* Every id opened (700 to 700 + opened - 1) reset: none refused. */
	for (i = 0, refused = 0; i < opened; i++) {
		queue(&(struct virt_desc){ .op = VIRT_OP_RESET, .conn = 700 + i });
		if (i % RING_ENTRIES == RING_ENTRIES - 1 || i == opened - 1) {
			u32 n = i % RING_ENTRIES + 1, j;

			publish();
			nev = 0;
			if (!check(name2, "flush of the resets", flush(0), 0))
				return;
			for (j = 0; j < n; j++)
				refused += !!txr[virt_ring_slot(tx_prod - 1 - j,
								RING_ENTRIES)].status;
		}
	}
	check(name2, "refused resets", refused, 0);
}

/* The host's pattern of @rxbuf_port: 32-byte lines, the byte at @off. */
static char rxbuf_byte(u32 off)
{
	char line[33];

	snprintf(line, sizeof(line), "hostile-rx-%04u-...............\n", off / 32);
	return line[off % 32];
}

/* Bytes of @p that are not the host's pattern from stream offset @off. */
static u32 rxbuf_diff(const u8 *p, u32 off, u32 len)
{
	u32 i, n = 0;

	for (i = 0; i < len; i++)
		n += p[i] != (u8)rxbuf_byte(off + i);
	return n;
}

#define RXBUF_LEN	512

/*
 * The host's one send is a buffer longer than the five posted: when they are
 * full, data waits for buffers, which is no work the guest can take (no
 * MORE: MORE for it was a busy loop of flushes until the guest posted some).
 * Once a sixth is posted, the rest of the stream comes.
 */
static void starved_case(void)
{
	const char *name = "no MORE while the host's data waits for receive buffers";
	const struct virt_desc *ev;
	long r = VIRT_FLUSH_MORE;
	int i;

	/* Eight answers, as many as flush() takes: one new request may come. */
	for (i = 0; i < 8 && r == VIRT_FLUSH_MORE; i++) {
		nev = 0;
		r = hc_flush(0);
		if (r < 0 || take_events())
			break;
		check(name, "data events without a buffer", !!find_event(21, VIRT_OP_SEND), 0);
	}
	report(name, r, 0);
	memset(sink + 1024, 0, RXBUF_LEN);
	nev = 0;
	if (!desc_case("RX_POST of a sixth buffer for the data waiting",
		       desc(VIRT_OP_RX_POST, 0, 0, sink_gpa + 1024, RXBUF_LEN), 0, 0, 0))
		return;
	ev = find_event(21, VIRT_OP_SEND);
	if (!check(name, "data in the sixth buffer", ev ? ev->len : NO_EVENT, RXBUF_LEN))
		return;
	check(name, "the sixth buffer's address", ev->addr - sink_gpa, 1024);
	check(name, "bytes of the sixth buffer not the stream's",
	      rxbuf_diff(sink + 1024, 5 * RXBUF_LEN, RXBUF_LEN), 0);
}

/*
 * Receive buffers where the host must not write (the ring, across its end,
 * the local APIC's MMIO page, the firmware's read-only ROM, past the end of
 * RAM) are refused when posted; buffers the guest
 * may spoil for itself (right after the ring, on the hello block, one
 * buffer twice, one overlapping it) are taken and filled in posting order.
 */
static void rx_place_case(void)
{
	const char *name =
		"host data in buffers after the ring, on the hello block, repeated, overlapping";
	u64 ring_gpa = virt_to_phys(ring);
	u64 ring_end = ring_gpa + virt_ring_bytes(RING_ENTRIES);
	u64 hello_gpa = virt_to_phys(hello);
	const u64 want[] = { ring_end, hello_gpa, sink_gpa, sink_gpa, sink_gpa + 256 };
	u8 *after = ring + virt_ring_bytes(RING_ENTRIES);
	u32 got = 0, bytes = 0, bad = 0, i;
	unsigned long end;

	if (!rxbuf_port)
		return;
	desc_case("RX_POST on the ring's header",
		  desc(VIRT_OP_RX_POST, 0, 0, ring_gpa, RXBUF_LEN), -EINVAL, 0, 0);
	desc_case("RX_POST on the ring's last bytes",
		  desc(VIRT_OP_RX_POST, 0, 0, ring_end - RXBUF_LEN, RXBUF_LEN), -EINVAL, 0, 0);
	desc_case("RX_POST across the ring's end",
		  desc(VIRT_OP_RX_POST, 0, 0, ring_end - 256, RXBUF_LEN), -EINVAL, 0, 0);
	desc_case("RX_POST on the local APIC",
		  desc(VIRT_OP_RX_POST, 0, 0, LAPIC_GPA, 4096), -EFAULT, 0, 0);
	desc_case("RX_POST of 64 KiB ending on the local APIC",
		  desc(VIRT_OP_RX_POST, 0, 0, LAPIC_GPA - 65536 + 64, 65536), -EFAULT, 0, 0);
	desc_case("RX_POST in the firmware's ROM (a read-only slot)",
		  desc(VIRT_OP_RX_POST, 0, 0, FW_ROM_GPA, 4096), -EFAULT, 0, 0);
	desc_case("RX_POST of 64 KiB across the end of guest RAM",
		  desc(VIRT_OP_RX_POST, 0, 0, (ram_mb << 20) - 4096, 65536), -EFAULT, 0, 0);
	memset(after, 0, RXBUF_LEN);
	memset(sink, 0, 1024);
	for (i = 0; i < ARRAY_SIZE(want); i++)
		desc_case("RX_POST after the ring, on the hello block, twice, overlapping",
			  desc(VIRT_OP_RX_POST, 0, 0, want[i], RXBUF_LEN), 0, 0, 0);
	if (!open_conn(21, rxbuf_port, NULL))
		return;
	/* The host's listener writes when it likes: wait for it, up to a limit. */
	end = jiffies + 60 * HZ;
	for (;;) {
		for (i = 0, bytes = 0, got = 0; i < nev; i++) {
			if (evs[i].conn != 21 || evs[i].op != VIRT_OP_SEND)
				continue;
			if (got < ARRAY_SIZE(want))
				bad += evs[i].addr != want[got] || evs[i].len != RXBUF_LEN;
			got++;
			bytes += evs[i].len;
		}
		if (bytes >= ARRAY_SIZE(want) * RXBUF_LEN)
			break;
		bad = 0;
		if (time_after(jiffies, end)) {
			failed++;
			pr_info("virtsocket-hostile: %s: %u of %zu bytes from the host within 60 s (a safety stop, not a pass): MISMATCH\n",
				name, bytes, ARRAY_SIZE(want) * RXBUF_LEN);
			return;
		}
		msleep(20);
		if (!check(name, "flush", flush(0), 0))
			return;
	}
	check(name, "SEND events", got, ARRAY_SIZE(want));
	check(name, "SEND events at another address or length", bad, 0);
	/* Each buffer holds its part of the stream, the last writes winning. */
	bad = rxbuf_diff(after, 0, RXBUF_LEN);
	bad += rxbuf_diff((u8 *)hello, RXBUF_LEN, RXBUF_LEN);
	bad += rxbuf_diff(sink, 3 * RXBUF_LEN, 256);
	bad += rxbuf_diff(sink + 256, 4 * RXBUF_LEN, RXBUF_LEN);
	report(name, bad, 0);
	starved_case();
	desc_case("SHUTDOWN both ways of the buffers' connection",
		  desc(VIRT_OP_SHUTDOWN, VIRT_SHUT_RCV | VIRT_SHUT_SEND, 21, 0, 0), 0, 0, 0);
}

/* Flushes until a host peer's connection request is seen (60 s at most). */
static bool wait_h2g(const char *name)
{
	unsigned long end = jiffies + 60 * HZ;

	while (!h2g_conn) {
		if (time_after(jiffies, end)) {
			failed++;
			pr_info("virtsocket-hostile: %s: no host connection request within 60 s (a safety stop, not a pass): MISMATCH\n",
				name);
			return false;
		}
		msleep(20);
		nev = 0;
		if (!check(name, "flush", flush(0), 0))
			return false;
	}
	return true;
}

/*
 * Host-side ids the guest was not given to use: a host connection it has
 * not accepted, the same once the host dropped it, and ids the host never
 * allocated.  Each is refused; a live connection of the guest's and a later
 * host connection, accepted, are not affected.
 */
static void h2g_case(void)
{
	const char *name = "host-side connection ids";
	u32 h, never;

	if (!h2g_port || !wait_h2g(name))
		return;
	h = h2g_conn;
	never = h + 0x10000;
	pr_info("virtsocket-hostile: %s: host connection %#x requested\n", name, h);
	/*
	 * Not the sink: its virtsock-perf takes our bytes for a bad test
	 * header and resets the connection, at times before this case ends.
	 */
	if (!open_conn(60, discard_port, NULL))
		return;
	desc_case("CREDIT on a host connection not accepted",
		  desc(VIRT_OP_CREDIT, 0, h, 0, 0), 0, 0, 0);
	/* Data before the ACCEPT breaks the protocol: the connection is lost. */
	desc_case("SEND on a host connection not accepted",
		  desc(VIRT_OP_SEND, 0, h, sink_gpa, 64), -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("SEND on the host connection it lost",
		  desc(VIRT_OP_SEND, 0, h, sink_gpa, 64), -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("SHUTDOWN of the host connection it lost",
		  desc(VIRT_OP_SHUTDOWN, VIRT_SHUT_SEND, h, 0, 0),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("CREDIT on the host connection it lost",
		  desc(VIRT_OP_CREDIT, 0, h, 0, 0), -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("ACCEPT of the host connection it lost",
		  desc(VIRT_OP_ACCEPT, 0, h, 0, 0), -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("RESET of the host connection it lost",
		  desc(VIRT_OP_RESET, 0, h, 0, 0), -ENOTCONN, 0, 0);
	desc_case("SHUTDOWN on a host-side id never allocated",
		  desc(VIRT_OP_SHUTDOWN, VIRT_SHUT_RCV, never, 0, 0),
		  -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("CREDIT on a host-side id never allocated",
		  desc(VIRT_OP_CREDIT, 0, never, 0, 0), -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	desc_case("RESET of a host-side id never allocated",
		  desc(VIRT_OP_RESET, 0, never, 0, 0), -ENOTCONN, 0, 0);
	/* The guest's own connection lives on. */
	desc_case("CREDIT on the guest's connection after the forged ids",
		  desc(VIRT_OP_CREDIT, 0, 60, 0, 0), 0, 0, 0);
	desc_case("SEND on the guest's connection after the forged ids",
		  desc(VIRT_OP_SEND, 0, 60, sink_gpa, 64), 0, 0, 0);
	desc_case("RESET of the guest's connection",
		  desc(VIRT_OP_RESET, 0, 60, 0, 0), 0, 0, 0);

	/* The host peer connects again: this one is accepted and served. */
	if (h2g_conn == h)
		h2g_conn = 0;
	if (!wait_h2g(name))
		return;
	h = h2g_conn;
	if (!desc_case("ACCEPT of the next host connection",
		       desc(VIRT_OP_ACCEPT, 0, h, 0, 0), 0, 0, 0))
		return;
	memcpy(sink, H2G_MSG, strlen(H2G_MSG));
	desc_case("SEND on the accepted host connection",
		  desc(VIRT_OP_SEND, 0, h, sink_gpa, strlen(H2G_MSG)), 0, 0, 0);
	desc_case("SHUTDOWN both ways of the accepted host connection",
		  desc(VIRT_OP_SHUTDOWN, VIRT_SHUT_RCV | VIRT_SHUT_SEND, h, 0, 0), 0, 0, 0);
	/* Forgotten by both sides now. */
	desc_case("SEND on the host connection it shut",
		  desc(VIRT_OP_SEND, 0, h, sink_gpa, 64), -ENOTCONN, VIRT_OP_RESET, -ECONNRESET);
	h2g_conn = 0;
}

/* Points the helpers at @r, a ring of @n entries just registered. */
static void use_ring(void *r, u32 n)
{
	hdr = r;
	txr = r + virt_ring_tx_offset(0);
	rxr = r + virt_ring_rx_offset(n, 0);
	entries = n;
	tx_prod = 0;
	rx_cons = 0;
}

/*
 * A registration of its own with a ring of the most entries the host takes,
 * every descriptor a SEND of VIRT_MAX_SEND bytes, spread over @bulk_conns
 * connections whose readers' credit holds their share: the host must take
 * HOST_TX_BUDGET bytes of them per flush and answer MORE, and the readers
 * (the host side of the case) must count all of it.  Flush times are
 * printed, never judged.
 */
static void bulk_case(void)
{
	const char *name = "a ring of 4096 SENDs of 64 KiB";
	const u32 n = VIRT_RING_MAX_ENTRIES, per_flush = HOST_TX_BUDGET / VIRT_MAX_SEND;
	u32 share, i, flushes = 0, no_more = 0, off_budget = 0, refused = 0, first;
	s64 longest = 0;
	void *big;
	long r;

	if (!bulk_port || !bulk_conns || bulk_conns > ARRAY_SIZE(evs) || n % bulk_conns) {
		if (bulk_port)
			check(name, "bulk_conns (a divisor of 4096, at most 64)", bulk_conns, 32);
		return;
	}
	share = n / bulk_conns * VIRT_MAX_SEND;
	big = alloc_pages_exact(virt_ring_bytes(n), GFP_KERNEL | __GFP_ZERO);
	if (!big) {
		check(name, "ring allocation", -ENOMEM, 0);
		return;
	}
	fill_valid(hello);
	hello->ring_gpa = virt_to_phys(big);
	hello->ring_entries = n;
	r = kvm_hypercall2(VIRT_HC_NR, VIRT_HC_HELLO, virt_to_phys(hello));
	if (!report("hello with a ring of 4096 entries", r, 0))
		goto out;
	use_ring(big, n);

	nev = 0;
	for (i = 0; i < bulk_conns; i++)
		queue(&(struct virt_desc) {
			.op = VIRT_OP_CONNECT, .conn = 1 + i,
			.addr = ports(3000 + i, bulk_port + i), .buf_alloc = 65536,
		});
	publish();
	if (!check(name, "flush of the CONNECTs", flush(0), 0))
		goto bye;
	for (i = 0; i < bulk_conns; i++) {
		const struct virt_desc *ev = find_event(1 + i, VIRT_OP_ACCEPT);

		/* The host allows its credit plus one SEND in flight. */
		if (!check(name, "ACCEPT of each reader", !!ev, 1) ||
		    !check(name, "reader's credit for its share",
			   ev->buf_alloc + VIRT_MAX_SEND >= share, 1))
			goto bye;
	}

	first = tx_prod;
	for (i = 0; i < n; i++)
		queue(&(struct virt_desc) {
			.op = VIRT_OP_SEND, .conn = 1 + i % bulk_conns, .addr = sink_gpa,
			.len = VIRT_MAX_SEND, .buf_alloc = 65536,
		});
	publish();
	/* Twice the flushes needed at most: the rest is a failure. */
	while (READ_ONCE(hdr->tx_cons) != tx_prod && flushes < 2 * n / per_flush) {
		u32 before = READ_ONCE(hdr->tx_cons);
		ktime_t t0 = ktime_get();

		r = hc_flush(0);
		longest = max(longest, ktime_us_delta(ktime_get(), t0));
		flushes++;
		nev = 0;
		if (r < 0 || (r & ~VIRT_FLUSH_MORE) || take_events()) {
			check(name, "flush", r, VIRT_FLUSH_MORE);
			goto bye;
		}
		if (READ_ONCE(hdr->tx_cons) == tx_prod)
			break;
		no_more += !(r & VIRT_FLUSH_MORE);
		off_budget += READ_ONCE(hdr->tx_cons) - before != per_flush;
	}
	pr_info("virtsocket-hostile: longest flush %lld us over %u flushes\n", longest, flushes);
	for (i = 0; i < n; i++)
		refused += !!READ_ONCE(txr[virt_ring_slot(first + i, n)].status);
	report(name, flushes, n / per_flush);
	check(name, "flushes with SENDs left that did not answer MORE", no_more, 0);
	check(name, "flushes that took other than the budget's SENDs", off_budget, 0);
	check(name, "refused SENDs", refused, 0);
	check(name, "tx_cons", READ_ONCE(hdr->tx_cons), tx_prod);
	pr_info("virtsocket-hostile: host must receive: %u bytes on each of ports %u to %u\n",
		share, bulk_port, bulk_port + bulk_conns - 1);

	/* The readers see the end of their stream after all of it. */
	first = tx_prod;
	for (i = 0; i < bulk_conns; i++)
		queue(&(struct virt_desc) {
			.op = VIRT_OP_SHUTDOWN, .flags = VIRT_SHUT_RCV | VIRT_SHUT_SEND,
			.conn = 1 + i,
		});
	publish();
	check(name, "flush of the SHUTDOWNs", flush(0), 0);
	for (i = 0, refused = 0; i < bulk_conns; i++)
		refused += !!READ_ONCE(txr[virt_ring_slot(first + i, n)].status);
	check(name, "refused SHUTDOWNs", refused, 0);
bye:
	report("goodbye of the ring of 4096 entries", kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE), 0);
out:
	free_pages_exact(big, virt_ring_bytes(n));
}

/* The readers flood_case() streams to, one per port from @flood_port. */
#define FLOOD_CONNS	4

struct flood_conn {
	u32 buf_alloc, fwd_cnt;	/* the reader's credit, from its events */
	u32 sent;		/* bytes queued to it (mod 2^32, as fwd_cnt) */
	bool up;
};

/*
 * An event for flood_case(): credit from every one, ACCEPT for a reader's
 * connection; a RESET, or a reader that will not receive (SHUTDOWN with
 * VIRT_SHUT_RCV), is an error.
 */
static int flood_event(const struct virt_desc *ev, void *arg)
{
	struct flood_conn *fc = arg;
	u32 i = READ_ONCE(ev->conn) - 1;
	u16 op = READ_ONCE(ev->op);

	if (i >= FLOOD_CONNS)
		return 0;
	/* (A reader's own SHUT_WR is no news: it never sends.) */
	if (op == VIRT_OP_RESET ||
	    (op == VIRT_OP_SHUTDOWN && (READ_ONCE(ev->flags) & VIRT_SHUT_RCV))) {
		pr_err("virtsocket-hostile: flood: reader %u sent op %u, status %d\n",
		       i, op, READ_ONCE(ev->status));
		return -ECONNRESET;
	}
	fc[i].buf_alloc = READ_ONCE(ev->buf_alloc);
	fc[i].fwd_cnt = READ_ONCE(ev->fwd_cnt);
	fc[i].up |= op == VIRT_OP_ACCEPT;
	return 0;
}

/*
 * The victim of tests/e2e/cases/flush-kill.sh: a ring of the most entries
 * the host takes, filled again and again with SENDs of 64 KiB to
 * FLOOD_CONNS host readers (as much as their credit allows) and CREDIT
 * updates in every other slot, flushed back to back, so that the vCPU is
 * inside a flush hypercall when the host kills the VM.  It never returns
 * while the host keeps reading; a safety stop after @race_limit_s seconds
 * (a host that never killed us) is a failure.  Once a second it prints its
 * counts, among them the share of its time spent in flush hypercalls.
 */
static int flood_case(void)
{
	const u32 n = VIRT_RING_MAX_ENTRIES;
	struct flood_conn fc[FLOOD_CONNS] = {};
	unsigned long stop = jiffies + race_limit_s * HZ, next_print = jiffies + HZ;
	u64 flushes = 0, bytes = 0, in_flush_ns = 0;
	ktime_t start;
	void *big;
	u32 i, accepted = 0;
	long r;
	int err;

	big = alloc_pages_exact(virt_ring_bytes(n), GFP_KERNEL | __GFP_ZERO);
	if (!big)
		return -ENOMEM;
	fill_valid(hello);
	hello->ring_gpa = virt_to_phys(big);
	hello->ring_entries = n;
	r = kvm_hypercall2(VIRT_HC_NR, VIRT_HC_HELLO, virt_to_phys(hello));
	if (r) {
		pr_err("virtsocket-hostile: flood: hello returned %ld\n", r);
		free_pages_exact(big, virt_ring_bytes(n));
		return r < 0 ? r : -EPROTO;
	}
	use_ring(big, n);
	pr_info("virtsocket-hostile: flood: registered as CID %u\n", hello->cid);
	for (i = 0; i < FLOOD_CONNS; i++)
		queue(&(struct virt_desc) {
			.op = VIRT_OP_CONNECT, .conn = 1 + i,
			.addr = ports(3000 + i, flood_port + i), .buf_alloc = 65536,
		});
	publish();
	err = -ETIMEDOUT;
	start = ktime_get();
	while (time_before(jiffies, stop)) {
		u32 free = n - (tx_prod - READ_ONCE(hdr->tx_cons));
		ktime_t t0;

		for (i = 0; i < FLOOD_CONNS && free; i++) {
			while (fc[i].up && free &&
			       fc[i].sent - fc[i].fwd_cnt + VIRT_MAX_SEND <= fc[i].buf_alloc) {
				queue(&(struct virt_desc) {
					.op = VIRT_OP_SEND, .conn = 1 + i, .addr = sink_gpa,
					.len = VIRT_MAX_SEND, .buf_alloc = 65536,
				});
				fc[i].sent += VIRT_MAX_SEND;
				bytes += VIRT_MAX_SEND;
				free--;
			}
		}
		for (i = 0; free && accepted == FLOOD_CONNS; i++, free--)
			queue(&(struct virt_desc) {
				.op = VIRT_OP_CREDIT, .conn = 1 + i % FLOOD_CONNS,
				.buf_alloc = 65536,
			});
		publish();
		t0 = ktime_get();
		r = hc_flush(0);
		in_flush_ns += ktime_to_ns(ktime_sub(ktime_get(), t0));
		flushes++;
		if (r < 0 || (r & ~VIRT_FLUSH_MORE)) {
			pr_err("virtsocket-hostile: flood: flush returned %ld\n", r);
			err = r < 0 ? r : -EPROTO;
			break;
		}
		err = consume_events(flood_event, fc);
		if (err)
			break;
		for (i = 0, accepted = 0; i < FLOOD_CONNS; i++)
			accepted += fc[i].up;
		if (time_after(jiffies, next_print)) {
			u64 all = max_t(s64, ktime_to_ns(ktime_sub(ktime_get(), start)), 1);

			pr_info("virtsocket-hostile: flood: %llu flushes, %llu MiB queued, %llu%% of the time in flushes\n",
				flushes, bytes >> 20, div64_u64(100 * in_flush_ns, all));
			next_print = jiffies + HZ;
		}
		if (fatal_signal_pending(current)) {
			err = -EINTR;
			break;
		}
		cond_resched();
	}
	pr_err("virtsocket-hostile: flood: stopped (%d) after %llu flushes; the host was to kill this VM first\n",
	       err, flushes);
	kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE);
	free_pages_exact(big, virt_ring_bytes(n));
	return err;
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

/*
 * Both threads at @target, or false on the safety stop.  Spins a little, so
 * that two vCPUs on two CPUs leave together, then sleeps: on a test host
 * with one CPU the partner's vCPU runs only once this one halts, and a guest
 * whose vCPU spun there for ~90 s once lost its timer ticks (2026-12-04:
 * its jiffies stopped, so the safety stop never came).
 */
static bool hello_gate(struct hello_race *hr, atomic_t *count, int target)
{
	unsigned int spins = 0;

	atomic_inc(count);
	while (atomic_read(count) < target) {
		if (kthread_should_stop() || time_after(jiffies, hr->deadline)) {
			WRITE_ONCE(hr->late, true);
			return false;
		}
		if (++spins < 2000) {
			cpu_relax();
			cond_resched();
		} else {
			usleep_range(20, 40);
		}
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
	if (READ_ONCE(hr.late)) {
		/*
		 * The safety stop cut a round between its HELLO and its
		 * check: it may have left a registration, which the next
		 * case's HELLO would meet as -EEXIST.
		 */
		kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE);
		check(name, "rounds before the time limit (a safety stop, not a pass)",
		      hr.rounds, hello_rounds);
	}
	report(name, hr.bad, 0);
}

/* Failures count for the host's per-VM errors, as hc_flush()'s do. */
static long hc_notify(u64 apic_id, u64 vector)
{
	long r = kvm_hypercall3(VIRT_HC_NR, VIRT_HC_NOTIFY, apic_id, vector);

	hc_failed += r < 0;
	return r;
}

/*
 * VIRT_HC_NOTIFY moves the notification target, checked as the hello's is.
 * (This registration has no VIRT_F_NOTIFY_IRQ: nothing is raised anyway.)
 */
static void notify_cases(void)
{
	report("notify: vector 31 (an exception's)", hc_notify(0, 31), -EINVAL);
	report("notify: vector 256", hc_notify(0, 256), -EINVAL);
	report("notify: vector 2^32 + 40", hc_notify(0, BIT_ULL(32) + 40), -EINVAL);
	report("notify: APIC id 2^32", hc_notify(BIT_ULL(32), 40), -EINVAL);
	report("notify: APIC id 255, vector 255", hc_notify(255, 255), 0);
	report("notify: APIC id 0, vector 40", hc_notify(0, 40), 0);
}

/* A registration that did not ask for VIRT_F_NOTIFY_MOVE cannot move. */
static void notify_unoffered_case(void)
{
	long r;

	fill_valid(hello);
	r = kvm_hypercall2(VIRT_HC_NR, VIRT_HC_HELLO, virt_to_phys(hello));
	if (!report("hello without VIRT_F_NOTIFY_MOVE", r, 0))
		return;
	check("hello without VIRT_F_NOTIFY_MOVE", "granted VIRT_F_NOTIFY_MOVE",
	      !!(hello->host_features & VIRT_F_NOTIFY_MOVE), 0);
	report("notify without VIRT_F_NOTIFY_MOVE", hc_notify(0, 40), -EOPNOTSUPP);
	report("goodbye after it", kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE), 0);
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
	bulk_case();
	memset(ring, 0, virt_ring_bytes(RING_ENTRIES));
	use_ring(ring, RING_ENTRIES);
	notify_unoffered_case();
	fill_valid(hello);
	hello->guest_features |= VIRT_F_NOTIFY_MOVE;
	r = kvm_hypercall2(VIRT_HC_NR, VIRT_HC_HELLO, virt_to_phys(hello));
	if (!report("hello with a ring", r, 0))
		return;
	registered = true;
	/* What this registration's counters must show, from here. */
	refused_seen = 0;
	hc_failed = 0;
	h2g_conn = 0;
	pr_info("virtsocket-hostile: registered as CID %u\n", hello->cid);

	notify_cases();
	flush_cases();
	forged_id_cases();
	malformed_cases();
	connection_cases();
	credit_case();
	rx_post_case();
	rx_place_case();
	h2g_case();
	full_ring_case();
	repeated_connect_case();
	conn_limit_case();
	index_cases();
	race_case("descriptors rewritten during flushes", false);
	race_case("descriptors and indices rewritten during flushes", true);
	desc_case("CONNECT after the rewrites",
		  desc(VIRT_OP_CONNECT, 0, 300, ports(1300, 65000), 0),
		  0, VIRT_OP_RESET, -ECONNREFUSED);
	/* The races' connections may live: reset, so that none is left. */
	queue(&(struct virt_desc){ .op = VIRT_OP_RESET, .conn = 30 });
	queue(&(struct virt_desc){ .op = VIRT_OP_RESET, .conn = 31 });
	publish();
	nev = 0;
	check("RESET of the races' connections", "flush", flush(0), 0);
	pr_info("virtsocket-hostile: host must hold: 0 connections of this guest\n");
	pr_info("virtsocket-hostile: host must count: at least %lu refused descriptors, exactly %lu failed hypercalls\n",
		refused_seen, hc_failed);
}

static void goodbye_cases(void)
{
	report("goodbye with a ring", kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE), 0);
	registered = false;
	report("flush after goodbye", hc_flush(0), -ENOTCONN);
	report("notify after goodbye", hc_notify(0, 40), -ENOTCONN);
	report("goodbye after goodbye", kvm_hypercall1(VIRT_HC_NR, VIRT_HC_BYE), -ENOENT);
}

static void hostile_free(void)
{
	free_page((unsigned long)hello);
	hello = NULL;
	if (ring)
		free_pages_exact(ring, RING_ALLOC);
	ring = NULL;
	if (sink)
		free_pages((unsigned long)sink, SINK_ORDER);
	sink = NULL;
}

static int __init hostile_init(void)
{
	/* Pages of their own: receive buffers are placed on them. */
	hello = (void *)get_zeroed_page(GFP_KERNEL);
	ring = alloc_pages_exact(RING_ALLOC, GFP_KERNEL | __GFP_ZERO);
	sink = (void *)__get_free_pages(GFP_KERNEL | __GFP_ZERO, SINK_ORDER);
	if (!hello || !ring || !sink) {
		hostile_free();
		return -ENOMEM;
	}
	sink_gpa = virt_to_phys(sink);
	if (flood_port) {
		int err = flood_case();

		hostile_free();
		return err;
	}
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
