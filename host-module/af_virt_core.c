// SPDX-License-Identifier: GPL-2.0
/* The shared AF_VIRT socket core, built into this module. */
#include "../af_virt/af_virt.c"
