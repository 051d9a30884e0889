// SPDX-License-Identifier: GPL-2.0
/*
 * bench-hrl [SECONDS]: encode and verify rates of .hrl segments beside a
 * plain memcpy of the same payload bytes into the same buffer.
 *
 * For each record size, a segment buffer of SEG bytes is filled again and
 * again from a payload pool (larger than the last-level cache, so both
 * sides read cold source data):
 *   memcpy   memcpy of each payload into its place in the buffer
 *   encode   hrl_writer_init + hrl_writer_add (copy + crc32c + header) +
 *            hrl_writer_finish
 *   verify   hrl_reader over the finished segment (every crc, every rule)
 * Rates are payload bytes per second; each figure is the best of ROUNDS
 * interleaved runs of at least SECONDS (default 0.5) each.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ferry/crc32c.h>
#include <ferry/hrl.h>

#define SEG	(16u << 20)
#define POOL	(256u << 20)
#define ROUNDS	5

static uint8_t *seg, *pool;
static double min_secs = 0.5;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void info_init(struct hrl_seg_info *info)
{
	memset(info, 0, sizeof(*info));
	info->nr_disks = 1;
	info->disks[0].id = 1;
}

/* One pass over a segment's worth of records; returns payload bytes. */
static size_t pass_memcpy(uint32_t rec, size_t *src)
{
	size_t off = 4096, bytes = 0;

	while (off + hrl_rec_size(rec) + 4096 <= SEG) {
		if (*src + rec > POOL)
			*src = 0;
		memcpy(seg + off + HRL_REC_HDR_SIZE, pool + *src, rec);
		*src += rec;
		off += hrl_rec_size(rec);
		bytes += rec;
	}
	return bytes;
}

static uint64_t seq;

static size_t pass_encode(uint32_t rec, size_t *src)
{
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_rec r = { .kind = HRL_WRITE, .disk_id = 1, .len = rec };
	size_t bytes = 0, len;

	info_init(&info);
	info.start_seq = seq;
	if (hrl_writer_init(&w, seg, SEG, &info))
		abort();
	for (;;) {
		if (*src + rec > POOL)
			*src = 0;
		r.seq = seq;
		r.offset = (uint64_t)seq * rec;
		if (hrl_writer_add(&w, &r, pool + *src))
			break;
		seq++;
		*src += rec;
		bytes += rec;
	}
	if (hrl_writer_finish(&w, &len, NULL))
		abort();
	return bytes;
}

static size_t pass_verify(uint32_t rec, size_t *src)
{
	struct hrl_reader r;
	struct hrl_rec out;
	const void *p;
	size_t bytes = 0;
	int ret;

	(void)rec;
	(void)src;
	hrl_reader_init_buf(&r, seg, SEG);
	while ((ret = hrl_reader_next(&r, &out, &p)) == HRL_NEXT_RECORD)
		bytes += out.payload_len;
	if (ret != HRL_NEXT_END) {
		fprintf(stderr, "bench-hrl: verify: %s\n", hrl_reader_error(&r)->reason);
		exit(1);
	}
	hrl_reader_free(&r);
	return bytes;
}

/* GB/s of payload over at least min_secs of passes. */
static double rate(size_t (*pass)(uint32_t, size_t *), uint32_t rec,
		   size_t *src)
{
	double t0 = now(), t;
	size_t bytes = 0;

	do {
		bytes += pass(rec, src);
		t = now() - t0;
	} while (t < min_secs);
	return bytes / t / 1e9;
}

/*
 * The three measurements of one record size, interleaved ROUNDS times and
 * the best of each kept, so that a busy machine slows all three alike.
 */
static void measure(uint32_t rec, double *m, double *e, double *v)
{
	size_t src = 0;
	int i;

	*m = *e = *v = 0;
	for (i = 0; i < ROUNDS; i++) {
		double x;

		x = rate(pass_memcpy, rec, &src);
		*m = x > *m ? x : *m;
		x = rate(pass_encode, rec, &src);
		*e = x > *e ? x : *e;
		x = rate(pass_verify, rec, &src);
		*v = x > *v ? x : *v;
	}
}

/* Best of ROUNDS, as for the others. */
static double crc_rate(uint32_t (*fn)(uint32_t, const void *, size_t))
{
	size_t src = 0;
	double best = 0;
	uint32_t crc = 0;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		double t0 = now(), t;
		size_t bytes = 0;

		do {
			if (src + SEG > POOL)
				src = 0;
			crc = fn(crc, pool + src, SEG);
			src += SEG;
			bytes += SEG;
			t = now() - t0;
		} while (t < min_secs);
		if (bytes / t / 1e9 > best)
			best = bytes / t / 1e9;
	}
	if (crc == 0x12345678)
		printf(" ");
	return best;
}

int main(int argc, char **argv)
{
	static const uint32_t sizes[] = { 4096, 65536, 1 << 20 };
	size_t i;

	if (argc > 1)
		min_secs = atof(argv[1]);
	seg = aligned_alloc(4096, SEG);
	pool = aligned_alloc(4096, POOL);
	if (!seg || !pool)
		return 1;
	for (i = 0; i < POOL; i++)
		pool[i] = i * 2654435761u >> 13;
	memset(seg, 0, SEG);

	printf("crc32c, cold 16 MiB buffers: %s %.2f GB/s, table %.2f GB/s\n",
	       crc32c_hw_available() ? "hardware" : "(no sse4.2)",
	       crc_rate(crc32c), crc_rate(crc32c_sw));
	printf("%-8s %12s %12s %12s %8s %8s\n", "record", "memcpy", "encode",
	       "verify", "enc/cpy", "ver/cpy");
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double m, e, v;

		measure(sizes[i], &m, &e, &v);

		printf("%-8u %7.2f GB/s %7.2f GB/s %7.2f GB/s %8.2f %8.2f\n",
		       sizes[i], m, e, v, e / m, v / m);
	}
	return 0;
}
