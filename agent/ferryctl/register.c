// SPDX-License-Identifier: GPL-2.0
/*
 * ferryctl register --server HOST:PORT --passphrase-file FILE
 *                   [--state-dir DIR] [--machine-id HEX]
 *
 * Registers this machine with ferry-ps: gets a client certificate and pins
 * the server's CA (protocol in docs/server.md).  The machine id is
 * /etc/machine-id, else STATE_DIR/machine-id (created once, random), the
 * same rule ferryd follows, so its segments carry the certified id.
 * Exit: 0 registered, 1 refused or failed (message says why), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <ferry/machine_id.h>
#include <ferry/ps_auth.h>
#include <ferry/ps_client.h>

#include "ferryctl.h"

#define STATE_DIR	"/var/lib/ferry"

int cmd_register(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "server", required_argument, NULL, 's' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "machine-id", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	const char *server = NULL, *pfile = NULL, *dir = STATE_DIR;
	char id[40] = "", pass[PS_PASSPHRASE_MAX], err[PS_ERR_LEN];
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': server = optarg; break;
		case 'p': pfile = optarg; break;
		case 'd': dir = optarg; break;
		case 'm': snprintf(id, sizeof(id), "%s", optarg); break;
		default: goto usage;
		}
	}
	if (!server || !pfile || optind != argc)
		goto usage;
	if (id[0] && !ferry_machine_id_valid(id)) {
		fprintf(stderr, "ferryctl register: --machine-id %s: expected "
			"32 lowercase hex digits\n", id);
		return FERRYCTL_EXIT_USAGE;
	}
	if (ps_passphrase_read(pfile, pass, sizeof(pass), err, sizeof(err))) {
		fprintf(stderr, "ferryctl register: %s\n", err);
		return FERRYCTL_EXIT_ERROR;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		fprintf(stderr, "ferryctl register: %s: %s\n", dir,
			strerror(errno));
		return FERRYCTL_EXIT_ERROR;
	}
	r = id[0] ? 0 : ferry_machine_id(dir, id);
	if (r) {
		fprintf(stderr, "ferryctl register: %s/machine-id: %s\n", dir,
			strerror(-r));
		return FERRYCTL_EXIT_ERROR;
	}
	if (ps_register(server, pass, id, dir, err, sizeof(err))) {
		fprintf(stderr, "ferryctl register: %s\n", err);
		return FERRYCTL_EXIT_ERROR;
	}
	printf("registered machine %s with %s; credentials in %s\n", id,
	       server, dir);
	return FERRYCTL_EXIT_OK;
usage:
	fprintf(stderr, "usage: ferryctl register --server HOST:PORT "
		"--passphrase-file FILE [--state-dir DIR] [--machine-id HEX]\n");
	return FERRYCTL_EXIT_USAGE;
}
