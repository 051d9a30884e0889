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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../integration/kshim.h"
#include "../../kmod/ferry_ring.h"

#include <ferry/crc32c.h>
#include <ferry/ring.h>

#include "../../agent/ferryd/drain.h"
#include "../../agent/ferryd/spool.h"

#define HDR_SIZE	4096u
#define RING_SIZE	(64u << 20)
#define REC_LEN		(64u << 10)
#define SEG_SIZE	(4u << 20)
#define SPOOL_SIZE	(64u * SEG_SIZE)

static void *ring_mem;
static struct ferry_ring *ring;
static char spool_dir[256];
static int req_fd, rep_fd;
static volatile sig_atomic_t stop;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int wake[2] = { -1, -1 };	/* producer -> drain: "records" */

static void drain_wake(struct ring_src *rs)
{
	char buf[256];

	(void)rs;
	while (read(wake[0], buf, sizeof(buf)) > 0)
		;
}

static void wake_drain(void)
{
	if (write(wake[1], "", 1) < 0) {
		/* full: a wakeup is pending anyway */
	}
}

static int pipe_consume(struct ring_src *rs, uint64_t pos)
{
	int32_t r;

	(void)rs;
	if (write(req_fd, &pos, sizeof(pos)) != sizeof(pos) ||
	    read(rep_fd, &r, sizeof(r)) != sizeof(r))
		return -EPIPE;
	return r;
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

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int drain_child(void)
{
	struct spool_conf sc = { .dir = spool_dir, .size = SPOOL_SIZE,
				 .seg_size = SEG_SIZE,
				 .ack_mode = SPOOL_ACK_LOCAL };
	struct ring_reader rd;
	struct ring_src rs = { .rd = &rd, .poll_fd = -1, .woken = drain_wake,
			       .consume = pipe_consume, .disks = one_disk };
	static struct drain d;
	struct spool *sp;
	char why[512];
	int r;

	signal(SIGTERM, on_term);
	if (spool_open(&sc, &sp, why, sizeof(why)) ||
	    ring_reader_init(&rd, ring_mem, HDR_SIZE + RING_SIZE)) {
		fprintf(stderr, "bench-agent: %s\n", why);
		return 1;
	}
	d.stop = &stop;
	rs.poll_fd = wake[0];
	r = drain_init(&d, &rs, sp, 500, 1, why, sizeof(why));
	if (!r)
		r = drain_run(&d, why, sizeof(why));
	if (r)
		fprintf(stderr, "bench-agent: %s\n", why);
	drain_fini(&d);
	spool_close(sp);
	return r;
}

static void serve(int req, int rep, int timeout_ms)
{
	struct pollfd p = { .fd = req, .events = POLLIN };
	uint64_t pos;
	int32_t r;

	while (poll(&p, 1, timeout_ms) > 0) {
		if (read(req, &pos, sizeof(pos)) != sizeof(pos))
			return;
		r = ferry_ring_consume(ring, pos);
		if (write(rep, &r, sizeof(r)) != sizeof(r))
			return;
		timeout_ms = 0;
	}
}

/* Fill the ring with total bytes of 64 KiB writes while the child drains. */
static int run_drain(uint64_t total, double *secs, struct rusage *ru)
{
	static uint8_t payload[REC_LEN];
	uint32_t crc = crc32c(0, payload, REC_LEN);
	int req[2], rep[2], st;
	uint64_t done = 0, off = 0;
	double t0;
	pid_t pid;

	memset(payload, 0x5a, sizeof(payload));
	crc = crc32c(0, payload, REC_LEN);
	if (pipe(req) || pipe(rep))
		return -1;
	pid = fork();
	if (!pid) {
		req_fd = req[1];
		rep_fd = rep[0];
		_exit(drain_child());
	}
	t0 = now();
	while (done < total) {
		struct ferry_ring_res res;

		if (ferry_ring_reserve(ring, REC_LEN, NULL, &res)) {
			serve(req[0], rep[1], 1);
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
		wake_drain();
		off = (off + REC_LEN) % (1ull << 30);
		done += REC_LEN;
		serve(req[0], rep[1], 0);
	}
	while (ring->tail != ring->head)
		serve(req[0], rep[1], 1);
	*secs = now() - t0;
	kill(pid, SIGTERM);
	while (waitpid(pid, &st, WNOHANG) == 0)
		serve(req[0], rep[1], 1);
	getrusage(RUSAGE_CHILDREN, ru);
	close(req[0]);
	close(rep[1]);
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
	signal(SIGPIPE, SIG_IGN);
	if (pipe2(wake, O_NONBLOCK))
		return 1;
	total = strtoull(argv[2], NULL, 10) << 20;
	snprintf(spool_dir, sizeof(spool_dir), "%s/bench-spool", argv[1]);
	ring_mem = mmap(NULL, HDR_SIZE + RING_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ring = mmap(NULL, sizeof(*ring), PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ring_mem == MAP_FAILED || ring == MAP_FAILED)
		return 1;
	ferry_ring_init(ring, ring_mem, HDR_SIZE, RING_SIZE);
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
