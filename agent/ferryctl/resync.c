// SPDX-License-Identifier: GPL-2.0
/*
 * ferryctl resync DISK [--full]: ask ferryd to bring DISK's replica back
 * in line.  Without --full a hash-compare: only the 4 KiB blocks whose
 * SHA-256 differs from the replica's are re-read and sent; with --full the
 * whole disk is.  Either runs in ferryd; ferryctl status shows progress.
 */
#include <stdio.h>
#include <string.h>

#include "ferryctl.h"

int cmd_resync(int argc, char **argv)
{
	const char *disk = NULL;
	char req[512];
	int full = 0, i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--full"))
			full = 1;
		else if (argv[i][0] != '-' && !disk)
			disk = argv[i];
		else
			goto usage;
	}
	if (!disk || strchr(disk, '\n') || strchr(disk, ' '))
		goto usage;
	if (snprintf(req, sizeof(req), "resync %s%s", disk,
		     full ? " full" : "") >= (int)sizeof(req)) {
		fprintf(stderr, "ferryctl resync: %.40s...: disk name too long\n",
			disk);
		return FERRYCTL_EXIT_USAGE;
	}
	return ferryd_request(req);

usage:
	fprintf(stderr, "usage: ferryctl resync DISK [--full]\n"
		"  DISK: /dev/disk/by-id/NAME, serial:S, wwn:W or a device path\n"
		"  --full: re-send the whole disk instead of comparing hashes\n");
	return FERRYCTL_EXIT_USAGE;
}
