// SPDX-License-Identifier: GPL-2.0
/*
 * unit-resync: the re-read engine's range queue (merge, clip to the disk,
 * widen to 4 KiB, split into blocks, turns with the initial copy) and its
 * zero-run detection, on a regular file with the pread(2) path.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/ferryd/resync.h"

#define DISK	(64u << 10)

static char path[] = "/tmp/unit-resync.XXXXXX";
static struct ferry_ring_hdr hdr = { .next_seq = 7, .head = 640 };

static struct resync *make(uint32_t block, unsigned int qd)
{
	struct resync_conf c = { .block_size = block, .queue_depth = qd };
	uint8_t uuid[16] = { 1 };
	struct resync *rs;
	char why[256];

	assert_int_equal(resync_create(&rs, &c, why, sizeof(why)), 0);
	assert_int_equal(resync_add_disk(rs, 3, path, DISK, uuid, why,
					 sizeof(why)), 0);
	return rs;
}

/* Issue one read and take it out: its range. */
static int take_one(struct resync *rs, uint64_t *off, uint32_t *len)
{
	struct resync_chunk *c;

	if (resync_issue(rs, &hdr, NULL, 0) < 1)
		return 0;
	c = resync_oldest(rs);
	assert_non_null(c);
	assert_true(c->done);
	assert_int_equal(c->seq, 7);
	assert_int_equal(c->head, 640);
	*off = c->offset;
	*len = c->len;
	resync_added(rs, c, 1);
	return 1;
}

static void test_merge_clip(void **state)
{
	struct resync *rs = make(16384, 1);
	struct resync_disk_stat st;
	uint64_t off;
	uint32_t len;

	(void)state;
	assert_int_equal(resync_queue(rs, 9, 0, 10, RESYNC_METADATA), -ENOENT);
	assert_int_equal(resync_queue(rs, 3, 100, 10, RESYNC_METADATA), 0);
	assert_int_equal(resync_queue(rs, 3, 4000, 2000, RESYNC_BITMAP), 0);
	assert_int_equal(resync_queue(rs, 3, 60000, 1 << 20, RESYNC_HASH), 0);
	assert_int_equal(resync_queue(rs, 3, DISK + 4096, 10, RESYNC_HASH), 0);
	assert_int_equal(resync_get_stat(rs, 3, &st), 0);
	assert_int_equal(st.queued, 8192 + 8192);	/* widened, merged, clipped */
	assert_true(st.active);
	assert_false(resync_idle(rs, 3));
	assert_int_equal(take_one(rs, &off, &len), 1);
	assert_int_equal(off, 0);
	assert_int_equal(len, 8192);
	assert_int_equal(take_one(rs, &off, &len), 1);
	assert_int_equal(off, DISK - 8192);
	assert_int_equal(len, 8192);
	assert_int_equal(take_one(rs, &off, &len), 0);
	assert_true(resync_busy(rs) == false);
	assert_false(resync_seal_wanted(rs));	/* no initial copy */
	assert_false(resync_idle(rs, 3));	/* not sealed yet */
	resync_sealed(rs, 1);
	assert_true(resync_idle(rs, 3));
	resync_destroy(rs);
}

static void test_blocks_and_sweep(void **state)
{
	struct resync *rs = make(16384, 1);
	uint64_t off, seen = 0;
	uint32_t len;
	int n = 0;

	(void)state;
	assert_int_equal(resync_queue(rs, 3, 0, 40000, RESYNC_METADATA), 0);
	assert_int_equal(resync_queue_disk(rs, 3, RESYNC_INITIAL), 0);
	/* the queue and the initial sweep take turns, 16 KiB at a time */
	while (take_one(rs, &off, &len)) {
		assert_true(len <= 16384);
		assert_int_equal(off % 4096, 0);
		seen += len;
		n++;
	}
	assert_int_equal(seen, 40960 + DISK);
	assert_int_equal(n, 3 + 4);
	/* the sweep's last chunk is in: its segment is sealed at once */
	assert_true(resync_seal_wanted(rs));
	assert_false(resync_seal_wanted(rs));
	resync_sealed(rs, 1);
	assert_true(resync_initial_done(rs, 3));	/* every chunk sealed */
	resync_destroy(rs);
}

static void test_zero_runs(void **state)
{
	static uint8_t buf[5 * 4096 + 512];
	struct resync_piece p[8];
	unsigned int n;

	(void)state;
	n = resync_split(buf, sizeof(buf), p, 8);
	assert_int_equal(n, 1);
	assert_true(p[0].zero);
	assert_int_equal(p[0].len, sizeof(buf));
	buf[4096 + 17] = 1;		/* block 1 */
	buf[4 * 4096] = 1;		/* block 4 */
	n = resync_split(buf, sizeof(buf), p, 8);
	assert_int_equal(n, 5);
	assert_true(p[0].zero && p[0].off == 0 && p[0].len == 4096);
	assert_true(!p[1].zero && p[1].off == 4096 && p[1].len == 4096);
	assert_true(p[2].zero && p[2].off == 8192 && p[2].len == 8192);
	assert_true(!p[3].zero && p[3].off == 16384 && p[3].len == 4096);
	assert_true(p[4].zero && p[4].off == 20480 && p[4].len == 512);
	/* out of room: the rest goes into the last piece, as data */
	n = resync_split(buf, sizeof(buf), p, 2);
	assert_int_equal(n, 2);
	assert_false(p[1].zero);
	assert_int_equal(p[1].off + p[1].len, sizeof(buf));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_clip),
		cmocka_unit_test(test_blocks_and_sweep),
		cmocka_unit_test(test_zero_runs),
	};
	int fd = mkstemp(path), r;
	static uint8_t data[DISK];

	memset(data, 0xab, sizeof(data));
	if (fd < 0 || write(fd, data, sizeof(data)) != sizeof(data))
		return 1;
	close(fd);
	r = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(path);
	return r;
}
