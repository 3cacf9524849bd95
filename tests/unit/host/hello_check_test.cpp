// The host's checks of a guest's handshake block, on hostile input.
#include <cerrno>
#include <cstdint>

#include <gtest/gtest.h>

extern "C" {
#include "hello_check.h"
}

namespace {

virt_hello valid()
{
	virt_hello h{};
	h.magic = VIRT_HELLO_MAGIC;
	h.guest_version = VIRT_ABI_VERSION;
	h.guest_features = VIRT_F_KNOWN;
	h.ring_gpa = 0x100000;
	h.ring_entries = 256;
	h.vector = 44;
	return h;
}

TEST(HelloCheck, AcceptsAValidBlock)
{
	virt_hello h = valid();
	EXPECT_EQ(virt_hello_check(&h), 0);
	EXPECT_EQ(virt_hello_features(&h), VIRT_F_KNOWN);
}

TEST(HelloCheck, RejectsBadMagicAndReservedFields)
{
	virt_hello h = valid();
	h.magic = 0;
	EXPECT_EQ(virt_hello_check(&h), -EBADMSG);
	h = valid();
	h.reserved0 = 1;
	EXPECT_EQ(virt_hello_check(&h), -EBADMSG);
}

TEST(HelloCheck, RejectsOtherVersions)
{
	for (uint32_t v : {0u, 2u, 0xffffffffu}) {
		virt_hello h = valid();
		h.guest_version = v;
		EXPECT_EQ(virt_hello_check(&h), -EPROTONOSUPPORT) << v;
	}
}

TEST(HelloCheck, RejectsRingSizes)
{
	for (uint32_t n : {0u, 1u, 8u, 15u, 17u, 48u, 8192u, 0x80000000u, 0xffffffffu}) {
		virt_hello h = valid();
		h.ring_entries = n;
		EXPECT_EQ(virt_hello_check(&h), -EINVAL) << n;
	}
	for (uint32_t n : {16u, 32u, 1024u, 4096u}) {
		virt_hello h = valid();
		h.ring_entries = n;
		EXPECT_EQ(virt_hello_check(&h), 0) << n;
	}
}

TEST(HelloCheck, RejectsUnalignedRings)
{
	for (uint64_t gpa : {0x100040ull, 0x100001ull, 0x100800ull}) {
		virt_hello h = valid();
		h.ring_gpa = gpa;
		EXPECT_EQ(virt_hello_check(&h), -EINVAL) << gpa;
	}
}

TEST(HelloCheck, RejectsRingsPastTheAddressSpace)
{
	for (uint64_t gpa : {~0xfffull, 1ull << 52, (1ull << 52) - 0x1000}) {
		virt_hello h = valid();
		h.ring_gpa = gpa;
		EXPECT_EQ(virt_hello_check(&h), -EOVERFLOW) << std::hex << gpa;
	}
}

TEST(HelloCheck, RejectsExceptionVectorsOnlyWhenInterruptsAreWanted)
{
	virt_hello h = valid();
	h.vector = 3;
	EXPECT_EQ(virt_hello_check(&h), -EINVAL);
	h.vector = 256;
	EXPECT_EQ(virt_hello_check(&h), -EINVAL);
	h.guest_features = VIRT_F_STREAM;
	EXPECT_EQ(virt_hello_check(&h), 0);
}

TEST(HelloCheck, GrantsOnlyKnownFeatures)
{
	virt_hello h = valid();
	h.guest_features = ~0ull;
	EXPECT_EQ(virt_hello_check(&h), 0);
	EXPECT_EQ(virt_hello_features(&h), VIRT_F_KNOWN);
}

} // namespace
