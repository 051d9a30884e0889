/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Disks by stable identity: resolve a configured name to the whole-disk
 * device number, refuse partitions, and derive an identity uuid.
 */
#ifndef FERRY_DISK_H
#define FERRY_DISK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct disk_id {
	dev_t dev;
	char name[32];		/* kernel name: vdb, nvme0n1 */
	char ident[256];	/* "serial:XYZ", "wwn:...", or the device path */
	uint8_t uuid[16];	/* from ident: the same disk, the same uuid */
};

/*
 * spec is one of
 *   /dev/disk/by-id/NAME   (when udev made no link, NAME is matched against
 *                           the serial and wwid in sysfs: see docs/agent.md)
 *   serial:SERIAL, wwn:WWID
 *   any block device path (/dev/vdb)
 * sysfs is normally "/sys" (tests pass a fake tree).  0 or -errno with a
 * message in why naming spec and the reason (a partition names its parent).
 */
int disk_resolve(const char *sysfs, const char *spec, struct disk_id *d,
		 char *why, size_t len);

/* Kernel name of dev ("vdb", "vdb1") from sysfs.  0 or -errno. */
int disk_name(const char *sysfs, dev_t dev, char *name, size_t len);

/*
 * For a partition: the whole disk and the partition's start in bytes;
 * for a whole disk: itself and 0.  0 or -errno.
 */
int disk_whole(const char *sysfs, dev_t dev, dev_t *whole, uint64_t *start);

#endif /* FERRY_DISK_H */
