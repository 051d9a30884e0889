/* SPDX-License-Identifier: GPL-2.0 */
/* The daemon's parts, shared by ferryd.c (setup, loop) and ctl.c. */
#ifndef FERRYD_FERRYD_H
#define FERRYD_FERRYD_H

#include <signal.h>
#include <stdint.h>

#include "config.h"
#include "dev.h"
#include "drain.h"
#include "spool.h"

struct ferryd {
	struct ferryd_conf conf;
	const char *conf_path;
	struct spool *sp;
	struct dev dv;
	struct drain dr;
	struct resync *rsync;	/* resync.h: re-reads ranges into the stream */
	volatile sig_atomic_t stop;
	uint64_t started_ns;
	int ctl_fd;		/* listening control socket, -1 if none */
	char ctl_path[256];
};

/* ctl.c: the control socket for ferryctl. */
int ctl_start(struct ferryd *fd, char *why, size_t len);
void ctl_stop(struct ferryd *fd);

/* notify.c: systemd's sd_notify protocol, without libsystemd. */
void notify_systemd(const char *state);

#endif /* FERRYD_FERRYD_H */
