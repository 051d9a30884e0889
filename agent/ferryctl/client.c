// SPDX-License-Identifier: GPL-2.0
/* ferryctl's side of ferryd's control socket (protocol in ferryd/ctl.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "ferryctl.h"

static int connect_ferryd(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa))) {
		close(s);
		return -1;
	}
	return s;
}

int ferryd_request(const char *req)
{
	const char *path = getenv("FERRYD_SOCKET");
	char buf[4096];
	int s, code = -1;
	size_t have = 0;
	ssize_t n;
	FILE *out = stdout;
	char *nl;

	if (!path || !*path)
		path = FERRYD_SOCKET;
	s = connect_ferryd(path);
	if (s < 0) {
		fprintf(stderr, "ferryctl: ferryd is not running (%s: %s)\n",
			path, strerror(errno));
		return FERRYCTL_EXIT_NODAEMON;
	}
	if (dprintf(s, "%s\n", req) < 0)
		goto out_broken;
	/* first line: the exit status */
	while (code < 0) {
		n = read(s, buf + have, sizeof(buf) - 1 - have);
		if (n <= 0)
			goto out_broken;
		have += n;
		buf[have] = 0;
		nl = strchr(buf, '\n');
		if (!nl)
			continue;
		code = atoi(buf);
		if (code != FERRYCTL_EXIT_OK && code != FERRYCTL_EXIT_ATTENTION)
			out = stderr;
		fwrite(nl + 1, 1, have - (nl + 1 - buf), out);
	}
	while ((n = read(s, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, n, out);
	close(s);
	return code;

out_broken:
	fprintf(stderr, "ferryctl: %s: ferryd closed the connection without an answer\n",
		path);
	close(s);
	return FERRYCTL_EXIT_ERROR;
}
