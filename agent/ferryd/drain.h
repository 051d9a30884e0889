/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The drain: ring -> aligned segment buffer -> spool slot (O_DIRECT write,
 * fdatasync) -> spool_seal() -> release of the ring space.
 *
 * The ring is reached through struct ring_src, so that the same loop runs
 * on /dev/ferry (ferryd) and on the ring producer compiled in userspace
 * (tests/integration).
 */
#ifndef FERRYD_DRAIN_H
#define FERRYD_DRAIN_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include <ferry.h>
#include <ferry/hrl.h>
#include <ferry/ring.h>
#include <liburing.h>

#include "resync.h"
#include "spool.h"

struct ring_src {
	struct ring_reader *rd;		/* <ferry/ring.h>: the one consumer */
	int poll_fd;			/* POLLIN when new records may be there;
				 * -1: none, re-check every poll_ms */
	/* optional: called after poll_fd reported readable (to rearm it) */
	void (*woken)(struct ring_src *rs);
	/* release the ring up to pos (a record boundary).  0 or -errno */
	int (*consume)(struct ring_src *rs, uint64_t pos);
	/* attached disks now; returns how many (<= max) or -errno */
	int (*disks)(struct ring_src *rs, struct hrl_disk *out, unsigned int max);
	/*
	 * optional, on the drain thread: look at the disks' state (modes,
	 * dirty bits, flags), queue what must be re-read; *hold set while
	 * something keeps the resync window open.  Returns the ms until the
	 * next call.
	 */
	unsigned int (*tick)(struct ring_src *rs, bool *hold);
	void *ctx;
};

/* Counters for `ferryctl status`, read under drain.lock. */
struct drain_stat {
	uint64_t records;	/* ring records put into sealed segments */
	uint64_t bytes;		/* their payload bytes */
	uint64_t segments;
	uint64_t seg_bytes;	/* segment bytes written */
	uint64_t pos;		/* ring position read so far */
	uint64_t consumed;	/* ring position released */
	uint64_t open_oldest_ns;/* oldest record in the open segment, 0 */
	uint64_t full_waits;	/* times draining stopped for a full spool */
	bool spool_full;	/* draining stopped now: spool full */
	bool uring;		/* io_uring in use (else plain syscalls) */
	char io[160];		/* what the I/O path uses, for the log */
	bool window;		/* segments are flagged HRL_SEG_RESYNC now */
	uint64_t windows;	/* resync windows opened */
	uint64_t metadata_records;	/* ring records without payload */
	uint64_t resync_records;	/* re-read chunks' records written */
};

/* The segment whose durable write is under way (at most one). */
struct drain_flight {
	bool busy;
	struct spool_slot slot;
	struct spool_seg seg;
	uint64_t end_pos;	/* ring position to release once sealed */
	uint64_t seg_no;	/* the drain's number of the segment */
	uint64_t payload_bytes;
	int cqes;		/* completions seen: write, fsync */
	int res_write;
	int res_fsync;
};

struct drain {
	struct ring_src *rs;
	struct spool *sp;
	uint64_t seal_ns;	/* longest a record waits in an open segment */
	uint64_t poll_ns;	/* ring re-check while a segment is open */
	uint64_t seg_size;
	uint8_t machine_id[16];
	volatile sig_atomic_t *stop;
	bool exit_when_idle;	/* stop once the ring is empty and sealed */
	struct resync *rsync;	/* re-read chunks come from here; NULL: none */
	uint64_t seq_base;	/* added to ring seqs in the stream: a new
				 * boot's ring restarts at 0, the stream goes
				 * on (bootstate.c sets it) */

	pthread_mutex_t lock;	/* protects st */
	struct drain_stat st;

	/* drain thread only */
	struct io_uring uring;
	bool use_uring;
	bool poll_armed;	/* a POLL_ADD on rs->poll_fd is in flight */
	void *bufs[2];		/* seg_size bytes each, 4096-aligned: one
				 * filling, one in flight */
	int cur;		/* index of the filling one */
	void *buf;		/* == bufs[cur] */
	struct drain_flight flight;
	struct hrl_writer w;
	bool open;		/* w holds a started segment */
	bool finished;		/* w finished, waiting for a spool slot */
	size_t seg_len;		/* bytes of the finished segment */
	struct hrl_seg_end end;
	uint64_t end_pos;	/* ring position after the segment's records */
	uint64_t opened_mono;	/* when the first record went in */
	uint64_t oldest_ns;
	uint64_t chain_seq;	/* end_seq of the last sealed segment */
	struct hrl_disk disks[HRL_MAX_DISKS];
	unsigned int nr_disks;
	/* resync: see "Re-read chunks" in drain.c */
	uint64_t seg_no;	/* number of the open segment */
	uint64_t taken_next;	/* seq after the last ring record taken */
	bool seg_flagged;	/* the open segment has HRL_SEG_RESYNC */
	bool last_flagged;	/* the last segment handed to the spool had */
	bool want_window;	/* a metadata-only record came */
	bool hold;		/* tick(): the window must stay open */
	uint64_t tick_next;	/* CLOCK_MONOTONIC ns */
};

/*
 * Set up buffers and io_uring (or its fallback).  Set d->rsync before, to
 * have re-read chunks (their reads share the io_uring).  0 or -errno, why
 * set.
 */
int drain_init(struct drain *d, struct ring_src *rs, struct spool *sp,
	       uint64_t seal_ms, uint64_t poll_ms, char *why, size_t len);

/*
 * Drain until *d->stop; then seal what is open (when the spool has room)
 * and return 0.  A spool write error returns -errno with why set; ring
 * space of unsealed records is never released.
 */
int drain_run(struct drain *d, char *why, size_t len);

void drain_fini(struct drain *d);

void drain_get_stat(struct drain *d, struct drain_stat *st);

#endif /* FERRYD_DRAIN_H */
