/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferry: internal declarations shared by ferry_main.c (control device,
 * ioctls, ring memory, sysfs), ferry_disk.c (attach, detach, removal) and
 * ferry_hook.c (the submit_bio_noacct hook and the capture at completion).
 *
 * Lifetime of an attached disk:
 *
 *   attach: open bdev, preallocate trackers, publish in ferry_lookup (RCU)
 *     |                 submission: tracker from the pool, end_io swapped
 *     |                 completion: record into the ring, tracker back
 *   detach or removal: unpublish, synchronize_rcu, wait until inflight == 0,
 *     close bdev, free the pool; the entry (GONE) stays until DETACH
 */
#ifndef FERRY_PRIV_H
#define FERRY_PRIV_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/kobject.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/timer.h>
#include <linux/wait.h>
#include <ferry.h>
#include "ferry_compat.h"
#include "ferry_ring.h"

/* One write in flight on an attached disk; preallocated per disk. */
struct ferry_tracker {
	struct ferry_disk *disk;
	bio_end_io_t *end_io;		/* the submitter's, restored at completion */
	void *private;
	struct bvec_iter iter;		/* data as submitted */
	u64 offset;			/* bytes on the whole disk */
	u16 op;				/* enum ferry_op */
	u16 flags;			/* FERRY_REC_* */
	struct ferry_tracker *next;	/* free list link */
};

/* Byte ranges of a disk whose writes are not captured, sorted, disjoint. */
struct ferry_excl {
	u32 nr;
	struct ferry_extent ext[];
};

/* ferry_disk.flags bits; FERRY_DISK_* values of the UAPI are derived. */
enum {
	FERRY_DF_PUBLISHED,		/* in ferry_lookup: writes are captured */
	FERRY_DF_RESYNC,		/* something was lost: resync needed */
	FERRY_DF_GONE,			/* the device went away while attached */
	FERRY_DF_RELEASED,		/* bdev closed and pool freed */
};

struct ferry_disk {
	struct kobject kobj;		/* /sys/class/misc/ferry/disks/<id> */
	u32 id;
	dev_t dev;
	struct gendisk *gd;
	struct ferry_bdev ref;		/* held from attach to release */
	u64 size_bytes;
	u32 lbs;
	unsigned long flags;		/* FERRY_DF_* */

	/* pool_lock: protects free_list; taken from any context. */
	spinlock_t pool_lock;
	struct ferry_tracker *free_list;
	struct ferry_tracker *trackers;	/* pool_size entries */
	u32 pool_size;

	atomic_t inflight;		/* trackers in use */
	wait_queue_head_t idle_wq;	/* woken when inflight drops to 0 */

	struct ferry_excl __rcu *excl;	/* replaced under ferry.lock */

	struct ferry_ring_counts counts;	/* under the ring lock */
	atomic64_t drops;
	atomic64_t drop_bytes;
	atomic64_t errors;

	/*
	 * Degraded modes (ferry_mode.c).  mode is read without a lock by the
	 * completion path; mode_lock serialises every change of it and the
	 * bitmap marker written on the way into BITMAP.  Taken from any
	 * context, ring->lock nests inside it.
	 */
	spinlock_t mode_lock;
	int mode;			/* enum ferry_mode */
	atomic64_t mode_changes;
	atomic64_t to_metadata;
	atomic64_t to_bitmap;
	atomic64_t nodata_records;
	/*
	 * The dirty bitmap, fixed at attach: bit i covers disk bytes
	 * [i << granule_shift, (i + 1) << granule_shift).  Bits are set with
	 * test_and_set_bit() inside rcu_read_lock() (see ferry_mode.c) and
	 * taken with xchg() by FETCH_DIRTY; 'dirty' counts the set bits.
	 */
	unsigned long *bitmap;
	u64 nbits;
	unsigned int granule_shift;
	atomic64_t dirty;
};

/* Published disks, scanned by the hook under RCU. */
struct ferry_lookup {
	unsigned int nr;
	struct ferry_disk *disks[FERRY_MAX_DISKS];
};

/* Global state; 'lock' serialises every control operation. */
struct ferry_state {
	struct mutex lock;	/* protects everything below but 'lookup' reads */
	struct ferry_disk *disks[FERRY_MAX_DISKS];	/* by slot, not by id */
	unsigned int nr_disks;
	u32 next_id;
	struct ferry_lookup __rcu *lookup;
	bool hooked;			/* ftrace callback registered */
	struct ferry_ring *ring;	/* NULL until RING_SETUP */
	void *ring_mem;			/* vmalloc_user: header page + data */
	u64 ring_bytes;
	atomic_t mmaps;			/* live mappings of ring_mem */
	atomic64_t commits;		/* records published, for poll */
	wait_queue_head_t poll_wq;
	unsigned long last_wake;	/* jiffies of the last poll wake-up */
	struct timer_list wake_timer;	/* a wake-up put off by batching */
	struct kobject *disks_kobj;	/* /sys/class/misc/ferry/disks */
	/* totals since load, including disks detached since */
	atomic64_t drops, drop_bytes, errors;
	atomic64_t mode_changes, to_metadata, to_bitmap, nodata_records;
	u64 gone_records, gone_bytes;	/* counts of released disks */
};

extern struct ferry_state ferry;
extern unsigned int ferry_pool_size;

/* ferry_disk.c */
int ferry_disk_attach(dev_t dev, struct ferry_attach *out);
int ferry_disk_detach(u32 id);
struct ferry_disk *ferry_disk_find(u32 id);
void ferry_disk_stats(struct ferry_disk *disk, struct ferry_stats *st);
void ferry_disk_check_gone(void);
int ferry_disk_init(struct kobject *parent);
void ferry_disk_exit(void);
u32 ferry_disk_state(struct ferry_disk *disk);
int ferry_disk_exclude(u32 id, u32 count, const struct ferry_extent __user *uext);
bool ferry_disk_excluded(struct ferry_disk *disk, u64 offset, u64 len);

/* ferry_hook.c */
int ferry_hook_init(void);
void ferry_hook_exit(void);
int ferry_hook_register(void);
void ferry_hook_unregister(void);
void ferry_mark_resync(struct ferry_disk *disk, u64 bytes);
void ferry_wake_fn(struct timer_list *t);
int ferry_put_record(struct ferry_disk *disk, struct ferry_tracker *t,
		     struct bio *bio, u16 op, u16 flags, u64 limit);

/* ferry_mode.c */
int ferry_bitmap_alloc(struct ferry_disk *disk);
void ferry_bitmap_free(struct ferry_disk *disk);
u64 ferry_bitmap_bytes(struct ferry_disk *disk);
void ferry_capture(struct ferry_disk *disk, struct ferry_tracker *t,
		   struct bio *bio, u16 op);
void ferry_mode_relax(struct ferry_disk *disk);
int ferry_fetch_dirty(struct ferry_disk *disk, struct ferry_fetch_dirty *fd);
void ferry_park(struct ferry_disk *disk);
const char *ferry_mode_name(int mode);

#endif /* FERRY_PRIV_H */
