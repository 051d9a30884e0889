// SPDX-License-Identifier: GPL-2.0
/*
 * ferryd's spool: slots, sealing, ack order, persistence across reopen,
 * torn meta entries, geometry checks, the full spool, exclusive use.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/ferryd/spool.h"

#define SEG	(64 * 1024)
#define NSLOTS	4

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/unit-spool.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	strcat(dir, "/s");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)strlen(dir) - 2, dir);
	return system(cmd);
}

static struct spool *open_spool(enum spool_ack_mode mode, uint64_t seg)
{
	struct spool_conf c = { .dir = dir, .size = NSLOTS * seg,
				.seg_size = seg, .ack_mode = mode };
	char err[256] = "";
	struct spool *sp = NULL;
	int r = spool_open(&c, &sp, err, sizeof(err));

	if (r)
		print_error("spool_open: %s\n", err);
	assert_int_equal(r, 0);
	return sp;
}

static void append(struct spool *sp, uint64_t start, uint64_t end,
		   struct spool_seg *seg, int want)
{
	char buf[8192];

	memset(buf, (int)start, sizeof(buf));
	memset(seg, 0, sizeof(*seg));
	seg->start_seq = start;
	seg->end_seq = end;
	seg->records = end - start;
	seg->oldest_ns = 1000 + start;
	assert_int_equal(spool_append(sp, buf, sizeof(buf), seg), want);
}

static void test_create_append_ack(void **state)
{
	struct spool *sp = open_spool(SPOOL_ACK_NONE, SEG);
	struct spool_seg a, b, n;
	struct spool_stat st;
	char buf[8192];

	(void)state;
	assert_int_equal(spool_next_unacked(sp, 0, &n), -ENOENT);
	append(sp, 10, 20, &a, 0);
	append(sp, 20, 30, &b, 0);
	assert_true(b.id > a.id);
	assert_int_equal(spool_next_unacked(sp, 0, &n), 0);
	assert_int_equal(n.id, a.id);
	assert_int_equal(n.start_seq, 10);
	assert_int_equal(n.end_seq, 20);
	assert_int_equal(n.bytes, 8192);
	assert_int_equal(pread(n.fd, buf, sizeof(buf), 0), sizeof(buf));
	assert_int_equal(buf[0], 10);
	assert_int_equal(spool_next_unacked(sp, a.id, &n), 0);
	assert_int_equal(n.id, b.id);
	assert_int_equal(spool_next_unacked(sp, b.id, &n), -ENOENT);

	spool_get_stat(sp, &st);
	assert_int_equal(st.sealed, 2);
	assert_int_equal(st.used, 2 * 8192);
	assert_int_equal(st.oldest_ns, 1010);
	assert_int_equal(st.end_seq, 30);

	/* acks in any order; unknown or repeated ids are refused */
	assert_int_equal(spool_ack(sp, b.id), 0);
	assert_int_equal(spool_ack(sp, b.id), -ENOENT);
	assert_int_equal(spool_ack(sp, 999), -ENOENT);
	assert_int_equal(spool_next_unacked(sp, 0, &n), 0);
	assert_int_equal(n.id, a.id);
	assert_int_equal(spool_ack(sp, a.id), 0);
	assert_int_equal(spool_next_unacked(sp, 0, &n), -ENOENT);
	spool_close(sp);
}

static void test_full(void **state)
{
	struct spool *sp = open_spool(SPOOL_ACK_NONE, SEG);
	struct spool_slot slot;
	struct spool_seg s[NSLOTS], x;
	struct spool_stat st;
	int i;

	(void)state;
	for (i = 0; i < NSLOTS; i++) {
		assert_int_equal(spool_half_full(sp), i * 2 >= NSLOTS);
		append(sp, i * 10, i * 10 + 10, &s[i], 0);
	}
	append(sp, 100, 110, &x, -ENOSPC);
	assert_int_equal(spool_reserve(sp, &slot), -ENOSPC);
	spool_get_stat(sp, &st);
	assert_int_equal(st.slot_used, st.size);
	assert_true(st.full_since_ns > 0);
	/* an ack frees exactly one slot */
	assert_int_equal(spool_ack(sp, s[2].id), 0);
	assert_int_equal(spool_reserve(sp, &slot), 0);
	assert_int_equal(slot.slot, s[2].slot);
	spool_unreserve(sp, &slot);
	spool_close(sp);
}

static void test_reopen_keeps_state(void **state)
{
	struct spool *sp = open_spool(SPOOL_ACK_NONE, SEG);
	struct spool_seg a, b, c, n;
	struct spool_stat st;

	(void)state;
	append(sp, 1, 5, &a, 0);
	append(sp, 5, 9, &b, 0);
	assert_int_equal(spool_ack(sp, a.id), 0);
	spool_close(sp);

	sp = open_spool(SPOOL_ACK_NONE, SEG);
	assert_int_equal(spool_next_unacked(sp, 0, &n), 0);
	assert_int_equal(n.id, b.id);
	assert_int_equal(n.start_seq, 5);
	assert_int_equal(spool_next_unacked(sp, b.id, &n), -ENOENT);
	spool_get_stat(sp, &st);
	assert_int_equal(st.end_seq, 9);
	/* ids keep growing after a reopen */
	append(sp, 9, 12, &c, 0);
	assert_true(c.id > b.id);
	spool_close(sp);
}

static void test_torn_entry_is_free(void **state)
{
	struct spool *sp = open_spool(SPOOL_ACK_NONE, SEG);
	struct spool_seg a, b, n;
	char path[128];
	int fd;

	(void)state;
	append(sp, 1, 5, &a, 0);
	append(sp, 5, 9, &b, 0);
	spool_close(sp);
	/* flip a byte of b's entry: as if its write had been torn */
	snprintf(path, sizeof(path), "%s/meta", dir);
	fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 512 + b.slot * 64 + 20), 1);
	close(fd);

	sp = open_spool(SPOOL_ACK_NONE, SEG);
	assert_int_equal(spool_next_unacked(sp, 0, &n), 0);
	assert_int_equal(n.id, a.id);
	assert_int_equal(spool_next_unacked(sp, a.id, &n), -ENOENT);
	spool_close(sp);
}

static void test_geometry_and_exclusive(void **state)
{
	struct spool_conf c = { .dir = dir, .size = NSLOTS * SEG,
				.seg_size = SEG };
	struct spool *sp = open_spool(SPOOL_ACK_NONE, SEG), *sp2 = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(spool_open(&c, &sp2, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "in use"));
	spool_close(sp);

	c.seg_size = 2 * SEG;
	assert_int_equal(spool_open(&c, &sp2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "made with 4 slots of 65536"));
	c.seg_size = 5000;
	assert_int_equal(spool_open(&c, &sp2, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "multiple of 4096"));
}

static void test_local_acks_at_once(void **state)
{
	struct spool *sp = open_spool(SPOOL_ACK_LOCAL, SEG);
	struct spool_seg s, n;
	int i;

	(void)state;
	for (i = 0; i < 3 * NSLOTS; i++)
		append(sp, i, i + 1, &s, 0);
	assert_int_equal(spool_next_unacked(sp, 0, &n), -ENOENT);
	spool_close(sp);
}

static void test_files_preallocated(void **state)
{
	struct spool *sp = open_spool(SPOOL_ACK_NONE, SEG);
	char path[128];
	struct stat st;

	(void)state;
	snprintf(path, sizeof(path), "%s/slot-0003.hrl", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, SEG);
	assert_true(st.st_blocks * 512 >= SEG);
	spool_close(sp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_append_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_state, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_entry_is_free, setup, teardown),
		cmocka_unit_test_setup_teardown(test_geometry_and_exclusive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_local_acks_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_files_preallocated, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
