// SPDX-License-Identifier: GPL-2.0
/*
 * bench-ps: end-to-end churn through the agent's real shipping path.
 *
 * A generator writes .hrl segments of 64 KiB write records (time_ns = now,
 * as the ring would stamp a completed write) into a real spool
 * (spool_append: write + fdatasync + seal), optionally paced to --rate
 * MB/s; ferryd's ship.c uploads them over mutual TLS to a running ferry-ps
 * and recycles acknowledged slots.  At the end it waits for the spool to
 * drain and prints one line:
 *
 *   bench-ps: BYTES bytes in SECS s: MBPS MB/s; lag ms p50 P50 p99 P99 max MAX
 *
 * Lag is from the oldest record of a segment to the server's durable
 * acknowledgement, the agent-side part of invariant 1's window.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

#include <ferry/hrl.h>
#include <ferry/tls.h>
#include <ferry/ps_client.h>

#include "../../agent/ferryd/ship.h"
#include "../../agent/ferryd/spool.h"

#define REC_LEN		(64u << 10)

struct opts {
	const char *server, *state_dir, *spool_dir;
	double seconds, rate;
	uint64_t seg_size, spool_size, disk_size;
};

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static void machine_id(const char *dir, uint8_t id[16])
{
	char path[512], cn[80], err[TLS_ERR_LEN];
	X509 *crt;
	int i;

	snprintf(path, sizeof(path), "%s/%s", dir, PS_FILE_CERT);
	crt = tls_cert_load(path, err, sizeof(err));
	if (!crt || tls_cert_cn(crt, cn, sizeof(cn)) || strlen(cn) != 32) {
		fprintf(stderr, "bench-ps: %s: not registered\n", path);
		exit(1);
	}
	for (i = 0; i < 16; i++)
		sscanf(cn + 2 * i, "%2hhx", &id[i]);
	X509_free(crt);
}

/* One segment of seg_size bytes at most, from *seq on. */
static size_t build(uint8_t *buf, const struct opts *o, const uint8_t id[16],
		    uint64_t *seq, uint64_t *off, const uint8_t *data,
		    struct spool_seg *seg)
{
	struct hrl_seg_info info = { 0 };
	struct hrl_writer w;
	struct hrl_seg_end end;
	size_t bytes;
	int i;

	memcpy(info.machine_id, id, 16);
	for (i = 0; i < 16; i++)
		info.segment_id[i] = (uint8_t)random();
	info.created_ns = now_ns();
	info.start_seq = *seq;
	info.nr_disks = 1;
	info.disks[0].id = 1;
	info.disks[0].size_bytes = o->disk_size;
	info.disks[0].lbs = 512;
	if (hrl_writer_init(&w, buf, o->seg_size, &info))
		abort();
	memset(seg, 0, sizeof(*seg));
	seg->start_seq = *seq;
	seg->oldest_ns = now_ns();
	for (;;) {
		struct hrl_rec r = {
			.seq = *seq, .kind = HRL_WRITE, .disk_id = 1,
			.offset = *off, .len = REC_LEN, .time_ns = now_ns(),
		};

		if (hrl_writer_add(&w, &r, data + (*seq % 64) * 64))
			break;
		(*seq)++;
		*off = (*off + REC_LEN) % o->disk_size;
	}
	if (hrl_writer_finish(&w, &bytes, &end))
		abort();
	seg->end_seq = end.end_seq;
	seg->records = end.records;
	return bytes;
}

static int parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "server", 1, NULL, 's' }, { "state-dir", 1, NULL, 'd' },
		{ "spool", 1, NULL, 'p' }, { "seconds", 1, NULL, 't' },
		{ "rate", 1, NULL, 'r' }, { "seg-size", 1, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct opts){ .seconds = 10, .seg_size = 4 << 20,
			    .spool_size = 256 << 20, .disk_size = 1ull << 30 };
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 's': o->server = optarg; break;
		case 'd': o->state_dir = optarg; break;
		case 'p': o->spool_dir = optarg; break;
		case 't': o->seconds = atof(optarg); break;
		case 'r': o->rate = atof(optarg); break;
		case 'g': o->seg_size = strtoull(optarg, NULL, 0); break;
		default: return -1;
		}
	}
	return o->server && o->state_dir && o->spool_dir ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct spool_conf sc;
	struct ferryd_conf fc = { 0 };
	struct ship_stats st;
	struct spool_stat ss;
	struct spool *sp;
	struct opts o;
	uint8_t id[16], *buf, *data;
	uint64_t seq = 1, off = 0, bytes = 0;
	char err[512];
	double t0, t1;

	if (parse(argc, argv, &o)) {
		fprintf(stderr, "usage: bench-ps --server H:P --state-dir DIR "
			"--spool DIR [--seconds S] [--rate MBPS] [--seg-size B]\n");
		return 2;
	}
	machine_id(o.state_dir, id);
	sc = (struct spool_conf){ .dir = o.spool_dir, .size = o.spool_size,
				  .seg_size = o.seg_size,
				  .ack_mode = SPOOL_ACK_SERVER };
	if (spool_open(&sc, &sp, err, sizeof(err))) {
		fprintf(stderr, "bench-ps: %s\n", err);
		return 1;
	}
	snprintf(fc.state_dir, sizeof(fc.state_dir), "%s", o.state_dir);
	snprintf(fc.server, sizeof(fc.server), "%s", o.server);
	if (posix_memalign((void **)&buf, 4096, o.seg_size) ||
	    posix_memalign((void **)&data, 4096, REC_LEN + 4096))
		return 1;
	for (size_t i = 0; i < REC_LEN + 4096; i++)
		data[i] = (uint8_t)random();
	if (ship_start(sp, &fc))
		return 1;
	t0 = now_s();
	while (now_s() - t0 < o.seconds) {
		struct spool_seg seg;
		size_t n = build(buf, &o, id, &seq, &off, data, &seg);
		int r;

		while ((r = spool_append(sp, buf, n, &seg)) == -ENOSPC)
			usleep(1000);	/* spool full: backpressure */
		if (r) {
			fprintf(stderr, "bench-ps: spool_append: %s\n", strerror(-r));
			return 1;
		}
		bytes += n;
		if (o.rate > 0) {
			double due = t0 + bytes / (o.rate * 1e6);

			while (now_s() < due)
				usleep(200);
		}
	}
	do {
		spool_get_stat(sp, &ss);
		usleep(2000);
	} while (ss.sealed && now_s() - t0 < o.seconds + 120);
	t1 = now_s();
	ship_stop();
	ship_get_stats(&st);
	printf("bench-ps: %" PRIu64 " bytes in %.2f s: %.1f MB/s; lag ms p50 %"
	       PRIu64 " p99 %" PRIu64 " max %" PRIu64 "; %" PRIu64 " segments,"
	       " %" PRIu64 " failed attempts\n", st.bytes, t1 - t0,
	       st.bytes / 1e6 / (t1 - t0), ship_lag_quantile_ms(&st, 0.5),
	       ship_lag_quantile_ms(&st, 0.99), st.lag_max_ms, st.segments,
	       st.failures);
	{
		struct rusage ru;

		getrusage(RUSAGE_SELF, &ru);
		printf("bench-ps: agent cpu %.2f s (user %.2f, sys %.2f), "
		       "generator included\n",
		       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
		       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
		       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	}
	spool_close(sp);
	return ss.sealed ? 1 : 0;
}
