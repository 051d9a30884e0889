/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hashcmp: hash-compare resync.  For one disk: wait until the process
 * server has applied everything sealed so far, then compare SHA-256 of
 * 1 MiB chunks of the local disk (O_DIRECT reads) with the server's
 * replica (GET .../hashes), then 4 KiB blocks inside each chunk that
 * differs, and queue only the differing blocks (resync_queue(...,
 * RESYNC_HASH)).  Runs in its own thread, one disk after another.
 *
 * Used after an unclean shutdown, when the kernel flags a disk
 * FERRY_DISK_RESYNC (the flag is cleared before the compare starts, so a
 * write lost during it flags the disk again), and by `ferryctl resync`.
 *
 * hashcmp_thread.c: the thread, its queue, ferryd's glue and the control
 * request; hashcmp.c: the comparison itself, which tests drive directly.
 */
#ifndef FERRYD_HASHCMP_H
#define FERRYD_HASHCMP_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <ferry.h>

struct ferryd;
struct ps_client;
struct resync;

#define HASHCMP_CHUNK	(1u << 20)	/* first pass: 1 MiB chunks */
#define HASHCMP_BLOCK	4096u		/* inside a differing chunk */
#define HASHCMP_BATCH	256u		/* chunk hashes per request */

struct hashcmp_stat {
	/* a compare runs or is queued: the disk's replica is not known to
	 * be equal yet (disk "" while none has started) */
	bool active;
	uint32_t kid;			/* disk being compared */
	uint64_t disk_bytes;		/* its size */
	uint64_t compared;		/* bytes compared so far */
	uint64_t differing;		/* bytes found different (4 KiB blocks) */
	uint64_t queued;		/* bytes queued for resync */
	uint64_t started_ns;
	char msg[160];			/* "waiting for the server to apply", ... */
	/* since ferryd started */
	uint64_t runs;
	uint64_t total_compared;
	uint64_t total_differing;
	uint32_t pending;		/* requests waiting behind this one */
	char last[200];			/* result of the last run, "" if none */
	char disk[64];			/* the disk being compared, as named */
};

/* Start the comparer thread.  0 or -errno with why. */
int hashcmp_init(struct ferryd *fd, char *why, size_t len);
void hashcmp_stop(struct ferryd *fd);

/* Queue a compare of ring disk kid (runs after those before it). */
int hashcmp_request(struct ferryd *fd, uint32_t kid);

void hashcmp_get_stat(struct ferryd *fd, struct hashcmp_stat *st);

/*
 * After hashcmp_stop(): the disks whose compare was asked for and did not
 * finish (still queued, or interrupted by the stop), at most max into
 * kids; how many.  Their replicas may still differ: ferryd keeps them so
 * the next start compares them again.
 */
unsigned int hashcmp_unfinished(struct ferryd *fd, uint32_t *kids,
				unsigned int max);

/*
 * One line for ferryctl status, without newline: "hash-compare of /dev/vdb
 * 55% (563 MiB of 1024 MiB), 12.0 MiB differ, 12.0 MiB queued, 120 MiB/s,
 * ETA 0:04", the wait message, or the last result; "" when there never
 * was a compare.
 */
void hashcmp_status_line(const struct hashcmp_stat *st, char *buf,
			 size_t len);

/*
 * The control request "resync DISK [full]" (ctl.c): resolve DISK like
 * attach does, then queue a hash-compare, or with full the whole disk to
 * be re-read (RESYNC_HASH).  Writes the answer to f; returns the exit
 * status for ferryctl (0, 1 error, 2 usage).
 */
int hashcmp_ctl(struct ferryd *fd, const char *args, FILE *f);

/* ---- the comparison of one disk (hashcmp.c) ---------------------------- */

/* Where the two sides' data comes from; unit tests put their own here. */
struct hashcmp_ops {
	/* len (<= HASHCMP_CHUNK) bytes of the local disk at off into buf
	 * (HASHCMP_CHUNK bytes, 4096-aligned).  0 or -errno with err. */
	int (*read)(void *arg, uint64_t off, void *buf, size_t len,
		    char *err, size_t errlen);
	/* As ps_client_hashes(); -ENOENT when there is no replica. */
	int (*hashes)(void *arg, uint64_t chunk, uint64_t off, uint32_t count,
		      uint8_t (*out)[32], size_t *n, char *err, size_t errlen);
};

/* The real sides: a local disk (or file) and ferry-ps. */
struct hashcmp_io {
	int fd;				/* the local disk */
	bool direct;			/* opened with O_DIRECT */
	const char *path;
	struct ps_client *pc;
	char disk[40];			/* the server's name, ps_disk_name() */
};

extern const struct hashcmp_ops hashcmp_io_ops;

/*
 * Open path for reading with O_DIRECT (buffered if the file system refuses
 * it, io->direct says which).  0 or -errno with err.
 */
int hashcmp_io_open(struct hashcmp_io *io, const char *path, char *err,
		    size_t errlen);
void hashcmp_io_close(struct hashcmp_io *io);

struct hashcmp_job {
	uint32_t kid;			/* ring disk id, for resync_queue() */
	uint64_t size;			/* bytes of the local disk */
	struct resync *rs;
	const struct hashcmp_ops *ops;
	void *arg;			/* for ops */
	/* never queued (the spool's extents on this disk); sorted, apart */
	const struct ferry_extent *skip;
	unsigned int nr_skip;
	volatile int *stop;		/* stop early when set (may be NULL) */
	pthread_mutex_t *lock;		/* protects *st (may be NULL) */
	struct hashcmp_stat *st;	/* compared, differing, queued, msg */
	uint32_t ranges;		/* out: ranges queued */
};

/*
 * Compare j->size bytes: the replica's chunk hashes in batches of
 * HASHCMP_BATCH, the local chunks read and hashed, and the 4 KiB blocks
 * of each chunk that differs; differing blocks are queued coalesced.  A
 * replica that is missing or shorter differs everywhere beyond its end
 * (not read).  0, -ECANCELED when stopped, or -errno with err.
 */
int hashcmp_compare(struct hashcmp_job *j, char *err, size_t errlen);

/*
 * Wait until the server has applied every record before target (seq),
 * telling j->st->msg how far it is.  Gives up when neither its stored nor
 * its applied position moved for patience_s seconds: -ETIMEDOUT with err
 * saying so.  0, -ECANCELED when stopped.
 */
int hashcmp_wait_applied(struct hashcmp_job *j, struct ps_client *pc,
			 uint64_t target, unsigned int patience_s,
			 char *err, size_t errlen);

#endif /* FERRYD_HASHCMP_H */
