// SPDX-License-Identifier: GPL-2.0
/*
 * hrl_writer: build one .hrl segment in a caller-provided buffer.
 *
 * The buffer is laid out as the final segment from the start, so the
 * caller can hand it to an O_DIRECT write as is once finished.  A record is
 * accepted only if the trailer still fits after it (within cap, on an
 * HRL_BLOCK boundary); otherwise -ENOSPC leaves the writer unchanged.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <ferry/crc32c.h>
#include "hrl_wire.h"

int hrl_writer_init(struct hrl_writer *w, void *buf, size_t cap,
		    const struct hrl_seg_info *info)
{
	char why[128];
	long hdr;
	uint32_t i;

	if (!buf || cap % HRL_BLOCK)
		return -EINVAL;
	memset(w, 0, sizeof(*w));
	hdr = hrl_hdr_encode(buf, cap, info, &w->seg_crc, why, sizeof(why));
	if (hdr < 0)
		return hdr;
	if ((size_t)hdr + HRL_BLOCK > cap)
		return -ENOSPC;
	w->buf = buf;
	w->cap = cap;
	w->pos = hdr;
	w->chain = hrl_chain_start(w->seg_crc);
	w->start_seq = info->start_seq;
	w->first_seq = info->start_seq;
	w->next_seq = info->start_seq;
	w->last_seq = info->start_seq;
	w->seg_flags = info->flags;
	w->nr_disks = info->nr_disks;
	for (i = 0; i < info->nr_disks; i++)
		w->disk_ids[i] = info->disks[i].id;
	return 0;
}

/* Just enough of a seg_info for hrl_rec_check(): flags and disk ids. */
static void writer_info(const struct hrl_writer *w, struct hrl_seg_info *info)
{
	uint32_t i;

	info->flags = w->seg_flags;
	info->nr_disks = w->nr_disks;
	for (i = 0; i < w->nr_disks; i++)
		info->disks[i].id = w->disk_ids[i];
}

static bool fits(const struct hrl_writer *w, uint32_t payload_len)
{
	return hrl_seg_end_for(w->pos + hrl_rec_size(payload_len)) <= w->cap;
}

size_t hrl_writer_room(const struct hrl_writer *w)
{
	uint64_t end;

	if (w->finished)
		return 0;
	/* the trailer's block must still fit: end of records <= cap - 64 */
	end = w->cap - HRL_TRAILER_SIZE;
	if (w->pos + HRL_REC_HDR_SIZE > end)
		return 0;
	end = (end - w->pos - HRL_REC_HDR_SIZE) & ~(uint64_t)(HRL_REC_ALIGN - 1);
	return end < HRL_MAX_PAYLOAD ? end : HRL_MAX_PAYLOAD;
}

/*
 * Validate rec and reserve its space: header slot at w->pos, payload
 * after it.  The writer's counters move only at commit.
 */
static int writer_reserve(struct hrl_writer *w, struct hrl_rec *r,
			  const struct hrl_rec *rec, uint32_t payload_len)
{
	struct hrl_seg_info info;
	uint64_t next = w->next_seq, last = w->last_seq;

	w->error[0] = '\0';
	if (w->finished) {
		snprintf(w->error, sizeof(w->error), "segment already finished");
		return -EINVAL;
	}
	w->resv = 0;
	*r = *rec;
	r->payload_len = payload_len;
	writer_info(w, &info);
	if (hrl_rec_check(&info, r, &next, &last, w->error, sizeof(w->error)))
		return -EINVAL;
	if (!fits(w, payload_len))
		return -ENOSPC;
	w->resv = w->pos;
	return 0;
}

/* Write the header of the reserved record, pad its payload, account. */
static int writer_commit(struct hrl_writer *w, struct hrl_rec *r)
{
	size_t size = hrl_rec_size(r->payload_len);
	uint8_t *p = w->buf + w->resv;
	uint32_t rec_crc;

	memset(p + HRL_REC_HDR_SIZE + r->payload_len, 0,
	       size - HRL_REC_HDR_SIZE - r->payload_len);
	rec_crc = hrl_rec_encode(p, r, w->seg_crc);
	w->chain = hrl_chain_add(w->chain, rec_crc);
	if (!w->records)
		w->first_seq = r->seq;
	if (hrl_kind_consumes_seq(r->kind))
		w->next_seq = r->seq + 1;
	w->last_seq = r->seq;
	w->records++;
	w->payload_bytes += r->payload_len;
	w->pos += size;
	w->resv = 0;
	return 0;
}

static uint32_t data_len(const struct hrl_rec *rec)
{
	return rec->kind == HRL_WRITE || rec->kind == HRL_RESYNC ? rec->len : 0;
}

int hrl_writer_add(struct hrl_writer *w, const struct hrl_rec *rec,
		   const void *payload)
{
	struct iovec iov = { .iov_base = (void *)payload, .iov_len = data_len(rec) };

	return hrl_writer_addv(w, rec, &iov, 1);
}

int hrl_writer_addv(struct hrl_writer *w, const struct hrl_rec *rec,
		    const struct iovec *iov, int iovcnt)
{
	uint32_t len = data_len(rec), crc = 0;
	struct hrl_rec r;
	uint8_t *dst;
	size_t done = 0;
	int i, ret;

	ret = writer_reserve(w, &r, rec, len);
	if (ret)
		return ret;
	dst = w->buf + w->resv + HRL_REC_HDR_SIZE;
	for (i = 0; i < iovcnt && done < len; i++) {
		size_t n = iov[i].iov_len;

		if (n > len - done)
			n = len - done;
		if (n && !iov[i].iov_base)
			break;
		crc = crc32c_copy(crc, dst + done, iov[i].iov_base, n);
		done += n;
	}
	if (done != len) {
		w->resv = 0;
		snprintf(w->error, sizeof(w->error), "payload of %zu bytes "
			 "given for a record of %u", done, len);
		return -EINVAL;
	}
	r.data_crc = crc;
	return writer_commit(w, &r);
}

int hrl_writer_reserve(struct hrl_writer *w, const struct hrl_rec *rec,
		       void **payload)
{
	struct hrl_rec r;
	int ret;

	ret = writer_reserve(w, &r, rec, data_len(rec));
	if (ret)
		return ret;
	w->resv_rec = r;
	*payload = w->buf + w->resv + HRL_REC_HDR_SIZE;
	return 0;
}

int hrl_writer_commit_crc(struct hrl_writer *w, uint32_t data_crc)
{
	if (!w->resv || w->finished)
		return -EINVAL;
	w->resv_rec.data_crc = data_crc;
	return writer_commit(w, &w->resv_rec);
}

int hrl_writer_commit(struct hrl_writer *w)
{
	if (!w->resv || w->finished)
		return -EINVAL;
	return hrl_writer_commit_crc(w, crc32c(0, w->buf + w->resv + HRL_REC_HDR_SIZE,
					       w->resv_rec.payload_len));
}

int hrl_writer_add_tag(struct hrl_writer *w, uint64_t seq,
		       const struct hrl_tag *tag)
{
	uint8_t pb[HRL_MAX_TAG_PAYLOAD];
	struct hrl_rec r = {
		.kind = HRL_TAG,
		.seq = seq,
		.time_ns = tag->time_ns,
		.disk_id = HRL_DISK_ALL,
	};
	long len;
	int ret;

	len = hrl_tag_encode(tag, pb, sizeof(pb));
	if (len <= 0)
		return -EINVAL;
	ret = writer_reserve(w, &r, &r, len);
	if (ret)
		return ret;
	r.data_crc = crc32c_copy(0, w->buf + w->resv + HRL_REC_HDR_SIZE, pb, len);
	return writer_commit(w, &r);
}

int hrl_writer_finish(struct hrl_writer *w, size_t *bytes,
		      struct hrl_seg_end *end)
{
	struct hrl_seg_end e;
	uint64_t t;

	if (w->finished)
		return -EINVAL;
	w->resv = 0;
	t = hrl_seg_end_for(w->pos);
	memset(w->buf + w->pos, 0, t - HRL_TRAILER_SIZE - w->pos);
	e.records = w->records;
	e.first_seq = w->first_seq;
	e.end_seq = w->next_seq;
	e.seg_bytes = t;
	e.payload_bytes = w->payload_bytes;
	hrl_trailer_encode(w->buf + t - HRL_TRAILER_SIZE, &e, w->chain, w->seg_crc);
	w->finished = true;
	*bytes = t;
	if (end)
		*end = e;
	return 0;
}
