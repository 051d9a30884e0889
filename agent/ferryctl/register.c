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
#include <openssl/rand.h>

#include <ferry/ps_auth.h>
#include <ferry/ps_client.h>

#include "ferryctl.h"

#define STATE_DIR	"/var/lib/ferry"

static int valid_hex_id(const char *s)
{
	size_t i;

	if (strlen(s) != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (!strchr("0123456789abcdef", s[i]))
			return 0;
	return 1;
}

static int read_id(const char *path, char *id)
{
	FILE *f = fopen(path, "re");
	char line[64] = "";

	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	if (!valid_hex_id(line))
		return -EINVAL;
	strcpy(id, line);
	return 0;
}

static int machine_id(const char *dir, char *id)
{
	char path[4096];
	unsigned char raw[16];
	FILE *f;
	int i;

	if (!read_id("/etc/machine-id", id))
		return 0;
	snprintf(path, sizeof(path), "%s/machine-id", dir);
	if (!read_id(path, id))
		return 0;
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	for (i = 0; i < 16; i++)
		sprintf(id + 2 * i, "%02x", raw[i]);
	f = fopen(path, "we");
	if (!f || fprintf(f, "%s\n", id) < 0 || fclose(f)) {
		fprintf(stderr, "ferryctl register: %s: %s\n", path,
			strerror(errno));
		return -EIO;
	}
	return 0;
}

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
	int c;

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
	if (id[0] && !valid_hex_id(id)) {
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
	if (!id[0] && machine_id(dir, id))
		return FERRYCTL_EXIT_ERROR;
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
