// A handshake block the host accepts: where the tests and the benchmarks of
// virt_hello_check() start from.
#pragma once

#include <virtsocket/abi.h>

namespace virttest {

inline virt_hello valid_hello()
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

} // namespace virttest
