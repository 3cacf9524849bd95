// Inputs shared by virt_microbench (timing) and virt_microwork (fixed
// workload for callgrind): a descriptor mix, a handshake block, a guest
// memory buffer holding a ring.  Deterministic, so instruction counts
// compare run to run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

extern "C" {
#include "ring_model.h"
#include "validate.h"
}

#include "valid_hello.hpp"

namespace virtbench {

// 64 descriptors, every op, about one in four refused (by each kind of
// check), in a fixed shuffled order so the branch predictor cannot learn a
// short period.
inline std::vector<virt_desc> desc_mix()
{
	std::vector<virt_desc> v;
	uint32_t x = 12345;	// LCG: deterministic
	for (int i = 0; i < 64; i++) {
		x = x * 1103515245u + 12345u;
		virt_desc d{};
		d.conn = 1 + (x >> 8) % 1000;
		d.buf_alloc = 262144;
		switch ((x >> 16) % 8) {
		case 0: d.op = VIRT_OP_CONNECT; d.addr = (1024ull << 32) | 80; break;
		case 1: d.op = VIRT_OP_ACCEPT; d.conn |= VIRT_CONN_HOST_BASE; break;
		case 2: case 3:
			d.op = VIRT_OP_SEND; d.addr = 0x200000 + 4096ull * i; d.len = 1500; break;
		case 4: d.op = VIRT_OP_RX_POST; d.addr = 0x400000 + 4096ull * i; d.len = 4096; break;
		case 5: d.op = VIRT_OP_SHUTDOWN; d.flags = VIRT_SHUT_SEND; break;
		case 6: d.op = VIRT_OP_CREDIT; break;
		case 7: d.op = VIRT_OP_RESET; break;
		}
		switch ((x >> 24) % 16) {	// refusals
		case 0: d.op = 42; break;				// -EOPNOTSUPP
		case 1: d.flags = 0x80; break;				// -EINVAL
		case 2: d.conn = 0; break;				// -EINVAL (mostly)
		case 3: d.addr = ~0ull; d.len = 64; d.op = VIRT_OP_SEND; break;	// -EFAULT
		}
		v.push_back(d);
	}
	return v;
}

using virttest::valid_hello;

// A guest's memory holding just its ring at GPA 0, with both ends on it.
struct RingPair {
	explicit RingPair(uint32_t entries, uint32_t start = 0xffffff00u)
	    : bytes(virt_ring_bytes(entries))
	{
		mem.base = bytes.data();
		mem.size = bytes.size();
		rmodel_host_init(&host, 0, entries);
		host.tx_cons = start;
		guest = {0, entries, start};
		auto *hdr = reinterpret_cast<virt_ring_hdr *>(bytes.data());
		hdr->tx_prod = hdr->tx_cons = start;
	}
	~RingPair() { rmodel_host_fini(&host); }
	RingPair(const RingPair &) = delete;
	RingPair &operator=(const RingPair &) = delete;

	// One guest batch and the host's flush of it; returns descriptors moved.
	int round_trip(const virt_desc *d, uint32_t n)
	{
		rmodel_guest_produce(&guest, &mem, d, n);
		return rmodel_host_tx(&host, &mem);
	}

	std::vector<uint8_t> bytes;
	rmodel_mem mem{};
	rmodel_host host{};
	rmodel_guest guest{};
};

// A batch of @n valid SENDs (the data path's common case).
inline std::vector<virt_desc> send_batch(uint32_t n)
{
	std::vector<virt_desc> v(n);
	for (uint32_t i = 0; i < n; i++) {
		v[i].op = VIRT_OP_SEND;
		v[i].conn = 1 + i % 8;
		v[i].addr = 0x200000 + 65536ull * i;
		v[i].len = 1500;
	}
	return v;
}

} // namespace virtbench
