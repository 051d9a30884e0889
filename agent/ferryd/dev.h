/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferryd's view of /dev/ferry: the mapped ring as a struct ring_src, the
 * disks it attached, and the spool's exclusion from capture.
 */
#ifndef FERRYD_DEV_H
#define FERRYD_DEV_H

#include <pthread.h>
#include <stdint.h>

#include <ferry/ring.h>

#include <ferry/disk.h>
#include "drain.h"
#include "resync.h"

struct dev_disk {
	struct disk_id id;
	char spec[200];		/* as configured or asked by ferryctl */
	uint32_t kid;		/* ring disk_id */
	uint64_t size_bytes;
	uint32_t lbs;
	unsigned int nr_excluded;	/* spool extents excluded on it */
};

struct dev {
	struct ferry_dev kdev;	/* <ferry/ring.h>: device and ring reader */
	const char *sysfs;
	struct ring_src rs;
	pthread_mutex_t lock;	/* protects disks[] and nr_disks */
	struct dev_disk disks[64];
	unsigned int nr_disks;
	struct spool *sp;	/* for exclusion of new disks */
	struct resync *rsync;	/* attached disks are read back from here */
	/* tick (drain thread): the kernel flagged kid FERRY_DISK_RESYNC */
	void (*on_resync_flag)(struct dev *dv, uint32_t kid);
	/* tick: something else holds the resync window open (hash-compare) */
	bool (*busy)(struct dev *dv);
	void *owner;
	/* tick's bitmap buffer, drain thread only */
	uint8_t *bitmap;
	uint64_t bitmap_len;
	bool degraded;		/* some disk out of data mode at the last tick */
	bool parked;		/* clean stop (bootstate.c): the tick leaves
				 * the disks in bitmap mode, no FETCH_DIRTY */
};

/*
 * Open path, create the ring (ring_bytes, 0: module default) unless one
 * exists, map it.  0 or -errno with why.
 */
int dev_open(struct dev *dv, const char *path, uint64_t ring_bytes,
	     char *why, size_t len);
void dev_close(struct dev *dv);

/*
 * Attach the disk spec names (already attached: adopt it) and exclude the
 * spool's extents on it.  0 or -errno with why naming spec and reason.
 */
int dev_attach(struct dev *dv, const char *spec, char *why, size_t len);
int dev_detach(struct dev *dv, const char *spec, char *why, size_t len);

/*
 * The drain's ring_src tick: every disk's mode, dirty bits and flags.
 * Dirty bits are fetched (FERRY_IOC_FETCH_DIRTY) and their ranges queued
 * (RESYNC_BITMAP); a FERRY_DISK_RESYNC flag is cleared and handed to
 * on_resync_flag.  Next call in 100 ms while a disk is degraded, else 1 s.
 */
unsigned int dev_tick(struct ring_src *rs, bool *hold);

/* Kernel statistics of ring disk kid (FERRY_DISK_ALL: global). */
int dev_stats(struct dev *dv, uint32_t kid, struct ferry_stats *st);

/*
 * FIEMAP the spool files on the disk with device number whole and hand
 * the extents to the kernel.  Returns the number of extents excluded
 * (0 when the spool is not on that disk) or -errno with why.
 */
int dev_exclude_spool(struct dev *dv, struct dev_disk *dd, char *why,
		      size_t len);

/*
 * Stop excluding the spool (clean shutdown: nothing writes it any more,
 * and blocks of a spool deleted later must not stay hidden).
 */
void dev_unexclude_all(struct dev *dv);

/* The spool's file system device, its whole disk and partition start. */
int dev_spool_disk(const char *sysfs, struct spool *sp, dev_t *fs_dev,
		   dev_t *whole, uint64_t *start);

/* The spool files' extents in whole-disk bytes, merged; *n of them. */
int dev_spool_extents(const char *sysfs, struct spool *sp,
		      struct ferry_extent *ext, unsigned int *n,
		      char *why, size_t len);

/*
 * One file's extents in bytes of its whole disk (*whole), merged, in file
 * order (ext has room for FERRY_MAX_EXCLUDE).  0 or -errno with why.
 */
int dev_file_extents(const char *sysfs, const char *path, int fd,
		     struct ferry_extent *ext, unsigned int *n, dev_t *whole,
		     char *why, size_t len);

#endif /* FERRYD_DEV_H */
