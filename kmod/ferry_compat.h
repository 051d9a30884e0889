/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferry: the one place where kernel API differences are handled.
 *
 * compat.h is generated at build time by compat/gen-compat.sh, which compiles
 * each compat/<probe>.c against the target kernel's headers; every probe
 * cites the upstream change it detects.  The rest of ferry is written against
 * the newest API and calls the helpers below; it never tests versions.
 */
#ifndef FERRY_COMPAT_H
#define FERRY_COMPAT_H

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/blk-mq.h>
#include <linux/ftrace.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include "compat.h"

#ifdef COMPAT_HAVE_LINUX_CRC32C_H
#include <linux/crc32c.h>
#else
#include <linux/crc32.h>
#endif

/* --- ftrace callback: argument 0 of the traced function --------------- */
#if defined(COMPAT_HAVE_FTRACE_REGS_GET_ARGUMENT)
#define FERRY_FTRACE_REGS	struct ftrace_regs
#define FERRY_FTRACE_FLAGS	0
static inline unsigned long ferry_ftrace_arg0(struct ftrace_regs *fregs)
{
	return ftrace_regs_get_argument(fregs, 0);
}
#elif defined(COMPAT_FTRACE_FUNC_TAKES_FREGS) && \
	defined(CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS)
/* 5.11..6.4 on x86: ftrace_regs wraps pt_regs whose argument regs are set. */
#define FERRY_FTRACE_REGS	struct ftrace_regs
#define FERRY_FTRACE_FLAGS	0
static inline unsigned long ferry_ftrace_arg0(struct ftrace_regs *fregs)
{
	return regs_get_kernel_argument(&fregs->regs, 0);
}
#elif defined(COMPAT_FTRACE_FUNC_TAKES_FREGS)
#define FERRY_FTRACE_REGS	struct ftrace_regs
#define FERRY_FTRACE_FLAGS	FTRACE_OPS_FL_SAVE_REGS
static inline unsigned long ferry_ftrace_arg0(struct ftrace_regs *fregs)
{
	return regs_get_kernel_argument(ftrace_get_regs(fregs), 0);
}
#else
/* <= 5.10: callbacks get pt_regs, filled only with FTRACE_OPS_FL_SAVE_REGS. */
#define FERRY_FTRACE_REGS	struct pt_regs
#define FERRY_FTRACE_FLAGS	FTRACE_OPS_FL_SAVE_REGS
static inline unsigned long ferry_ftrace_arg0(struct pt_regs *regs)
{
	return regs_get_kernel_argument(regs, 0);
}
#endif

/* Free the filter hash of an unregistered ops (set with reset). */
static inline void ferry_ftrace_free_filter(struct ftrace_ops *ops)
{
#ifdef COMPAT_HAVE_EXPORT_FTRACE_FREE_FILTER
	ftrace_free_filter(ops);
#else
	/* An emptied filter is replaced by the shared EMPTY_HASH and freed. */
	ftrace_set_filter(ops, NULL, 0, 1);
#endif
}

/* --- bio: target disk and partition start (in sectors) ---------------- */
#ifdef COMPAT_HAVE_BIO_BI_BDEV
static inline struct gendisk *ferry_bio_disk(struct bio *bio)
{
	return bio->bi_bdev->bd_disk;
}

/*
 * At submit_bio_noacct() entry a bio to a partition still carries sectors
 * relative to the partition unless BIO_REMAPPED says it was remapped already.
 */
static inline sector_t ferry_bio_part_start(struct bio *bio)
{
	if (bio_flagged(bio, BIO_REMAPPED))
		return 0;
	return bio->bi_bdev->bd_start_sect;
}
#else
static inline struct gendisk *ferry_bio_disk(struct bio *bio)
{
	return bio->bi_disk;
}

/* 5.10: bi_partno is cleared by blk_partition_remap() once remapped. */
static inline sector_t ferry_bio_part_start(struct bio *bio)
{
	struct disk_part_tbl *ptbl;
	struct hd_struct *part;
	sector_t start;

	if (!bio->bi_partno)
		return 0;
	/* disk_get_part() is not exported by 5.10: its RCU lookup, inline. */
	start = 0;
	rcu_read_lock();
	ptbl = rcu_dereference(bio->bi_disk->part_tbl);
	if (bio->bi_partno < ptbl->len) {
		part = rcu_dereference(ptbl->part[bio->bi_partno]);
		if (part)
			start = part->start_sect;
	}
	rcu_read_unlock();
	return start;
}
#endif

#ifndef COMPAT_HAVE_REQ_OP_WRITE_SAME
#define FERRY_IS_WRITE_SAME(op)	false
#else
#define FERRY_IS_WRITE_SAME(op)	((op) == REQ_OP_WRITE_SAME)
#endif

/* --- block device references ------------------------------------------ */
struct ferry_bdev {
	struct block_device *bdev;
	void *handle;		/* struct file or bdev_handle, when the API has one */
};

int ferry_bdev_open(dev_t dev, struct ferry_bdev *ref);
void ferry_bdev_close(struct ferry_bdev *ref);

static inline bool ferry_disk_live(struct gendisk *gd)
{
#ifdef COMPAT_HAVE_DISK_LIVE
	return disk_live(gd);
#else
	return !(gd->flags & GENHD_FL_UP) ? false : true;
#endif
}

static inline loff_t ferry_bdev_nr_bytes(struct block_device *bdev)
{
#ifdef COMPAT_HAVE_BDEV_NR_BYTES
	return bdev_nr_bytes(bdev);
#else
	return i_size_read(bdev->bd_inode);
#endif
}

static inline bool ferry_bdev_is_partition(struct block_device *bdev)
{
#ifdef COMPAT_HAVE_BDEV_IS_PARTITION
	return bdev_is_partition(bdev);
#else
	return bdev->bd_partno != 0;
#endif
}

/*
 * Wait for every request already inside the queue to complete; new ones
 * wait meanwhile.  Used once at attach to drain writes that passed the hook
 * before the disk was published.
 */
static inline void ferry_queue_drain(struct request_queue *q)
{
#ifdef COMPAT_BLK_MQ_UNFREEZE_QUEUE_TAKES_MEMFLAGS
	blk_mq_unfreeze_queue(q, blk_mq_freeze_queue(q));
#else
	blk_mq_freeze_queue(q);
	blk_mq_unfreeze_queue(q);
#endif
}

/*
 * crc32c without a module dependency (insmod alone must work): the library
 * function where vmlinux exports it (built in), else the crypto API's
 * "crc32c", which picks the fastest implementation registered.
 * Kernel convention: no inversion inside; callers seed ~0 and invert.
 */
#ifndef COMPAT_HAVE_BUILTIN_CRC32C
int ferry_crc_init(void);
void ferry_crc_exit(void);
u32 ferry_crc32c(u32 crc, const void *p, unsigned int len);
#else
static inline int ferry_crc_init(void) { return 0; }
static inline void ferry_crc_exit(void) { }
static inline u32 ferry_crc32c(u32 crc, const void *p, unsigned int len)
{
	return crc32c(crc, p, len);
}
#endif

#ifndef COMPAT_HAVE_TIMER_DELETE_SYNC
#define timer_delete_sync(t)	del_timer_sync(t)
#endif

/* --- memory ------------------------------------------------------------ */
#ifdef COMPAT_HAVE_KMAP_LOCAL_PAGE
#define ferry_kmap(page)	kmap_local_page(page)
#define ferry_kunmap(addr)	kunmap_local(addr)
#else
#define ferry_kmap(page)	kmap_atomic(page)
#define ferry_kunmap(addr)	kunmap_atomic(addr)
#endif

static inline void ferry_vma_make_readonly(struct vm_area_struct *vma)
{
#ifdef COMPAT_HAVE_VM_FLAGS_CLEAR
	vm_flags_clear(vma, VM_MAYWRITE);
#else
	vma->vm_flags &= ~VM_MAYWRITE;
#endif
}

#endif /* FERRY_COMPAT_H */
