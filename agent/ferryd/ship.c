// SPDX-License-Identifier: GPL-2.0
/*
 * Shipping sealed spool segments to ferry-ps; see ship.h.
 *
 * Order: segments are taken in spool order by SHIP_WINDOW workers; the
 * server stores a segment only where it continues the stored chain, and
 * holds one that arrives early while its predecessor is still in flight.
 * A segment that could not be stored is retried by the worker that holds
 * it, with backoff.  A segment the server already has
 * (its acknowledgement was lost) comes back as a duplicate and is acked
 * here like any other: delivery is idempotent.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ferry/ps_client.h>
#include <ferry/tls.h>

#include "ship.h"

#define BACKOFF_MIN_MS	100
#define BACKOFF_MAX_MS	30000
#define SHIP_WINDOW	2	/* uploads in flight */

static struct {
	pthread_t threads[SHIP_WINDOW];
	int nthreads;
	uint64_t taken;		/* highest segment id a worker took */
	int busy;		/* workers holding a segment */
	int busy_rangeless;	/* of those, segments without a seq range */
	bool anchored;		/* the server acknowledged one from us */
	volatile int stop;
	struct spool *sp;
	struct ps_client_conf cc;
	struct ship_ident id;
	pthread_mutex_t lock;	/* protects stats, taken, busy*, anchored */
	struct ship_stats stats;
} ship = { .lock = PTHREAD_MUTEX_INITIALIZER };

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* Sleep ms, or less if asked to stop. */
static void nap(unsigned int ms)
{
	while (ms && !ship.stop) {
		unsigned int step = ms < 100 ? ms : 100;

		usleep(step * 1000);
		ms -= step;
	}
}

static void account(const struct spool_seg *seg, const struct ps_ack *ack)
{
	uint64_t now = now_ns(), lag = 0;

	if (seg->oldest_ns && now > seg->oldest_ns)
		lag = (now - seg->oldest_ns) / 1000000;
	pthread_mutex_lock(&ship.lock);
	ship.anchored = true;
	ship.stats.segments++;
	ship.stats.duplicates += ack->duplicate;
	ship.stats.bytes += seg->bytes;
	ship.stats.lag_ms_hist[lag < SHIP_LAG_BUCKETS - 1 ? lag :
			       SHIP_LAG_BUCKETS - 1]++;
	if (lag > ship.stats.lag_max_ms)
		ship.stats.lag_max_ms = lag;
	pthread_mutex_unlock(&ship.lock);
}

/* Wait until a segment is sealed (or 200 ms pass). */
static void wait_sealed(void)
{
	struct pollfd p = { .fd = spool_event_fd(ship.sp), .events = POLLIN };
	uint64_t v;

	if (p.fd < 0) {
		nap(50);
		return;
	}
	/* shared with the writer, which also re-checks after a timeout:
	 * whoever reads it first rearms it */
	if (poll(&p, 1, 200) > 0 && read(p.fd, &v, sizeof(v)) < 0)
		v = 0;
}

/* One upload attempt; 0 when acknowledged. */
static int ship_one(struct ps_client *c, const struct spool_seg *seg,
		    char *err, size_t errlen)
{
	struct ps_ack ack;
	int ret;

	ret = ps_client_upload(c, seg->fd, seg->bytes, &ack, err, errlen);
	if (ret)
		return ret;
	ret = spool_ack(ship.sp, seg->id);
	if (ret) {
		snprintf(err, errlen, "spool: ack of segment %" PRIu64 ": %s",
			 seg->id, strerror(-ret));
		return ret;
	}
	account(seg, &ack);
	return 0;
}

static void report(int ret, const char *err)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "%s: %.100s",
		 ret == -EACCES ? "refused by server" :
		 ret == -EBADMSG ? "segment rejected" :
		 ret == -EAGAIN ? "server unreachable" : "shipping failed", err);
	spool_set_ship_state(ship.sp, false, msg);
	fprintf(stderr, "ferryd: ship: %s\n", err);
}

/*
 * The next sealed segment no worker has taken yet.  Until the server has
 * acknowledged one segment from this process, only one upload is in
 * flight: a server that holds nothing of this machine adopts the first
 * segment it receives as the start of the stream, so a later segment
 * overtaking the first would make the first look already covered.
 *
 * Nor does a segment go out while one without a seq range is in flight
 * (re-read records alone, [p,p)): the server orders uploads by seq, and
 * the successor [p,q) would not wait for it.  Stored first, it would make
 * the re-read data look like a duplicate of what the stream already holds,
 * and that data would be acknowledged here and never applied.
 */
static bool rangeless(const struct spool_seg *seg)
{
	return seg->start_seq == seg->end_seq;
}

static int take_next(struct spool_seg *seg)
{
	int ret = -EAGAIN;

	pthread_mutex_lock(&ship.lock);
	if (!ship.busy || (ship.anchored && !ship.busy_rangeless)) {
		ret = spool_next_unacked(ship.sp, ship.taken, seg);
		if (!ret) {
			ship.taken = seg->id;
			ship.busy++;
			ship.busy_rangeless += rangeless(seg);
		}
	}
	pthread_mutex_unlock(&ship.lock);
	return ret;
}

static void done_with(const struct spool_seg *seg)
{
	pthread_mutex_lock(&ship.lock);
	ship.busy--;
	ship.busy_rangeless -= rangeless(seg);
	pthread_mutex_unlock(&ship.lock);
}

/* Upload seg until it is acknowledged (or ferryd stops). */
static void ship_until_acked(struct ps_client *c, const struct spool_seg *seg,
			     bool *ok)
{
	unsigned int backoff = 0;
	char err[PS_ERR_LEN];
	int ret;

	while (!ship.stop) {
		ret = ship_one(c, seg, err, sizeof(err));
		if (!ret) {
			if (!*ok)
				spool_set_ship_state(ship.sp, true, "");
			*ok = true;
			return;
		}
		pthread_mutex_lock(&ship.lock);
		ship.stats.failures++;
		pthread_mutex_unlock(&ship.lock);
		if (*ok || backoff >= BACKOFF_MAX_MS || backoff == 0)
			report(ret, err);
		*ok = false;
		backoff = backoff ? backoff * 2 : BACKOFF_MIN_MS;
		if (backoff > BACKOFF_MAX_MS)
			backoff = BACKOFF_MAX_MS;
		nap(backoff);
	}
}

/*
 * One of SHIP_WINDOW workers, each with its own connection: while one
 * waits for the server's fdatasync, the next segment is already on the
 * wire.  Segments are taken in spool order; the server stores them in
 * stream order (an early arrival waits for its predecessor).
 */
static void *ship_main(void *arg)
{
	struct ps_client *c = NULL;
	char err[PS_ERR_LEN];
	bool ok = false;

	(void)arg;
	while (!ship.stop) {
		struct spool_seg seg;

		if (!c && ps_client_open(&ship.cc, &c, err, sizeof(err))) {
			report(-EINVAL, err);
			nap(BACKOFF_MAX_MS);
			continue;
		}
		if (take_next(&seg)) {
			wait_sealed();
			continue;
		}
		ship_until_acked(c, &seg, &ok);
		done_with(&seg);
	}
	ps_client_close(c);
	return NULL;
}

static int read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	out[strcspn(out, "\r\n")] = '\0';
	return out[0] ? 0 : -EINVAL;
}

int ship_identity(const struct ferryd_conf *conf, struct ship_ident *id,
		  char *err, size_t len)
{
	char path[FERRYD_PATH_MAX + 32], terr[TLS_ERR_LEN];
	X509 *crt;
	int ret;

	snprintf(id->dir, sizeof(id->dir), "%s", conf->state_dir);
	snprintf(path, sizeof(path), "%s/%s", id->dir, PS_FILE_CERT);
	crt = tls_cert_load(path, terr, sizeof(terr));
	if (!crt) {
		snprintf(err, len, "%s; register first (ferryctl register)", terr);
		return -ENOENT;
	}
	ret = tls_cert_cn(crt, id->machine, sizeof(id->machine));
	X509_free(crt);
	if (ret) {
		snprintf(err, len, "%s: no machine id in the certificate", path);
		return ret;
	}
	if (conf->server[0]) {
		snprintf(id->server, sizeof(id->server), "%s", conf->server);
	} else {
		snprintf(path, sizeof(path), "%s/%s", id->dir, PS_FILE_SERVER);
		if (read_line(path, id->server, sizeof(id->server))) {
			snprintf(err, len, "no server: set server in ferryd.conf "
				 "or register (%s)", path);
			return -ENOENT;
		}
	}
	return 0;
}

int ship_start(struct spool *sp, const struct ferryd_conf *conf)
{
	char err[PS_ERR_LEN];
	int ret;

	ship.sp = sp;
	ret = ship_identity(conf, &ship.id, err, sizeof(err));
	if (ret) {
		spool_set_ship_state(sp, false, err);
		fprintf(stderr, "ferryd: ship: %s\n", err);
		return ret;
	}
	ship.cc.server = ship.id.server;
	ship.cc.dir = ship.id.dir;
	ship.cc.machine_id = ship.id.machine;
	ship.stop = 0;
	ship.taken = 0;
	ship.busy = 0;
	ship.busy_rangeless = 0;
	ship.anchored = false;
	for (ship.nthreads = 0; ship.nthreads < SHIP_WINDOW; ship.nthreads++) {
		ret = -pthread_create(&ship.threads[ship.nthreads], NULL,
				      ship_main, NULL);
		if (ret)
			break;
	}
	if (ship.nthreads)
		ret = 0;
	if (!ret)
		fprintf(stderr, "ferryd: ship: machine %s to %s\n",
			ship.id.machine, ship.id.server);
	return ret;
}

void ship_stop(void)
{
	int i;

	ship.stop = 1;
	for (i = 0; i < ship.nthreads; i++)
		pthread_join(ship.threads[i], NULL);
	ship.nthreads = 0;
}

void ship_get_stats(struct ship_stats *st)
{
	pthread_mutex_lock(&ship.lock);
	*st = ship.stats;
	pthread_mutex_unlock(&ship.lock);
}

uint64_t ship_lag_quantile_ms(const struct ship_stats *st, double q)
{
	uint64_t total = 0, acc = 0, want;
	int i;

	for (i = 0; i < SHIP_LAG_BUCKETS; i++)
		total += st->lag_ms_hist[i];
	if (!total)
		return 0;
	want = (uint64_t)(q * total);
	if (want >= total)
		want = total - 1;
	for (i = 0; i < SHIP_LAG_BUCKETS; i++) {
		acc += st->lag_ms_hist[i];
		if (acc > want)
			return i;
	}
	return SHIP_LAG_BUCKETS - 1;
}
