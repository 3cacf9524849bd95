/*
 * <virtsocket/virt.h> compiled alone, in C, as an application would: it must
 * need no other header and declare none of the modules' ABI names, which this
 * file declares for itself (a clash would not compile).
 */
#include <virtsocket/virt.h>

#include "virt_user.h"

#if defined(_VIRTSOCKET_ABI_H) || defined(_VIRTSOCKET_RING_H)
#error "virt.h includes abi.h or ring.h"
#endif
#if defined(VIRT_HC_NR) || defined(VIRT_HC_ENOSYS) || defined(VIRT_ABI_VERSION) || \
	defined(VIRT_HELLO_MAGIC) || defined(VIRT_HELLO_ALIGN) || defined(VIRT_F_KNOWN) || \
	defined(VIRT_RING_ALIGN) || defined(VIRT_RING_MIN_ENTRIES) || defined(VIRT_FLUSH_NOTIFY) || \
	defined(VIRT_SHUT_SEND) || defined(VIRT_CONN_HOST_BASE) || defined(VIRT_MAX_SEND)
#error "virt.h defines hypercall, handshake or ring macros"
#endif

struct virt_hello { int mine; };
struct virt_ring_hdr { int mine; };
struct virt_desc { int mine; };
enum virt_hc_op { VIRT_HC_HELLO = 100 };
enum virt_op { VIRT_OP_CONNECT = 100 };
static const int virt_ring_bytes = 1;
static const int virt_ring_entries_valid = 1;

size_t virt_user_c(size_t out[VIRT_USER_FIELDS])
{
	size_t n = 0;
	struct sockaddr_virt sa = { .svirt_family = VIRT_AF_DEFAULT,
				    .svirt_port = VIRT_PORT_ANY,
				    .svirt_cid = VIRT_CID_HOST };
#define STORE(v) out[n++] = (size_t)(v);
	VIRT_USER_LIST(STORE)
#undef STORE
	return n;
}

size_t virt_user_own_names(void)
{
	return sizeof(struct virt_hello) + sizeof(struct virt_ring_hdr) + sizeof(struct virt_desc) +
	       VIRT_HC_HELLO + VIRT_OP_CONNECT + virt_ring_bytes + virt_ring_entries_valid;
}
