/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The spool: a bounded, preallocated, crash-safe store of sealed .hrl
 * segments between the ring (drain.c) and the process server (ship.c).
 *
 *   spool.dir/
 *     meta              one 512-byte header + one 64-byte entry per slot
 *     slot-0000.hrl     slot files, each spool.segment_size bytes,
 *     slot-0001.hrl     fallocated and zero-filled at creation so that
 *     ...               later writes never change their extents
 *
 * A slot holds at most one segment, at offset 0.  Life of a slot:
 *
 *   FREE --spool_reserve--> (writer fills it, O_DIRECT + fdatasync)
 *        --spool_seal-----> SEALED (meta entry written + fdatasync)
 *        --spool_ack------> ACKED  (meta entry written + fdatasync) == FREE
 *
 * The meta entry of a slot is rewritten only inside its own 512-byte
 * sector and carries a crc32c, so a crash leaves it either old or new.
 * Ordering rules that make kill -9 at any instant safe:
 *  - segment bytes are durable before the entry that says SEALED is
 *    written, and the entry is durable before ring space is released;
 *    so a SEALED entry never points at a torn segment, and a segment
 *    whose entry is not SEALED is still wholly in the ring;
 *  - ACKED is written only after the server said the segment is durable
 *    (or, with ship=local, at once): recycling never loses unshipped data.
 * Each sealed segment gets a segment id (monotonic over the life of the
 * spool, persisted in its entry), which orders the spool and the upload.
 *
 * Locking: one mutex in struct spool protects all slot state, so the
 * drain thread and the shipper thread may call any function here.
 *
 * The shipper (ship.c, ship.h) is started by ferryd when ship = server:
 *   int ship_start(struct spool *sp, const struct ferryd_conf *conf);
 *   void ship_stop(void);    (after ferryd's stop flag is set)
 * It loops on spool_next_unacked() / upload / spool_ack(), sleeps on
 * spool_event_fd(), and reports with spool_set_ship_state().
 */
#ifndef FERRYD_SPOOL_H
#define FERRYD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spool;

/* ship= in ferryd.conf: what acknowledges a sealed segment. */
enum spool_ack_mode {
	SPOOL_ACK_NONE,		/* nobody: the spool fills, then drain stops */
	SPOOL_ACK_LOCAL,	/* at once: keeps only the newest, loses data */
	SPOOL_ACK_SERVER,	/* the process server, through ship.c */
};

struct spool_conf {
	const char *dir;	/* created if missing */
	uint64_t size;		/* total bytes of slot files */
	uint64_t seg_size;	/* bytes per slot; multiple of 4096 */
	enum spool_ack_mode ack_mode;
};

/* A sealed segment, as the shipper sees it. */
struct spool_seg {
	uint64_t id;		/* segment id: order of sealing, never reused */
	uint64_t start_seq;	/* the hrl header's start_seq and the */
	uint64_t end_seq;	/* trailer's end_seq (one past the last) */
	uint64_t bytes;		/* length of the segment, from offset 0 */
	uint64_t sealed_ns;	/* CLOCK_REALTIME when it became durable */
	uint64_t oldest_ns;	/* time_ns of its oldest record */
	uint32_t records;
	uint32_t slot;
	int fd;			/* read-only, owned by the spool; valid until
				 * spool_ack() of this id or spool_close() */
	char path[256];		/* the slot file, for tools (hrl verify) */
};

/* A slot handed to the writer by spool_reserve(). */
struct spool_slot {
	uint32_t slot;
	int fd;			/* O_RDWR | O_DIRECT; owned by the spool */
	uint64_t capacity;	/* == seg_size */
};

struct spool_stat {
	uint32_t nr_slots;
	uint32_t sealed;	/* slots holding unacknowledged segments */
	uint64_t size;		/* capacity, bytes */
	uint64_t used;		/* bytes of unacknowledged segments */
	uint64_t slot_used;	/* sealed * seg_size: what "full" counts */
	uint64_t oldest_ns;	/* time_ns of the oldest unacked record, 0 */
	uint64_t end_seq;	/* highest end_seq sealed so far */
	uint64_t sealed_total;	/* segments sealed since open */
	uint64_t acked_total;	/* segments acknowledged since open */
	uint64_t bytes_sealed;	/* segment bytes sealed since open */
	uint64_t full_since_ns;	/* when the spool became full, 0 if not */
	/* set by the shipper through spool_set_ship_state() */
	bool ship_ok;
	uint64_t ship_since_ns;	/* since when ship_ok has had its value */
	char ship_msg[128];	/* "server unreachable: ..." or "" */
	enum spool_ack_mode ack_mode;
};

/*
 * Open the spool in conf->dir, creating and preallocating it when absent.
 * An existing spool with a different geometry is refused (err says why);
 * sealed segments found in it are kept and their files checked.
 * 0 or -errno; on error err holds "spool DIR: reason".
 */
int spool_open(const struct spool_conf *conf, struct spool **out,
	       char *err, size_t errlen);
void spool_close(struct spool *sp);

/* Writer (drain) side. ------------------------------------------------- */

/*
 * The next free slot for a new segment, or -ENOSPC when every slot holds
 * an unacknowledged segment.  The caller writes the segment at offset 0
 * of slot->fd and makes it durable (fdatasync) before spool_seal().
 * At most one slot is reserved at a time.
 */
int spool_reserve(struct spool *sp, struct spool_slot *slot);

/* Give a reserved slot back unused. */
void spool_unreserve(struct spool *sp, struct spool_slot *slot);

/*
 * Record durably that the reserved slot now holds a complete segment.
 * seg->bytes, start_seq, end_seq, records and oldest_ns are read from
 * seg; id and sealed_ns are filled in.  Only after this returns 0 may the
 * ring space of those records be released.
 */
int spool_seal(struct spool *sp, const struct spool_slot *slot,
	       struct spool_seg *seg);

/* Convenience for tests and tools: reserve + pwrite + fdatasync + seal. */
int spool_append(struct spool *sp, const void *buf, size_t len,
		 struct spool_seg *seg);

/* Shipper side. -------------------------------------------------------- */

/*
 * The oldest sealed, unacknowledged segment with id > after (pass 0 to
 * start).  0 and *seg filled, or -ENOENT when there is none yet.
 */
int spool_next_unacked(struct spool *sp, uint64_t after, struct spool_seg *seg);

/*
 * The server holds segment id durably: free its slot.  Acks may come in
 * any order.  0, or -ENOENT for an id that is not sealed-and-unacked.
 */
int spool_ack(struct spool *sp, uint64_t id);

/*
 * An eventfd that becomes readable whenever a segment is sealed (for the
 * shipper) or acknowledged (for the writer); read it to rearm.
 */
int spool_event_fd(struct spool *sp);

/* What the shipper reports for `ferryctl status`. */
void spool_set_ship_state(struct spool *sp, bool ok, const char *msg);

/* State. --------------------------------------------------------------- */

void spool_get_stat(struct spool *sp, struct spool_stat *st);

/* At least half the slots hold unacknowledged segments. */
bool spool_half_full(struct spool *sp);

/*
 * The boot-state file (bootstate.c) lives beside the slots as
 * SPOOL_DIR/SPOOL_BOOTSTATE, preallocated and zero-filled like a slot so
 * that its extents never move, and excluded from capture with the spool.
 * spool_bootstate_open() makes it at least size bytes (a smaller or missing
 * file is replaced by a new one of that size) and returns an O_RDWR |
 * O_DIRECT fd, or -errno.
 */
#define SPOOL_BOOTSTATE		"bootstate"

int spool_bootstate_open(struct spool *sp, uint64_t size);

/*
 * Every file of the spool (meta, slots, and the boot-state file when it
 * exists), for FIEMAP exclusion.
 * Calls fn(path, fd, arg) for each; stops at and returns a nonzero return.
 */
int spool_for_each_file(struct spool *sp,
			int (*fn)(const char *path, int fd, void *arg),
			void *arg);

const char *spool_ack_mode_name(enum spool_ack_mode mode);
int spool_ack_mode_parse(const char *s, enum spool_ack_mode *mode);

#endif /* FERRYD_SPOOL_H */
