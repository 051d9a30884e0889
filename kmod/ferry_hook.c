// SPDX-License-Identifier: GPL-2.0
/*
 * ferry: write capture.  An ftrace callback on submit_bio_noacct() sees every
 * bio on its way to a driver: the ones filesystems send through submit_bio(),
 * and the clones device-mapper and md send to the disks below them.
 *
 * Submission (process context, preemption off inside the callback):
 *
 *   write-class bio to an attached disk, not tracked yet
 *     -> tracker from the disk's pool (none left: drop, mark resync)
 *     -> save bi_iter, bi_end_io, bi_private, whole-disk byte offset
 *     -> bi_end_io = ferry_end_io, bi_private = tracker
 *
 * A bio is tracked once.  blk-mq splitting resubmits the remainder, which is
 * the tracked bio itself (bi_end_io == ferry_end_io); a piece chained below
 * a tracked ancestor (bio_chain_endio, parent in bi_private) is part of the
 * ancestor's record.  Chains whose ancestors are not tracked (discards issued
 * by blk_next_bio(), md/dm splits) are captured piece by piece.
 *
 * Completion (any context, hard interrupts included):
 *
 *   success:       by the disk's mode (ferry_mode.c): reserve ring space
 *                  (global seq, completion order), copy the payload from
 *                  the saved iter computing crc32c, commit; or a record
 *                  without payload; or a bit in the dirty bitmap
 *   not performed: (BLK_STS_NOTSUPP, BLK_STS_AGAIN) nothing changed: nothing
 *   failure:       a FERRY_OP_DIRTY record for the range (resync it)
 *   then restore bi_end_io/bi_private and call the submitter's end_io.
 *
 * No tracker left at submission: count a drop, flag the disk
 * FERRY_DISK_RESYNC, and put a FERRY_OP_DIRTY record in the ring if it fits.
 *
 * The record is published before the submitter learns of the completion,
 * so seq order is consistent with completion order across all disks.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ftrace.h>
#include <linux/ktime.h>
#include <linux/poll.h>
#include <linux/timekeeping.h>
#include "ferry_priv.h"

static bio_end_io_t *ferry_bio_chain_endio;

static void ferry_end_io(struct bio *bio);

/* -- submission -------------------------------------------------------- */

static u16 ferry_bio_op(struct bio *bio)
{
	switch (bio_op(bio)) {
	case REQ_OP_WRITE:
		return bio->bi_iter.bi_size ? FERRY_OP_WRITE :
			(bio->bi_opf & REQ_PREFLUSH) ? FERRY_OP_FLUSH : 0;
	case REQ_OP_DISCARD:
		return FERRY_OP_DISCARD;
	case REQ_OP_WRITE_ZEROES:
		return FERRY_OP_WRITE_ZEROES;
	case REQ_OP_SECURE_ERASE:
		return FERRY_OP_SECURE_ERASE;
	default:
		/* A replicated block (5.10's WRITE_SAME) is recorded as dirty. */
		return FERRY_IS_WRITE_SAME(bio_op(bio)) ? FERRY_OP_DIRTY : 0;
	}
}

static bool ferry_bio_tracked(struct bio *bio)
{
	int depth;

	if (bio->bi_end_io == ferry_end_io)
		return true;
	for (depth = 0; depth < 32; depth++) {
		if (bio->bi_end_io != ferry_bio_chain_endio || !bio->bi_private)
			return false;
		bio = bio->bi_private;
		if (bio->bi_end_io == ferry_end_io)
			return true;
	}
	return false;
}

static struct ferry_disk *ferry_lookup_disk(struct gendisk *gd)
{
	struct ferry_lookup *lk = rcu_dereference(ferry.lookup);
	unsigned int i;

	if (!lk)
		return NULL;
	for (i = 0; i < lk->nr; i++)
		if (lk->disks[i]->gd == gd)
			return lk->disks[i];
	return NULL;
}

static struct ferry_tracker *ferry_tracker_get(struct ferry_disk *disk)
{
	struct ferry_tracker *t;
	unsigned long flags;

	spin_lock_irqsave(&disk->pool_lock, flags);
	t = disk->free_list;
	if (t)
		disk->free_list = t->next;
	spin_unlock_irqrestore(&disk->pool_lock, flags);
	return t;
}

static void ferry_tracker_put(struct ferry_disk *disk, struct ferry_tracker *t)
{
	unsigned long flags;

	spin_lock_irqsave(&disk->pool_lock, flags);
	t->next = disk->free_list;
	disk->free_list = t;
	spin_unlock_irqrestore(&disk->pool_lock, flags);
}

void ferry_mark_resync(struct ferry_disk *disk, u64 bytes)
{
	atomic64_inc(&disk->drops);
	atomic64_add(bytes, &disk->drop_bytes);
	atomic64_inc(&ferry.drops);
	atomic64_add(bytes, &ferry.drop_bytes);
	if (!test_bit(FERRY_DF_RESYNC, &disk->flags))
		set_bit(FERRY_DF_RESYNC, &disk->flags);
}

/*
 * No tracker left: the write will not be captured.  Flag the disk for a
 * full resync, and put a DIRTY record for the range in the ring if there is
 * metadata room, so that the agent's resync window opens in stream order.
 */
static void ferry_untracked(struct ferry_disk *disk, struct bio *bio,
			    u64 offset)
{
	struct ferry_tracker tmp = {
		.iter = bio->bi_iter,
		.offset = offset,
	};

	ferry_mark_resync(disk, bio->bi_iter.bi_size);
	if (bio->bi_iter.bi_size)
		ferry_put_record(disk, &tmp, NULL, FERRY_OP_DIRTY, 0,
				 ferry_ring_meta_limit(ferry.ring));
}

static void ferry_submit(struct bio *bio)
{
	struct ferry_disk *disk;
	struct ferry_tracker *t;
	u64 offset;
	u16 op;

	op = ferry_bio_op(bio);
	if (!op || ferry_bio_tracked(bio))
		return;

	rcu_read_lock();
	disk = ferry_lookup_disk(ferry_bio_disk(bio));
	if (!disk)
		goto out_unlock;
	offset = (u64)(bio->bi_iter.bi_sector + ferry_bio_part_start(bio))
		<< SECTOR_SHIFT;
	if (ferry_disk_excluded(disk, offset, bio->bi_iter.bi_size))
		goto out_unlock;
	t = ferry_tracker_get(disk);
	if (!t) {
		ferry_untracked(disk, bio, offset);
		goto out_unlock;
	}
	atomic_inc(&disk->inflight);
	t->disk = disk;
	t->end_io = bio->bi_end_io;
	t->private = bio->bi_private;
	t->iter = bio->bi_iter;
	t->offset = offset;
	t->op = op;
	t->flags = (bio->bi_opf & REQ_FUA ? FERRY_REC_FUA : 0) |
		   (bio->bi_opf & REQ_PREFLUSH ? FERRY_REC_PREFLUSH : 0);
	bio->bi_private = t;
	bio->bi_end_io = ferry_end_io;
out_unlock:
	rcu_read_unlock();
}

static void notrace ferry_ftrace_cb(unsigned long ip, unsigned long parent_ip,
				    struct ftrace_ops *op,
				    FERRY_FTRACE_REGS *regs)
{
	ferry_submit((struct bio *)ferry_ftrace_arg0(regs));
}

static struct ftrace_ops ferry_ftrace_ops = {
	.func = ferry_ftrace_cb,
	.flags = FERRY_FTRACE_FLAGS,
};

/* -- completion ---------------------------------------------------------- */

/* Copy the payload of a completed write into the record, crc32c over it. */
static u32 ferry_copy_payload(struct bio *bio, struct ferry_tracker *t,
			      u8 *dst)
{
	struct bvec_iter iter;
	struct bio_vec bv;
	u32 crc = ~0u;

	__bio_for_each_segment(bv, bio, iter, t->iter) {
		u8 *src = ferry_kmap(bv.bv_page);

		memcpy(dst, src + bv.bv_offset, bv.bv_len);
		ferry_kunmap(src);
		crc = ferry_crc32c(crc, dst, bv.bv_len);
		dst += bv.bv_len;
	}
	return ~crc;
}

void ferry_wake_fn(struct timer_list *t)
{
	WRITE_ONCE(ferry.last_wake, jiffies);
	wake_up_interruptible_poll(&ferry.poll_wq, EPOLLIN | EPOLLRDNORM);
}

/*
 * Wake a sleeping consumer at most once per jiffy: under load, waking it
 * for every record costs a context switch per write.  A wake-up put off
 * is done by the timer one jiffy later, so no record waits longer.
 */
static void ferry_wake_consumer(void)
{
	unsigned long now = jiffies;

	if (!wq_has_sleeper(&ferry.poll_wq))
		return;
	if (now != READ_ONCE(ferry.last_wake)) {
		WRITE_ONCE(ferry.last_wake, now);
		wake_up_interruptible_poll(&ferry.poll_wq, EPOLLIN | EPOLLRDNORM);
	} else if (!timer_pending(&ferry.wake_timer)) {
		mod_timer(&ferry.wake_timer, now + 1);
	}
}

/*
 * Put one record for the write t into the ring if the ring, with it, holds
 * at most 'limit' bytes.  The payload is copied unless the op has none or
 * flags carry FERRY_REC_NODATA.  0, or -ENOSPC / -E2BIG (nothing written).
 */
int ferry_put_record(struct ferry_disk *disk, struct ferry_tracker *t,
		     struct bio *bio, u16 op, u16 flags, u64 limit)
{
	struct ferry_ring *ring = ferry.ring;
	u32 len = t->iter.bi_size;
	u64 payload = op == FERRY_OP_WRITE && !(flags & FERRY_REC_NODATA) ?
		len : 0;
	struct ferry_ring_res res;
	struct ferry_rec *rec;
	int ret;

	ret = ferry_ring_reserve(ring, payload, limit, &disk->counts, &res);
	if (ret)
		return ret;
	rec = res.rec;
	rec->offset = t->offset;
	rec->time_ns = ktime_get_real_ns();
	rec->len = len;
	rec->disk_id = disk->id;
	rec->op = op;
	rec->flags = flags;
	rec->reserved[0] = 0;
	rec->reserved[1] = 0;
	rec->reserved[2] = 0;
	rec->crc = payload ? ferry_copy_payload(bio, t, ferry_rec_payload(rec)) :
		0;	/* crc32c of nothing */
	ferry_ring_commit(&res);
	if (flags & FERRY_REC_NODATA) {
		atomic64_inc(&disk->nodata_records);
		atomic64_inc(&ferry.nodata_records);
	}

	atomic64_inc(&ferry.commits);
	ferry_wake_consumer();
	return 0;
}

/*
 * Hand a completed bio back to its submitter.  A piece of a bio chain is
 * completed the way bio_chain_endio() does it, without calling it: newer
 * kernels finish chains inside bio_endio() and bio_chain_endio() BUG()s when
 * called directly (seen on 7.2), and the steps are the same on every kernel.
 */
static void ferry_complete(struct bio *bio)
{
	struct bio *parent;

	if (bio->bi_end_io != ferry_bio_chain_endio) {
		if (bio->bi_end_io)
			bio->bi_end_io(bio);
		return;
	}
	parent = bio->bi_private;
	if (bio->bi_status && !parent->bi_status)
		parent->bi_status = bio->bi_status;
	bio_put(bio);
	bio_endio(parent);
}

static void ferry_end_io(struct bio *bio)
{
	struct ferry_tracker *t = bio->bi_private;
	struct ferry_disk *disk = t->disk;

	bio->bi_end_io = t->end_io;
	bio->bi_private = t->private;

	switch (bio->bi_status) {
	case BLK_STS_OK:
		ferry_capture(disk, t, bio, t->op);
		break;
	case BLK_STS_NOTSUPP:
	case BLK_STS_AGAIN:
		break;		/* rejected before reaching the medium */
	default:
		atomic64_inc(&disk->errors);
		atomic64_inc(&ferry.errors);
		if (t->op != FERRY_OP_FLUSH)
			ferry_capture(disk, t, bio, FERRY_OP_DIRTY);
		break;
	}

	/*
	 * Detach waits for inflight == 0 and then for an RCU grace period
	 * before it frees the disk and lets the module go: the read-side
	 * section covers the submitter's end_io and everything after it.
	 */
	rcu_read_lock();
	ferry_complete(bio);
	ferry_tracker_put(disk, t);
	if (atomic_dec_and_test(&disk->inflight))
		wake_up(&disk->idle_wq);
	rcu_read_unlock();
}

/* -- registration -------------------------------------------------------- */

int ferry_hook_register(void)
{
	return register_ftrace_function(&ferry_ftrace_ops);
}

void ferry_hook_unregister(void)
{
	unregister_ftrace_function(&ferry_ftrace_ops);
}

/* bio_chain_endio is static: learn its address from a bio_chain() call. */
static void ferry_find_chain_endio(void)
{
	static struct bio child, parent;

	bio_chain(&child, &parent);
	ferry_bio_chain_endio = child.bi_end_io;
}

int ferry_hook_init(void)
{
	static unsigned char fn[] = "submit_bio_noacct";
	int ret;

	ferry_find_chain_endio();
	ret = ftrace_set_filter(&ferry_ftrace_ops, fn, strlen(fn), 1);
	if (ret)
		pr_err("cannot trace %s (%d): kernel without dynamic ftrace?\n",
		       fn, ret);
	return ret;
}

void ferry_hook_exit(void)
{
	ferry_ftrace_free_filter(&ferry_ftrace_ops);
}
