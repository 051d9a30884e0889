// SPDX-License-Identifier: GPL-2.0
/*
 * PUT /v1/machines/{id}/segments: receive one .hrl segment.
 *
 * The body is streamed in 1 MiB chunks to DATA/machines/<id>/tmp/ while
 * the hrl push reader validates it (header, every record crc, the chain
 * crc in the trailer).  Only a complete, valid segment whose machine id is
 * the certificate's and whose range continues the stored chain is kept:
 * fsync(file), rename into segments/, fsync(segments/), and only then the
 * 201 acknowledgement.  Idempotent: a segment whose range is already
 * stored answers 200 with duplicate=true and changes nothing.  A partial
 * upload (disconnect, server crash) leaves only a temp file, discarded;
 * the agent sends the segment again.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/rand.h>

#include "conn.h"
#include "ps.pb-c.h"

#define CHUNK	(1u << 20)

struct upload {
	struct ps_conn *c;
	struct ps_machine *m;
	struct hrl_reader r;
	const struct hrl_seg_info *info;
	uint64_t records;
	char tmp[64];
	int fd;
	bool direct;		/* fd is O_DIRECT */
	bool counted;		/* in m->inflight */
};

static int reply_ack(struct ps_conn *c, const struct hrl_seg_end *end,
		     uint64_t start, bool dup, int status)
{
	Ferry__Ps__SegmentAck ack = FERRY__PS__SEGMENT_ACK__INIT;
	uint8_t buf[128];
	size_t len;

	ack.first_seq = start;
	ack.last_seq = end->end_seq;
	ack.duplicate = dup;
	ack.bytes = end->seg_bytes;
	ack.records = end->records;
	len = ferry__ps__segment_ack__pack(&ack, buf);
	return ps_conn_reply(c, status, "application/x-protobuf", buf, len);
}

static bool machine_matches(const struct hrl_seg_info *info, const char *id)
{
	char hex[33];
	int i;

	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", info->machine_id[i]);
	return !strcmp(hex, id);
}

/* Drain the reader; 1 at the trailer, 0 when it needs more, <0 on error. */
static int parse(struct upload *u)
{
	struct hrl_rec rec;
	const void *payload;
	char msg[256];
	int rc;

	for (;;) {
		rc = hrl_reader_next(&u->r, &rec, &payload);
		if (rc < 0) {
			hrl_strerror(hrl_reader_error(&u->r), msg, sizeof(msg));
			return ps_conn_error(u->c, 422, "machine %s: segment "
					     "rejected: %s", u->m->id, msg);
		}
		if (rc == HRL_NEXT_MORE)
			return 0;
		if (!u->info) {
			u->info = hrl_reader_info(&u->r);
			if (!machine_matches(u->info, u->m->id))
				return ps_conn_error(u->c, 403, "machine %s: "
						     "segment belongs to another "
						     "machine", u->m->id);
		}
		if (rc == HRL_NEXT_END)
			return 1;
		u->records++;
	}
}

/* Fill buf with up to len body bytes; their count, or -1 (logged). */
static ssize_t fill_chunk(struct upload *u, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len && u->c->body_left) {
		ssize_t n = ps_conn_read_body(u->c, buf + got, len - got);

		if (n <= 0) {
			ps_log("%s: machine %s: upload interrupted with %" PRIu64
			       " bytes to go; discarded", u->c->peer, u->m->id,
			       u->c->body_left);
			return -1;
		}
		got += n;
	}
	return got;
}

/*
 * Write a chunk.  Segments are multiples of 4096 bytes, so with 1 MiB
 * chunks every write suits O_DIRECT (no page-cache copy, and the fsync
 * before the ack has only metadata left to do); an odd tail, which the
 * reader will refuse anyway, is written through the page cache.
 */
static int store_chunk(struct upload *u, const uint8_t *buf, size_t n)
{
	size_t w = 0;

	if (n % 4096 && u->direct) {
		fcntl(u->fd, F_SETFL, fcntl(u->fd, F_GETFL) & ~O_DIRECT);
		u->direct = false;
	}
	while (w < n) {
		ssize_t k = write(u->fd, buf + w, n - w);

		if (k < 0)
			return ps_conn_error(u->c, 507, "machine %s: storing "
					     "segment: %s", u->m->id,
					     strerror(errno));
		w += k;
	}
	return 0;
}

/* Stream the body into u->fd through the reader. */
static int receive(struct upload *u)
{
	uint8_t *buf;
	int done = 0;

	if (posix_memalign((void **)&buf, 4096, CHUNK))
		return ps_conn_error(u->c, 500, "out of memory");
	while (!done && u->c->body_left) {
		ssize_t n = fill_chunk(u, buf, CHUNK);

		if (n < 0 || store_chunk(u, buf, n)) {
			done = -1;
			break;
		}
		if (hrl_reader_push(&u->r, buf, n)) {
			done = ps_conn_error(u->c, 500, "out of memory");
			break;
		}
		done = parse(u);
	}
	if (!done) {
		hrl_reader_push_eof(&u->r);
		done = parse(u);
		if (!done)
			done = ps_conn_error(u->c, 422, "machine %s: segment "
					     "rejected: truncated", u->m->id);
	}
	if (done == 1 && (u->c->body_left ||
			  hrl_reader_consumed(&u->r) != u->c->req.content_length))
		done = ps_conn_error(u->c, 422, "machine %s: segment rejected: "
				     "bytes after its trailer", u->m->id);
	free(buf);
	return done == 1 ? 0 : -1;
}

/*
 * Agents keep a few uploads in flight on separate connections; one may
 * finish before its predecessor is stored, or even before the
 * predecessor's request arrived.  Wait for it (1 s, or PS_ORDER_WAIT_S
 * while other uploads of the machine are in progress) instead of refusing
 * at once.  Under m->lock.
 */
static void wait_predecessor(struct ps_machine *m, uint64_t start)
{
	struct timespec until, grace;

	clock_gettime(CLOCK_REALTIME, &until);
	grace = until;
	until.tv_sec += PS_ORDER_WAIT_S;
	grace.tv_sec += 1;	/* the predecessor's request may not be here yet */
	while (m->have_stored && start > m->stored_end &&
	       pthread_cond_timedwait(&m->stored, &m->lock,
				      m->inflight > 1 ? &until : &grace) == 0)
		;
}

/* Is a segment with this id in segments/?  false when it cannot tell. */
static bool stored_uuid(struct ps_machine *m, const uint8_t uuid[16])
{
	struct ps_seg *segs;
	bool found = false;
	size_t n, i;

	if (ps_seg_list(m, &segs, &n))
		return false;
	for (i = 0; i < n && !found; i++)
		found = !memcmp(segs[i].uuid, uuid, 16);
	free(segs);
	return found;
}

/*
 * Decide and, for a new segment, make it durable.  Under m->lock.
 * Already stored: its range is covered by the stored stream (or it is the
 * newest, empty, segment again).  New: it starts at or before the stored
 * end and goes past it; records it repeats (an agent re-draining its ring
 * after a crash) are skipped when applied.  Anything else leaves a gap.
 */
static int commit(struct upload *u, const struct hrl_seg_end *end)
{
	struct ps_machine *m = u->m;
	struct ps_seg seg = {
		.start = u->info->start_seq,
		.end = end->end_seq,
	};
	char name[128];

	wait_predecessor(m, seg.start);
	seg.n = m->have_stored ? m->stored_n + 1 : 1;
	memcpy(seg.uuid, u->info->segment_id, 16);
	/*
	 * Records without a seq range of their own (re-read data, a tag) are
	 * told from a resend only by the segment id: behind the stream and
	 * unknown here, the agent sent them out of order.  Refused, not
	 * acknowledged, so that nothing is dropped in silence.
	 */
	if (m->have_stored && seg.start == seg.end && seg.end < m->stored_end &&
	    end->records && !stored_uuid(m, seg.uuid)) {
		ps_conn_error(u->c, 409, "machine %s: segment of %" PRIu64
			      " records at seq %" PRIu64 " without a range of "
			      "its own arrived after the stored stream moved "
			      "on to %" PRIu64 "; out of order, not stored",
			      m->id, end->records, seg.start, m->stored_end);
		return -1;
	}
	if (m->have_stored && (seg.end < m->stored_end ||
	    (seg.end == m->stored_end && (seg.start < seg.end ||
	     !memcmp(seg.uuid, m->stored_uuid, 16)))))
		return 1;
	if (m->have_stored && seg.start > m->stored_end) {
		ps_conn_error(u->c, 409, "machine %s: segment [%" PRIu64 ",%"
			      PRIu64 ") does not continue the stored stream, "
			      "which ends at %" PRIu64, m->id, seg.start,
			      seg.end, m->stored_end);
		return -1;
	}
	ps_seg_name(name, sizeof(name), &seg);
	snprintf(seg.name, sizeof(seg.name), "%s", name);
	if (fdatasync(u->fd) || renameat(m->dirfd, u->tmp, m->dirfd, name) ||
	    ps_fsync_dir(m->dirfd, "segments")) {
		ps_conn_error(u->c, 507, "machine %s: storing segment: %s",
			      m->id, strerror(errno));
		return -1;
	}
	m->have_stored = true;
	m->stored_end = seg.end;
	m->stored_n = seg.n;
	memcpy(m->stored_uuid, seg.uuid, 16);
	m->bytes_stored += end->seg_bytes;
	if (ps_pending_add(m, &seg))	/* applied after the next restart */
		ps_log("machine %s: %s: apply queue full", m->id, name);
	pthread_cond_broadcast(&m->stored);
	u->tmp[0] = '\0';
	return 0;
}

static int begin(struct upload *u)
{
	struct ps_conn *c = u->c;
	unsigned char rnd[8];

	if (!c->req.has_length)
		return ps_conn_error(c, 411, "segment upload needs "
				     "Content-Length");
	if (c->req.content_length > PS_MAX_SEGMENT)
		return ps_conn_error(c, 413, "segment of %" PRIu64 " bytes is "
				     "larger than %llu", c->req.content_length,
				     PS_MAX_SEGMENT);
	pthread_mutex_lock(&u->m->lock);
	u->m->inflight++;
	pthread_mutex_unlock(&u->m->lock);
	u->counted = true;
	RAND_bytes(rnd, sizeof(rnd));
	snprintf(u->tmp, sizeof(u->tmp), "tmp/up-%016" PRIx64 ".hrl",
		 *(uint64_t *)rnd);
	u->fd = openat(u->m->dirfd, u->tmp, O_WRONLY | O_CREAT | O_EXCL |
		       O_CLOEXEC | O_DIRECT, 0600);
	u->direct = u->fd >= 0;
	if (u->fd < 0 && errno == EINVAL)	/* no O_DIRECT here (tmpfs) */
		u->fd = openat(u->m->dirfd, u->tmp, O_WRONLY | O_CREAT |
			       O_EXCL | O_CLOEXEC, 0600);
	if (u->fd < 0) {
		ps_conn_error(c, 507, "machine %s: %s: %s", u->m->id, u->tmp,
			      strerror(errno));
		u->tmp[0] = '\0';
		return -1;
	}
	hrl_reader_init_push(&u->r);
	return 0;
}

int ps_handle_upload(struct ps_conn *c, struct ps_machine *m)
{
	struct upload u = { .c = c, .m = m, .fd = -1 };
	struct hrl_seg_end end;
	int rc;

	rc = begin(&u);
	if (!rc)
		rc = receive(&u);
	if (!rc) {
		end = *hrl_reader_end(&u.r);
		pthread_mutex_lock(&m->lock);
		rc = commit(&u, &end);
		pthread_mutex_unlock(&m->lock);
		if (rc >= 0)
			reply_ack(c, &end, u.info->start_seq, rc == 1,
				  rc == 1 ? 200 : 201);
		if (rc == 0)
			ps_applier_kick(c->srv);
	}
	if (u.fd >= 0)
		close(u.fd);
	if (u.tmp[0])
		unlinkat(m->dirfd, u.tmp, 0);
	hrl_reader_free(&u.r);
	if (u.counted) {
		pthread_mutex_lock(&m->lock);
		m->inflight--;
		pthread_cond_broadcast(&m->stored);
		pthread_mutex_unlock(&m->lock);
	}
	return rc < 0 ? -1 : 0;
}
