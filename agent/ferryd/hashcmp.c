// SPDX-License-Identifier: GPL-2.0
/*
 * Hash-compare of one disk with its replica on ferry-ps; see hashcmp.h.
 *
 *   offset   0        1 MiB      2 MiB            size
 *   local    | chunk 0 | chunk 1  | ...  | last (short) |
 *             SHA-256 of each chunk, read with O_DIRECT     L[i]
 *   replica  GET hashes?chunk=1048576&offset=..&count=256   R[i]
 *
 *   L[i] == R[i]   equal, nothing to do
 *   L[i] != R[i]   GET hashes?chunk=4096&offset=chunk i&count=256, compare
 *                  with the 4 KiB SHA-256 of the buffer still in memory;
 *                  each differing block is queued, adjacent ones as one
 *                  range (resync_queue(..., RESYNC_HASH))
 *   no R[i]        the replica is missing or ends before: the chunk
 *                  differs whole, without being read
 *
 * A short last chunk or block is hashed over the bytes that exist, as the
 * server does, so equal sizes compare equal.  Ranges in j->skip (the
 * spool's own extents, which are never captured) are never queued.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <ferry/ps_client.h>

#include "hashcmp.h"
#include "resync.h"

#define BLOCKS_PER_CHUNK	(HASHCMP_CHUNK / HASHCMP_BLOCK)

/* Differing bytes not yet queued: [off, off + len). */
struct pending {
	uint64_t off, len;
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static bool stopped(const struct hashcmp_job *j)
{
	return j->stop && *j->stop;
}

static void account(struct hashcmp_job *j, uint64_t compared,
		    uint64_t differing, uint64_t queued)
{
	if (!j->st)
		return;
	if (j->lock)
		pthread_mutex_lock(j->lock);
	j->st->compared += compared;
	j->st->differing += differing;
	j->st->queued += queued;
	if (j->lock)
		pthread_mutex_unlock(j->lock);
}

static int sha256(const void *buf, size_t len, uint8_t out[32])
{
	unsigned int olen = 32;

	return EVP_Digest(buf, len, out, &olen, EVP_sha256(), NULL) ? 0 : -EIO;
}

static int queue_one(struct hashcmp_job *j, uint64_t off, uint64_t len,
		     char *err, size_t errlen)
{
	int ret;

	account(j, 0, len, 0);
	ret = resync_queue(j->rs, j->kid, off, len, RESYNC_HASH);
	if (ret) {
		snprintf(err, errlen, "queueing %" PRIu64 "+%" PRIu64
			 " for resync: %s", off, len, strerror(-ret));
		return ret;
	}
	account(j, 0, 0, len);
	j->ranges++;
	return 0;
}

/* Queue [off, off + len) minus the skipped ranges. */
static int queue_range(struct hashcmp_job *j, uint64_t off, uint64_t len,
		       char *err, size_t errlen)
{
	uint64_t end = off + len;
	unsigned int i;
	int ret;

	for (i = 0; i < j->nr_skip && off < end; i++) {
		uint64_t s = j->skip[i].offset, e = s + j->skip[i].len;

		if (e <= off)
			continue;
		if (s >= end)
			break;
		if (s > off) {
			ret = queue_one(j, off, s - off, err, errlen);
			if (ret)
				return ret;
		}
		off = e;
	}
	return off < end ? queue_one(j, off, end - off, err, errlen) : 0;
}

static int flush(struct hashcmp_job *j, struct pending *p, char *err,
		 size_t errlen)
{
	int ret = 0;

	if (p->len)
		ret = queue_range(j, p->off, p->len, err, errlen);
	p->len = 0;
	return ret;
}

/* [off, off + len) differs: extend the pending range or start another. */
static int differs(struct hashcmp_job *j, struct pending *p, uint64_t off,
		   uint64_t len, char *err, size_t errlen)
{
	int ret;

	if (p->len && p->off + p->len == off) {
		p->len += len;
		return 0;
	}
	ret = flush(j, p, err, errlen);
	p->off = off;
	p->len = len;
	return ret;
}

/* The 4 KiB blocks of a chunk whose hash differs (its data in buf). */
static int compare_blocks(struct hashcmp_job *j, struct pending *p,
			  uint64_t off, uint64_t clen, const uint8_t *buf,
			  uint8_t (*rh)[32], char *err, size_t errlen)
{
	uint32_t nb = (clen + HASHCMP_BLOCK - 1) / HASHCMP_BLOCK, b;
	uint8_t lh[32];
	size_t n = 0;
	int ret;

	ret = j->ops->hashes(j->arg, HASHCMP_BLOCK, off, nb, rh, &n, err,
			     errlen);
	if (ret && ret != -ENOENT)
		return ret;
	for (b = 0; b < nb; b++) {
		uint64_t boff = (uint64_t)b * HASHCMP_BLOCK;
		uint64_t blen = min_u64(HASHCMP_BLOCK, clen - boff);

		if (b < n) {
			ret = sha256(buf + boff, blen, lh);
			if (ret)
				return ret;
			if (!memcmp(lh, rh[b], 32))
				continue;
		}
		ret = differs(j, p, off + boff, blen, err, errlen);
		if (ret)
			return ret;
	}
	return 0;
}

/* The replica's hashes of one batch of chunks, fetched beside the reads. */
struct fetch {
	struct hashcmp_job *j;
	uint64_t off;
	uint32_t count;
	uint8_t (*rh)[32];
	size_t n;		/* hashes that came back */
	int ret;
	char err[PS_ERR_LEN];
};

static void *fetch_main(void *arg)
{
	struct fetch *f = arg;

	f->n = 0;
	f->ret = f->j->ops->hashes(f->j->arg, HASHCMP_CHUNK, f->off, f->count,
				   f->rh, &f->n, f->err, sizeof(f->err));
	if (f->ret == -ENOENT)		/* no replica: nothing is equal */
		f->ret = 0;
	return NULL;
}

/* SHA-256 of nr chunks of the local disk from off into lh[]. */
static int hash_local(struct hashcmp_job *j, uint64_t off, uint32_t nr,
		      uint8_t *buf, uint8_t (*lh)[32], char *err,
		      size_t errlen)
{
	uint32_t i;
	int ret;

	for (i = 0; i < nr; i++, off += HASHCMP_CHUNK) {
		uint64_t clen = min_u64(HASHCMP_CHUNK, j->size - off);

		if (stopped(j)) {
			snprintf(err, errlen, "stopped");
			return -ECANCELED;
		}
		ret = j->ops->read(j->arg, off, buf, clen, err, errlen);
		if (!ret)
			ret = sha256(buf, clen, lh[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* Chunk at off whose hash is lh, the replica's rh (NULL: none). */
static int compare_chunk(struct hashcmp_job *j, struct pending *p,
			 uint64_t off, uint64_t clen, const uint8_t *lh,
			 const uint8_t *rh, uint8_t *buf, uint8_t (*bh)[32],
			 char *err, size_t errlen)
{
	int ret;

	if (!rh)
		return differs(j, p, off, clen, err, errlen);
	if (!memcmp(lh, rh, 32))
		return 0;
	ret = j->ops->read(j->arg, off, buf, clen, err, errlen);
	if (ret)
		return ret;
	return compare_blocks(j, p, off, clen, buf, bh, err, errlen);
}

/*
 * One batch: the replica's chunk hashes are fetched by a second thread
 * while this one reads and hashes the same chunks, so the server and the
 * agent hash at once.  Chunks that differ are read again for their 4 KiB
 * pass (they are few).  A replica that ends inside the batch costs reads
 * of chunks that then count as different anyway.
 */
static int compare_batch(struct hashcmp_job *j, struct pending *p,
			 struct fetch *f, bool *replica_end, uint8_t *buf,
			 uint8_t (*lh)[32], uint8_t (*bh)[32], char *err,
			 size_t errlen)
{
	uint64_t off = f->off;
	uint32_t nr = f->count, i;
	bool async = false;
	pthread_t t;
	int ret;

	f->n = 0;
	f->ret = 0;
	if (*replica_end)
		nr = 0;
	else if (!(async = !pthread_create(&t, NULL, fetch_main, f)))
		fetch_main(f);
	ret = f->ret ? 0 : hash_local(j, off, nr, buf, lh, err, errlen);
	if (async)
		pthread_join(t, NULL);
	if (f->ret) {
		snprintf(err, errlen, "%s", f->err);
		return f->ret;
	}
	if (ret)
		return ret;
	*replica_end = *replica_end || f->n < f->count;
	for (i = 0; i < f->count && !ret; i++) {
		uint64_t clen = min_u64(HASHCMP_CHUNK, j->size - off);

		ret = compare_chunk(j, p, off, clen, lh[i],
				    i < f->n && i < nr ? f->rh[i] : NULL, buf,
				    bh, err, errlen);
		off += clen;
		/* hand finished ranges to the reader early */
		if (!ret && p->len && p->off + p->len < off)
			ret = flush(j, p, err, errlen);
		account(j, clen, 0, 0);
	}
	return ret;
}

int hashcmp_compare(struct hashcmp_job *j, char *err, size_t errlen)
{
	struct fetch *f = calloc(1, sizeof(*f));
	uint8_t (*rh)[32] = malloc(HASHCMP_BATCH * 32);
	uint8_t (*lh)[32] = malloc(HASHCMP_BATCH * 32);
	uint8_t (*bh)[32] = malloc(BLOCKS_PER_CHUNK * 32);
	uint8_t *buf = aligned_alloc(4096, HASHCMP_CHUNK);
	struct pending p = { 0 };
	bool replica_end = false;
	uint64_t off = 0;
	int ret = 0;

	j->ranges = 0;
	if (!f || !rh || !lh || !bh || !buf) {
		snprintf(err, errlen, "out of memory");
		ret = -ENOMEM;
		goto out;
	}
	f->j = j;
	f->rh = rh;
	/* no replica, or an empty one: nothing to read */
	f->count = 1;
	fetch_main(f);
	ret = f->ret;
	if (ret)
		snprintf(err, errlen, "%s", f->err);
	replica_end = !f->n;
	while (off < j->size && !ret) {
		uint64_t left = j->size - off;

		f->off = off;
		f->count = min_u64(HASHCMP_BATCH,
				   (left + HASHCMP_CHUNK - 1) / HASHCMP_CHUNK);
		ret = compare_batch(j, &p, f, &replica_end, buf, lh, bh, err,
				    errlen);
		off = min_u64(j->size, off + (uint64_t)f->count * HASHCMP_CHUNK);
	}
	if (!ret)
		ret = flush(j, &p, err, errlen);
out:
	free(buf);
	free(bh);
	free(lh);
	free(rh);
	free(f);
	return ret;
}

/* ---- the real sides ----------------------------------------------------- */

static int io_read(void *arg, uint64_t off, void *buf, size_t len,
		   char *err, size_t errlen)
{
	struct hashcmp_io *io = arg;
	size_t want = (len + 4095) & ~(size_t)4095, got = 0;

	if (!io->direct)
		want = len;
	while (got < want) {
		ssize_t n = pread(io->fd, (uint8_t *)buf + got, want - got,
				  off + got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "%s: read at %" PRIu64 ": %s",
				 io->path, off + got, strerror(errno));
			return -errno;
		}
		if (n == 0)
			break;
		got += n;
		if (io->direct && got % 4096)	/* the end of a file */
			break;
	}
	if (got < len) {
		snprintf(err, errlen, "%s: %zu bytes at %" PRIu64 ": only %zu "
			 "read (disk shrank?)", io->path, len, off, got);
		return -EIO;
	}
	return 0;
}

static int io_hashes(void *arg, uint64_t chunk, uint64_t off, uint32_t count,
		     uint8_t (*out)[32], size_t *n, char *err, size_t errlen)
{
	struct hashcmp_io *io = arg;
	uint64_t seq;

	return ps_client_hashes(io->pc, io->disk, chunk, off, count, out, n,
				&seq, err, errlen);
}

const struct hashcmp_ops hashcmp_io_ops = {
	.read = io_read,
	.hashes = io_hashes,
};

int hashcmp_io_open(struct hashcmp_io *io, const char *path, char *err,
		    size_t errlen)
{
	io->path = path;
	io->direct = true;
	io->fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (io->fd < 0 && errno == EINVAL) {
		io->direct = false;	/* tmpfs and the like */
		io->fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (io->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!io->direct)
		posix_fadvise(io->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	return 0;
}

void hashcmp_io_close(struct hashcmp_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}

/* ---- waiting for the server --------------------------------------------- */

static uint64_t mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec;
}

static void say(struct hashcmp_job *j, const char *msg)
{
	if (!j->st)
		return;
	if (j->lock)
		pthread_mutex_lock(j->lock);
	snprintf(j->st->msg, sizeof(j->st->msg), "%s", msg);
	if (j->lock)
		pthread_mutex_unlock(j->lock);
}

int hashcmp_wait_applied(struct hashcmp_job *j, struct ps_client *pc,
			 uint64_t target, unsigned int patience_s,
			 char *err, size_t errlen)
{
	struct ps_remote_state last = { 0 }, now;
	uint64_t moved = mono_s();
	char msg[160], why[PS_ERR_LEN] = "";

	if (!target)		/* nothing sealed: nothing to wait for */
		return 0;
	for (;;) {
		if (stopped(j)) {
			snprintf(err, errlen, "stopped");
			return -ECANCELED;
		}
		if (!ps_client_state(pc, &now, why, sizeof(why))) {
			if (now.applied_seq >= target)
				return 0;
			if (now.applied_seq != last.applied_seq ||
			    now.stored_seq != last.stored_seq)
				moved = mono_s();
			last = now;
			why[0] = '\0';
		}
		if (mono_s() - moved >= patience_s) {
			snprintf(err, errlen, "the server applied the stream up "
				 "to seq %" PRIu64 " of %" PRIu64 " and made no "
				 "progress for %u s%s%.200s; comparing anyway "
				 "(the backlog counts as different)",
				 last.applied_seq, target, patience_s,
				 why[0] ? ": " : "", why);
			return -ETIMEDOUT;
		}
		snprintf(msg, sizeof(msg), "waiting for the server to apply the "
			 "spool: seq %" PRIu64 " of %" PRIu64 "%s%.80s",
			 last.applied_seq, target, why[0] ? "; " : "", why);
		say(j, msg);
		usleep(250000);
	}
}

/* ---- ferryctl status ---------------------------------------------------- */

void hashcmp_status_line(const struct hashcmp_stat *st, char *buf,
			 size_t len)
{
	struct timespec t;
	uint64_t now, el_ns;
	double rate = 0, mib = 1024.0 * 1024.0;
	unsigned long eta = 0;
	int n;

	if (!st->active) {
		snprintf(buf, len, "%s%s", st->last[0] ? "hash-compare: " : "",
			 st->last);
		return;
	}
	if (!st->disk[0]) {
		snprintf(buf, len, "hash-compare: %u disk%s queued",
			 st->pending, st->pending == 1 ? "" : "s");
		return;
	}
	if (st->msg[0] && !st->compared) {
		snprintf(buf, len, "hash-compare of %s: %s", st->disk, st->msg);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &t);
	now = (uint64_t)t.tv_sec * 1000000000ull + t.tv_nsec;
	el_ns = now > st->started_ns ? now - st->started_ns : 0;
	if (el_ns > 100000000ull)
		rate = st->compared / (el_ns / 1e9);
	if (rate > 0 && st->disk_bytes > st->compared)
		eta = (st->disk_bytes - st->compared) / rate;
	n = snprintf(buf, len, "hash-compare of %s %.0f%% (%.0f MiB of "
		     "%.0f MiB), %.1f MiB differ, %.1f MiB queued, %.0f MiB/s",
		     st->disk, st->disk_bytes ?
		     100.0 * st->compared / st->disk_bytes : 0.0,
		     st->compared / mib, st->disk_bytes / mib,
		     st->differing / mib, st->queued / mib, rate / mib);
	if (n > 0 && (size_t)n < len && eta)
		snprintf(buf + n, len - n, ", ETA %lu:%02lu", eta / 60,
			 eta % 60);
}
