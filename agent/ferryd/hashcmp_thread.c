// SPDX-License-Identifier: GPL-2.0
/*
 * The hash-compare thread of ferryd (see hashcmp.h): a queue of ring disk
 * ids, run one after another.  For each disk:
 *
 *   1. take the newest sealed segment and the spool's end_seq now;
 *   2. wait until ferry-ps has acknowledged that segment and applied up to
 *      end_seq (so the backlog of the spool does not count as different),
 *      each at most HASHCMP_PATIENCE_S without progress;
 *   3. hashcmp_compare() the whole disk, the spool's own extents skipped,
 *      with differing blocks queued to the resync engine (RESYNC_HASH);
 *   4. log one line with the numbers.
 *
 * The server and credentials are ship.c's (ship_identity()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/disk.h>
#include <ferry/ps_client.h>

#include "ferryd.h"
#include "hashcmp.h"
#include "resync.h"
#include "ship.h"

#define HASHCMP_PATIENCE_S	60	/* without progress of the server */
#define RETRY_MIN_S		5	/* server unreachable: first wait */
#define RETRY_MAX_S		300
#define HASHCMP_QUEUE		FERRYD_MAX_DISKS

static struct {
	pthread_t thread;
	bool running;
	volatile int stop;
	pthread_mutex_t lock;	/* protects queue, nq and st */
	pthread_cond_t cond;	/* a request came, or stop */
	uint32_t queue[HASHCMP_QUEUE];
	unsigned int nq;
	struct hashcmp_stat st;
} hc = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};

static uint64_t real_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* What a compare needs to know about ring disk kid. */
struct target {
	char spec[200];
	char path[48];		/* /dev/NAME */
	dev_t dev;
	uint64_t size;
	char disk[40];		/* the server's name */
};

static int find_target(struct ferryd *fd, uint32_t kid, struct target *t)
{
	struct hrl_disk hd = { .id = kid };
	unsigned int i;
	int ret = -ENOENT;

	pthread_mutex_lock(&fd->dv.lock);
	for (i = 0; i < fd->dv.nr_disks; i++) {
		const struct dev_disk *dd = &fd->dv.disks[i];

		if (dd->kid != kid)
			continue;
		snprintf(t->spec, sizeof(t->spec), "%s", dd->spec);
		snprintf(t->path, sizeof(t->path), "/dev/%s", dd->id.name);
		t->dev = dd->id.dev;
		t->size = dd->size_bytes;
		memcpy(hd.uuid, dd->id.uuid, sizeof(hd.uuid));
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&fd->dv.lock);
	if (!ret)
		ps_disk_name(&hd, t->disk, sizeof(t->disk));
	return ret;
}

static int cmp_extent(const void *a, const void *b)
{
	const struct ferry_extent *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* The spool's extents when the spool lives on this disk, sorted. */
static struct ferry_extent *spool_skip(struct ferryd *fd, dev_t dev,
				       unsigned int *n)
{
	struct ferry_extent *ext;
	dev_t fs_dev, whole;
	uint64_t start;
	char why[256];

	*n = 0;
	if (dev_spool_disk(fd->dv.sysfs, fd->sp, &fs_dev, &whole, &start) ||
	    whole != dev)
		return NULL;
	ext = calloc(FERRY_MAX_EXCLUDE, sizeof(*ext));
	if (!ext)
		return NULL;
	*n = FERRY_MAX_EXCLUDE;
	if (dev_spool_extents(fd->dv.sysfs, fd->sp, ext, n, why, sizeof(why))) {
		fprintf(stderr, "ferryd: hash-compare: %s; the spool's blocks "
			"may be queued too\n", why);
		*n = 0;
	}
	qsort(ext, *n, sizeof(*ext), cmp_extent);
	return ext;
}

static void set_msg(const char *msg)
{
	pthread_mutex_lock(&hc.lock);
	snprintf(hc.st.msg, sizeof(hc.st.msg), "%s", msg);
	pthread_mutex_unlock(&hc.lock);
}

static int open_server(struct ferryd *fd, struct ship_ident *id,
		       struct ps_client **pc, char *err, size_t len)
{
	struct ps_client_conf cc = { 0 };

	if (fd->conf.ship != SPOOL_ACK_SERVER) {
		snprintf(err, len, "no process server (ship = %s); use "
			 "ferryctl resync --full",
			 spool_ack_mode_name(fd->conf.ship));
		return -EOPNOTSUPP;
	}
	if (!fd->rsync) {
		snprintf(err, len, "the resync engine is not running");
		return -ENODEV;
	}
	if (ship_identity(&fd->conf, id, err, len))
		return -ENOENT;
	cc.server = id->server;
	cc.dir = id->dir;
	cc.machine_id = id->machine;
	return ps_client_open(&cc, pc, err, len);
}

/* The id of the newest sealed segment not yet acknowledged, 0: none. */
static uint64_t newest_unacked(struct spool *sp)
{
	struct spool_seg seg;
	uint64_t id = 0;

	while (!spool_next_unacked(sp, id, &seg))
		id = seg.id;
	return id;
}

/*
 * Wait until the server has stored every segment up to id.  Resync chunks
 * consume no seq, so the server's applied_seq alone cannot tell whether a
 * segment holding only them has arrived; the spool's acknowledgements can.
 * 0, -ETIMEDOUT after HASHCMP_PATIENCE_S without an acknowledgement, or
 * -ECANCELED.
 */
static int wait_stored(struct spool *sp, uint64_t id, char *err, size_t len)
{
	struct timespec t;
	uint64_t moved = 0, oldest = 0;
	struct spool_seg seg;
	char msg[160];

	for (;;) {
		if (hc.stop) {
			snprintf(err, len, "stopped");
			return -ECANCELED;
		}
		if (spool_next_unacked(sp, 0, &seg) || seg.id > id)
			return 0;
		clock_gettime(CLOCK_MONOTONIC, &t);
		if (seg.id != oldest) {
			oldest = seg.id;
			moved = t.tv_sec;
		}
		if ((uint64_t)t.tv_sec - moved >= HASHCMP_PATIENCE_S) {
			snprintf(err, len, "the server has not acknowledged "
				 "spool segment %" PRIu64 " for %d s; comparing "
				 "anyway (the backlog counts as different)",
				 seg.id, HASHCMP_PATIENCE_S);
			return -ETIMEDOUT;
		}
		snprintf(msg, sizeof(msg), "waiting for the server to store "
			 "the spool: segment %" PRIu64 ", up to %" PRIu64,
			 seg.id, id);
		set_msg(msg);
		usleep(250000);
	}
}

/* Steps 1-3 of the file comment; 0 or -errno with err. */
static int compare(struct ferryd *fd, uint32_t kid, const struct target *t,
		   struct hashcmp_job *j, char *err, size_t len)
{
	struct ps_client *pc = NULL;
	struct hashcmp_io io = { .fd = -1 };
	struct ferry_extent *skip = NULL;
	struct ship_ident id;
	struct spool_stat ss;
	int ret;

	ret = open_server(fd, &id, &pc, err, len);
	if (ret)
		return ret;
	spool_get_stat(fd->sp, &ss);
	ret = wait_stored(fd->sp, newest_unacked(fd->sp), err, len);
	if (!ret)
		ret = hashcmp_wait_applied(j, pc, ss.end_seq,
					   HASHCMP_PATIENCE_S, err, len);
	if (ret == -ETIMEDOUT)
		fprintf(stderr, "ferryd: hash-compare of %s: %s\n", t->spec,
			err);
	else if (ret)
		goto out;
	set_msg("");
	ret = hashcmp_io_open(&io, t->path, err, len);
	if (ret)
		goto out;
	io.pc = pc;
	snprintf(io.disk, sizeof(io.disk), "%s", t->disk);
	skip = spool_skip(fd, t->dev, &j->nr_skip);
	j->kid = kid;
	j->size = t->size;
	j->rs = fd->rsync;
	j->ops = &hashcmp_io_ops;
	j->arg = &io;
	j->skip = skip;
	pthread_mutex_lock(&hc.lock);
	hc.st.started_ns = real_ns();	/* the rate counts reading only */
	pthread_mutex_unlock(&hc.lock);
	ret = hashcmp_compare(j, err, len);
out:
	hashcmp_io_close(&io);
	ps_client_close(pc);
	free(skip);
	return ret;
}

static void finish(const struct target *t, const struct hashcmp_job *j,
		   int ret, const char *err, uint64_t t0)
{
	double secs = (real_ns() - t0) / 1e9;
	char line[512];

	pthread_mutex_lock(&hc.lock);
	if (ret)
		snprintf(line, sizeof(line), "%s: failed after %" PRIu64
			 " bytes compared: %.120s", t->spec, hc.st.compared,
			 err);
	else
		snprintf(line, sizeof(line), "%s: %" PRIu64 " bytes compared, "
			 "%" PRIu64 " bytes differ in %u ranges, queued for "
			 "resync (%.1f s)", t->spec, hc.st.compared,
			 hc.st.differing, j->ranges, secs);
	snprintf(hc.st.last, sizeof(hc.st.last), "%.*s",
		 (int)sizeof(hc.st.last) - 1, line);
	hc.st.runs++;
	hc.st.total_compared += hc.st.compared;
	hc.st.total_differing += hc.st.differing;
	hc.st.active = false;
	hc.st.msg[0] = '\0';
	pthread_mutex_unlock(&hc.lock);
	fprintf(stderr, "ferryd: hash-compare of %s\n", line);
}

/* Wait s seconds, or less when ferryd stops; false when it stops. */
static bool nap(unsigned int s)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += s;
	pthread_mutex_lock(&hc.lock);
	while (!hc.stop &&
	       pthread_cond_timedwait(&hc.cond, &hc.lock, &until) != ETIMEDOUT)
		;
	stop = hc.stop;
	pthread_mutex_unlock(&hc.lock);
	return !stop;
}

static void reset_stat(uint32_t kid, const struct target *t, const char *msg)
{
	pthread_mutex_lock(&hc.lock);
	hc.st.active = true;
	hc.st.kid = kid;
	snprintf(hc.st.disk, sizeof(hc.st.disk), "%.63s", t->spec);
	hc.st.disk_bytes = t->size;
	hc.st.compared = hc.st.differing = hc.st.queued = 0;
	hc.st.started_ns = real_ns();
	snprintf(hc.st.msg, sizeof(hc.st.msg), "%s", msg);
	pthread_mutex_unlock(&hc.lock);
}

/*
 * Compare disk kid; while the server cannot be reached, again with
 * backoff.  Interrupted by a stop, the disk goes back to the head of the
 * queue, where hashcmp_unfinished() finds it.
 */
static void run_one(struct ferryd *fd, uint32_t kid)
{
	struct hashcmp_job j = { .stop = &hc.stop, .lock = &hc.lock,
				 .st = &hc.st };
	unsigned int backoff = RETRY_MIN_S;
	char err[PS_ERR_LEN] = "", msg[160];
	struct target t;
	uint64_t t0 = real_ns();
	int ret;

	if (find_target(fd, kid, &t)) {
		fprintf(stderr, "ferryd: hash-compare of disk %u: not "
			"protected any more\n", kid);
		return;
	}
	fprintf(stderr, "ferryd: hash-compare of %s (%s, %" PRIu64 " bytes, "
		"server disk %s) started\n", t.spec, t.path, t.size, t.disk);
	for (;;) {
		reset_stat(kid, &t, "starting");
		ret = compare(fd, kid, &t, &j, err, sizeof(err));
		if (ret != -EAGAIN)
			break;
		snprintf(msg, sizeof(msg), "%.120s; again in %u s", err,
			 backoff);
		fprintf(stderr, "ferryd: hash-compare of %s: %s\n", t.spec, msg);
		reset_stat(kid, &t, msg);
		if (!nap(backoff)) {
			ret = -ECANCELED;
			break;
		}
		backoff = backoff * 2 > RETRY_MAX_S ? RETRY_MAX_S : backoff * 2;
	}
	if (ret == -ECANCELED) {
		snprintf(err, sizeof(err), "interrupted: ferryd is stopping");
		pthread_mutex_lock(&hc.lock);
		if (hc.nq < HASHCMP_QUEUE) {
			memmove(hc.queue + 1, hc.queue,
				hc.nq * sizeof(hc.queue[0]));
			hc.queue[0] = kid;
			hc.nq++;
		}
		pthread_mutex_unlock(&hc.lock);
	}
	finish(&t, &j, ret, err, t0);
}

static void *hashcmp_main(void *arg)
{
	struct ferryd *fd = arg;

	pthread_mutex_lock(&hc.lock);
	while (!hc.stop) {
		uint32_t kid;

		if (!hc.nq) {
			pthread_cond_wait(&hc.cond, &hc.lock);
			continue;
		}
		kid = hc.queue[0];
		memmove(hc.queue, hc.queue + 1, --hc.nq * sizeof(hc.queue[0]));
		hc.st.pending = hc.nq;
		hc.st.active = true;	/* from here on, until finished */
		hc.st.kid = kid;
		hc.st.compared = hc.st.differing = hc.st.queued = 0;
		snprintf(hc.st.msg, sizeof(hc.st.msg), "starting");
		pthread_mutex_unlock(&hc.lock);
		run_one(fd, kid);
		pthread_mutex_lock(&hc.lock);
		hc.st.active = false;
	}
	pthread_mutex_unlock(&hc.lock);
	return NULL;
}

int hashcmp_init(struct ferryd *fd, char *why, size_t len)
{
	int ret;

	hc.stop = 0;	/* requests made before now stay queued */
	ret = -pthread_create(&hc.thread, NULL, hashcmp_main, fd);
	if (ret) {
		snprintf(why, len, "hash-compare thread: %s", strerror(-ret));
		return ret;
	}
	hc.running = true;
	return 0;
}

void hashcmp_stop(struct ferryd *fd)
{
	(void)fd;
	if (!hc.running)
		return;
	pthread_mutex_lock(&hc.lock);
	hc.stop = 1;
	pthread_cond_signal(&hc.cond);
	pthread_mutex_unlock(&hc.lock);
	pthread_join(hc.thread, NULL);
	hc.running = false;
}

/* A disk already waiting is not queued twice; one being compared is. */
int hashcmp_request(struct ferryd *fd, uint32_t kid)
{
	unsigned int i;
	int ret = 0;

	(void)fd;
	pthread_mutex_lock(&hc.lock);
	for (i = 0; i < hc.nq && hc.queue[i] != kid; i++)
		;
	if (i == hc.nq) {
		if (hc.nq == HASHCMP_QUEUE)
			ret = -ENOSPC;
		else
			hc.queue[hc.nq++] = kid;
	}
	hc.st.pending = hc.nq;
	pthread_cond_signal(&hc.cond);
	pthread_mutex_unlock(&hc.lock);
	return ret;
}

unsigned int hashcmp_unfinished(struct ferryd *fd, uint32_t *kids,
				unsigned int max)
{
	unsigned int n;

	(void)fd;
	pthread_mutex_lock(&hc.lock);
	n = hc.nq < max ? hc.nq : max;
	memcpy(kids, hc.queue, n * sizeof(*kids));
	pthread_mutex_unlock(&hc.lock);
	return n;
}

/* Queued but not started yet counts as active too (see hashcmp.h). */
void hashcmp_get_stat(struct ferryd *fd, struct hashcmp_stat *st)
{
	(void)fd;
	pthread_mutex_lock(&hc.lock);
	*st = hc.st;
	pthread_mutex_unlock(&hc.lock);
	if (!st->active && st->pending) {
		st->active = true;
		st->disk[0] = '\0';
		st->compared = st->differing = st->queued = 0;
		snprintf(st->msg, sizeof(st->msg), "queued");
	}
}

/* ---- ferryctl resync DISK [--full] -------------------------------------- */

/* " (/dev/vdb)" after a disk's name, unless the name is that path. */
static void dev_suffix(const char *spec, const struct disk_id *id, char *buf,
		       size_t len)
{
	snprintf(buf, len, "/dev/%.32s", id->name);
	if (!strcmp(buf, spec))
		buf[0] = '\0';
	else
		snprintf(buf, len, " (/dev/%.32s)", id->name);
}

/* The protected disk spec names: its ring id.  0 or -errno with why. */
static int resolve(struct ferryd *fd, const char *spec, uint32_t *kid,
		   struct disk_id *id, char *why, size_t len)
{
	char dev[48];
	unsigned int i;
	int ret;

	ret = disk_resolve(fd->dv.sysfs, spec, id, why, len);
	if (ret)
		return ret;
	ret = -ENOENT;
	pthread_mutex_lock(&fd->dv.lock);
	for (i = 0; i < fd->dv.nr_disks; i++) {
		if (fd->dv.disks[i].id.dev == id->dev) {
			*kid = fd->dv.disks[i].kid;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&fd->dv.lock);
	if (ret) {
		dev_suffix(spec, id, dev, sizeof(dev));
		snprintf(why, len, "%s%s: not protected by ferryd (ferryctl "
			 "attach it first)", spec, dev);
	}
	return ret;
}

int hashcmp_ctl(struct ferryd *fd, const char *args, FILE *f)
{
	char spec[256], why[PS_ERR_LEN], dev[48], *sp;
	struct disk_id id;
	bool full = false;
	uint32_t kid;
	int ret;

	snprintf(spec, sizeof(spec), "%s", args);
	sp = strchr(spec, ' ');
	if (sp) {
		*sp++ = '\0';
		if (strcmp(sp, "full")) {
			fprintf(f, "ferryctl resync: unknown option '%.60s'\n",
				sp);
			return 2;
		}
		full = true;
	}
	if (resolve(fd, spec, &kid, &id, why, sizeof(why))) {
		fprintf(f, "ferryctl resync: %s\n", why);
		return 1;
	}
	dev_suffix(spec, &id, dev, sizeof(dev));
	if (!fd->rsync) {
		fprintf(f, "ferryctl resync: %s: the resync engine is not "
			"running\n", spec);
		return 1;
	}
	if (full) {
		ret = resync_queue_disk(fd->rsync, kid, RESYNC_HASH);
		if (ret) {
			fprintf(f, "ferryctl resync: %s: queueing the whole "
				"disk: %s\n", spec, strerror(-ret));
			return 1;
		}
		fprintf(f, "%s%s: the whole disk is queued to be re-read "
			"and sent; progress in ferryctl status\n", spec, dev);
		return 0;
	}
	if (fd->conf.ship != SPOOL_ACK_SERVER) {
		fprintf(f, "ferryctl resync: %s: a hash-compare needs the "
			"process server (ship = %s in ferryd.conf); --full "
			"re-sends the whole disk\n", spec,
			spool_ack_mode_name(fd->conf.ship));
		return 1;
	}
	ret = hashcmp_request(fd, kid);
	if (ret) {
		fprintf(f, "ferryctl resync: %s: %s\n", spec, strerror(-ret));
		return 1;
	}
	fprintf(f, "%s%s: hash-compare with the replica requested; "
		"progress in ferryctl status\n", spec, dev);
	return 0;
}
