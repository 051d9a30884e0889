// SPDX-License-Identifier: GPL-2.0
/* ferryd.conf: defaults, every kind of value, errors naming file:line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/ferryd/config.h"

static char path[64];

static void write_conf(const char *text)
{
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/unit-conf.%d", getpid());
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *text, struct ferryd_conf *c, char *err)
{
	int r;

	write_conf(text);
	r = ferryd_conf_load(c, path, 0, err, 256);
	unlink(path);
	return r;
}

static void test_defaults(void **state)
{
	struct ferryd_conf c;
	char err[256];

	(void)state;
	assert_int_equal(ferryd_conf_load(&c, "/nonexistent/ferryd.conf", 1,
					  err, sizeof(err)), 0);
	assert_string_equal(c.device, "/dev/ferry");
	assert_string_equal(c.spool_dir, "/var/lib/ferry/spool");
	assert_int_equal(c.spool_size, 512ull << 20);
	assert_int_equal(c.seg_size, 4ull << 20);
	assert_int_equal(c.ship, 0);
	assert_int_equal(c.seal_ms, 500);
	assert_int_equal(c.nr_disks, 0);
	/* a config named explicitly must exist */
	assert_int_equal(ferryd_conf_load(&c, "/nonexistent/ferryd.conf", 0,
					  err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent/ferryd.conf"));
}

static void test_values(void **state)
{
	struct ferryd_conf c;
	char err[256] = "";

	(void)state;
	assert_int_equal(load("# comment\n\n"
			      "disk = /dev/disk/by-id/virtio-a\n"
			      "disk=serial:b\n"
			      "  spool.size = 1G  \n"
			      "spool.segment_size = 8MiB\n"
			      "spool.dir = \"/srv/spool\"\n"
			      "ship = local\n"
			      "ring.size = 64M\n"
			      "drain.seal_ms = 0x10\n", &c, err), 0);
	assert_int_equal(c.nr_disks, 2);
	assert_string_equal(c.disks[0], "/dev/disk/by-id/virtio-a");
	assert_string_equal(c.disks[1], "serial:b");
	assert_int_equal(c.spool_size, 1ull << 30);
	assert_int_equal(c.seg_size, 8ull << 20);
	assert_string_equal(c.spool_dir, "/srv/spool");
	assert_int_equal(c.ship, 1);
	assert_int_equal(c.ring_size, 64ull << 20);
	assert_int_equal(c.seal_ms, 16);
}

static void expect_error(const char *text, const char *msg)
{
	struct ferryd_conf c;
	char err[256] = "";

	assert_int_equal(load(text, &c, err), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("error '%s' lacks '%s'", err, msg);
}

static void test_errors(void **state)
{
	(void)state;
	expect_error("ship = none\nbogus = 1\n", ":2: unknown key 'bogus'");
	expect_error("\n\nspool.size = 12Q\n", ":3: spool.size: '12Q' is not a size");
	expect_error("ship = maybe\n", ":1: ship: 'maybe' is not one of none local server");
	expect_error("drain.seal_ms = 0\n", ":1: drain.seal_ms: 0 is out of range");
	expect_error("drain.seal_ms = -5\n", "not an unsigned integer");
	expect_error("spool.dir = /a\nspool.dir = /b\n", ":2: spool.dir: given twice");
	expect_error("just words\n", ":1: expected 'key = value'");
	expect_error("disk =\n", ":1: disk: empty value");
	expect_error("spool.segment_size = 65537\n", "not a multiple of 4096");
	expect_error("ring.size = 3M\n", "not a power of two");
	expect_error("spool.size = 1M\nspool.segment_size = 2M\n",
		     "smaller than spool.segment_size");
}

static void test_sizes(void **state)
{
	uint64_t v;

	(void)state;
	assert_int_equal(conf_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(conf_parse_size("2k", &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(conf_parse_size("3GiB", &v), 0);
	assert_int_equal(v, 3ull << 30);
	assert_int_equal(conf_parse_size("1T", &v), 0);
	assert_int_equal(conf_parse_size("", &v), -EINVAL);
	assert_int_equal(conf_parse_size("M", &v), -EINVAL);
	assert_int_equal(conf_parse_size("5X", &v), -EINVAL);
	assert_int_equal(conf_parse_size("99999999999999999999", &v), -EINVAL);
	assert_int_equal(conf_parse_size("17179869184G", &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
