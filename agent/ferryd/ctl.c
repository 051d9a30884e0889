// SPDX-License-Identifier: GPL-2.0
/*
 * The control socket: RUN_DIR/ferryd.sock (mode 0600, root only), one
 * request per connection, for ferryctl.
 *
 *   request:  one line: "status" | "status json" | "attach SPEC" |
 *             "detach SPEC" | "resync SPEC [full]" (hashcmp.h)
 *   reply:    first line: the exit status ferryctl should return (see
 *             docs/agent.md), then the text to print (stdout for 0 and 4,
 *             stderr otherwise); then the connection closes.
 *
 * Rates are sampled once a second by this thread.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <ferry/fs.h>

#include "ferryd.h"
#include "hashcmp.h"
#include "resync.h"

#if __has_include("ship.h")
#include "ship.h"
#define HAVE_SHIP 1
#endif

#define CTL_EXIT_OK		0
#define CTL_EXIT_ERROR		1
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_ATTENTION	4

struct rate {
	uint64_t last, t_ns;
	double per_s;
};

static pthread_t ctl_thread;
static struct rate rate_bytes, rate_recs;
static struct rate rate_disk[64];	/* indexed like dv.disks */

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void rate_update(struct rate *r, uint64_t v, uint64_t now)
{
	double dt = (now - r->t_ns) / 1e9;

	if (r->t_ns && dt > 0 && v >= r->last)
		r->per_s = 0.5 * r->per_s + 0.5 * ((v - r->last) / dt);
	r->last = v;
	r->t_ns = now;
}

static void sample(struct ferryd *fd)
{
	struct drain_stat ds;
	struct ferry_stats ks;
	uint64_t now = real_ns();
	unsigned int i;

	drain_get_stat(&fd->dr, &ds);
	rate_update(&rate_bytes, ds.bytes, now);
	rate_update(&rate_recs, ds.records, now);
	pthread_mutex_lock(&fd->dv.lock);
	for (i = 0; i < fd->dv.nr_disks; i++)
		if (!dev_stats(&fd->dv, fd->dv.disks[i].kid, &ks))
			rate_update(&rate_disk[i], ks.bytes, now);
	pthread_mutex_unlock(&fd->dv.lock);
}

static void human_bytes(double b, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int i = 0;

	while (b >= 1024 && i < 4) {
		b /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static const char *mode_name(uint32_t mode)
{
	switch (mode) {
	case FERRY_MODE_DATA:		return "data";
	case FERRY_MODE_METADATA:	return "metadata";
	case FERRY_MODE_BITMAP:		return "bitmap";
	}
	return "?";
}

static const char *state_name(uint32_t state)
{
	if (state & FERRY_DISK_GONE)
		return "gone";
	if (state & FERRY_DISK_RESYNC)
		return "resync-needed";
	if (state & FERRY_DISK_ATTACHED)
		return "protected";
	return "detached";
}

/* Oldest change not yet acknowledged: spool, open segment, or ring. */
static uint64_t oldest_change_ns(struct ferryd *fd, const struct spool_stat *ss,
				 const struct drain_stat *ds)
{
	uint64_t t = ss->oldest_ns;

	if (ds->open_oldest_ns && (!t || ds->open_oldest_ns < t))
		t = ds->open_oldest_ns;
	if (!t && fd->dv.rs.rd) {
		struct ring_reader peek = *fd->dv.rs.rd;
		const struct ferry_rec *r;

		peek.pos = ds->pos;
		if (ring_reader_next(&peek, &r) == 1)
			t = r->time_ns;
	}
	return t;
}

/* "spool full: ... ; why" or "" */
static void full_reason(const struct spool_stat *ss,
			const struct drain_stat *ds, char *buf, size_t len)
{
	char used[32], size[32], since[64] = "";
	time_t t;

	if (!ds->spool_full) {
		*buf = 0;
		return;
	}
	human_bytes(ss->slot_used, used, sizeof(used));
	human_bytes(ss->size, size, sizeof(size));
	t = ss->ship_since_ns / 1000000000ull;
	strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
	if (ss->ack_mode == SPOOL_ACK_NONE)
		snprintf(buf, len,
			 "spool full: %s of %s unacknowledged; nothing ships it (ship = none)",
			 used, size);
	else if (!ss->ship_ok)
		snprintf(buf, len,
			 "spool full: %s of %s unacknowledged; server unreachable since %s%s%s",
			 used, size, since, ss->ship_msg[0] ? ": " : "",
			 ss->ship_msg);
	else
		snprintf(buf, len,
			 "spool full: %s of %s unacknowledged; server slower than the changes",
			 used, size);
}

/* What both status forms report, taken once. */
struct snap {
	struct spool_stat ss;
	struct drain_stat ds;
	char why[256];		/* full_reason() */
	uint64_t now, oldest;
};

static void take_snap(struct ferryd *fd, struct snap *sn)
{
	spool_get_stat(fd->sp, &sn->ss);
	drain_get_stat(&fd->dr, &sn->ds);
	full_reason(&sn->ss, &sn->ds, sn->why, sizeof(sn->why));
	sn->now = real_ns();
	sn->oldest = oldest_change_ns(fd, &sn->ss, &sn->ds);
}

/* "1:02:03" or "0:42" */
static void human_time(uint64_t s, char *buf, size_t len)
{
	if (s >= 3600)
		snprintf(buf, len, "%llu:%02llu:%02llu",
			 (unsigned long long)(s / 3600),
			 (unsigned long long)(s / 60 % 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, len, "%llu:%02llu", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
}

/*
 * What re-reading does for disk kid, one line: "initial copy 37% 120.0
 * MiB/s ETA 0:42", "resync (bitmap) ...", "hash-compare ...", or "" when
 * idle.  Returns true when something is going on.
 */
static bool resync_line(struct ferryd *fd, uint32_t kid, char *buf,
			size_t len)
{
	struct resync_disk_stat rs;
	struct hashcmp_stat hs;
	char rate[32], eta[32] = "?";

	*buf = 0;
	hashcmp_get_stat(fd, &hs);
	if (hs.active && hs.kid == kid) {
		snprintf(buf, len, "hash-compare %.0f%%, %llu bytes differ: %.100s",
			 hs.disk_bytes ? 100.0 * hs.compared / hs.disk_bytes : 0.0,
			 (unsigned long long)hs.differing, hs.msg);
		return true;
	}
	if (!fd->rsync || resync_get_stat(fd->rsync, kid, &rs) || !rs.active)
		return false;
	human_bytes(rs.rate, rate, sizeof(rate));
	if (rs.eta_s)
		human_time(rs.eta_s, eta, sizeof(eta));
	if (rs.initial)
		snprintf(buf, len, "initial copy %.0f%% %s/s ETA %s",
			 rs.disk_bytes ? 100.0 * rs.initial_offset /
			 rs.disk_bytes : 0.0, rate, eta);
	else
		snprintf(buf, len, "resync (%s) %.0f%% of %llu bytes %s/s ETA %s",
			 resync_reason_name(rs.why), rs.pass_bytes ?
			 100.0 * rs.pass_done / rs.pass_bytes : 0.0,
			 (unsigned long long)rs.pass_bytes, rate, eta);
	if (rs.error[0])
		snprintf(buf + strlen(buf), len - strlen(buf),
			 "; last read error: %s", rs.error);
	return true;
}

/* Why the disk is not in data mode or needs re-reading, or "". */
static const char *mode_reason(const struct ferry_stats *ks)
{
	if (ks->state & FERRY_DISK_RESYNC)
		return "writes were lost to tracking: hash-compare needed";
	if (ks->mode == FERRY_MODE_BITMAP)
		return "ring and metadata room full: writes only set dirty bits";
	if (ks->mode == FERRY_MODE_METADATA)
		return "ring full: writes recorded without their data";
	if (ks->dirty_bits)
		return "dirty bits waiting to be fetched";
	return "";
}

static int status_human(struct ferryd *fd, FILE *f)
{
	struct snap sn;
	struct ferry_stats ks;
	char a[32], b[32], line[320];
	int attention = 0;
	unsigned int i;

	take_snap(fd, &sn);
	fprintf(f, "ferryd: running, pid %d, up %llus; ship = %s\n", getpid(),
		(unsigned long long)((sn.now - fd->started_ns) / 1000000000ull),
		spool_ack_mode_name(sn.ss.ack_mode));
	fprintf(f, "io: %s\n", sn.ds.io);
	human_bytes(sn.ss.used, a, sizeof(a));
	human_bytes(sn.ss.size, b, sizeof(b));
	fprintf(f, "spool %s: %s of %s unacknowledged (%u of %u slots)\n",
		fd->conf.spool_dir, a, b, sn.ss.sealed, sn.ss.nr_slots);
	if (sn.why[0]) {
		fprintf(f, "%s\n", sn.why);
		attention = 1;
	}
	if (sn.oldest)
		fprintf(f, "oldest unshipped change: %.1f s ago\n",
			sn.now > sn.oldest ? (sn.now - sn.oldest) / 1e9 : 0.0);
	else
		fprintf(f, "oldest unshipped change: none\n");
	human_bytes(rate_bytes.per_s, a, sizeof(a));
	human_bytes(sn.ds.bytes, b, sizeof(b));
	fprintf(f, "drained: %llu records, %s in %llu segments; now %s/s, %.0f records/s\n",
		(unsigned long long)sn.ds.records, b,
		(unsigned long long)sn.ds.segments, a, rate_recs.per_s);
	fprintf(f, "\n%-32s %-4s %-13s %-8s %-14s %-10s %s\n", "DISK", "ID",
		"STATE", "MODE", "RING", "DROPS", "WRITES");
	pthread_mutex_lock(&fd->dv.lock);
	for (i = 0; i < fd->dv.nr_disks; i++) {
		struct dev_disk *dd = &fd->dv.disks[i];
		char fill[64];

		if (dev_stats(&fd->dv, dd->kid, &ks)) {
			fprintf(f, "%-32s %-4u %s\n", dd->spec, dd->kid,
				"(no statistics: detached?)");
			attention = 1;
			continue;
		}
		if ((ks.state & (FERRY_DISK_RESYNC | FERRY_DISK_GONE)) ||
		    ks.mode != FERRY_MODE_DATA)
			attention = 1;
		human_bytes(ks.ring_size, b, sizeof(b));
		snprintf(fill, sizeof(fill), "%.0f%% of %.20s", ks.ring_size ?
			 100.0 * ks.ring_used / ks.ring_size : 0.0, b);
		human_bytes(rate_disk[i].per_s, a, sizeof(a));
		fprintf(f, "%-32s %-4u %-13s %-8s %-14s %-10llu %s/s\n",
			dd->spec, dd->kid, state_name(ks.state),
			mode_name(ks.mode), fill,
			(unsigned long long)ks.drops, a);
		fprintf(f, "  /dev/%s %s, %u spool extents excluded\n",
			dd->id.name, dd->id.ident, dd->nr_excluded);
		fprintf(f, "  mode %s: %llu to metadata, %llu to bitmap, %llu records without data, %llu dirty bits of %llu bytes%s%s\n",
			mode_name(ks.mode),
			(unsigned long long)ks.to_metadata,
			(unsigned long long)ks.to_bitmap,
			(unsigned long long)ks.nodata_records,
			(unsigned long long)ks.dirty_bits,
			(unsigned long long)ks.bitmap_granule,
			*mode_reason(&ks) ? ": " : "", mode_reason(&ks));
		/* re-reading is normal work: no attention on its own */
		if (resync_line(fd, dd->kid, line, sizeof(line)))
			fprintf(f, "  %s\n", line);
	}
	if (sn.ds.window)
		fprintf(f, "resync window open: segments are flagged, the server offers no recovery point (%llu records without data, %llu re-read records so far)\n",
			(unsigned long long)sn.ds.metadata_records,
			(unsigned long long)sn.ds.resync_records);
	pthread_mutex_unlock(&fd->dv.lock);
	return attention ? CTL_EXIT_ATTENTION : CTL_EXIT_OK;
}

/* Shipping counters and lag, when this ferryd ships (ship.c). */
static void ship_json(FILE *f)
{
#ifdef HAVE_SHIP
	static struct ship_stats st;	/* large: the lag histogram */

	ship_get_stats(&st);
	fprintf(f, "\"ship_stats\":{\"segments\":%llu,\"duplicates\":%llu,\"bytes\":%llu,\"failures\":%llu,\"lag_p50_ms\":%llu,\"lag_p99_ms\":%llu,\"lag_max_ms\":%llu},",
		(unsigned long long)st.segments,
		(unsigned long long)st.duplicates,
		(unsigned long long)st.bytes, (unsigned long long)st.failures,
		(unsigned long long)ship_lag_quantile_ms(&st, 0.5),
		(unsigned long long)ship_lag_quantile_ms(&st, 0.99),
		(unsigned long long)st.lag_max_ms);
#else
	(void)f;
#endif
}

/* The disk's degraded-mode counters and re-read state, JSON members. */
static void resync_json(struct ferryd *fd, uint32_t kid,
			const struct ferry_stats *ks, FILE *f)
{
	struct resync_disk_stat rs;
	char line[320];
	int i;

	fprintf(f, ",\"to_metadata\":%llu,\"to_bitmap\":%llu,\"nodata_records\":%llu,\"dirty_bits\":%llu,\"bitmap_granule\":%llu,\"mode_reason\":",
		(unsigned long long)ks->to_metadata,
		(unsigned long long)ks->to_bitmap,
		(unsigned long long)ks->nodata_records,
		(unsigned long long)ks->dirty_bits,
		(unsigned long long)ks->bitmap_granule);
	json_str(f, mode_reason(ks));
	resync_line(fd, kid, line, sizeof(line));
	fprintf(f, ",\"resync_status\":");
	json_str(f, line);
	if (!fd->rsync || resync_get_stat(fd->rsync, kid, &rs))
		return;
	fprintf(f, ",\"resync\":{\"active\":%s,\"why\":\"%s\",\"pass_bytes\":%llu,\"pass_done\":%llu,\"rate\":%.0f,\"eta_s\":%llu,\"queued\":%llu,\"initial\":%s,\"initial_done\":%s,\"initial_offset\":%llu,\"disk_bytes\":%llu,\"data_bytes\":%llu,\"zero_bytes\":%llu,\"read_errors\":%llu,\"bytes\":{",
		rs.active ? "true" : "false", resync_reason_name(rs.why),
		(unsigned long long)rs.pass_bytes,
		(unsigned long long)rs.pass_done, rs.rate,
		(unsigned long long)rs.eta_s, (unsigned long long)rs.queued,
		rs.initial ? "true" : "false",
		rs.initial_done ? "true" : "false",
		(unsigned long long)rs.initial_offset,
		(unsigned long long)rs.disk_bytes,
		(unsigned long long)rs.data_bytes,
		(unsigned long long)rs.zero_bytes,
		(unsigned long long)rs.read_errors);
	for (i = 0; i < RESYNC_NR_REASONS; i++)
		fprintf(f, "%s\"%s\":%llu", i ? "," : "",
			resync_reason_name(i), (unsigned long long)rs.bytes[i]);
	fprintf(f, "},\"error\":");
	json_str(f, rs.error);
	fputc('}', f);
}

static int status_json(struct ferryd *fd, FILE *f)
{
	struct snap sn;
	struct ferry_stats ks;
	int attention = 0;
	unsigned int i;

	take_snap(fd, &sn);
	attention = sn.ds.spool_full;
	fprintf(f, "{\"pid\":%d,\"uptime_s\":%llu,\"ship\":\"%s\",\"io\":",
		getpid(),
		(unsigned long long)((sn.now - fd->started_ns) / 1000000000ull),
		spool_ack_mode_name(sn.ss.ack_mode));
	json_str(f, sn.ds.io);
	fprintf(f, ",\"spool\":{\"dir\":");
	json_str(f, fd->conf.spool_dir);
	fprintf(f, ",\"size\":%llu,\"used\":%llu,\"slots\":%u,\"sealed\":%u,\"full\":%s,\"full_reason\":",
		(unsigned long long)sn.ss.size, (unsigned long long)sn.ss.used,
		sn.ss.nr_slots, sn.ss.sealed, sn.ds.spool_full ? "true" : "false");
	json_str(f, sn.why);
	fprintf(f, ",\"ship_ok\":%s,\"ship_since_ns\":%llu,\"ship_msg\":",
		sn.ss.ship_ok ? "true" : "false",
		(unsigned long long)sn.ss.ship_since_ns);
	json_str(f, sn.ss.ship_msg);
	fprintf(f, ",\"end_seq\":%llu},", (unsigned long long)sn.ss.end_seq);
	fprintf(f, "\"oldest_unshipped_age_s\":%.3f,",
		sn.oldest && sn.now > sn.oldest ? (sn.now - sn.oldest) / 1e9 : 0.0);
	fprintf(f, "\"drain\":{\"records\":%llu,\"bytes\":%llu,\"segments\":%llu,\"segment_bytes\":%llu,\"bytes_per_s\":%.0f,\"records_per_s\":%.0f,\"ring_pos\":%llu,\"ring_consumed\":%llu,\"full_waits\":%llu,\"resync_window\":%s,\"windows\":%llu,\"metadata_records\":%llu,\"resync_records\":%llu},",
		(unsigned long long)sn.ds.records, (unsigned long long)sn.ds.bytes,
		(unsigned long long)sn.ds.segments,
		(unsigned long long)sn.ds.seg_bytes, rate_bytes.per_s,
		rate_recs.per_s, (unsigned long long)sn.ds.pos,
		(unsigned long long)sn.ds.consumed,
		(unsigned long long)sn.ds.full_waits,
		sn.ds.window ? "true" : "false",
		(unsigned long long)sn.ds.windows,
		(unsigned long long)sn.ds.metadata_records,
		(unsigned long long)sn.ds.resync_records);
	ship_json(f);
	fprintf(f, "\"disks\":[");
	pthread_mutex_lock(&fd->dv.lock);
	for (i = 0; i < fd->dv.nr_disks; i++) {
		struct dev_disk *dd = &fd->dv.disks[i];

		if (dev_stats(&fd->dv, dd->kid, &ks))
			memset(&ks, 0, sizeof(ks));
		if ((ks.state & (FERRY_DISK_RESYNC | FERRY_DISK_GONE)) ||
		    !(ks.state & FERRY_DISK_ATTACHED) ||
		    ks.mode != FERRY_MODE_DATA)
			attention = 1;
		fprintf(f, "%s{\"disk\":", i ? "," : "");
		json_str(f, dd->spec);
		fprintf(f, ",\"device\":\"/dev/%s\",\"ident\":", dd->id.name);
		json_str(f, dd->id.ident);
		fprintf(f, ",\"id\":%u,\"state\":\"%s\",\"mode\":\"%s\",\"ring_used\":%llu,\"ring_size\":%llu,\"records\":%llu,\"bytes\":%llu,\"drops\":%llu,\"drop_bytes\":%llu,\"errors\":%llu,\"mode_changes\":%llu,\"write_bytes_per_s\":%.0f,\"spool_extents_excluded\":%u",
			dd->kid, state_name(ks.state), mode_name(ks.mode),
			(unsigned long long)ks.ring_used,
			(unsigned long long)ks.ring_size,
			(unsigned long long)ks.records,
			(unsigned long long)ks.bytes,
			(unsigned long long)ks.drops,
			(unsigned long long)ks.drop_bytes,
			(unsigned long long)ks.errors,
			(unsigned long long)ks.mode_changes, rate_disk[i].per_s,
			dd->nr_excluded);
		resync_json(fd, dd->kid, &ks, f);
		fputc('}', f);
	}
	pthread_mutex_unlock(&fd->dv.lock);
	fprintf(f, "]}\n");
	return attention ? CTL_EXIT_ATTENTION : CTL_EXIT_OK;
}

static int handle(struct ferryd *fd, char *req, FILE *f)
{
	char why[512];
	int r;

	if (!strcmp(req, "status"))
		return status_human(fd, f);
	if (!strcmp(req, "status json"))
		return status_json(fd, f);
	if (!strncmp(req, "resync ", 7))
		return hashcmp_ctl(fd, req + 7, f);
	if (!strncmp(req, "attach ", 7) || !strncmp(req, "detach ", 7)) {
		bool attach = req[0] == 'a';

		r = attach ? dev_attach(&fd->dv, req + 7, why, sizeof(why)) :
			     dev_detach(&fd->dv, req + 7, why, sizeof(why));
		if (r) {
			fprintf(f, "ferryd: %s\n", why);
			return CTL_EXIT_ERROR;
		}
		fprintf(f, "%s %s\n", attach ? "attached" : "detached", req + 7);
		return CTL_EXIT_OK;
	}
	fprintf(f, "ferryd: unknown request '%.60s'\n", req);
	return CTL_EXIT_USAGE;
}

static void serve(struct ferryd *fd, int c)
{
	struct timeval tv = { .tv_sec = 2 };
	char req[512], *body = NULL, *nl;
	size_t blen = 0;
	ssize_t n;
	FILE *f;
	int code;

	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	n = recv(c, req, sizeof(req) - 1, 0);
	if (n <= 0)
		return;
	req[n] = 0;
	nl = strchr(req, '\n');
	if (nl)
		*nl = 0;
	f = open_memstream(&body, &blen);
	if (!f)
		return;
	code = handle(fd, req, f);
	fclose(f);
	dprintf(c, "%d\n", code);
	if (send(c, body, blen, MSG_NOSIGNAL) < 0) {
		/* ferryctl went away: nothing to tell it */
	}
	free(body);
}

static void *ctl_main(void *arg)
{
	struct ferryd *fd = arg;
	struct pollfd pfd = { .fd = fd->ctl_fd, .events = POLLIN };
	uint64_t last = 0;

	while (!fd->stop) {
		uint64_t now = real_ns();
		int c;

		if (now - last >= 1000000000ull) {
			sample(fd);
			last = now;
		}
		if (poll(&pfd, 1, 250) <= 0)
			continue;
		c = accept4(fd->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve(fd, c);
		close(c);
	}
	return NULL;
}

int ctl_start(struct ferryd *fd, char *why, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int r;

	r = ferry_mkdir_p(fd->conf.run_dir, 0700);
	if (r) {
		snprintf(why, len, "%s: %s", fd->conf.run_dir, strerror(-r));
		return r;
	}
	snprintf(fd->ctl_path, sizeof(fd->ctl_path), "%s/ferryd.sock",
		 fd->conf.run_dir);
	if (strlen(fd->ctl_path) >= sizeof(sa.sun_path)) {
		snprintf(why, len, "%s: path too long for a socket",
			 fd->ctl_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, fd->ctl_path);
	fd->ctl_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd->ctl_fd < 0)
		return -errno;
	unlink(fd->ctl_path);
	if (bind(fd->ctl_fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(fd->ctl_path, 0600) || listen(fd->ctl_fd, 8)) {
		r = -errno;
		snprintf(why, len, "%s: %s", fd->ctl_path, strerror(errno));
		close(fd->ctl_fd);
		fd->ctl_fd = -1;
		return r;
	}
	r = pthread_create(&ctl_thread, NULL, ctl_main, fd);
	if (r) {
		close(fd->ctl_fd);
		fd->ctl_fd = -1;
		return -r;
	}
	return 0;
}

void ctl_stop(struct ferryd *fd)
{
	if (fd->ctl_fd < 0)
		return;
	pthread_join(ctl_thread, NULL);
	close(fd->ctl_fd);
	unlink(fd->ctl_path);
	fd->ctl_fd = -1;
}
