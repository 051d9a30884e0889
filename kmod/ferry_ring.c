// SPDX-License-Identifier: GPL-2.0
/*
 * ferry: ring producer, shared between ferry.ko and the userspace tests.
 * See ferry_ring.h for the protocol and <ferry.h> for the layout.
 */
#ifdef __KERNEL__
#include <linux/errno.h>
#include <linux/string.h>
#include <asm/barrier.h>
#endif
#include "ferry_ring.h"

static struct ferry_rec *ferry_ring_at(struct ferry_ring *ring, u64 pos)
{
	return (struct ferry_rec *)(ring->data + (pos & (ring->size - 1)));
}

/* mem: hdr_size bytes of header, then data_size bytes of data, zeroed. */
void ferry_ring_init(struct ferry_ring *ring, void *mem, u32 hdr_size,
		     u64 data_size)
{
	struct ferry_ring_hdr *hdr = mem;

	spin_lock_init(&ring->lock);
	ring->hdr = hdr;
	ring->data = (u8 *)mem + hdr_size;
	ring->size = data_size;
	ring->head = 0;
	ring->tail = 0;
	ring->next_seq = 1;

	hdr->magic = FERRY_RING_MAGIC;
	hdr->version = FERRY_UAPI_VERSION;
	hdr->hdr_size = hdr_size;
	hdr->rec_align = FERRY_REC_ALIGN;
	hdr->data_size = data_size;
	hdr->head = 0;
	hdr->tail = 0;
	WRITE_ONCE(hdr->next_seq, ring->next_seq);
}

/* Fill [pos, pos + len) up to the end of the data area.  Under ring->lock. */
static void ferry_ring_write_pad(struct ferry_ring *ring, u64 pos, u64 len)
{
	struct ferry_rec *pad = ferry_ring_at(ring, pos);

	memset((u8 *)pad + sizeof(pad->pos), 0,
	       sizeof(*pad) - sizeof(pad->pos));
	pad->size = (u32)len;
	pad->op = FERRY_OP_PAD;
	smp_store_release(&pad->pos, pos);
}

/*
 * Reserve a record with 'payload' bytes after its header, provided the ring
 * then holds at most 'limit' bytes (a PAD before it included).  Never
 * waits: -ENOSPC when the ring lacks room now, -E2BIG when it never could.
 */
int ferry_ring_reserve(struct ferry_ring *ring, u64 payload, u64 limit,
		       struct ferry_ring_counts *counts,
		       struct ferry_ring_res *res)
{
	unsigned long flags;
	u64 need, pad, pos, off;
	struct ferry_rec *rec;

	if (limit > ring->size)
		limit = ring->size;
	if (limit < sizeof(struct ferry_rec) ||
	    payload > limit - sizeof(struct ferry_rec))
		return -E2BIG;
	need = ferry_rec_size(payload);
	if (need > limit)
		return -E2BIG;

	spin_lock_irqsave(&ring->lock, flags);
	pos = ring->head;
	off = pos & (ring->size - 1);
	pad = off + need > ring->size ? ring->size - off : 0;
	if (pos + pad + need - ring->tail > limit) {
		spin_unlock_irqrestore(&ring->lock, flags);
		return -ENOSPC;
	}
	if (pad) {
		ferry_ring_write_pad(ring, pos, pad);
		pos += pad;
	}
	rec = ferry_ring_at(ring, pos);
	WRITE_ONCE(rec->pos, FERRY_POS_BUSY);
	rec->size = (u32)need;
	res->rec = rec;
	res->pos = pos;
	res->seq = ring->next_seq++;
	WRITE_ONCE(ring->head, pos + need);
	if (counts) {
		counts->records++;
		counts->bytes += payload;
	}
	/* head first: see the protocol in ferry_ring.h and <ferry.h> */
	smp_store_release(&ring->hdr->head, ring->head);
	smp_store_release(&ring->hdr->next_seq, ring->next_seq);
	spin_unlock_irqrestore(&ring->lock, flags);
	return 0;
}

/* Publish a filled reservation: pos is written last, with release. */
void ferry_ring_commit(const struct ferry_ring_res *res)
{
	res->rec->seq = res->seq;
	smp_store_release(&res->rec->pos, res->pos);
}

/*
 * Release the space before 'pos'.  pos comes from userspace: it must lie
 * between tail and head and be reached from tail by stepping over committed
 * records.  Concurrent consumers are refused with -EBUSY, never corrupt.
 */
int ferry_ring_consume(struct ferry_ring *ring, u64 pos)
{
	unsigned long flags;
	u64 tail, head, p;

	spin_lock_irqsave(&ring->lock, flags);
	tail = ring->tail;
	head = ring->head;
	spin_unlock_irqrestore(&ring->lock, flags);

	if (pos < tail || pos > head)
		return -EINVAL;
	for (p = tail; p < pos; ) {
		struct ferry_rec *rec = ferry_ring_at(ring, p);
		u64 size;

		if (smp_load_acquire(&rec->pos) != p)
			return -EINVAL;		/* not committed yet */
		size = READ_ONCE(rec->size);
		if (size < sizeof(*rec) || size % FERRY_REC_ALIGN ||
		    size > pos - p)
			return -EINVAL;		/* pos inside a record */
		p += size;
	}

	spin_lock_irqsave(&ring->lock, flags);
	if (ring->tail != tail) {
		spin_unlock_irqrestore(&ring->lock, flags);
		return -EBUSY;
	}
	WRITE_ONCE(ring->tail, pos);
	smp_store_release(&ring->hdr->tail, pos);
	spin_unlock_irqrestore(&ring->lock, flags);
	return 0;
}

u64 ferry_ring_used(struct ferry_ring *ring)
{
	unsigned long flags;
	u64 used;

	spin_lock_irqsave(&ring->lock, flags);
	used = ring->head - ring->tail;
	spin_unlock_irqrestore(&ring->lock, flags);
	return used;
}
