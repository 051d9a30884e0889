// SPDX-License-Identifier: GPL-2.0
/*
 * unit-hashcmp: ferryd's hash-compare (agent/ferryd/hashcmp.c) with both
 * sides in memory behind struct hashcmp_ops and a resync_queue() that
 * records ranges: equal disks, blocks differing inside a chunk and across
 * a chunk boundary (coalesced), a short last chunk and block, a replica
 * shorter than the disk or missing (then not read at all), a disk of more than one
 * batch of chunk hashes, the spool's extents never queued, stop, and the
 * status line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include <cmocka.h>

#include <ferry/ps_client.h>

#include "../../agent/ferryd/hashcmp.h"
#include "../../agent/ferryd/resync.h"

#define MIB	(1ull << 20)
#define BLK	HASHCMP_BLOCK

struct range {
	uint64_t off, len;
};

static struct range ranges[4096];
static unsigned int nr_ranges;
static int queue_ret;

int resync_queue(struct resync *rs, uint32_t kid, uint64_t offset,
		 uint64_t len, enum resync_reason why)
{
	assert_ptr_equal(rs, (struct resync *)0x5e);
	assert_int_equal(kid, 3);
	assert_int_equal(why, RESYNC_HASH);
	assert_true(len > 0);
	if (queue_ret)
		return queue_ret;
	assert_true(nr_ranges < 4096);
	ranges[nr_ranges].off = offset;
	ranges[nr_ranges++].len = len;
	return 0;
}

int resync_queue_disk(struct resync *rs, uint32_t kid, enum resync_reason why)
{
	(void)rs; (void)kid; (void)why;
	fail_msg("not used by hashcmp.c");
	return -ENOSYS;
}

/* The local disk and the replica, in memory. */
struct fake {
	uint8_t *local;
	uint64_t lsize;
	uint8_t *remote;	/* NULL: no replica */
	uint64_t rsize;
	uint64_t read_bytes;
	uint64_t read_end;	/* highest offset read */
	unsigned int requests;
	volatile int stop;
	unsigned int stop_after;	/* reads, 0: never */
};

static int fake_read(void *arg, uint64_t off, void *buf, size_t len,
		     char *err, size_t errlen)
{
	struct fake *f = arg;

	(void)err; (void)errlen;
	assert_true(len <= HASHCMP_CHUNK);
	assert_true(off + len <= f->lsize);
	assert_int_equal((uintptr_t)buf % 4096, 0);
	memcpy(buf, f->local + off, len);
	f->read_bytes += len;
	if (off + len > f->read_end)
		f->read_end = off + len;
	if (f->stop_after && f->read_bytes >= f->stop_after * HASHCMP_CHUNK)
		f->stop = 1;
	return 0;
}

/* What ferry-ps answers (tools/ps/query.c), with its parameter checks. */
static int fake_hashes(void *arg, uint64_t chunk, uint64_t off, uint32_t count,
		       uint8_t (*out)[32], size_t *n, char *err, size_t errlen)
{
	struct fake *f = arg;
	uint32_t i;

	(void)err; (void)errlen;
	assert_true(chunk && chunk % 4096 == 0 && chunk <= 64 * MIB);
	assert_true(count && count <= PS_HASHES_MAX);
	assert_true(off % chunk == 0);
	assert_true(chunk * count <= 1024 * MIB);
	f->requests++;
	if (!f->remote)
		return -ENOENT;
	for (i = 0; i < count && off + i * chunk < f->rsize; i++) {
		uint64_t o = off + i * chunk;
		uint64_t len = f->rsize - o < chunk ? f->rsize - o : chunk;

		assert_true(EVP_Digest(f->remote + o, len, out[i], NULL,
				       EVP_sha256(), NULL));
	}
	*n = i;
	return 0;
}

static const struct hashcmp_ops fake_ops = {
	.read = fake_read,
	.hashes = fake_hashes,
};

static struct fake *fake_new(uint64_t lsize, uint64_t rsize)
{
	struct fake *f = calloc(1, sizeof(*f));
	uint64_t i;

	assert_non_null(f);
	f->lsize = lsize;
	f->rsize = rsize;
	f->local = malloc(lsize);
	assert_non_null(f->local);
	for (i = 0; i < lsize; i++)
		f->local[i] = (uint8_t)(i * 7 + (i >> 12));
	if (rsize) {
		f->remote = malloc(rsize);
		assert_non_null(f->remote);
		memcpy(f->remote, f->local, lsize < rsize ? lsize : rsize);
	}
	return f;
}

static void fake_free(struct fake *f)
{
	free(f->local);
	free(f->remote);
	free(f);
}

static struct hashcmp_stat st;

static int run(struct fake *f, const struct ferry_extent *skip,
	       unsigned int nr_skip, uint32_t *nranges)
{
	struct hashcmp_job j = {
		.kid = 3, .size = f->lsize, .rs = (struct resync *)0x5e,
		.ops = &fake_ops, .arg = f, .skip = skip, .nr_skip = nr_skip,
		.stop = &f->stop, .st = &st,
	};
	char err[256] = "";
	int ret;

	memset(&st, 0, sizeof(st));
	nr_ranges = 0;
	ret = hashcmp_compare(&j, err, sizeof(err));
	if (nranges)
		*nranges = j.ranges;
	return ret;
}

static void expect_ranges(const struct range *want, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < nr_ranges && i < n; i++) {
		if (ranges[i].off != want[i].off || ranges[i].len != want[i].len)
			fail_msg("range %u: got %llu+%llu, want %llu+%llu", i,
				 (unsigned long long)ranges[i].off,
				 (unsigned long long)ranges[i].len,
				 (unsigned long long)want[i].off,
				 (unsigned long long)want[i].len);
	}
	assert_int_equal(nr_ranges, n);
}

static void flip(struct fake *f, uint64_t off)
{
	f->local[off] ^= 0x5a;
}

static void test_equal(void **state)
{
	struct fake *f = fake_new(4 * MIB, 4 * MIB);

	(void)state;
	assert_int_equal(run(f, NULL, 0, NULL), 0);
	assert_int_equal(nr_ranges, 0);
	assert_int_equal(st.compared, 4 * MIB);
	assert_int_equal(st.differing, 0);
	assert_int_equal(f->read_bytes, 4 * MIB);
	assert_int_equal(f->requests, 2);	/* probe, batch; no 4 KiB pass */
	fake_free(f);
}

static void test_blocks_coalesced(void **state)
{
	struct fake *f = fake_new(4 * MIB, 4 * MIB);
	const struct range want[] = {
		{ 3 * BLK, 3 * BLK },		/* 3, 4, 5 */
		{ 100 * BLK, BLK },
		{ MIB - BLK, 2 * BLK },		/* across chunks 0 and 1 */
		{ 3 * MIB + 7 * BLK, BLK },
	};
	uint32_t n;

	(void)state;
	flip(f, 3 * BLK + 10);
	flip(f, 4 * BLK);
	flip(f, 5 * BLK + BLK - 1);
	flip(f, 100 * BLK + 1000);
	flip(f, MIB - 1);
	flip(f, MIB);
	flip(f, 3 * MIB + 7 * BLK + 5);
	assert_int_equal(run(f, NULL, 0, &n), 0);
	expect_ranges(want, 4);
	assert_int_equal(n, 4);
	assert_int_equal(st.differing, 7 * BLK);
	assert_int_equal(st.queued, 7 * BLK);
	assert_int_equal(st.compared, 4 * MIB);
	/* probe, one batch, then 4 KiB hashes of chunks 0, 1 and 3 */
	assert_int_equal(f->requests, 5);
	fake_free(f);
}

static void test_short_last_chunk(void **state)
{
	uint64_t size = 2 * MIB + 3 * BLK + 512;
	struct fake *f = fake_new(size, size);
	const struct range want[] = { { 2 * MIB + 3 * BLK, 512 } };

	(void)state;
	assert_int_equal(run(f, NULL, 0, NULL), 0);
	assert_int_equal(nr_ranges, 0);		/* equal sizes: equal */
	assert_int_equal(st.compared, size);
	flip(f, size - 1);
	assert_int_equal(run(f, NULL, 0, NULL), 0);
	expect_ranges(want, 1);
	assert_int_equal(st.differing, 512);
	fake_free(f);
}

static void test_replica_shorter(void **state)
{
	struct fake *f = fake_new(5 * MIB, 3 * MIB + BLK);
	const struct range want[] = {
		{ 2 * MIB + 9 * BLK, BLK },
		{ 3 * MIB + BLK, 2 * MIB - BLK },
	};

	(void)state;
	flip(f, 2 * MIB + 9 * BLK);
	assert_int_equal(run(f, NULL, 0, NULL), 0);
	expect_ranges(want, 2);
	assert_int_equal(st.compared, 5 * MIB);
	assert_int_equal(st.differing, 2 * MIB);
	/* read beside the batch's hashes, then counted as different */
	assert_int_equal(f->read_end, 5 * MIB);
	fake_free(f);
}

static void test_no_replica(void **state)
{
	struct fake *f = fake_new(3 * MIB + 512, 0);
	const struct range want[] = { { 0, 3 * MIB + 512 } };

	(void)state;
	assert_int_equal(run(f, NULL, 0, NULL), 0);
	expect_ranges(want, 1);
	assert_int_equal(f->read_bytes, 0);
	assert_int_equal(f->requests, 1);
	assert_int_equal(st.differing, 3 * MIB + 512);
	fake_free(f);
}

/* More chunks than one request: batches of HASHCMP_BATCH. */
static void test_batches(void **state)
{
	uint64_t size = (HASHCMP_BATCH + 3) * (uint64_t)HASHCMP_CHUNK;
	struct fake *f = fake_new(size, size);
	const struct range want[] = {
		{ (uint64_t)HASHCMP_BATCH * HASHCMP_CHUNK - BLK, 2 * BLK },
	};

	(void)state;
	flip(f, (uint64_t)HASHCMP_BATCH * HASHCMP_CHUNK - 1);
	flip(f, (uint64_t)HASHCMP_BATCH * HASHCMP_CHUNK);
	assert_int_equal(run(f, NULL, 0, NULL), 0);
	expect_ranges(want, 1);
	assert_int_equal(f->requests, 1 + 2 + 2);
	assert_int_equal(st.compared, size);
	fake_free(f);
}

static void test_skip(void **state)
{
	struct fake *f = fake_new(2 * MIB, 0);
	const struct ferry_extent skip[] = {
		{ .offset = 0, .len = 8 * BLK },
		{ .offset = MIB, .len = 16 * BLK },
		{ .offset = 2 * MIB - BLK, .len = 64 * BLK },	/* past the end */
	};
	const struct range want[] = {
		{ 8 * BLK, MIB - 8 * BLK },
		{ MIB + 16 * BLK, MIB - 17 * BLK },
	};

	(void)state;
	assert_int_equal(run(f, skip, 3, NULL), 0);
	expect_ranges(want, 2);
	assert_int_equal(st.differing, 2 * MIB - 25 * BLK);
	fake_free(f);
}

static void test_stop_and_errors(void **state)
{
	struct fake *f = fake_new(8 * MIB, 8 * MIB);

	(void)state;
	f->stop_after = 2;
	assert_int_equal(run(f, NULL, 0, NULL), -ECANCELED);
	assert_int_equal(f->read_bytes, 2 * MIB);
	f->stop = 0;
	f->stop_after = 0;
	flip(f, 5 * MIB);
	queue_ret = -ENOMEM;
	assert_int_equal(run(f, NULL, 0, NULL), -ENOMEM);
	queue_ret = 0;
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.differing, BLK);
	fake_free(f);
}

static void test_status_line(void **state)
{
	struct hashcmp_stat s = { 0 };
	char buf[256];

	(void)state;
	hashcmp_status_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "");
	s.active = true;
	s.pending = 2;
	hashcmp_status_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "hash-compare: 2 disks queued");
	s.kid = 2;
	snprintf(s.disk, sizeof(s.disk), "/dev/vdb");
	snprintf(s.msg, sizeof(s.msg), "waiting for the server");
	hashcmp_status_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "hash-compare of /dev/vdb: waiting for the server");
	s.msg[0] = 0;
	s.disk_bytes = 1024 * MIB;
	s.compared = 512 * MIB;
	s.differing = 3 * MIB;
	s.queued = 3 * MIB;
	hashcmp_status_line(&s, buf, sizeof(buf));
	assert_non_null(strstr(buf, "hash-compare of /dev/vdb 50% (512 MiB of "
			       "1024 MiB), 3.0 MiB differ, 3.0 MiB queued"));
	s.active = false;
	snprintf(s.last, sizeof(s.last), "vdb: 1 bytes compared");
	hashcmp_status_line(&s, buf, sizeof(buf));
	assert_string_equal(buf, "hash-compare: vdb: 1 bytes compared");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_blocks_coalesced),
		cmocka_unit_test(test_short_last_chunk),
		cmocka_unit_test(test_replica_shorter),
		cmocka_unit_test(test_no_replica),
		cmocka_unit_test(test_batches),
		cmocka_unit_test(test_skip),
		cmocka_unit_test(test_stop_and_errors),
		cmocka_unit_test(test_status_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
