// SPDX-License-Identifier: GPL-2.0
/*
 * ferry: degraded modes.  A disk whose writes no longer fit in the ring is
 * never blocked and never loses a write: it records less, per disk.
 *
 *   ring:  0              size - size/8          size - 4096       size
 *          |<- payload records ->|<- metadata only ->|<- markers ->|
 *
 *                payload does not fit the data limit
 *      DATA  ---------------------------------------->  METADATA
 *       ^    <----------------------------------------     |
 *       |     ring used < data limit / 4 (next write,      | metadata record does
 *       |     or CONSUME / STATS)                          | not fit: NODATA marker
 *       |                                                  v from the marker room
 *       +----------------------------------------------  BITMAP  <---- PARK
 *         FETCH_DIRTY, ring used < data limit / 4,
 *         no FERRY_FETCH_KEEP_MODE
 *
 * DATA      records carry the payload (ferry_put_record, data limit).
 * METADATA  WRITE records carry FERRY_REC_NODATA and no payload; discards,
 *           write-zeroes, flushes and DIRTY records as themselves
 *           (metadata limit).
 * BITMAP    a write sets the bits of its range in the disk's dirty bitmap;
 *           nothing goes to the ring.  Empty flushes are not recorded: their
 *           ordering means nothing once write order is lost.
 *
 * The bitmap is allocated at attach and never resized: granule = the
 * smallest power of two >= 4096 with at most FERRY_BITMAP_MAX_BITS bits for
 * the disk, so it takes at most 1 MiB.  Bits are set with test_and_set_bit()
 * (xchg() for whole words) and 'dirty' counts them.
 *
 * FETCH_DIRTY takes the bits: it switches the mode first (under mode_lock),
 * waits for an RCU grace period, then xchg()s every word to zero.  A write
 * reads the mode and sets its bits inside one RCU read-side section (or
 * under mode_lock), so after the grace period no write that saw BITMAP can
 * still be setting a bit: the bits taken are complete.  A bit that cannot
 * be handed to userspace is set again.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bitmap.h>
#include <linux/bitops.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/swab.h>
#include <linux/uaccess.h>
#include "ferry_priv.h"

/* 8 Mi bits: a bitmap never takes more than 1 MiB. */
#define FERRY_BITMAP_MAX_BITS	(8UL << 20)
#define FERRY_GRANULE_MIN_SHIFT	12

static const char * const ferry_mode_names[] = {
	[FERRY_MODE_DATA] = "data",
	[FERRY_MODE_METADATA] = "metadata",
	[FERRY_MODE_BITMAP] = "bitmap",
};

const char *ferry_mode_name(int mode)
{
	if (mode < 0 || mode >= (int)ARRAY_SIZE(ferry_mode_names))
		return "unknown";
	return ferry_mode_names[mode];
}

/* -- the bitmap ---------------------------------------------------------- */

int ferry_bitmap_alloc(struct ferry_disk *disk)
{
	unsigned int shift = FERRY_GRANULE_MIN_SHIFT;

	while (DIV_ROUND_UP_ULL(disk->size_bytes, 1ULL << shift) >
	       FERRY_BITMAP_MAX_BITS)
		shift++;
	disk->granule_shift = shift;
	disk->nbits = DIV_ROUND_UP_ULL(disk->size_bytes, 1ULL << shift);
	disk->bitmap = kvcalloc(max_t(unsigned long, 1,
				      BITS_TO_LONGS(disk->nbits)),
				sizeof(unsigned long), GFP_KERNEL);
	return disk->bitmap ? 0 : -ENOMEM;
}

void ferry_bitmap_free(struct ferry_disk *disk)
{
	kvfree(disk->bitmap);
	disk->bitmap = NULL;
}

/* Bytes FETCH_DIRTY copies out: whole longs, so a multiple of 8 on 64-bit. */
u64 ferry_bitmap_bytes(struct ferry_disk *disk)
{
	return (u64)BITS_TO_LONGS(disk->nbits) * sizeof(unsigned long);
}

/* Set bits [first, last]; returns how many were clear before. */
static u64 ferry_bits_set(unsigned long *bm, unsigned long first,
			  unsigned long last)
{
	unsigned long i = first;
	u64 n = 0;

	while (i <= last) {
		if (!(i % BITS_PER_LONG) && last - i + 1 >= BITS_PER_LONG) {
			unsigned long old = xchg(&bm[i / BITS_PER_LONG], ~0UL);

			n += BITS_PER_LONG - hweight_long(old);
			i += BITS_PER_LONG;
		} else {
			n += !test_and_set_bit(i, bm);
			i++;
		}
	}
	return n;
}

/*
 * Mark [offset, offset + len) dirty.  Caller is inside rcu_read_lock() or
 * holds mode_lock, and has seen mode == BITMAP there.  A range beyond the
 * size the disk had at attach (it grew) cannot be tracked: resync.
 */
static void ferry_dirty_set(struct ferry_disk *disk, u64 offset, u64 len)
{
	u64 end;

	if (!len)
		return;
	end = offset + len;
	if (end > disk->size_bytes || end < offset) {
		set_bit(FERRY_DF_RESYNC, &disk->flags);
		if (offset >= disk->size_bytes)
			return;
		end = disk->size_bytes;
	}
	atomic64_add(ferry_bits_set(disk->bitmap,
				    offset >> disk->granule_shift,
				    (end - 1) >> disk->granule_shift),
		     &disk->dirty);
}

/* -- transitions ----------------------------------------------------------- */

/* Under mode_lock. */
static void ferry_mode_set(struct ferry_disk *disk, int mode)
{
	/* release: a write that sees the new mode sees what came before */
	smp_store_release(&disk->mode, mode);
	atomic64_inc(&disk->mode_changes);
	atomic64_inc(&ferry.mode_changes);
	if (mode == FERRY_MODE_METADATA) {
		atomic64_inc(&disk->to_metadata);
		atomic64_inc(&ferry.to_metadata);
	} else if (mode == FERRY_MODE_BITMAP) {
		atomic64_inc(&disk->to_bitmap);
		atomic64_inc(&ferry.to_bitmap);
	}
}

/* from -> to, unless another path changed the mode first. */
static void ferry_mode_switch(struct ferry_disk *disk, int from, int to)
{
	unsigned long flags;

	spin_lock_irqsave(&disk->mode_lock, flags);
	if (disk->mode == from)
		ferry_mode_set(disk, to);
	spin_unlock_irqrestore(&disk->mode_lock, flags);
}

/* METADATA -> DATA once the consumer has made room.  Any context. */
void ferry_mode_relax(struct ferry_disk *disk)
{
	if (READ_ONCE(disk->mode) == FERRY_MODE_METADATA &&
	    ferry_ring_roomy(ferry.ring))
		ferry_mode_switch(disk, FERRY_MODE_METADATA, FERRY_MODE_DATA);
}

static u16 ferry_nodata_flags(u16 op, u16 flags)
{
	return op == FERRY_OP_WRITE ? flags | FERRY_REC_NODATA : flags;
}

/*
 * The ring has no metadata room left for t.  Under mode_lock, so that the
 * mode cannot change meanwhile:
 *
 *   not BITMAP yet: record t once more as a NODATA marker, allowed into the
 *     last 4096 bytes, and only then switch to BITMAP.  Any write that sets
 *     a bit does so after seeing BITMAP, hence after the marker got its seq,
 *     and its submitter learns of the completion later still: in the stream,
 *     the marker comes before every write the bitmap holds, and the agent
 *     sees from the stream alone where write order stops being complete.
 *     No room even for the marker: the stream cannot say it, so the disk
 *     needs a full resync; t goes into the bitmap.
 *   BITMAP already: t's bits.
 */
static void ferry_degrade(struct ferry_disk *disk, struct ferry_tracker *t,
			  struct bio *bio, u16 op)
{
	unsigned long flags;

	spin_lock_irqsave(&disk->mode_lock, flags);
	if (disk->mode != FERRY_MODE_BITMAP) {
		int ret = ferry_put_record(disk, t, bio, op,
					   ferry_nodata_flags(op, t->flags),
					   ferry.ring->size);

		ferry_mode_set(disk, FERRY_MODE_BITMAP);
		if (!ret)
			goto out_unlock;
		set_bit(FERRY_DF_RESYNC, &disk->flags);
	}
	if (op != FERRY_OP_FLUSH) {
		rcu_read_lock();
		ferry_dirty_set(disk, t->offset, t->iter.bi_size);
		rcu_read_unlock();
	}
out_unlock:
	spin_unlock_irqrestore(&disk->mode_lock, flags);
}

/*
 * Record a completed write by the disk's mode.  Completion context: never
 * sleeps, never allocates, never fails the write.
 */
void ferry_capture(struct ferry_disk *disk, struct ferry_tracker *t,
		   struct bio *bio, u16 op)
{
	struct ferry_ring *ring = ferry.ring;
	bool retried = false;
	int mode;

again:
	ferry_mode_relax(disk);
	mode = READ_ONCE(disk->mode);
	if (mode == FERRY_MODE_DATA) {
		if (!ferry_put_record(disk, t, bio, op, t->flags,
				      ferry_ring_data_limit(ring)))
			return;
		ferry_mode_switch(disk, FERRY_MODE_DATA, FERRY_MODE_METADATA);
		mode = FERRY_MODE_METADATA;
	}
	if (mode == FERRY_MODE_METADATA) {
		if (!ferry_put_record(disk, t, bio, op,
				      ferry_nodata_flags(op, t->flags),
				      ferry_ring_meta_limit(ring)))
			return;
		ferry_degrade(disk, t, bio, op);
		return;
	}

	/* BITMAP: the mode test and the bits in one read-side section. */
	rcu_read_lock();
	if (READ_ONCE(disk->mode) == FERRY_MODE_BITMAP) {
		if (op != FERRY_OP_FLUSH)
			ferry_dirty_set(disk, t->offset, t->iter.bi_size);
		rcu_read_unlock();
		return;
	}
	rcu_read_unlock();
	/* FETCH_DIRTY switched back meanwhile: once more from the top. */
	if (!retried) {
		retried = true;
		goto again;
	}
	ferry_degrade(disk, t, bio, op);
}

/* -- FETCH_DIRTY, PARK (under ferry.lock) -------------------------------- */

/* Bitmap words as LSB-first bytes (<ferry.h>): a no-op on little endian. */
static void ferry_words_to_le(unsigned long *w, unsigned long n)
{
#ifdef __BIG_ENDIAN
	unsigned long i;

	for (i = 0; i < n; i++)
		w[i] = BITS_PER_LONG == 64 ? swab64(w[i]) : swab32(w[i]);
#endif
}

/* Set again the bits of words[] that could not be handed out. */
static void ferry_bits_restore(struct ferry_disk *disk,
			       const unsigned long *words, unsigned long nw)
{
	unsigned long i, b;
	u64 n = 0;

	for (i = 0; i < nw; i++)
		for_each_set_bit(b, &words[i], BITS_PER_LONG)
			n += !test_and_set_bit(i * BITS_PER_LONG + b,
					       disk->bitmap);
	atomic64_add(n, &disk->dirty);
}

/* BITMAP -> DATA if the ring has room; true when it switched. */
static bool ferry_bitmap_leave(struct ferry_disk *disk)
{
	unsigned long flags;
	bool leave;

	spin_lock_irqsave(&disk->mode_lock, flags);
	leave = disk->mode == FERRY_MODE_BITMAP && ferry_ring_roomy(ferry.ring);
	if (leave)
		ferry_mode_set(disk, FERRY_MODE_DATA);
	spin_unlock_irqrestore(&disk->mode_lock, flags);
	return leave;
}

/*
 * Copy the disk's set bits to fd->bitmap and clear them.  The ioctl has
 * checked flags and reserved fields.  -EINVAL buffer too short, -ENOMEM,
 * -EFAULT (no bit lost: they are set again).
 */
int ferry_fetch_dirty(struct ferry_disk *disk, struct ferry_fetch_dirty *fd)
{
	u64 bytes = ferry_bitmap_bytes(disk), taken = 0;
	unsigned long nw = BITS_TO_LONGS(disk->nbits), i, *buf;
	int ret = 0;

	if (fd->bytes < bytes)
		return -EINVAL;
	buf = kvmalloc(max_t(u64, bytes, 1), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (!(fd->flags & FERRY_FETCH_KEEP_MODE)) {
		ferry_mode_relax(disk);
		if (ferry_bitmap_leave(disk))
			synchronize_rcu();	/* no write still setting a bit */
	}
	for (i = 0; i < nw; i++) {
		buf[i] = READ_ONCE(disk->bitmap[i]) ?
			xchg(&disk->bitmap[i], 0) : 0;
		taken += hweight_long(buf[i]);
	}
	atomic64_sub(taken, &disk->dirty);
	ferry_words_to_le(buf, nw);
	if (copy_to_user(u64_to_user_ptr(fd->bitmap), buf, bytes)) {
		ferry_words_to_le(buf, nw);	/* back to native */
		ferry_bits_restore(disk, buf, nw);
		ret = -EFAULT;
	}
	kvfree(buf);
	fd->granule = 1ULL << disk->granule_shift;
	fd->nbits = disk->nbits;
	fd->taken = ret ? 0 : taken;
	fd->mode = READ_ONCE(disk->mode);
	return ret;
}

/* Clean shutdown: writes from now on are bits only. */
void ferry_park(struct ferry_disk *disk)
{
	unsigned long flags;

	spin_lock_irqsave(&disk->mode_lock, flags);
	if (disk->mode != FERRY_MODE_BITMAP)
		ferry_mode_set(disk, FERRY_MODE_BITMAP);
	spin_unlock_irqrestore(&disk->mode_lock, flags);
}
