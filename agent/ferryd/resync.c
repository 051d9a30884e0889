// SPDX-License-Identifier: GPL-2.0
/*
 * resync: the queue of ranges to re-read, the initial copy's sweep, and
 * the reads themselves (on the drain's io_uring, or pread(2) without it).
 *
 *   resync_queue()  -->  per disk: ranges (sorted and merged lazily)
 *   initial copy    -->  per disk: sweep [sweep_next, size), ascending
 *         |  resync_issue(): S = next_seq, H = head, then the read
 *         v
 *   slots[qd], a FIFO in start order  --resync_oldest()/resync_added()-->
 *   the drain's open segment  --resync_sealed()-->  sealed: statistics,
 *   the initial copy's persisted offset, "done"
 *
 * A disk's turns alternate between its queue and its sweep, so neither
 * starves the other; disks take turns.  Ranges are widened to 4 KiB
 * (O_DIRECT and zero detection work on 4 KiB blocks): reading more than
 * was dirty is harmless, the S rule holds for any range.
 *
 * lock protects everything but the chunk buffers, which only the drain
 * thread touches between resync_issue() and resync_added().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <liburing.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ferry/fs.h>

#include "resync.h"

#define RS_BLOCK	4096u
#define RS_MAX_DISKS	64
#define SAVE_EVERY_NS	(1000ull * 1000 * 1000)
#define ERROR_PAUSE_NS	(1000ull * 1000 * 1000)

struct rs_range {
	uint64_t off, end;
	enum resync_reason why;
};

struct rs_disk {
	bool used;
	bool gone;		/* removed; fd closed once no read is left */
	uint32_t kid;
	int fd;
	uint64_t size;
	uint8_t uuid[16];
	char path[200];
	struct rs_range *q;
	size_t nq, capq;
	bool sorted;
	uint64_t cursor;	/* the queue is read upwards from here */
	bool turn_sweep;	/* the sweep's turn next */
	/* initial copy */
	bool sweep;		/* running */
	bool init_done;
	uint64_t sweep_next;	/* next offset to read */
	uint64_t sweep_sealed;	/* [0, sweep_sealed) sealed */
	uint64_t saved_ns;
	unsigned int issued;	/* chunks started, not yet added */
	uint64_t unsealed;	/* chunks added, segment not yet sealed */
	uint64_t pause_until;	/* after a read error */
	struct ferry_extent *excl;	/* sorted: never sent */
	unsigned int nexcl;
	struct resync_disk_stat st;
};

/* A chunk added to segment seg, waiting for it to be sealed. */
struct rs_mark {
	uint64_t seg;
	uint64_t off;
	uint32_t len;
	uint32_t kid;
	bool initial;
};

struct resync {
	pthread_mutex_t lock;
	uint32_t block;
	unsigned int qd;
	char state_dir[200];
	struct rs_disk disks[RS_MAX_DISKS];
	unsigned int rr;	/* next disk to take a turn */
	struct resync_chunk *slots;
	unsigned int first, count;	/* FIFO of started chunks */
	unsigned int reading;
	struct rs_mark *marks;
	size_t nmarks, capmarks;
	bool seal_wanted;	/* an initial copy's last chunk was added */
};

static const char *const reason_names[RESYNC_NR_REASONS] = {
	[RESYNC_INITIAL] = "initial copy",
	[RESYNC_METADATA] = "metadata",
	[RESYNC_BITMAP] = "bitmap",
	[RESYNC_SHUTDOWN] = "shutdown bitmap",
	[RESYNC_HASH] = "hash-compare",
};

const char *resync_reason_name(enum resync_reason why)
{
	return why < RESYNC_NR_REASONS ? reason_names[why] : "?";
}

static uint64_t real_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static struct rs_disk *find(struct resync *rs, uint32_t kid)
{
	unsigned int i;

	for (i = 0; i < RS_MAX_DISKS; i++)
		if (rs->disks[i].used && !rs->disks[i].gone &&
		    rs->disks[i].kid == kid)
			return &rs->disks[i];
	return NULL;
}

/* ---- zero runs ---------------------------------------------------------- */

static bool all_zero(const uint8_t *p, size_t n)
{
	return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

unsigned int resync_split(const void *buf, uint32_t len,
			  struct resync_piece *p, unsigned int max)
{
	const uint8_t *b = buf;
	unsigned int n = 0;
	uint32_t off, blen;
	bool z;

	for (off = 0; off < len; off += blen) {
		blen = len - off < RS_BLOCK ? len - off : RS_BLOCK;
		z = all_zero(b + off, blen);
		if (n && (p[n - 1].zero == z || n == max)) {
			p[n - 1].len += blen;
			if (p[n - 1].zero != z)
				p[n - 1].zero = false;
			continue;
		}
		p[n].off = off;
		p[n].len = blen;
		p[n].zero = z;
		p[n].skip = false;
		n++;
	}
	return n;
}

/*
 * Is [off, off + len) wholly inside an excluded extent (they are sorted and
 * merged)?  A block only partly the spool's (a file system with 1 KiB
 * blocks puts extent ends inside 4 KiB blocks) is sent whole: skipping it
 * would lose the file system's blocks beside the spool.
 */
static bool excluded(const struct rs_disk *d, uint64_t off, uint32_t len)
{
	unsigned int lo = 0, hi = d->nexcl;

	while (lo < hi) {
		unsigned int mid = (lo + hi) / 2;
		const struct ferry_extent *e = &d->excl[mid];

		if (off >= e->offset + e->len)
			lo = mid + 1;
		else if (off + len <= e->offset)
			hi = mid;
		else
			return off >= e->offset &&
			       off + len <= e->offset + e->len;
	}
	return false;
}

/* Pieces by 4 KiB block: excluded blocks become skip pieces. */
static unsigned int split_excl(const struct rs_disk *d,
			       struct resync_chunk *c)
{
	const uint8_t *b = c->buf;
	struct resync_piece *p = c->pieces;
	unsigned int n = 0;
	uint32_t off, blen;
	bool z, k;

	for (off = 0; off < c->len; off += blen) {
		blen = c->len - off < RS_BLOCK ? c->len - off : RS_BLOCK;
		k = excluded(d, c->offset + off, blen);
		z = !k && all_zero(b + off, blen);
		if (n && p[n - 1].zero == z && p[n - 1].skip == k) {
			p[n - 1].len += blen;
			continue;
		}
		p[n++] = (struct resync_piece){ off, blen, z, k };
	}
	return n;
}

/* ---- state file: STATE_DIR/disks/<uuid hex>.state ----------------------- *
 *
 *   path /dev/vdb            size 268435456
 *   initial_copy running|done
 *   initial_offset N         [0, N) of the initial copy is sealed
 *   pending OFF END          (any number) ranges still to re-read when
 *                            ferryd stopped cleanly
 */

static int push_range(struct rs_disk *d, uint64_t off, uint64_t end,
		      enum resync_reason why);
static void normalize(struct rs_disk *d);

static void state_path(const struct resync *rs, const struct rs_disk *d,
		       char *buf, size_t len)
{
	char hex[33];
	int i;

	for (i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", d->uuid[i]);
	snprintf(buf, len, "%s/disks/%s.state", rs->state_dir, hex);
}

/* 1 found (done/offset set), 0 no file, -errno unreadable. */
static int state_load(const struct resync *rs, struct rs_disk *d)
{
	char path[300], line[128], val[32];
	unsigned long long v, e;
	FILE *f;

	state_path(rs, d, path, sizeof(path));
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : -errno;
	d->init_done = false;
	d->sweep_sealed = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "initial_copy %31s", val) == 1)
			d->init_done = !strcmp(val, "done");
		else if (sscanf(line, "initial_offset %llu", &v) == 1)
			d->sweep_sealed = v;
		else if (sscanf(line, "pending %llu %llu", &v, &e) == 2 &&
			 v < e && e <= d->size)
			push_range(d, v, e, RESYNC_SHUTDOWN);
	}
	fclose(f);
	return 1;
}

/* Durably: temporary file, fsync, rename, fsync of the directory. */
static int state_save(const struct resync *rs, const struct rs_disk *d)
{
	char path[300], tmp[310], dir[260];
	int fd, dfd, r = 0;
	size_t i;
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/disks", rs->state_dir);
	r = ferry_mkdir_p(dir, 0700);
	if (r)
		return r;
	state_path(rs, d, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	fprintf(f, "# ferryd: state of one protected disk\n");
	fprintf(f, "path %s\nsize %" PRIu64 "\n", d->path, d->size);
	fprintf(f, "initial_copy %s\ninitial_offset %" PRIu64 "\n",
		d->init_done ? "done" : "running", d->sweep_sealed);
	for (i = 0; i < d->nq; i++)
		fprintf(f, "pending %" PRIu64 " %" PRIu64 "\n", d->q[i].off,
			d->q[i].end);
	if (fflush(f) || fsync(fd))
		r = -errno;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path))
		r = -errno;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		if (!r && fsync(dfd))
			r = -errno;
		close(dfd);
	}
	return r;
}

static void save(struct resync *rs, struct rs_disk *d)
{
	int r;

	if (!rs->state_dir[0])
		return;
	r = state_save(rs, d);
	if (r)
		fprintf(stderr, "ferryd: %s: state file of disk %u: %s (the initial copy's progress is not saved)\n",
			d->path, d->kid, strerror(-r));
	d->saved_ns = mono_ns();
}

/* ---- setup -------------------------------------------------------------- */

int resync_create(struct resync **out, const struct resync_conf *c,
		  char *why, size_t len)
{
	struct resync *rs;
	unsigned int i;

	if (!c->block_size || c->block_size % RS_BLOCK || !c->queue_depth) {
		snprintf(why, len, "resync: block size %u (a multiple of 4096) and queue depth %u (at least 1)",
			 c->block_size, c->queue_depth);
		return -EINVAL;
	}
	rs = calloc(1, sizeof(*rs));
	if (!rs)
		return -ENOMEM;
	pthread_mutex_init(&rs->lock, NULL);
	rs->block = c->block_size;
	rs->qd = c->queue_depth;
	if (c->state_dir)
		snprintf(rs->state_dir, sizeof(rs->state_dir), "%s",
			 c->state_dir);
	rs->slots = calloc(rs->qd, sizeof(*rs->slots));
	if (!rs->slots)
		goto nomem;
	for (i = 0; i < rs->qd; i++) {
		struct resync_chunk *ch = &rs->slots[i];

		ch->slot = i;
		ch->pieces = calloc(rs->block / RS_BLOCK + 1,
				    sizeof(*ch->pieces));
		if (!ch->pieces || posix_memalign(&ch->buf, RS_BLOCK, rs->block))
			goto nomem;
	}
	*out = rs;
	return 0;

nomem:
	resync_destroy(rs);
	snprintf(why, len, "resync: %u buffers of %u bytes: out of memory",
		 c->queue_depth, c->block_size);
	return -ENOMEM;
}

/*
 * A clean stop: what is still to re-read (queued, being read, or in a
 * segment that was not sealed) goes to the state file, so that the next
 * ferryd reads it.  The initial copy resumes from its sealed offset.
 */
static void save_pending(struct resync *rs)
{
	unsigned int i;
	size_t m;

	for (i = 0; i < rs->count; i++) {
		struct resync_chunk *c = &rs->slots[(rs->first + i) % rs->qd];
		struct rs_disk *d = find(rs, c->kid);

		if (d && !c->initial)
			push_range(d, c->offset, c->offset + c->len, c->why);
	}
	for (m = 0; m < rs->nmarks; m++) {
		struct rs_disk *d = find(rs, rs->marks[m].kid);

		if (d && !rs->marks[m].initial)
			push_range(d, rs->marks[m].off,
				   rs->marks[m].off + rs->marks[m].len,
				   RESYNC_SHUTDOWN);
	}
	for (i = 0; i < RS_MAX_DISKS; i++) {
		struct rs_disk *d = &rs->disks[i];

		if (!d->used || d->gone || (!d->nq && !d->sweep))
			continue;
		normalize(d);
		save(rs, d);
	}
}

void resync_destroy(struct resync *rs)
{
	unsigned int i;

	if (!rs)
		return;
	if (rs->state_dir[0])
		save_pending(rs);
	for (i = 0; i < RS_MAX_DISKS; i++) {
		if (rs->disks[i].used && rs->disks[i].fd >= 0)
			close(rs->disks[i].fd);
		free(rs->disks[i].q);
		free(rs->disks[i].excl);
	}
	for (i = 0; rs->slots && i < rs->qd; i++) {
		free(rs->slots[i].buf);
		free(rs->slots[i].pieces);
	}
	free(rs->slots);
	free(rs->marks);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
}

void resync_set_max_block(struct resync *rs, uint32_t max)
{
	max &= ~(RS_BLOCK - 1);
	pthread_mutex_lock(&rs->lock);
	if (max >= RS_BLOCK && rs->block > max)
		rs->block = max;
	pthread_mutex_unlock(&rs->lock);
}

static bool disk_idle(const struct rs_disk *d)
{
	return !d->nq && !(d->sweep && d->sweep_next < d->size) &&
	       !d->issued && !d->unsealed;
}

static void pass_start(struct rs_disk *d, enum resync_reason why)
{
	if (!disk_idle(d))
		return;
	d->st.pass_bytes = d->st.pass_done = 0;
	d->st.pass_started_ns = real_ns();
	d->st.why = why;
}

static void sweep_start(struct rs_disk *d, uint64_t from)
{
	pass_start(d, RESYNC_INITIAL);
	d->sweep = true;
	d->init_done = false;
	d->sweep_next = d->sweep_sealed = from;
	d->st.pass_bytes += d->size - from;
}

static int open_disk(struct rs_disk *d, const char *path, char *why,
		     size_t len)
{
	int fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (fd < 0 && errno == EINVAL)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "resync: open %s: %s", path, strerror(errno));
		return -errno;
	}
	if (d->fd >= 0)
		close(d->fd);
	d->fd = fd;
	return 0;
}

int resync_add_disk(struct resync *rs, uint32_t kid, const char *path,
		    uint64_t size, const uint8_t uuid[16], char *why,
		    size_t len)
{
	struct rs_disk *d;
	unsigned int i;
	int r = 0;

	pthread_mutex_lock(&rs->lock);
	d = find(rs, kid);
	for (i = 0; !d && i < RS_MAX_DISKS; i++) {
		if (!rs->disks[i].used) {
			d = &rs->disks[i];
			memset(d, 0, sizeof(*d));
			d->fd = -1;
			d->used = true;
			d->kid = kid;
		}
	}
	if (!d) {
		pthread_mutex_unlock(&rs->lock);
		snprintf(why, len, "resync: %s: more than %d disks", path,
			 RS_MAX_DISKS);
		return -E2BIG;
	}
	snprintf(d->path, sizeof(d->path), "%s", path);
	d->size = size;
	d->st.kid = kid;
	d->st.disk_bytes = size;
	memcpy(d->uuid, uuid, 16);
	r = open_disk(d, path, why, len);
	if (!r && rs->state_dir[0] && !d->sweep && !d->init_done) {
		r = state_load(rs, d);
		if (r < 0) {
			snprintf(why, len, "resync: state of %s: %s", path,
				 strerror(-r));
		} else if (!r) {
			fprintf(stderr, "ferryd: %s: first protection: initial copy of %" PRIu64 " bytes queued\n",
				path, size);
			sweep_start(d, 0);
			save(rs, d);
		} else if (!d->init_done) {
			if (d->sweep_sealed > size)
				d->sweep_sealed = 0;
			fprintf(stderr, "ferryd: %s: initial copy resumes at %" PRIu64 " of %" PRIu64 " bytes\n",
				path, d->sweep_sealed, size);
			sweep_start(d, d->sweep_sealed);
		}
		r = r < 0 ? r : 0;
	}
	d->st.initial_done = d->init_done;
	if (r) {
		if (d->fd >= 0)
			close(d->fd);
		free(d->q);
		free(d->excl);
		d->excl = NULL;
		d->nexcl = 0;
		d->used = false;
	}
	pthread_mutex_unlock(&rs->lock);
	return r;
}

void resync_remove_disk(struct resync *rs, uint32_t kid)
{
	struct rs_disk *d;

	pthread_mutex_lock(&rs->lock);
	d = find(rs, kid);
	if (d) {
		d->nq = 0;
		d->sweep = false;
		d->gone = true;
		if (!d->issued) {
			close(d->fd);
			free(d->q);
			free(d->excl);
			d->excl = NULL;
			d->nexcl = 0;
			d->q = NULL;
			d->used = false;
		}
	}
	pthread_mutex_unlock(&rs->lock);
}

static int cmp_ext(const void *a, const void *b)
{
	const struct ferry_extent *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int resync_set_exclude(struct resync *rs, uint32_t kid,
		       const struct ferry_extent *ext, unsigned int n)
{
	struct ferry_extent *copy = NULL;
	struct rs_disk *d;

	if (n) {
		copy = malloc(n * sizeof(*copy));
		if (!copy)
			return -ENOMEM;
		memcpy(copy, ext, n * sizeof(*copy));
		qsort(copy, n, sizeof(*copy), cmp_ext);
	}
	pthread_mutex_lock(&rs->lock);
	d = find(rs, kid);
	if (d) {
		free(d->excl);
		d->excl = copy;
		d->nexcl = n;
	}
	pthread_mutex_unlock(&rs->lock);
	if (!d)
		free(copy);
	return d ? 0 : -ENOENT;
}

bool resync_initial_done(struct resync *rs, uint32_t kid)
{
	struct rs_disk *d;
	bool done;

	pthread_mutex_lock(&rs->lock);
	d = find(rs, kid);
	done = d && d->init_done;
	pthread_mutex_unlock(&rs->lock);
	return done;
}

/* ---- the queue ---------------------------------------------------------- */

static int cmp_range(const void *a, const void *b)
{
	const struct rs_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* Sort and merge; what merging added to the queue counts in the pass. */
static void normalize(struct rs_disk *d)
{
	uint64_t total = 0;
	size_t i, n = 0;

	if (d->sorted)
		return;
	qsort(d->q, d->nq, sizeof(*d->q), cmp_range);
	for (i = 0; i < d->nq; i++) {
		if (n && d->q[i].off <= d->q[n - 1].end) {
			if (d->q[i].end > d->q[n - 1].end)
				d->q[n - 1].end = d->q[i].end;
			continue;
		}
		d->q[n++] = d->q[i];
	}
	d->nq = n;
	for (i = 0; i < n; i++)
		total += d->q[i].end - d->q[i].off;
	if (total > d->st.queued)
		d->st.pass_bytes += total - d->st.queued;
	d->st.queued = total;
	d->sorted = true;
}

static int push_range(struct rs_disk *d, uint64_t off, uint64_t end,
		      enum resync_reason why)
{
	if (d->nq == d->capq) {
		size_t cap = d->capq ? 2 * d->capq : 16;
		struct rs_range *q = realloc(d->q, cap * sizeof(*q));

		if (!q)
			return -ENOMEM;
		d->q = q;
		d->capq = cap;
	}
	d->q[d->nq++] = (struct rs_range){ off, end, why };
	d->sorted = false;
	return 0;
}

int resync_queue(struct resync *rs, uint32_t kid, uint64_t offset,
		 uint64_t len, enum resync_reason why)
{
	struct rs_disk *d;
	uint64_t end;
	int r = 0;

	pthread_mutex_lock(&rs->lock);
	d = find(rs, kid);
	if (!d) {
		pthread_mutex_unlock(&rs->lock);
		return -ENOENT;
	}
	end = offset + len < offset || offset + len > d->size ? d->size :
	      offset + len;
	offset &= ~(uint64_t)(RS_BLOCK - 1);
	end = (end + RS_BLOCK - 1) & ~(uint64_t)(RS_BLOCK - 1);
	if (end > d->size)
		end = d->size;
	if (offset < end) {
		pass_start(d, why);
		r = push_range(d, offset, end, why);
		/* bounded memory for a burst of small ranges */
		if (!r && d->nq >= 4096 && d->nq == d->capq)
			normalize(d);
	}
	pthread_mutex_unlock(&rs->lock);
	return r;
}

int resync_queue_disk(struct resync *rs, uint32_t kid, enum resync_reason why)
{
	struct rs_disk *d;

	if (why != RESYNC_INITIAL)
		return resync_queue(rs, kid, 0, UINT64_MAX, why);
	pthread_mutex_lock(&rs->lock);
	d = find(rs, kid);
	if (d) {
		sweep_start(d, 0);
		save(rs, d);
	}
	pthread_mutex_unlock(&rs->lock);
	return d ? 0 : -ENOENT;
}

/* Take up to block bytes from d's queue at or after its cursor. */
static bool take_queued(struct resync *rs, struct rs_disk *d,
			struct resync_chunk *c)
{
	struct rs_range *r;
	uint64_t off, end;
	size_t i;

	normalize(d);
	if (!d->nq)
		return false;
	for (i = 0; i < d->nq && d->q[i].end <= d->cursor; i++)
		;
	if (i == d->nq) {
		i = 0;		/* wrap around: a new sweep of the queue */
		d->cursor = 0;
	}
	r = &d->q[i];
	off = r->off > d->cursor ? r->off : d->cursor;
	end = r->end - off > rs->block ? off + rs->block : r->end;
	c->offset = off;
	c->len = end - off;
	c->why = r->why;
	c->initial = false;
	if (off > r->off && end < r->end) {
		/* from the middle: keep both sides */
		struct rs_range tail = { end, r->end, r->why };

		r->end = off;
		if (push_range(d, tail.off, tail.end, tail.why))
			r->end = tail.end;	/* no memory: read it again */
		normalize(d);
	} else if (off > r->off) {
		r->end = off;
	} else if (end < r->end) {
		r->off = end;
	} else {
		memmove(r, r + 1, (d->nq - i - 1) * sizeof(*r));
		d->nq--;
	}
	d->st.queued -= c->len;
	d->cursor = end;
	return true;
}

static bool take_sweep(struct resync *rs, struct rs_disk *d,
		       struct resync_chunk *c)
{
	if (!d->sweep || d->sweep_next >= d->size)
		return false;
	c->offset = d->sweep_next;
	c->len = d->size - c->offset > rs->block ? rs->block :
		 d->size - c->offset;
	c->why = RESYNC_INITIAL;
	c->initial = true;
	d->sweep_next += c->len;
	return true;
}

/* The next range to read, disks and their queue/sweep taking turns. */
static bool take(struct resync *rs, struct resync_chunk *c)
{
	uint64_t now = 0;
	unsigned int i;

	for (i = 0; i < RS_MAX_DISKS; i++) {
		struct rs_disk *d = &rs->disks[(rs->rr + i) % RS_MAX_DISKS];
		bool got;

		if (!d->used || d->gone)
			continue;
		if (d->pause_until) {
			if (!now)
				now = mono_ns();
			if (now < d->pause_until)
				continue;
			d->pause_until = 0;
		}
		if (d->turn_sweep)
			got = take_sweep(rs, d, c) || take_queued(rs, d, c);
		else
			got = take_queued(rs, d, c) || take_sweep(rs, d, c);
		if (!got)
			continue;
		d->turn_sweep = !c->initial;
		c->kid = d->kid;
		d->issued++;
		rs->rr = (rs->rr + i + 1) % RS_MAX_DISKS;
		return true;
	}
	return false;
}

/* ---- reads -------------------------------------------------------------- */

static void finish_read(struct resync *rs, struct resync_chunk *c, int res)
{
	struct rs_disk *d;

	c->res = res >= 0 && (uint32_t)res != c->len ? -EIO : res;
	c->time_ns = real_ns();
	c->added = 0;
	c->nr_pieces = 0;
	if (c->res > 0) {
		pthread_mutex_lock(&rs->lock);
		d = find(rs, c->kid);
		if (d && d->nexcl)
			c->nr_pieces = split_excl(d, c);
		else
			c->nr_pieces = resync_split(c->buf, c->len, c->pieces,
						    c->len / RS_BLOCK + 1);
		pthread_mutex_unlock(&rs->lock);
	}
	c->done = true;
}

int resync_issue(struct resync *rs, const struct ferry_ring_hdr *hdr,
		 struct io_uring *uring, uint64_t ud_base)
{
	struct resync_chunk *c;
	struct io_uring_sqe *sqe;
	int n = 0, fd;

	pthread_mutex_lock(&rs->lock);
	while (rs->count < rs->qd) {
		c = &rs->slots[(rs->first + rs->count) % rs->qd];
		if (uring && !io_uring_sq_space_left(uring))
			break;
		if (!take(rs, c))
			break;
		rs->count++;
		c->done = false;
		c->res = 0;
		/* the order of these two loads is the whole rule */
		c->seq = __atomic_load_n(&hdr->next_seq, __ATOMIC_ACQUIRE);
		c->head = __atomic_load_n(&hdr->head, __ATOMIC_ACQUIRE);
		fd = find(rs, c->kid)->fd;
		n++;
		if (uring) {
			sqe = io_uring_get_sqe(uring);
			io_uring_prep_read(sqe, fd, c->buf, c->len, c->offset);
			sqe->user_data = ud_base + c->slot;
			rs->reading++;
			continue;
		}
		pthread_mutex_unlock(&rs->lock);
		finish_read(rs, c, pread(fd, c->buf, c->len, c->offset) < 0 ?
			    -errno : (int)c->len);
		pthread_mutex_lock(&rs->lock);
	}
	pthread_mutex_unlock(&rs->lock);
	return n;
}

void resync_complete(struct resync *rs, unsigned int slot, int res)
{
	if (slot >= rs->qd)
		return;
	finish_read(rs, &rs->slots[slot], res);
	pthread_mutex_lock(&rs->lock);
	rs->reading--;
	pthread_mutex_unlock(&rs->lock);
}

unsigned int resync_reading(struct resync *rs)
{
	unsigned int n;

	pthread_mutex_lock(&rs->lock);
	n = rs->reading;
	pthread_mutex_unlock(&rs->lock);
	return n;
}

struct resync_chunk *resync_oldest(struct resync *rs)
{
	struct resync_chunk *c = NULL;

	pthread_mutex_lock(&rs->lock);
	if (rs->count)
		c = &rs->slots[rs->first];
	pthread_mutex_unlock(&rs->lock);
	return c;
}

static int push_mark(struct resync *rs, const struct rs_mark *m)
{
	if (rs->nmarks == rs->capmarks) {
		size_t cap = rs->capmarks ? 2 * rs->capmarks : 64;
		struct rs_mark *p = realloc(rs->marks, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		rs->marks = p;
		rs->capmarks = cap;
	}
	rs->marks[rs->nmarks++] = *m;
	return 0;
}

/* A failed read: its range goes back to the queue; the disk pauses. */
static void read_failed(struct rs_disk *d,
			const struct resync_chunk *c)
{
	d->st.read_errors++;
	snprintf(d->st.error, sizeof(d->st.error),
		 "read of %u bytes at %" PRIu64 ": %s", c->len, c->offset,
		 strerror(-c->res));
	fprintf(stderr, "ferryd: %s: resync %s\n", d->path, d->st.error);
	d->pause_until = mono_ns() + ERROR_PAUSE_NS;
	if (c->initial) {
		/* the sweep goes back: its progress must stay contiguous */
		if (d->sweep_next > c->offset)
			d->sweep_next = c->offset;
		return;
	}
	if (!push_range(d, c->offset, c->offset + c->len, c->why))
		normalize(d);
}

void resync_added(struct resync *rs, struct resync_chunk *c, uint64_t seg)
{
	struct rs_mark m = { seg, c->offset, c->len, c->kid, c->initial };
	struct rs_disk *d;
	unsigned int i;

	pthread_mutex_lock(&rs->lock);
	for (i = 0, d = NULL; i < RS_MAX_DISKS && !d; i++)
		if (rs->disks[i].used && rs->disks[i].kid == c->kid)
			d = &rs->disks[i];
	rs->first = (rs->first + 1) % rs->qd;
	rs->count--;
	if (d) {
		d->issued--;
		if (d->gone) {
			if (!d->issued) {
				close(d->fd);
				free(d->q);
				free(d->excl);
				d->excl = NULL;
				d->nexcl = 0;
				d->q = NULL;
				d->used = false;
			}
		} else if (c->res < 0) {
			read_failed(d, c);
		} else if (!push_mark(rs, &m)) {
			if (c->initial && c->offset + c->len >= d->size)
				rs->seal_wanted = true;
			d->unsealed++;
			d->st.pass_done += c->len;
			d->st.bytes[c->why] += c->len;
			for (i = 0; i < c->nr_pieces; i++) {
				if (c->pieces[i].skip)
					continue;
				if (c->pieces[i].zero)
					d->st.zero_bytes += c->pieces[i].len;
				else
					d->st.data_bytes += c->pieces[i].len;
			}
		}
	}
	pthread_mutex_unlock(&rs->lock);
}

bool resync_seal_wanted(struct resync *rs)
{
	bool want;

	pthread_mutex_lock(&rs->lock);
	want = rs->seal_wanted;
	rs->seal_wanted = false;
	pthread_mutex_unlock(&rs->lock);
	return want;
}

static void sealed_initial(struct resync *rs, struct rs_disk *d,
			   const struct rs_mark *m)
{
	if (m->off > d->sweep_sealed || !d->sweep)
		return;
	if (m->off + m->len > d->sweep_sealed)
		d->sweep_sealed = m->off + m->len;
	if (d->sweep_sealed >= d->size) {
		d->sweep = false;
		d->init_done = true;
		d->st.initial_done = true;
		save(rs, d);
		fprintf(stderr, "ferryd: %s: initial copy done (%" PRIu64 " bytes)\n",
			d->path, d->size);
	} else if (mono_ns() - d->saved_ns >= SAVE_EVERY_NS) {
		save(rs, d);
	}
}

void resync_sealed(struct resync *rs, uint64_t seg)
{
	struct rs_disk *d;
	size_t i, n;

	pthread_mutex_lock(&rs->lock);
	for (n = 0; n < rs->nmarks && rs->marks[n].seg <= seg; n++) {
		d = find(rs, rs->marks[n].kid);
		if (!d)
			continue;
		d->unsealed--;
		if (rs->marks[n].initial)
			sealed_initial(rs, d, &rs->marks[n]);
	}
	for (i = n; i < rs->nmarks; i++)
		rs->marks[i - n] = rs->marks[i];
	rs->nmarks -= n;
	pthread_mutex_unlock(&rs->lock);
}

bool resync_busy(struct resync *rs)
{
	unsigned int i;
	bool busy = false;

	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < RS_MAX_DISKS && !busy; i++) {
		struct rs_disk *d = &rs->disks[i];

		busy = d->used && !d->gone &&
		       (d->nq || d->issued || (d->sweep && d->sweep_next < d->size));
	}
	busy = busy || rs->count;
	pthread_mutex_unlock(&rs->lock);
	return busy;
}

bool resync_idle(struct resync *rs, uint32_t kid)
{
	unsigned int i;
	bool idle = true;

	pthread_mutex_lock(&rs->lock);
	for (i = 0; i < RS_MAX_DISKS && idle; i++) {
		struct rs_disk *d = &rs->disks[i];

		if (d->used && !d->gone && (kid == UINT32_MAX || d->kid == kid))
			idle = disk_idle(d) && !(d->sweep && !d->init_done);
	}
	pthread_mutex_unlock(&rs->lock);
	return idle;
}

int resync_get_stat(struct resync *rs, uint32_t kid,
		    struct resync_disk_stat *st)
{
	struct rs_disk *d;
	uint64_t now = real_ns(), left;
	double dt;

	pthread_mutex_lock(&rs->lock);
	d = find(rs, kid);
	if (!d) {
		pthread_mutex_unlock(&rs->lock);
		return -ENOENT;
	}
	normalize(d);
	*st = d->st;
	st->active = !disk_idle(d);
	st->initial = d->sweep && !d->init_done;
	st->initial_offset = d->sweep_sealed;
	if (st->initial && !d->nq)
		st->why = RESYNC_INITIAL;
	else if (d->nq)
		st->why = d->q[0].why;
	dt = st->pass_started_ns && now > st->pass_started_ns ?
	     (now - st->pass_started_ns) / 1e9 : 0;
	st->rate = dt > 0 ? st->pass_done / dt : 0;
	if (st->pass_done > st->pass_bytes)
		st->pass_bytes = st->pass_done;
	left = st->pass_bytes > st->pass_done ?
	       st->pass_bytes - st->pass_done : 0;
	st->eta_s = st->rate > 0 && st->active ?
		    (uint64_t)(left / st->rate) + 1 : 0;
	pthread_mutex_unlock(&rs->lock);
	return 0;
}
