// SPDX-License-Identifier: GPL-2.0
/*
 * hrl_wire: the one place where .hrl structures meet bytes.
 *
 *   prefix (32)         record header (64)          trailer (64)
 *   0  magic[8]         0  magic "HREC"  4 kind     0  magic "HEND"
 *   8  version          6  flags         8 seq      8  records
 *   12 hdr_size         16 offset       24 time_ns  16 first_seq
 *   16 pb_len           32 len          36 disk_id  24 end_seq
 *   20 reserved[8]      40 payload_len  44 data_crc 32 seg_bytes
 *   28 hdr_crc          48 reserved[12] 60 rec_crc  40 payload_bytes
 *                                                   48 chain_crc
 *                                                   52 reserved[8]
 *                                                   60 trailer_crc
 *
 * Little-endian throughout; see docs/hrl-format.md for the rules.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <ferry/crc32c.h>
#include "hrl_wire.h"
#include "hrl.pb-c.h"

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, v);
	put16(p + 2, v >> 16);
}

static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, v);
	put32(p + 4, v >> 32);
}

static inline uint16_t get16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static inline uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}

static inline uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int why_fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

void hrl_vset_error(struct hrl_error *err, int code, uint64_t offset,
		    int64_t record, const char *fmt, va_list ap)
{
	err->code = code;
	err->offset = offset;
	err->record = record;
	vsnprintf(err->reason, sizeof(err->reason), fmt, ap);
}

void hrl_set_error(struct hrl_error *err, int code, uint64_t offset,
		   int64_t record, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	hrl_vset_error(err, code, offset, record, fmt, ap);
	va_end(ap);
}

size_t hrl_first_nonzero(const uint8_t *p, size_t len)
{
	size_t i = 0;

	for (; i + 8 <= len; i += 8) {
		uint64_t v;

		memcpy(&v, p + i, 8);
		if (v)
			break;
	}
	for (; i < len; i++)
		if (p[i])
			return i;
	return len;
}

static uint32_t seeded_crc(uint32_t seg_crc, const uint8_t *p, size_t len)
{
	uint8_t seed[4];

	put32(seed, seg_crc);
	return crc32c(crc32c(0, seed, 4), p, len);
}

uint32_t hrl_chain_start(uint32_t seg_crc)
{
	uint8_t seed[4];

	put32(seed, seg_crc);
	return crc32c(0, seed, 4);
}

uint32_t hrl_chain_add(uint32_t chain, uint32_t rec_crc)
{
	uint8_t b[4];

	put32(b, rec_crc);
	return crc32c(chain, b, 4);
}

/* ---- segment header ---- */

int hrl_info_check(const struct hrl_seg_info *info, char *why, size_t whylen)
{
	uint32_t i, j;

	if (info->flags & ~HRL_SEG_FLAGS_ALL)
		return why_fail(why, whylen, "unknown segment flags 0x%x",
				info->flags & ~HRL_SEG_FLAGS_ALL);
	if (info->nr_disks > HRL_MAX_DISKS)
		return why_fail(why, whylen, "%u disks, at most %u",
				info->nr_disks, HRL_MAX_DISKS);
	for (i = 0; i < info->nr_disks; i++) {
		if (info->disks[i].id == HRL_DISK_ALL)
			return why_fail(why, whylen, "disk id 0x%x is reserved",
					HRL_DISK_ALL);
		for (j = 0; j < i; j++)
			if (info->disks[j].id == info->disks[i].id)
				return why_fail(why, whylen,
						"disk id %u listed twice",
						info->disks[i].id);
	}
	return 0;
}

long hrl_hdr_encode(uint8_t *buf, size_t cap, const struct hrl_seg_info *info,
		    uint32_t *seg_crc, char *why, size_t whylen)
{
	Hrl__Disk disks[HRL_MAX_DISKS], *dp[HRL_MAX_DISKS];
	Hrl__SegmentHeader h = HRL__SEGMENT_HEADER__INIT;
	size_t pb_len, hdr_size;
	uint32_t i;
	int ret;

	ret = hrl_info_check(info, why, whylen);
	if (ret)
		return -EINVAL;
	h.machine_id.data = (uint8_t *)info->machine_id;
	h.machine_id.len = 16;
	h.segment_id.data = (uint8_t *)info->segment_id;
	h.segment_id.len = 16;
	h.created_ns = info->created_ns;
	h.start_seq = info->start_seq;
	h.flags = info->flags;
	for (i = 0; i < info->nr_disks; i++) {
		const struct hrl_disk *d = &info->disks[i];
		static const uint8_t nil[16];

		hrl__disk__init(&disks[i]);
		disks[i].id = d->id;
		if (memcmp(d->uuid, nil, 16)) {
			disks[i].uuid.data = (uint8_t *)d->uuid;
			disks[i].uuid.len = 16;
		}
		disks[i].size_bytes = d->size_bytes;
		disks[i].lbs = d->lbs;
		dp[i] = &disks[i];
	}
	h.n_disks = info->nr_disks;
	h.disks = dp;

	pb_len = hrl__segment_header__get_packed_size(&h);
	hdr_size = (HRL_PREFIX_SIZE + pb_len + HRL_BLOCK - 1) & ~(size_t)(HRL_BLOCK - 1);
	if (hdr_size > HRL_MAX_HDR_SIZE) {
		snprintf(why, whylen, "header of %zu bytes, at most %u",
			 hdr_size, HRL_MAX_HDR_SIZE);
		return -EINVAL;
	}
	if (hdr_size > cap) {
		snprintf(why, whylen, "header of %zu bytes does not fit in %zu",
			 hdr_size, cap);
		return -ENOSPC;
	}
	memset(buf, 0, hdr_size);
	memcpy(buf, HRL_MAGIC, 8);
	put32(buf + 8, HRL_VERSION);
	put32(buf + 12, hdr_size);
	put32(buf + 16, pb_len);
	hrl__segment_header__pack(&h, buf + HRL_PREFIX_SIZE);
	*seg_crc = crc32c(crc32c(0, buf, 28), buf + HRL_PREFIX_SIZE, pb_len);
	put32(buf + 28, *seg_crc);
	return hdr_size;
}

int hrl_prefix_decode(const uint8_t *p, uint32_t *hdr_size, uint32_t *pb_len,
		      char *why, size_t whylen)
{
	uint32_t version = get32(p + 8);

	if (memcmp(p, HRL_MAGIC, 8))
		return why_fail(why, whylen, "not an hrl segment (bad magic)");
	if (version != HRL_VERSION)
		return why_fail(why, whylen, "unsupported version %u (this reader knows %u)",
				version, HRL_VERSION);
	*hdr_size = get32(p + 12);
	*pb_len = get32(p + 16);
	if (*hdr_size < HRL_BLOCK || *hdr_size > HRL_MAX_HDR_SIZE ||
	    *hdr_size % HRL_BLOCK)
		return why_fail(why, whylen, "bad header size %u", *hdr_size);
	if (*pb_len > *hdr_size - HRL_PREFIX_SIZE)
		return why_fail(why, whylen, "header message of %u bytes overruns the %u-byte header",
				*pb_len, *hdr_size);
	if (get64(p + 20))
		return why_fail(why, whylen, "reserved prefix bytes are not zero");
	return 0;
}

static int disk_decode(const Hrl__Disk *m, struct hrl_disk *d,
		       char *why, size_t whylen)
{
	memset(d, 0, sizeof(*d));
	d->id = m->id;
	if (m->uuid.len != 0 && m->uuid.len != 16)
		return why_fail(why, whylen, "disk %u: uuid of %zu bytes, not 16",
				m->id, m->uuid.len);
	if (m->uuid.len)
		memcpy(d->uuid, m->uuid.data, 16);
	d->size_bytes = m->size_bytes;
	d->lbs = m->lbs;
	return 0;
}

static int info_decode(const Hrl__SegmentHeader *h, struct hrl_seg_info *info,
		       char *why, size_t whylen)
{
	size_t i;
	int ret;

	memset(info, 0, sizeof(*info));
	if (h->machine_id.len != 16)
		return why_fail(why, whylen, "machine id of %zu bytes, not 16",
				h->machine_id.len);
	if (h->segment_id.len != 16)
		return why_fail(why, whylen, "segment id of %zu bytes, not 16",
				h->segment_id.len);
	memcpy(info->machine_id, h->machine_id.data, 16);
	memcpy(info->segment_id, h->segment_id.data, 16);
	info->created_ns = h->created_ns;
	info->start_seq = h->start_seq;
	info->flags = h->flags;
	if (h->n_disks > HRL_MAX_DISKS)
		return why_fail(why, whylen, "%zu disks, at most %u",
				h->n_disks, HRL_MAX_DISKS);
	info->nr_disks = h->n_disks;
	for (i = 0; i < h->n_disks; i++) {
		ret = disk_decode(h->disks[i], &info->disks[i], why, whylen);
		if (ret)
			return ret;
	}
	return hrl_info_check(info, why, whylen);
}

int hrl_hdr_decode(const uint8_t *hdr, uint32_t hdr_size, uint32_t pb_len,
		   struct hrl_seg_info *info, uint32_t *seg_crc,
		   char *why, size_t whylen)
{
	const uint8_t *pb = hdr + HRL_PREFIX_SIZE;
	Hrl__SegmentHeader *h;
	uint32_t crc;
	size_t nz;
	int ret;

	crc = crc32c(crc32c(0, hdr, 28), pb, pb_len);
	if (crc != get32(hdr + 28))
		return why_fail(why, whylen, "header crc mismatch (stored 0x%08x, computed 0x%08x)",
				get32(hdr + 28), crc);
	nz = hrl_first_nonzero(pb + pb_len, hdr_size - HRL_PREFIX_SIZE - pb_len);
	if (nz != hdr_size - HRL_PREFIX_SIZE - pb_len)
		return why_fail(why, whylen, "nonzero byte in header padding at offset %zu",
				HRL_PREFIX_SIZE + pb_len + nz);
	h = hrl__segment_header__unpack(NULL, pb_len, pb);
	if (!h)
		return why_fail(why, whylen, "header message does not decode");
	ret = info_decode(h, info, why, whylen);
	hrl__segment_header__free_unpacked(h, NULL);
	*seg_crc = crc;
	return ret;
}

/* ---- records ---- */

uint32_t hrl_rec_encode(uint8_t *p, const struct hrl_rec *rec, uint32_t seg_crc)
{
	uint32_t crc;

	put32(p, HRL_REC_MAGIC);
	put16(p + 4, rec->kind);
	put16(p + 6, rec->flags);
	put64(p + 8, rec->seq);
	put64(p + 16, rec->offset);
	put64(p + 24, rec->time_ns);
	put32(p + 32, rec->len);
	put32(p + 36, rec->disk_id);
	put32(p + 40, rec->payload_len);
	put32(p + 44, rec->data_crc);
	memset(p + 48, 0, 12);
	crc = seeded_crc(seg_crc, p, 60);
	put32(p + 60, crc);
	return crc;
}

int hrl_rec_decode(const uint8_t *p, struct hrl_rec *rec, uint32_t seg_crc,
		   uint32_t *rec_crc, char *why, size_t whylen)
{
	uint32_t crc;

	if (get32(p) != HRL_REC_MAGIC)
		return why_fail(why, whylen, "bad record magic 0x%08x", get32(p));
	crc = seeded_crc(seg_crc, p, 60);
	if (crc != get32(p + 60))
		return why_fail(why, whylen, "record header crc mismatch (stored 0x%08x, computed 0x%08x)",
				get32(p + 60), crc);
	if (hrl_first_nonzero(p + 48, 12) != 12)
		return why_fail(why, whylen, "reserved record bytes are not zero");
	rec->kind = get16(p + 4);
	rec->flags = get16(p + 6);
	rec->seq = get64(p + 8);
	rec->offset = get64(p + 16);
	rec->time_ns = get64(p + 24);
	rec->len = get32(p + 32);
	rec->disk_id = get32(p + 36);
	rec->payload_len = get32(p + 40);
	rec->data_crc = get32(p + 44);
	*rec_crc = crc;
	return 0;
}

static bool disk_known(const struct hrl_seg_info *info, uint32_t id)
{
	uint32_t i;

	for (i = 0; i < info->nr_disks; i++)
		if (info->disks[i].id == id)
			return true;
	return false;
}

/* Kind-specific shape of a record: disk, len, payload_len. */
static int rec_check_shape(const struct hrl_seg_info *info,
			   const struct hrl_rec *rec, char *why, size_t whylen)
{
	bool data = rec->kind == HRL_WRITE || rec->kind == HRL_RESYNC;

	if (rec->kind == HRL_TAG || rec->kind == HRL_FLUSH) {
		if (rec->kind == HRL_TAG && rec->disk_id != HRL_DISK_ALL)
			return why_fail(why, whylen, "tag names disk %u", rec->disk_id);
		if (rec->disk_id != HRL_DISK_ALL && !disk_known(info, rec->disk_id))
			return why_fail(why, whylen, "disk %u is not in the segment header",
					rec->disk_id);
		if (rec->len || rec->offset)
			return why_fail(why, whylen, "%s with a range", hrl_kind_name(rec->kind));
		if (rec->kind == HRL_FLUSH && rec->payload_len)
			return why_fail(why, whylen, "flush with a payload");
		if (rec->kind == HRL_TAG &&
		    (!rec->payload_len || rec->payload_len > HRL_MAX_TAG_PAYLOAD))
			return why_fail(why, whylen, "tag payload of %u bytes", rec->payload_len);
		return 0;
	}
	if (!disk_known(info, rec->disk_id))
		return why_fail(why, whylen, "disk %u is not in the segment header",
				rec->disk_id);
	if (!rec->len)
		return why_fail(why, whylen, "%s of length 0", hrl_kind_name(rec->kind));
	if (rec->offset + rec->len < rec->offset)
		return why_fail(why, whylen, "range overflows (offset %llu len %u)",
				(unsigned long long)rec->offset, rec->len);
	if (data && rec->payload_len != rec->len)
		return why_fail(why, whylen, "payload of %u bytes for length %u",
				rec->payload_len, rec->len);
	if (data && rec->payload_len > HRL_MAX_PAYLOAD)
		return why_fail(why, whylen, "payload of %u bytes, at most %u",
				rec->payload_len, HRL_MAX_PAYLOAD);
	if (!data && rec->payload_len)
		return why_fail(why, whylen, "%s with a payload", hrl_kind_name(rec->kind));
	if ((rec->kind == HRL_RESYNC || rec->kind == HRL_RESYNC_ZERO) &&
	    !(info->flags & HRL_SEG_RESYNC))
		return why_fail(why, whylen, "%s chunk in a segment without the resync flag",
				hrl_kind_name(rec->kind));
	return 0;
}

int hrl_rec_check(const struct hrl_seg_info *info, const struct hrl_rec *rec,
		  uint64_t *next, uint64_t *last, char *why, size_t whylen)
{
	int ret;

	if (rec->kind < HRL_WRITE || rec->kind > HRL_KIND_MAX)
		return why_fail(why, whylen, "unknown record kind %u", rec->kind);
	if (rec->flags & ~HRL_REC_FLAGS_ALL)
		return why_fail(why, whylen, "unknown record flags 0x%x",
				rec->flags & ~HRL_REC_FLAGS_ALL);
	ret = rec_check_shape(info, rec, why, whylen);
	if (ret)
		return ret;
	if (rec->seq < *next)
		return why_fail(why, whylen, "seq %llu is before the stream position %llu",
				(unsigned long long)rec->seq, (unsigned long long)*next);
	if (rec->seq < *last)
		return why_fail(why, whylen, "seq %llu is before the previous record's %llu",
				(unsigned long long)rec->seq, (unsigned long long)*last);
	if (hrl_kind_consumes_seq(rec->kind)) {
		if (rec->seq == UINT64_MAX)
			return why_fail(why, whylen, "seq %llu out of range",
					(unsigned long long)rec->seq);
		*next = rec->seq + 1;
	}
	*last = rec->seq;
	return 0;
}

/* ---- trailer ---- */

void hrl_trailer_encode(uint8_t *p, const struct hrl_seg_end *end,
			uint32_t chain, uint32_t seg_crc)
{
	memset(p, 0, HRL_TRAILER_SIZE);
	put32(p, HRL_END_MAGIC);
	put64(p + 8, end->records);
	put64(p + 16, end->first_seq);
	put64(p + 24, end->end_seq);
	put64(p + 32, end->seg_bytes);
	put64(p + 40, end->payload_bytes);
	put32(p + 48, chain);
	put32(p + 60, seeded_crc(seg_crc, p, 60));
}

int hrl_trailer_decode(const uint8_t *p, struct hrl_seg_end *end,
		       uint32_t *chain, uint32_t seg_crc, char *why,
		       size_t whylen)
{
	uint32_t crc;

	if (get32(p) != HRL_END_MAGIC)
		return why_fail(why, whylen, "bad trailer magic 0x%08x", get32(p));
	crc = seeded_crc(seg_crc, p, 60);
	if (crc != get32(p + 60))
		return why_fail(why, whylen, "trailer crc mismatch (stored 0x%08x, computed 0x%08x)",
				get32(p + 60), crc);
	if (get32(p + 4) || get64(p + 52))
		return why_fail(why, whylen, "reserved trailer bytes are not zero");
	end->records = get64(p + 8);
	end->first_seq = get64(p + 16);
	end->end_seq = get64(p + 24);
	end->seg_bytes = get64(p + 32);
	end->payload_bytes = get64(p + 40);
	*chain = get32(p + 48);
	return 0;
}

/* ---- consistency tags ---- */

long hrl_tag_encode(const struct hrl_tag *tag, uint8_t *buf, size_t cap)
{
	Hrl__ConsistencyTag m = HRL__CONSISTENCY_TAG__INIT;
	size_t nlen = strnlen(tag->name, sizeof(tag->name));
	size_t len;

	if (nlen > HRL_MAX_TAG_NAME || tag->flags)
		return -EINVAL;
	m.id = tag->id;
	m.name = (char *)tag->name;
	m.time_ns = tag->time_ns;
	len = hrl__consistency_tag__get_packed_size(&m);
	if (len > HRL_MAX_TAG_PAYLOAD || len > cap)
		return -EINVAL;
	return hrl__consistency_tag__pack(&m, buf);
}

int hrl_tag_decode(const void *payload, size_t len, struct hrl_tag *tag)
{
	Hrl__ConsistencyTag *m;
	size_t nlen;
	int ret = -EBADMSG;

	if (len > HRL_MAX_TAG_PAYLOAD)
		return -EBADMSG;
	m = hrl__consistency_tag__unpack(NULL, len, payload);
	if (!m)
		return -EBADMSG;
	nlen = strlen(m->name);
	if (nlen > HRL_MAX_TAG_NAME || m->flags)
		goto out_free;
	memset(tag, 0, sizeof(*tag));
	tag->id = m->id;
	tag->time_ns = m->time_ns;
	tag->flags = m->flags;
	memcpy(tag->name, m->name, nlen);
	ret = 0;
out_free:
	hrl__consistency_tag__free_unpacked(m, NULL);
	return ret;
}

const char *hrl_kind_name(unsigned int kind)
{
	static const char *const names[] = {
		[HRL_WRITE] = "write",
		[HRL_METADATA] = "metadata",
		[HRL_DISCARD] = "discard",
		[HRL_WRITE_ZEROES] = "write-zeroes",
		[HRL_TAG] = "tag",
		[HRL_RESYNC] = "resync",
		[HRL_FLUSH] = "flush",
		[HRL_RESYNC_ZERO] = "resync-zero",
	};

	if (kind >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[kind];
}

const char *hrl_strerror(const struct hrl_error *err, char *buf, size_t len)
{
	if (err->record >= 0)
		snprintf(buf, len, "record %lld at offset %llu: %s",
			 (long long)err->record, (unsigned long long)err->offset,
			 err->reason);
	else
		snprintf(buf, len, "offset %llu: %s",
			 (unsigned long long)err->offset, err->reason);
	return buf;
}
