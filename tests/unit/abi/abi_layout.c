#include <virtsocket/abi.h>
#include "abi_layout.h"

size_t abi_layout_c(size_t out[ABI_LAYOUT_FIELDS])
{
	size_t n = 0;
#define STORE(v) out[n++] = (v);
	ABI_LAYOUT_LIST(STORE)
#undef STORE
	return n;
}
