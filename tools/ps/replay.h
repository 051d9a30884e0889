/* SPDX-License-Identifier: GPL-2.0 */
/* Replaying stored segments into images (replica, base, export). */
#ifndef FERRY_PS_REPLAY_H
#define FERRY_PS_REPLAY_H

#include "ps.h"

struct replay {
	struct ps_machine *m;
	const char *image;		/* "replica.img" or "base.img" */
	const char *only_disk;		/* export: this disk, into out_fd */
	int out_fd;
	struct hrl_apply a;
	const struct hrl_seg_info *info;	/* segment being replayed */
	struct { uint32_t disk_id; int fd; } fds[HRL_MAX_DISKS];
	uint32_t nfds;
	uint64_t stop;			/* apply only records with seq < stop */
	bool have_stop;
	bool stopped;			/* reached stop */
	bool inconsistent;		/* saw metadata-only or resync data */
	uint32_t seg_flags;
	uint64_t seg_created_ns;	/* the segment header's created_ns */
	uint64_t last_time_ns;
	/* optional: called for every record before it is applied */
	int (*on_record)(struct replay *rp, const struct hrl_rec *rec,
			 const void *payload);
	void *arg;
};

void replay_init(struct replay *rp, struct ps_machine *m, const char *image);
int replay_segment(struct replay *rp, const struct ps_seg *seg,
		   char *err, size_t errlen);
int replay_sync(struct replay *rp);
void replay_close(struct replay *rp);

#endif /* FERRY_PS_REPLAY_H */
