// SPDX-License-Identifier: GPL-2.0
/*
 * integ-ps, resync part: the server's resync window and accounting on a
 * server of its own (a crash-consistent point after every segment).
 *
 *   A  unflagged: writes, tag "before"            points allowed
 *   B  RESYNC:    write, resync chunk, zero chunk, tag "inside", write
 *                 -> window opens at B.start, the tag is refused, the
 *                    counters are exact against the known replica
 *   -- SIGKILL, restart: window and counters persisted
 *   C  RESYNC:    zero chunk, tag "still" -> refused, open since B.start
 *   D  unflagged: write, tag "after" -> window closed at D.start, points
 *                 again; the replica equals the model throughout.
 *
 * Then hashes while the applier works: every answer must describe the
 * replica exactly at the applied_seq it reports.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <ferry/hrl.h>
#include <ferry/ps_client.h>

#include "ps_harness.h"

#define SEG_CAP		(1u << 20)
#define CHUNK_OFF	0x10000u	/* the resync chunk: 16 blocks */
#define CHUNK_LEN	0x10000u
#define ZERO_OFF	0x40000u	/* the zero chunk: 8 blocks */
#define ZERO_LEN	0x8000u

struct rs_rec {
	uint16_t kind;
	uint64_t seq;
	uint64_t off;
	uint32_t len;
	const char *tag;
	const uint8_t *data;
};

static struct t_server rs_srv = { .extra = { "--retention=86400",
					     "--point-interval=0" } };
static struct ps_client *rs_c;
static uint8_t *model, *seg;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return t.tv_sec * 1000000000ull + t.tv_nsec;
}

/* A segment of recs from start, flagged or not; applied to the model. */
static size_t build(uint64_t start, uint32_t flags, const struct rs_rec *recs,
		    int n, uint64_t *end)
{
	struct hrl_seg_info info = { .start_seq = start, .flags = flags,
				     .nr_disks = 1 };
	struct hrl_writer w;
	struct hrl_seg_end e;
	size_t bytes;
	int i;

	for (i = 0; i < 16; i++) {
		sscanf(T_MACHINE + 2 * i, "%2hhx", &info.machine_id[i]);
		info.segment_id[i] = (uint8_t)random();
	}
	info.created_ns = now_ns();
	info.disks[0].id = T_DISK_ID;
	info.disks[0].size_bytes = T_DISK_SIZE;
	info.disks[0].lbs = 512;
	CHECK(hrl_writer_init(&w, seg, SEG_CAP, &info) == 0, "writer init");
	for (i = 0; i < n; i++) {
		const struct rs_rec *x = &recs[i];
		struct hrl_rec r = {
			.kind = x->kind, .seq = x->seq, .offset = x->off,
			.len = x->len, .disk_id = T_DISK_ID,
			.time_ns = info.created_ns,
		};

		if (x->kind == HRL_TAG) {
			struct hrl_tag t = { .id = x->seq, .time_ns = r.time_ns };

			snprintf(t.name, sizeof(t.name), "%s", x->tag);
			CHECK(hrl_writer_add_tag(&w, x->seq, &t) == 0, "tag");
			continue;
		}
		CHECK(hrl_writer_add(&w, &r, x->data) == 0, "record %d", i);
		if (x->kind == HRL_RESYNC_ZERO)
			memset(model + x->off, 0, x->len);
		else
			memcpy(model + x->off, x->data, x->len);
	}
	CHECK(hrl_writer_finish(&w, &bytes, &e) == 0, "writer finish");
	*end = e.end_seq;
	return bytes;
}

/* Upload seg[0, len); ps_client_upload()'s result. */
static int send_seg(size_t len, struct ps_ack *ack, char *err, size_t errlen)
{
	char path[600];
	int fd, r;

	snprintf(path, sizeof(path), "%s/rs.hrl", t_scratch());
	CHECK(t_write_file(path, seg, len) == 0, "write %s", path);
	fd = open(path, O_RDONLY);
	r = ps_client_upload(rs_c, fd, len, ack, err, errlen);
	close(fd);
	return r;
}

static void upload(size_t len)
{
	char err[PS_ERR_LEN];
	struct ps_ack ack;

	CHECK(send_seg(len, &ack, err, sizeof(err)) == 0, "%s", err);
	CHECK(!ack.duplicate, "segment taken for a duplicate");
}

/* Upload seg[0, len) expecting no acknowledgement; the server's reason. */
static void upload_refused(size_t len, const char *want, char *err,
			   size_t errlen)
{
	struct ps_ack ack = { 0 };

	CHECK(send_seg(len, &ack, err, errlen) != 0,
	      "segment acknowledged (duplicate %d), want refused: %s",
	      ack.duplicate, want);
	CHECK(strstr(err, want), "refused for another reason: %s", err);
}

/* Upload seg[0, len) expecting the server to know it already. */
static void upload_duplicate(size_t len)
{
	char err[PS_ERR_LEN];
	struct ps_ack ack;

	CHECK(send_seg(len, &ack, err, sizeof(err)) == 0, "%s", err);
	CHECK(ack.duplicate, "a resent segment was stored again");
}

static void state(struct ps_remote_state *st)
{
	char err[PS_ERR_LEN];

	CHECK(ps_client_state(rs_c, st, err, sizeof(err)) == 0, "%s", err);
}

/* Until the applier has taken the segment: applied_seq or resync_bytes. */
static void wait_state(uint64_t applied, uint64_t resync_bytes)
{
	struct ps_remote_state st;
	int i;

	for (i = 0; i < 300; i++) {
		state(&st);
		if (st.applied_seq >= applied && st.resync_bytes >= resync_bytes)
			return;
		usleep(50000);
	}
	CHECK(0, "applied %" PRIu64 " resync_bytes %" PRIu64 ", want %" PRIu64
	      " and %" PRIu64, st.applied_seq, st.resync_bytes, applied,
	      resync_bytes);
}

/* "key value" of the machine's state file (or "" if absent). */
static const char *state_file(const char *key, char *val, size_t len)
{
	char path[700], buf[4096], k[64], v[128];
	const char *p = buf;
	ssize_t n;
	int used;

	snprintf(path, sizeof(path), "%s/machines/%s/state", rs_srv.data,
		 T_MACHINE);
	n = t_read_file(path, buf, sizeof(buf) - 1);
	CHECK(n > 0, "%s unreadable", path);
	buf[n] = '\0';
	val[0] = '\0';
	for (; sscanf(p, "%63s %127s%n", k, v, &used) == 2; p += used)
		if (!strcmp(k, key))
			snprintf(val, len, "%s", v);
	return val;
}

static void expect_state_file(const char *key, const char *want)
{
	char v[128];

	CHECK(!strcmp(state_file(key, v, sizeof(v)), want),
	      "state file: %s is '%s', want '%s'", key, v, want);
}

static void expect_log(const char *line)
{
	static char buf[1 << 16];
	ssize_t n = t_read_file(rs_srv.log, buf, sizeof(buf) - 1);

	CHECK(n > 0, "log %s unreadable", rs_srv.log);
	buf[n] = '\0';
	CHECK(strstr(buf, line), "log %s lacks '%s'", rs_srv.log, line);
}

/* Every point outside (lo, hi]; the tags of 'want' present, of 'never' not. */
static void expect_points(uint64_t lo, uint64_t hi, const char *want,
			  const char *never)
{
	struct ps_remote_point *pts;
	char err[PS_ERR_LEN];
	size_t n, i;
	bool found = false;

	CHECK(ps_client_points(rs_c, &pts, &n, err, sizeof(err)) == 0, "%s", err);
	for (i = 0; i < n; i++) {
		CHECK(pts[i].seq <= lo || pts[i].seq > hi, "point %" PRIu64
		      " (%s) at seq %" PRIu64 " inside the window (%" PRIu64
		      ", %" PRIu64 "]", pts[i].id, pts[i].tag ? pts[i].name :
		      "crash", pts[i].seq, lo, hi);
		CHECK(!pts[i].tag || strcmp(pts[i].name, never), "tag %s made "
		      "a point", never);
		found |= pts[i].tag && !strcmp(pts[i].name, want);
	}
	CHECK(found, "tag %s is not a point", want);
	free(pts);
}

static void expect_replica(void)
{
	uint8_t (*got)[32] = calloc(256, 32), want[32];
	char err[PS_ERR_LEN], path[700];
	uint8_t *img = malloc(T_DISK_SIZE);
	struct ps_remote_state st;
	unsigned int len = 32;
	uint64_t applied;
	size_t n, i;

	snprintf(path, sizeof(path), "%s/machines/%s/disks/%s/replica.img",
		 rs_srv.data, T_MACHINE, T_DISK_NAME);
	CHECK(t_read_file(path, img, T_DISK_SIZE) == T_DISK_SIZE &&
	      !memcmp(img, model, T_DISK_SIZE), "%s differs from the model",
	      path);
	/* 4 KiB hashes of the whole disk, holes included, at its state */
	CHECK(ps_client_hashes(rs_c, T_DISK_NAME, 4096, 0, 256, got, &n,
			       &applied, err, sizeof(err)) == 0, "%s", err);
	state(&st);
	CHECK(n == 256 && applied == st.applied_seq, "%zu hashes at %" PRIu64
	      ", applied %" PRIu64, n, applied, st.applied_seq);
	for (i = 0; i < n; i++) {
		EVP_Digest(model + i * 4096, 4096, want, &len, EVP_sha256(), NULL);
		CHECK(!memcmp(want, got[i], 32), "block %zu hash differs", i);
	}
	free(img);
	free(got);
}

static void restart(void)
{
	char v[64], want[64];
	struct ps_remote_state st;
	int i;

	/* the state file must hold the segment before the kill */
	state(&st);
	snprintf(want, sizeof(want), "%" PRIu64, st.applied_seq);
	for (i = 0; i < 100 && strcmp(state_file("applied_pos", v, sizeof(v)),
				      want); i++)
		usleep(50000);
	ps_client_close(rs_c);
	t_server_kill(&rs_srv);
	rs_c = t_server_register(&rs_srv, "rs-creds2");
}

#define NSEGS		24
#define HCHUNK		65536u
#define NCHUNKS		(T_DISK_SIZE / HCHUNK)

struct hash_run {
	uint8_t *segs[NSEGS];
	size_t lens[NSEGS];
	uint64_t ends[NSEGS + 1];	/* ends[0]: the start */
	uint8_t want[NSEGS + 1][NCHUNKS][32];
	struct ps_client *c;
};

static void *upload_all(void *arg)
{
	struct hash_run *hr = arg;
	char path[600], err[PS_ERR_LEN];
	struct ps_ack ack;
	int i, fd;

	snprintf(path, sizeof(path), "%s/hr.hrl", t_scratch());
	for (i = 0; i < NSEGS; i++) {
		CHECK(t_write_file(path, hr->segs[i], hr->lens[i]) == 0, "write");
		fd = open(path, O_RDONLY);
		CHECK(ps_client_upload(hr->c, fd, hr->lens[i], &ack, err,
				       sizeof(err)) == 0, "%s", err);
		close(fd);
	}
	return NULL;
}

static void model_hashes(uint8_t out[NCHUNKS][32])
{
	unsigned int len = 32;
	size_t i;

	for (i = 0; i < NCHUNKS; i++)
		EVP_Digest(model + i * HCHUNK, HCHUNK, out[i], &len,
			   EVP_sha256(), NULL);
}

/*
 * Segments applied while hashes are asked for: each answer equals the
 * model after exactly the segments below its applied_seq (the replica
 * moves a whole segment at a time, under the lock the hashes take).
 */
static void t_hashes_consistent(uint64_t start)
{
	static struct hash_run hr;
	uint8_t (*got)[32] = calloc(NCHUNKS, 32);
	char err[PS_ERR_LEN];
	uint64_t applied = 0;
	int i, answers = 0, seen = 0, last = -1;
	pthread_t t;
	size_t n;

	hr.ends[0] = start;
	model_hashes(hr.want[0]);
	for (i = 0; i < NSEGS; i++) {
		hr.segs[i] = malloc(SEG_CAP);
		hr.lens[i] = t_segment(hr.segs[i], SEG_CAP, hr.ends[i], 20, NULL,
				       model, &hr.ends[i + 1]);
		model_hashes(hr.want[i + 1]);
	}
	hr.c = t_client(&rs_srv, "rs-creds2");	/* the uploads' connection */
	CHECK(pthread_create(&t, NULL, upload_all, &hr) == 0, "thread");
	while (applied < hr.ends[NSEGS]) {
		CHECK(ps_client_hashes(rs_c, T_DISK_NAME, HCHUNK, 0, NCHUNKS, got,
				       &n, &applied, err, sizeof(err)) == 0,
		      "%s", err);
		for (i = 0; i <= NSEGS && hr.ends[i] != applied; i++)
			;
		CHECK(i <= NSEGS && n == NCHUNKS, "hashes at seq %" PRIu64
		      ", not a segment boundary", applied);
		CHECK(!memcmp(got, hr.want[i], sizeof(hr.want[i])), "hashes "
		      "said seq %" PRIu64 " but are not the replica there",
		      applied);
		answers++;
		seen += i != last;
		last = i;
	}
	pthread_join(t, NULL);
	ps_client_close(hr.c);
	for (i = 0; i < NSEGS; i++)
		free(hr.segs[i]);
	free(got);
	printf("ok %d hash answers during apply, each the replica at its "
	       "applied_seq (%d states seen)\n", answers, seen);
}

/*
 * Segments without a seq range of their own are told from a resend only
 * by their id.  C again (stored): a duplicate.  E ([e, e): re-read data)
 * overtaken by F ([e, e+1)): refused with the reason, not acknowledged as
 * a duplicate, which would have dropped its data.  Returns F's end.
 */
static uint64_t t_rangeless_order(const uint8_t *c_seg, size_t c_len,
				  uint64_t e)
{
	static uint8_t w[4096];
	uint8_t *saved = malloc(T_DISK_SIZE), *e_seg = malloc(SEG_CAP);
	char err[PS_ERR_LEN];
	uint64_t e_end, f_end;
	size_t n, e_len;

	CHECK(saved && e_seg, "memory");
	memcpy(seg, c_seg, c_len);
	upload_duplicate(c_len);

	memcpy(saved, model, T_DISK_SIZE);
	{
		const struct rs_rec r[] = {
			{ HRL_RESYNC_ZERO, e, 0x70000, 4096, NULL, NULL },
		};

		e_len = build(e, HRL_SEG_RESYNC, r, 1, &e_end);
	}
	CHECK(e_end == e, "E ends at %" PRIu64, e_end);
	memcpy(e_seg, seg, e_len);
	memcpy(model, saved, T_DISK_SIZE);	/* E is never applied */
	memset(w, 0x3c, sizeof(w));
	{
		const struct rs_rec r[] = {
			{ HRL_WRITE, e, 0x71000, 4096, NULL, w },
		};

		n = build(e, 0, r, 1, &f_end);
	}
	upload(n);
	wait_state(f_end, 0);
	memcpy(seg, e_seg, e_len);
	upload_refused(e_len, "out of order, not stored", err, sizeof(err));
	expect_replica();
	free(saved);
	free(e_seg);
	printf("ok a segment without a seq range: resent, a duplicate; "
	       "overtaken, refused (%s)\n", err);
	return f_end;
}

/*
 * A window closed by an empty unflagged segment (what an agent sends when
 * its last re-read went out): a crash point at its seq right away, though
 * the segment has no record to take a time from.  Returns the end.
 */
static uint64_t t_point_at_close(uint64_t g)
{
	static uint8_t w[4096];
	struct ps_remote_point *pts;
	char err[PS_ERR_LEN];
	uint64_t g_end, h_end;
	size_t n, i;
	bool found = false;

	memset(w, 0x6b, sizeof(w));
	{
		const struct rs_rec r[] = {
			{ HRL_WRITE, g, 0x72000, 4096, NULL, w },
		};

		n = build(g, HRL_SEG_RESYNC, r, 1, &g_end);
	}
	upload(n);
	n = build(g_end, 0, NULL, 0, &h_end);
	CHECK(h_end == g_end, "H ends at %" PRIu64, h_end);
	upload(n);
	for (i = 0; i < 100 && !found; i++) {
		size_t k;

		CHECK(ps_client_points(rs_c, &pts, &n, err, sizeof(err)) == 0,
		      "%s", err);
		for (k = 0; k < n; k++)
			found |= !pts[k].tag && pts[k].seq == g_end;
		free(pts);
		if (!found)
			usleep(100000);
	}
	CHECK(found, "no crash point at seq %" PRIu64 " where the window "
	      "closed", g_end);
	expect_replica();
	printf("ok a window closed by an empty segment: crash point at seq %"
	       PRIu64 " at once\n", g_end);
	return h_end;
}

static void rs_at_exit(void)
{
	t_server_kill(&rs_srv);
}

void t_resync_window(void)
{
	static uint8_t w1[4096], w2[4096], chunk[CHUNK_LEN];
	struct ps_remote_state st;
	uint64_t a_end, b_end, c_end, d_end, sb, sc;
	char line[256], out[700];
	uint8_t *c_seg;
	size_t n, c_len;

	model = calloc(1, T_DISK_SIZE);
	seg = malloc(SEG_CAP);
	CHECK(model && seg, "memory");
	snprintf(rs_srv.data, sizeof(rs_srv.data), "%s/data-rs", t_scratch());
	atexit(rs_at_exit);	/* runs before the scratch directory goes */
	rs_c = t_server_register(&rs_srv, "rs-creds");

	/* A: writes at blocks 7, 14, ..., 70 and a tag */
	n = t_segment(seg, SEG_CAP, 1, 10, "before", model, &a_end);
	upload(n);
	wait_state(a_end, 0);
	state(&st);
	CHECK(!st.resync_window_open && !st.resync_windows, "window open");

	/*
	 * B: the resync chunk holds what the replica has (after the write
	 * before it) except blocks 3 and 7; the zero chunk covers blocks
	 * 64..71, of which only 70 holds data.
	 */
	sb = a_end;
	memset(w1, 0x5a, sizeof(w1));
	memset(w2, 0xa5, sizeof(w2));
	memcpy(chunk, model + CHUNK_OFF, CHUNK_LEN);
	memcpy(chunk, w1, 4096);
	memset(chunk + 3 * 4096, 0xff, 4096);
	memset(chunk + 7 * 4096, 0xee, 4096);
	{
		const struct rs_rec b[] = {
			{ HRL_WRITE, sb, CHUNK_OFF, 4096, NULL, w1 },
			{ HRL_RESYNC, sb + 1, CHUNK_OFF, CHUNK_LEN, NULL, chunk },
			{ HRL_RESYNC_ZERO, sb + 1, ZERO_OFF, ZERO_LEN, NULL, NULL },
			{ HRL_TAG, sb + 1, 0, 0, "inside", NULL },
			{ HRL_WRITE, sb + 1, 0x50000, 4096, NULL, w2 },
		};

		n = build(sb, HRL_SEG_RESYNC, b, 5, &b_end);
	}
	upload(n);
	wait_state(b_end, 1);
	state(&st);
	CHECK(st.resync_window_open && st.resync_window_open_seq == sb &&
	      st.resync_windows == 1, "window after B: open %d at %" PRIu64
	      " (want %" PRIu64 "), %" PRIu64 " windows",
	      st.resync_window_open, st.resync_window_open_seq, sb,
	      st.resync_windows);
	CHECK(st.resync_bytes == 64 + CHUNK_LEN + 64 &&
	      st.resync_data_bytes == CHUNK_LEN &&
	      st.resync_zero_bytes == ZERO_LEN &&
	      st.resync_diff_bytes == 3 * 4096, "counters after B: bytes %"
	      PRIu64 " data %" PRIu64 " zero %" PRIu64 " diff %" PRIu64,
	      st.resync_bytes, st.resync_data_bytes, st.resync_zero_bytes,
	      st.resync_diff_bytes);
	snprintf(line, sizeof(line), "tag inside at seq %" PRIu64 " refused: "
		 "resync window open since seq %" PRIu64, sb + 1, sb);
	expect_log(line);
	snprintf(line, sizeof(line), "resync window opened at seq %" PRIu64, sb);
	expect_log(line);
	expect_points(sb, b_end, "before", "inside");
	expect_replica();
	expect_state_file("resync_window", "open");
	snprintf(line, sizeof(line), "%" PRIu64, sb);
	expect_state_file("resync_window_open_seq", line);
	expect_state_file("resync_bytes", "65664");
	expect_state_file("resync_diff_bytes", "12288");
	{
		const char *argv[] = { t_bin("ferry-ps"), "status", "--data",
				       rs_srv.data, T_MACHINE, NULL };
		char buf[2048];
		ssize_t len;

		snprintf(out, sizeof(out), "%s/status.txt", t_scratch());
		CHECK(t_run(argv, out) == 0, "ferry-ps status");
		len = t_read_file(out, buf, sizeof(buf) - 1);
		buf[len > 0 ? len : 0] = '\0';
		CHECK(strstr(buf, "resync_window open\n") &&
		      strstr(buf, "resync_diff_bytes 12288\n") &&
		      strstr(buf, "resync: 5.344 bytes received per byte that "
			     "differed"), "ferry-ps status:\n%s", buf);
	}
	printf("ok resync window opens with a flagged segment at seq %" PRIu64
	       ", tag inside refused; resync_bytes 65664, resync_diff_bytes "
	       "12288 exact\n", sb);

	restart();
	state(&st);
	CHECK(st.resync_window_open && st.resync_window_open_seq == sb &&
	      st.resync_bytes == 65664 && st.resync_diff_bytes == 12288,
	      "after restart: open %d since %" PRIu64 ", %" PRIu64 " / %"
	      PRIu64, st.resync_window_open, st.resync_window_open_seq,
	      st.resync_bytes, st.resync_diff_bytes);

	/* C: only markers, so [start, end) is empty; block 3 back to zeros */
	sc = b_end;
	{
		const struct rs_rec c[] = {
			{ HRL_RESYNC_ZERO, sc, CHUNK_OFF + 3 * 4096, 4096, NULL, NULL },
			{ HRL_TAG, sc, 0, 0, "still", NULL },
		};

		n = build(sc, HRL_SEG_RESYNC, c, 2, &c_end);
	}
	CHECK(c_end == sc, "C ends at %" PRIu64, c_end);
	c_seg = malloc(n);
	CHECK(c_seg, "memory");
	memcpy(c_seg, seg, n);
	c_len = n;
	upload(n);
	wait_state(sc, 65664 + 64);
	snprintf(line, sizeof(line), "tag still at seq %" PRIu64 " refused: "
		 "resync window open since seq %" PRIu64, sc, sb);
	expect_log(line);
	state(&st);
	CHECK(st.resync_window_open && st.resync_diff_bytes == 12288 + 4096 &&
	      st.resync_zero_bytes == ZERO_LEN + 4096, "after C: open %d, diff %"
	      PRIu64 ", zero %" PRIu64, st.resync_window_open,
	      st.resync_diff_bytes, st.resync_zero_bytes);

	/* D: unflagged, the window closes at its start; points again */
	{
		const struct rs_rec d[] = {
			{ HRL_WRITE, sc, 0x60000, 4096, NULL, w1 },
			{ HRL_TAG, sc + 1, 0, 0, "after", NULL },
		};

		n = build(sc, 0, d, 2, &d_end);
	}
	upload(n);
	wait_state(d_end, 0);
	state(&st);
	CHECK(!st.resync_window_open && st.resync_window_close_seq == sc &&
	      st.resync_window_open_seq == sb && st.resync_windows == 1,
	      "after D: open %d, [%" PRIu64 ", %" PRIu64 "), want [%" PRIu64
	      ", %" PRIu64 ")", st.resync_window_open,
	      st.resync_window_open_seq, st.resync_window_close_seq, sb, sc);
	snprintf(line, sizeof(line), "resync window closed at seq %" PRIu64
		 " (open since seq %" PRIu64, sc, sb);
	expect_log(line);
	expect_points(sb, sc, "after", "still");
	expect_replica();
	expect_state_file("resync_window", "closed");
	printf("ok resync window closes at seq %" PRIu64 " with the next "
	       "unflagged segment; state survived a restart; no point in "
	       "(%" PRIu64 ", %" PRIu64 "]\n", sc, sb, sc);
	t_hashes_consistent(t_point_at_close(t_rangeless_order(c_seg, c_len,
							       d_end)));
	free(c_seg);
	ps_client_close(rs_c);
	t_server_kill(&rs_srv);
	free(model);
	free(seg);
}
