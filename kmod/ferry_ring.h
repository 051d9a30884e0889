/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferry: the ring producer (reserve, pad, commit, validated consume).
 *
 * The same code runs in ferry.ko and, compiled against
 * tests/integration/kshim.h, in userspace integration tests.  It therefore
 * uses only: u8..u64, spinlock_t with spin_lock_irqsave(), READ_ONCE(),
 * WRITE_ONCE(), smp_store_release(), smp_load_acquire() and errno values.
 *
 * Layout and protocol are those of <ferry.h>.  In short:
 *
 *   head (reserved)  ------------------------------------------->
 *   tail (consumed)  ------->
 *   | consumed | committed or reserved records | free           |
 *              ^tail                           ^head
 *
 *   reserve (under ring->lock): refused unless the ring, with the record
 *     (and a PAD before it), stays within the caller's limit; maybe a PAD
 *     record up to the end of the data area (written completely, pos
 *     released), then rec->pos = FERRY_POS_BUSY, seq = next_seq++,
 *     head += size; hdr->head is released, then hdr->next_seq: a reader that
 *     sees head > P finds at P either BUSY or the committed record, and one
 *     that loads next_seq == S and then head == H knows every record with
 *     seq < S lies before H.
 *
 *   limits (bytes of the data area a reservation may leave used):
 *
 *     0              size - size/8        size - 4096        size
 *     |<- payload records ->|<- metadata only ->|<- markers ->|
 *       ferry_ring_data_limit  ferry_ring_meta_limit   ring->size
 *   commit (no lock): header fields and payload, then smp_store_release of
 *     rec->pos = P.  Records may commit out of order; readers stop at the
 *     first uncommitted one, so they always see a prefix in seq order.
 *   consume (no lock while walking): the new tail must be a record boundary
 *     between tail and head reached by walking committed records only.
 */
#ifndef FERRY_RING_H
#define FERRY_RING_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/spinlock.h>
#endif
#include <ferry.h>

/* rec->pos of a reserved record not yet committed; never a valid position. */
#define FERRY_POS_BUSY		(~0ULL)

struct ferry_ring {
	struct ferry_ring_hdr *hdr;	/* shared header page */
	u8 *data;			/* data area, 'size' bytes */
	u64 size;			/* power of two */
	/*
	 * lock: protects head, tail, next_seq and their copies in *hdr, the
	 * ferry_ring_counts handed to ferry_ring_reserve(), and PAD records.
	 * Taken from any context, including hard interrupts.
	 */
	spinlock_t lock;
	u64 head;			/* also read without the lock (READ_ONCE) */
	u64 tail;
	u64 next_seq;
};

/* Per-disk counters, updated under ring->lock by a successful reserve. */
struct ferry_ring_counts {
	u64 records;
	u64 bytes;
};

/* A reservation: fill *rec (all but pos) and the payload, then commit. */
struct ferry_ring_res {
	struct ferry_rec *rec;
	u64 pos;
	u64 seq;
};

static inline u64 ferry_rec_size(u64 payload)
{
	return sizeof(struct ferry_rec) +
		((payload + FERRY_REC_ALIGN - 1) & ~(u64)(FERRY_REC_ALIGN - 1));
}

static inline void *ferry_rec_payload(struct ferry_rec *rec)
{
	return rec + 1;
}

/* Records with a payload may fill the ring up to here. */
static inline u64 ferry_ring_data_limit(const struct ferry_ring *ring)
{
	return ring->size - ring->size / 8;
}

/* Metadata-only records up to here; the last 4096 bytes are for markers. */
static inline u64 ferry_ring_meta_limit(const struct ferry_ring *ring)
{
	return ring->size - 4096;
}

/*
 * Used below a quarter of the data limit: a disk in metadata mode returns
 * to data mode.  Lockless, so only a hint; every use tolerates a stale view.
 */
static inline int ferry_ring_roomy(const struct ferry_ring *ring)
{
	return READ_ONCE(ring->head) - READ_ONCE(ring->tail) <
		ferry_ring_data_limit(ring) / 4;
}

void ferry_ring_init(struct ferry_ring *ring, void *mem, u32 hdr_size,
		     u64 data_size);
int ferry_ring_reserve(struct ferry_ring *ring, u64 payload, u64 limit,
		       struct ferry_ring_counts *counts,
		       struct ferry_ring_res *res);
void ferry_ring_commit(const struct ferry_ring_res *res);
int ferry_ring_consume(struct ferry_ring *ring, u64 pos);
u64 ferry_ring_used(struct ferry_ring *ring);

#endif /* FERRY_RING_H */
