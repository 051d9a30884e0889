// SPDX-License-Identifier: GPL-2.0
/* Small file-system helpers; see <ferry/fs.h>. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>

#include <ferry/fs.h>

int ferry_mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t i, n = strlen(path);

	if (!n || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i])
			continue;
		buf[i] = 0;
		if (mkdir(buf, mode) && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}
