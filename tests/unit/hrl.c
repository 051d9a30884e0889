// SPDX-License-Identifier: GPL-2.0
/*
 * unit-hrl: the .hrl writer and reader.  Round trip of every record kind
 * through every reader mode, every single-byte corruption and every
 * truncation of a sample segment, torn segments, splices, writer rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <ferry.h>
#include <ferry/crc32c.h>
#include <ferry/hrl.h>
#include "hrl_sample.h"

#define CAP	(64 * 1024)

static uint8_t seg[CAP] __attribute__((aligned(4096)));

struct got {
	struct hrl_rec rec[16];
	uint8_t payload[16][8192];
	int n;
	int end;	/* last return code */
};

/* Read a whole segment from a buffer; returns the final code. */
static int read_buf(const void *buf, size_t len, struct got *g)
{
	struct hrl_reader r;
	const void *p;
	int ret;

	hrl_reader_init_buf(&r, buf, len);
	g->n = 0;
	while ((ret = hrl_reader_next(&r, &g->rec[g->n], &p)) == HRL_NEXT_RECORD) {
		if (p)
			memcpy(g->payload[g->n], p, g->rec[g->n].payload_len);
		if (g->n < 15)
			g->n++;
	}
	g->end = ret;
	hrl_reader_free(&r);
	return ret;
}

static void test_roundtrip_every_kind(void **state)
{
	static const uint16_t kinds[] = {
		HRL_WRITE, HRL_METADATA, HRL_DISCARD, HRL_WRITE_ZEROES,
		HRL_TAG, HRL_FLUSH, HRL_RESYNC, HRL_RESYNC_ZERO, HRL_WRITE,
	};
	static struct got g;
	struct hrl_reader r;
	struct hrl_rec rec;
	struct hrl_tag tag;
	const void *p;
	uint8_t want[128];
	size_t len;
	int i;

	(void)state;
	len = sample_segment(seg, CAP, 0, 1000);
	assert_int_equal(len % HRL_BLOCK, 0);
	assert_int_equal(read_buf(seg, len, &g), HRL_NEXT_END);
	assert_int_equal(g.n, 9);
	for (i = 0; i < 9; i++) {
		assert_int_equal(g.rec[i].kind, kinds[i]);
		assert_int_equal(g.rec[i].index, i);
		assert_int_equal(g.rec[i].seg_offset % HRL_REC_ALIGN, 0);
		if (kinds[i] != HRL_TAG)
			assert_int_equal(g.rec[i].time_ns,
					 1700000000000000000ull + g.rec[i].seq);
	}
	assert_int_equal(g.rec[0].seq, 1000);
	assert_int_equal(g.rec[0].offset, 4096);
	assert_int_equal(g.rec[0].len, 100);
	assert_int_equal(g.rec[0].disk_id, SAMPLE_DISK_A);
	sample_fill(want, 100, 1000);
	assert_memory_equal(g.payload[0], want, 100);
	assert_int_equal(g.rec[1].payload_len, 0);
	assert_int_equal(g.rec[1].len, 4096);
	assert_int_equal(g.rec[2].seq, 1003);
	assert_int_equal(g.rec[4].disk_id, HRL_DISK_ALL);
	assert_int_equal(hrl_tag_decode(g.payload[4], g.rec[4].payload_len, &tag), 0);
	assert_int_equal(tag.id, 42);
	assert_string_equal(tag.name, "before-upgrade");
	sample_fill(want, 64, 1005);
	assert_memory_equal(g.payload[6], want, 64);
	assert_int_equal(g.rec[6].offset, 65536);
	assert_int_equal(g.rec[7].len, 8192);
	assert_int_equal(g.rec[7].payload_len, 0);
	assert_int_equal(g.rec[7].seq, 1005);

	hrl_reader_init_buf(&r, seg, len);
	while (hrl_reader_next(&r, &rec, &p) == HRL_NEXT_RECORD)
		;
	assert_non_null(hrl_reader_end(&r));
	assert_int_equal(hrl_reader_end(&r)->records, 9);
	assert_int_equal(hrl_reader_end(&r)->first_seq, 1000);
	assert_int_equal(hrl_reader_end(&r)->end_seq, 1006);
	assert_int_equal(hrl_reader_end(&r)->seg_bytes, len);
	assert_int_equal(hrl_reader_end(&r)->payload_bytes, 100 + g.rec[4].payload_len + 64 + 3);
	assert_int_equal(hrl_reader_info(&r)->start_seq, 1000);
	assert_int_equal(hrl_reader_info(&r)->flags, HRL_SEG_RESYNC);
	assert_int_equal(hrl_reader_info(&r)->nr_disks, 2);
	assert_int_equal(hrl_reader_info(&r)->disks[0].uuid[3], 0x5a);
	assert_int_equal(hrl_reader_info(&r)->disks[1].lbs, 4096);
	assert_int_equal(hrl_reader_consumed(&r), len);
	assert_int_equal(hrl_reader_next(&r, &rec, &p), HRL_NEXT_END);
	hrl_reader_free(&r);
}

static void test_empty_segment(void **state)
{
	static struct got g;
	size_t len;

	(void)state;
	len = sample_segment(seg, CAP, 2, 77);
	assert_int_equal(len, 2 * HRL_BLOCK);
	assert_int_equal(read_buf(seg, len, &g), HRL_NEXT_END);
	assert_int_equal(g.n, 0);
}

/* add, addv, reserve+commit and reserve+commit_crc write the same bytes. */
static void test_add_forms_identical(void **state)
{
	static uint8_t a[CAP], b[CAP], data[5000];
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_rec r = { .kind = HRL_WRITE, .disk_id = SAMPLE_DISK_A, .len = 5000 };
	struct iovec iov[3] = {
		{ data, 1 }, { data + 1, 2999 }, { data + 3000, 2000 },
	};
	size_t la, lb;
	void *p;

	(void)state;
	sample_fill(data, sizeof(data), 9);
	sample_info(&info, 10, 0);
	assert_int_equal(hrl_writer_init(&w, a, CAP, &info), 0);
	r.seq = 10;
	assert_int_equal(hrl_writer_add(&w, &r, data), 0);
	r.seq = 11;
	assert_int_equal(hrl_writer_add(&w, &r, data), 0);
	r.seq = 12;
	assert_int_equal(hrl_writer_add(&w, &r, data), 0);
	assert_int_equal(hrl_writer_finish(&w, &la, NULL), 0);

	assert_int_equal(hrl_writer_init(&w, b, CAP, &info), 0);
	r.seq = 10;
	assert_int_equal(hrl_writer_addv(&w, &r, iov, 3), 0);
	r.seq = 11;
	assert_int_equal(hrl_writer_reserve(&w, &r, &p), 0);
	memcpy(p, data, 5000);
	assert_int_equal(hrl_writer_commit(&w), 0);
	r.seq = 12;
	assert_int_equal(hrl_writer_reserve(&w, &r, &p), 0);
	memcpy(p, data, 5000);
	assert_int_equal(hrl_writer_commit_crc(&w, crc32c(0, data, 5000)), 0);
	assert_int_equal(hrl_writer_commit(&w), -EINVAL);	/* nothing reserved */
	assert_int_equal(hrl_writer_finish(&w, &lb, NULL), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, la);

	/* a wrong crc from the caller is caught by the reader */
	assert_int_equal(hrl_writer_init(&w, b, CAP, &info), 0);
	r.seq = 10;
	assert_int_equal(hrl_writer_reserve(&w, &r, &p), 0);
	memcpy(p, data, 5000);
	assert_int_equal(hrl_writer_commit_crc(&w, 1234), 0);
	assert_int_equal(hrl_writer_finish(&w, &lb, NULL), 0);
	{
		static struct got g;

		assert_int_equal(read_buf(b, lb, &g), -EBADMSG);
	}
}

static void test_writer_rules(void **state)
{
	struct hrl_seg_info info;
	struct hrl_writer w;
	uint8_t data[16] = { 0 };
	struct hrl_rec r = {
		.kind = HRL_WRITE, .disk_id = SAMPLE_DISK_A, .seq = 50, .len = 16,
	};
	struct hrl_rec bad;

	(void)state;
	sample_info(&info, 50, 0);
	assert_int_equal(hrl_writer_init(&w, seg, CAP - 1, &info), -EINVAL);
	assert_int_equal(hrl_writer_init(&w, seg, HRL_BLOCK, &info), -ENOSPC);
	info.flags = 0x80;
	assert_int_equal(hrl_writer_init(&w, seg, CAP, &info), -EINVAL);
	info.flags = 0;
	info.disks[1].id = info.disks[0].id;
	assert_int_equal(hrl_writer_init(&w, seg, CAP, &info), -EINVAL);
	sample_info(&info, 50, 0);
	assert_int_equal(hrl_writer_init(&w, seg, CAP, &info), 0);

	bad = r, bad.kind = 0;
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	bad = r, bad.kind = HRL_KIND_MAX + 1;
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	assert_non_null(strstr(w.error, "unknown record kind"));
	bad = r, bad.disk_id = 99;
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	assert_non_null(strstr(w.error, "99"));
	bad = r, bad.seq = 49;
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	assert_non_null(strstr(w.error, "seq 49 is before"));
	bad = r, bad.len = 0;
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	bad = r, bad.flags = 0x100;
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	bad = r, bad.offset = UINT64_MAX - 3;
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	bad = r, bad.kind = HRL_RESYNC;	/* not a resync segment */
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);
	bad = r, bad.kind = HRL_FLUSH;	/* flush with a range */
	assert_int_equal(hrl_writer_add(&w, &bad, data), -EINVAL);

	assert_int_equal(hrl_writer_add(&w, &r, data), 0);
	/* consuming seqs strictly increase; markers stand at the position */
	assert_int_equal(hrl_writer_add(&w, &r, data), -EINVAL);
	bad = r, bad.kind = HRL_FLUSH, bad.len = 0, bad.seq = 50;
	assert_int_equal(hrl_writer_add(&w, &bad, NULL), -EINVAL);
	bad.seq = 51;
	assert_int_equal(hrl_writer_add(&w, &bad, NULL), 0);
	r.seq = 51;
	assert_int_equal(hrl_writer_add(&w, &r, data), 0);
	assert_int_equal(hrl_writer_records(&w), 3);
}

/* Recompute every crc after a record header was patched in place. */
static void reseal(uint8_t *buf, size_t len)
{
	uint32_t seg_crc, hdr_size, chain, crc;
	uint8_t seed[4];
	size_t off;

	memcpy(&seg_crc, buf + 28, 4);
	memcpy(&hdr_size, buf + 12, 4);
	memcpy(seed, &seg_crc, 4);
	chain = crc32c(0, seed, 4);
	for (off = hdr_size; !memcmp(buf + off, "HREC", 4);) {
		uint32_t plen;

		crc = crc32c(crc32c(0, seed, 4), buf + off, 60);
		memcpy(buf + off + 60, &crc, 4);
		chain = crc32c(chain, (uint8_t *)&crc, 4);
		memcpy(&plen, buf + off + 40, 4);
		off += hrl_rec_size(plen);
	}
	memcpy(buf + len - 64 + 48, &chain, 4);
	crc = crc32c(crc32c(0, seed, 4), buf + len - 64, 60);
	memcpy(buf + len - 4, &crc, 4);
}

/* A resync-zero record patched into shape x must be refused with why. */
static void zero_refused(bool flagged, uint32_t disk, uint32_t len,
			 const char *why)
{
	static uint8_t buf[CAP];
	static struct got g;
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_rec r = {
		.kind = HRL_METADATA, .disk_id = SAMPLE_DISK_A, .seq = 7,
		.offset = 4096, .len = 4096,
	};
	struct hrl_reader rd;
	struct hrl_rec rec;
	const void *p;
	uint16_t kind = HRL_RESYNC_ZERO;
	size_t n;
	char msg[256];

	sample_info(&info, 7, flagged ? HRL_SEG_RESYNC : 0);
	assert_int_equal(hrl_writer_init(&w, buf, CAP, &info), 0);
	assert_int_equal(hrl_writer_add(&w, &r, NULL), 0);
	assert_int_equal(hrl_writer_finish(&w, &n, NULL), 0);
	memcpy(buf + HRL_BLOCK + 4, &kind, 2);
	memcpy(buf + HRL_BLOCK + 32, &len, 4);
	memcpy(buf + HRL_BLOCK + 36, &disk, 4);
	reseal(buf, n);
	assert_int_equal(read_buf(buf, n, &g), -EBADMSG);
	hrl_reader_init_buf(&rd, buf, n);
	assert_int_equal(hrl_reader_next(&rd, &rec, &p), -EBADMSG);
	hrl_strerror(hrl_reader_error(&rd), msg, sizeof(msg));
	if (!strstr(msg, why))
		fail_msg("'%s' does not say '%s'", msg, why);
	hrl_reader_free(&rd);
}

/*
 * HRL_RESYNC_ZERO: a marker (does not consume seq) without payload, with a
 * range on a disk, only in resync segments; writer and reader agree.
 */
static void test_resync_zero_rules(void **state)
{
	static struct got g;
	struct hrl_seg_info info;
	struct hrl_seg_end end;
	struct hrl_writer w;
	struct hrl_rec z = {
		.kind = HRL_RESYNC_ZERO, .disk_id = SAMPLE_DISK_A, .seq = 20,
		.offset = 1 << 20, .len = 1 << 20,
	}, bad;
	size_t len;

	(void)state;
	assert_string_equal(hrl_kind_name(HRL_RESYNC_ZERO), "resync-zero");
	assert_false(hrl_kind_consumes_seq(HRL_RESYNC_ZERO));
	sample_info(&info, 20, 0);
	assert_int_equal(hrl_writer_init(&w, seg, CAP, &info), 0);
	assert_int_equal(hrl_writer_add(&w, &z, NULL), -EINVAL);

	sample_info(&info, 20, HRL_SEG_RESYNC);
	assert_int_equal(hrl_writer_init(&w, seg, CAP, &info), 0);
	bad = z, bad.len = 0;
	assert_int_equal(hrl_writer_add(&w, &bad, NULL), -EINVAL);
	bad = z, bad.disk_id = HRL_DISK_ALL;
	assert_int_equal(hrl_writer_add(&w, &bad, NULL), -EINVAL);
	bad = z, bad.offset = UINT64_MAX - 100;
	assert_int_equal(hrl_writer_add(&w, &bad, NULL), -EINVAL);
	assert_int_equal(hrl_writer_add(&w, &z, NULL), 0);
	/* a marker: the same seq again, then a write at that seq */
	assert_int_equal(hrl_writer_add(&w, &z, NULL), 0);
	bad = z, bad.kind = HRL_WRITE, bad.len = 16;
	assert_int_equal(hrl_writer_add(&w, &bad, seg + 8192), 0);
	assert_int_equal(hrl_writer_finish(&w, &len, &end), 0);
	assert_int_equal(end.end_seq, 21);
	assert_int_equal(end.payload_bytes, 16);
	assert_int_equal(read_buf(seg, len, &g), HRL_NEXT_END);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.rec[0].kind, HRL_RESYNC_ZERO);
	assert_int_equal(g.rec[0].len, 1 << 20);
	assert_int_equal(g.rec[0].payload_len, 0);

	/* the reader refuses what the writer would not write */
	zero_refused(false, SAMPLE_DISK_A, 4096,
		     "resync-zero chunk in a segment without the resync flag");
	zero_refused(true, SAMPLE_DISK_A, 0, "resync-zero of length 0");
	zero_refused(true, HRL_DISK_ALL, 4096, "is not in the segment header");
	zero_refused(true, 99, 4096, "disk 99 is not in the segment header");
}

static void test_enospc_and_room(void **state)
{
	static uint8_t buf[6 * HRL_BLOCK], data[HRL_BLOCK];
	static struct got g;
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_rec r = { .kind = HRL_WRITE, .disk_id = SAMPLE_DISK_A, .len = 1000 };
	struct hrl_seg_end end;
	size_t bytes, room;
	int n = 0, ret;

	(void)state;
	sample_info(&info, 0, 0);
	assert_int_equal(hrl_writer_init(&w, buf, sizeof(buf), &info), 0);
	for (;;) {
		room = hrl_writer_room(&w);
		r.seq = n;
		ret = hrl_writer_add(&w, &r, data);
		if (ret)
			break;
		n++;
	}
	assert_int_equal(ret, -ENOSPC);
	assert_true(room < 1000);
	if (room) {
		r.len = room;
		assert_int_equal(hrl_writer_add(&w, &r, data), 0);
		n++;
		assert_int_equal(hrl_writer_room(&w), 0);
	}
	assert_int_equal(hrl_writer_finish(&w, &bytes, &end), 0);
	assert_int_equal(bytes, sizeof(buf));
	assert_int_equal(end.records, n);
	assert_int_equal(end.end_seq, n);
	assert_int_equal(read_buf(buf, bytes, &g), HRL_NEXT_END);
	assert_int_equal(hrl_writer_finish(&w, &bytes, &end), -EINVAL);
}

/*
 * Every byte of the sample, every other value (all 255 of them, or the 8
 * single-bit flips): the reader refuses each one.
 */
static void corrupt_every_byte(int variant, bool all_values)
{
	static uint8_t copy[CAP];
	static struct got g;
	size_t len, i;
	unsigned int v;

	len = sample_segment(seg, CAP, variant, 1000);
	memcpy(copy, seg, len);
	for (i = 0; i < len; i++) {
		for (v = 0; v < 256; v++) {
			int ret;

			if (v == seg[i])
				continue;
			if (!all_values && __builtin_popcount(v ^ seg[i]) != 1)
				continue;
			copy[i] = v;
			ret = read_buf(copy, len, &g);
			if (ret >= 0)
				fail_msg("byte %zu set to 0x%02x not detected", i, v);
			assert_true(ret == -EBADMSG || ret == -EPIPE);
		}
		copy[i] = seg[i];
	}
}

static void test_every_corruption_detected(void **state)
{
	(void)state;
	corrupt_every_byte(0, true);	/* every record kind */
	corrupt_every_byte(1, false);
}

static void test_every_truncation_detected(void **state)
{
	static struct got g;
	size_t len, i;

	(void)state;
	len = sample_segment(seg, CAP, 0, 1000);
	for (i = 0; i < len; i++)
		assert_int_equal(read_buf(seg, i, &g), -EPIPE);
	assert_int_equal(read_buf(seg, len, &g), HRL_NEXT_END);
}

/* A crash while writing into a zero-filled spool file: torn, not corrupt. */
static void test_torn_segment(void **state)
{
	static uint8_t pre[CAP];
	static struct got g;
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *p;
	size_t len;
	int ret;

	(void)state;
	len = sample_segment(seg, CAP, 1, 5);
	memset(pre, 0, sizeof(pre));
	memcpy(pre, seg, len - HRL_TRAILER_SIZE);	/* trailer never written */
	assert_int_equal(read_buf(pre, sizeof(pre), &g), -EPIPE);
	assert_int_equal(g.n, 5);

	/* only the first records made it: zeros after record 1 */
	memset(pre, 0, sizeof(pre));
	memcpy(pre, seg, g.rec[2].seg_offset);
	hrl_reader_init_buf(&r, pre, sizeof(pre));
	while ((ret = hrl_reader_next(&r, &rec, &p)) == HRL_NEXT_RECORD)
		;
	assert_int_equal(ret, -EPIPE);
	assert_non_null(strstr(hrl_reader_error(&r)->reason, "torn"));
	hrl_reader_free(&r);
}

/* A record copied from another segment fails: crcs are segment-seeded. */
static void test_splice_detected(void **state)
{
	static uint8_t other[CAP];
	static struct got g, h;
	size_t len, len2;

	(void)state;
	len = sample_segment(seg, CAP, 1, 1000);
	len2 = sample_segment(other, CAP, 1, 2000);
	assert_int_equal(len, len2);
	assert_int_equal(read_buf(seg, len, &g), HRL_NEXT_END);
	assert_int_equal(read_buf(other, len, &h), HRL_NEXT_END);
	memcpy(seg + g.rec[1].seg_offset, other + h.rec[1].seg_offset,
	       g.rec[2].seg_offset - g.rec[1].seg_offset);
	assert_int_equal(read_buf(seg, len, &g), -EBADMSG);
	assert_int_equal(g.n, 1);
}

static void test_error_message(void **state)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *p;
	char msg[256];
	size_t len;
	int ret;

	(void)state;
	len = sample_segment(seg, CAP, 1, 1000);
	seg[HRL_BLOCK + HRL_REC_HDR_SIZE + 5] ^= 1;	/* payload of record 0 */
	hrl_reader_init_buf(&r, seg, len);
	while ((ret = hrl_reader_next(&r, &rec, &p)) == HRL_NEXT_RECORD)
		;
	assert_int_equal(ret, -EBADMSG);
	hrl_strerror(hrl_reader_error(&r), msg, sizeof(msg));
	assert_non_null(strstr(msg, "record 0 at offset 4096: payload crc mismatch"));
	hrl_reader_free(&r);
}

/* Push mode over every chunk size gives what buffer mode gives. */
static void test_push_any_chunking(void **state)
{
	static struct got want;
	size_t len, chunk;

	(void)state;
	len = sample_segment(seg, CAP, 0, 1000);
	assert_int_equal(read_buf(seg, len, &want), HRL_NEXT_END);
	for (chunk = 1; chunk <= len; chunk = chunk < 200 ? chunk + 1 : chunk * 3 / 2) {
		struct hrl_reader r;
		struct hrl_rec rec;
		const void *p;
		size_t off = 0;
		int n = 0, ret;

		hrl_reader_init_push(&r);
		for (;;) {
			ret = hrl_reader_next(&r, &rec, &p);
			if (ret == HRL_NEXT_MORE) {
				size_t c = len - off < chunk ? len - off : chunk;

				if (!c) {
					hrl_reader_push_eof(&r);
					continue;
				}
				assert_int_equal(hrl_reader_push(&r, seg + off, c), 0);
				off += c;
				continue;
			}
			if (ret != HRL_NEXT_RECORD)
				break;
			assert_int_equal(rec.seq, want.rec[n].seq);
			assert_int_equal(rec.payload_len, want.rec[n].payload_len);
			if (p)
				assert_memory_equal(p, want.payload[n], rec.payload_len);
			n++;
		}
		assert_int_equal(ret, HRL_NEXT_END);
		assert_int_equal(n, want.n);
		hrl_reader_free(&r);
	}
}

static int memfd_with(const void *buf, size_t len)
{
	int fd = memfd_create("hrl", 0);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* fd mode, with a record larger than the reader's chunk; verify_fd. */
static void test_fd_mode_and_verify(void **state)
{
	size_t cap = 8 << 20, len, big = (3 << 20) + 5;
	uint8_t *buf = aligned_alloc(4096, cap), *data = malloc(big);
	struct hrl_seg_info info;
	struct hrl_seg_end end;
	struct hrl_error err;
	struct hrl_writer w;
	struct hrl_reader r;
	struct hrl_rec rec = { .kind = HRL_WRITE, .disk_id = SAMPLE_DISK_B, .len = big };
	const void *p;
	int fd, ret;

	(void)state;
	sample_fill(data, big, 3);
	sample_info(&info, 3, 0);
	assert_int_equal(hrl_writer_init(&w, buf, cap, &info), 0);
	rec.seq = 3;
	assert_int_equal(hrl_writer_add(&w, &rec, data), 0);
	rec.seq = 4, rec.len = 10;
	assert_int_equal(hrl_writer_add(&w, &rec, data), 0);
	assert_int_equal(hrl_writer_finish(&w, &len, NULL), 0);

	fd = memfd_with(buf, len);
	assert_int_equal(hrl_reader_init_fd(&r, fd), 0);
	assert_int_equal(hrl_reader_next(&r, &rec, &p), HRL_NEXT_RECORD);
	assert_int_equal(rec.len, big);
	assert_memory_equal(p, data, big);
	assert_int_equal(hrl_reader_next(&r, &rec, &p), HRL_NEXT_RECORD);
	assert_int_equal(hrl_reader_next(&r, &rec, &p), HRL_NEXT_END);
	hrl_reader_free(&r);

	assert_int_equal(hrl_verify_fd(fd, &info, &end, &err), 0);
	assert_int_equal(end.records, 2);
	assert_int_equal(end.end_seq, 5);
	/* a byte after the end of the segment */
	assert_int_equal(write(fd, "x", 1), 1);
	lseek(fd, 0, SEEK_SET);
	ret = hrl_verify_fd(fd, NULL, NULL, &err);
	assert_int_equal(ret, -EBADMSG);
	assert_non_null(strstr(err.reason, "after the end"));
	/* truncated file */
	assert_int_equal(ftruncate(fd, len - 1), 0);
	lseek(fd, 0, SEEK_SET);
	assert_int_equal(hrl_verify_fd(fd, NULL, NULL, &err), -EPIPE);
	close(fd);
	free(buf);
	free(data);
}

static void test_from_ferry(void **state)
{
	struct ferry_rec fr = {
		.seq = 9, .offset = 4096, .time_ns = 77, .len = 512, .disk_id = 3,
		.crc = 0xabcd, .op = FERRY_OP_WRITE,
		.flags = FERRY_REC_FUA | FERRY_REC_PREFLUSH,
	};
	struct hrl_rec r;

	(void)state;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), 0);
	assert_int_equal(r.kind, HRL_WRITE);
	assert_int_equal(r.flags, HRL_REC_FUA | HRL_REC_PREFLUSH);
	assert_int_equal(r.data_crc, 0xabcd);
	assert_int_equal(r.payload_len, 512);
	fr.flags |= FERRY_REC_NODATA;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), 0);
	assert_int_equal(r.kind, HRL_METADATA);
	assert_int_equal(r.payload_len, 0);
	fr.op = FERRY_OP_SECURE_ERASE;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), 0);
	assert_int_equal(r.kind, HRL_DISCARD);
	fr.op = FERRY_OP_WRITE_ZEROES;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), 0);
	assert_int_equal(r.kind, HRL_WRITE_ZEROES);
	fr.op = FERRY_OP_DIRTY;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), 0);
	assert_int_equal(r.kind, HRL_METADATA);
	fr.op = FERRY_OP_FLUSH;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), 0);
	assert_int_equal(r.kind, HRL_FLUSH);
	assert_int_equal(r.len, 0);
	fr.op = FERRY_OP_PAD;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), -EINVAL);
	fr.op = 99;
	assert_int_equal(hrl_rec_from_ferry(&r, &fr), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_every_kind),
		cmocka_unit_test(test_empty_segment),
		cmocka_unit_test(test_add_forms_identical),
		cmocka_unit_test(test_writer_rules),
		cmocka_unit_test(test_resync_zero_rules),
		cmocka_unit_test(test_enospc_and_room),
		cmocka_unit_test(test_every_corruption_detected),
		cmocka_unit_test(test_every_truncation_detected),
		cmocka_unit_test(test_torn_segment),
		cmocka_unit_test(test_splice_detected),
		cmocka_unit_test(test_error_message),
		cmocka_unit_test(test_push_any_chunking),
		cmocka_unit_test(test_fd_mode_and_verify),
		cmocka_unit_test(test_from_ferry),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
