// SPDX-License-Identifier: GPL-2.0
/*
 * integ-hashcmp: ferryd's hash-compare (agent/ferryd/hashcmp.c) against a
 * real ferry-ps over mutual TLS on 127.0.0.1.  The replica is made by
 * uploading segments that write a whole image; the local "disk" is a file
 * holding the same image with known 4 KiB blocks changed.  The ranges
 * hashcmp queues (recorded by this file's resync_queue()) must be exactly
 * those blocks, coalesced; a disk larger than its replica differs beyond
 * the replica's end; a disk without replica differs whole; the wait for
 * the server to apply the spool returns at once when it has, and gives up
 * after its patience when it never will.
 *
 * FERRY_HASHCMP_MIB=N makes the image N MiB (default 6) and prints the
 * compare rate; the checks stay the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ferry/hrl.h>
#include <ferry/ps_client.h>

#include "../../agent/ferryd/hashcmp.h"
#include "../../agent/ferryd/resync.h"
#include "hashcmp_replica.h"

#define MIB		(1ull << 20)
#define BLK		4096ull
#define KID		5

static const uint8_t uuid[16] = { 0xfe, 0x77, 1, 2, 3, 4, 5, 6,
				   7, 8, 9, 10, 11, 12, 13, 14 };

/* ---- resync_queue() as the resync engine would get it ------------------ */

struct range {
	uint64_t off, len;
};

static struct range got[1024];
static unsigned int nr_got;

int resync_queue(struct resync *rs, uint32_t kid, uint64_t offset,
		 uint64_t len, enum resync_reason why)
{
	CHECK(rs == (struct resync *)&got && kid == KID && why == RESYNC_HASH,
	      "resync_queue(%p, %u, ..., %d)", (void *)rs, kid, why);
	CHECK(nr_got < 1024, "too many ranges");
	got[nr_got].off = offset;
	got[nr_got++].len = len;
	return 0;
}

int resync_queue_disk(struct resync *rs, uint32_t kid, enum resync_reason why)
{
	(void)rs; (void)kid; (void)why;
	CHECK(0, "hashcmp.c never queues a whole disk");
	return -ENOSYS;
}

static struct t_server srv;
static uint64_t dsize;		/* the image: a whole number of 512 B */
static uint8_t *img;

/* ---- the local disk ------------------------------------------------------ */

static char local_path[600];

/* The image with the blocks at offs[] changed, size bytes long. */
static void write_local(const uint64_t *offs, int n, uint64_t size)
{
	uint8_t *p = calloc(1, size);
	int i;

	CHECK(p, "calloc");
	memcpy(p, img, size < dsize ? size : dsize);
	for (i = 0; i < n; i++)
		p[offs[i] + (i * 97) % 512] ^= 0xa5;
	CHECK(t_write_file(local_path, p, size) == 0, "write %s", local_path);
	free(p);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Compare the local file with the replica named disk; 0 or -errno. */
static int compare(struct ps_client *pc, const char *disk, uint64_t size,
		   struct hashcmp_stat *st, bool *direct, double *secs)
{
	struct hashcmp_io io = { .fd = -1, .pc = pc };
	struct hashcmp_job j = {
		.kid = KID, .size = size, .rs = (struct resync *)&got,
		.ops = &hashcmp_io_ops, .arg = &io, .st = st,
	};
	char err[PS_ERR_LEN] = "";
	double t0;
	int ret;

	memset(st, 0, sizeof(*st));
	nr_got = 0;
	snprintf(io.disk, sizeof(io.disk), "%s", disk);
	CHECK(hashcmp_io_open(&io, local_path, err, sizeof(err)) == 0, "%s",
	      err);
	*direct = io.direct;
	t0 = now_s();
	ret = hashcmp_compare(&j, err, sizeof(err));
	*secs = now_s() - t0;
	hashcmp_io_close(&io);
	CHECK(!ret, "hashcmp_compare: %s", err);
	CHECK(j.ranges == nr_got, "%u ranges counted, %u queued", j.ranges,
	      nr_got);
	return ret;
}

static void expect(const struct range *want, unsigned int n, const char *what)
{
	unsigned int i;
	bool same = nr_got == n;

	for (i = 0; same && i < n; i++)
		same = got[i].off == want[i].off && got[i].len == want[i].len;
	for (i = 0; !same && i < nr_got; i++)
		fprintf(stderr, "  queued %" PRIu64 "+%" PRIu64 "\n",
			got[i].off, got[i].len);
	CHECK(nr_got == n, "%s: %u ranges queued, want %u", what, nr_got, n);
	for (i = 0; i < n; i++)
		CHECK(got[i].off == want[i].off && got[i].len == want[i].len,
		      "%s: range %u is %" PRIu64 "+%" PRIu64 ", want %" PRIu64
		      "+%" PRIu64, what, i, got[i].off, got[i].len,
		      want[i].off, want[i].len);
}

static void at_exit(void)
{
	t_server_kill(&srv);
	t_cleanup();
}

int main(void)
{
	const char *mib = getenv("FERRY_HASHCMP_MIB");
	char state_dir[600], disk[40], err[PS_ERR_LEN];
	struct hrl_disk hd = { .id = KID };
	struct hashcmp_stat st;
	struct hashcmp_job wj = { .st = &st };
	struct ps_client *pc;
	uint64_t end, big;
	double secs, t0;
	bool direct;
	int ret;

	alarm(120);
	signal(SIGPIPE, SIG_IGN);
	srandom(getpid());
	dsize = (mib ? strtoull(mib, NULL, 10) : 6) * MIB + 8 * BLK + 512;
	img = hc_image(dsize);
	snprintf(srv.data, sizeof(srv.data), "%s/data", t_scratch());
	snprintf(local_path, sizeof(local_path), "%s/disk.img", t_scratch());
	t_server_start(&srv);
	atexit(at_exit);
	pc = hc_register(&srv, state_dir, sizeof(state_dir));
	memcpy(hd.uuid, uuid, 16);
	ps_disk_name(&hd, disk, sizeof(disk));
	end = hc_upload_image(pc, img, dsize, KID, uuid);

	/* the server applies the uploaded stream: the wait ends */
	ret = hashcmp_wait_applied(&wj, pc, end, 30, err, sizeof(err));
	CHECK(ret == 0, "wait for applied seq %" PRIu64 ": %s", end, err);
	/* a position the server never reaches: given up after patience */
	t0 = now_s();
	ret = hashcmp_wait_applied(&wj, pc, end + 100, 1, err, sizeof(err));
	CHECK(ret == -ETIMEDOUT && now_s() - t0 < 10, "wait beyond the "
	      "stream: %d after %.1f s", ret, now_s() - t0);
	CHECK(strstr(err, "no progress for 1 s"), "message: %s", err);
	CHECK(strstr(st.msg, "waiting for the server"), "msg: %s", st.msg);
	printf("ok the wait for the server: returns once applied, gives up "
	       "after its patience (\"%.80s...\")\n", err);

	/* equal: nothing queued */
	write_local(NULL, 0, dsize);
	compare(pc, disk, dsize, &st, &direct, &secs);
	expect(NULL, 0, "equal");
	CHECK(st.compared == dsize && !st.differing, "compared %" PRIu64
	      " differing %" PRIu64, st.compared, st.differing);
	printf("ok equal disk: %" PRIu64 " bytes compared, nothing queued "
	       "(%s, %.0f MiB/s)\n", dsize, direct ? "O_DIRECT" : "buffered",
	       dsize / MIB / secs);

	/* known blocks changed */
	{
		const uint64_t offs[] = {
			0, 10 * BLK, 11 * BLK, 12 * BLK, 2 * BLK,
			MIB - BLK, MIB,			/* across a chunk edge */
			3 * MIB + 40 * BLK,
			dsize - 512 - BLK,		/* last whole block */
			dsize - 512,			/* the 512 B tail */
		};
		const struct range want[] = {
			{ 0, BLK }, { 2 * BLK, BLK }, { 10 * BLK, 3 * BLK },
			{ MIB - BLK, 2 * BLK }, { 3 * MIB + 40 * BLK, BLK },
			{ dsize - 512 - BLK, BLK + 512 },
		};

		write_local(offs, 10, dsize);
		compare(pc, disk, dsize, &st, &direct, &secs);
		expect(want, 6, "changed blocks");
		CHECK(st.differing == 9 * BLK + 512 && st.queued == st.differing,
		      "differing %" PRIu64 " queued %" PRIu64, st.differing,
		      st.queued);
		printf("ok 10 changed blocks: exactly those queued, in 6 ranges "
		       "(%" PRIu64 " bytes)\n", st.queued);
	}

	/*
	 * A disk larger than its replica: the rest differs, unread.  The
	 * replica's last block holds 512 bytes, the disk's 4096: it differs
	 * too.
	 */
	big = dsize + 2 * MIB + BLK;
	{
		const struct range want[] = { { dsize - 512, big - dsize + 512 } };

		write_local(NULL, 0, big);
		compare(pc, disk, big, &st, &direct, &secs);
		expect(want, 1, "larger disk");
		printf("ok disk larger than the replica: [%" PRIu64 ", %" PRIu64
		       ") queued\n", dsize - 512, big);
	}

	/* no replica at all (the server answers 404) */
	{
		const struct range want[] = { { 0, dsize } };

		hd.uuid[0] ^= 1;
		ps_disk_name(&hd, disk, sizeof(disk));
		write_local(NULL, 0, dsize);
		compare(pc, disk, dsize, &st, &direct, &secs);
		expect(want, 1, "no replica");
		printf("ok no replica: the whole disk queued\n");
	}
	ps_client_close(pc);
	printf("integ-hashcmp: all passed\n");
	return 0;
}
