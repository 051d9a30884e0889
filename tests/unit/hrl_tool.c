// SPDX-License-Identifier: GPL-2.0
/*
 * unit-hrl-tool: the hrl program (from the same bin directory) on sample
 * segments: exit status and messages of verify, dump --json, stat, and
 * apply in both forms, twice, out of order, and refusing corrupt sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <ferry/hrl.h>
#include "hrl_sample.h"

#define CAP	(64 * 1024)

static char hrl[PATH_MAX], dir[PATH_MAX], out[65536], err[65536];

/* Run hrl with args (NULL-terminated); capture stdout/stderr; exit code. */
static int run(const char *arg, ...)
{
	const char *argv[32] = { hrl, arg };
	char o[PATH_MAX + 8], e[PATH_MAX + 8];
	int n = 2, status, fd;
	ssize_t got;
	va_list ap;
	pid_t pid;

	va_start(ap, arg);
	while (arg && (argv[n++] = va_arg(ap, const char *)))
		;
	va_end(ap);
	snprintf(o, sizeof(o), "%s/out", dir);
	snprintf(e, sizeof(e), "%s/err", dir);
	pid = fork();
	if (!pid) {
		if (chdir(dir) ||
		    (!freopen("ok.hrl", "r", stdin) && !freopen("/dev/null", "r", stdin)) ||
		    !freopen(o, "w", stdout) || !freopen(e, "w", stderr))
			_exit(127);
		execv(hrl, (char **)argv);
		_exit(127);
	}
	assert_true(waitpid(pid, &status, 0) == pid && WIFEXITED(status));
	fd = open(o, O_RDONLY);
	got = read(fd, out, sizeof(out) - 1);
	out[got > 0 ? got : 0] = 0;
	close(fd);
	fd = open(e, O_RDONLY);
	got = read(fd, err, sizeof(err) - 1);
	err[got > 0 ? got : 0] = 0;
	close(fd);
	return WEXITSTATUS(status);
}

static void put_file(const char *name, const void *buf, size_t len)
{
	char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	fclose(f);
}

static size_t get_file(const char *name, void *buf, size_t cap)
{
	char path[PATH_MAX + 64];
	ssize_t got;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return 0;
	got = read(fd, buf, cap);
	close(fd);
	return got < 0 ? 0 : got;
}

/* A single-disk segment: writes to SAMPLE_DISK_A at seqs [s, s + 4). */
static size_t single_disk(uint8_t *buf, uint64_t s)
{
	static uint8_t data[3000];
	struct hrl_seg_info info;
	struct hrl_writer w;
	struct hrl_rec r = { .kind = HRL_WRITE, .disk_id = SAMPLE_DISK_A };
	size_t len, i;

	sample_info(&info, s, 0);
	info.nr_disks = 1;
	assert_int_equal(hrl_writer_init(&w, buf, CAP, &info), 0);
	for (i = 0; i < 4; i++) {
		r.seq = s + i;
		r.offset = (s % 7) * 1000 + i * 512;
		r.len = 1000 + i * 500;
		sample_fill(data, r.len, r.seq);
		assert_int_equal(hrl_writer_add(&w, &r, data), 0);
	}
	assert_int_equal(hrl_writer_finish(&w, &len, NULL), 0);
	return len;
}

static void test_verify(void **state)
{
	static uint8_t seg[CAP];
	size_t len = sample_segment(seg, CAP, 0, 1000);

	(void)state;
	put_file("ok.hrl", seg, len);
	put_file("short.hrl", seg, len - 100);
	assert_int_equal(run("verify", "ok.hrl", NULL), 0);
	assert_non_null(strstr(out, "ok.hrl: ok (9 records, seq [1000, 1006)"));
	seg[HRL_BLOCK + HRL_REC_HDR_SIZE] ^= 0x10;
	put_file("bad.hrl", seg, len);
	assert_int_equal(run("verify", "ok.hrl", "bad.hrl", NULL), 1);
	assert_non_null(strstr(err, "hrl: bad.hrl: record 0 at offset 4096: payload crc mismatch"));
	assert_int_equal(run("verify", "-q", "short.hrl", NULL), 1);
	assert_non_null(strstr(err, "short.hrl"));
	assert_non_null(strstr(err, "truncated"));
	assert_int_equal(run("verify", "-", NULL), 0);	/* stdin: ok.hrl */
	assert_non_null(strstr(out, "-: ok (9 records"));
	assert_int_equal(run("verify", "missing.hrl", NULL), 1);
	assert_non_null(strstr(err, "missing.hrl: No such file"));
	assert_int_equal(run("verify", NULL), 2);
	assert_int_equal(run("frobnicate", NULL), 2);
	assert_int_equal(run("verify", "--help", NULL), 0);
	assert_non_null(strstr(out, "Usage: hrl verify"));
}

static void test_dump_and_stat(void **state)
{
	static uint8_t seg[CAP];
	size_t len = sample_segment(seg, CAP, 0, 1000);

	(void)state;
	put_file("all.hrl", seg, len);
	assert_int_equal(run("dump", "all.hrl", NULL), 0);
	assert_non_null(strstr(out, "#4 @4480 seq 1005 tag"));
	assert_non_null(strstr(out, "seq 1005 resync-zero disk 3 offset 8192 len 8192"));
	assert_non_null(strstr(out, "'before-upgrade'"));
	assert_int_equal(run("dump", "--json", "all.hrl", NULL), 0);
	assert_true(out[0] == '[');
	assert_non_null(strstr(out, "\"kind\": \"resync\""));
	assert_non_null(strstr(out, "\"kind\": \"resync-zero\""));
	assert_non_null(strstr(out, "\"end\": {\"records\": 9"));
	assert_int_equal(run("stat", "all.hrl", NULL), 0);
	assert_non_null(strstr(out, "seq [1000, 1006), 9 records"));
}

static void test_apply_single_disk(void **state)
{
	static uint8_t a[CAP], b[CAP], img1[CAP], img2[CAP];
	size_t la = single_disk(a, 10), lb = single_disk(b, 14), n1, n2;

	(void)state;
	put_file("a.hrl", a, la);
	put_file("b.hrl", b, lb);
	/* given out of order: sorted by start sequence */
	assert_int_equal(run("apply", "b.hrl", "a.hrl", "img", NULL), 0);
	assert_non_null(strstr(out, "applied 8 records"));
	n1 = get_file("img", img1, sizeof(img1));
	assert_int_equal(run("apply", "a.hrl", "b.hrl", "a.hrl", "img", NULL), 0);
	n2 = get_file("img", img2, sizeof(img2));
	assert_int_equal(n1, n2);
	assert_memory_equal(img1, img2, n1);
	/* b alone on an image at position 10 leaves a hole: refused */
	assert_int_equal(run("apply", "--pos", "10", "b.hrl", "img3", NULL), 1);
	assert_non_null(strstr(err, "an earlier segment is missing"));
}

static void test_apply_disk_map(void **state)
{
	static uint8_t seg[CAP], img[16];
	size_t len = sample_segment(seg, CAP, 1, 100);

	(void)state;
	put_file("two.hrl", seg, len);
	assert_int_equal(run("apply", "two.hrl", "img4", NULL), 1);
	assert_non_null(strstr(err, "two.hrl: record 1 is for disk 7, others for disk 3"));
	assert_int_equal(get_file("img4", img, sizeof(img)), 0);	/* untouched */
	assert_int_equal(run("apply", "--disk", "3=imgA", "--disk", "7=imgB",
			     "two.hrl", NULL), 0);
	assert_int_equal(run("apply", "--disk", "3", "two.hrl", NULL), 2);
	/* every kind: resync chunks counted; only the data chunk differs */
	len = sample_segment(seg, CAP, 0, 1000);
	put_file("all.hrl", seg, len);
	assert_int_equal(run("apply", "--disk", "3=imgE", "--disk", "7=imgF",
			     "all.hrl", NULL), 0);
	assert_non_null(strstr(out, "resync: 192 bytes received (64 data, "
			       "8192 zero ranges), 64 bytes in blocks that "
			       "differed"));
	len = sample_segment(seg, CAP, 1, 100);
	/* a corrupt segment anywhere in the set: nothing is written */
	seg[len - 1] ^= 1;
	put_file("two-bad.hrl", seg, len);
	assert_int_equal(run("apply", "--disk", "3=imgC", "--disk", "7=imgD",
			     "two.hrl", "two-bad.hrl", NULL), 1);
	assert_non_null(strstr(err, "two-bad.hrl: offset"));
	{
		char path[PATH_MAX + 8];

		snprintf(path, sizeof(path), "%s/imgC", dir);
		assert_int_equal(access(path, F_OK), -1);
	}
}

static int setup(void **state)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	(void)state;
	if (n <= 0)
		return -1;
	self[n] = 0;
	snprintf(hrl, sizeof(hrl), "%s/hrl", dirname(self));
	if (access(hrl, X_OK)) {
		fprintf(stderr, "unit-hrl-tool: %s: %s\n", hrl, strerror(errno));
		return -1;
	}
	snprintf(dir, sizeof(dir), "/tmp/unit-hrl-tool.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verify),
		cmocka_unit_test(test_dump_and_stat),
		cmocka_unit_test(test_apply_single_disk),
		cmocka_unit_test(test_apply_disk_map),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
