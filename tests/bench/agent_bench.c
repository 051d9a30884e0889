// SPDX-License-Identifier: GPL-2.0
/*
 * bench-agent DIR MB: ferryd's drain throughput from a ring to a spool in
 * DIR, beside a plain copy of the same bytes to DIR with the same
 * durability (4 MiB O_DIRECT writes, fdatasync after each); agent CPU
 * seconds per GB and peak resident memory.
 *
 * The ring is ferry.ko's producer compiled in userspace (kshim.h) in
 * shared memory, filled with 64 KiB writes by this process; the drain
 * (drain.c + spool.c with ship = local) runs in a child process so that
 * its CPU time and RSS are its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../integration/shmring.h"

#include <ferry/crc32c.h>

#define RING_SIZE	(64u << 20)
#define REC_LEN		(64u << 10)
#define SEG_SIZE	(4u << 20)
#define SPOOL_SIZE	(64u * SEG_SIZE)

static struct shmring sr;
static char spool_dir[256];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int one_disk(struct ring_src *rs, struct hrl_disk *out,
		    unsigned int max)
{
	(void)rs;
	(void)max;
	memset(out, 0, sizeof(*out));
	out->id = 1;
	out->size_bytes = 1ull << 40;
	out->lbs = 512;
	return 1;
}

/* Fill the ring with total bytes of 64 KiB writes while the child drains. */
static int run_drain(uint64_t total, double *secs, struct rusage *ru)
{
	struct spool_conf sc = { .dir = spool_dir, .size = SPOOL_SIZE,
				 .seg_size = SEG_SIZE,
				 .ack_mode = SPOOL_ACK_LOCAL };
	static uint8_t payload[REC_LEN];
	uint64_t done = 0, off = 0;
	uint32_t crc;
	double t0;
	int st;

	memset(payload, 0x5a, sizeof(payload));
	crc = crc32c(0, payload, REC_LEN);
	if (shmring_fork(&sr, &sc, one_disk, 500))
		return -1;
	t0 = now();
	while (done < total) {
		struct ferry_ring_res res;

		if (ferry_ring_reserve(sr.ring, REC_LEN, sr.ring->size, NULL, &res)) {
			shmring_serve(&sr, 1);
			continue;
		}
		memcpy(ferry_rec_payload(res.rec), payload, REC_LEN);
		res.rec->offset = off;
		res.rec->len = REC_LEN;
		res.rec->time_ns = 1;
		res.rec->disk_id = 1;
		res.rec->op = FERRY_OP_WRITE;
		res.rec->flags = 0;
		res.rec->crc = crc;
		memset(res.rec->reserved, 0, sizeof(res.rec->reserved));
		ferry_ring_commit(&res);
		shmring_wake(&sr);
		off = (off + REC_LEN) % (1ull << 30);
		done += REC_LEN;
		shmring_serve(&sr, 0);
	}
	while (sr.ring->tail != sr.ring->head)
		shmring_serve(&sr, 1);
	*secs = now() - t0;
	st = shmring_reap(&sr, SIGTERM);
	getrusage(RUSAGE_CHILDREN, ru);
	return WIFEXITED(st) && !WEXITSTATUS(st) ? 0 : -1;
}

/* The same bytes, copied from memory to a file in dir, same durability. */
static double run_copy(const char *dir, uint64_t total)
{
	char path[300];
	void *src = malloc(SEG_SIZE), *buf;
	uint64_t done, off = 0;
	double t0;
	int fd;

	snprintf(path, sizeof(path), "%s/plain-copy", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0)
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || !src || posix_memalign(&buf, 4096, SEG_SIZE) ||
	    posix_fallocate(fd, 0, SPOOL_SIZE))
		return -1;
	memset(src, 0x5a, SEG_SIZE);
	memset(buf, 0x5a, SEG_SIZE);
	for (off = 0; off < SPOOL_SIZE; off += SEG_SIZE)
		if (pwrite(fd, buf, SEG_SIZE, off) != SEG_SIZE)
			return -1;
	fsync(fd);
	t0 = now();
	for (done = 0, off = 0; done < total; done += SEG_SIZE) {
		memcpy(buf, src, SEG_SIZE);
		if (pwrite(fd, buf, SEG_SIZE, off) != SEG_SIZE || fdatasync(fd))
			return -1;
		off = (off + SEG_SIZE) % SPOOL_SIZE;
	}
	t0 = now() - t0;
	close(fd);
	unlink(path);
	free(src);
	free(buf);
	return t0;
}

int main(int argc, char **argv)
{
	uint64_t total;
	struct rusage ru;
	double drain_s, copy_s, cpu, gb;
	char cmd[300];

	if (argc != 3) {
		fprintf(stderr, "usage: bench-agent DIR MB\n");
		return 2;
	}
	total = strtoull(argv[2], NULL, 10) << 20;
	snprintf(spool_dir, sizeof(spool_dir), "%s/bench-spool", argv[1]);
	if (shmring_init(&sr, RING_SIZE))
		return 1;
	if (run_drain(total, &drain_s, &ru)) {
		fprintf(stderr, "bench-agent: the drain failed\n");
		return 1;
	}
	copy_s = run_copy(argv[1], total);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", spool_dir);
	if (system(cmd)) {
		/* leftovers in a bench directory are harmless */
	}
	if (copy_s <= 0) {
		fprintf(stderr, "bench-agent: the plain copy failed\n");
		return 1;
	}
	gb = total / 1e9;
	cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("%-10s drain %7.0f MB/s  plain copy %7.0f MB/s  ratio %.2f  agent CPU %.2f s/GB  RSS %ld MiB (ring %u MiB mapped, segment buffer %u MiB)\n",
	       argv[1], gb * 1000 / drain_s, gb * 1000 / copy_s,
	       copy_s / drain_s, cpu / gb, ru.ru_maxrss / 1024,
	       RING_SIZE >> 20, SEG_SIZE >> 20);
	return 0;
}
