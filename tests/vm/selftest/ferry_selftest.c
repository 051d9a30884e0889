// SPDX-License-Identifier: GPL-2.0
/*
 * ferry_selftest: faults on demand, to prove that the VM harness fails a
 * scenario whose guest kernel warned or oopsed.  Never shipped.
 *
 *   insmod ferry_selftest.ko fault=warn   WARN() from module init, loads
 *   insmod ferry_selftest.ko fault=oops   NULL store from module init
 */
#include <linux/module.h>
#include <linux/string.h>

static char *fault = "none";
module_param(fault, charp, 0444);
MODULE_PARM_DESC(fault, "fault to inject at load: none, warn or oops (default none)");

static int __init ferry_selftest_init(void)
{
	int *volatile null_ptr = NULL;

	if (!strcmp(fault, "warn")) {
		WARN(1, "ferry_selftest: injected warning\n");
	} else if (!strcmp(fault, "oops")) {
		pr_info("ferry_selftest: injecting NULL pointer store\n");
		*null_ptr = 1;
	} else if (strcmp(fault, "none")) {
		pr_err("ferry_selftest: unknown fault '%s'\n", fault);
		return -EINVAL;
	}
	return 0;
}

static void __exit ferry_selftest_exit(void)
{
}

module_init(ferry_selftest_init);
module_exit(ferry_selftest_exit);
MODULE_DESCRIPTION("ferry VM harness self-test: injected faults");
MODULE_LICENSE("GPL");
