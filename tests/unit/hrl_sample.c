// SPDX-License-Identifier: GPL-2.0
#include <assert.h>
#include <string.h>
#include "hrl_sample.h"

void sample_info(struct hrl_seg_info *info, uint64_t start_seq, uint32_t flags)
{
	int i;

	memset(info, 0, sizeof(*info));
	for (i = 0; i < 16; i++) {
		info->machine_id[i] = 0xa0 + i;
		info->segment_id[i] = (uint8_t)(start_seq * 31 + i);
	}
	info->created_ns = 1700000000000000000ull + start_seq;
	info->start_seq = start_seq;
	info->flags = flags;
	info->nr_disks = 2;
	info->disks[0].id = SAMPLE_DISK_A;
	info->disks[0].size_bytes = 1 << 20;
	info->disks[0].lbs = 512;
	memset(info->disks[0].uuid, 0x5a, 16);
	info->disks[1].id = SAMPLE_DISK_B;
	info->disks[1].size_bytes = 1 << 20;
	info->disks[1].lbs = 4096;
}

void sample_fill(void *buf, size_t len, uint64_t seq)
{
	uint8_t *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(seq * 131 + i * 7 + (i >> 8));
}

static void add(struct hrl_writer *w, uint16_t kind, uint32_t disk,
		uint64_t seq, uint64_t off, uint32_t len)
{
	static uint8_t data[8192];
	struct hrl_rec r = {
		.kind = kind, .disk_id = disk, .seq = seq, .offset = off,
		.len = len, .time_ns = 1700000000000000000ull + seq,
	};
	int ret;

	sample_fill(data, len, seq);
	ret = hrl_writer_add(w, &r, data);
	assert(ret == 0);
}

size_t sample_segment(void *buf, size_t cap, int variant, uint64_t s)
{
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_tag tag = { .id = 42, .time_ns = 5, .name = "before-upgrade" };
	size_t bytes;
	int ret;

	sample_info(&info, s, variant == 0 ? HRL_SEG_RESYNC : 0);
	ret = hrl_writer_init(&w, buf, cap, &info);
	assert(ret == 0);
	if (variant == 0) {
		add(&w, HRL_WRITE, SAMPLE_DISK_A, s, 4096, 100);
		add(&w, HRL_METADATA, SAMPLE_DISK_B, s + 1, 8192, 4096);
		add(&w, HRL_DISCARD, SAMPLE_DISK_A, s + 3, 0, 1024);
		add(&w, HRL_WRITE_ZEROES, SAMPLE_DISK_B, s + 4, 512, 512);
		ret = hrl_writer_add_tag(&w, s + 5, &tag);
		assert(ret == 0);
		add(&w, HRL_FLUSH, SAMPLE_DISK_A, s + 5, 0, 0);
		add(&w, HRL_RESYNC, SAMPLE_DISK_B, s + 5, 65536, 64);
		add(&w, HRL_RESYNC_ZERO, SAMPLE_DISK_A, s + 5, 8192, 8192);
		add(&w, HRL_WRITE, SAMPLE_DISK_B, s + 5, 1000, 3);
	} else if (variant == 1) {
		add(&w, HRL_WRITE, SAMPLE_DISK_A, s, 0, 4096);
		add(&w, HRL_WRITE, SAMPLE_DISK_B, s + 1, 4096, 512);
		add(&w, HRL_WRITE, SAMPLE_DISK_A, s + 2, 2048, 4096);
		add(&w, HRL_WRITE_ZEROES, SAMPLE_DISK_A, s + 3, 0, 1024);
		add(&w, HRL_WRITE, SAMPLE_DISK_A, s + 4, 512, 100);
	}
	ret = hrl_writer_finish(&w, &bytes, NULL);
	assert(ret == 0);
	return bytes;
}
