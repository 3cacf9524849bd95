// The ring's two ends as flush.c and the guest drive them (ring_model.c),
// with the real ring.h and validate.c, over a buffer standing in for guest
// memory.
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "ring_model.h"

namespace {

constexpr uint64_t kRingGpa = 0x3000;	// not 0: catches a forgotten base
constexpr uint8_t kPoison = 0xa5;

// Guest memory with the ring at kRingGpa and poison everywhere else.
struct Guest {
	explicit Guest(uint32_t entries, uint32_t start)
	    : entries(entries),
	      bytes(kRingGpa + virt_ring_bytes(entries) + 0x1000, kPoison)
	{
		mem.base = bytes.data();
		mem.size = bytes.size();
		std::memset(bytes.data() + kRingGpa, 0, virt_ring_bytes(entries));
		hdr()->tx_prod = hdr()->tx_cons = start;
		g = {kRingGpa, entries, start};
	}
	virt_ring_hdr *hdr() { return reinterpret_cast<virt_ring_hdr *>(&bytes[kRingGpa]); }
	virt_desc *tx(uint32_t idx)
	{
		return reinterpret_cast<virt_desc *>(
			&bytes[kRingGpa + virt_ring_tx_offset(virt_ring_slot(idx, entries))]);
	}
	// Nothing outside the tx half of the ring (header included) was written:
	// memory around the ring keeps its poison, the rx half its zeros.
	bool outside_untouched() const
	{
		const uint64_t ring_end = kRingGpa + virt_ring_bytes(entries);
		const uint64_t rx = kRingGpa + virt_ring_tx_offset(entries);
		for (uint64_t i = 0; i < bytes.size(); i++) {
			uint8_t want = i >= rx && i < ring_end ? 0 : kPoison;
			if ((i < kRingGpa || i >= rx) && bytes[i] != want)
				return false;
		}
		return true;
	}

	uint32_t entries;
	std::vector<uint8_t> bytes;
	rmodel_mem mem{};
	rmodel_guest g{};
};

struct Host {
	Host(uint32_t entries, uint32_t start)
	{
		EXPECT_EQ(rmodel_host_init(&h, kRingGpa, entries), 0);
		h.tx_cons = start;
	}
	~Host() { rmodel_host_fini(&h); }
	rmodel_host h;
};

// Descriptor number @seq: a valid SEND, except every fifth, which is refused.
virt_desc make_desc(uint32_t seq)
{
	virt_desc d{};
	d.op = VIRT_OP_SEND;
	d.conn = 1 + seq % (VIRT_CONN_HOST_BASE - 1);
	d.addr = 0x100000ull + 64ull * seq;
	d.len = 1 + seq % VIRT_MAX_SEND;
	if (seq % 5 == 4)
		d.op = 0x77;	// unknown
	return d;
}

// What the host carried out, in order.
struct Seen {
	std::vector<virt_desc> descs;
	std::vector<uint32_t> idx;
	const rmodel_host *host = nullptr;
	bool copy_in_host_memory = true;
};

int record(void *ctx, const virt_desc *d, uint32_t idx)
{
	auto *s = static_cast<Seen *>(ctx);
	const virt_desc *lo = s->host->scratch, *hi = lo + s->host->entries;
	if (d < lo || d >= hi)
		s->copy_in_host_memory = false;
	s->descs.push_back(*d);
	s->idx.push_back(idx);
	return 0;
}

// N descriptors through a 16-entry ring in batches of 1..16, from @start, so
// the indices cross the u32 wrap; checks order, statuses and tx_cons.
void round_trip(uint32_t start, uint32_t n)
{
	const uint32_t entries = 16;
	Guest guest(entries, start);
	Host host(entries, start);
	Seen seen;
	seen.host = &host.h;
	host.h.fn = record;
	host.h.ctx = &seen;

	uint32_t sent = 0, expect_ok = 0, expect_bad = 0;
	std::vector<virt_desc> batch;
	for (uint32_t flush = 0; sent < n; flush++) {
		uint32_t want = 1 + (flush * 7 + start) % entries;
		batch.clear();
		for (uint32_t i = 0; i < want && sent + i < n; i++)
			batch.push_back(make_desc(sent + i));
		uint32_t put = rmodel_guest_produce(&guest.g, &guest.mem, batch.data(),
						    static_cast<uint32_t>(batch.size()));
		ASSERT_EQ(put, batch.size());	// the host emptied the ring last time
		uint32_t first = guest.g.tx_prod - put;

		ASSERT_EQ(rmodel_host_tx(&host.h, &guest.mem), static_cast<int>(put));
		ASSERT_EQ(guest.hdr()->tx_cons, guest.g.tx_prod);
		ASSERT_EQ(host.h.tx_cons, guest.g.tx_prod);
		// Refusals carry their errno, the others keep the guest's 0.
		for (uint32_t i = 0; i < put; i++) {
			bool bad = (sent + i) % 5 == 4;
			ASSERT_EQ(guest.tx(first + i)->status, bad ? -EOPNOTSUPP : 0)
				<< "seq " << sent + i;
			(bad ? expect_bad : expect_ok)++;
		}
		sent += put;
	}

	EXPECT_EQ(host.h.accepted, expect_ok);
	EXPECT_EQ(host.h.refused, expect_bad);
	EXPECT_EQ(host.h.stray_reads, 0u);
	EXPECT_EQ(guest.mem.faults, 0u);
	EXPECT_TRUE(seen.copy_in_host_memory);
	ASSERT_EQ(seen.descs.size(), expect_ok);
	// The valid ones arrive in order, intact, with their free-running index.
	uint32_t k = 0;
	for (uint32_t seq = 0; seq < n; seq++) {
		if (seq % 5 == 4)
			continue;
		virt_desc want = make_desc(seq);
		ASSERT_EQ(std::memcmp(&seen.descs[k], &want, sizeof(want)), 0) << seq;
		ASSERT_EQ(seen.idx[k], start + seq) << seq;
		k++;
	}
	EXPECT_TRUE(guest.outside_untouched());
	EXPECT_EQ(guest.g.tx_prod, start + n);	// and so wrapped when start + n did
}

TEST(RingModel, RoundTripAcrossTheWrap)
{
	// Every slot alignment of the start, each run crossing 2^32.
	for (uint32_t k = 0; k < 48; k++)
		round_trip(0xffffffffu - k * 5, 2000);
}

TEST(RingModel, LongRoundTripAcrossTheWrap)
{
	round_trip(0xffff0000u, 200000);	// 2^16 before the wrap, far past it
}

TEST(RingModel, ProducerStopsAtAFullRing)
{
	Guest guest(16, 0xfffffff8u);
	std::vector<virt_desc> d(40, make_desc(0));
	EXPECT_EQ(rmodel_guest_produce(&guest.g, &guest.mem, d.data(), 40), 16u);
	EXPECT_EQ(rmodel_guest_produce(&guest.g, &guest.mem, d.data(), 40), 0u);
	EXPECT_EQ(guest.hdr()->tx_prod, 0x00000008u);

	Host host(16, 0xfffffff8u);
	EXPECT_EQ(rmodel_host_tx(&host.h, &guest.mem), 16);
	EXPECT_EQ(rmodel_host_tx(&host.h, &guest.mem), 0);	// nothing new
	EXPECT_EQ(rmodel_guest_produce(&guest.g, &guest.mem, d.data(), 40), 16u);
}

TEST(RingModel, ImpossibleProducerIndexTouchesNothing)
{
	const uint32_t cons = 0xfffffffau;
	for (uint32_t prod : {cons + 17u, cons + 0x1000u, cons + 0x80000000u,
			      cons - 1u, cons - 16u}) {
		Guest guest(16, cons);
		for (uint32_t i = 0; i < 16; i++)
			*guest.tx(cons + i) = make_desc(i);
		guest.hdr()->tx_prod = prod;
		const std::vector<uint8_t> before = guest.bytes;

		Host host(16, cons);
		Seen seen;
		seen.host = &host.h;
		host.h.fn = record;
		host.h.ctx = &seen;
		EXPECT_EQ(rmodel_host_tx(&host.h, &guest.mem), -EINVAL) << prod;
		EXPECT_EQ(guest.bytes, before) << "guest memory written, prod " << prod;
		EXPECT_EQ(guest.mem.reads, 1u) << "read past the header, prod " << prod;
		EXPECT_EQ(host.h.tx_cons, cons);
		EXPECT_EQ(host.h.accepted + host.h.refused, 0u);
		EXPECT_TRUE(seen.descs.empty());
	}
}

TEST(RingModel, RingOutsideGuestMemoryFaults)
{
	Guest guest(16, 0);
	guest.hdr()->tx_prod = 4;
	rmodel_mem small = guest.mem;
	small.size = kRingGpa + virt_ring_tx_offset(2);	// descriptors 2.. are not RAM
	Host host(16, 0);
	EXPECT_EQ(rmodel_host_tx(&host.h, &small), -EFAULT);
	EXPECT_EQ(small.faults, 1u);
}

// The guest scribbles over its ring (and tx_prod) while the host is in the
// middle of the batch, as a hostile guest on another vCPU can.
struct Scribbler {
	Seen seen;
	Guest *guest;
	bool done = false;
};

int scribble(void *ctx, const virt_desc *d, uint32_t idx)
{
	auto *s = static_cast<Scribbler *>(ctx);
	record(&s->seen, d, idx);
	if (!s->done) {
		s->done = true;
		for (uint32_t i = 0; i < s->guest->entries; i++) {
			virt_desc *g = s->guest->tx(i);
			g->op = 0xffff;
			g->len = 0xffffffffu;
			g->conn = 0;
		}
		s->guest->hdr()->tx_prod += 1000;
	}
	return 0;
}

void rewrite_after_copy(uint32_t cons, uint32_t n, uint32_t copied_first)
{
	Guest guest(16, cons);
	for (uint32_t i = 0; i < n; i++)
		*guest.tx(cons + i) = make_desc(i * 5);	// all valid
	guest.hdr()->tx_prod = cons + n;

	Host host(16, cons);
	Scribbler s;
	s.guest = &guest;
	s.seen.host = &host.h;
	host.h.fn = scribble;
	host.h.ctx = &s;
	// The batch is the n the header said when the flush began.
	ASSERT_EQ(rmodel_host_tx(&host.h, &guest.mem), static_cast<int>(n));
	EXPECT_EQ(host.h.tx_cons, cons + n);
	EXPECT_TRUE(s.seen.copy_in_host_memory);
	// The run copied before the rewrite is checked and carried out as it was.
	ASSERT_EQ(s.seen.descs.size(), copied_first);
	for (uint32_t i = 0; i < copied_first; i++) {
		virt_desc want = make_desc(i * 5);
		EXPECT_EQ(std::memcmp(&s.seen.descs[i], &want, sizeof(want)), 0) << i;
	}
	// Later runs are copied once, after the rewrite, and refused as garbage.
	EXPECT_EQ(host.h.accepted, copied_first);
	EXPECT_EQ(host.h.refused, n - copied_first);
}

TEST(RingModel, RewriteAfterCopyChangesNothingChecked)
{
	rewrite_after_copy(0, 8, 8);			// one run
	rewrite_after_copy(0xfffffffcu, 8, 4);		// two runs: 4 + 4 across the wrap
	rewrite_after_copy(0xfffffff0u, 16, 16);	// a whole ring in one run
}

int refuse_odd(void *, const virt_desc *, uint32_t idx)
{
	return idx & 1 ? -ENOTCONN : 0;
}

TEST(RingModel, CarryOutFailureGoesToStatus)
{
	Guest guest(16, 0xfffffffcu);
	std::vector<virt_desc> d;
	for (uint32_t i = 0; i < 8; i++)
		d.push_back(make_desc(i * 5));
	ASSERT_EQ(rmodel_guest_produce(&guest.g, &guest.mem, d.data(), 8), 8u);
	Host host(16, 0xfffffffcu);
	host.h.fn = refuse_odd;
	ASSERT_EQ(rmodel_host_tx(&host.h, &guest.mem), 8);
	for (uint32_t i = 0; i < 8; i++)
		EXPECT_EQ(guest.tx(0xfffffffcu + i)->status, i & 1 ? -ENOTCONN : 0) << i;
	EXPECT_EQ(host.h.accepted, 4u);
	EXPECT_EQ(host.h.refused, 4u);
}

} // namespace
