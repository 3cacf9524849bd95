// Index arithmetic of include/virtsocket/ring.h, above all across the u32
// wrap of the free-running indices.
#include <cstdint>

#include <gtest/gtest.h>

extern "C" {
#include <virtsocket/ring.h>
}

namespace {

// Consumer indices just below, at and just past the u32 wrap, and elsewhere.
constexpr uint32_t kConsNearWrap[] = {
	0u, 1u, 15u, 16u, 0x7fffffffu, 0x80000000u,
	0xffffffe0u, 0xfffffff0u, 0xfffffffeu, 0xffffffffu,
};
constexpr uint32_t kEntries[] = {16u, 32u, 256u, 4096u};

TEST(RingSlot, WrapsWithTheIndex)
{
	EXPECT_EQ(virt_ring_slot(0xffffffffu, 16), 15u);
	EXPECT_EQ(virt_ring_slot(0xffffffffu + 1u, 16), 0u);
	EXPECT_EQ(virt_ring_slot(0xfffffffeu, 4096), 4094u);
	EXPECT_EQ(virt_ring_slot(17u, 16), 1u);
	// Consecutive indices take consecutive slots, even across the wrap.
	for (uint32_t e : kEntries)
		for (uint32_t idx = 0xfffffff0u; idx != 0x10u; idx++)
			EXPECT_EQ(virt_ring_slot(idx + 1u, e),
				  (virt_ring_slot(idx, e) + 1u) % e) << idx;
}

TEST(RingUsed, CountsAcrossTheWrap)
{
	EXPECT_EQ(virt_ring_used(0x00000005u, 0xfffffffeu), 7u);
	EXPECT_EQ(virt_ring_used(0u, 0xffffffffu), 1u);
	EXPECT_EQ(virt_ring_used(0xffffffffu, 0xffffffffu), 0u);
	// A producer behind its consumer looks like an enormous backlog.
	EXPECT_EQ(virt_ring_used(0xfffffffeu, 0x00000005u), 0xfffffff9u);
}

TEST(RingFull, AcrossTheWrap)
{
	EXPECT_FALSE(virt_ring_full(0x00000005u, 0xfffffffeu, 16));	// 7 used
	EXPECT_FALSE(virt_ring_full(0x0000000du, 0xfffffffeu, 16));	// 15
	EXPECT_TRUE(virt_ring_full(0x0000000eu, 0xfffffffeu, 16));	// 16
	EXPECT_TRUE(virt_ring_full(0x0000000fu, 0xfffffffeu, 16));	// 17: bogus, still full
	EXPECT_FALSE(virt_ring_full(0xfffffffeu, 0xfffffffeu, 16));
}

TEST(RingPending, CountsUpToOneRingAcrossTheWrap)
{
	EXPECT_EQ(virt_ring_pending(0x00000005u, 0xfffffffeu, 16), 7);
	for (uint32_t e : kEntries)
		for (uint32_t cons : kConsNearWrap)
			for (uint32_t k = 0; k <= e; k++)
				ASSERT_EQ(virt_ring_pending(cons + k, cons, e), (int)k)
					<< "cons " << cons << " k " << k << " entries " << e;
}

TEST(RingPending, RejectsMoreThanARing)
{
	EXPECT_EQ(virt_ring_pending(0x0000000fu, 0xfffffffeu, 16), -1);	// 17
	for (uint32_t e : kEntries) {
		for (uint32_t cons : kConsNearWrap) {
			// One too many, far too many, and a producer behind the consumer.
			for (uint32_t k : {e + 1u, 2u * e, 0x7fffffffu, 0x80000000u,
					   0xfffffffeu, 0xffffffffu})
				EXPECT_EQ(virt_ring_pending(cons + k, cons, e), -1)
					<< "cons " << cons << " k " << k << " entries " << e;
		}
	}
}

TEST(RingRun, StopsAtTheWrap)
{
	EXPECT_EQ(virt_ring_run(0xfffffffeu, 5, 16), 2u);	// slots 14, 15
	EXPECT_EQ(virt_ring_run(0x00000000u, 5, 16), 5u);	// after the wrap
	EXPECT_EQ(virt_ring_run(0xfffffff0u, 16, 16), 16u);	// slot 0: whole ring
	EXPECT_EQ(virt_ring_run(0xffffffffu, 16, 16), 1u);
	EXPECT_EQ(virt_ring_run(1u, 16, 16), 15u);
	EXPECT_EQ(virt_ring_run(0xfffffffeu, 0, 16), 0u);
}

// Two runs cover any n <= entries, and a run never leaves the ring: this is
// what keeps flush.c's copy of a run inside the ring and its scratch buffer.
TEST(RingRun, TwoRunsCoverAnyBatchAndStayInTheRing)
{
	for (uint32_t e : kEntries) {
		for (uint32_t cons : kConsNearWrap) {
			for (uint32_t d = 0; d < 2 * e; d += (e > 64 ? 7 : 1)) {
				uint32_t idx = cons + d;
				for (uint32_t n = 0; n <= e; n++) {
					uint32_t a = virt_ring_run(idx, n, e);
					uint32_t b = virt_ring_run(idx + a, n - a, e);

					ASSERT_LE(a, n);
					ASSERT_LE(virt_ring_slot(idx, e) + a, e);
					if (n) {
						ASSERT_GE(a, 1u);
					}
					if (a < n) {	// cut short only by the end of the ring
						ASSERT_EQ(virt_ring_slot(idx, e) + a, e);
					}
					ASSERT_EQ(a + b, n) << idx << " " << n << " " << e;
				}
			}
		}
	}
}

} // namespace
