// SPDX-License-Identifier: GPL-2.0
/*
 * Recovery-point index of a machine: DATA/machines/<m>/points, one line per
 * point, oldest first:
 *
 *   <id> <seq> <time_ns> tag|crash <tag name, rest of line>
 *
 * Appended with fsync by the applier; rewritten atomically by retention.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ps.h"

static int format_point(char *buf, size_t len, const struct ps_point *p)
{
	char tag[sizeof(p->tag)];
	size_t i;

	snprintf(tag, sizeof(tag), "%s", p->tag);
	for (i = 0; tag[i]; i++)
		if ((unsigned char)tag[i] < 0x20 || tag[i] == 0x7f)
			tag[i] = '?';
	return snprintf(buf, len, "%" PRIu64 " %" PRIu64 " %" PRIu64 " %s %s\n",
			p->id, p->seq, p->time_ns,
			p->kind == PS_POINT_TAG ? "tag" : "crash", tag);
}

int ps_point_append(struct ps_machine *m, const struct ps_point *p)
{
	char line[512];
	int fd, n, ret = 0;

	n = format_point(line, sizeof(line), p);
	fd = openat(m->dirfd, "points", O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, line, n) != n || fdatasync(fd))
		ret = -EIO;
	close(fd);
	return ret;
}

int ps_points_rewrite(struct ps_machine *m, const struct ps_point *pts,
		      size_t n)
{
	char *buf = malloc(n * 512 + 1);
	size_t i, len = 0;
	int ret;

	if (!buf)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		len += format_point(buf + len, 512, &pts[i]);
	ret = ps_write_file_atomic(m->dirfd, "points", buf, len, 0600);
	free(buf);
	return ret;
}

int ps_points_load(struct ps_machine *m, struct ps_point **out, size_t *n)
{
	int fd = openat(m->dirfd, "points", O_RDONLY | O_CLOEXEC);
	struct ps_point *v = NULL;
	size_t cnt = 0, cap = 0;
	char line[512];
	FILE *f;

	*out = NULL;
	*n = 0;
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while (fgets(line, sizeof(line), f)) {
		struct ps_point p = { 0 };
		char kind[8];
		int off = 0;

		if (!strchr(line, '\n'))
			break;		/* a torn last line after a crash */
		if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNu64 " %7s %n",
			   &p.id, &p.seq, &p.time_ns, kind, &off) < 4 || !off)
			continue;
		p.kind = strcmp(kind, "tag") ? PS_POINT_CRASH : PS_POINT_TAG;
		line[strcspn(line, "\n")] = '\0';
		snprintf(p.tag, sizeof(p.tag), "%s", line + off);
		if (cnt == cap) {
			struct ps_point *nv = realloc(v, (cap = cap ? cap * 2 : 32) *
						      sizeof(*v));
			if (!nv)
				break;
			v = nv;
		}
		v[cnt++] = p;
	}
	fclose(f);
	*out = v;
	*n = cnt;
	return 0;
}
