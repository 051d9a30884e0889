/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferryd.conf: the daemon's settings.  Keys, defaults and meaning are in
 * config.c's table and docs/agent.md.
 */
#ifndef FERRYD_CONFIG_H
#define FERRYD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include <ferry/conf.h>

#define FERRYD_CONF_PATH	"/etc/ferry/ferryd.conf"
#define FERRYD_MAX_DISKS	64
#define FERRYD_PATH_MAX		200

struct ferryd_conf {
	char device[FERRYD_PATH_MAX];	/* /dev/ferry */
	char spool_dir[FERRYD_PATH_MAX];
	char run_dir[FERRYD_PATH_MAX];	/* control socket */
	char state_dir[FERRYD_PATH_MAX];
	char server[256];		/* host:port, for ship=server */
	uint64_t ring_size;		/* 0: the module's default */
	uint64_t spool_size;
	uint64_t seg_size;
	unsigned int ship;		/* enum spool_ack_mode */
	uint64_t seal_ms;
	bool stop_park;			/* park the disks at a clean stop */
	uint64_t resync_block;		/* bytes per re-read */
	uint64_t resync_qd;		/* re-reads in flight */
	unsigned int nr_disks;
	char disks[FERRYD_MAX_DISKS][FERRYD_PATH_MAX];
};

extern const struct conf_key ferryd_conf_keys[];

/*
 * Defaults, then path (a missing file is fine only when optional).
 * 0 or -errno with err naming file:line and the reason.
 */
int ferryd_conf_load(struct ferryd_conf *c, const char *path, int optional,
		     char *err, size_t len);

#endif /* FERRYD_CONFIG_H */
