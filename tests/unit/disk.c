// SPDX-License-Identifier: GPL-2.0
/*
 * Disk identity against a fake sysfs tree: serial (virtio, NVMe), wwid,
 * by-id names without udev's links, partitions refused naming the parent,
 * ambiguity and absence.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include <ferry/disk.h>

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256], cmd[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "%s\n", text);
	fclose(f);
}

static void link_dev(const char *devno, const char *target)
{
	char path[128], cmd[1024];

	snprintf(path, sizeof(path), "%s/dev/block", root);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s' && ln -s '%s/%s' '%s/%s'",
		 path, root, target, path, devno);
	assert_int_equal(system(cmd), 0);
}

/*
 * devices/vda (253:0, serial ferry-disk1) with partition vda1 (253:1,
 * start 2048), devices/nvme0n1 (259:0, device/serial, wwid eui.00aa),
 * devices/sdb (8:16, no identity), devices/vdc and vdd with one serial.
 */
static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/unit-disk.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	put("devices/vda/dev", "253:0");
	put("devices/vda/serial", "ferry-disk1");
	put("devices/vda/vda1/dev", "253:1");
	put("devices/vda/vda1/partition", "1");
	put("devices/vda/vda1/start", "2048");
	put("devices/nvme0n1/dev", "259:0");
	put("devices/nvme0n1/device/serial", "ferry-disk2   ");
	put("devices/nvme0n1/wwid", "eui.00aa");
	put("devices/sdb/dev", "8:16");
	put("devices/vdc/dev", "253:32");
	put("devices/vdc/serial", "twin");
	put("devices/vdd/dev", "253:48");
	put("devices/vdd/serial", "twin");
	link_dev("253:0", "devices/vda");
	link_dev("253:1", "devices/vda/vda1");
	link_dev("259:0", "devices/nvme0n1");
	link_dev("8:16", "devices/sdb");
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd),
			 "mkdir -p %s/block && for d in vda nvme0n1 sdb vdc vdd; do ln -s ../devices/$d %s/block/$d; done",
			 root, root);
		assert_int_equal(system(cmd), 0);
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd);
}

static void resolves(const char *spec, unsigned int ma, unsigned int mi,
		     const char *name, const char *ident)
{
	struct disk_id d;
	char why[256] = "";

	if (disk_resolve(root, spec, &d, why, sizeof(why)))
		fail_msg("%s: %s", spec, why);
	assert_int_equal(major(d.dev), ma);
	assert_int_equal(minor(d.dev), mi);
	assert_string_equal(d.name, name);
	assert_string_equal(d.ident, ident);
}

static void refused(const char *spec, int err, const char *msg)
{
	struct disk_id d;
	char why[256] = "";

	assert_int_equal(disk_resolve(root, spec, &d, why, sizeof(why)), err);
	if (!strstr(why, msg))
		fail_msg("'%s' lacks '%s'", why, msg);
}

static void test_identity(void **state)
{
	struct disk_id a, b;
	char why[256];

	(void)state;
	resolves("serial:ferry-disk1", 253, 0, "vda", "serial:ferry-disk1");
	resolves("/dev/disk/by-id/virtio-ferry-disk1", 253, 0, "vda",
		 "serial:ferry-disk1");
	resolves("/dev/disk/by-id/nvme-QEMU_NVMe_Ctrl_ferry-disk2", 259, 0,
		 "nvme0n1", "wwn:eui.00aa");
	resolves("wwn:eui.00aa", 259, 0, "nvme0n1", "wwn:eui.00aa");
	resolves("/dev/disk/by-id/nvme-eui.00aa", 259, 0, "nvme0n1",
		 "wwn:eui.00aa");
	/* the same disk by two names: the same uuid */
	assert_int_equal(disk_resolve(root, "serial:ferry-disk2", &a, why, 256), 0);
	assert_int_equal(disk_resolve(root, "wwn:0x00aa", &b, why, 256), 0);
	assert_memory_equal(a.uuid, b.uuid, 16);
}

static void test_refusals(void **state)
{
	(void)state;
	refused("serial:nope", -ENODEV, "serial nope: no disk has it");
	refused("serial:twin", -ENOTUNIQ, "more than one disk");
	refused("/dev/disk/by-id/virtio-", -ENODEV, "not a name udev makes");
	refused("/nonexistent/dev", -ENOENT, "/nonexistent/dev");
	refused("/dev/null", -ENOTBLK, "not a block device");
}

static void test_partition(void **state)
{
	uint64_t start;
	dev_t whole;

	(void)state;
	assert_int_equal(disk_whole(root, makedev(253, 1), &whole, &start), 0);
	assert_int_equal(whole, makedev(253, 0));
	assert_int_equal(start, 2048 * 512);
	assert_int_equal(disk_whole(root, makedev(253, 0), &whole, &start), 0);
	assert_int_equal(whole, makedev(253, 0));
	assert_int_equal(start, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_partition),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
