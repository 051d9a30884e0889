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
 */
#ifndef FERRYD_HASHCMP_H
#define FERRYD_HASHCMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ferryd;

struct hashcmp_stat {
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
};

/* Start the comparer thread.  0 or -errno with why. */
int hashcmp_init(struct ferryd *fd, char *why, size_t len);
void hashcmp_stop(struct ferryd *fd);

/* Queue a compare of ring disk kid (runs after those before it). */
int hashcmp_request(struct ferryd *fd, uint32_t kid);

void hashcmp_get_stat(struct ferryd *fd, struct hashcmp_stat *st);

#endif /* FERRYD_HASHCMP_H */
