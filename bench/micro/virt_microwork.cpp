// A fixed, deterministic workload per operation, for instruction counts
// under valgrind --tool=callgrind (see callgrind.sh, which collects only
// inside the work_* function named on the command line).
//   virt_microwork desc|hello|ring|copy|all
// prints "<workload> <operations> <unit>" per workload run.
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "workload.hpp"

namespace {

constexpr long kDescChecks = 1000000;
constexpr long kHelloChecks = 1000000;
constexpr long kRingTrips = 100000;	// of kRingBatch descriptors each
constexpr uint32_t kRingBatch = 16;
constexpr long kCopies = 10000;		// of kCopyBytes each
constexpr uint32_t kCopyBytes = 4096;

volatile long sink;	// keeps results alive without a benchmark library

} // namespace

// Not inlined and not mangled: callgrind.sh names them in --toggle-collect.
extern "C" {

__attribute__((noinline)) void work_desc(const virt_desc *mix)
{
	long bad = 0;
	for (long i = 0; i < kDescChecks; i++)
		bad += virt_desc_check(&mix[i & 63]) != 0;
	sink = bad;
}

__attribute__((noinline)) void work_hello(const virt_hello *h)
{
	long bad = 0;
	for (long i = 0; i < kHelloChecks; i++)
		bad += virt_hello_check(h) != 0;
	sink = bad;
}

__attribute__((noinline)) void work_ring(virtbench::RingPair *ring, const virt_desc *batch)
{
	long moved = 0;
	for (long i = 0; i < kRingTrips; i++)
		moved += ring->round_trip(batch, kRingBatch);
	sink = moved;
}

__attribute__((noinline)) void work_copy(uint8_t *dst, const uint8_t *guest, size_t guest_size)
{
	virt_desc d{};
	d.op = VIRT_OP_SEND;
	d.conn = 1;
	d.len = kCopyBytes;
	for (long i = 0; i < kCopies; i++) {
		d.addr = (static_cast<uint64_t>(i) * (kCopyBytes + 4096)) % (guest_size - kCopyBytes);
		if (!virt_desc_check(&d))
			std::memcpy(dst, guest + d.addr, d.len);
	}
	sink = dst[0];
}

} // extern "C"

int main(int argc, char **argv)
{
	const std::string what = argc > 1 ? argv[1] : "all";
	const bool all = what == "all";
	bool any = false;

	if (all || what == "desc") {
		const auto mix = virtbench::desc_mix();
		work_desc(mix.data());
		std::printf("desc %ld desc_check\n", kDescChecks);
		any = true;
	}
	if (all || what == "hello") {
		const virt_hello h = virtbench::valid_hello();
		work_hello(&h);
		std::printf("hello %ld hello_check\n", kHelloChecks);
		any = true;
	}
	if (all || what == "ring") {
		virtbench::RingPair ring(16);
		const auto batch = virtbench::send_batch(kRingBatch);
		work_ring(&ring, batch.data());
		if (ring.host.accepted != static_cast<uint64_t>(kRingTrips) * kRingBatch) {
			std::fprintf(stderr, "ring: %llu descriptors accepted, expected %ld\n",
				     static_cast<unsigned long long>(ring.host.accepted),
				     kRingTrips * kRingBatch);
			return 1;
		}
		std::printf("ring %ld descriptor\n", kRingTrips * kRingBatch);
		any = true;
	}
	if (all || what == "copy") {
		const size_t guest_size = 8u << 20;
		std::unique_ptr<uint8_t[]> guest(new uint8_t[guest_size]());
		std::unique_ptr<uint8_t[]> dst(new uint8_t[kCopyBytes]);
		work_copy(dst.get(), guest.get(), guest_size);
		std::printf("copy %ld byte\n", kCopies * kCopyBytes);
		any = true;
	}
	if (!any) {
		std::fprintf(stderr, "usage: %s desc|hello|ring|copy|all\n", argv[0]);
		return 2;
	}
	return 0;
}
