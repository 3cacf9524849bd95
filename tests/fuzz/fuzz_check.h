/* SPDX-License-Identifier: GPL-2.0 */
/* An invariant the fuzzers check: abort() (which libFuzzer reports as a
 * crash and saves the input) with the failed condition. */
#ifndef VIRT_FUZZ_CHECK_H
#define VIRT_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                  \
	do {                                                              \
		if (!(cond)) {                                            \
			fprintf(stderr, "%s:%d: invariant violated: %s\n",  \
				__FILE__, __LINE__, #cond);               \
			abort();                                          \
		}                                                         \
	} while (0)

#endif
