// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-seeds DIR: write the seed corpus of every fuzz target into
 * DIR/TARGET/seed-*: valid segments from the unit tests' sample builder
 * (whole, and with the mode byte each target expects), their protobuf
 * headers, a tag, and writer inputs (one with every resync kind).
 * Regenerated on every run, never committed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <ferry/hrl.h>
#include "hrl_sample.h"

#define CAP	(64 * 1024)

static uint8_t seg[CAP] __attribute__((aligned(4096)));

static int put(const char *dir, const char *target, const char *name,
	       uint8_t mode, const void *buf, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, target);
	if (mkdir(path, 0755) && errno != EEXIST)
		return -1;
	snprintf(path, sizeof(path), "%s/%s/seed-%s", dir, target, name);
	f = fopen(path, "w");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || fwrite(buf, 1, len, f) != len ||
	    fclose(f)) {
		perror(path);
		return -1;
	}
	return 0;
}

/*
 * fuzz-hrl-records input for a resync segment (flags 1) holding resync
 * chunks: resync-zero, resync, resync-zero, then a write at the same seq.
 * Per record: form, kind, disk, seq step, offset mode, offset (3), len
 * (2), time.
 */
static const uint8_t zero_in[] = {
	0, 10, 1, 0, 0, 0, 0, 0, 0, 0, 1, 7,
	0, 8, 0, 0, 0, 0, 0x10, 0, 0x20, 0, 1,
	1, 6, 1, 0, 0, 0, 0x20, 0, 0x01, 0, 2,
	0, 8, 1, 0, 0, 0, 0x30, 0, 0x10, 0, 3,
	0, 1, 0, 0, 0, 0, 0x40, 0, 0x02, 0, 4,
};

int main(int argc, char **argv)
{
	static const char *const names[] = { "every-kind", "writes", "empty" };
	uint8_t hdr_pb[HRL_MAX_HDR_SIZE], rec_in[64];
	uint32_t pb_len;
	size_t len, i;
	int v, bad = 0;

	if (argc != 2 || (mkdir(argv[1], 0755) && errno != EEXIST)) {
		fprintf(stderr, "usage: fuzz-seeds DIR\n");
		return 2;
	}
	for (v = 0; v < 3; v++) {
		len = sample_segment(seg, CAP, v, 1000 * v);
		bad |= put(argv[1], "fuzz-hrl-reader", names[v], 0, seg, len);
		bad |= put(argv[1], "fuzz-hrl-reader", names[v] + 1, 1, seg, len);
		bad |= put(argv[1], "fuzz-hrl-reader", names[v] + 2, 0x40, seg, len);
		memcpy(&pb_len, seg + 16, 4);
		memcpy(hdr_pb, seg + 32, pb_len);
		bad |= put(argv[1], "fuzz-hrl-decode", names[v], 0, hdr_pb, pb_len);
		bad |= put(argv[1], "fuzz-proto", names[v], 0, hdr_pb, pb_len);
	}
	/* the tag record of the every-kind sample: find it */
	{
		struct hrl_reader r;
		struct hrl_rec rec;
		const void *p;

		len = sample_segment(seg, CAP, 0, 0);
		hrl_reader_init_buf(&r, seg, len);
		while (hrl_reader_next(&r, &rec, &p) == HRL_NEXT_RECORD)
			if (rec.kind == HRL_TAG)
				bad |= put(argv[1], "fuzz-hrl-decode", "tag", 1, p,
					   rec.payload_len);
		hrl_reader_free(&r);
	}
	for (i = 0; i < sizeof(rec_in); i++)
		rec_in[i] = i % 3 ? 1 : i;
	bad |= put(argv[1], "fuzz-hrl-records", "mixed", 0, rec_in, sizeof(rec_in));
	bad |= put(argv[1], "fuzz-hrl-records", "resync-zero", 0, zero_in,
		   sizeof(zero_in));
	return bad ? 1 : 0;
}
