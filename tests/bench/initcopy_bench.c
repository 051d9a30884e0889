// SPDX-License-Identifier: GPL-2.0
/*
 * bench-initcopy DIR FILE: ferryd's initial copy of FILE (a "disk") into
 * a spool in DIR, without a VM: drain.c + resync.c + spool.c as ferryd
 * runs them (resync.block_size 1M, queue_depth 8, 4 MiB segments, a
 * 64 MiB spool with ship = local, seal_ms 500, a tick every second), over
 * ferry.ko's ring compiled in userspace (kshim.h) that no one writes to.
 * Prints the copy's rate beside a plain O_DIRECT read of FILE, 1 MiB at
 * a time (pread).  It shows whether the pipeline itself waits: a sparse
 * FILE costs no I/O, so its copy is all loop, zero check and records.
 *
 * The time is from the drain's start to the initial copy being recorded
 * as done (sealed), polled every millisecond.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../integration/kshim.h"
#include "../../kmod/ferry_ring.h"
#include "../../kmod/ferry_ring.c"

#include "../../agent/ferryd/drain.h"
#include "../../agent/ferryd/resync.h"
#include "../../agent/ferryd/spool.h"

#define HDR		4096u
#define RING_SIZE	(16u << 20)
#define SEG_SIZE	(4u << 20)
#define SPOOL_SIZE	(16u * SEG_SIZE)
#define BLOCK		(1u << 20)

static struct ferry_ring ring;
static uint64_t disk_size;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int src_consume(struct ring_src *rs, uint64_t pos)
{
	(void)rs;
	return ferry_ring_consume(&ring, pos);
}

static int src_disks(struct ring_src *rs, struct hrl_disk *out,
		     unsigned int max)
{
	(void)rs;
	(void)max;
	memset(out, 0, sizeof(*out));
	out->id = 1;
	out->uuid[0] = 1;
	out->size_bytes = disk_size;
	out->lbs = 512;
	return 1;
}

/* As dev_tick() with nothing degraded: once a second. */
static unsigned int src_tick(struct ring_src *rs, bool *hold)
{
	(void)rs;
	*hold = false;
	return 1000;
}

static void *drain_main(void *arg)
{
	struct drain *d = arg;
	char why[256];

	if (drain_run(d, why, sizeof(why)))
		fprintf(stderr, "bench-initcopy: drain: %s\n", why);
	return NULL;
}

/* A plain O_DIRECT read of the file, BLOCK at a time. */
static double read_plain(const char *path)
{
	void *buf;
	uint64_t off;
	double t0;
	int fd = open(path, O_RDONLY | O_DIRECT);

	if (fd < 0 || posix_memalign(&buf, 4096, BLOCK))
		return -1;
	t0 = now();
	for (off = 0; off < disk_size; off += BLOCK)
		if (pread(fd, buf, BLOCK, off) <= 0)
			return -1;
	t0 = now() - t0;
	close(fd);
	free(buf);
	return t0;
}

int main(int argc, char **argv)
{
	struct spool_conf sc = { .size = SPOOL_SIZE, .seg_size = SEG_SIZE,
				 .ack_mode = SPOOL_ACK_LOCAL };
	struct resync_conf rc = { .block_size = BLOCK, .queue_depth = 8 };
	static struct drain d;
	static struct ring_src rs;
	static struct ring_reader rd;
	volatile sig_atomic_t stop = 0;
	char spool_dir[300], state_dir[300], why[256] = "", cmd[700];
	uint8_t uuid[16] = { 1 };
	struct resync *rsync;
	struct drain_stat ds;
	struct spool *sp;
	struct stat st;
	double t0, copy_s, read_s;
	pthread_t th;
	void *mem;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: bench-initcopy DIR FILE\n");
		return 2;
	}
	if (stat(argv[2], &st)) {
		perror(argv[2]);
		return 1;
	}
	disk_size = st.st_size & ~4095ull;
	snprintf(spool_dir, sizeof(spool_dir), "%s/bench-spool", argv[1]);
	snprintf(state_dir, sizeof(state_dir), "%s/bench-state", argv[1]);
	sc.dir = spool_dir;
	rc.state_dir = state_dir;
	/* a state file left by an interrupted run would resume that copy */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", spool_dir, state_dir);
	if (system(cmd)) {
		/* nothing to remove */
	}
	if (posix_memalign(&mem, 4096, HDR + RING_SIZE))
		return 1;
	memset(mem, 0, HDR + RING_SIZE);
	ferry_ring_init(&ring, mem, HDR, RING_SIZE);
	r = spool_open(&sc, &sp, why, sizeof(why));
	if (!r)
		r = ring_reader_init(&rd, mem, HDR + RING_SIZE);
	if (!r)
		r = resync_create(&rsync, &rc, why, sizeof(why));
	if (!r)
		r = resync_add_disk(rsync, 1, argv[2], disk_size, uuid, why,
				    sizeof(why));
	if (r) {
		fprintf(stderr, "bench-initcopy: %s\n", why);
		return 1;
	}
	rs = (struct ring_src){ .rd = &rd, .poll_fd = eventfd(0, EFD_CLOEXEC),
				.consume = src_consume, .disks = src_disks,
				.tick = src_tick };
	d.stop = &stop;
	d.rsync = rsync;
	t0 = now();
	r = drain_init(&d, &rs, sp, 500, 2, why, sizeof(why));
	if (r || pthread_create(&th, NULL, drain_main, &d)) {
		fprintf(stderr, "bench-initcopy: drain: %s\n", why);
		return 1;
	}
	while (!resync_initial_done(rsync, 1))
		usleep(1000);
	copy_s = now() - t0;
	stop = 1;
	pthread_join(th, NULL);
	drain_get_stat(&d, &ds);
	drain_fini(&d);
	resync_destroy(rsync);
	spool_close(sp);
	read_s = read_plain(argv[2]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", spool_dir, state_dir);
	if (system(cmd)) {
		/* leftovers in a bench directory are harmless */
	}
	printf("%llu MiB: copy %.0f MB/s (%.2f s, %llu segments, %llu records)  O_DIRECT read %.0f MB/s  ratio %.2f\n",
	       (unsigned long long)disk_size >> 20, disk_size / 1e6 / copy_s,
	       copy_s, (unsigned long long)ds.segments,
	       (unsigned long long)ds.resync_records,
	       disk_size / 1e6 / read_s, read_s / copy_s);
	return 0;
}
