// SPDX-License-Identifier: GPL-2.0
/*
 * integ-hashcmp-thread: ferryd's hash-compare thread and its control
 * request (agent/ferryd/hashcmp_thread.c) with a real ferry-ps over TLS, a
 * real spool, ship.c's registration, and a loop device as the protected
 * disk.  "resync DISK" compares and queues exactly the changed blocks and
 * logs the result; "resync DISK full" queues the whole disk; a disk ferryd
 * does not protect, an unknown option and ship = local are refused with
 * the reason; a segment sealed but not yet stored by the server holds
 * the compare back until it is; with the server gone the compare waits
 * and says why, and a stop then leaves the disk in hashcmp_unfinished().
 *
 * Needs root and loop devices; exits 77 (skip) without them.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ferry/disk.h>

#include "../../agent/ferryd/ferryd.h"
#include "../../agent/ferryd/hashcmp.h"
#include "../../agent/ferryd/resync.h"
#include "hashcmp_replica.h"

#define MIB	(1ull << 20)
#define BLK	4096ull
#define KID	9
#define DSIZE	(6 * MIB + 8 * BLK)

/* ---- the resync engine, as hashcmp sees it -------------------------- */

struct range {
	uint64_t off, len;
};

static pthread_mutex_t got_lock = PTHREAD_MUTEX_INITIALIZER;
static struct range got[256];
static unsigned int nr_got, whole;
static int marker;

int resync_queue(struct resync *rs, uint32_t kid, uint64_t offset,
		 uint64_t len, enum resync_reason why)
{
	CHECK(rs == (struct resync *)&marker && kid == KID &&
	      why == RESYNC_HASH, "resync_queue(%u, %d)", kid, why);
	pthread_mutex_lock(&got_lock);
	if (nr_got < 256) {
		got[nr_got].off = offset;
		got[nr_got++].len = len;
	}
	pthread_mutex_unlock(&got_lock);
	return 0;
}

int resync_queue_disk(struct resync *rs, uint32_t kid, enum resync_reason why)
{
	CHECK(rs == (struct resync *)&marker && kid == KID &&
	      why == RESYNC_HASH, "resync_queue_disk(%u, %d)", kid, why);
	whole++;
	return 0;
}

/* dev.c links against these; this test never attaches through the module. */
int resync_add_disk(struct resync *rs, uint32_t kid, const char *path,
		    uint64_t size, const uint8_t uuid[16], char *why,
		    size_t len)
{
	(void)rs; (void)kid; (void)path; (void)size; (void)uuid;
	snprintf(why, len, "not part of this test");
	return -1;
}

int resync_set_exclude(struct resync *rs, uint32_t kid,
		       const struct ferry_extent *ext, unsigned int n)
{
	(void)rs; (void)kid; (void)ext; (void)n;
	return 0;
}

void resync_remove_disk(struct resync *rs, uint32_t kid)
{
	(void)rs; (void)kid;
}

/* ---- set-up ------------------------------------------------------------ */

static struct t_server srv;
static struct ferryd fd;
static char loop[64], loop2[64];

static void losetup(const char *file, char *dev, size_t len)
{
	char cmd[700];
	FILE *p;

	snprintf(cmd, sizeof(cmd), "losetup -f --show -r '%s' 2>&1", file);
	p = popen(cmd, "r");
	CHECK(p && fgets(dev, len, p), "losetup %s", file);
	pclose(p);
	dev[strcspn(dev, "\n")] = '\0';
	CHECK(!strncmp(dev, "/dev/loop", 9), "losetup: %s", dev);
}

static void at_exit(void)
{
	char cmd[200];

	t_server_kill(&srv);
	if (loop[0] || loop2[0]) {
		snprintf(cmd, sizeof(cmd), "losetup -d %s %s 2>/dev/null", loop,
			 loop2);
		if (system(cmd))
			fprintf(stderr, "losetup -d %s %s failed\n", loop, loop2);
	}
	t_cleanup();
}

/* ferryd as far as hashcmp needs it: config, spool, one protected disk. */
static void fake_ferryd(const char *state_dir)
{
	struct spool_conf sc = { .size = 4 * MIB, .seg_size = MIB,
				 .ack_mode = SPOOL_ACK_SERVER };
	struct dev_disk *dd = &fd.dv.disks[0];
	char err[512], sdir[600];

	snprintf(fd.conf.state_dir, sizeof(fd.conf.state_dir), "%.*s",
		 (int)sizeof(fd.conf.state_dir) - 1, state_dir);
	fd.conf.ship = SPOOL_ACK_SERVER;
	snprintf(sdir, sizeof(sdir), "%s/spool", t_scratch());
	sc.dir = sdir;
	CHECK(spool_open(&sc, &fd.sp, err, sizeof(err)) == 0, "%s", err);
	pthread_mutex_init(&fd.dv.lock, NULL);
	fd.dv.sysfs = "/sys";
	CHECK(disk_resolve("/sys", loop, &dd->id, err, sizeof(err)) == 0,
	      "%s", err);
	snprintf(dd->spec, sizeof(dd->spec), "%s", loop);
	dd->kid = KID;
	dd->size_bytes = DSIZE;
	dd->lbs = 512;
	fd.dv.nr_disks = 1;
	fd.rsync = (struct resync *)&marker;
}

/* The control request req: its exit status, its answer in out. */
static int ctl(const char *req, char *out, size_t len)
{
	FILE *f = fmemopen(out, len, "w");
	int rc;

	CHECK(f, "fmemopen");
	rc = hashcmp_ctl(&fd, req, f);
	fclose(f);
	return rc;
}

static void wait_runs(uint64_t runs, struct hashcmp_stat *st)
{
	int i;

	for (i = 0; i < 300; i++) {
		hashcmp_get_stat(&fd, st);
		if (st->runs >= runs && !st->active)
			return;
		usleep(100000);
	}
	CHECK(0, "no end of hash-compare %" PRIu64 " after 30 s (%s)", runs,
	      st->msg);
}

/* Request a compare and wait until its message says what. */
static void wait_msg(const char *what, struct hashcmp_stat *st)
{
	int i;

	CHECK(hashcmp_request(&fd, KID) == 0, "hashcmp_request");
	for (i = 0; i < 300; i++) {
		hashcmp_get_stat(&fd, st);
		if (strstr(st->msg, what))
			return;
		usleep(100000);
	}
	CHECK(0, "no '%s' after 30 s: '%s'", what, st->msg);
}

int main(void)
{
	const struct range want[] = {
		{ 5 * BLK, BLK }, { 100 * BLK, 4 * BLK }, { 3 * MIB, BLK },
	};
	char state_dir[600], file[600], out[1024], line[300], err[256];
	struct hashcmp_stat st;
	struct ps_client *pc;
	uint8_t *img, *local;
	uint32_t kids[4];
	unsigned int i;

	if (geteuid() || access("/dev/loop-control", W_OK) ||
	    system("losetup --version >/dev/null 2>&1")) {
		printf("integ-hashcmp-thread: skipped: needs root and loop "
		       "devices (losetup)\n");
		return 77;
	}
	alarm(120);
	signal(SIGPIPE, SIG_IGN);
	srandom(getpid());
	snprintf(srv.data, sizeof(srv.data), "%s/data", t_scratch());
	t_server_start(&srv);
	atexit(at_exit);
	pc = hc_register(&srv, state_dir, sizeof(state_dir));

	/* the local disk: the image with 6 blocks changed in 3 runs */
	img = hc_image(DSIZE);
	local = malloc(DSIZE);
	CHECK(local, "malloc");
	memcpy(local, img, DSIZE);
	local[5 * BLK + 1] ^= 1;
	for (i = 100; i < 104; i++)
		local[i * BLK + i] ^= 1;
	local[3 * MIB + 4095] ^= 1;
	snprintf(file, sizeof(file), "%s/disk.img", t_scratch());
	CHECK(t_write_file(file, local, DSIZE) == 0, "%s", file);
	losetup(file, loop, sizeof(loop));
	snprintf(file, sizeof(file), "%s/other.img", t_scratch());
	CHECK(t_write_file(file, img, MIB) == 0, "%s", file);
	losetup(file, loop2, sizeof(loop2));
	fake_ferryd(state_dir);
	{
		struct hashcmp_job wj = { .st = &st };
		uint64_t end = hc_upload_image(pc, img, DSIZE, KID,
					       fd.dv.disks[0].id.uuid);

		CHECK(hashcmp_wait_applied(&wj, pc, end, 30, err,
					   sizeof(err)) == 0, "%s", err);
	}
	ps_client_close(pc);
	CHECK(hashcmp_init(&fd, err, sizeof(err)) == 0, "%s", err);

	/* resync DISK: exactly the changed blocks */
	CHECK(ctl(loop, out, sizeof(out)) == 0, "resync %s: %s", loop, out);
	CHECK(strstr(out, "hash-compare with the replica requested"), "%s",
	      out);
	wait_runs(1, &st);
	for (i = 0; i < nr_got; i++)
		printf("  queued %" PRIu64 "+%" PRIu64 "\n", got[i].off,
		       got[i].len);
	CHECK(nr_got == 3, "%u ranges queued, want 3 (%s)", nr_got, st.last);
	for (i = 0; i < 3; i++)
		CHECK(got[i].off == want[i].off && got[i].len == want[i].len,
		      "range %u", i);
	snprintf(line, sizeof(line), "%s: %llu bytes compared, %llu bytes "
		 "differ in 3 ranges", loop, DSIZE, 6 * BLK);
	CHECK(strstr(st.last, line), "last: '%s', want '%s'", st.last, line);
	hashcmp_status_line(&st, out, sizeof(out));
	CHECK(strstr(out, line), "status line: %s", out);
	printf("ok resync %s: %s\n", loop, st.last);

	/* resync DISK full */
	CHECK(ctl("x full", out, sizeof(out)) == 1 && strstr(out, "x:"),
	      "resync x full: %s", out);
	snprintf(line, sizeof(line), "%s full", loop);
	CHECK(ctl(line, out, sizeof(out)) == 0 && whole == 1,
	      "resync %s: %s", line, out);
	printf("ok resync %s: %s", line, out);

	/* refusals, each with its reason */
	CHECK(ctl(loop2, out, sizeof(out)) == 1 &&
	      strstr(out, "not protected by ferryd"), "%s: %s", loop2, out);
	printf("ok %s", out);
	snprintf(line, sizeof(line), "%s fast", loop);
	CHECK(ctl(line, out, sizeof(out)) == 2 && strstr(out, "'fast'"),
	      "%s: %s", line, out);
	fd.conf.ship = SPOOL_ACK_LOCAL;
	CHECK(ctl(loop, out, sizeof(out)) == 1 &&
	      strstr(out, "needs the process server"), "ship=local: %s", out);
	printf("ok %s", out);
	fd.conf.ship = SPOOL_ACK_SERVER;

	/* a sealed segment the server has not stored: the compare waits */
	{
		struct spool_seg sg = { 0 };
		uint8_t *buf = malloc(MIB);
		uint64_t end;

		CHECK(buf, "malloc");
		sg.bytes = t_segment(buf, MIB, 1, 2, NULL, NULL, &end);
		sg.start_seq = 1;
		sg.end_seq = end;
		sg.records = 2;
		CHECK(spool_append(fd.sp, buf, sg.bytes, &sg) == 0, "append");
		free(buf);
		nr_got = 0;
		wait_msg("waiting for the server to store", &st);
		hashcmp_status_line(&st, out, sizeof(out));
		printf("ok %s\n", out);
		CHECK(!nr_got && st.runs == 1, "compared before the segment "
		      "was stored");
		CHECK(spool_ack(fd.sp, sg.id) == 0, "spool_ack");
		wait_runs(2, &st);
		CHECK(nr_got == 3, "after the wait: %u ranges (%s)", nr_got,
		      st.last);
		printf("ok compared once the server had the segment: %s\n",
		       st.last);
	}

	/* the server gone: the compare says so and waits; a stop keeps it */
	t_server_kill(&srv);
	wait_msg("to connect", &st);
	hashcmp_status_line(&st, out, sizeof(out));
	printf("ok server gone: %s\n", out);
	hashcmp_stop(&fd);
	CHECK(hashcmp_unfinished(&fd, kids, 4) == 1 && kids[0] == KID,
	      "unfinished after the stop");
	hashcmp_get_stat(&fd, &st);
	CHECK(strstr(st.last, "interrupted"), "last: %s", st.last);
	printf("ok stopped while waiting: disk %u left unfinished (%s)\n",
	       kids[0], st.last);
	spool_close(fd.sp);
	free(img);
	free(local);
	printf("integ-hashcmp-thread: all passed\n");
	return 0;
}
