// SPDX-License-Identifier: GPL-2.0
/* ferry.ko's ring producer, compiled in userspace for integ-agent-drain. */
#include "kshim.h"
#include "../../kmod/ferry_ring.c"
