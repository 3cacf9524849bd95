// The library's public headers bring the user-facing <virtsocket/virt.h> and
// nothing of the modules' ABI (hypercall, hello block, ring).
#include <virtsocket/virtsocket.hpp>

#ifdef _VIRTSOCKET_ABI_H
#error "a userlib header includes <virtsocket/abi.h>"
#endif
#if defined(VIRT_HC_NR) || defined(VIRT_HELLO_MAGIC) || defined(VIRT_RING_ALIGN) || defined(VIRT_F_STREAM)
#error "a userlib header defines hypercall, handshake or ring names"
#endif
#ifndef _VIRTSOCKET_VIRT_H
#error "the userlib headers do not include <virtsocket/virt.h>"
#endif
#ifdef ASIO_VERSION
#error "<virtsocket/virtsocket.hpp> pulls in asio: only <virtsocket/asio.hpp> may"
#endif

#include <gtest/gtest.h>

#include <cstddef>

namespace vs = virtsocket;

namespace {

// The ring and hello names are not declared: these would clash otherwise.
struct virt_hello {};
struct virt_desc {};
struct virt_ring_hdr {};
enum { VIRT_HC_HELLO, VIRT_OP_CONNECT };

TEST(PublicHeaders, UserFacingNamesOnly)
{
	static_assert(sizeof(sockaddr_virt) == 16);
	static_assert(offsetof(sockaddr_virt, svirt_cid) == 8);
	static_assert(vs::cid_any == VIRT_CID_ANY && vs::port_any == VIRT_PORT_ANY);
	EXPECT_STREQ(VIRT_SYSFS_DIR, "/sys/kernel/virtsocket");
	EXPECT_EQ(VIRT_SOL, 0x5653);
	EXPECT_EQ(SO_VM_SOCKETS_BUFFER_SIZE, 0);	// the family-level options come along
	EXPECT_EQ(VIRT_HC_HELLO + VIRT_OP_CONNECT, 1);	// ours, above
	EXPECT_EQ(sizeof(virt_hello) + sizeof(virt_desc) + sizeof(virt_ring_hdr), 3U);
}

} // namespace
