/* What <virtsocket/virt.h> means, seen from C (virt_user.c) and from C++. */
#ifndef VIRT_USER_H
#define VIRT_USER_H

#include <stddef.h>

#define VIRT_USER_LIST(X)                                                    \
	X(sizeof(struct sockaddr_virt))                                      \
	X(offsetof(struct sockaddr_virt, svirt_port))                        \
	X(offsetof(struct sockaddr_virt, svirt_cid))                         \
	X(offsetof(struct sockaddr_virt, svirt_flags))                       \
	X(offsetof(struct sockaddr_virt, svirt_zero))                        \
	X(VIRT_AF_DEFAULT)                                                   \
	X(VIRT_CID_ANY) X(VIRT_CID_HYPERVISOR) X(VIRT_CID_LOCAL)             \
	X(VIRT_CID_HOST) X(VIRT_CID_GUEST_MIN) X(VIRT_PORT_ANY)              \
	X(VIRT_SOL) X(VIRT_NODELAY) X(VIRT_CORK)                             \
	X(sizeof(VIRT_SYSFS_DIR))                                            \
	X(sa.svirt_family) X(sa.svirt_port) X(sa.svirt_cid)

#define VIRT_USER_FIELDS 19

#ifdef __cplusplus
extern "C" {
#endif
size_t virt_user_c(size_t out[VIRT_USER_FIELDS]);
/* The names virt_user.c declares itself, summed: 3 * sizeof(int) + 202. */
size_t virt_user_own_names(void);
#ifdef __cplusplus
}
#endif

#endif
