// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-hrl-reader: arbitrary bytes as a segment.  The first byte picks the
 * mode: buffer or push (with a chunk size), and whether checksums are
 * recomputed first so that mutations reach the rules behind them.  Buffer
 * and push readers must agree on every record and on the verdict.
 */
#include <string.h>
#include <ferry/crc32c.h>
#include <ferry/hrl.h>
#include "hrl_wire.h"
#include "fuzz.h"

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static uint32_t seeded(uint32_t seg_crc, const uint8_t *p, size_t len)
{
	uint8_t seed[4];

	put_le32(seed, seg_crc);
	return crc32c(crc32c(0, seed, 4), p, len);
}

/* Recompute every checksum of a (mutated) segment in place. */
static void fixup(uint8_t *s, size_t len)
{
	uint32_t hdr_size, pb_len, seg_crc, chain;
	size_t pos, size;
	uint64_t t;

	if (len < 32 || memcmp(s, "FERRYHRL", 8))
		return;
	hdr_size = le32(s + 12);
	pb_len = le32(s + 16);
	if (hdr_size > len || pb_len > hdr_size || hdr_size < 32 + pb_len)
		return;
	seg_crc = crc32c(crc32c(0, s, 28), s + 32, pb_len);
	put_le32(s + 28, seg_crc);
	chain = hrl_chain_start(seg_crc);
	for (pos = hdr_size; pos + 64 <= len && le32(s + pos) == 0x43455248u; pos += size) {
		uint32_t plen = le32(s + pos + 40);

		size = hrl_rec_size(plen);
		if (plen > HRL_MAX_PAYLOAD || pos + size > len)
			return;
		put_le32(s + pos + 44, crc32c(0, s + pos + 64, plen));
		put_le32(s + pos + 60, seeded(seg_crc, s + pos, 60));
		chain = hrl_chain_add(chain, le32(s + pos + 60));
	}
	t = hrl_seg_end_for(pos);
	if (t > len || le32(s + t - 64) != 0x444e4548u)
		return;
	put_le32(s + t - 16, chain);
	put_le32(s + t - 4, seeded(seg_crc, s + t - 64, 60));
}

struct result {
	int ret;
	uint64_t records;
	uint32_t crc;		/* over every record header and payload */
};

static void fold(struct result *res, const struct hrl_rec *rec, const void *p)
{
	res->records++;
	res->crc = crc32c(res->crc, rec, sizeof(*rec));
	if (p)
		res->crc = crc32c(res->crc, p, rec->payload_len);
}

static void read_buf(const uint8_t *s, size_t len, struct result *res)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *p;

	hrl_reader_init_buf(&r, s, len);
	while ((res->ret = hrl_reader_next(&r, &rec, &p)) == HRL_NEXT_RECORD)
		fold(res, &rec, p);
	FUZZ_CHECK(res->ret != HRL_NEXT_MORE);
	if (res->ret < 0)
		FUZZ_CHECK(hrl_reader_error(&r)->reason[0]);
	hrl_reader_free(&r);
}

static void read_push(const uint8_t *s, size_t len, size_t chunk,
		      struct result *res)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *p;
	size_t off = 0;

	hrl_reader_init_push(&r);
	for (;;) {
		res->ret = hrl_reader_next(&r, &rec, &p);
		if (res->ret == HRL_NEXT_RECORD) {
			fold(res, &rec, p);
		} else if (res->ret == HRL_NEXT_MORE) {
			size_t n = len - off < chunk ? len - off : chunk;

			if (!n)
				hrl_reader_push_eof(&r);
			else
				FUZZ_CHECK(hrl_reader_push(&r, s + off, n) == 0);
			off += n;
		} else {
			break;
		}
	}
	hrl_reader_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct result a = { 0 }, b = { 0 };
	uint8_t *s;
	size_t chunk;

	if (!size)
		return 0;
	s = malloc(size - 1 ? size - 1 : 1);
	memcpy(s, data + 1, size - 1);
	if (data[0] & 1)
		fixup(s, size - 1);
	read_buf(s, size - 1, &a);
	chunk = (data[0] >> 1) ? (size_t)(data[0] >> 1) * (data[0] >> 1) : 4096;
	read_push(s, size - 1, chunk, &b);
	FUZZ_CHECK(a.ret == b.ret);
	FUZZ_CHECK(a.records == b.records && a.crc == b.crc);
	free(s);
	return 0;
}
