// SPDX-License-Identifier: GPL-2.0
/*
 * integ-agent-drain: ferryd's drain loop fed by ferry.ko's ring producer
 * (kmod/ferry_ring.c, compiled in userspace through kshim.h), with the
 * draining process killed with SIGKILL at random moments and restarted.
 *
 *   parent (the "kernel")                child (ferryd's drain)
 *   ferry_ring_reserve/commit  --shm-->  ring_reader -> hrl segment
 *   model images in memory               -> spool slot (O_DIRECT, fsync)
 *   ferry_ring_consume  <--pipe "pos"--  -> spool_seal -> consume(pos)
 *
 * At the end every segment left in the spool is applied with the hrl
 * library to zeroed images, which must equal the model: no record lost,
 * duplicates (rewritten after a kill) harmless, nothing torn accepted.
 *
 * usage: integ-agent-drain [records [kills]]   (default 6000 30)
 * Without arguments it runs twice: io_uring, then the plain-syscall
 * fallback (FERRYD_IO=sync) with 2000 records and 10 kills.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "shmring.h"

#include <ferry/crc32c.h>
#include <ferry/hrl.h>

#define RING_SIZE	(4u << 20)
#define DISK_SIZE	(8u << 20)
#define NR_DISKS	2
#define SEG_SIZE	(256u << 10)
#define SPOOL_SIZE	(512u * SEG_SIZE)

static struct shmring sr;
static char dir[64];
static uint8_t *model[NR_DISKS];

static void die(const char *what)
{
	fprintf(stderr, "integ-agent-drain: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int fixed_disks(struct ring_src *rs, struct hrl_disk *out,
		       unsigned int max)
{
	unsigned int i;

	(void)rs;
	for (i = 0; i < NR_DISKS && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = i + 1;
		out[i].size_bytes = DISK_SIZE;
		out[i].lbs = 512;
	}
	return i;
}

static void start_drain(void)
{
	struct spool_conf sc = { .dir = dir, .size = SPOOL_SIZE,
				 .seg_size = SEG_SIZE,
				 .ack_mode = SPOOL_ACK_NONE };

	if (shmring_fork(&sr, &sc, fixed_disks, 20))
		die("fork");
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One random change, into the ring and into the model. */
static void produce_one(void)
{
	static const uint16_t ops[] = { FERRY_OP_WRITE, FERRY_OP_WRITE,
		FERRY_OP_WRITE, FERRY_OP_WRITE, FERRY_OP_WRITE, FERRY_OP_WRITE,
		FERRY_OP_DISCARD, FERRY_OP_WRITE_ZEROES, FERRY_OP_FLUSH };
	uint16_t op = ops[random() % (sizeof(ops) / sizeof(ops[0]))];
	uint32_t disk = random() % NR_DISKS;
	uint32_t len = (1 + random() % 32) * 512;
	uint64_t off = (random() % (DISK_SIZE / 512 - 64)) * 512;
	uint32_t plen = op == FERRY_OP_WRITE ? len : 0;
	struct ferry_ring_res res;
	struct ferry_rec *rec;
	uint8_t *p;
	uint32_t i;

	while (ferry_ring_reserve(sr.ring, plen, sr.ring->size, NULL, &res) == -ENOSPC)
		shmring_serve(&sr, 5);	/* a test may wait; the kernel drops */
	rec = res.rec;
	p = ferry_rec_payload(rec);
	for (i = 0; i < plen; i++)
		p[i] = random();
	rec->offset = op == FERRY_OP_FLUSH ? 0 : off;
	rec->len = op == FERRY_OP_FLUSH ? 0 : len;
	rec->time_ns = now_ns();
	rec->disk_id = disk + 1;
	rec->op = op;
	rec->flags = 0;
	memset(rec->reserved, 0, sizeof(rec->reserved));
	rec->crc = crc32c(0, p, plen);
	if (op == FERRY_OP_WRITE)
		memcpy(model[disk] + off, p, len);
	else if (op != FERRY_OP_FLUSH)
		memset(model[disk] + off, 0, len);
	ferry_ring_commit(&res);
	shmring_wake(&sr);
}

/* ---- check: apply the spool with the hrl library ----------------------- */

static int img_fd[NR_DISKS];

static int image_fd(void *ctx, uint32_t disk_id)
{
	(void)ctx;
	return disk_id >= 1 && disk_id <= NR_DISKS ? img_fd[disk_id - 1] :
						     -ENOENT;
}

static int check_spool(void)
{
	struct spool_conf sc = { .dir = dir, .size = SPOOL_SIZE,
				 .seg_size = SEG_SIZE };
	struct hrl_apply a = { .image_fd = image_fd };
	struct spool_seg seg;
	struct hrl_error err;
	struct spool *sp;
	uint64_t after = 0, nseg = 0;
	char why[512], path[128];
	uint8_t *buf = malloc(DISK_SIZE);
	int i, r, bad = 0;

	if (spool_open(&sc, &sp, why, sizeof(why))) {
		fprintf(stderr, "check: %s\n", why);
		return 1;
	}
	for (i = 0; i < NR_DISKS; i++) {
		snprintf(path, sizeof(path), "%s/../disk%d.img", dir, i + 1);
		img_fd[i] = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (img_fd[i] < 0 || ftruncate(img_fd[i], DISK_SIZE))
			die(path);
	}
	/* id order is seal order; duplicates after a kill are skipped */
	while (!spool_next_unacked(sp, after, &seg)) {
		int fd = open(seg.path, O_RDONLY);
		char tmp[128];
		int out;
		uint8_t *s = malloc(seg.bytes);

		/* a slot holds a segment plus stale bytes: cut it out */
		snprintf(tmp, sizeof(tmp), "%s/../seg.hrl", dir);
		out = open(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || out < 0 || !s ||
		    pread(fd, s, seg.bytes, 0) != (ssize_t)seg.bytes ||
		    write(out, s, seg.bytes) != (ssize_t)seg.bytes)
			die(seg.path);
		lseek(out, 0, SEEK_SET);
		r = hrl_apply_fd(&a, out, &err);
		if (r) {
			char msg[256];

			fprintf(stderr, "check: segment %llu (%s): %s\n",
				(unsigned long long)seg.id, seg.path,
				hrl_strerror(&err, msg, sizeof(msg)));
			return 1;
		}
		close(out);
		close(fd);
		free(s);
		after = seg.id;
		nseg++;
	}
	for (i = 0; i < NR_DISKS; i++) {
		if (pread(img_fd[i], buf, DISK_SIZE, 0) != DISK_SIZE)
			die("read image");
		if (memcmp(buf, model[i], DISK_SIZE)) {
			uint64_t o = 0;

			while (buf[o] == model[i][o])
				o++;
			fprintf(stderr, "check: disk %d differs from the writes first at byte %llu\n",
				i + 1, (unsigned long long)o);
			bad = 1;
		}
	}
	printf("integ-agent-drain: %llu segments, %llu records applied, %llu skipped as duplicates\n",
	       (unsigned long long)nseg, (unsigned long long)a.applied,
	       (unsigned long long)a.skipped);
	spool_close(sp);
	free(buf);
	return bad;
}

static int run(long records, long kills);

int main(int argc, char **argv)
{
	int rc;

	srandom(getpid() ^ time(NULL));
	if (argc > 1)
		return run(atol(argv[1]), argc > 2 ? atol(argv[2]) : 30);
	rc = run(6000, 30);
	if (rc)
		return rc;
	setenv("FERRYD_IO", "sync", 1);
	printf("integ-agent-drain: again with FERRYD_IO=sync\n");
	return run(2000, 10);
}

static int run(long records, long kills)
{
	long i, every = kills ? records / (kills + 1) : records + 1;
	char cmd[128];
	int rc, d, st;

	snprintf(dir, sizeof(dir), "/var/tmp/integ-agent-drain.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	strcat(dir, "/spool");
	if (shmring_init(&sr, RING_SIZE))
		die("shared ring");
	for (d = 0; d < NR_DISKS; d++) {
		free(model[d]);
		model[d] = calloc(1, DISK_SIZE);
	}

	start_drain();
	for (i = 1; i <= records; i++) {
		produce_one();
		shmring_serve(&sr, 0);
		if (i % every == 0 && kills-- > 0) {
			/* let it run a random moment, then kill -9 */
			usleep(random() % 20000);
			shmring_reap(&sr, SIGKILL);
			start_drain();
		}
	}
	/* drain everything, then stop it cleanly */
	while (sr.ring->tail != sr.ring->head)
		shmring_serve(&sr, 10);
	st = shmring_reap(&sr, SIGTERM);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "integ-agent-drain: drain exited with status %#x\n",
			st);
		return 1;
	}

	rc = check_spool();
	if (!rc && system(cmd)) {
		/* leave the directory for a look */
	}
	printf("integ-agent-drain: %s\n", rc ? "FAIL" : "ok");
	shmring_fini(&sr);
	for (d = 0; d < NR_DISKS; d++)
		close(img_fd[d]);
	return rc;
}
