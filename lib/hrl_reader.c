// SPDX-License-Identifier: GPL-2.0
/*
 * hrl_reader: a validating, incremental .hrl parser.
 *
 * One state machine (prefix -> header -> records -> tail -> end) runs over
 * an input window.  need() asks for n contiguous bytes at the current
 * offset; where they come from depends on the mode:
 *
 *   buffer  the caller's whole segment; running short means truncated
 *   fd      read(2) into the reader's buffer, compacted as records go
 *   push    the caller's chunks, used in place; only a record split across
 *           chunks is assembled in the reader's buffer ("own"), taking from
 *           the next chunk ("ext") only the bytes that record still needs
 *
 * so memory stays bounded by one record whatever the segment size.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ferry/crc32c.h>
#include "hrl_wire.h"

enum {
	RS_PREFIX,
	RS_HEADER,
	RS_RECORD,
	RS_TAIL,
	RS_END,
	RS_ERROR,
};

#define FD_CHUNK	(1u << 20)

static void reader_init(struct hrl_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->fd = -1;
	r->state = RS_PREFIX;
}

void hrl_reader_init_buf(struct hrl_reader *r, const void *buf, size_t len)
{
	reader_init(r);
	r->win = buf;
	r->wlen = len;
	r->eof = true;
}

int hrl_reader_init_fd(struct hrl_reader *r, int fd)
{
	reader_init(r);
	r->own = malloc(FD_CHUNK);
	if (!r->own)
		return -ENOMEM;
	r->own_cap = FD_CHUNK;
	r->win = r->own;
	r->fd = fd;
	return 0;
}

void hrl_reader_init_push(struct hrl_reader *r)
{
	reader_init(r);
}

void hrl_reader_free(struct hrl_reader *r)
{
	free(r->own);
	r->own = NULL;
	r->win = NULL;
	r->wlen = r->woff = 0;
}

/* When the assembled bytes are used up, continue in the pushed chunk. */
static void window_switch(struct hrl_reader *r)
{
	if (r->woff == r->wlen && r->ext_len) {
		r->win = r->ext;
		r->wlen = r->ext_len;
		r->woff = 0;
		r->ext = NULL;
		r->ext_len = 0;
	}
}

int hrl_reader_push(struct hrl_reader *r, const void *data, size_t len)
{
	if (r->fd >= 0 || r->eof || r->ext_len)
		return -EINVAL;
	if (!len)
		return 0;
	r->ext = data;
	r->ext_len = len;
	window_switch(r);
	return 0;
}

void hrl_reader_push_eof(struct hrl_reader *r)
{
	r->eof = true;
}

static int fail(struct hrl_reader *r, int code, uint64_t off, int64_t rec,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int fail(struct hrl_reader *r, int code, uint64_t off, int64_t rec,
		const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hrl_vset_error(&r->err, code, off, rec, fmt, ap);
	va_end(ap);
	r->state = RS_ERROR;
	return code;
}

static int truncated(struct hrl_reader *r)
{
	uint64_t at = r->off + (r->wlen - r->woff);

	if (r->state == RS_PREFIX || r->state == RS_HEADER)
		return fail(r, -EPIPE, at, -1, "truncated: input ends inside the header");
	return fail(r, -EPIPE, at, r->state == RS_RECORD ? (int64_t)r->records : -1,
		    "truncated: input ends before the segment trailer");
}

/*
 * Make own hold the unparsed window bytes at its start, with room for
 * want bytes; a no-op when they already are there.
 */
static int own_prepare(struct hrl_reader *r, size_t want)
{
	size_t avail = r->wlen - r->woff;

	if (want > r->own_cap) {
		size_t cap = r->own_cap ? r->own_cap : 4096;
		uint8_t *p;

		while (cap < want)
			cap *= 2;
		p = malloc(cap);
		if (!p)
			return fail(r, -ENOMEM, r->off, -1, "out of memory for %zu bytes", want);
		if (avail)
			memcpy(p, r->win + r->woff, avail);
		free(r->own);
		r->own = p;
		r->own_cap = cap;
	} else if (r->win != r->own || r->woff) {
		if (avail)
			memmove(r->own, r->win + r->woff, avail);
	}
	r->win = r->own;
	r->wlen = avail;
	r->woff = 0;
	return 0;
}

static int fill_fd(struct hrl_reader *r)
{
	ssize_t got;

	do {
		got = read(r->fd, r->own + r->wlen, r->own_cap - r->wlen);
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return fail(r, -EIO, r->off + r->wlen, -1, "read error: %s",
			    strerror(errno));
	if (!got)
		r->eof = true;
	r->wlen += got;
	return 0;
}

/*
 * n contiguous bytes at the current offset: 1 with *p set, HRL_NEXT_MORE
 * (push mode), or a negative errno (truncated input, read error).  The
 * reader's buffer grows only with data actually received, so a record
 * header claiming a huge payload costs no memory until the payload comes.
 */
static int need(struct hrl_reader *r, size_t n, const uint8_t **p)
{
	size_t avail, take;
	int ret;

	while ((avail = r->wlen - r->woff) < n) {
		if (r->eof && !r->ext_len)
			return truncated(r);
		if (r->fd < 0 && !r->ext_len) {
			/* push mode, caller's chunk used up: keep the tail */
			ret = own_prepare(r, avail);
			return ret ? ret : HRL_NEXT_MORE;
		}
		if (r->fd >= 0) {
			ret = own_prepare(r, avail + (avail > FD_CHUNK ? avail : FD_CHUNK));
			if (!ret)
				ret = fill_fd(r);
			if (ret)
				return ret;
			continue;
		}
		take = n - avail < r->ext_len ? n - avail : r->ext_len;
		ret = own_prepare(r, avail + take);
		if (ret)
			return ret;
		memcpy(r->own + r->wlen, r->ext, take);
		r->wlen += take;
		r->ext += take;
		r->ext_len -= take;
	}
	*p = r->win + r->woff;
	return 1;
}

static void consume(struct hrl_reader *r, size_t n)
{
	r->woff += n;
	r->off += n;
	window_switch(r);
}

static int read_header(struct hrl_reader *r)
{
	uint32_t pb_len;
	const uint8_t *p;
	char why[128];
	int ret;

	ret = need(r, HRL_PREFIX_SIZE, &p);
	if (ret <= 0)
		return ret;
	if (hrl_prefix_decode(p, &r->hdr_size, &pb_len, why, sizeof(why)))
		return fail(r, -EBADMSG, 0, -1, "header: %s", why);
	r->state = RS_HEADER;
	ret = need(r, r->hdr_size, &p);
	if (ret <= 0)
		return ret;
	if (hrl_hdr_decode(p, r->hdr_size, pb_len, &r->info, &r->seg_crc,
			   why, sizeof(why)))
		return fail(r, -EBADMSG, 0, -1, "header: %s", why);
	r->have_info = true;
	consume(r, r->hdr_size);
	r->chain = hrl_chain_start(r->seg_crc);
	r->next_seq = r->info.start_seq;
	r->first_seq = r->info.start_seq;
	r->max_seq = r->info.start_seq;
	r->state = RS_RECORD;
	return 1;
}

/* Payload crc, padding, and for tags the message inside. */
static int check_payload(struct hrl_reader *r, const struct hrl_rec *rec,
			 const uint8_t *p)
{
	size_t pad = hrl_rec_size(rec->payload_len) - HRL_REC_HDR_SIZE - rec->payload_len;
	const uint8_t *payload = p + HRL_REC_HDR_SIZE;
	uint32_t crc = crc32c(0, payload, rec->payload_len);
	size_t nz;
	struct hrl_tag tag;

	if (crc != rec->data_crc)
		return fail(r, -EBADMSG, r->off, rec->index,
			    "payload crc mismatch (stored 0x%08x, computed 0x%08x)",
			    rec->data_crc, crc);
	nz = hrl_first_nonzero(payload + rec->payload_len, pad);
	if (nz != pad)
		return fail(r, -EBADMSG, r->off + HRL_REC_HDR_SIZE + rec->payload_len + nz,
			    rec->index, "nonzero byte in payload padding");
	if (rec->kind == HRL_TAG && hrl_tag_decode(payload, rec->payload_len, &tag))
		return fail(r, -EBADMSG, r->off, rec->index,
			    "tag payload does not decode as a ConsistencyTag");
	return 0;
}

static int read_record(struct hrl_reader *r, struct hrl_rec *rec,
		       const void **payload)
{
	uint64_t next = r->next_seq, last = r->max_seq;
	const uint8_t *p;
	uint32_t rec_crc;
	char why[128];
	int ret;

	ret = need(r, HRL_REC_HDR_SIZE, &p);
	if (ret <= 0)
		return ret;
	if (p[0] != 'H' || p[1] != 'R' || p[2] != 'E' || p[3] != 'C') {
		r->state = RS_TAIL;
		return 1;
	}
	memset(rec, 0, sizeof(*rec));
	if (hrl_rec_decode(p, rec, r->seg_crc, &rec_crc, why, sizeof(why)) ||
	    hrl_rec_check(&r->info, rec, &next, &last, why, sizeof(why)))
		return fail(r, -EBADMSG, r->off, r->records, "%s", why);
	rec->index = r->records;
	rec->seg_offset = r->off;
	ret = need(r, hrl_rec_size(rec->payload_len), &p);
	if (ret <= 0)
		return ret;
	ret = check_payload(r, rec, p);
	if (ret)
		return ret;
	*payload = rec->payload_len ? p + HRL_REC_HDR_SIZE : NULL;
	if (!r->records)
		r->first_seq = rec->seq;
	r->next_seq = next;
	r->max_seq = last;
	r->chain = hrl_chain_add(r->chain, rec_crc);
	r->records++;
	r->payload_bytes += rec->payload_len;
	consume(r, hrl_rec_size(rec->payload_len));
	return HRL_NEXT_RECORD;
}

/* Every trailer field must match what was counted. */
static int check_end(struct hrl_reader *r, const struct hrl_seg_end *e,
		     uint32_t chain, uint64_t at)
{
	if (e->records != r->records)
		return fail(r, -EBADMSG, at, -1, "trailer: %llu records, found %llu",
			    (unsigned long long)e->records,
			    (unsigned long long)r->records);
	if (e->seg_bytes != at + HRL_TRAILER_SIZE)
		return fail(r, -EBADMSG, at, -1, "trailer: segment of %llu bytes, trailer ends at %llu",
			    (unsigned long long)e->seg_bytes,
			    (unsigned long long)at + HRL_TRAILER_SIZE);
	if (e->first_seq != r->first_seq || e->end_seq != r->next_seq)
		return fail(r, -EBADMSG, at, -1, "trailer: seq range [%llu, %llu), records give [%llu, %llu)",
			    (unsigned long long)e->first_seq,
			    (unsigned long long)e->end_seq,
			    (unsigned long long)r->first_seq,
			    (unsigned long long)r->next_seq);
	if (e->payload_bytes != r->payload_bytes)
		return fail(r, -EBADMSG, at, -1, "trailer: %llu payload bytes, found %llu",
			    (unsigned long long)e->payload_bytes,
			    (unsigned long long)r->payload_bytes);
	if (chain != r->chain)
		return fail(r, -EBADMSG, at, -1, "trailer: chain crc mismatch (stored 0x%08x, computed 0x%08x)",
			    chain, r->chain);
	return 0;
}

static int read_tail(struct hrl_reader *r)
{
	uint64_t t = hrl_seg_end_for(r->off);
	size_t n = t - r->off, zeros = n - HRL_TRAILER_SIZE, nz;
	const uint8_t *p;
	uint32_t chain;
	char why[128];
	int ret;

	ret = need(r, n, &p);
	if (ret <= 0)
		return ret;
	nz = hrl_first_nonzero(p, zeros);
	if (nz == 0 && zeros)
		return fail(r, -EBADMSG, r->off, r->records,
			    "bad record magic %02x%02x%02x%02x (not a record, not padding)",
			    p[0], p[1], p[2], p[3]);
	if (nz != zeros)
		return fail(r, -EBADMSG, r->off + nz, -1,
			    "nonzero byte in the padding before the trailer");
	p += zeros;
	if (hrl_first_nonzero(p, HRL_TRAILER_SIZE) == HRL_TRAILER_SIZE)
		return fail(r, -EPIPE, t - HRL_TRAILER_SIZE, -1,
			    "torn segment: zeros where the trailer should be (after %llu records)",
			    (unsigned long long)r->records);
	if (hrl_trailer_decode(p, &r->end, &chain, r->seg_crc, why, sizeof(why)))
		return fail(r, -EBADMSG, t - HRL_TRAILER_SIZE, -1, "trailer: %s", why);
	ret = check_end(r, &r->end, chain, t - HRL_TRAILER_SIZE);
	if (ret)
		return ret;
	consume(r, n);
	r->state = RS_END;
	return HRL_NEXT_END;
}

int hrl_reader_next(struct hrl_reader *r, struct hrl_rec *rec,
		    const void **payload)
{
	int ret;

	*payload = NULL;
	for (;;) {
		switch (r->state) {
		case RS_PREFIX:
		case RS_HEADER:
			ret = read_header(r);
			if (ret <= 0)
				return ret;
			break;
		case RS_RECORD:
			ret = read_record(r, rec, payload);
			if (ret != 1 || r->state == RS_RECORD)
				return ret;
			break;
		case RS_TAIL:
			return read_tail(r);
		case RS_END:
			return HRL_NEXT_END;
		default:
			return r->err.code;
		}
	}
}

const struct hrl_seg_info *hrl_reader_info(const struct hrl_reader *r)
{
	return r->have_info ? &r->info : NULL;
}

const struct hrl_seg_end *hrl_reader_end(const struct hrl_reader *r)
{
	return r->state == RS_END ? &r->end : NULL;
}

const struct hrl_error *hrl_reader_error(const struct hrl_reader *r)
{
	return &r->err;
}

uint64_t hrl_reader_consumed(const struct hrl_reader *r)
{
	return r->off;
}

/* Bytes left after the segment's end: in the window, or one more read. */
static int reader_trailing(struct hrl_reader *r, uint64_t *extra)
{
	uint8_t b[512];
	ssize_t got;

	*extra = r->wlen - r->woff + r->ext_len;
	if (*extra || r->fd < 0)
		return 0;
	do {
		got = read(r->fd, b, sizeof(b));
	} while (got < 0 && errno == EINTR);
	if (got < 0)
		return -errno;
	*extra = got;
	return 0;
}

int hrl_verify_fd(int fd, struct hrl_seg_info *info, struct hrl_seg_end *end,
		  struct hrl_error *err)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *payload;
	uint64_t extra;
	int ret;

	if (lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE) {
		hrl_set_error(err, -EIO, 0, -1, "seek: %s", strerror(errno));
		return -EIO;
	}
	ret = hrl_reader_init_fd(&r, fd);
	if (ret) {
		hrl_set_error(err, ret, 0, -1, "out of memory");
		return ret;
	}
	while ((ret = hrl_reader_next(&r, &rec, &payload)) == HRL_NEXT_RECORD)
		;
	if (ret == HRL_NEXT_END) {
		ret = reader_trailing(&r, &extra);
		if (ret)
			hrl_set_error(&r.err, -EIO, r.off, -1, "read error: %s",
				      strerror(-ret));
		else if (extra)
			hrl_set_error(&r.err, -EBADMSG, r.off, -1,
				      "data after the end of the segment");
		ret = ret ? -EIO : extra ? -EBADMSG : 0;
	}
	if (!ret) {
		if (info)
			*info = r.info;
		if (end)
			*end = r.end;
	} else {
		*err = r.err;
	}
	hrl_reader_free(&r);
	return ret;
}
