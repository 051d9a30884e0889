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
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kshim.h"
#include "../../kmod/ferry_ring.h"

#include <ferry/crc32c.h>
#include <ferry/hrl.h>
#include <ferry/ring.h>

#include "../../agent/ferryd/drain.h"
#include "../../agent/ferryd/spool.h"

#define HDR_SIZE	4096u
#define RING_SIZE	(4u << 20)
#define DISK_SIZE	(8u << 20)
#define NR_DISKS	2
#define SEG_SIZE	(256u << 10)
#define SPOOL_SIZE	(512u * SEG_SIZE)

struct shared {
	struct ferry_ring ring;		/* producer state; parent only */
};

static void *ring_mem;
static struct shared *sh;
static char dir[64];
static uint8_t *model[NR_DISKS];

static void die(const char *what)
{
	fprintf(stderr, "integ-agent-drain: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* ---- child: the drain, as ferryd runs it ------------------------------ */

static int req_fd = -1, rep_fd = -1;
static volatile sig_atomic_t child_stop;

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

static void on_term(int sig)
{
	(void)sig;
	child_stop = 1;
}

static int child_main(void)
{
	struct spool_conf sc = { .dir = dir, .size = SPOOL_SIZE,
				 .seg_size = SEG_SIZE,
				 .ack_mode = SPOOL_ACK_NONE };
	struct ring_reader rd;
	struct ring_src rs = { .rd = &rd, .poll_fd = -1, .woken = drain_wake,
			       .consume = pipe_consume, .disks = fixed_disks };
	static struct drain d;
	struct spool *sp;
	char why[512];
	int r;

	signal(SIGTERM, on_term);
	if (spool_open(&sc, &sp, why, sizeof(why))) {
		fprintf(stderr, "child: %s\n", why);
		return 1;
	}
	if (ring_reader_init(&rd, ring_mem, HDR_SIZE + RING_SIZE)) {
		fprintf(stderr, "child: ring_reader_init failed\n");
		return 1;
	}
	d.stop = &child_stop;
	rs.poll_fd = wake[0];
	r = drain_init(&d, &rs, sp, 20, 1, why, sizeof(why));
	if (!r)
		r = drain_run(&d, why, sizeof(why));
	if (r)
		fprintf(stderr, "child: %s\n", why);
	drain_fini(&d);
	spool_close(sp);
	return r ? 1 : 0;
}

/* ---- parent: producer, model, consume service -------------------------- */

struct child {
	pid_t pid;
	int req, rep;		/* parent's ends */
};

static struct child start_child(void)
{
	int req[2], rep[2];
	struct child c;

	if (pipe(req) || pipe(rep))
		die("pipe");
	c.pid = fork();
	if (c.pid < 0)
		die("fork");
	if (!c.pid) {
		close(req[0]);
		close(rep[1]);
		req_fd = req[1];
		rep_fd = rep[0];
		_exit(child_main());
	}
	close(req[1]);
	close(rep[0]);
	c.req = req[0];
	c.rep = rep[1];
	return c;
}

/* Answer the child's consume requests that are waiting; 0, or -1 on EOF. */
static int serve(struct child *c, int timeout_ms)
{
	struct pollfd p = { .fd = c->req, .events = POLLIN };
	uint64_t pos;
	int32_t r;

	while (poll(&p, 1, timeout_ms) > 0) {
		ssize_t n = read(c->req, &pos, sizeof(pos));

		if (n != sizeof(pos))
			return -1;	/* dead, or killed mid-request */
		r = ferry_ring_consume(&sh->ring, pos);
		if (r)
			fprintf(stderr, "parent: consume %llu: %d\n",
				(unsigned long long)pos, r);
		if (write(c->rep, &r, sizeof(r)) < 0) {
			/* the child died waiting for the answer */
		}
		timeout_ms = 0;
	}
	return 0;
}

static void reap(struct child *c, int sig, int want_status)
{
	int st;

	if (sig)
		kill(c->pid, sig);
	/* consume requests already written are still honoured, as an
	 * ioctl in flight completes even when its caller is killed */
	while (waitpid(c->pid, &st, WNOHANG) == 0)
		if (serve(c, 10) < 0)
			waitpid(c->pid, &st, 0);
	serve(c, 0);
	close(c->req);
	close(c->rep);
	if (want_status >= 0 &&
	    (!WIFEXITED(st) || WEXITSTATUS(st) != want_status)) {
		fprintf(stderr, "integ-agent-drain: drain exited with status %#x\n",
			st);
		exit(1);
	}
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One random change, into the ring and into the model. */
static void produce_one(struct child *c)
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

	while (ferry_ring_reserve(&sh->ring, plen, NULL, &res) == -ENOSPC)
		serve(c, 5);	/* a test may wait where the kernel drops */
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
	wake_drain();
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

	signal(SIGPIPE, SIG_IGN);
	if (pipe2(wake, O_NONBLOCK))
		return 1;
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
	struct child c;
	char cmd[128];
	int rc, d;

	snprintf(dir, sizeof(dir), "/var/tmp/integ-agent-drain.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	strcat(dir, "/spool");
	ring_mem = mmap(NULL, HDR_SIZE + RING_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ring_mem == MAP_FAILED || sh == MAP_FAILED)
		die("mmap");
	ferry_ring_init(&sh->ring, ring_mem, HDR_SIZE, RING_SIZE);
	for (d = 0; d < NR_DISKS; d++) {
		free(model[d]);
		model[d] = calloc(1, DISK_SIZE);
	}

	c = start_child();
	for (i = 1; i <= records; i++) {
		produce_one(&c);
		serve(&c, 0);
		if (i % every == 0 && kills-- > 0) {
			/* let it run a random moment, then kill -9 */
			usleep(random() % 20000);
			reap(&c, SIGKILL, -1);
			c = start_child();
		}
	}
	/* drain everything, then stop it cleanly */
	while (sh->ring.tail != sh->ring.head)
		serve(&c, 10);
	reap(&c, SIGTERM, 0);

	rc = check_spool();
	if (!rc && system(cmd)) {
		/* leave the directory for a look */
	}
	printf("integ-agent-drain: %s\n", rc ? "FAIL" : "ok");
	munmap(ring_mem, HDR_SIZE + RING_SIZE);
	munmap(sh, sizeof(*sh));
	for (d = 0; d < NR_DISKS; d++)
		close(img_fd[d]);
	return rc;
}
