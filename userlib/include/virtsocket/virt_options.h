/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * AF_VIRT socket options.  Provisional: these belong in
 * include/virtsocket/abi.h and move there once the kernel side implements
 * them; until then userlib carries them here.
 */
#ifndef _VIRTSOCKET_VIRT_OPTIONS_H
#define _VIRTSOCKET_VIRT_OPTIONS_H

/* setsockopt() level of AF_VIRT options (the family's own SOL_*). */
#define VIRT_SOL		287

/* int boolean options, with TCP_NODELAY / TCP_CORK semantics. */
#define VIRT_NODELAY		1	/* flush the ring at once on send */
#define VIRT_CORK		2	/* hold partial data until uncorked */

#endif /* _VIRTSOCKET_VIRT_OPTIONS_H */
