#include <virtsocket/abi.h>

#include <array>
#include <cstddef>

#include <gtest/gtest.h>

#include "abi_layout.h"

namespace {

TEST(Abi, CAndCxxAgreeOnLayout)
{
	std::array<size_t, ABI_LAYOUT_FIELDS> c{};
	ASSERT_EQ(abi_layout_c(c.data()), c.size());
	std::array<size_t, ABI_LAYOUT_FIELDS> cxx{};
	size_t n = 0;
#define STORE(v) cxx[n++] = (v);
	ABI_LAYOUT_LIST(STORE)
#undef STORE
	ASSERT_EQ(n, cxx.size());
	for (size_t i = 0; i < n; i++)
		EXPECT_EQ(c[i], cxx[i]) << "field " << i;
}

TEST(Abi, SockaddrVirtMatchesSockaddrVmShape)
{
	EXPECT_EQ(sizeof(sockaddr_virt), 16u);
	EXPECT_EQ(offsetof(sockaddr_virt, svirt_port), 4u);
	EXPECT_EQ(offsetof(sockaddr_virt, svirt_cid), 8u);
}

TEST(Abi, RingSizes)
{
	EXPECT_TRUE(virt_ring_entries_valid(16));
	EXPECT_TRUE(virt_ring_entries_valid(4096));
	EXPECT_FALSE(virt_ring_entries_valid(0));
	EXPECT_FALSE(virt_ring_entries_valid(8));
	EXPECT_FALSE(virt_ring_entries_valid(48));
	EXPECT_FALSE(virt_ring_entries_valid(8192));
	/* 64-byte header + 2 * 256 * 32 bytes = 16448 -> 5 pages */
	EXPECT_EQ(virt_ring_bytes(256), 5u * 4096u);
	EXPECT_EQ(virt_ring_bytes(16) % VIRT_RING_ALIGN, 0u);
}

TEST(Abi, HypercallNumberIsFarFromUpstream)
{
	EXPECT_GT(VIRT_HC_NR, 13ul);
}

} // namespace
