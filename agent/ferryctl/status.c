// SPDX-License-Identifier: GPL-2.0
/*
 * ferryctl status [--json]: ferryd's report; when ferryd is not running,
 * the kernel's own view from /dev/ferry and exit status 3.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <ferry.h>

#include "ferryctl.h"

static const char *mode_name(uint32_t mode)
{
	static const char *const names[] = { "data", "metadata", "bitmap" };

	return mode < 3 ? names[mode] : "?";
}

static void kernel_disk(int fd, const struct ferry_list_entry *e, bool json,
			bool first)
{
	struct ferry_stats st = { .disk_id = e->disk_id };

	if (ioctl(fd, FERRY_IOC_STATS, &st))
		memset(&st, 0, sizeof(st));
	if (json) {
		printf("%s{\"id\":%u,\"dev\":\"%u:%u\",\"state\":%u,\"mode\":\"%s\",\"ring_used\":%llu,\"ring_size\":%llu,\"records\":%llu,\"drops\":%llu,\"to_metadata\":%llu,\"to_bitmap\":%llu,\"nodata_records\":%llu,\"dirty_bits\":%llu,\"bitmap_granule\":%llu}",
		       first ? "" : ",", e->disk_id, e->major, e->minor,
		       st.state, mode_name(st.mode),
		       (unsigned long long)st.ring_used,
		       (unsigned long long)st.ring_size,
		       (unsigned long long)st.records,
		       (unsigned long long)st.drops,
		       (unsigned long long)st.to_metadata,
		       (unsigned long long)st.to_bitmap,
		       (unsigned long long)st.nodata_records,
		       (unsigned long long)st.dirty_bits,
		       (unsigned long long)st.bitmap_granule);
		return;
	}
	printf("disk %u (%u:%u): state %#x, mode %s, ring %llu of %llu bytes, %llu records, %llu drops\n",
	       e->disk_id, e->major, e->minor, st.state, mode_name(st.mode),
	       (unsigned long long)st.ring_used,
	       (unsigned long long)st.ring_size,
	       (unsigned long long)st.records, (unsigned long long)st.drops);
	printf("  %llu to metadata, %llu to bitmap, %llu records without data, %llu dirty bits of %llu bytes\n",
	       (unsigned long long)st.to_metadata,
	       (unsigned long long)st.to_bitmap,
	       (unsigned long long)st.nodata_records,
	       (unsigned long long)st.dirty_bits,
	       (unsigned long long)st.bitmap_granule);
}

/* Without ferryd: what ferry.ko says.  Changes are not being drained. */
static void kernel_view(bool json)
{
	struct ferry_list_entry ents[FERRY_MAX_DISKS];
	struct ferry_list l = { .count = FERRY_MAX_DISKS,
				.entries = (uintptr_t)ents };
	unsigned int i;
	int fd;

	fd = open(FERRY_DEVICE_PATH, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || ioctl(fd, FERRY_IOC_LIST, &l)) {
		fprintf(stderr, "ferryctl: %s: %s\n", FERRY_DEVICE_PATH,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		if (json)
			printf("{\"ferryd\":false,\"disks\":null}\n");
		return;
	}
	if (json)
		printf("{\"ferryd\":false,\"disks\":[");
	else
		printf("ferryd: not running; changes are not drained\n");
	for (i = 0; i < l.count; i++)
		kernel_disk(fd, &ents[i], json, !i);
	if (json)
		printf("]}\n");
	close(fd);
}

int cmd_status(int argc, char **argv)
{
	bool json = false;
	int r, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			fprintf(stderr, "usage: ferryctl status [--json]\n");
			return FERRYCTL_EXIT_USAGE;
		}
	}
	r = ferryd_request(json ? "status json" : "status");
	if (r == FERRYCTL_EXIT_NODAEMON)
		kernel_view(json);
	return r;
}
