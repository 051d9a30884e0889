/* SPDX-License-Identifier: GPL-2.0 */
/*
 * resync: re-reading ranges of protected disks into the change stream.
 *
 * Ranges come from the initial copy of a newly protected disk, metadata-
 * only ring records, the kernel's dirty bitmap (FERRY_IOC_FETCH_DIRTY), the
 * bitmap saved at a clean shutdown, and hash-compare resync.  The drain
 * thread reads them (io_uring, O_DIRECT) and puts each chunk into the
 * stream as an HRL_RESYNC record (HRL_RESYNC_ZERO when it read as zeros)
 * with seq S, where S was loaded from the ring's next_seq (and then the
 * ring head H) before the read was issued: every write with seq < S had
 * completed before the read, so the chunk goes after every ring record
 * with seq < S and before every ring record with seq >= S.
 *
 * While anything is queued, being read, or not yet sealed, and while a
 * disk is out of data mode, segments carry HRL_SEG_RESYNC: the process
 * server offers no recovery point in that window.
 *
 * resync_queue*() and resync_get_stat() may be called from any thread.
 */
#ifndef FERRYD_RESYNC_H
#define FERRYD_RESYNC_H

#include <stdbool.h>
#include <stdint.h>

struct resync;

/* Why a range is re-read; shown by ferryctl status and counted apart. */
enum resync_reason {
	RESYNC_INITIAL,		/* first protection: the whole disk */
	RESYNC_METADATA,	/* ring records without payload */
	RESYNC_BITMAP,		/* kernel dirty bitmap */
	RESYNC_SHUTDOWN,	/* bitmap saved at the last clean shutdown */
	RESYNC_HASH,		/* hash-compare found the range different */
	RESYNC_NR_REASONS,
};

const char *resync_reason_name(enum resync_reason why);

/* One disk's resync state, for ferryctl status. */
struct resync_disk_stat {
	uint32_t kid;			/* ring disk_id */
	bool active;			/* something queued or being read */
	enum resync_reason why;		/* of the oldest queued range */
	uint64_t pass_bytes;		/* queued in this pass (since idle) */
	uint64_t pass_done;		/* of which read and in the stream */
	uint64_t pass_started_ns;	/* CLOCK_REALTIME */
	double rate;			/* bytes/s read, recent */
	uint64_t eta_s;			/* 0 when unknown */
	/* since ferryd started, per reason */
	uint64_t bytes[RESYNC_NR_REASONS];	/* read and put in the stream */
	uint64_t data_bytes;		/* of all: sent as data */
	uint64_t zero_bytes;		/* of all: sent as zero ranges */
};

/*
 * Queue [offset, offset + len) of ring disk kid to be re-read.  Ranges are
 * merged with what is queued; len is clipped to the disk.  0, -ENOENT for
 * an unknown disk, -ENOMEM.
 */
int resync_queue(struct resync *rs, uint32_t kid, uint64_t offset,
		 uint64_t len, enum resync_reason why);

/* The whole disk. */
int resync_queue_disk(struct resync *rs, uint32_t kid, enum resync_reason why);

/*
 * Nothing queued, being read, or waiting to be sealed for disk kid
 * (kid == UINT32_MAX: for any disk).
 */
bool resync_idle(struct resync *rs, uint32_t kid);

/* 0 and *st filled, or -ENOENT. */
int resync_get_stat(struct resync *rs, uint32_t kid,
		    struct resync_disk_stat *st);

#endif /* FERRYD_RESYNC_H */
