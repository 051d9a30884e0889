// SPDX-License-Identifier: GPL-2.0
/*
 * integ-agent-resync: re-read chunks in the stream are right under
 * concurrent writes.  Each case, in one process:
 *
 *   producer threads (the "kernel")           drain thread (ferryd's)
 *   lock range; pwrite(file); reserve +        ring_reader -> segment
 *   commit a ring record (payload, or          resync: initial copy of the
 *   metadata only); unlock                     files, metadata records'
 *                                              ranges -> O_DIRECT reads
 *
 * The "disks" are regular files holding random data and zero runs; the
 * initial copy runs while the producers write overlapping ranges.  At the
 * end every sealed segment is applied with the hrl library onto zeroed
 * images, which must equal the files byte for byte, and the last segment
 * must have closed the resync window.
 *
 * Overlapping writes are ordered by a range lock held from pwrite() until
 * the record has its seq, as a device completes a write before ferry.ko
 * records it: the ring's seq order is the files' write order.
 *
 * A last case copies an idle disk of zeros with a seal timer that never
 * fires: the copy must not wait for it (run_idle_zero_copy()).
 *
 * usage: integ-agent-resync [cases [seed]]   (default 12, time-seeded; each
 * case takes about a second, mostly fdatasync of its segments)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kshim.h"
#include "../../kmod/ferry_ring.h"
#include "../../kmod/ferry_ring.c"

#include <ferry/crc32c.h>
#include <ferry/hrl.h>

#include "../../agent/ferryd/drain.h"
#include "../../agent/ferryd/resync.h"
#include "../../agent/ferryd/spool.h"

#define HDR		4096u
#define MAX_DISKS	2
#define REGION		(16u << 10)	/* range lock granule */
#define MAX_LEN		(32u << 10)
#define SEG_SIZE	(256u << 10)
#define SPOOL_SIZE	(16u * SEG_SIZE)

enum mode { M_DATA, M_META, M_MIXED, M_NR };
static const char *const mode_name[] = { "data", "metadata", "mixed" };

struct tdisk {
	int fd;
	uint64_t size;
	char path[128];
	pthread_mutex_t *locks;
	unsigned int nlocks;
};

struct tcase {
	enum mode mode;
	unsigned int ndisks, nthreads, ops;
	uint64_t ring_size;
	struct tdisk disks[MAX_DISKS];
	struct ferry_ring ring;
	void *mem;
	int evfd;
	unsigned int seed;
	uint64_t nodata, records;
	pthread_mutex_t stat_lock;
};

static char base[64];

static void die(const char *what)
{
	fprintf(stderr, "integ-agent-resync: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- the ring source ----------------------------------------------------- */

static struct tcase *cur;

static void src_woken(struct ring_src *rs)
{
	uint64_t v;

	(void)rs;
	if (read(cur->evfd, &v, sizeof(v)) < 0) {
		/* nothing pending */
	}
}

static int src_consume(struct ring_src *rs, uint64_t pos)
{
	(void)rs;
	return ferry_ring_consume(&cur->ring, pos);
}

static int src_disks(struct ring_src *rs, struct hrl_disk *out,
		     unsigned int max)
{
	unsigned int i;

	(void)rs;
	for (i = 0; i < cur->ndisks && i < max; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		out[i].id = i + 1;
		out[i].uuid[0] = i + 1;
		out[i].size_bytes = cur->disks[i].size;
		out[i].lbs = 512;
	}
	return i;
}

/* ---- producers ------------------------------------------------------------ */

static void fill_random(uint8_t *p, size_t n, unsigned int *seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = rand_r(seed);
}

static void lock_range(struct tdisk *d, uint64_t off, uint32_t len, bool on)
{
	unsigned int a = off / REGION, b = (off + len - 1) / REGION, i;

	for (i = a; i <= b; i++) {
		if (on)
			pthread_mutex_lock(&d->locks[i]);
		else
			pthread_mutex_unlock(&d->locks[b - (i - a)]);
	}
}

/* Reserve with the payload, else metadata only (as ferry.ko degrades). */
static bool reserve(struct tcase *c, uint32_t plen, bool nodata,
		    struct ferry_ring_res *res)
{
	for (;;) {
		if (!nodata && !ferry_ring_reserve(&c->ring, plen,
				ferry_ring_data_limit(&c->ring), NULL, res))
			return false;
		if (!ferry_ring_reserve(&c->ring, 0,
					ferry_ring_meta_limit(&c->ring), NULL,
					res))
			return true;
		usleep(200);	/* a test may wait; the kernel goes to bitmap */
	}
}

static void produce_one(struct tcase *c, unsigned int *seed, uint8_t *buf)
{
	unsigned int k = rand_r(seed) % c->ndisks;
	struct tdisk *d = &c->disks[k];
	uint32_t len = (1 + rand_r(seed) % (MAX_LEN / 512)) * 512;
	uint64_t off;
	uint16_t op = FERRY_OP_WRITE;
	struct ferry_ring_res res;
	struct ferry_rec *rec;
	bool nodata, meta;
	unsigned int r = rand_r(seed) % 16;

	if (len > d->size)
		len = d->size;
	/* half of the writes go to the first 64 KiB: many overlaps */
	if (rand_r(seed) % 2)
		off = rand_r(seed) % ((d->size - len) / 512 + 1) * 512;
	else
		off = (uint64_t)(rand_r(seed) % 128) * 512;
	if (off + len > d->size)
		off = d->size - len;
	if (r == 0)
		op = FERRY_OP_DISCARD;
	else if (r == 1)
		op = FERRY_OP_WRITE_ZEROES;
	if (op == FERRY_OP_WRITE && r < 4)
		memset(buf, 0, len);	/* zeros written as data */
	else if (op == FERRY_OP_WRITE)
		fill_random(buf, len, seed);
	else
		memset(buf, 0, len);
	meta = c->mode == M_META || (c->mode == M_MIXED && rand_r(seed) % 2);

	lock_range(d, off, len, true);
	if (pwrite(d->fd, buf, len, off) != (ssize_t)len)
		die("pwrite");
	nodata = reserve(c, op == FERRY_OP_WRITE ? len : 0,
			 op == FERRY_OP_WRITE && meta, &res);
	rec = res.rec;
	rec->offset = off;
	rec->len = len;
	rec->time_ns = now_ns();
	rec->disk_id = k + 1;
	rec->op = op;
	rec->flags = nodata && op == FERRY_OP_WRITE ? FERRY_REC_NODATA : 0;
	memset(rec->reserved, 0, sizeof(rec->reserved));
	if (op == FERRY_OP_WRITE && !nodata) {
		memcpy(ferry_rec_payload(rec), buf, len);
		rec->crc = crc32c(0, buf, len);
	} else {
		rec->crc = crc32c(0, NULL, 0);
	}
	ferry_ring_commit(&res);
	lock_range(d, off, len, false);
	if (write(c->evfd, &(uint64_t){ 1 }, 8) < 0)
		die("eventfd");
	pthread_mutex_lock(&c->stat_lock);
	c->records++;
	c->nodata += nodata && op == FERRY_OP_WRITE;
	pthread_mutex_unlock(&c->stat_lock);
}

static void *producer(void *arg)
{
	struct tcase *c = cur;
	unsigned int seed = (uintptr_t)arg, i;
	uint8_t *buf = malloc(MAX_LEN);

	for (i = 0; i < c->ops; i++) {
		produce_one(c, &seed, buf);
		if (rand_r(&seed) % 4 == 0)
			usleep(rand_r(&seed) % 300);
	}
	free(buf);
	return NULL;
}

/* ---- the drain ------------------------------------------------------------ */

struct drainer {
	struct drain d;
	struct ring_src rs;
	struct ring_reader rd;
	struct spool *sp;
	struct resync *rsync;
	volatile sig_atomic_t stop;
	pthread_t th, ship_th;
	volatile bool ship_stop;
	bool done;		/* drain_run returned */
	int rc;
	char why[512];
};

static void *drain_main(void *arg)
{
	struct drainer *dr = arg;

	dr->rc = drain_run(&dr->d, dr->why, sizeof(dr->why));
	__atomic_store_n(&dr->done, true, __ATOMIC_RELEASE);
	return NULL;
}

static int ship_some(struct spool *sp);

static void *ship_main(void *arg)
{
	struct drainer *dr = arg;

	while (!dr->ship_stop)
		if (!ship_some(dr->sp))
			usleep(1000);
	return NULL;
}

static int drainer_start(struct drainer *dr, struct tcase *c, uint32_t block,
			 unsigned int qd, uint64_t seal_ms)
{
	struct spool_conf sc = { .size = SPOOL_SIZE, .seg_size = SEG_SIZE,
				 .ack_mode = SPOOL_ACK_SERVER };
	struct resync_conf rc = { .block_size = block, .queue_depth = qd };
	char spool_dir[128], state_dir[128];
	unsigned int i;
	int r;

	snprintf(spool_dir, sizeof(spool_dir), "%s/spool", base);
	snprintf(state_dir, sizeof(state_dir), "%s/state", base);
	sc.dir = spool_dir;
	rc.state_dir = state_dir;
	memset(dr, 0, sizeof(*dr));
	r = spool_open(&sc, &dr->sp, dr->why, sizeof(dr->why));
	if (!r)
		r = ring_reader_init(&dr->rd, c->mem, HDR + c->ring_size);
	if (!r)
		r = resync_create(&dr->rsync, &rc, dr->why, sizeof(dr->why));
	for (i = 0; !r && i < c->ndisks; i++) {
		uint8_t uuid[16] = { i + 1 };

		r = resync_add_disk(dr->rsync, i + 1, c->disks[i].path,
				    c->disks[i].size, uuid, dr->why,
				    sizeof(dr->why));
	}
	if (r)
		return r;
	dr->rs = (struct ring_src){ .rd = &dr->rd, .poll_fd = c->evfd,
				    .woken = src_woken,
				    .consume = src_consume,
				    .disks = src_disks };
	dr->d.stop = &dr->stop;
	dr->d.rsync = dr->rsync;
	r = drain_init(&dr->d, &dr->rs, dr->sp, seal_ms, 1, dr->why,
		       sizeof(dr->why));
	if (!r)
		r = -pthread_create(&dr->th, NULL, drain_main, dr);
	if (!r)
		r = -pthread_create(&dr->ship_th, NULL, ship_main, dr);
	return r;
}

static int drainer_stop(struct drainer *dr)
{
	dr->stop = 1;
	/* wake a drain that sleeps until a distant seal (as a signal does) */
	if (write(cur->evfd, &(uint64_t){ 1 }, 8) < 0)
		die("eventfd");
	pthread_join(dr->th, NULL);
	dr->ship_stop = true;
	pthread_join(dr->ship_th, NULL);
	ship_some(dr->sp);
	if (dr->rc)
		fprintf(stderr, "integ-agent-resync: drain: %s\n", dr->why);
	drain_fini(&dr->d);
	resync_destroy(dr->rsync);
	spool_close(dr->sp);
	return dr->rc;
}

/* Until the ring is empty and nothing is left to re-read. */
static void drainer_settle(struct drainer *dr, struct tcase *c)
{
	struct drain_stat ds;

	for (;;) {
		if (__atomic_load_n(&dr->done, __ATOMIC_ACQUIRE))
			return;		/* failed: drainer_stop() says why */
		drain_get_stat(&dr->d, &ds);
		if (!ds.window &&
		    __atomic_load_n(&c->ring.hdr->tail, __ATOMIC_ACQUIRE) ==
		    __atomic_load_n(&c->ring.hdr->head, __ATOMIC_ACQUIRE) &&
		    !resync_busy(dr->rsync) && resync_idle(dr->rsync, UINT32_MAX))
			return;
		usleep(2000);
	}
}

/* ---- the "server": applies sealed segments and acknowledges them ---------- */

static int img_fd[MAX_DISKS];

static int image_fd(void *ctx, uint32_t disk_id)
{
	(void)ctx;
	return disk_id >= 1 && disk_id <= MAX_DISKS ? img_fd[disk_id - 1] :
						      -ENOENT;
}

struct check_stat {
	uint64_t segs, flagged, resync_recs, zero_recs, after;
	bool last_flagged;
	struct hrl_apply a;
	int bad;
};

static struct check_stat cs;

static int count_kinds(int fd)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *p;
	int ret;

	lseek(fd, 0, SEEK_SET);
	if (hrl_reader_init_fd(&r, fd))
		return -ENOMEM;
	while ((ret = hrl_reader_next(&r, &rec, &p)) == HRL_NEXT_RECORD) {
		cs.resync_recs += rec.kind == HRL_RESYNC;
		cs.zero_recs += rec.kind == HRL_RESYNC_ZERO;
	}
	cs.last_flagged = hrl_reader_info(&r)->flags & HRL_SEG_RESYNC;
	cs.flagged += cs.last_flagged;
	hrl_reader_free(&r);
	return ret == HRL_NEXT_END ? 0 : -EBADMSG;
}

/* Apply and acknowledge what is sealed.  Returns segments applied. */
static int ship_some(struct spool *sp)
{
	struct spool_seg seg;
	struct hrl_error err;
	int n = 0, r;

	while (!cs.bad && !spool_next_unacked(sp, cs.after, &seg)) {
		int out = memfd_create("seg", MFD_CLOEXEC);
		uint8_t *s = malloc(seg.bytes);

		if (out < 0 || !s ||
		    pread(seg.fd, s, seg.bytes, 0) != (ssize_t)seg.bytes ||
		    write(out, s, seg.bytes) != (ssize_t)seg.bytes)
			die(seg.path);
		r = hrl_apply_fd(&cs.a, out, &err);
		if (!r)
			r = count_kinds(out);
		if (r) {
			char msg[256];

			fprintf(stderr, "check: segment %" PRIu64 ": %s\n",
				seg.id, hrl_strerror(&err, msg, sizeof(msg)));
			cs.bad = 1;
		}
		close(out);
		free(s);
		cs.after = seg.id;
		cs.segs++;
		n++;
		spool_ack(sp, seg.id);
	}
	return n;
}

static int check(struct tcase *c)
{
	unsigned int i;
	uint8_t *x, *y;
	int bad = cs.bad;

	for (i = 0; i < c->ndisks; i++) {
		uint64_t n = c->disks[i].size, o;

		x = malloc(n);
		y = malloc(n);
		if (pread(img_fd[i], x, n, 0) != (ssize_t)n ||
		    pread(c->disks[i].fd, y, n, 0) != (ssize_t)n)
			die("read back");
		if (memcmp(x, y, n)) {
			for (o = 0; x[o] == y[o]; o++)
				;
			fprintf(stderr, "check: disk %u: replica differs from the file first at byte %" PRIu64 " (of %" PRIu64 ")\n",
				i + 1, o, n);
			bad = 1;
		}
		free(x);
		free(y);
		close(img_fd[i]);
	}
	if (cs.last_flagged) {
		fprintf(stderr, "check: the last segment is flagged HRL_SEG_RESYNC: the window never closed\n");
		bad = 1;
	}
	return bad;
}

/* ---- one case ------------------------------------------------------------- */

static void make_disk(struct tdisk *d, unsigned int i, uint64_t size,
		      unsigned int *seed)
{
	uint8_t *b = malloc(size);
	uint64_t o;

	/* random 4 KiB blocks and zero runs: zero detection has work */
	for (o = 0; o < size; o += 4096) {
		size_t n = size - o < 4096 ? size - o : 4096;

		if (rand_r(seed) % 3)
			fill_random(b + o, n, seed);
		else
			memset(b + o, 0, n);
	}
	snprintf(d->path, sizeof(d->path), "%s/disk%u.img", base, i + 1);
	d->fd = open(d->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (d->fd < 0 || pwrite(d->fd, b, size, 0) != (ssize_t)size ||
	    fsync(d->fd))
		die(d->path);
	free(b);
	d->size = size;
	d->nlocks = (size + REGION - 1) / REGION;
	d->locks = calloc(d->nlocks, sizeof(*d->locks));
	for (o = 0; o < d->nlocks; o++)
		pthread_mutex_init(&d->locks[o], NULL);
}

/* The ring, its eventfd, and the images the segments are applied to. */
static void case_ring_and_images(struct tcase *c)
{
	unsigned int i;

	if (posix_memalign(&c->mem, 4096, HDR + c->ring_size))
		die("ring");
	memset(c->mem, 0, HDR + c->ring_size);
	ferry_ring_init(&c->ring, c->mem, HDR, c->ring_size);
	c->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	cur = c;
	memset(&cs, 0, sizeof(cs));
	cs.a.image_fd = image_fd;
	for (i = 0; i < c->ndisks; i++) {
		img_fd[i] = memfd_create("image", MFD_CLOEXEC);
		if (img_fd[i] < 0 || ftruncate(img_fd[i], c->disks[i].size))
			die("image");
	}
}

/* What a case made; its directory stays for a look when it failed. */
static void case_cleanup(struct tcase *c, int failed)
{
	char cmd[160];
	unsigned int i;

	for (i = 0; i < c->ndisks; i++) {
		close(c->disks[i].fd);
		free(c->disks[i].locks);
	}
	close(c->evfd);
	free(c->mem);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
	if (!failed && system(cmd)) {
		/* leave it */
	}
}

static int run_case(unsigned int n, unsigned int seed, bool restart)
{
	static const uint32_t blocks[] = { 4096, 16384, 65536 };
	struct tcase c = { 0 };
	struct drainer dr;
	pthread_t th[8];
	unsigned int i;
	uint32_t block;
	int r;

	c.seed = seed;
	c.mode = rand_r(&seed) % M_NR;
	c.ndisks = 1 + rand_r(&seed) % MAX_DISKS;
	c.nthreads = 1 + rand_r(&seed) % 4;
	c.ops = 20 + rand_r(&seed) % 120;
	c.ring_size = (64u << 10) << (rand_r(&seed) % 4);
	block = blocks[rand_r(&seed) % 3];
	pthread_mutex_init(&c.stat_lock, NULL);
	snprintf(base, sizeof(base), "/var/tmp/integ-agent-resync.XXXXXX");
	if (!mkdtemp(base))
		die("mkdtemp");
	for (i = 0; i < c.ndisks; i++)
		make_disk(&c.disks[i], i, (64 + rand_r(&seed) % 1984) * 512ull,
			  &seed);
	case_ring_and_images(&c);

	r = drainer_start(&dr, &c, block, 1 + rand_r(&seed) % 8, 20);
	if (r) {
		fprintf(stderr, "case %u: start: %s\n", n, dr.why);
		return 1;
	}
	for (i = 0; i < c.nthreads; i++)
		pthread_create(&th[i], NULL, producer,
			       (void *)(uintptr_t)rand_r(&seed));
	if (restart) {
		/* ferryd stopped and started during the initial copy */
		usleep(rand_r(&seed) % 20000);
		r = drainer_stop(&dr);
		if (!r)
			r = drainer_start(&dr, &c, block, 4, 20);
		if (r) {
			fprintf(stderr, "case %u: restart: %s\n", n, dr.why);
			return 1;
		}
	}
	for (i = 0; i < c.nthreads; i++)
		pthread_join(th[i], NULL);
	drainer_settle(&dr, &c);
	for (i = 0; i < c.ndisks; i++)
		if (!resync_initial_done(dr.rsync, i + 1)) {
			fprintf(stderr, "case %u: disk %u: initial copy not recorded as done\n",
				n, i + 1);
			r = 1;
		}
	r |= drainer_stop(&dr);
	r |= check(&c);
	if (r || getenv("V"))
		printf("case %u (seed %u): %s, %u disk(s), %u threads x %u ops, ring %" PRIu64 " KiB, block %u%s: %" PRIu64 " records (%" PRIu64 " metadata-only), %" PRIu64 " segments (%" PRIu64 " flagged), %" PRIu64 " resync + %" PRIu64 " zero records: %s\n",
		       n, c.seed, mode_name[c.mode], c.ndisks, c.nthreads, c.ops,
		       c.ring_size >> 10, block, restart ? ", restarted" : "",
		       c.records, c.nodata, cs.segs, cs.flagged,
		       cs.resync_recs, cs.zero_recs, r ? "FAIL" : "ok");
	if (!r && !cs.zero_recs) {
		fprintf(stderr, "case %u: no zero ranges although the disks hold zero blocks\n",
			n);
		r = 1;
	}
	case_cleanup(&c, r);
	return r;
}

/*
 * An idle disk of zeros with a seal timer that never fires in the test:
 * its chunks are tiny HRL_RESYNC_ZERO records that never fill a segment,
 * so only the reads keep the copy going.  Every chunk must reach the open
 * segment without a seal (the drain re-issues reads into the slots the
 * added chunks freed before it sleeps), and the segment with the last one
 * is sealed at once, so that the copy is recorded done; the window
 * closes then or at the stop.  The deadline
 * only catches a copy that waits for the timer (64 chunks of 64 KiB, two
 * reads at a time: 32 seal periods of 10 minutes).
 */
static int run_idle_zero_copy(void)
{
	struct resync_disk_stat st = { 0 };
	struct tcase c = { 0 };
	struct drainer dr;
	unsigned int i;
	int r;

	c.ndisks = 1;
	c.ring_size = 64u << 10;
	pthread_mutex_init(&c.stat_lock, NULL);
	snprintf(base, sizeof(base), "/var/tmp/integ-agent-resync.XXXXXX");
	if (!mkdtemp(base))
		die("mkdtemp");
	snprintf(c.disks[0].path, sizeof(c.disks[0].path), "%s/zero.img",
		 base);
	c.disks[0].size = 4u << 20;
	c.disks[0].fd = open(c.disks[0].path, O_RDWR | O_CREAT | O_TRUNC |
			     O_CLOEXEC, 0600);
	if (c.disks[0].fd < 0 || ftruncate(c.disks[0].fd, c.disks[0].size))
		die(c.disks[0].path);
	case_ring_and_images(&c);
	r = drainer_start(&dr, &c, 64u << 10, 2, 600000);
	if (r) {
		fprintf(stderr, "idle zero copy: start: %s\n", dr.why);
		return 1;
	}
	for (i = 0; i < 20000 && !resync_initial_done(dr.rsync, 1); i++)
		usleep(1000);
	if (!resync_initial_done(dr.rsync, 1)) {
		resync_get_stat(dr.rsync, 1, &st);
		fprintf(stderr, "idle zero copy: not done after 20 s, %" PRIu64 " of %" PRIu64 " bytes in the stream: the copy waits for the seal timer\n",
			st.pass_done, c.disks[0].size);
		r = 1;
	}
	r |= drainer_stop(&dr);		/* seals, and closes the window */
	r |= check(&c);
	if (!r && !cs.zero_recs) {
		fprintf(stderr, "idle zero copy: no zero records\n");
		r = 1;
	}
	printf("idle zero copy: %" PRIu64 " segments, %" PRIu64 " zero records: %s\n",
	       cs.segs, cs.zero_recs, r ? "FAIL" : "ok");
	case_cleanup(&c, r);
	return r;
}

int main(int argc, char **argv)
{
	unsigned int cases = argc > 1 ? atoi(argv[1]) : 12;
	unsigned int seed = argc > 2 ? atoi(argv[2]) : time(NULL) ^ getpid();
	unsigned int i, failed = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("integ-agent-resync: %u cases, seed %u\n", cases, seed);
	srandom(seed);
	for (i = 0; i < cases; i++) {
		/* a third without io_uring; every fifth restarts the drain */
		if (i % 3 == 2)
			setenv("FERRYD_IO", "sync", 1);
		else
			unsetenv("FERRYD_IO");
		failed += run_case(i, seed + i, i % 5 == 4);
		if (failed)
			break;
	}
	if (!failed) {
		unsetenv("FERRYD_IO");
		failed += run_idle_zero_copy();
	}
	printf("integ-agent-resync: %s\n", failed ? "FAIL" : "ok");
	return failed ? 1 : 0;
}
