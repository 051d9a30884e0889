// SPDX-License-Identifier: GPL-2.0
/*
 * ferryd.conf keys.  Each has a default; docs/agent.md lists them (and
 * must change with this table).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "config.h"

#define OFF(f)	offsetof(struct ferryd_conf, f)

static const char *const ship_modes[] = { "none", "local", "server", NULL };

static int parse_disk(const char *val, void *obj, char *why, size_t len)
{
	struct ferryd_conf *c = obj;

	if (!*val) {
		snprintf(why, len, "disk: empty value");
		return -EINVAL;
	}
	if (strlen(val) >= FERRYD_PATH_MAX) {
		snprintf(why, len, "disk: longer than %d bytes",
			 FERRYD_PATH_MAX - 1);
		return -ENAMETOOLONG;
	}
	if (c->nr_disks == FERRYD_MAX_DISKS) {
		snprintf(why, len, "disk: more than %d disks",
			 FERRYD_MAX_DISKS);
		return -E2BIG;
	}
	strcpy(c->disks[c->nr_disks++], val);
	return 0;
}

const struct conf_key ferryd_conf_keys[] = {
	{ "disk", CONF_CUSTOM, NULL, 0, 0, 0, 0, NULL, parse_disk, true,
	  "disk to protect: /dev/disk/by-id/..., serial:S, wwn:W or a device path (repeatable)" },
	{ "device", CONF_STR, "/dev/ferry", OFF(device), FERRYD_PATH_MAX,
	  0, 0, NULL, NULL, false, "ferry.ko's control and ring device" },
	{ "ring.size", CONF_SIZE, "0", OFF(ring_size), 0, 0, 1ull << 40,
	  NULL, NULL, false,
	  "ring to create if none exists (power of two); 0: the module's default" },
	{ "spool.dir", CONF_STR, "/var/lib/ferry/spool", OFF(spool_dir),
	  FERRYD_PATH_MAX, 0, 0, NULL, NULL, false, "spool directory" },
	{ "spool.size", CONF_SIZE, "512M", OFF(spool_size), 0, 64 << 10,
	  1ull << 44, NULL, NULL, false, "bytes of preallocated spool" },
	{ "spool.segment_size", CONF_SIZE, "4M", OFF(seg_size), 0, 64 << 10,
	  1ull << 30, NULL, NULL, false,
	  "bytes per segment slot, a multiple of 4K; larger than the largest write" },
	{ "ship", CONF_ENUM, "none", OFF(ship), 0, 0, 0, ship_modes, NULL,
	  false, "what acknowledges spooled segments: none, local or server" },
	{ "server", CONF_STR, NULL, OFF(server), 256, 0, 0, NULL, NULL, false,
	  "process server host:port, for ship = server" },
	{ "drain.seal_ms", CONF_UINT, "500", OFF(seal_ms), 0, 1, 600000,
	  NULL, NULL, false,
	  "longest time a change waits in a partly filled segment (ms)" },
	{ "resync.block_size", CONF_SIZE, "1M", OFF(resync_block), 0, 4096,
	  64 << 20, NULL, NULL, false,
	  "bytes per re-read of a disk (initial copy, resync), a multiple of 4K" },
	{ "resync.queue_depth", CONF_UINT, "8", OFF(resync_qd), 0, 1, 256,
	  NULL, NULL, false, "re-reads in flight (io_uring, O_DIRECT)" },
	{ "stop.park", CONF_BOOL, "yes", OFF(stop_park), 0, 0, 0, NULL, NULL,
	  false,
	  "at a clean stop, turn the disks to bitmap mode and drain the ring (docs/boot.md)" },
	{ "run_dir", CONF_STR, "/run/ferry", OFF(run_dir), FERRYD_PATH_MAX,
	  0, 0, NULL, NULL, false, "control socket directory" },
	{ "state_dir", CONF_STR, "/var/lib/ferry", OFF(state_dir),
	  FERRYD_PATH_MAX, 0, 0, NULL, NULL, false,
	  "agent state (machine id, credentials)" },
	{ NULL }
};

int ferryd_conf_load(struct ferryd_conf *c, const char *path, int optional,
		     char *err, size_t len)
{
	int r;

	memset(c, 0, sizeof(*c));
	r = conf_defaults(ferryd_conf_keys, c, err, len);
	if (r)
		return r;
	r = conf_load(path, ferryd_conf_keys, c, err, len);
	if (r == -ENOENT && optional)
		return 0;
	if (r)
		return r;
	if (c->seg_size % 4096) {
		snprintf(err, len, "%s: spool.segment_size: %llu is not a multiple of 4096",
			 path, (unsigned long long)c->seg_size);
		return -EINVAL;
	}
	if (c->spool_size < c->seg_size) {
		snprintf(err, len, "%s: spool.size is smaller than spool.segment_size",
			 path);
		return -EINVAL;
	}
	if (c->resync_block % 4096) {
		snprintf(err, len, "%s: resync.block_size: %llu is not a multiple of 4096",
			 path, (unsigned long long)c->resync_block);
		return -EINVAL;
	}
	if (c->ring_size & (c->ring_size - 1)) {
		snprintf(err, len, "%s: ring.size: %llu is not a power of two",
			 path, (unsigned long long)c->ring_size);
		return -EINVAL;
	}
	return 0;
}
