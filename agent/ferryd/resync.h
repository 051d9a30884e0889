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
#include <stddef.h>
#include <stdint.h>

#include <ferry.h>

struct io_uring;

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
	/* initial copy: [0, initial_offset) is sealed in the spool */
	bool initial;			/* running now */
	bool initial_done;		/* recorded in the disk's state file */
	uint64_t initial_offset;
	uint64_t disk_bytes;
	uint64_t queued;		/* bytes waiting to be read now */
	uint64_t read_errors;
	char error[160];		/* the last read error, "" */
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

/* ---- setup (ferryd) ------------------------------------------------- */

struct resync_conf {
	uint32_t block_size;	/* bytes per read, a multiple of 4096 */
	unsigned int queue_depth;	/* reads in flight */
	const char *state_dir;	/* STATE_DIR: disks/<uuid hex>.state holds
				 * the initial copy's progress; NULL: none */
};

int resync_create(struct resync **out, const struct resync_conf *c,
		  char *why, size_t len);
void resync_destroy(struct resync *rs);

/*
 * Read disk kid from path (O_DIRECT; buffered when the file system
 * refuses O_DIRECT, as tmpfs does).  With a state_dir, a disk without a
 * state file (first protection) gets its initial copy queued, and one
 * whose copy was interrupted resumes it.  0 or -errno with why.
 */
int resync_add_disk(struct resync *rs, uint32_t kid, const char *path,
		    uint64_t size, const uint8_t uuid[16], char *why,
		    size_t len);
/*
 * Ranges of kid never to send (the spool's own blocks, invariant 7):
 * re-read chunks leave them out.  Replaces the set; n 0 clears.  0,
 * -ENOENT, -ENOMEM.
 */
int resync_set_exclude(struct resync *rs, uint32_t kid,
		       const struct ferry_extent *ext, unsigned int n);

/* Forget kid: its queue, reads and chunks not yet added are dropped. */
void resync_remove_disk(struct resync *rs, uint32_t kid);

/* The disk's initial copy is recorded as done. */
bool resync_initial_done(struct resync *rs, uint32_t kid);

/* ---- the drain thread's side ------------------------------------------ */

/* A run of 4 KiB blocks of a chunk: data, or zeros. */
struct resync_piece {
	uint32_t off;		/* in the chunk */
	uint32_t len;
	bool zero;
	bool skip;		/* excluded (the spool): not sent at all */
};

/*
 * One read.  Goes into the stream as HRL_RESYNC / HRL_RESYNC_ZERO records
 * with seq 'seq' (S): after every ring record with seq < S, before every
 * one with seq >= S.  Every ring record with seq < S lies before ring
 * position 'head' (H).
 */
struct resync_chunk {
	uint32_t kid;
	enum resync_reason why;
	bool initial;		/* from the initial copy's sweep */
	bool done;		/* read completed (res set) */
	int res;		/* bytes read, or -errno */
	uint32_t len;
	uint64_t offset;
	uint64_t seq;
	uint64_t head;
	uint64_t time_ns;	/* when the read completed, CLOCK_REALTIME */
	void *buf;		/* block_size bytes, 4096-aligned */
	struct resync_piece *pieces;
	unsigned int nr_pieces;	/* after the read: split by zero runs */
	unsigned int added;	/* pieces already in a segment */
	unsigned int slot;
};

/*
 * Split buf[0..len) into runs of all-zero and other 4 KiB blocks (a short
 * last block counts as one); up to max pieces, the rest in the last.
 */
unsigned int resync_split(const void *buf, uint32_t len,
			  struct resync_piece *p, unsigned int max);

/* Effective bytes per read (block_size clipped to what a segment holds). */
void resync_set_max_block(struct resync *rs, uint32_t max);

/*
 * Start reads into free slots: S = next_seq, then H = head (acquire)
 * from hdr before each.  With uring, SQEs are prepared with user_data
 * ud_base + slot (the caller submits); without, pread(2) now.  Returns the
 * number of reads started.
 */
int resync_issue(struct resync *rs, const struct ferry_ring_hdr *hdr,
		 struct io_uring *uring, uint64_t ud_base);
/* The read in slot completed with res (bytes or -errno). */
void resync_complete(struct resync *rs, unsigned int slot, int res);
/* Reads submitted and not completed. */
unsigned int resync_reading(struct resync *rs);

/*
 * The oldest chunk started and not yet added to a segment (chunks go into
 * the stream in the order they were started), or NULL.  A chunk whose
 * read failed is put back in the queue by resync_added().
 */
struct resync_chunk *resync_oldest(struct resync *rs);
/* Every piece of the oldest chunk is in segment number seg. */
void resync_added(struct resync *rs, struct resync_chunk *c, uint64_t seg);
/*
 * True once after the last chunk of a disk's initial copy was added: the
 * drain seals that segment now instead of at seal_ms, so that the copy is
 * recorded done (and the window can close) without waiting for the timer.
 */
bool resync_seal_wanted(struct resync *rs);
/* Segments up to number seg are sealed in the spool. */
void resync_sealed(struct resync *rs, uint64_t seg);
/* Anything queued, being read, or read and not yet added. */
bool resync_busy(struct resync *rs);

#endif /* FERRYD_RESYNC_H */
