// SPDX-License-Identifier: GPL-2.0
/*
 * The pure part of <ferry/uring_probe.h>: required-op check, setup flag
 * choice and the log line, on capability sets shaped like real kernels'.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <cmocka.h>

#include <ferry/uring_probe.h>

/* Roughly 5.10: ops up to TEE, no newer setup flags. */
static void caps_5_10(struct ferry_uring_caps *c)
{
	unsigned int op;

	memset(c, 0, sizeof(*c));
	for (op = IORING_OP_NOP; op <= IORING_OP_TEE; op++)
		ferry_uring_set_op(c, op);
	c->last_op = IORING_OP_TEE + 1;
	c->features = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP |
		      IORING_FEAT_FAST_POLL | IORING_FEAT_POLL_32BITS;
	c->setup_flags = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP |
			 IORING_SETUP_R_DISABLED;
}

static void test_required_present(void **state)
{
	struct ferry_uring_caps c;
	char why[128] = "";

	(void)state;
	caps_5_10(&c);
	assert_int_equal(ferry_uring_check_required(&c, why, sizeof(why)), 0);
	assert_string_equal(why, "");
}

static void test_required_missing(void **state)
{
	struct ferry_uring_caps c;
	char why[128];

	(void)state;
	caps_5_10(&c);
	c.ops[IORING_OP_WRITE / 64] &= ~(1ULL << (IORING_OP_WRITE % 64));
	assert_int_equal(ferry_uring_check_required(&c, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_string_equal(why, "io_uring lacks IORING_OP_WRITE");

	/* A 5.4 kernel has no probe at all: nothing is known to work. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(ferry_uring_check_required(&c, why, sizeof(why)),
			 -EOPNOTSUPP);
	assert_string_equal(why,
			    "io_uring lacks IORING_OP_POLL_ADD (and 3 more)");
}

static void test_setup_flags(void **state)
{
	uint32_t want = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
			IORING_SETUP_COOP_TASKRUN | IORING_SETUP_CLAMP;
	struct ferry_uring_caps c;

	(void)state;
	caps_5_10(&c);
	assert_int_equal(ferry_uring_setup_flags(&c, want), IORING_SETUP_CLAMP);

	/* DEFER_TASKRUN without SINGLE_ISSUER is refused by every kernel. */
	c.setup_flags |= IORING_SETUP_DEFER_TASKRUN;
	assert_int_equal(ferry_uring_setup_flags(&c, want), IORING_SETUP_CLAMP);

	c.setup_flags |= IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN;
	assert_int_equal(ferry_uring_setup_flags(&c, want), want);
	assert_int_equal(ferry_uring_setup_flags(&c, IORING_SETUP_TASKRUN_FLAG),
			 0);
}

static void test_describe(void **state)
{
	struct ferry_uring_caps c;
	char line[1024], small[16];
	int n;

	(void)state;
	caps_5_10(&c);
	ferry_uring_set_op(&c, 200);
	n = ferry_uring_describe(&c, IORING_SETUP_CLAMP, line, sizeof(line));
	assert_int_equal(n, (int)strlen(line));
	assert_non_null(strstr(line, "ops 35/34 (NOP READV WRITEV FSYNC"));
	assert_non_null(strstr(line, " TEE op200); features SINGLE_MMAP NODROP"
				     " FAST_POLL POLL_32BITS; setup CQSIZE"
				     " CLAMP R_DISABLED; using CLAMP"));

	c.features |= 1U << 20;
	ferry_uring_describe(&c, 0, line, sizeof(line));
	assert_non_null(strstr(line, " feat20;"));
	assert_non_null(strstr(line, "; using no optional flag"));

	/* Truncation keeps the string terminated and reports the full size. */
	assert_int_equal(ferry_uring_describe(&c, 0, small, sizeof(small)),
			 (int)strlen(line));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

static void test_op_names(void **state)
{
	(void)state;
	assert_string_equal(ferry_uring_op_name(IORING_OP_POLL_ADD), "POLL_ADD");
	assert_string_equal(ferry_uring_op_name(IORING_OP_SENDMSG_ZC),
			    "SENDMSG_ZC");
	assert_null(ferry_uring_op_name(250));
	assert_false(ferry_uring_has_op(&(struct ferry_uring_caps){ 0 }, 9999));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_required_present),
		cmocka_unit_test(test_required_missing),
		cmocka_unit_test(test_setup_flags),
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_op_names),
	};

	return cmocka_run_group_tests_name("uring_probe", tests, NULL, NULL);
}
