// SPDX-License-Identifier: GPL-2.0
/* The shared-memory ring harness; see shmring.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "shmring.h"

/* ferry.ko's producer, built here against kshim.h */
#include "../../kmod/ferry_ring.c"

static int child_req = -1, child_rep = -1, child_wake = -1;
static volatile sig_atomic_t child_stop;

int shmring_init(struct shmring *s, uint64_t data_size)
{
	memset(s, 0, sizeof(*s));
	s->data_size = data_size;
	s->mem = mmap(NULL, SHMRING_HDR + data_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s->ring = mmap(NULL, sizeof(*s->ring), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s->mem == MAP_FAILED || s->ring == MAP_FAILED ||
	    pipe2(s->wake, O_NONBLOCK | O_CLOEXEC))
		return -errno;
	ferry_ring_init(s->ring, s->mem, SHMRING_HDR, data_size);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void shmring_fini(struct shmring *s)
{
	munmap(s->mem, SHMRING_HDR + s->data_size);
	munmap(s->ring, sizeof(*s->ring));
	close(s->wake[0]);
	close(s->wake[1]);
}

void shmring_wake(struct shmring *s)
{
	if (write(s->wake[1], "", 1) < 0) {
		/* pipe full: a wakeup is pending anyway */
	}
}

static void child_woken(struct ring_src *rs)
{
	char buf[256];

	(void)rs;
	while (read(child_wake, buf, sizeof(buf)) > 0)
		;
}

static int child_consume(struct ring_src *rs, uint64_t pos)
{
	int32_t r;

	(void)rs;
	if (write(child_req, &pos, sizeof(pos)) != sizeof(pos) ||
	    read(child_rep, &r, sizeof(r)) != sizeof(r))
		return -EPIPE;
	return r;
}

static void child_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

static int child_main(struct shmring *s, const struct spool_conf *sc,
		      int (*disks)(struct ring_src *, struct hrl_disk *,
				   unsigned int),
		      uint64_t seal_ms)
{
	struct ring_reader rd;
	struct ring_src rs = { .rd = &rd, .poll_fd = child_wake,
			       .woken = child_woken,
			       .consume = child_consume, .disks = disks };
	static struct drain d;
	struct spool *sp;
	char why[512] = "";
	int r;

	signal(SIGTERM, child_term);
	r = spool_open(sc, &sp, why, sizeof(why));
	if (!r)
		r = ring_reader_init(&rd, s->mem, SHMRING_HDR + s->data_size);
	if (r) {
		fprintf(stderr, "drain child: %s\n", why[0] ? why : strerror(-r));
		return 1;
	}
	d.stop = &child_stop;
	r = drain_init(&d, &rs, sp, seal_ms, 1, why, sizeof(why));
	if (!r)
		r = drain_run(&d, why, sizeof(why));
	if (r)
		fprintf(stderr, "drain child: %s\n", why);
	drain_fini(&d);
	spool_close(sp);
	return r ? 1 : 0;
}

int shmring_fork(struct shmring *s, const struct spool_conf *sc,
		 int (*disks)(struct ring_src *, struct hrl_disk *, unsigned int),
		 uint64_t seal_ms)
{
	int req[2], rep[2];

	if (pipe(req) || pipe(rep))
		return -errno;
	s->pid = fork();
	if (s->pid < 0)
		return -errno;
	if (!s->pid) {
		close(req[0]);
		close(rep[1]);
		child_req = req[1];
		child_rep = rep[0];
		child_wake = s->wake[0];
		_exit(child_main(s, sc, disks, seal_ms));
	}
	close(req[1]);
	close(rep[0]);
	s->req = req[0];
	s->rep = rep[1];
	return 0;
}

void shmring_serve(struct shmring *s, int timeout_ms)
{
	struct pollfd p = { .fd = s->req, .events = POLLIN };
	uint64_t pos;
	int32_t r;

	while (poll(&p, 1, timeout_ms) > 0) {
		if (read(s->req, &pos, sizeof(pos)) != sizeof(pos))
			return;		/* dead, or killed mid-request */
		r = ferry_ring_consume(s->ring, pos);
		if (r)
			fprintf(stderr, "shmring: consume %llu: %d\n",
				(unsigned long long)pos, r);
		if (write(s->rep, &r, sizeof(r)) < 0) {
			/* the child died waiting for the answer */
		}
		timeout_ms = 0;
	}
}

int shmring_reap(struct shmring *s, int sig)
{
	int st = 0;

	if (sig)
		kill(s->pid, sig);
	while (waitpid(s->pid, &st, WNOHANG) == 0)
		shmring_serve(s, 10);
	shmring_serve(s, 0);
	close(s->req);
	close(s->rep);
	s->pid = 0;
	return st;
}
