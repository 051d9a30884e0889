/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hrl: ferry's change-log segment format (.hrl) -- writer, streaming reader,
 * apply.  The format itself is specified in docs/hrl-format.md; this header
 * is the library that agent (ferryd, ferryctl), server (ferry-ps) and the
 * hrl tool share.  Summary of one segment (all integers little-endian):
 *
 *   0        32          32+hdr_pb_len          hdr_size (multiple of 4096)
 *   +--------+---------------------+-- zeros --+
 *   | prefix | SegmentHeader (pb)  |           |  "FERRYHRL", version, crc
 *   +--------+---------------------+-----------+
 *   | rec hdr (64) | payload | zero pad to 64 |  ... one per record
 *   +--------------+---------+----------------+
 *   | zeros ...                  | trailer (64) |  trailer ends the segment
 *   +----------------------------+--------------+  on a 4096 boundary
 *
 * Integrity: each record header carries crc32c of its payload and a crc32c
 * of itself (seeded with the segment header's crc, so a record cannot be
 * spliced in from another segment); the trailer carries the record count,
 * the sequence range and a chain crc over every record, which makes a torn
 * or truncated segment detectable.  Every padding byte must be zero.
 *
 * Sequence numbers are the ring's global, per-machine numbers.  A segment
 * covers positions [start_seq, end_seq); segments of a machine chain
 * (next.start_seq == prev.end_seq).  Applying skips what the replica
 * already has, so applying a segment twice changes nothing.
 */
#ifndef FERRY_HRL_H
#define FERRY_HRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define HRL_VERSION		1u
#define HRL_BLOCK		4096u	/* segment sizes and header area */
#define HRL_REC_ALIGN		64u	/* record and payload alignment */
#define HRL_REC_HDR_SIZE	64u
#define HRL_TRAILER_SIZE	64u
#define HRL_MAX_DISKS		64u	/* == FERRY_MAX_DISKS */
#define HRL_MAX_HDR_SIZE	(64u * 1024)
#define HRL_MAX_PAYLOAD		(64u << 20)	/* one record's payload */
#define HRL_MAX_TAG_NAME	255u	/* bytes, UTF-8 */
#define HRL_MAX_TAG_PAYLOAD	1024u	/* encoded ConsistencyTag */
#define HRL_DISK_ALL		0xffffffffu	/* disk_id of machine-wide records */

/* Record kinds (hrl_rec.kind).  Values are part of the file format. */
enum hrl_kind {
	HRL_WRITE	= 1,	/* payload: the 'len' bytes written at 'offset' */
	HRL_METADATA	= 2,	/* range written, data not captured: resync it */
	HRL_DISCARD	= 3,	/* range discarded (or secure-erased): zeros */
	HRL_WRITE_ZEROES = 4,	/* range zeroed */
	HRL_TAG		= 5,	/* consistency tag: a named recovery point */
	HRL_RESYNC	= 6,	/* payload: data read back from the disk */
	HRL_FLUSH	= 7,	/* cache flush: an ordering point, no range */
	HRL_RESYNC_ZERO	= 8,	/* resync of a range read back as all zeros */
	HRL_KIND_MAX	= HRL_RESYNC_ZERO,
};

/* Record flags (hrl_rec.flags), copied from the ring's FERRY_REC_*. */
#define HRL_REC_FUA		(1u << 0)
#define HRL_REC_PREFLUSH	(1u << 1)
#define HRL_REC_FLAGS_ALL	(HRL_REC_FUA | HRL_REC_PREFLUSH)

/* Segment flags (hrl_seg_info.flags). */
/*
 * The segment lies in a resync window: it holds metadata-only records or
 * resync chunks, or write order is not complete in it because ranges are
 * still being re-read.  No recovery point inside it or at its end.
 */
#define HRL_SEG_RESYNC		(1u << 0)
#define HRL_SEG_FLAGS_ALL	HRL_SEG_RESYNC

struct hrl_disk {
	uint32_t id;		/* ring disk_id */
	uint8_t uuid[16];	/* identity of the disk; all zero if unknown */
	uint64_t size_bytes;
	uint32_t lbs;		/* logical block size */
};

/* What a segment header says (decoded from the SegmentHeader message). */
struct hrl_seg_info {
	uint8_t machine_id[16];
	uint8_t segment_id[16];	/* unique per segment (random uuid) */
	uint64_t created_ns;	/* CLOCK_REALTIME */
	uint64_t start_seq;	/* every record has seq >= start_seq */
	uint32_t flags;		/* HRL_SEG_* */
	uint32_t nr_disks;	/* records may only name these disks */
	struct hrl_disk disks[HRL_MAX_DISKS];
};

/* What a segment trailer says. */
struct hrl_seg_end {
	uint64_t records;
	uint64_t first_seq;	/* lowest record seq (start_seq if none) */
	uint64_t end_seq;	/* one past the last data-changing record */
	uint64_t seg_bytes;	/* whole segment, trailer included */
	uint64_t payload_bytes;
};

/*
 * One record, native-endian.  Writer input: seq, offset, time_ns, len,
 * disk_id, kind, flags (payload_len is derived: len for WRITE/RESYNC, 0 for
 * range kinds, RESYNC_ZERO included; tags use hrl_writer_add_tag()).
 * Reader output: every field.
 */
struct hrl_rec {
	uint64_t seq;
	uint64_t offset;	/* bytes on the whole disk */
	uint64_t time_ns;	/* completion time, CLOCK_REALTIME */
	uint32_t len;		/* bytes affected on disk */
	uint32_t disk_id;
	uint16_t kind;		/* enum hrl_kind */
	uint16_t flags;		/* HRL_REC_* */
	uint32_t payload_len;
	uint32_t data_crc;	/* crc32c(0, payload, payload_len) */
	uint64_t index;		/* reader: 0-based record number */
	uint64_t seg_offset;	/* reader: offset of the record in the segment */
};

/* A consistency tag: the payload of an HRL_TAG record. */
struct hrl_tag {
	uint64_t id;
	uint64_t time_ns;
	uint32_t flags;
	char name[HRL_MAX_TAG_NAME + 1];
};

/* Where and why a segment is bad. */
struct hrl_error {
	int code;		/* -EBADMSG corrupt, -EPIPE truncated, -EIO ... */
	uint64_t offset;	/* byte offset in the segment */
	int64_t record;		/* record index, -1 for header or trailer */
	char reason[160];
};

/* "record 12 at offset 8192: crc mismatch" (or "header: ..."). */
const char *hrl_strerror(const struct hrl_error *err, char *buf, size_t len);

const char *hrl_kind_name(unsigned int kind);	/* "write", ... or NULL */

/* Bytes a record with payload_len bytes of payload takes in a segment. */
static inline size_t hrl_rec_size(uint32_t payload_len)
{
	return HRL_REC_HDR_SIZE +
	       (((size_t)payload_len + HRL_REC_ALIGN - 1) & ~(size_t)(HRL_REC_ALIGN - 1));
}

struct ferry_rec;
/*
 * Fill *rec from a ring record (kmod/include/uapi/ferry.h): WRITE ->
 * HRL_WRITE (HRL_METADATA with FERRY_REC_NODATA), DISCARD and SECURE_ERASE
 * -> HRL_DISCARD, WRITE_ZEROES, FLUSH, DIRTY -> HRL_METADATA.  data_crc
 * gets the ring's payload crc (for hrl_writer_commit_crc()).  Returns 0,
 * or -EINVAL for FERRY_OP_PAD and unknown ops.
 */
int hrl_rec_from_ferry(struct hrl_rec *rec, const struct ferry_rec *fr);

/* Records that change the replica and advance the stream position. */
static inline bool hrl_kind_consumes_seq(unsigned int kind)
{
	return kind == HRL_WRITE || kind == HRL_METADATA ||
	       kind == HRL_DISCARD || kind == HRL_WRITE_ZEROES;
}

/* ------------------------------------------------------------------ */
/* Writer: builds one segment in a caller-provided buffer.            */
/* ------------------------------------------------------------------ */

/* Fields are private to lib/hrl_writer.c: use the functions. */
struct hrl_writer {
	uint8_t *buf;
	size_t cap;		/* multiple of HRL_BLOCK */
	size_t pos;		/* end of the last record */
	size_t resv;		/* reserved record's offset, or 0 */
	uint32_t seg_crc;	/* header crc: seeds record crcs */
	uint32_t chain;		/* chain crc over record header crcs */
	uint64_t records;
	uint64_t first_seq;
	uint64_t next_seq;	/* end_seq so far */
	uint64_t last_seq;	/* seq of the last record */
	uint64_t payload_bytes;
	uint64_t start_seq;
	struct hrl_rec resv_rec;	/* the reserved record */
	uint32_t seg_flags;
	uint32_t nr_disks;
	uint32_t disk_ids[HRL_MAX_DISKS];
	bool finished;
	char error[128];	/* why the last add or reserve was -EINVAL */
};

/*
 * Start a segment in buf[0..cap).  cap must be a multiple of HRL_BLOCK and
 * leave room for the header and one trailer block; buf needs no particular
 * alignment for the library (O_DIRECT writers use 4096-aligned buffers).
 * Writes the header now.  Returns 0, -EINVAL (bad info or cap) or -ENOSPC.
 */
int hrl_writer_init(struct hrl_writer *w, void *buf, size_t cap,
		    const struct hrl_seg_info *info);

/*
 * Append a record.  payload holds rec->len bytes for HRL_WRITE and
 * HRL_RESYNC and is ignored (may be NULL) for the other kinds.  Returns 0;
 * -ENOSPC when the record does not fit (close this segment with
 * hrl_writer_finish() and add it to the next one; the writer is unchanged);
 * -EINVAL when the record breaks the rules of docs/hrl-format.md (unknown
 * kind or flag, disk not in the header, seq out of order, len 0, ...);
 * w->error then says which.
 */
int hrl_writer_add(struct hrl_writer *w, const struct hrl_rec *rec,
		   const void *payload);

/* As hrl_writer_add() with the payload gathered from iov (total rec->len). */
int hrl_writer_addv(struct hrl_writer *w, const struct hrl_rec *rec,
		    const struct iovec *iov, int iovcnt);

/*
 * Zero-copy form: reserve a record with room for rec->len payload bytes,
 * fill *payload, then commit.  hrl_writer_commit() computes the payload
 * crc; hrl_writer_commit_crc() takes one the caller already has (the ring's
 * ferry_rec.crc), which the reader verifies.  Nothing else may be called
 * on the writer between reserve and commit; a reservation that is not
 * committed is dropped by the next reserve/add/finish.
 */
int hrl_writer_reserve(struct hrl_writer *w, const struct hrl_rec *rec,
		       void **payload);
int hrl_writer_commit(struct hrl_writer *w);
int hrl_writer_commit_crc(struct hrl_writer *w, uint32_t data_crc);

/* Append an HRL_TAG record (machine-wide: disk_id HRL_DISK_ALL). */
int hrl_writer_add_tag(struct hrl_writer *w, uint64_t seq,
		       const struct hrl_tag *tag);

/* Largest payload a record added now can carry (0 if none fits). */
size_t hrl_writer_room(const struct hrl_writer *w);

/* Records added so far. */
static inline uint64_t hrl_writer_records(const struct hrl_writer *w)
{
	return w->records;
}

/*
 * Close the segment: zero padding and the trailer, so that the segment
 * ends on an HRL_BLOCK boundary.  *bytes gets the segment length; write
 * buf[0..*bytes).  end (optional) gets what the trailer says; its end_seq
 * is the start_seq of the next segment.  Returns 0 or -EINVAL.
 */
int hrl_writer_finish(struct hrl_writer *w, size_t *bytes,
		      struct hrl_seg_end *end);

/* ------------------------------------------------------------------ */
/* Reader: validates as it goes, over a buffer, an fd, or pushed data. */
/* ------------------------------------------------------------------ */

enum hrl_next {
	HRL_NEXT_MORE	= 0,	/* push mode: feed more with hrl_reader_push() */
	HRL_NEXT_RECORD	= 1,	/* *rec and *payload filled */
	HRL_NEXT_END	= 2,	/* trailer read: the segment is complete */
};

/* Fields are private to lib/hrl_reader.c: use the functions. */
struct hrl_reader {
	/* input window: data not yet parsed is win[woff..wlen) */
	const uint8_t *win;
	size_t wlen;
	size_t woff;
	uint8_t *own;		/* reader's buffer (fd and push modes) */
	size_t own_cap;
	int fd;			/* fd mode, else -1 */
	const uint8_t *ext;	/* push mode: rest of the caller's chunk */
	size_t ext_len;
	bool eof;		/* no more input will come */
	bool have_info;		/* header decoded */
	int state;
	uint64_t off;		/* segment offset of win[woff] */
	uint64_t records;
	uint64_t next_seq;	/* stream position (consuming records) */
	uint64_t first_seq;
	uint64_t max_seq;
	uint64_t payload_bytes;
	uint32_t seg_crc;
	uint32_t chain;
	uint32_t hdr_size;
	struct hrl_seg_info info;
	struct hrl_seg_end end;
	struct hrl_error err;
};

/* Read a segment held in memory; payload pointers point into buf. */
void hrl_reader_init_buf(struct hrl_reader *r, const void *buf, size_t len);

/*
 * Read a segment from fd (from its current position) in chunks; memory is
 * bounded by one record (<= HRL_MAX_PAYLOAD).  Returns 0 or -ENOMEM.
 */
int hrl_reader_init_fd(struct hrl_reader *r, int fd);

/*
 * Push mode: the caller feeds bytes as they arrive, in chunks of any size,
 * with hrl_reader_push(); hrl_reader_next() returns HRL_NEXT_MORE when it
 * needs more, and the caller calls hrl_reader_push_eof() at end of input.
 * A pushed chunk must stay valid until hrl_reader_next() returns
 * HRL_NEXT_MORE (records are handed out from it without a copy); the
 * reader copies only an incomplete tail.  push returns 0 or -ENOMEM.
 */
void hrl_reader_init_push(struct hrl_reader *r);
int hrl_reader_push(struct hrl_reader *r, const void *data, size_t len);
void hrl_reader_push_eof(struct hrl_reader *r);

/*
 * Next record.  Returns an enum hrl_next value or a negative errno with
 * hrl_reader_error() saying where and why: -EBADMSG corrupt, -EPIPE
 * truncated or torn (input ended early, or zeros where a record or the
 * trailer should be), -EIO read error.  Errors are sticky.  *payload (NULL
 * for kinds without one) stays valid until the next call.  The header is
 * parsed on the first call; HRL_NEXT_END means the trailer matched.  Bytes
 * after the segment's end are not read: see hrl_reader_consumed().
 */
int hrl_reader_next(struct hrl_reader *r, struct hrl_rec *rec,
		    const void **payload);

/* Valid once the header was decoded, even if a record later failed. */
const struct hrl_seg_info *hrl_reader_info(const struct hrl_reader *r);
/* Valid once hrl_reader_next() returned HRL_NEXT_END (NULL before). */
const struct hrl_seg_end *hrl_reader_end(const struct hrl_reader *r);
const struct hrl_error *hrl_reader_error(const struct hrl_reader *r);
/* Segment bytes parsed so far (== seg_bytes after HRL_NEXT_END). */
uint64_t hrl_reader_consumed(const struct hrl_reader *r);
void hrl_reader_free(struct hrl_reader *r);

/* Decode an HRL_TAG payload.  0 or -EBADMSG. */
int hrl_tag_decode(const void *payload, size_t len, struct hrl_tag *tag);

/*
 * Verify the whole segment in fd from offset 0 (from where it is, for a
 * pipe): every record, the trailer, and that the file ends where the
 * segment does.  info/end optional.
 * Returns 0, or a negative errno with *err filled.
 */
int hrl_verify_fd(int fd, struct hrl_seg_info *info, struct hrl_seg_end *end,
		  struct hrl_error *err);

/* ------------------------------------------------------------------ */
/* Apply: write records to replica images, idempotently, in order.    */
/* ------------------------------------------------------------------ */

/* hrl_apply.flags */
#define HRL_APPLY_ALLOW_GAP	(1u << 0)	/* accept start_seq > pos */
#define HRL_APPLY_WRITE_ZEROS	(1u << 1)	/* never punch holes */

struct hrl_apply {
	/* fd of the replica image of disk_id, or -errno (e.g. -ENOENT) */
	int (*image_fd)(void *ctx, uint32_t disk_id);
	/* optional: a range the replica cannot get from the stream
	 * (HRL_METADATA, or a resync chunk older than the replica) */
	void (*dirty)(void *ctx, const struct hrl_rec *rec);
	void *ctx;
	unsigned int flags;
	/*
	 * Stream position: every data-changing record with seq < pos is in
	 * the replica.  The caller persists it with the replica.  When
	 * have_pos is false, the first segment's start_seq is adopted.
	 */
	uint64_t pos;
	bool have_pos;
	/* counters, added to */
	uint64_t applied;	/* records applied */
	uint64_t skipped;	/* records already in the replica */
	uint64_t dirtied;	/* ranges passed to dirty() */
	uint64_t tags;
	uint64_t bytes;		/* payload bytes written */
	/*
	 * Resync chunks (HRL_RESYNC, HRL_RESYNC_ZERO) received, written or
	 * not: resync_bytes is what they cost in the stream (payload plus
	 * the 64-byte record header each), split into resync_data_bytes
	 * (payloads) and resync_zero_bytes (ranges of zero chunks).
	 * resync_diff_bytes: bytes of the 4 KiB blocks that differed from
	 * the image when a chunk was applied (only those are written).
	 */
	uint64_t resync_bytes;
	uint64_t resync_data_bytes;
	uint64_t resync_zero_bytes;
	uint64_t resync_diff_bytes;
	/* last tag seen (a recovery point: all records with seq < its seq) */
	struct hrl_tag last_tag;
	uint64_t last_tag_seq;
};

/*
 * Apply one record (already validated by a reader) with pwrite (WRITE,
 * RESYNC) or as a zero range (DISCARD, WRITE_ZEROES, RESYNC_ZERO:
 * fallocate punch hole, falling back to zero range, then to writing
 * zeros).  A resync chunk is compared with the image 4 KiB block by block
 * and only the blocks that differ are written.  A record with seq < pos
 * is skipped (a resync chunk there is reported to dirty(), never
 * written); otherwise it is applied and a data-changing record sets
 * pos = seq + 1.  Returns 0 or -errno.
 */
int hrl_apply_record(struct hrl_apply *a, const struct hrl_rec *rec,
		     const void *payload);

/*
 * Verify the segment file fd completely, then apply it.  A segment whose
 * end_seq <= pos is skipped whole (a duplicate); a segment whose
 * start_seq > pos is refused with -ERANGE (an earlier segment is missing)
 * unless HRL_APPLY_ALLOW_GAP.  Nothing is applied from a corrupt segment.
 * Images are not synced: call fdatasync() on them before persisting pos.
 * Returns 0 or -errno with *err filled.
 */
int hrl_apply_fd(struct hrl_apply *a, int fd, struct hrl_error *err);

#endif /* FERRY_HRL_H */
