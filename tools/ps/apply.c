// SPDX-License-Identifier: GPL-2.0
/*
 * The applier: one thread that applies acknowledged segments of every
 * machine, in stream order, to its replica images, records recovery points
 * and enforces the retention window.
 *
 * Per segment: replay into disks/<disk>/replica.img, fdatasync the images,
 * append the segment's points (fsync), then save state (applied cursor).
 * A crash between those steps replays the segment again (idempotent) and
 * skips points already written (their seq is <= last_point_seq).
 *
 * Points: every consistency tag; and a crash-consistent point at the end
 * of a segment when the last point is point_interval_s old (source time)
 * and the segment carries no metadata-only or resync data.
 *
 * Resync window: open while the last applied segment carries
 * HRL_SEG_RESYNC (persisted with the state, so it survives a restart).
 * Such a segment is not write-order consistent, so no point is made inside
 * it or at its end: a tag there is logged as refused.  The window opens at
 * the start_seq of the first flagged segment and closes at the start_seq
 * of the next unflagged one.
 *
 * Resync accounting: hrl_apply_record() counts the resync chunks it
 * receives and the 4 KiB blocks that differed from the replica; the
 * counts of a segment are added to the persisted totals with its state.
 *
 * Retention: points older than retention_s are dropped; segments that end
 * at or before the oldest kept point are folded into base.img and deleted.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "replay.h"

struct apply_ctx {
	struct ps_machine *m;
	const struct ps_seg *seg;
	struct ps_point pts[64];
	int npts;
};

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
}

static int on_record(struct replay *rp, const struct hrl_rec *rec,
		     const void *payload)
{
	struct apply_ctx *ax = rp->arg;
	struct ps_state *st = &ax->m->st;
	struct hrl_tag tag;
	struct ps_point *p;

	if (rec->kind != HRL_TAG || ax->npts == 64)
		return 0;
	if (rec->seq < st->last_point_seq ||
	    hrl_tag_decode(payload, rec->payload_len, &tag))
		return 0;
	if (rp->seg_flags & HRL_SEG_RESYNC) {
		ps_log("machine %s: tag %s at seq %" PRIu64 " refused: resync "
		       "window open since seq %" PRIu64 " (%s)", ax->m->id,
		       tag.name, rec->seq, st->resync_open ? st->resync_open_seq :
		       ax->seg->start, ax->seg->name);
		return 0;
	}
	p = &ax->pts[ax->npts++];
	memset(p, 0, sizeof(*p));
	p->seq = rec->seq;
	p->time_ns = rec->time_ns;
	p->kind = PS_POINT_TAG;
	snprintf(p->tag, sizeof(p->tag), "%s", tag.name);
	return 0;
}

/*
 * closed: this segment closed a resync window.  The replica is write-order
 * consistent again at its end, so a point is made there at once, even for
 * the empty segment an agent closes a window with (time: its header's).
 */
static int save_points(struct ps_server *srv, struct apply_ctx *ax,
		       struct replay *rp, const struct ps_seg *seg, bool closed)
{
	struct ps_machine *m = ax->m;
	struct ps_state *st = &m->st;
	uint64_t t = rp->last_time_ns ? rp->last_time_ns : rp->seg_created_ns;
	bool due = closed || (rp->last_time_ns && rp->last_time_ns >=
			      st->last_point_ns +
			      srv->policy.point_interval_s * 1000000000ull);
	int i, ret;

	if (!rp->inconsistent && !st->resync_open &&
	    seg->end > st->last_point_seq && ax->npts < 64 && t && due) {
		struct ps_point *p = &ax->pts[ax->npts++];

		memset(p, 0, sizeof(*p));
		p->seq = seg->end;
		p->time_ns = t;
		p->kind = PS_POINT_CRASH;
	}
	for (i = 0; i < ax->npts; i++) {
		ax->pts[i].id = ++st->next_point_id;
		ret = ps_point_append(m, &ax->pts[i]);
		if (ret)
			return ret;
		st->last_point_seq = ax->pts[i].seq;
		if (ax->pts[i].time_ns > st->last_point_ns)
			st->last_point_ns = ax->pts[i].time_ns;
	}
	return 0;
}

/*
 * The window follows the flag of the segment just applied; true when this
 * segment closed it.  Under m->lock.
 */
static bool window_update(struct ps_machine *m, const struct ps_seg *seg,
			  bool flagged)
{
	struct ps_state *st = &m->st;

	if (flagged && !st->resync_open) {
		st->resync_open = true;
		st->resync_open_seq = seg->start;
		st->resync_windows++;
		ps_log("machine %s: resync window opened at seq %" PRIu64
		       " (%s): no recovery point until it closes", m->id,
		       seg->start, seg->name);
	} else if (!flagged && st->resync_open) {
		st->resync_open = false;
		st->resync_close_seq = seg->start;
		ps_log("machine %s: resync window closed at seq %" PRIu64
		       " (open since seq %" PRIu64 "; %s)", m->id, seg->start,
		       st->resync_open_seq, seg->name);
		return true;
	}
	return false;
}

/*
 * Add the segment's resync counts to the totals, and say how many ranges
 * the stream could not give (metadata-only records, resync chunks older
 * than the replica).  Under m->lock.
 */
static void count_resync(struct ps_machine *m, const struct ps_seg *seg,
			 const struct hrl_apply *a)
{
	struct ps_state *st = &m->st;

	st->resync_bytes += a->resync_bytes;
	st->resync_data_bytes += a->resync_data_bytes;
	st->resync_zero_bytes += a->resync_zero_bytes;
	st->resync_diff_bytes += a->resync_diff_bytes;
	if (a->resync_bytes)
		ps_log("machine %s: resync: %" PRIu64 " bytes received, %"
		       PRIu64 " in blocks that differed (totals %" PRIu64
		       ", %" PRIu64 ")", m->id,
		       a->resync_bytes, a->resync_diff_bytes, st->resync_bytes,
		       st->resync_diff_bytes);
	if (a->dirtied)
		ps_log("machine %s: %s: %" PRIu64 " ranges not in the stream "
		       "(metadata-only, or resync chunks older than the "
		       "replica): the agent re-reads them", m->id, seg->name,
		       a->dirtied);
}

static int apply_one(struct ps_server *srv, struct ps_machine *m,
		     struct replay *rp, const struct ps_seg *seg)
{
	struct apply_ctx ax = { .m = m, .seg = seg };
	char err[512];
	bool closed;
	int ret;

	rp->on_record = on_record;
	rp->arg = &ax;
	rp->inconsistent = false;
	rp->last_time_ns = 0;
	rp->seg_flags = 0;
	rp->seg_created_ns = 0;
	rp->a.resync_bytes = rp->a.resync_data_bytes = 0;
	rp->a.resync_zero_bytes = rp->a.resync_diff_bytes = 0;
	rp->a.dirtied = 0;
	pthread_mutex_lock(&m->apply_lock);
	ret = replay_segment(rp, seg, err, sizeof(err));
	if (!ret)
		ret = replay_sync(rp);
	m->replica_pos = rp->a.pos;
	pthread_mutex_unlock(&m->apply_lock);
	if (ret) {
		ps_log("machine %s: apply stopped: %s", m->id,
		       err[0] ? err : strerror(-ret));
		return ret;
	}
	pthread_mutex_lock(&m->lock);
	closed = window_update(m, seg, rp->seg_flags & HRL_SEG_RESYNC);
	count_resync(m, seg, &rp->a);
	pthread_mutex_unlock(&m->lock);
	ret = save_points(srv, &ax, rp, seg, closed);
	pthread_mutex_lock(&m->lock);
	m->st.applied_pos = rp->a.pos;
	m->st.have_applied = true;
	snprintf(m->st.applied_seg, sizeof(m->st.applied_seg), "%s",
		 seg->name + strlen("segments/"));
	if (!m->st.have_base) {
		m->st.base_pos = seg->start;
		m->st.have_base = true;
	}
	pthread_mutex_unlock(&m->lock);
	return ret ? ret : ps_state_save(m);
}

/* Is seg after the applied cursor in stream order? */
static bool after_cursor(const struct ps_state *st, const struct ps_seg *seg)
{
	struct ps_seg cur;

	if (!st->applied_seg[0] || !ps_seg_parse(st->applied_seg, &cur))
		return true;
	return ps_seg_cmp(seg, &cur) > 0;
}

/* Apply the queued segments in order; stop at the first failure. */
static void apply_machine(struct ps_server *srv, struct ps_machine *m)
{
	struct replay rp;
	struct ps_seg seg;

	replay_init(&rp, m, "replica.img");
	rp.a.pos = m->st.applied_pos;
	rp.a.have_pos = m->st.have_applied;
	while (!srv->stopping) {
		pthread_mutex_lock(&m->lock);
		if (!m->npending) {
			pthread_mutex_unlock(&m->lock);
			break;
		}
		seg = m->pending[0];
		pthread_mutex_unlock(&m->lock);
		if (apply_one(srv, m, &rp, &seg))
			break;
		pthread_mutex_lock(&m->lock);
		memmove(m->pending, m->pending + 1,
			--m->npending * sizeof(*m->pending));
		pthread_mutex_unlock(&m->lock);
	}
	replay_close(&rp);
}

/* Fold segments that end at or before the oldest kept point into base. */
static void retire(struct ps_server *srv, struct ps_machine *m)
{
	uint64_t horizon = now_ns() - srv->policy.retention_s * 1000000000ull;
	struct ps_point *pts;
	struct ps_seg *segs;
	struct replay rp;
	size_t np, ns, i, keep;
	char err[512];

	if (ps_points_load(m, &pts, &np))
		return;
	for (keep = 0; keep < np && pts[keep].time_ns < horizon; keep++)
		;
	if (keep == 0 || keep == np || ps_seg_list(m, &segs, &ns)) {
		free(pts);
		return;
	}
	replay_init(&rp, m, "base.img");
	rp.a.pos = m->st.base_pos;
	rp.a.have_pos = m->st.have_base;
	for (i = 0; i < ns && segs[i].end <= pts[keep].seq &&
	     after_cursor(&m->st, &segs[i]) == false; i++) {
		if (replay_segment(&rp, &segs[i], err, sizeof(err)) ||
		    replay_sync(&rp)) {
			ps_log("machine %s: retire: %s", m->id, err);
			break;
		}
		m->st.base_pos = rp.a.pos;
		m->st.have_base = true;
		if (ps_state_save(m) || unlinkat(m->dirfd, segs[i].name, 0))
			break;
	}
	replay_close(&rp);
	if (i)
		ps_points_rewrite(m, pts + keep, np - keep);
	free(segs);
	free(pts);
}

static void *applier_main(void *arg)
{
	struct ps_server *srv = arg;
	struct timespec until;

	pthread_mutex_lock(&srv->apply_lock);
	while (!srv->stopping) {
		struct ps_machine *m, *list;

		srv->apply_kick = false;
		pthread_mutex_unlock(&srv->apply_lock);
		pthread_mutex_lock(&srv->lock);
		list = srv->machines;
		pthread_mutex_unlock(&srv->lock);
		/* machines are only ever prepended: the snapshot stays valid */
		for (m = list; m; m = m->next) {
			apply_machine(srv, m);
			retire(srv, m);
		}
		pthread_mutex_lock(&srv->apply_lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 5;
		while (!srv->apply_kick && !srv->stopping &&
		       pthread_cond_timedwait(&srv->apply_cond, &srv->apply_lock,
					      &until) == 0)
			;
	}
	pthread_mutex_unlock(&srv->apply_lock);
	return NULL;
}

void ps_applier_kick(struct ps_server *srv)
{
	pthread_mutex_lock(&srv->apply_lock);
	srv->apply_kick = true;
	pthread_cond_signal(&srv->apply_cond);
	pthread_mutex_unlock(&srv->apply_lock);
}

int ps_applier_start(struct ps_server *srv)
{
	return -pthread_create(&srv->applier, NULL, applier_main, srv);
}

void ps_applier_stop(struct ps_server *srv)
{
	pthread_mutex_lock(&srv->apply_lock);
	srv->stopping = true;
	pthread_cond_signal(&srv->apply_cond);
	pthread_mutex_unlock(&srv->apply_lock);
	pthread_join(srv->applier, NULL);
}
