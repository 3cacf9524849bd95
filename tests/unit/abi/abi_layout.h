/* Layout of the ABI structures as one language sees it. */
#ifndef ABI_LAYOUT_H
#define ABI_LAYOUT_H
#include <stddef.h>

#define ABI_LAYOUT_FIELDS 16

#ifdef __cplusplus
extern "C" {
#endif
/* Fills out[] with sizes and offsets, in a fixed order; returns the count. */
size_t abi_layout_c(size_t out[ABI_LAYOUT_FIELDS]);
#ifdef __cplusplus
}
#endif

/* Shared by the C and the C++ side so both list the same facts in one order. */
#define ABI_LAYOUT_LIST(X)                       \
	X(sizeof(struct sockaddr_virt))          \
	X(offsetof(struct sockaddr_virt, svirt_port)) \
	X(offsetof(struct sockaddr_virt, svirt_cid)) \
	X(offsetof(struct sockaddr_virt, svirt_flags)) \
	X(sizeof(struct virt_hello))             \
	X(offsetof(struct virt_hello, ring_gpa)) \
	X(offsetof(struct virt_hello, ring_entries)) \
	X(offsetof(struct virt_hello, vector))   \
	X(offsetof(struct virt_hello, cid))      \
	X(offsetof(struct virt_hello, host_features)) \
	X(sizeof(struct virt_ring_hdr))          \
	X(offsetof(struct virt_ring_hdr, rx_cons)) \
	X(sizeof(struct virt_desc))              \
	X(offsetof(struct virt_desc, addr))      \
	X(offsetof(struct virt_desc, status))    \
	X(offsetof(struct virt_desc, fwd_cnt))

#endif
