// SPDX-License-Identifier: GPL-2.0
/*
 * Replay stored segments into disk images: the one loop behind the live
 * replica (apply.c), the retention floor (base.img) and export.
 *
 * Segments were verified completely before they were acknowledged; here
 * the streaming reader checks every record again as it hands it out, so a
 * record damaged at rest is never applied: replay stops there with an
 * error, having applied a prefix of the stream (a state the source had),
 * and the cursor does not move past the segment.  One read per segment.
 * Records are applied with hrl_apply_record(), which skips what the image
 * already has: replaying twice changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "replay.h"

static int disk_fd(void *ctx, uint32_t disk_id)
{
	struct replay *rp = ctx;
	const struct hrl_seg_info *info = rp->info;
	char name[64], path[160];
	uint32_t i;
	int fd;

	for (i = 0; i < rp->nfds; i++)
		if (rp->fds[i].disk_id == disk_id)
			return rp->fds[i].fd;
	for (i = 0; i < info->nr_disks; i++)
		if (info->disks[i].id == disk_id)
			break;
	if (i == info->nr_disks || rp->nfds == HRL_MAX_DISKS)
		return -ENOENT;
	ps_disk_name(&info->disks[i], name, sizeof(name));
	if (rp->only_disk) {
		if (strcmp(name, rp->only_disk))
			return -ENOENT;
		fd = dup(rp->out_fd);
	} else {
		snprintf(path, sizeof(path), "disks/%s", name);
		if (mkdirat(rp->m->dirfd, path, 0700) && errno != EEXIST)
			return -errno;
		snprintf(path, sizeof(path), "disks/%s/%s", name, rp->image);
		fd = openat(rp->m->dirfd, path, O_RDWR | O_CREAT | O_CLOEXEC,
			    0600);
	}
	if (fd < 0)
		return -errno;
	if (info->disks[i].size_bytes) {
		struct stat stt;

		if (!fstat(fd, &stt) &&
		    (uint64_t)stt.st_size < info->disks[i].size_bytes &&
		    ftruncate(fd, info->disks[i].size_bytes)) {
			close(fd);
			return -errno;
		}
	}
	rp->fds[rp->nfds].disk_id = disk_id;
	rp->fds[rp->nfds++].fd = fd;
	return fd;
}

void replay_init(struct replay *rp, struct ps_machine *m, const char *image)
{
	memset(rp, 0, sizeof(*rp));
	rp->m = m;
	rp->image = image;
	rp->out_fd = -1;
	rp->a.image_fd = disk_fd;
	rp->a.ctx = rp;
}

int replay_sync(struct replay *rp)
{
	uint32_t i;
	int ret = 0;

	for (i = 0; i < rp->nfds; i++)
		if (fdatasync(rp->fds[i].fd))
			ret = -errno;
	return ret;
}

void replay_close(struct replay *rp)
{
	uint32_t i;

	for (i = 0; i < rp->nfds; i++)
		close(rp->fds[i].fd);
	rp->nfds = 0;
}

static void first_info(struct replay *rp, const struct hrl_seg_info *info)
{
	rp->info = info;
	rp->seg_flags = info->flags;
	rp->seg_created_ns = info->created_ns;
	if (!rp->a.have_pos) {
		rp->a.pos = info->start_seq;
		rp->a.have_pos = true;
	}
}

/* Records of one segment, in order, until a record with seq >= stop. */
static int replay_records(struct replay *rp, int fd, const struct ps_seg *seg,
			  char *err, size_t errlen)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *payload;
	int rc;

	if (hrl_reader_init_fd(&r, fd))
		return -ENOMEM;
	while ((rc = hrl_reader_next(&r, &rec, &payload)) == HRL_NEXT_RECORD) {
		if (!rp->info)
			first_info(rp, hrl_reader_info(&r));
		if (rp->have_stop && rec.seq >= rp->stop &&
		    (hrl_kind_consumes_seq(rec.kind) || rec.kind == HRL_TAG)) {
			rp->stopped = true;
			break;
		}
		if (rec.kind == HRL_METADATA || rec.kind == HRL_RESYNC ||
		    rec.kind == HRL_RESYNC_ZERO)
			rp->inconsistent = true;
		if (rp->on_record && (rc = rp->on_record(rp, &rec, payload)))
			break;
		if (rp->only_disk && disk_fd(rp, rec.disk_id) == -ENOENT &&
		    rec.disk_id != HRL_DISK_ALL)
			continue;
		if (rec.kind == HRL_TAG || rec.kind == HRL_FLUSH)
			continue;
		rc = hrl_apply_record(&rp->a, &rec, payload);
		if (rc) {
			snprintf(err, errlen, "%s: record %" PRIu64 ": apply: %s",
				 seg->name, rec.index, strerror(-rc));
			break;
		}
		rp->last_time_ns = rec.time_ns;
	}
	if (rc == HRL_NEXT_END && !rp->info)
		first_info(rp, hrl_reader_info(&r));
	if (rc < 0 && rc != -ENOENT && !err[0]) {
		char msg[200];

		snprintf(err, errlen, "%s: %s", seg->name,
			 hrl_strerror(hrl_reader_error(&r), msg, sizeof(msg)));
	}
	hrl_reader_free(&r);
	return rc < 0 ? rc : 0;
}

int replay_segment(struct replay *rp, const struct ps_seg *seg,
		   char *err, size_t errlen)
{
	int fd, rc;

	err[0] = '\0';
	fd = openat(rp->m->dirfd, seg->name, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", seg->name, strerror(errno));
		return -errno;
	}
	posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	rp->info = NULL;
	rc = replay_records(rp, fd, seg, err, errlen);
	rp->info = NULL;
	close(fd);
	return rc;
}
