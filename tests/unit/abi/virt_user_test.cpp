// <virtsocket/virt.h> alone: C and C++ agree on what it says, C compiles it
// with the modules' ABI names free for its own use, and abi.h's meaning of
// the shared names is the same.
#include <virtsocket/virt.h>

#include <array>
#include <cstddef>
#include <cstring>

#include <gtest/gtest.h>

#include "virt_user.h"

namespace {

TEST(VirtUserHeader, CAndCxxAgree)
{
	std::array<size_t, VIRT_USER_FIELDS> c{};
	ASSERT_EQ(virt_user_c(c.data()), c.size());
	std::array<size_t, VIRT_USER_FIELDS> cxx{};
	size_t n = 0;
	sockaddr_virt sa{};
	sa.svirt_family = VIRT_AF_DEFAULT;
	sa.svirt_port = VIRT_PORT_ANY;
	sa.svirt_cid = VIRT_CID_HOST;
#define STORE(v) cxx[n++] = static_cast<size_t>(v);
	VIRT_USER_LIST(STORE)
#undef STORE
	ASSERT_EQ(n, cxx.size());
	for (size_t i = 0; i < n; i++)
		EXPECT_EQ(c[i], cxx[i]) << "field " << i;
}

TEST(VirtUserHeader, LeavesTheModulesNamesFree)
{
	EXPECT_EQ(virt_user_own_names(), 3 * sizeof(int) + 202);
}

TEST(VirtUserHeader, SameMeaningAsBefore)
{
	// The values abi.h gave these names before virt.h took them over.
	EXPECT_EQ(sizeof(sockaddr_virt), 16U);
	EXPECT_EQ(offsetof(sockaddr_virt, svirt_port), 4U);
	EXPECT_EQ(offsetof(sockaddr_virt, svirt_cid), 8U);
	EXPECT_EQ(offsetof(sockaddr_virt, svirt_flags), 12U);
	EXPECT_EQ(VIRT_AF_DEFAULT, 23);
	EXPECT_EQ(VIRT_CID_ANY, 0xffffffffU);
	EXPECT_EQ(VIRT_CID_HYPERVISOR, 0U);
	EXPECT_EQ(VIRT_CID_LOCAL, 1U);
	EXPECT_EQ(VIRT_CID_HOST, 2U);
	EXPECT_EQ(VIRT_CID_GUEST_MIN, 3U);
	EXPECT_EQ(VIRT_PORT_ANY, 0xffffffffU);
	EXPECT_EQ(VIRT_SOL, 0x5653);
	EXPECT_EQ(VIRT_NODELAY, 1);
	EXPECT_EQ(VIRT_CORK, 2);
	EXPECT_STREQ(VIRT_SYSFS_DIR, "/sys/kernel/virtsocket");
}

} // namespace
