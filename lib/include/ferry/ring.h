/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ring: the userspace side of ferry.ko's capture ring (<ferry.h> has the
 * layout and protocol).  Two layers:
 *
 *   ring_reader_*   walks records in any mapping of a ring (the kernel's,
 *                   or the producer compiled into tests), validating every
 *                   header field before it is believed
 *   ferry_dev_*     /dev/ferry: open, set the ring up, map it read-only,
 *                   wait with poll(), consume, attach/detach, list, stats
 *
 * Reading does not free anything: after the records up to ring_reader_pos()
 * are durable elsewhere, hand that position to ferry_dev_consume().
 */
#ifndef FERRY_RING_READER_H
#define FERRY_RING_READER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <ferry.h>

struct ring_reader {
	const struct ferry_ring_hdr *hdr;
	const uint8_t *data;
	uint64_t size;		/* data area bytes, a power of two */
	uint64_t pos;		/* next record to read */
};

/*
 * Check the header of the mapping map[0..len) (magic, version, alignment,
 * sizes) and start reading at the ring's tail.  0 or -EPROTO (not a ferry
 * ring or another version) or -EINVAL (len too short).
 */
int ring_reader_init(struct ring_reader *r, const void *map, size_t len);

/*
 * Next committed record: 1 with *rec set (PAD records are skipped), 0 when
 * none is committed yet, -EBADMSG when a header is inconsistent, -ESTALE
 * when the tail moved past pos (another consumer released it).  The record
 * stays valid until its space is consumed.
 */
int ring_reader_next(struct ring_reader *r, const struct ferry_rec **rec);

/* Ring position after the last record returned: a valid consume point. */
static inline uint64_t ring_reader_pos(const struct ring_reader *r)
{
	return r->pos;
}

static inline const void *ring_rec_payload(const struct ferry_rec *rec)
{
	return rec + 1;
}

/* Payload bytes that follow rec in the ring. */
static inline uint32_t ring_rec_payload_len(const struct ferry_rec *rec)
{
	return rec->op == FERRY_OP_WRITE && !(rec->flags & FERRY_REC_NODATA) ?
		rec->len : 0;
}

/* 0 when the payload matches rec->crc, else -EBADMSG. */
int ring_rec_verify(const struct ferry_rec *rec);

/* ---- /dev/ferry ---------------------------------------------------- */

struct ferry_dev {
	int fd;
	void *map;
	size_t map_len;
	struct ring_reader rd;
};

/*
 * Open path (NULL: FERRY_DEVICE_PATH), create the ring with ring_bytes
 * (0: the module's ring_mb) unless it exists, map it read-only and start a
 * reader at its tail.  0 or -errno.
 */
int ferry_dev_open(struct ferry_dev *d, const char *path, uint64_t ring_bytes);
void ferry_dev_close(struct ferry_dev *d);

/* poll() for new records; 1 readable, 0 timeout, -errno. */
int ferry_dev_wait(struct ferry_dev *d, int timeout_ms);

int ferry_dev_consume(struct ferry_dev *d, uint64_t pos);
/* Attach the whole disk dev; *at gets id, size and logical block size. */
int ferry_dev_attach(struct ferry_dev *d, dev_t dev, struct ferry_attach *at);
int ferry_dev_detach(struct ferry_dev *d, uint32_t disk_id);
int ferry_dev_stats(struct ferry_dev *d, uint32_t disk_id,
		    struct ferry_stats *st);
/* Attached disks into e[0..max); returns how many exist (may be > max). */
int ferry_dev_list(struct ferry_dev *d, struct ferry_list_entry *e,
		   unsigned int max);

/*
 * Take disk_id's dirty bitmap into bitmap[0..bytes) (bytes >=
 * ferry_stats.bitmap_bytes), clearing it in the kernel; flags
 * FERRY_FETCH_*.  *out (optional) gets granule, nbits, taken and mode.
 * 0, or -ENOENT (no such disk), -EINVAL (bytes too small, bad flags),
 * -EFAULT, -ENOTTY (a ferry.ko without FERRY_FEAT_BITMAP).
 */
int ferry_dev_fetch_dirty(struct ferry_dev *d, uint32_t disk_id,
			  uint32_t flags, void *bitmap, uint64_t bytes,
			  struct ferry_fetch_dirty *out);
/* Turn disk_id to BITMAP mode now (clean shutdown).  0, -ENOENT, -ENOTTY. */
int ferry_dev_park(struct ferry_dev *d, uint32_t disk_id);
/* The agent repaired disk_id: clear FERRY_DISK_RESYNC.  0, -ENOENT. */
int ferry_dev_clear_resync(struct ferry_dev *d, uint32_t disk_id);
/* What an error of the three above means, for a message. */
const char *ferry_dev_ioc_strerror(int err);

#endif /* FERRY_RING_READER_H */
