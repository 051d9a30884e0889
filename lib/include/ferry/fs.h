/* SPDX-License-Identifier: GPL-2.0 */
/* Small file-system helpers shared by the agent and the tools. */
#ifndef FERRY_FS_H
#define FERRY_FS_H

#include <sys/types.h>

/* mkdir -p: every missing component with mode.  0 or -errno. */
int ferry_mkdir_p(const char *path, mode_t mode);

#endif /* FERRY_FS_H */
