// SPDX-License-Identifier: GPL-2.0
/*
 * integ-ps-ship: ferryd's shipper (agent/ferryd/ship.c) and a real spool
 * against ferry-ps over TLS on 127.0.0.1.  Twenty segments are sealed
 * before shipping starts, so every worker has work at once (the case where
 * a later segment could overtake the machine's first); then the server
 * is killed and restarted mid-stream and more segments follow.  Every
 * segment must be acknowledged, the spool must drain, and the replica
 * must equal the source image.  Last, segments of re-read blocks alone
 * (no seq range) each followed by a small write: none may be overtaken.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ferry/hrl.h>
#include <ferry/ps_auth.h>
#include <ferry/ps_client.h>

#include "../../agent/ferryd/ship.h"
#include "../../agent/ferryd/spool.h"
#include "ps_harness.h"

#define SEG_CAP		(1u << 20)

static struct t_server srv;
static struct spool *sp;
static uint8_t *img, *seg;
static uint64_t next_seq = 1;

static void append(int n, int nrec)
{
	struct spool_seg s;
	uint64_t end;
	int i;

	for (i = 0; i < n; i++) {
		memset(&s, 0, sizeof(s));
		s.bytes = t_segment(seg, SEG_CAP, next_seq, nrec, NULL, img, &end);
		s.start_seq = next_seq;
		s.end_seq = end;
		s.records = nrec;
		CHECK(spool_append(sp, seg, s.bytes, &s) == 0, "spool_append");
		next_seq = end;
	}
}

/*
 * A segment of nrec re-read blocks at next_seq: no seq range of its own,
 * so the data segment after it starts where it does.
 */
static void append_reread(int nrec)
{
	struct hrl_seg_info info = { .start_seq = next_seq,
				     .flags = HRL_SEG_RESYNC, .nr_disks = 1 };
	static uint8_t data[4096];
	struct spool_seg s = { 0 };
	struct hrl_seg_end e;
	struct hrl_writer w;
	int i, j;

	for (i = 0; i < 16; i++) {
		sscanf(T_MACHINE + 2 * i, "%2hhx", &info.machine_id[i]);
		info.segment_id[i] = (uint8_t)random();
	}
	info.disks[0].id = T_DISK_ID;
	info.disks[0].size_bytes = T_DISK_SIZE;
	info.disks[0].lbs = 512;
	CHECK(hrl_writer_init(&w, seg, SEG_CAP, &info) == 0, "hrl_writer_init");
	for (i = 0; i < nrec; i++) {
		struct hrl_rec r = {
			.seq = next_seq, .kind = HRL_RESYNC, .disk_id = T_DISK_ID,
			.offset = (uint64_t)i * 4096 % T_DISK_SIZE, .len = 4096,
		};

		for (j = 0; j < 4096; j++)
			data[j] = (uint8_t)random();
		CHECK(hrl_writer_add(&w, &r, data) == 0, "hrl_writer_add");
		memcpy(img + r.offset, data, 4096);
	}
	CHECK(hrl_writer_finish(&w, &s.bytes, &e) == 0, "hrl_writer_finish");
	CHECK(e.end_seq == next_seq, "re-read segment ends at %lu",
	      (unsigned long)e.end_seq);
	s.start_seq = s.end_seq = next_seq;
	s.records = nrec;
	CHECK(spool_append(sp, seg, s.bytes, &s) == 0, "spool_append");
}

static void wait_drained(const char *what)
{
	struct spool_stat st;
	int i;

	for (i = 0; i < 600; i++) {
		spool_get_stat(sp, &st);
		if (!st.sealed)
			return;
		usleep(100000);
	}
	CHECK(0, "%s: %u segments still unacknowledged after 60 s (%s)", what,
	      st.sealed, st.ship_msg);
}

static void wait_replica(void)
{
	char path[700];
	uint8_t *got = malloc(T_DISK_SIZE);
	int i;

	snprintf(path, sizeof(path), "%s/machines/%s/disks/%s/replica.img",
		 srv.data, T_MACHINE, T_DISK_NAME);
	for (i = 0; i < 300; i++) {
		if (t_read_file(path, got, T_DISK_SIZE) == T_DISK_SIZE &&
		    !memcmp(got, img, T_DISK_SIZE))
			break;
		usleep(100000);
	}
	CHECK(i < 300, "replica differs from the source after 30 s");
	free(got);
}

static void at_exit(void)
{
	t_server_kill(&srv);
	t_cleanup();
}

int main(void)
{
	struct spool_conf sc = { .size = 48 * SEG_CAP, .seg_size = SEG_CAP,
				 .ack_mode = SPOOL_ACK_SERVER };
	struct ferryd_conf fc = { 0 };
	char err[PS_ERR_LEN], pfile[600], pass[PS_PASSPHRASE_MAX], sdir[600];
	struct ship_stats st;
	uint64_t failures;
	int i;

	alarm(240);
	srandom(getpid());
	img = calloc(1, T_DISK_SIZE);
	seg = malloc(SEG_CAP);
	snprintf(srv.data, sizeof(srv.data), "%s/data", t_scratch());
	t_server_start(&srv);
	atexit(at_exit);
	{
		const char *argv[] = { t_bin("ferry-ps"), "passphrase", "--data",
				       srv.data, NULL };

		snprintf(pfile, sizeof(pfile), "%s/pass", t_scratch());
		CHECK(t_run(argv, pfile) == 0, "ferry-ps passphrase");
	}
	CHECK(ps_passphrase_read(pfile, pass, sizeof(pass), err, sizeof(err)) == 0,
	      "%s", err);
	snprintf(fc.state_dir, sizeof(fc.state_dir), "%s/state", t_scratch());
	mkdir(fc.state_dir, 0700);
	CHECK(ps_register(srv.addr, pass, T_MACHINE, fc.state_dir, err,
			  sizeof(err)) == 0, "%s", err);
	snprintf(sdir, sizeof(sdir), "%s/spool", t_scratch());
	sc.dir = sdir;
	CHECK(spool_open(&sc, &sp, err, sizeof(err)) == 0, "%s", err);

	/* a big first segment and small ones after it: the second one is
	 * stored long before the first unless the shipper waits */
	append(1, 240);
	append(19, 1);
	CHECK(ship_start(sp, &fc) == 0, "ship_start");
	wait_drained("first 20");
	wait_replica();
	printf("ok 20 queued segments shipped from a cold start, replica equal\n");

	t_server_kill(&srv);
	append(10, 16);
	usleep(300000);		/* the shipper now fails and backs off */
	t_server_start(&srv);	/* new port: tell the shipper */
	ship_stop();
	snprintf(fc.server, sizeof(fc.server), "%s", srv.addr);
	CHECK(ship_start(sp, &fc) == 0, "ship_start after restart");
	append(10, 16);
	wait_drained("after restart");
	wait_replica();
	ship_get_stats(&st);
	printf("ok server killed and restarted: 40 segments acknowledged "
	       "(%lu acks, %lu duplicates, %lu failed attempts), replica equal\n",
	       (unsigned long)st.segments, (unsigned long)st.duplicates,
	       (unsigned long)st.failures);

	/* a big re-read segment, then a small write the second worker
	 * would have delivered first */
	failures = st.failures;
	for (i = 0; i < 6; i++) {
		append_reread(200);
		append(1, 1);
	}
	wait_drained("re-read segments");
	wait_replica();
	ship_stop();
	ship_get_stats(&st);
	CHECK(st.failures == failures, "%lu uploads failed",
	      (unsigned long)(st.failures - failures));
	printf("ok 6 segments of re-read blocks alone, each followed by a "
	       "write: delivered in order, none refused, replica equal\n");
	spool_close(sp);
	printf("integ-ps-ship: all passed\n");
	return 0;
}
