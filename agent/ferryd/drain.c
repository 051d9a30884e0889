// SPDX-License-Identifier: GPL-2.0
/*
 * The drain loop.  Ordering, which is the whole point (invariant 1):
 *
 *   ring records [tail, end_pos)  --copy-->  segment buffer (hrl writer)
 *   segment buffer  --O_DIRECT write + fdatasync-->  reserved spool slot
 *   spool_seal()    (meta entry durable: the spool now owns the records)
 *   consume(end_pos)  (only now may the kernel reuse the ring space)
 *
 * A kill -9 anywhere leaves either the records in the ring (not consumed)
 * or a sealed segment, or both (crash between seal and consume): after a
 * restart the drain starts again at the ring's tail and writes those
 * records a second time, which the hrl sequence numbers make harmless.
 *
 * A segment is sealed when it is full, when its oldest record has waited
 * seal_ms, when the ring is half full, when it holds the last chunk of an
 * initial copy, or at shutdown.  While a segment is
 * open the ring is re-checked every poll_ms; with nothing open the loop
 * sleeps in POLL_ADD on the ring's fd.  A full spool stops draining: the
 * ring fills and the kernel degrades (drops, resync flag); the loop waits
 * for spool_ack() to free a slot.
 *
 * Re-read chunks (resync.h).  A chunk read after loading S = next_seq and
 * H = head goes into the stream after every ring record with seq < S and
 * before every one with seq >= S:
 *
 *   before ring record r is added: every chunk with S <= r.seq is added
 *     first, waiting for its read if need be;
 *   a chunk whose read is done is added as soon as every record with
 *     seq < S has been taken: the reader is at H or beyond, or the last
 *     record taken had seq S - 1 (seqs are consecutive in ring order).
 *
 * Chunks are added in the order their reads started (their S never goes
 * down).  Reads share the io_uring with the segment writes; they start
 * only while the ring and the spool are less than half full, so that
 * re-reading never crowds out the ring, and again as soon as added chunks
 * free their slots: the loop never sleeps with slots idle and a disk left
 * to read (chunks of zeros fill no segment, so no seal would wake it).
 *
 * The resync window: from the segment holding the first metadata-only
 * record or chunk, segments carry HRL_SEG_RESYNC, until nothing is queued
 * or being read and tick() holds nothing (disk modes, dirty bits, flags).
 * An open unflagged segment is sealed before the first such record goes
 * in; when the window closes with nothing to write, an empty unflagged
 * segment tells the server so.  A stop with nothing left in the window
 * closes it the same way: the next run may have nothing to re-read.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <ferry/uring_probe.h>

#include "drain.h"

#define SEG_ALIGN	4096u
#define IDLE_WAIT_NS	(1000ull * 1000 * 1000)
#define FULL_WAIT_MS	200

enum { UD_POLL = 1, UD_WRITE, UD_FSYNC, UD_READ = 64 /* + slot */ };

/* HRL_RESYNC_ZERO once the format library accepts it */
#define HAVE_RESYNC_ZERO	(HRL_KIND_MAX >= HRL_RESYNC_ZERO)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

int drain_init(struct drain *d, struct ring_src *rs, struct spool *sp,
	       uint64_t seal_ms, uint64_t poll_ms, char *why, size_t len)
{
	struct ferry_uring_caps caps;
	struct spool_stat sst;
	char lack[100] = "";
	uint32_t used = 0;
	int r;

	d->rs = rs;
	d->sp = sp;
	d->seal_ns = seal_ms * 1000000ull;
	d->poll_ns = poll_ms * 1000000ull;
	pthread_mutex_init(&d->lock, NULL);
	spool_get_stat(sp, &sst);
	d->seg_size = sst.size / sst.nr_slots;
	d->chain_seq = sst.end_seq;
	if (posix_memalign(&d->bufs[0], SEG_ALIGN, d->seg_size) ||
	    posix_memalign(&d->bufs[1], SEG_ALIGN, d->seg_size)) {
		snprintf(why, len, "segment buffer of %llu bytes: out of memory",
			 (unsigned long long)d->seg_size);
		return -ENOMEM;
	}
	d->cur = 0;
	d->buf = d->bufs[0];
	if (d->rsync)	/* a chunk and its record headers fit a segment */
		resync_set_max_block(d->rsync, d->seg_size / 4);
	d->st.pos = d->st.consumed = ring_reader_pos(rs->rd);
	d->end_pos = d->st.pos;	/* a segment of chunks only releases nothing */

	/* FERRYD_IO=sync: the fallback path on purpose (tests, diagnosis) */
	if (getenv("FERRYD_IO") && !strcmp(getenv("FERRYD_IO"), "sync"))
		r = -ENOSYS;
	else
		r = ferry_uring_probe(&caps);
	if (!r)
		r = ferry_uring_check_required(&caps, lack, sizeof(lack));
	if (!r)
		r = ferry_uring_queue_init(&d->uring, 64, 0, &caps, "ferryd",
					   &used);
	d->use_uring = !r;
	d->st.uring = d->use_uring;
	if (d->use_uring)
		snprintf(d->st.io, sizeof(d->st.io),
			 "io_uring: POLL_ADD on the ring, O_DIRECT WRITE linked to FSYNC(DATASYNC)");
	else
		snprintf(d->st.io, sizeof(d->st.io),
			 "io_uring unusable (%.100s): poll(2), pwrite(2), fdatasync(2)",
			 r == -EOPNOTSUPP ? lack : r == -ENOSYS ?
			 "FERRYD_IO=sync" : strerror(-r));
	return 0;
}

void drain_fini(struct drain *d)
{
	if (d->use_uring)
		io_uring_queue_exit(&d->uring);
	free(d->bufs[0]);
	free(d->bufs[1]);
	d->buf = d->bufs[0] = d->bufs[1] = NULL;
	pthread_mutex_destroy(&d->lock);
}

void drain_get_stat(struct drain *d, struct drain_stat *st)
{
	pthread_mutex_lock(&d->lock);
	*st = d->st;
	pthread_mutex_unlock(&d->lock);
}

static bool have_disk(const struct drain *d, uint32_t id)
{
	unsigned int i;

	for (i = 0; i < d->nr_disks; i++)
		if (d->disks[i].id == id)
			return true;
	return false;
}

/* The header's disk list: what is attached now, plus the record's disk. */
static void refresh_disks(struct drain *d, uint32_t need)
{
	int n = d->rs->disks(d->rs, d->disks, HRL_MAX_DISKS);

	d->nr_disks = n > 0 ? n : 0;
	if (need != HRL_DISK_ALL && !have_disk(d, need) &&
	    d->nr_disks < HRL_MAX_DISKS) {
		/* detached since: its records still belong in the stream */
		memset(&d->disks[d->nr_disks], 0, sizeof(d->disks[0]));
		d->disks[d->nr_disks++].id = need;
	}
}

static bool window_needed(struct drain *d)
{
	return d->want_window || d->hold ||
	       (d->rsync && resync_busy(d->rsync));
}

/* A segment for a first record with seq, time_ns, disk (or HRL_DISK_ALL). */
static int seg_open(struct drain *d, uint64_t seq, uint64_t time_ns,
		    uint32_t disk, char *why, size_t len)
{
	struct hrl_seg_info info;
	bool was = d->st.window;
	int r;

	memset(&info, 0, sizeof(info));
	memcpy(info.machine_id, d->machine_id, sizeof(info.machine_id));
	for (unsigned int i = 0; i < sizeof(info.segment_id); i++)
		info.segment_id[i] = random();
	info.created_ns = time_ns;
	/* chain on the previous segment unless the ring goes back before it
	 * (records rewritten after a crash) */
	info.start_seq = d->chain_seq && d->chain_seq <= seq ?
			 d->chain_seq : seq;
	d->seg_flagged = window_needed(d);
	d->want_window = false;
	info.flags = d->seg_flagged ? HRL_SEG_RESYNC : 0;
	refresh_disks(d, disk);
	info.nr_disks = d->nr_disks;
	memcpy(info.disks, d->disks, d->nr_disks * sizeof(d->disks[0]));
	r = hrl_writer_init(&d->w, d->buf, d->seg_size, &info);
	if (r) {
		snprintf(why, len, "segment of %llu bytes: cannot start: %s",
			 (unsigned long long)d->seg_size, strerror(-r));
		return r;
	}
	d->open = true;
	d->seg_no++;
	d->opened_mono = mono_ns();
	d->oldest_ns = time_ns;
	pthread_mutex_lock(&d->lock);
	d->st.window = d->seg_flagged;
	if (d->seg_flagged && !was)
		d->st.windows++;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

static bool rec_nodata(const struct ferry_rec *fr)
{
	return fr->op == FERRY_OP_DIRTY ||
	       (fr->op == FERRY_OP_WRITE && (fr->flags & FERRY_REC_NODATA));
}

/* 0 added, -ENOSPC seal first, other -errno fatal. */
static int seg_add(struct drain *d, const struct ferry_rec *fr,
		   char *why, size_t len)
{
	bool nodata = rec_nodata(fr);
	struct hrl_rec hr;
	void *payload;
	int r;

	if (nodata) {
		if (d->open && !d->seg_flagged)
			return -ENOSPC;	/* the window opens in a new segment */
		if (!d->open)
			d->want_window = true;
	}
	if (!d->open) {
		r = seg_open(d, fr->seq + d->seq_base, fr->time_ns,
			     fr->disk_id, why, len);
		if (r)
			return r;
	} else if (!have_disk(d, fr->disk_id)) {
		return -ENOSPC;		/* new disk: a new header */
	}
	if (!have_disk(d, fr->disk_id)) {
		snprintf(why, len, "ring record seq %llu: disk %u does not fit in a segment header of %u disks",
			 (unsigned long long)fr->seq, fr->disk_id,
			 HRL_MAX_DISKS);
		return -E2BIG;
	}
	r = hrl_rec_from_ferry(&hr, fr);
	if (r) {
		snprintf(why, len, "ring record seq %llu: op %u cannot be logged",
			 (unsigned long long)fr->seq, fr->op);
		return -EBADMSG;
	}
	hr.seq += d->seq_base;
	r = hrl_writer_reserve(&d->w, &hr, &payload);
	if (r == -ENOSPC && !hrl_writer_records(&d->w)) {
		snprintf(why, len,
			 "ring record seq %llu: %u bytes do not fit in a segment of %llu (raise spool.segment_size)",
			 (unsigned long long)fr->seq, hr.payload_len,
			 (unsigned long long)d->seg_size);
		return -EFBIG;
	}
	if (r == -ENOSPC)
		return r;
	if (r) {
		snprintf(why, len, "ring record seq %llu: refused by the segment writer: %s",
			 (unsigned long long)fr->seq,
			 d->w.error[0] ? d->w.error : strerror(-r));
		return r;
	}
	if (hr.payload_len)
		memcpy(payload, fr + 1, hr.payload_len);
	r = hrl_writer_commit_crc(&d->w, fr->crc);
	if (r || !nodata)
		return r;
	if (!d->rsync)
		d->want_window = true;	/* nothing re-reads: stays open */
	pthread_mutex_lock(&d->lock);
	d->st.metadata_records++;
	pthread_mutex_unlock(&d->lock);
	/* its data was not captured: read it back (a disk resync does not
	 * know, attached by someone else, is left to hash-compare) */
	if (d->rsync && fr->len)
		resync_queue(d->rsync, fr->disk_id, fr->offset, fr->len,
			     RESYNC_METADATA);
	return 0;
}

/* ---- re-read chunks --------------------------------------------------- */

/* 0 added, 1 seal first, -errno fatal. */
static int chunk_add(struct drain *d, struct resync_chunk *c, char *why,
		     size_t len)
{
	struct resync_piece *p;
	struct hrl_rec hr;
	int r;

	if (c->res < 0) {
		resync_added(d->rsync, c, d->seg_no);	/* queued again */
		return 0;
	}
	if (d->open && (!d->seg_flagged || !have_disk(d, c->kid)))
		return 1;
	if (!d->open) {
		d->want_window = true;
		r = seg_open(d, c->seq + d->seq_base, c->time_ns, c->kid, why,
			     len);
		if (r)
			return r;
	}
	for (; c->added < c->nr_pieces; c->added++) {
		p = &c->pieces[c->added];
		if (p->skip)
			continue;	/* the spool's own blocks */
		memset(&hr, 0, sizeof(hr));
		hr.seq = c->seq + d->seq_base;
		hr.offset = c->offset + p->off;
		hr.time_ns = c->time_ns;
		hr.len = p->len;
		hr.disk_id = c->kid;
		hr.kind = p->zero && HAVE_RESYNC_ZERO ? HRL_RESYNC_ZERO :
			  HRL_RESYNC;
		r = hrl_writer_add(&d->w, &hr, hr.kind == HRL_RESYNC ?
				   (uint8_t *)c->buf + p->off : NULL);
		if (r == -ENOSPC && hrl_writer_records(&d->w))
			return 1;
		if (r) {
			snprintf(why, len, "resync chunk of disk %u at %llu (%u bytes, seq %llu): refused by the segment writer: %s",
				 c->kid, (unsigned long long)hr.offset, hr.len,
				 (unsigned long long)c->seq,
				 d->w.error[0] ? d->w.error : strerror(-r));
			return r;
		}
		pthread_mutex_lock(&d->lock);
		d->st.resync_records++;
		pthread_mutex_unlock(&d->lock);
	}
	resync_added(d->rsync, c, d->seg_no);
	return 0;
}

/* A completion of a chunk read, or of something else. */
static void handle_cqe(struct drain *d, const struct io_uring_cqe *cqe);

/* Wait until chunk c's read has completed. */
static int chunk_wait(struct drain *d, struct resync_chunk *c)
{
	struct io_uring_cqe *cqe;
	int r;

	while (!c->done) {
		r = io_uring_wait_cqe(&d->uring, &cqe);
		if (r == -EINTR)
			continue;
		if (r)
			return r;
		handle_cqe(d, cqe);
		io_uring_cqe_seen(&d->uring, cqe);
	}
	return 0;
}

/*
 * Add the chunks that must or may go in now: with seq_limit, every chunk
 * with S <= seq_limit (the next ring record's seq), waiting for reads;
 * then every chunk already read whose records before it are all taken
 * (pos: the ring position up to which records are in the segment).
 * 0, 1 seal first, -errno.
 */
static int chunks_add(struct drain *d, uint64_t seq_limit, uint64_t pos,
		      char *why, size_t len)
{
	struct resync_chunk *c;
	int r;

	if (!d->rsync)
		return 0;
	while ((c = resync_oldest(d->rsync))) {
		if (c->seq <= seq_limit) {
			r = chunk_wait(d, c);
			if (r) {
				snprintf(why, len, "io_uring: %s", strerror(-r));
				return r;
			}
		} else if (!c->done || (d->taken_next < c->seq &&
					pos < c->head)) {
			return 0;
		}
		r = chunk_add(d, c, why, len);
		if (r)
			return r;
	}
	return 0;
}

/* Start reads while the ring and the spool have room to spare. */
static void chunks_issue(struct drain *d)
{
	const struct ferry_ring_hdr *h = d->rs->rd->hdr;
	uint64_t used;

	if (!d->rsync || d->finished || spool_half_full(d->sp))
		return;
	used = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE) -
	       __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);
	if (used >= h->data_size / 2)
		return;
	if (resync_issue(d->rsync, h, d->use_uring ? &d->uring : NULL,
			 UD_READ) > 0 && d->use_uring)
		io_uring_submit(&d->uring);
}

/*
 * Copy published records into the open segment.  Returns 1 when it must
 * be sealed now (full, or a header change), 0 when the ring ran dry,
 * -errno on a bad record.
 */
static int collect(struct drain *d, char *why, size_t len)
{
	struct ring_reader *rd = d->rs->rd;
	const struct ferry_rec *fr;
	uint64_t before;
	int r;

	for (;;) {
		before = rd->pos;
		r = chunks_add(d, 0, before, why, len);
		if (r)
			break;
		r = ring_reader_next(rd, &fr);
		if (r < 0) {
			snprintf(why, len, "ring at %llu: %s",
				 (unsigned long long)before,
				 r == -ESTALE ? "released by another consumer" :
				 "inconsistent record header");
			break;
		}
		if (!r)
			break;
		r = chunks_add(d, fr->seq, before, why, len);
		if (!r)
			r = seg_add(d, fr, why, len);
		if (r == -ENOSPC || r == 1) {
			rd->pos = before;	/* read it again for the next one */
			r = 1;
			break;
		}
		if (r)
			break;
		d->taken_next = fr->seq + 1;
		d->end_pos = ring_reader_pos(rd);
	}
	pthread_mutex_lock(&d->lock);
	d->st.pos = rd->pos;
	d->st.open_oldest_ns = d->open ? d->oldest_ns : 0;
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* A completion: the in-flight segment's write or fsync, or the poll. */
static void handle_cqe(struct drain *d, const struct io_uring_cqe *cqe)
{
	struct drain_flight *f = &d->flight;

	switch (cqe->user_data) {
	case UD_POLL:
		d->poll_armed = false;
		if (d->rs->woken)
			d->rs->woken(d->rs);
		break;
	case UD_WRITE:
		f->res_write = cqe->res;
		f->cqes++;
		break;
	case UD_FSYNC:
		f->res_fsync = cqe->res;
		f->cqes++;
		break;
	default:
		if (cqe->user_data >= UD_READ && d->rsync)
			resync_complete(d->rsync, cqe->user_data - UD_READ,
					cqe->res);
		break;
	}
}

/* Take what has completed; with wait, until the flight is done. */
static int reap(struct drain *d, bool wait)
{
	struct io_uring_cqe *cqe;
	int r;

	for (;;) {
		if (wait && d->flight.cqes < 2)
			r = io_uring_wait_cqe(&d->uring, &cqe);
		else
			r = io_uring_peek_cqe(&d->uring, &cqe);
		if (r == -EINTR)
			continue;
		if (r == -EAGAIN)
			return 0;
		if (r)
			return r;
		handle_cqe(d, cqe);
		io_uring_cqe_seen(&d->uring, cqe);
	}
}

/*
 * Start the durable write of buffer buf (len bytes) at offset 0 of fd:
 * O_DIRECT WRITE linked to FSYNC(DATASYNC).  Without io_uring it is done
 * before this returns.
 */
static int submit_write(struct drain *d, int fd, void *buf, size_t len)
{
	struct drain_flight *f = &d->flight;
	struct io_uring_sqe *sqe;
	int r;

	f->cqes = 0;
	f->res_write = f->res_fsync = 0;
	if (!d->use_uring) {
		ssize_t n = pwrite(fd, buf, len, 0);

		f->res_write = n < 0 ? -errno : (int)n;
		f->res_fsync = n == (ssize_t)len && fdatasync(fd) ? -errno : 0;
		f->cqes = 2;
		return 0;
	}
	sqe = io_uring_get_sqe(&d->uring);
	io_uring_prep_write(sqe, fd, buf, len, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = UD_WRITE;
	sqe = io_uring_get_sqe(&d->uring);
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	sqe->user_data = UD_FSYNC;
	r = io_uring_submit(&d->uring);
	return r < 0 ? r : 0;
}

static void set_full(struct drain *d, bool full)
{
	pthread_mutex_lock(&d->lock);
	if (full && !d->st.spool_full)
		d->st.full_waits++;
	d->st.spool_full = full;
	pthread_mutex_unlock(&d->lock);
}

/*
 * Has the in-flight segment's write and fsync completed?  With wait,
 * blocks until they have.  1 done (and written), 0 not yet, -errno when
 * the write or fsync failed.
 */
static int flight_done(struct drain *d, bool wait, char *why, size_t len)
{
	struct drain_flight *f = &d->flight;
	int r;

	if (!f->busy)
		return 0;
	if (d->use_uring) {
		r = reap(d, wait);
		if (r) {
			snprintf(why, len, "io_uring: %s", strerror(-r));
			return r;
		}
	}
	if (f->cqes < 2)
		return 0;
	r = f->res_write != (int)f->seg.bytes ?
	    (f->res_write < 0 ? f->res_write : -EIO) : f->res_fsync;
	if (r) {
		snprintf(why, len, "spool slot %u: write: %s", f->slot.slot,
			 strerror(-r));
		return r;
	}
	return 1;
}

/* A durable segment: spool_seal() it, then release its ring space. */
static int flight_seal(struct drain *d, struct drain_flight *f, char *why,
		       size_t len)
{
	int r;

	r = spool_seal(d->sp, &f->slot, &f->seg);
	if (r) {
		spool_unreserve(d->sp, &f->slot);
		snprintf(why, len, "spool slot %u: seal: %s", f->slot.slot,
			 strerror(-r));
		return r;
	}
	if (d->rsync)
		resync_sealed(d->rsync, f->seg_no);
	r = d->rs->consume(d->rs, f->end_pos);
	if (r) {
		snprintf(why, len, "ring: release up to %llu: %s",
			 (unsigned long long)f->end_pos, strerror(-r));
		return r;
	}
	pthread_mutex_lock(&d->lock);
	d->st.records += f->seg.records;
	d->st.bytes += f->payload_bytes;
	d->st.segments++;
	d->st.seg_bytes += f->seg.bytes;
	d->st.consumed = f->end_pos;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/* Seal the in-flight segment once durable (with wait, block until). */
static int land_flight(struct drain *d, bool wait, char *why, size_t len)
{
	int r = flight_done(d, wait, why, len);

	if (r <= 0)
		return r;
	d->flight.busy = false;
	return flight_seal(d, &d->flight, why, len);
}

/* Start the durable write of the finished segment into slot. */
static int flight_start(struct drain *d, const struct spool_slot *slot,
			char *why, size_t len)
{
	struct drain_flight *f = &d->flight;
	int r;

	memset(&f->seg, 0, sizeof(f->seg));
	f->seg.bytes = d->seg_len;
	f->seg.start_seq = d->w.start_seq;
	f->seg.end_seq = d->end.end_seq;
	f->seg.records = d->end.records;
	f->seg.oldest_ns = d->oldest_ns;
	f->payload_bytes = d->end.payload_bytes;
	f->end_pos = d->end_pos;
	f->seg_no = d->seg_no;
	f->slot = *slot;
	r = submit_write(d, slot->fd, d->buf, d->seg_len);
	if (r) {
		snprintf(why, len, "spool slot %u: submit: %s", slot->slot,
			 strerror(-r));
		return r;
	}
	f->busy = true;
	d->last_flagged = d->seg_flagged;
	d->chain_seq = d->end.end_seq;
	d->open = d->finished = false;
	/* the next segment goes into the other buffer */
	d->cur ^= 1;
	d->buf = d->bufs[d->cur];
	pthread_mutex_lock(&d->lock);
	d->st.open_oldest_ns = 0;
	pthread_mutex_unlock(&d->lock);
	return 0;
}

/*
 * Seal the open segment: finish it, wait until the previous one is
 * durable, start this one's write, and only then record the previous one
 * in the spool (its meta flush overlaps this write) and release its ring
 * space; the next segment fills the freed buffer meanwhile.  0 done,
 * -ENOSPC spool full (the segment stays finished in its buffer), other
 * -errno fatal.
 */
static int seal(struct drain *d, char *why, size_t len)
{
	struct drain_flight prev = d->flight;
	struct spool_slot slot;
	int r;

	if (!d->finished) {
		r = hrl_writer_finish(&d->w, &d->seg_len, &d->end);
		if (r) {
			snprintf(why, len, "segment: cannot finish: %s",
				 strerror(-r));
			return r;
		}
		d->finished = true;
	}
	r = flight_done(d, true, why, len);
	if (r < 0)
		return r;
	prev = d->flight;
	d->flight.busy = false;
	r = spool_reserve(d->sp, &slot);
	if (!r)
		r = flight_start(d, &slot, why, len);
	if (r && r != -ENOSPC)
		spool_unreserve(d->sp, &slot);
	set_full(d, r == -ENOSPC);
	if (prev.busy) {
		int r2 = flight_seal(d, &prev, why, len);

		if (r2)
			return r2;
	}
	if (r)
		return r;
	return d->use_uring ? 0 : land_flight(d, true, why, len);
}

static bool ring_half_full(const struct drain *d)
{
	const struct ferry_ring_hdr *h = d->rs->rd->hdr;
	uint64_t head = __atomic_load_n(&h->head, __ATOMIC_ACQUIRE);
	uint64_t tail = __atomic_load_n(&h->tail, __ATOMIC_ACQUIRE);

	return head - tail >= h->data_size / 2;
}

/* Release ring space taken only by PAD records, with no segment open. */
static int consume_pads(struct drain *d)
{
	uint64_t pos = d->st.pos;
	int r;

	if (d->open || d->finished || pos == d->st.consumed)
		return 0;
	r = d->rs->consume(d->rs, pos);
	if (!r) {
		pthread_mutex_lock(&d->lock);
		d->st.consumed = pos;
		pthread_mutex_unlock(&d->lock);
	}
	return r;
}

/* Sleep until the ring may have news: POLL_ADD (or poll(2)), bounded. */
static void wait_ring(struct drain *d, uint64_t ns)
{
	struct __kernel_timespec ts = { .tv_sec = ns / 1000000000ull,
					.tv_nsec = ns % 1000000000ull };
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;

	if (d->rs->poll_fd < 0) {
		struct timespec t = { d->poll_ns / 1000000000ull,
				      d->poll_ns % 1000000000ull };

		if (ns < d->poll_ns)
			t = (struct timespec){ ns / 1000000000ull,
					       ns % 1000000000ull };
		nanosleep(&t, NULL);	/* a source without wakeups */
		return;
	}
	if (!d->use_uring) {
		struct pollfd pfd = { .fd = d->rs->poll_fd, .events = POLLIN };

		if (poll(&pfd, 1, (ns + 999999) / 1000000) > 0 && d->rs->woken)
			d->rs->woken(d->rs);
		return;
	}
	if (!d->poll_armed) {
		sqe = io_uring_get_sqe(&d->uring);
		io_uring_prep_poll_add(sqe, d->rs->poll_fd, POLLIN);
		sqe->user_data = UD_POLL;
		d->poll_armed = true;
	}
	if (!io_uring_submit_and_wait_timeout(&d->uring, &cqe, 1, &ts, NULL)) {
		handle_cqe(d, cqe);
		io_uring_cqe_seen(&d->uring, cqe);
	}
}

/* Kernel state (modes, dirty bits, flags) at the pace tick() asks for. */
static void tick(struct drain *d)
{
	uint64_t now;

	if (!d->rs->tick)
		return;
	now = mono_ns();
	if (now < d->tick_next)
		return;
	d->tick_next = now + d->rs->tick(d->rs, &d->hold) * 1000000ull;
}

/* The window closed with nothing to write: an empty unflagged segment. */
static int close_window(struct drain *d, char *why, size_t len)
{
	struct timespec ts;
	int r;

	clock_gettime(CLOCK_REALTIME, &ts);
	r = seg_open(d, d->chain_seq, (uint64_t)ts.tv_sec * 1000000000ull +
		     ts.tv_nsec, HRL_DISK_ALL, why, len);
	return r ? r : seal(d, why, len);
}

/* How long the idle loop may sleep: until the next tick at the latest. */
static uint64_t idle_wait(const struct drain *d)
{
	uint64_t now = mono_ns();

	if (!d->rs->tick || d->tick_next <= now)
		return d->rs->tick ? d->poll_ns : IDLE_WAIT_NS;
	return d->tick_next - now < IDLE_WAIT_NS ? d->tick_next - now :
						   IDLE_WAIT_NS;
}

static int step(struct drain *d, char *why, size_t len)
{
	uint64_t now, wait;
	int r;

	if (d->finished)
		return seal(d, why, len);
	r = land_flight(d, false, why, len);
	if (!r && d->use_uring)
		r = reap(d, false);	/* chunk reads, when nothing flies */
	if (r)
		return r;
	tick(d);
	chunks_issue(d);
	r = collect(d, why, len);
	if (r < 0)
		return r;
	if (r == 1)
		return seal(d, why, len);
	/* the slots of the chunks just added read on while this sleeps */
	chunks_issue(d);
	if (!d->open) {
		/* idle: nothing may wait in flight while we sleep */
		r = land_flight(d, true, why, len);
		if (!r)
			r = consume_pads(d);
		if (r)
			return r;
		if (d->rsync && resync_oldest(d->rsync)) {
			wait_ring(d, d->poll_ns);	/* reads complete */
			return 0;
		}
		if (d->last_flagged && !window_needed(d))
			return close_window(d, why, len);
		if (d->exit_when_idle &&
		    !(d->rsync && resync_busy(d->rsync))) {
			*d->stop = 1;
			return 0;
		}
		wait_ring(d, idle_wait(d));
		return 0;
	}
	now = mono_ns();
	if (ring_half_full(d) || (d->rsync && resync_seal_wanted(d->rsync)))
		return seal(d, why, len);
	if (now - d->opened_mono >= d->seal_ns) {
		if (!spool_half_full(d->sp))
			return seal(d, why, len);
		/* nothing ships: fill slots, the ring keeps the records */
		wait_ring(d, idle_wait(d));
		return 0;
	}
	/* sleep until more records come or the segment is due */
	wait = d->opened_mono + d->seal_ns - now;
	if (d->rsync && resync_oldest(d->rsync) && wait > d->poll_ns)
		wait = d->poll_ns;
	wait_ring(d, wait);
	return 0;
}

static void wait_spool(struct drain *d)
{
	struct pollfd pfd = { .fd = spool_event_fd(d->sp), .events = POLLIN };
	uint64_t v;

	if (poll(&pfd, 1, FULL_WAIT_MS) > 0 &&
	    read(pfd.fd, &v, sizeof(v)) < 0) {
		/* raced with another reader: nothing to rearm */
	}
}

int drain_run(struct drain *d, char *why, size_t len)
{
	int r = 0;

	while (!*d->stop) {
		r = step(d, why, len);
		if (r == -ENOSPC) {
			wait_spool(d);
			r = 0;
			continue;
		}
		if (r)
			return r;
	}
	/* shutdown: what is open goes to the spool if there is room */
	if (d->open || d->finished) {
		r = seal(d, why, len);
		if (r == -ENOSPC)
			r = 0;	/* the ring still holds it */
	}
	if (!r)
		r = land_flight(d, true, why, len);
	/* a window with nothing left in it closes now: the next run may have
	 * nothing to re-read, and no segment of its own to close it with */
	if (!r && d->last_flagged && !d->open && !d->finished &&
	    !window_needed(d)) {
		r = close_window(d, why, len);
		if (!r)
			r = land_flight(d, true, why, len);
		else if (r == -ENOSPC)
			r = 0;	/* stays open until the next run's first segment */
	}
	return r;
}
