// SPDX-License-Identifier: GPL-2.0
/*
 * ferryctl attach DISK / detach DISK: ask ferryd, which resolves DISK by
 * stable identity, attaches it and excludes its spool extents.  The change
 * lasts until ferryd restarts; ferryd.conf's disk keys make it permanent.
 */
#include <stdio.h>
#include <string.h>

#include "ferryctl.h"

static int disk_request(const char *verb, int argc, char **argv)
{
	char req[512];

	if (argc != 2 || argv[1][0] == '-' || strchr(argv[1], '\n')) {
		fprintf(stderr, "usage: ferryctl %s DISK\n"
			"  DISK: /dev/disk/by-id/NAME, serial:S, wwn:W or a device path\n",
			verb);
		return FERRYCTL_EXIT_USAGE;
	}
	if (snprintf(req, sizeof(req), "%s %s", verb, argv[1]) >=
	    (int)sizeof(req)) {
		fprintf(stderr, "ferryctl: %s: disk name too long\n", verb);
		return FERRYCTL_EXIT_USAGE;
	}
	return ferryd_request(req);
}

int cmd_attach(int argc, char **argv)
{
	return disk_request("attach", argc, argv);
}

int cmd_detach(int argc, char **argv)
{
	return disk_request("detach", argc, argv);
}
