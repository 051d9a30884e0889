// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-hrl-records: the input drives the writer (record fields, payload
 * sizes, the add form used); every segment the writer accepts must read
 * back, in buffer mode, with exactly the records that went in.  Writer
 * and reader enforce the same rules, so they must never disagree.
 */
#include <errno.h>
#include <string.h>
#include <ferry/crc32c.h>
#include <ferry/hrl.h>
#include "fuzz.h"

#define CAP	(64 * 1024)
#define MAX_RECS 256

struct in {
	const uint8_t *p;
	size_t left;
};

static uint64_t take(struct in *in, int bytes)
{
	uint64_t v = 0;

	while (bytes-- && in->left) {
		v = v << 8 | *in->p++;
		in->left--;
	}
	return v;
}

static const uint32_t disks[] = { 0, 5, 0xfffffffeu };

static void info_from(struct in *in, struct hrl_seg_info *info)
{
	memset(info, 0, sizeof(*info));
	info->start_seq = take(in, 2);
	info->flags = take(in, 1) & 3;
	info->created_ns = take(in, 8);
	info->machine_id[0] = take(in, 1);
	info->nr_disks = 3;
	info->disks[0].id = disks[0];
	info->disks[1].id = disks[1];
	info->disks[2].id = disks[2];
}

static void rec_from(struct in *in, struct hrl_rec *r, uint64_t *seq)
{
	uint8_t k = take(in, 1), d = take(in, 1);

	memset(r, 0, sizeof(*r));
	r->kind = k & 15;	/* 1..HRL_KIND_MAX valid, 0 and 9..15 not */
	r->flags = k >> 6 ? 1u << (k >> 6) >> 1 : 0;
	r->disk_id = d % 4 == 3 ? HRL_DISK_ALL : disks[d % 4];
	*seq += take(in, 1) % 4;
	r->seq = *seq - (d >> 7);
	r->offset = take(in, 1) & 1 ? UINT64_MAX - take(in, 2) : take(in, 3);
	r->len = take(in, 2);
	r->time_ns = take(in, 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t seg[CAP], payload[65536];
	static struct hrl_rec want[MAX_RECS];
	struct in in = { data, size };
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_reader r;
	struct hrl_rec rec;
	struct hrl_tag tag = { .id = 1, .name = "x" };
	const void *p;
	uint64_t seq;
	size_t bytes, i;
	int n = 0, ret;

	if (!payload[1])
		for (i = 0; i < sizeof(payload); i++)
			payload[i] = i * 7 + 1;
	info_from(&in, &info);
	if (hrl_writer_init(&w, seg, CAP, &info))
		return 0;
	seq = info.start_seq;
	while (in.left && n < MAX_RECS) {
		void *dst;
		uint8_t form = take(&in, 1);

		rec_from(&in, &want[n], &seq);
		if (want[n].kind == HRL_TAG) {
			ret = hrl_writer_add_tag(&w, want[n].seq, &tag);
		} else if (form & 1) {
			ret = hrl_writer_reserve(&w, &want[n], &dst);
			if (!ret) {
				memcpy(dst, payload, want[n].kind == HRL_WRITE ||
				       want[n].kind == HRL_RESYNC ? want[n].len : 0);
				ret = hrl_writer_commit(&w);
			}
		} else {
			ret = hrl_writer_add(&w, &want[n], payload);
		}
		FUZZ_CHECK(ret == 0 || ret == -EINVAL || ret == -ENOSPC);
		if (!ret)
			n++;
	}
	FUZZ_CHECK(hrl_writer_finish(&w, &bytes, NULL) == 0);
	FUZZ_CHECK(bytes % HRL_BLOCK == 0 && bytes <= CAP);

	hrl_reader_init_buf(&r, seg, bytes);
	for (i = 0; (ret = hrl_reader_next(&r, &rec, &p)) == HRL_NEXT_RECORD; i++) {
		FUZZ_CHECK(i < (size_t)n);
		FUZZ_CHECK(rec.kind == want[i].kind && rec.seq == want[i].seq);
		if (rec.kind != HRL_TAG) {
			FUZZ_CHECK(rec.disk_id == want[i].disk_id);
			FUZZ_CHECK(rec.offset == want[i].offset && rec.len == want[i].len);
			FUZZ_CHECK(rec.flags == want[i].flags);
			FUZZ_CHECK(rec.time_ns == want[i].time_ns);
		}
		if (rec.kind == HRL_WRITE || rec.kind == HRL_RESYNC) {
			const uint8_t *b = p;
			size_t j;

			for (j = 0; j < rec.len; j++)
				FUZZ_CHECK(b[j] == (uint8_t)(j * 7 + 1));
			FUZZ_CHECK(rec.data_crc == crc32c(0, p, rec.len));
		}
	}
	if (ret != HRL_NEXT_END)
		fprintf(stderr, "reader: %s\n", hrl_reader_error(&r)->reason);
	FUZZ_CHECK(ret == HRL_NEXT_END);
	FUZZ_CHECK(i == (size_t)n);
	FUZZ_CHECK(hrl_reader_end(&r)->seg_bytes == bytes);
	hrl_reader_free(&r);
	return 0;
}
