// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-stats [MAJ:MIN]: ferry.ko's own per-disk statistics
 * (FERRY_IOC_STATS), one line per attached disk, as KEY=VALUE words:
 *
 *   disk=0 dev=252:0 mode=metadata state=attached,resync records=... ...
 *
 * With MAJ:MIN only that disk is printed (exit 1 if it is not attached).
 * The VM scenarios read the mode counters from here, straight from the
 * kernel, whatever the agent makes of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <ferry.h>

static const char *mode_name(__u32 mode)
{
	switch (mode) {
	case FERRY_MODE_DATA:
		return "data";
	case FERRY_MODE_METADATA:
		return "metadata";
	case FERRY_MODE_BITMAP:
		return "bitmap";
	}
	return "unknown";
}

static void print_state(__u32 state)
{
	printf(" state=%s%s%s",
	       state & FERRY_DISK_ATTACHED ? "attached" : "detached",
	       state & FERRY_DISK_RESYNC ? ",resync" : "",
	       state & FERRY_DISK_GONE ? ",gone" : "");
}

static int print_disk(int fd, __u32 id)
{
	struct ferry_stats st = { .disk_id = id };

	if (ioctl(fd, FERRY_IOC_STATS, &st)) {
		fprintf(stderr, "ferry-test-stats: disk %u: FERRY_IOC_STATS: %s\n",
			id, strerror(errno));
		return -1;
	}
	printf("disk=%u dev=%u:%u mode=%s", id, st.major, st.minor,
	       mode_name(st.mode));
	print_state(st.state);
	printf(" records=%llu bytes=%llu drops=%llu drop_bytes=%llu"
	       " ring_used=%llu ring_size=%llu mode_changes=%llu"
	       " to_metadata=%llu to_bitmap=%llu nodata_records=%llu"
	       " dirty_bits=%llu bitmap_granule=%llu bitmap_bytes=%llu\n",
	       (unsigned long long)st.records, (unsigned long long)st.bytes,
	       (unsigned long long)st.drops,
	       (unsigned long long)st.drop_bytes,
	       (unsigned long long)st.ring_used,
	       (unsigned long long)st.ring_size,
	       (unsigned long long)st.mode_changes,
	       (unsigned long long)st.to_metadata,
	       (unsigned long long)st.to_bitmap,
	       (unsigned long long)st.nodata_records,
	       (unsigned long long)st.dirty_bits,
	       (unsigned long long)st.bitmap_granule,
	       (unsigned long long)st.bitmap_bytes);
	return 0;
}

int main(int argc, char **argv)
{
	struct ferry_list_entry e[FERRY_MAX_DISKS];
	struct ferry_list l = {
		.count = FERRY_MAX_DISKS,
		.entries = (__u64)(unsigned long)e,
	};
	unsigned int maj = 0, min = 0, i;
	int fd, found = 0, bad = 0;

	if (argc > 2 || (argc == 2 && sscanf(argv[1], "%u:%u", &maj, &min) != 2)) {
		fprintf(stderr, "usage: ferry-test-stats [MAJ:MIN]\n");
		return 2;
	}
	fd = open(FERRY_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, FERRY_IOC_LIST, &l)) {
		fprintf(stderr, "ferry-test-stats: %s: %s\n", FERRY_DEVICE_PATH,
			strerror(errno));
		return 1;
	}
	for (i = 0; i < l.count; i++) {
		if (argc == 2 && (e[i].major != maj || e[i].minor != min))
			continue;
		found++;
		if (print_disk(fd, e[i].disk_id))
			bad++;
	}
	close(fd);
	if (argc == 2 && !found) {
		fprintf(stderr, "ferry-test-stats: %s: not attached\n", argv[1]);
		return 1;
	}
	return bad ? 1 : 0;
}
