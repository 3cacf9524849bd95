// The host's checks of a guest's handshake block, on hostile input.
#include <cerrno>
#include <cstdint>

#include <gtest/gtest.h>

extern "C" {
#include "validate.h"
}

#include "valid_hello.hpp"

namespace {

using virttest::valid_hello;

TEST(HelloCheck, AcceptsAValidBlock)
{
	virt_hello h = valid_hello();
	EXPECT_EQ(virt_hello_check(&h), 0);
	EXPECT_EQ(virt_hello_features(&h), VIRT_F_KNOWN);
}

TEST(HelloCheck, RejectsBadMagicAndReservedFields)
{
	virt_hello h = valid_hello();
	h.magic = 0;
	EXPECT_EQ(virt_hello_check(&h), -EBADMSG);
	h = valid_hello();
	h.reserved0 = 1;
	EXPECT_EQ(virt_hello_check(&h), -EBADMSG);
}

TEST(HelloCheck, RejectsOtherVersions)
{
	for (uint32_t v : {0u, 2u, 0xffffffffu}) {
		virt_hello h = valid_hello();
		h.guest_version = v;
		EXPECT_EQ(virt_hello_check(&h), -EPROTONOSUPPORT) << v;
	}
}

TEST(HelloCheck, RejectsRingSizes)
{
	for (uint32_t n : {0u, 1u, 8u, 15u, 17u, 48u, 8192u, 0x80000000u, 0xffffffffu}) {
		virt_hello h = valid_hello();
		h.ring_entries = n;
		EXPECT_EQ(virt_hello_check(&h), -EINVAL) << n;
	}
	for (uint32_t n : {16u, 32u, 1024u, 4096u}) {
		virt_hello h = valid_hello();
		h.ring_entries = n;
		EXPECT_EQ(virt_hello_check(&h), 0) << n;
	}
}

TEST(HelloCheck, RejectsUnalignedRings)
{
	for (uint64_t gpa : {0x100040ull, 0x100001ull, 0x100800ull}) {
		virt_hello h = valid_hello();
		h.ring_gpa = gpa;
		EXPECT_EQ(virt_hello_check(&h), -EINVAL) << gpa;
	}
}

TEST(HelloCheck, RejectsRingsPastTheAddressSpace)
{
	for (uint64_t gpa : {~0xfffull, 1ull << 52, (1ull << 52) - 0x1000}) {
		virt_hello h = valid_hello();
		h.ring_gpa = gpa;
		EXPECT_EQ(virt_hello_check(&h), -EOVERFLOW) << std::hex << gpa;
	}
}

TEST(HelloCheck, RejectsExceptionVectorsOnlyWhenInterruptsAreWanted)
{
	virt_hello h = valid_hello();
	h.vector = 3;
	EXPECT_EQ(virt_hello_check(&h), -EINVAL);
	h.vector = 256;
	EXPECT_EQ(virt_hello_check(&h), -EINVAL);
	h.guest_features = VIRT_F_STREAM;
	EXPECT_EQ(virt_hello_check(&h), 0);
}

TEST(HelloCheck, GrantsOnlyKnownFeatures)
{
	virt_hello h = valid_hello();
	h.guest_features = ~0ull;
	EXPECT_EQ(virt_hello_check(&h), 0);
	EXPECT_EQ(virt_hello_features(&h), VIRT_F_KNOWN);
}

// The ring may end exactly at 2^52, not a page later, whatever its size.
TEST(HelloCheck, RingMayEndExactlyAtTheAddressLimit)
{
	for (uint32_t n = VIRT_RING_MIN_ENTRIES; n <= VIRT_RING_MAX_ENTRIES; n *= 2) {
		virt_hello h = valid_hello();
		h.ring_entries = n;
		h.ring_gpa = (1ull << 52) - virt_ring_bytes(n);
		EXPECT_EQ(virt_hello_check(&h), 0) << n;
		h.ring_gpa += VIRT_RING_ALIGN;
		EXPECT_EQ(virt_hello_check(&h), -EOVERFLOW) << n;
	}
}

// ---- virt_desc_check: one descriptor, already copied out of the ring ----

virt_desc desc(uint16_t op, uint32_t conn, uint64_t addr = 0, uint32_t len = 0,
	       uint16_t flags = 0)
{
	virt_desc d{};
	d.op = op;
	d.conn = conn;
	d.addr = addr;
	d.len = len;
	d.flags = flags;
	return d;
}

int check(virt_desc d)
{
	return virt_desc_check(&d);
}

constexpr uint64_t kLimit = 1ull << 52;

TEST(DescCheck, UnknownOpsAreNotSupported)
{
	for (uint16_t op : {0, VIRT_OP_MAX + 1, 0x100, 0xffff})
		EXPECT_EQ(check(desc(op, 1)), -EOPNOTSUPP) << op;
}

TEST(DescCheck, ConnectTakesAGuestConnectionIdAndAHostPort)
{
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, 1, 80)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, VIRT_CONN_HOST_BASE - 1, 80)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, 0, 80)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, VIRT_CONN_HOST_BASE, 80)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, 1, VIRT_PORT_ANY)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, 1, 80, 1)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, 1, 80, 0, 1)), -EINVAL);
}

TEST(DescCheck, AcceptTakesAHostConnectionId)
{
	EXPECT_EQ(check(desc(VIRT_OP_ACCEPT, VIRT_CONN_HOST_BASE)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_ACCEPT, 0xffffffffu)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_ACCEPT, VIRT_CONN_HOST_BASE - 1)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_ACCEPT, VIRT_CONN_HOST_BASE, 0, 1)), -EINVAL);
}

TEST(DescCheck, SendLengthAndRange)
{
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, 0x1000, 1)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, 0x1000, VIRT_MAX_SEND)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, 0x1000, 0)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, 0x1000, VIRT_MAX_SEND + 1)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 0, 0x1000, 1)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, 0x1000, 1, VIRT_SHUT_SEND)), -EINVAL);
	// Ends exactly at 2^52: fine; one byte past, or wrapping u64: refused.
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, kLimit - 100, 100)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, kLimit - 100, 101)), -EFAULT);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, kLimit, 1)), -EFAULT);
	EXPECT_EQ(check(desc(VIRT_OP_SEND, 1, ~0ull - 10, 100)), -EFAULT);
}

TEST(DescCheck, RxPostSizeAlignmentAndRange)
{
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, 0x2000, VIRT_RX_BUF_MIN)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, 0x2040, VIRT_RX_BUF_MAX)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, 0x2000, VIRT_RX_BUF_MIN - 1)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, 0x2000, VIRT_RX_BUF_MAX + 1)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, 0x2020, 4096)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, 0x2000, 4096, 1)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, kLimit - 4096, 4096)), 0);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, kLimit - 4032, 4096)), -EFAULT);
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 0, ~0ull & ~63ull, 4096)), -EFAULT);
}

TEST(DescCheck, ShutdownFlagsAreANonEmptySubset)
{
	for (uint16_t f : {VIRT_SHUT_RCV, VIRT_SHUT_SEND, VIRT_SHUT_RCV | VIRT_SHUT_SEND})
		EXPECT_EQ(check(desc(VIRT_OP_SHUTDOWN, 1, 0, 0, f)), 0) << f;
	for (uint16_t f : {0, 4, 7, 0x8000})
		EXPECT_EQ(check(desc(VIRT_OP_SHUTDOWN, 1, 0, 0, f)), -EINVAL) << f;
	EXPECT_EQ(check(desc(VIRT_OP_SHUTDOWN, 0, 0, 0, VIRT_SHUT_SEND)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_SHUTDOWN, 1, 0, 1, VIRT_SHUT_SEND)), -EINVAL);
}

TEST(DescCheck, ResetAndCreditNeedAConnection)
{
	for (uint16_t op : {VIRT_OP_RESET, VIRT_OP_CREDIT}) {
		EXPECT_EQ(check(desc(op, 1)), 0) << op;
		EXPECT_EQ(check(desc(op, VIRT_CONN_HOST_BASE + 1)), 0) << op;
		EXPECT_EQ(check(desc(op, 0)), -EINVAL) << op;
		EXPECT_EQ(check(desc(op, 1, 0, 1)), -EINVAL) << op;
		EXPECT_EQ(check(desc(op, 1, 0, 0, 1)), -EINVAL) << op;
	}
}

} // namespace

namespace {

TEST(DescCheck, ConnectNeedsARealSourcePort)
{
	const uint64_t any_src = uint64_t{VIRT_PORT_ANY} << 32 | 80;

	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, 1, any_src)), -EINVAL);
	EXPECT_EQ(check(desc(VIRT_OP_CONNECT, 1, uint64_t{1024} << 32 | 80)), 0);
}

TEST(DescCheck, ReceiveBufferNamesNoConnection)
{
	EXPECT_EQ(check(desc(VIRT_OP_RX_POST, 7, 0x2000, VIRT_RX_BUF_MIN)), -EINVAL);
}

} // namespace
