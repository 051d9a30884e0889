/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * ferry: block write capture for disaster recovery -- the userspace contract.
 *
 * This header is the one interface between ferry.ko and userspace (ferryd,
 * ferryctl, tests).  Everything here is versioned by FERRY_UAPI_VERSION;
 * changes are additive: a new ioctl or a new field carved out of reserved
 * space, never a changed meaning.  Reserved fields must be zero on input and
 * are rejected otherwise, so they can be given a meaning later.
 *
 * The ring
 * --------
 * One ring per machine, shared by all attached disks, so that its order is
 * one total order.  It is created by FERRY_IOC_RING_SETUP and lives until
 * FERRY_IOC_RING_TEARDOWN (or module unload), independent of any open file:
 * a crashed consumer loses nothing.  userspace maps it read-only:
 *
 *   mmap offset 0                 hdr_size                 hdr_size + data_size
 *   +--------------------------+--------------------------------------------+
 *   | struct ferry_ring_hdr    | records, each FERRY_REC_ALIGN aligned       |
 *   | (kernel-written)         | [ferry_rec][payload][pad] [ferry_rec] ...   |
 *   +--------------------------+--------------------------------------------+
 *
 * Positions are monotonic 64-bit byte counts; a record at position P lives at
 * data + (P & (data_size - 1)).  A record never wraps: when it does not fit
 * before the end, the producer writes a FERRY_OP_PAD record up to the end.
 *
 * Consuming: start at hdr->tail.  The record at position P is complete when
 * its 'pos' field, read with acquire semantics, equals P; the producer writes
 * 'pos' last, with release semantics.  Any other value means "not yet".
 * After the records up to position Q are durable elsewhere, userspace hands
 * Q back with FERRY_IOC_CONSUME; the kernel checks that Q lies on a record
 * boundary between tail and the producer's head, then frees the space.
 *
 * Records are in completion order: a write is recorded after the device
 * reported success and before the submitter is told, so 'seq' order is
 * consistent with the order in which writes completed, across all disks.
 * Fields are native-endian: the ring never leaves the machine.
 *
 * The producer publishes hdr->head before hdr->next_seq (both with release):
 * a reader that loads next_seq == S (acquire) and then head == H knows that
 * every record with seq < S lies before position H.  The agent uses this to
 * place data it re-reads from a disk at the right point of the stream.
 *
 * Degraded modes (per disk; FERRY_FEAT_METADATA, FERRY_FEAT_BITMAP)
 * --------------
 * The ring is split by how full it may get for each kind of record:
 *
 *   0                     data_size - data_size/8        data_size - 4096
 *   |<- records with payload ->|<- metadata-only records ->|<- markers ->|
 *
 * DATA      a write's payload goes into the ring.  When the payload does not
 *           fit below the data limit the disk turns to METADATA.
 * METADATA  writes are recorded without payload (FERRY_OP_WRITE with
 *           FERRY_REC_NODATA; discards and zeroes as themselves), 64 bytes
 *           each, up to the metadata limit.  The disk returns to DATA by
 *           itself once the ring is drained below a quarter of the data
 *           limit.  When a metadata record does not fit either, the write
 *           that found the ring full is recorded once more as a NODATA
 *           marker from the last 4096 bytes (one per disk), and the disk
 *           turns to BITMAP.  So every disk's bitmap episode is preceded in
 *           the stream by a NODATA record: the agent knows from the stream
 *           alone where write order stops being complete.
 * BITMAP    writes set bits in the disk's dirty bitmap (memory fixed at
 *           attach; bytes per bit in ferry_stats.bitmap_granule).  Only
 *           FERRY_IOC_FETCH_DIRTY leaves BITMAP mode (see there).
 *
 * Every transition counts in ferry_stats.mode_changes and in to_metadata or
 * to_bitmap.  A write that cannot be tracked at all (tracker pool empty, or
 * no marker room) sets FERRY_DISK_RESYNC: the agent must compare the whole
 * disk (hash-compare resync) and clears the flag first.
 */
#ifndef _UAPI_LINUX_FERRY_H
#define _UAPI_LINUX_FERRY_H

#include <linux/types.h>
#include <linux/ioctl.h>

#define FERRY_UAPI_VERSION	1
#define FERRY_DEVICE_PATH	"/dev/ferry"
#define FERRY_RING_MAGIC	0x59525246u	/* "FRRY" little-endian */
#define FERRY_REC_ALIGN		64u
#define FERRY_MAX_DISKS		64u

/* Ring header, at mmap offset 0.  Written by the kernel only. */
struct ferry_ring_hdr {
	__u32 magic;		/* FERRY_RING_MAGIC */
	__u32 version;		/* FERRY_UAPI_VERSION */
	__u32 hdr_size;		/* offset of the data area in the mapping */
	__u32 rec_align;	/* FERRY_REC_ALIGN */
	__u64 data_size;	/* bytes in the data area, a power of two */
	__u64 head;		/* producer: bytes reserved so far */
	__u64 tail;		/* consumer: bytes released so far */
	__u64 next_seq;		/* sequence number the next record gets */
	__u64 reserved[10];
};

/* ferry_rec.op */
enum ferry_op {
	FERRY_OP_PAD		= 0,	/* filler up to the end of the data area */
	FERRY_OP_WRITE		= 1,	/* payload follows unless FERRY_REC_NODATA */
	FERRY_OP_DISCARD	= 2,
	FERRY_OP_WRITE_ZEROES	= 3,
	FERRY_OP_SECURE_ERASE	= 4,
	FERRY_OP_FLUSH		= 5,	/* empty cache flush: an ordering point */
	FERRY_OP_DIRTY		= 6,	/* range to be re-read (resync), no payload */
};

/* ferry_rec.flags */
#define FERRY_REC_FUA		(1u << 0)	/* the write carried REQ_FUA */
#define FERRY_REC_PREFLUSH	(1u << 1)	/* the write carried REQ_PREFLUSH */
#define FERRY_REC_NODATA	(1u << 2)	/* metadata only, payload not captured */

/* One record in the ring.  Payload of 'len' bytes follows a WRITE record. */
struct ferry_rec {
	__u64 pos;		/* ring position of this record; written last */
	__u64 seq;		/* global sequence number, completion order */
	__u64 offset;		/* byte offset on the whole disk */
	__u64 time_ns;		/* completion time, CLOCK_REALTIME */
	__u32 len;		/* bytes affected on disk */
	__u32 size;		/* bytes this record takes in the ring */
	__u32 disk_id;		/* as returned by FERRY_IOC_ATTACH */
	__u32 crc;		/* crc32c (Castagnoli, seed ~0, final ~) of payload */
	__u16 op;		/* enum ferry_op */
	__u16 flags;		/* FERRY_REC_* */
	__u32 reserved[3];
};

/* FERRY_IOC_INFO: what this build is and supports. */
#define FERRY_FEAT_DATA_MODE	(1u << 0)
#define FERRY_FEAT_STACKED	(1u << 1)	/* captures writes via dm/md above */
#define FERRY_FEAT_EXCLUDE	(1u << 2)	/* FERRY_IOC_EXCLUDE available */
#define FERRY_FEAT_METADATA	(1u << 3)	/* metadata-mode fallback */
#define FERRY_FEAT_BITMAP	(1u << 4)	/* bitmap-mode fallback */

struct ferry_info {
	__u32 version;		/* out: FERRY_UAPI_VERSION */
	__u32 features;		/* out: FERRY_FEAT_* */
	__u64 ring_bytes;	/* out: data area size, 0 without a ring */
	__u32 max_disks;	/* out */
	__u32 nr_disks;		/* out: attached now */
	__u64 reserved[4];
};

/* FERRY_IOC_RING_SETUP: create the ring.  EBUSY if one exists. */
struct ferry_ring_setup {
	__u64 ring_bytes;	/* in: power of two; 0 = module parameter */
	__u32 flags;		/* in: must be 0 */
	__u32 hdr_size;		/* out: mmap offset of the data area */
	__u64 reserved[2];
};

/* FERRY_IOC_ATTACH: start capturing writes to a whole disk. */
struct ferry_attach {
	__u32 major;		/* in: device number of the whole disk */
	__u32 minor;
	__u32 flags;		/* in: must be 0 */
	__u32 disk_id;		/* out: id used in records, stats, detach */
	__u64 size_bytes;	/* out: disk capacity at attach time */
	__u32 lbs;		/* out: logical block size */
	__u32 reserved0;
	__u64 reserved[2];
};

/* FERRY_IOC_DETACH: stop capturing; in-flight writes are still recorded. */
struct ferry_detach {
	__u32 disk_id;		/* in */
	__u32 flags;		/* in: must be 0 */
	__u64 reserved[2];
};

/* FERRY_IOC_CONSUME: release ring space up to 'pos'. */
struct ferry_consume {
	__u64 pos;		/* in: new tail, on a record boundary */
	__u64 reserved[2];
};

/* FERRY_IOC_STATS: per-disk (disk_id) or global (FERRY_DISK_ALL). */
#define FERRY_DISK_ALL		0xffffffffu

/* ferry_stats.state bits */
#define FERRY_DISK_ATTACHED	(1u << 0)
#define FERRY_DISK_RESYNC	(1u << 1)	/* writes were lost: resync needed */
#define FERRY_DISK_GONE		(1u << 2)	/* device removed while attached */

/* ferry_stats.mode */
enum ferry_mode {
	FERRY_MODE_DATA		= 0,
	FERRY_MODE_METADATA	= 1,
	FERRY_MODE_BITMAP	= 2,
};

struct ferry_stats {
	__u32 disk_id;		/* in: disk or FERRY_DISK_ALL */
	__u32 state;		/* out: FERRY_DISK_* (0 for global) */
	__u32 major;		/* out */
	__u32 minor;
	__u32 mode;		/* out: enum ferry_mode */
	__u32 reserved0;
	__u64 records;		/* out: records written to the ring */
	__u64 bytes;		/* out: payload bytes written to the ring */
	__u64 drops;		/* out: writes not captured (ring full, no memory) */
	__u64 drop_bytes;	/* out */
	__u64 errors;		/* out: writes the device failed */
	__u64 inflight;		/* out: tracked writes not yet completed */
	__u64 ring_used;	/* out: head - tail, bytes */
	__u64 ring_size;	/* out */
	__u64 mode_changes;	/* out: transitions between modes */
	__u64 to_metadata;	/* out: data -> metadata transitions */
	__u64 to_bitmap;	/* out: metadata -> bitmap transitions */
	__u64 nodata_records;	/* out: writes recorded without payload */
	__u64 dirty_bits;	/* out: bits set in the dirty bitmap now */
	__u64 bitmap_granule;	/* out: disk bytes per bitmap bit */
	__u64 bitmap_bytes;	/* out: size of the bitmap (FETCH_DIRTY room) */
	__u64 reserved[1];
};

/* FERRY_IOC_LIST: attached disks. */
struct ferry_list_entry {
	__u32 disk_id;
	__u32 major;
	__u32 minor;
	__u32 state;
};

struct ferry_list {
	__u32 count;		/* in: entries room; out: entries filled */
	__u32 total;		/* out: attached disks */
	__u64 entries;		/* in: user pointer to ferry_list_entry[count] */
	__u64 reserved[2];
};

/*
 * FERRY_IOC_EXCLUDE: byte ranges of an attached disk whose writes are not
 * captured (the agent's own spool files, invariant 7).  Replaces the set.
 */
#define FERRY_MAX_EXCLUDE	1024u

struct ferry_extent {
	__u64 offset;		/* bytes, on the whole disk */
	__u64 len;
};

struct ferry_exclude {
	__u32 disk_id;		/* in */
	__u32 count;		/* in: <= FERRY_MAX_EXCLUDE, 0 clears */
	__u64 extents;		/* in: user pointer to ferry_extent[count] */
	__u64 reserved[2];
};

/* FERRY_IOC_CLEAR_RESYNC: the agent has repaired the disk. */
struct ferry_clear_resync {
	__u32 disk_id;
	__u32 flags;		/* must be 0 */
	__u64 reserved[2];
};

/*
 * FERRY_IOC_FETCH_DIRTY: take the dirty bitmap of a disk: every set bit is
 * copied out and cleared.  Bit i (byte i / 8, bit i % 8, LSB first) covers
 * disk bytes [i * granule, (i + 1) * granule), the last one up to the end.
 * Unless FERRY_FETCH_KEEP_MODE is given, a disk in BITMAP mode whose ring has
 * room (used below a quarter of the data limit) returns to DATA mode first,
 * and the kernel waits until no write can still set a bit from before that
 * switch, so the bits taken are all there are; with the flag (shutdown) the
 * disk stays in BITMAP mode.  If copying out fails, the bits are set again:
 * a fetch never loses a bit.  Ranges fetched must be re-read by the agent.
 */
#define FERRY_FETCH_KEEP_MODE	(1u << 0)

struct ferry_fetch_dirty {
	__u32 disk_id;		/* in */
	__u32 flags;		/* in: FERRY_FETCH_* */
	__u64 bitmap;		/* in: user pointer to 'bytes' bytes */
	__u64 bytes;		/* in: >= ferry_stats.bitmap_bytes, else EINVAL */
	__u64 granule;		/* out: disk bytes per bit */
	__u64 nbits;		/* out: bits in the bitmap */
	__u64 taken;		/* out: bits that were set (now clear) */
	__u32 mode;		/* out: enum ferry_mode after the fetch */
	__u32 reserved0;
	__u64 reserved[2];
};

/*
 * FERRY_IOC_PARK: turn the disk to BITMAP mode now (clean shutdown: the
 * agent drains the ring to its spool; writes from then on, until the file
 * systems are read-only, are only bits, which are saved at the very end).
 */
struct ferry_park {
	__u32 disk_id;		/* in */
	__u32 flags;		/* in: must be 0 */
	__u64 reserved[2];
};

#define FERRY_IOC_MAGIC		0xF7

#define FERRY_IOC_INFO		_IOR(FERRY_IOC_MAGIC, 0x00, struct ferry_info)
#define FERRY_IOC_RING_SETUP	_IOWR(FERRY_IOC_MAGIC, 0x01, struct ferry_ring_setup)
#define FERRY_IOC_RING_TEARDOWN	_IO(FERRY_IOC_MAGIC, 0x02)
#define FERRY_IOC_ATTACH	_IOWR(FERRY_IOC_MAGIC, 0x03, struct ferry_attach)
#define FERRY_IOC_DETACH	_IOW(FERRY_IOC_MAGIC, 0x04, struct ferry_detach)
#define FERRY_IOC_CONSUME	_IOW(FERRY_IOC_MAGIC, 0x05, struct ferry_consume)
#define FERRY_IOC_STATS		_IOWR(FERRY_IOC_MAGIC, 0x06, struct ferry_stats)
#define FERRY_IOC_LIST		_IOWR(FERRY_IOC_MAGIC, 0x07, struct ferry_list)
#define FERRY_IOC_EXCLUDE	_IOW(FERRY_IOC_MAGIC, 0x08, struct ferry_exclude)
#define FERRY_IOC_CLEAR_RESYNC	_IOW(FERRY_IOC_MAGIC, 0x09, struct ferry_clear_resync)
#define FERRY_IOC_FETCH_DIRTY	_IOWR(FERRY_IOC_MAGIC, 0x0a, struct ferry_fetch_dirty)
#define FERRY_IOC_PARK		_IOW(FERRY_IOC_MAGIC, 0x0b, struct ferry_park)

#endif /* _UAPI_LINUX_FERRY_H */
