// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-ps: the process server.  Commands:
 *
 *   ferry-ps [serve] [--listen ADDR:PORT] [--data DIR]
 *            [--point-interval SECONDS] [--retention SECONDS]
 *   ferry-ps passphrase [--data DIR]
 *   ferry-ps points [--data DIR] [--json] MACHINE
 *   ferry-ps status [--data DIR] MACHINE
 *   ferry-ps export [--data DIR] MACHINE DISK --point ID|latest --out FILE
 *
 * Exit status: 0 success, 1 failure (message on stderr), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ps.h"

#define DEFAULT_DATA	"/var/lib/ferry-ps"

static void usage(void)
{
	fprintf(stderr,
"usage: ferry-ps [serve] [--listen ADDR:PORT] [--data DIR]\n"
"                [--point-interval SECONDS] [--retention SECONDS]\n"
"       ferry-ps passphrase [--data DIR]\n"
"       ferry-ps points [--data DIR] [--json] MACHINE\n"
"       ferry-ps status [--data DIR] MACHINE\n"
"       ferry-ps export [--data DIR] MACHINE DISK --point ID|latest --out FILE\n"
"defaults: --listen %s --data %s --point-interval 60 --retention 86400\n",
		PS_DEFAULT_LISTEN, DEFAULT_DATA);
}

static int parse_secs(const char *opt, const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v > 10ull * 365 * 86400) {
		fprintf(stderr, "ferry-ps: %s %s: expected seconds\n", opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

static int cmd_serve(struct ps_server *srv, const char *listen)
{
	if (ps_data_open(srv, true) || ps_data_load_tls(srv))
		return 1;
	if (ps_applier_start(srv)) {
		fprintf(stderr, "ferry-ps: cannot start the applier thread\n");
		return 1;
	}
	/* reopen every known machine so pending segments get applied */
	ps_machines_load(srv);
	ps_applier_kick(srv);
	return ps_serve(srv, listen);
}

static int cmd_passphrase(struct ps_server *srv)
{
	char err[256], path[4096];

	if (ps_data_open(srv, false))
		return 1;
	snprintf(path, sizeof(path), "%s/tls/passphrase", srv->data);
	if (ps_passphrase_read(path, srv->passphrase, sizeof(srv->passphrase),
			       err, sizeof(err))) {
		fprintf(stderr, "ferry-ps: %s\n", err);
		return 1;
	}
	printf("%s\n", srv->passphrase);
	return 0;
}

static int dispatch(struct ps_server *srv, const char *cmd, const char *listen,
		    char **args, int nargs, const char *point, const char *out,
		    bool json)
{
	if (!strcmp(cmd, "serve") && nargs == 0)
		return cmd_serve(srv, listen);
	if (!strcmp(cmd, "passphrase") && nargs == 0)
		return cmd_passphrase(srv);
	srv->readonly = true;
	if (!strcmp(cmd, "points") && nargs == 1)
		return ps_data_open(srv, false) ? 1 :
		       ps_cmd_points(srv, args[0], json);
	if (!strcmp(cmd, "status") && nargs == 1)
		return ps_data_open(srv, false) ? 1 :
		       ps_cmd_status(srv, args[0]);
	if (!strcmp(cmd, "export") && nargs == 2 && point && out)
		return ps_data_open(srv, false) ? 1 :
		       ps_cmd_export(srv, args[0], args[1], point, out);
	usage();
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "data", required_argument, NULL, 'd' },
		{ "point-interval", required_argument, NULL, 'i' },
		{ "retention", required_argument, NULL, 'r' },
		{ "point", required_argument, NULL, 'p' },
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ps_server srv = {
		.data = DEFAULT_DATA,
		.datafd = -1,
		.policy = { .point_interval_s = 60, .retention_s = 86400 },
		.lock = PTHREAD_MUTEX_INITIALIZER,
		.apply_lock = PTHREAD_MUTEX_INITIALIZER,
		.apply_cond = PTHREAD_COND_INITIALIZER,
	};
	const char *listen = PS_DEFAULT_LISTEN, *point = NULL, *out = NULL;
	const char *cmd = "serve";
	bool json = false;
	int c;

	if (argc > 1 && argv[1][0] != '-') {
		cmd = argv[1];
		argv++;
		argc--;
	}
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'l': listen = optarg; break;
		case 'd': srv.data = optarg; break;
		case 'p': point = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'i':
			if (parse_secs("--point-interval", optarg,
				       &srv.policy.point_interval_s))
				return 2;
			break;
		case 'r':
			if (parse_secs("--retention", optarg,
				       &srv.policy.retention_s))
				return 2;
			break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	return dispatch(&srv, cmd, listen, argv + optind, argc - optind,
			point, out, json);
}
