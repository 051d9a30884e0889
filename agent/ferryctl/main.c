// SPDX-License-Identifier: GPL-2.0
/*
 * ferryctl: the command line of the ferry agent.  A table of subcommands;
 * each lives in its own file.
 */
#include <stdio.h>
#include <string.h>

#include "ferryctl.h"

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} cmds[] = {
	{ "status", cmd_status, "status [--json]: disks, ring, spool, rates" },
	{ "attach", cmd_attach, "attach DISK: protect DISK (by-id path, serial:S, wwn:W)" },
	{ "detach", cmd_detach, "detach DISK: stop protecting DISK" },
	{ "resync", cmd_resync, "resync DISK [--full]: re-send what differs from the replica (hash-compare), or all of DISK" },
	{ "capture", cmd_capture, "capture [--count N] [--seconds S] DISK FILE: record DISK's writes into .hrl FILE" },
	{ "register", cmd_register, "register --server HOST:PORT --passphrase-file FILE: get credentials from ferry-ps" },
};

static int usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: ferryctl COMMAND [ARGS]\n");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		fprintf(f, "  %s\n", cmds[i].help);
	return f == stdout ? 0 : FERRYCTL_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2)
		return usage(stderr);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help"))
		return usage(stdout);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "ferryctl: unknown command '%s'\n", argv[1]);
	return usage(stderr);
}
