// SPDX-License-Identifier: GPL-2.0
/*
 * unit-hrl-apply: applying segments to images.  Applying twice equals
 * applying once, out-of-order segments are refused or skipped as
 * docs/hrl-format.md says, corrupt segments change nothing, zero ranges
 * read as zeros, metadata and stale resync ranges are reported.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>
#include <ferry/hrl.h>
#include "hrl_sample.h"

#define CAP	(64 * 1024)
#define IMG	(128 * 1024)

struct images {
	int fd[2];		/* SAMPLE_DISK_A, SAMPLE_DISK_B */
	uint8_t model[2][IMG];	/* what the images must hold */
	int dirty;
};

static int image_fd(void *ctx, uint32_t disk_id)
{
	struct images *im = ctx;

	if (disk_id == SAMPLE_DISK_A)
		return im->fd[0];
	if (disk_id == SAMPLE_DISK_B)
		return im->fd[1];
	return -ENOENT;
}

static void on_dirty(void *ctx, const struct hrl_rec *rec)
{
	struct images *im = ctx;

	(void)rec;
	im->dirty++;
}

static struct images *images_new(void)
{
	struct images *im = calloc(1, sizeof(*im));
	int i;

	for (i = 0; i < 2; i++) {
		im->fd[i] = memfd_create("img", 0);
		assert_true(im->fd[i] >= 0);
		/* start non-zero so zero ranges show */
		memset(im->model[i], 0xee, IMG);
		assert_int_equal(pwrite(im->fd[i], im->model[i], IMG, 0), IMG);
	}
	return im;
}

static void images_free(struct images *im)
{
	close(im->fd[0]);
	close(im->fd[1]);
	free(im);
}

static void images_check(struct images *im)
{
	static uint8_t buf[IMG];
	int i;

	for (i = 0; i < 2; i++) {
		assert_int_equal(pread(im->fd[i], buf, IMG, 0), IMG);
		assert_memory_equal(buf, im->model[i], IMG);
	}
}

/* The model: what each record does, applied by hand. */
static void model_apply(struct images *im, const void *seg, size_t len)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *p;

	hrl_reader_init_buf(&r, seg, len);
	while (hrl_reader_next(&r, &rec, &p) == HRL_NEXT_RECORD) {
		uint8_t *img = im->model[rec.disk_id == SAMPLE_DISK_A ? 0 : 1];

		if (rec.kind == HRL_WRITE || rec.kind == HRL_RESYNC)
			memcpy(img + rec.offset, p, rec.len);
		else if (rec.kind == HRL_DISCARD || rec.kind == HRL_WRITE_ZEROES ||
			 rec.kind == HRL_RESYNC_ZERO)
			memset(img + rec.offset, 0, rec.len);
	}
	hrl_reader_free(&r);
}

static int seg_fd(int variant, uint64_t start, uint8_t *buf, size_t *len)
{
	int fd = memfd_create("seg", 0);

	*len = sample_segment(buf, CAP, variant, start);
	assert_int_equal(write(fd, buf, *len), (ssize_t)*len);
	return fd;
}

static void apply_ok(struct hrl_apply *a, int fd)
{
	struct hrl_error err;
	char msg[256];
	int ret = hrl_apply_fd(a, fd, &err);

	if (ret)
		fail_msg("apply: %s", hrl_strerror(&err, msg, sizeof(msg)));
}

static void test_apply_twice_equals_once(void **state)
{
	static uint8_t sa[CAP], sb[CAP];
	struct images *im = images_new();
	struct hrl_apply a = { .image_fd = image_fd, .ctx = im };
	size_t la, lb;
	int fa = seg_fd(1, 100, sa, &la), fb = seg_fd(1, 105, sb, &lb);

	(void)state;
	model_apply(im, sa, la);
	model_apply(im, sb, lb);
	apply_ok(&a, fa);
	assert_int_equal(a.pos, 105);
	apply_ok(&a, fb);
	assert_int_equal(a.pos, 110);
	assert_int_equal(a.applied, 10);
	assert_int_equal(a.skipped, 0);
	images_check(im);

	apply_ok(&a, fa);
	apply_ok(&a, fb);
	apply_ok(&a, fb);
	assert_int_equal(a.pos, 110);
	assert_int_equal(a.applied, 10);
	assert_int_equal(a.skipped, 15);
	images_check(im);
	close(fa);
	close(fb);
	images_free(im);
}

static void test_out_of_order(void **state)
{
	static uint8_t sa[CAP], sb[CAP];
	struct images *im = images_new();
	struct hrl_apply a = {
		.image_fd = image_fd, .ctx = im, .pos = 100, .have_pos = true,
	};
	struct hrl_error err;
	size_t la, lb;
	int fa = seg_fd(1, 100, sa, &la), fb = seg_fd(1, 105, sb, &lb);

	(void)state;
	/* B before A leaves a hole: refused, nothing written */
	assert_int_equal(hrl_apply_fd(&a, fb, &err), -ERANGE);
	assert_non_null(strstr(err.reason, "earlier segment is missing"));
	images_check(im);
	assert_int_equal(a.pos, 100);

	/* A then B, then A late: the late one is a no-op */
	model_apply(im, sa, la);
	model_apply(im, sb, lb);
	apply_ok(&a, fa);
	apply_ok(&a, fb);
	apply_ok(&a, fa);
	images_check(im);
	assert_int_equal(a.skipped, 5);

	/* explicitly allowing the gap applies B on a replica at 100 */
	{
		struct images *im2 = images_new();
		struct hrl_apply g = {
			.image_fd = image_fd, .ctx = im2, .pos = 100,
			.have_pos = true, .flags = HRL_APPLY_ALLOW_GAP,
		};

		model_apply(im2, sb, lb);
		apply_ok(&g, fb);
		assert_int_equal(g.pos, 110);
		images_check(im2);
		images_free(im2);
	}
	close(fa);
	close(fb);
	images_free(im);
}

static void test_every_kind_and_resync(void **state)
{
	static uint8_t s0[CAP];
	struct images *im = images_new();
	struct hrl_apply a = {
		.image_fd = image_fd, .dirty = on_dirty, .ctx = im,
	};
	size_t len;
	int fd = seg_fd(0, 1000, s0, &len);

	(void)state;
	model_apply(im, s0, len);
	apply_ok(&a, fd);
	images_check(im);
	assert_int_equal(a.pos, 1006);
	assert_int_equal(im->dirty, 1);		/* the metadata record */
	assert_int_equal(a.tags, 1);
	assert_int_equal(a.last_tag.id, 42);
	assert_int_equal(a.last_tag_seq, 1005);
	assert_string_equal(a.last_tag.name, "before-upgrade");
	assert_int_equal(a.applied, 6);

	/* again: nothing written; the resync chunks are now stale: reported */
	apply_ok(&a, fd);
	images_check(im);
	assert_int_equal(a.applied, 6);
	assert_int_equal(im->dirty, 3);
	assert_int_equal(a.tags, 1);
	close(fd);
	images_free(im);
}

static void test_zero_ranges(void **state)
{
	static uint8_t buf[CAP], back[8192];
	static const uint8_t zeros[8192];
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_rec r = {
		.kind = HRL_DISCARD, .disk_id = SAMPLE_DISK_A, .seq = 0,
		.offset = 4096, .len = 8192,
	};
	struct images *im = images_new();
	struct hrl_apply a = { .image_fd = image_fd, .ctx = im };
	size_t len;
	int fd, pass;

	(void)state;
	sample_info(&info, 0, 0);
	assert_int_equal(hrl_writer_init(&w, buf, CAP, &info), 0);
	assert_int_equal(hrl_writer_add(&w, &r, NULL), 0);
	r.kind = HRL_WRITE_ZEROES, r.seq = 1, r.offset = IMG - 100, r.len = 300;
	assert_int_equal(hrl_writer_add(&w, &r, NULL), 0);
	assert_int_equal(hrl_writer_finish(&w, &len, NULL), 0);
	fd = memfd_create("seg", 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	for (pass = 0; pass < 2; pass++) {
		a.pos = 0;
		a.flags = pass ? HRL_APPLY_WRITE_ZEROS : 0;
		apply_ok(&a, fd);
		assert_int_equal(pread(im->fd[0], back, 8192, 4096), 8192);
		assert_memory_equal(back, zeros, 8192);
		/* past the end: the image grows, as with a write */
		assert_int_equal(lseek(im->fd[0], 0, SEEK_END), IMG + 200);
		assert_int_equal(pread(im->fd[0], back, 300, IMG - 100), 300);
		assert_memory_equal(back, zeros, 300);
		assert_int_equal(pread(im->fd[0], back, 1, 4095), 1);
		assert_int_equal(back[0], 0xee);
		memset(back, 0xee, 8192);
		assert_int_equal(pwrite(im->fd[0], back, 8192, 4096), 8192);
	}
	close(fd);
	images_free(im);
}

/*
 * Resync chunks are compared with the image block by block: counted as
 * received (header + payload), differing 4 KiB blocks counted and
 * written, equal ones left alone; once older than the image they are
 * reported and never written.
 */
static void resync_segment(uint8_t *buf, size_t *len)
{
	static uint8_t data[8292];
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_rec z = {
		.kind = HRL_RESYNC_ZERO, .disk_id = SAMPLE_DISK_A, .seq = 10,
		.offset = 0, .len = 16384,
	};
	struct hrl_rec d = {
		.kind = HRL_RESYNC, .disk_id = SAMPLE_DISK_A, .seq = 10,
		.offset = 32768, .len = sizeof(data),
	};
	struct hrl_rec wr = {
		.kind = HRL_WRITE, .disk_id = SAMPLE_DISK_B, .seq = 10,
		.offset = 0, .len = 4096,
	};

	/* first block and the 100-byte tail as the image has them */
	memset(data, 0xee, sizeof(data));
	memset(data + 4096, 0x11, 4096);
	sample_info(&info, 10, HRL_SEG_RESYNC);
	assert_int_equal(hrl_writer_init(&w, buf, CAP, &info), 0);
	assert_int_equal(hrl_writer_add(&w, &z, NULL), 0);
	assert_int_equal(hrl_writer_add(&w, &d, data), 0);
	assert_int_equal(hrl_writer_add(&w, &wr, data), 0);
	assert_int_equal(hrl_writer_finish(&w, len, NULL), 0);
}

static void test_resync_compare(void **state)
{
	static uint8_t s[CAP], zeros[4096];
	struct images *im = images_new();
	struct hrl_apply a = { .image_fd = image_fd, .dirty = on_dirty, .ctx = im };
	size_t len;
	int fd, pass;

	(void)state;
	resync_segment(s, &len);
	fd = memfd_create("seg", 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	/* block 1 of disk A is already zero */
	assert_int_equal(pwrite(im->fd[0], zeros, 4096, 4096), 4096);
	memset(im->model[0] + 4096, 0, 4096);
	model_apply(im, s, len);
	for (pass = 0; pass < 2; pass++) {
		a.flags = pass ? HRL_APPLY_WRITE_ZEROS : 0;
		a.have_pos = false;
		apply_ok(&a, fd);
		images_check(im);
	}
	/* pass 1 found everything equal: only pass 0 counted differences */
	assert_int_equal(a.resync_zero_bytes, 2 * 16384);
	assert_int_equal(a.resync_data_bytes, 2 * 8292);
	assert_int_equal(a.resync_bytes, 2 * (64 + 64 + 8292));
	assert_int_equal(a.resync_diff_bytes, 3 * 4096 + 4096);
	assert_int_equal(a.pos, 11);
	assert_int_equal(im->dirty, 0);

	/* older than the image now: reported, not written */
	assert_int_equal(pwrite(im->fd[0], "\xab", 1, 0), 1);
	im->model[0][0] = 0xab;
	apply_ok(&a, fd);
	images_check(im);
	assert_int_equal(im->dirty, 2);
	assert_int_equal(a.resync_bytes, 3 * (64 + 64 + 8292));
	assert_int_equal(a.resync_diff_bytes, 4 * 4096);
	close(fd);
	images_free(im);
}

static void test_corrupt_changes_nothing(void **state)
{
	static uint8_t s[CAP];
	struct images *im = images_new();
	struct hrl_apply a = { .image_fd = image_fd, .ctx = im };
	struct hrl_error err;
	char msg[256];
	size_t len;
	int fd;

	(void)state;
	len = sample_segment(s, CAP, 1, 100);
	s[len - 2 * HRL_BLOCK + 100] ^= 0x40;	/* somewhere in the records */
	s[len - 1] ^= 1;			/* and the trailer */
	fd = memfd_create("seg", 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	assert_int_equal(hrl_apply_fd(&a, fd, &err), -EBADMSG);
	hrl_strerror(&err, msg, sizeof(msg));
	assert_non_null(strstr(msg, "mismatch"));
	images_check(im);
	assert_int_equal(a.applied, 0);
	assert_false(a.have_pos);
	close(fd);
	images_free(im);
}

static void test_unknown_disk(void **state)
{
	static uint8_t s[CAP];
	struct images *im = images_new();
	struct hrl_apply a = { .image_fd = image_fd, .ctx = im };
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_error err;
	struct hrl_rec r = { .kind = HRL_WRITE, .disk_id = 12, .len = 3 };
	size_t len;
	int fd;

	(void)state;
	sample_info(&info, 0, 0);
	info.disks[1].id = 12;
	assert_int_equal(hrl_writer_init(&w, s, CAP, &info), 0);
	assert_int_equal(hrl_writer_add(&w, &r, "abc"), 0);
	assert_int_equal(hrl_writer_finish(&w, &len, NULL), 0);
	fd = memfd_create("seg", 0);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	assert_int_equal(hrl_apply_fd(&a, fd, &err), -ENOENT);
	assert_non_null(strstr(err.reason, "disk 12"));
	close(fd);
	images_free(im);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_apply_twice_equals_once),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_every_kind_and_resync),
		cmocka_unit_test(test_zero_ranges),
		cmocka_unit_test(test_resync_compare),
		cmocka_unit_test(test_corrupt_changes_nothing),
		cmocka_unit_test(test_unknown_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
