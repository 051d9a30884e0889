// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-ps points / export: list a machine's recovery points and write a
 * disk image as of one of them.
 *
 * Export = base.img (the state at the retention floor, absent = zeros)
 * copied sparsely, then every retained segment replayed up to the point's
 * sequence number.  The replica being written by a running server is not
 * touched, so export works while the server runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

static void fmt_time(uint64_t ns, char *buf, size_t len)
{
	time_t t = ns / 1000000000ull;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int ps_cmd_points(struct ps_server *srv, const char *machine, bool json)
{
	struct ps_machine *m = ps_machine_get(srv, machine, false);
	struct ps_point *pts;
	size_t n, i;

	if (!m) {
		fprintf(stderr, "ferry-ps: machine %s: not known in %s\n",
			machine, srv->data);
		return 1;
	}
	if (ps_points_load(m, &pts, &n)) {
		fprintf(stderr, "ferry-ps: machine %s: cannot read points\n",
			machine);
		return 1;
	}
	if (json)
		printf("[");
	else
		printf("%-6s %-20s %-20s %-6s %s\n", "POINT", "SEQ", "TIME",
		       "KIND", "TAG");
	for (i = 0; i < n; i++) {
		char t[32];

		fmt_time(pts[i].time_ns, t, sizeof(t));
		if (json)
			printf("%s{\"id\":%" PRIu64 ",\"seq\":%" PRIu64
			       ",\"time_ns\":%" PRIu64 ",\"kind\":\"%s\","
			       "\"tag\":\"%s\"}", i ? "," : "", pts[i].id,
			       pts[i].seq, pts[i].time_ns,
			       pts[i].kind == PS_POINT_TAG ? "tag" : "crash",
			       strpbrk(pts[i].tag, "\"\\") ? "?" : pts[i].tag);
		else
			printf("%-6" PRIu64 " %-20" PRIu64 " %-20s %-6s %s\n",
			       pts[i].id, pts[i].seq, t,
			       pts[i].kind == PS_POINT_TAG ? "tag" : "crash",
			       pts[i].tag);
	}
	if (json)
		printf("]\n");
	free(pts);
	return 0;
}

/* Copy base.img into out, keeping holes. */
static int copy_sparse(int in, int out)
{
	static char buf[1 << 20];
	off_t pos = 0, end = lseek(in, 0, SEEK_END);

	if (end < 0 || ftruncate(out, end))
		return -errno;
	while (pos < end) {
		off_t data = lseek(in, pos, SEEK_DATA), hole;

		if (data < 0)
			break;
		hole = lseek(in, data, SEEK_HOLE);
		for (pos = data; pos < hole; ) {
			ssize_t n = pread(in, buf, hole - pos < (off_t)sizeof(buf) ?
					  (size_t)(hole - pos) : sizeof(buf), pos);

			if (n <= 0 || pwrite(out, buf, n, pos) != n)
				return -EIO;
			pos += n;
		}
	}
	return 0;
}

struct progress {
	uint64_t done, total;
	int last;
	bool tty;
};

static void progress_show(struct progress *p)
{
	int pct = p->total ? (int)(p->done * 100 / p->total) : 100, i;

	if (pct == p->last)
		return;
	if (p->tty) {
		fprintf(stderr, "\rexport [");
		for (i = 0; i < 40; i++)
			fputc(i < pct * 40 / 100 ? '#' : ' ', stderr);
		fprintf(stderr, "] %3d%%%s", pct, pct == 100 ? "\n" : "");
	} else if (pct / 10 != p->last / 10 || pct == 100) {
		fprintf(stderr, "export: %d%% (%" PRIu64 " of %" PRIu64
			" segment bytes)\n", pct, p->done, p->total);
	}
	p->last = pct;
}

static const struct ps_point *find_point(const struct ps_point *pts, size_t n,
					 const char *spec)
{
	char *end;
	uint64_t id;
	size_t i;

	if (!strcmp(spec, "latest"))
		return n ? &pts[n - 1] : NULL;
	id = strtoull(spec, &end, 10);
	for (i = 0; *spec && !*end && i < n; i++)
		if (pts[i].id == id)
			return &pts[i];
	return NULL;
}

static int replay_to(struct ps_machine *m, const char *disk, int out,
		     const struct ps_point *pt, char *err, size_t errlen)
{
	struct progress pr = { .last = -100, .tty = isatty(2) };
	struct ps_seg *segs;
	struct replay rp;
	struct stat st;
	size_t n, i;
	int ret;

	if ((ret = ps_seg_list(m, &segs, &n)))
		return ret;
	for (i = 0; i < n; i++)
		if (segs[i].start < pt->seq &&
		    !fstatat(m->dirfd, segs[i].name, &st, 0))
			pr.total += st.st_size;
	replay_init(&rp, m, NULL);
	rp.only_disk = disk;
	rp.out_fd = out;
	rp.a.pos = m->st.base_pos;
	rp.a.have_pos = m->st.have_base;
	rp.stop = pt->seq;
	rp.have_stop = true;
	progress_show(&pr);
	for (i = 0; i < n && !rp.stopped; i++) {
		if (segs[i].start >= pt->seq)
			continue;
		ret = replay_segment(&rp, &segs[i], err, errlen);
		if (ret)
			break;
		if (!fstatat(m->dirfd, segs[i].name, &st, 0))
			pr.done += st.st_size;
		progress_show(&pr);
	}
	if (!ret) {
		pr.done = pr.total;
		progress_show(&pr);
		ret = replay_sync(&rp);
	}
	replay_close(&rp);
	free(segs);
	return ret;
}

int ps_cmd_export(struct ps_server *srv, const char *machine,
		  const char *disk, const char *point, const char *out)
{
	struct ps_machine *m = ps_machine_get(srv, machine, false);
	const struct ps_point *pt;
	struct ps_point *pts = NULL;
	char path[160], err[512] = "";
	size_t n = 0;
	int in, fd, ret = 1;

	if (!m || !ps_id_valid(disk)) {
		fprintf(stderr, "ferry-ps: %s %s: unknown machine or invalid "
			"disk id\n", machine, disk);
		return 1;
	}
	ps_points_load(m, &pts, &n);
	pt = find_point(pts, n, point);
	if (!pt) {
		fprintf(stderr, "ferry-ps: machine %s: no recovery point '%s' "
			"(see ferry-ps points)\n", machine, point);
		goto out;
	}
	snprintf(path, sizeof(path), "disks/%s/replica.img", disk);
	if (faccessat(m->dirfd, path, F_OK, 0)) {
		fprintf(stderr, "ferry-ps: machine %s: no disk %s\n", machine, disk);
		goto out;
	}
	/* read too: resync records are compared with the image first */
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "ferry-ps: %s: %s\n", out, strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "disks/%s/base.img", disk);
	in = openat(m->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (in >= 0) {
		ret = copy_sparse(in, fd);
	} else {
		struct stat rs;

		/* no base yet: zeros of the replica's size */
		snprintf(path, sizeof(path), "disks/%s/replica.img", disk);
		ret = fstatat(m->dirfd, path, &rs, 0) ||
		      ftruncate(fd, rs.st_size) ? -errno : 0;
	}
	if (in >= 0)
		close(in);
	if (!ret)
		ret = replay_to(m, disk, fd, pt, err, sizeof(err));
	if (!ret && fsync(fd))
		ret = -errno;
	close(fd);
	if (ret) {
		fprintf(stderr, "ferry-ps: export %s %s: %s\n", machine, disk,
			err[0] ? err : strerror(-ret));
		unlink(out);
		ret = 1;
	} else {
		fprintf(stderr, "ferry-ps: exported %s disk %s at point %" PRIu64
			" (seq %" PRIu64 ") to %s\n", machine, disk, pt->id,
			pt->seq, out);
	}
out:
	free(pts);
	return ret;
}
