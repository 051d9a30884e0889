// SPDX-License-Identifier: GPL-2.0
/*
 * hrl_apply: bring replica images forward with verified segments.
 *
 * The replica set keeps one stream position 'pos' (docs/hrl-format.md,
 * "Ordering"): data-changing records below it are already applied and are
 * skipped, which makes applying anything twice a no-op.  A segment is
 * verified completely before its first record is written.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "hrl_wire.h"

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;
	ssize_t n;

	while (len) {
		n = pwrite(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		p += n;
		len -= n;
		off += n;
	}
	return 0;
}

static int write_zeros(int fd, uint64_t off, uint64_t len)
{
	static const uint8_t zeros[65536];
	int ret;

	while (len) {
		size_t n = len < sizeof(zeros) ? len : sizeof(zeros);

		ret = pwrite_all(fd, zeros, n, off);
		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

/*
 * Make [off, off + len) read as zeros: punch a hole (keeps images sparse),
 * else zero the range, else write zeros.  A range past the end of a file
 * grows it, as a write would.
 */
static int zero_range(int fd, uint64_t off, uint64_t len, unsigned int flags)
{
	struct stat st;

	if (flags & HRL_APPLY_WRITE_ZEROS)
		return write_zeros(fd, off, len);
	if (fstat(fd, &st))
		return -errno;
	if (S_ISREG(st.st_mode) && off + len > (uint64_t)st.st_size &&
	    ftruncate(fd, off + len))
		return -errno;
	if (!fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len))
		return 0;
	if (!fallocate(fd, FALLOC_FL_ZERO_RANGE, off, len))
		return 0;
	return write_zeros(fd, off, len);
}

#define RESYNC_BLOCK	4096u
#define RESYNC_PIECE	(1u << 20)	/* image bytes compared at a time */

/* Write [off, off + len) of a resync chunk: its payload, or zeros. */
static int resync_write(struct hrl_apply *a, int fd, const struct hrl_rec *rec,
			const uint8_t *payload, uint64_t off, uint64_t len)
{
	if (!payload)
		return zero_range(fd, off, len, a->flags);
	a->bytes += len;
	return pwrite_all(fd, payload + (off - rec->offset), len, off);
}

/*
 * [po, pe) of a resync chunk: read the image there (past its end it reads
 * as zeros), compare 4 KiB block by block (blocks aligned on the disk),
 * count the blocks that differ and write only them, in runs.
 */
static int resync_piece(struct hrl_apply *a, int fd, const struct hrl_rec *rec,
			const uint8_t *payload, uint8_t *cur, uint64_t po,
			uint64_t pe)
{
	uint64_t bo, be, run = po;
	bool in_run = false;
	ssize_t n = 0;
	int ret;

	while ((uint64_t)n < pe - po) {
		ssize_t got = pread(fd, cur + n, pe - po - n, po + n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			break;
		n += got;
	}
	memset(cur + n, 0, pe - po - n);
	for (bo = po; bo < pe; bo = be) {
		const uint8_t *img = cur + (bo - po);
		bool same;

		be = (bo / RESYNC_BLOCK + 1) * RESYNC_BLOCK;
		if (be > pe)
			be = pe;
		same = payload ? !memcmp(img, payload + (bo - rec->offset), be - bo) :
		       hrl_first_nonzero(img, be - bo) == be - bo;
		if (!same) {
			a->resync_diff_bytes += be - bo;
			if (!in_run)
				run = bo;
			in_run = true;
			continue;
		}
		if (in_run && (ret = resync_write(a, fd, rec, payload, run, bo - run)))
			return ret;
		in_run = false;
	}
	return in_run ? resync_write(a, fd, rec, payload, run, pe - run) : 0;
}

/* HRL_RESYNC (payload) or HRL_RESYNC_ZERO (payload NULL) at seq >= pos. */
static int apply_resync(struct hrl_apply *a, int fd, const struct hrl_rec *rec,
			const uint8_t *payload)
{
	uint64_t po = rec->offset, end = rec->offset + rec->len, pe;
	size_t cap = rec->len < RESYNC_PIECE ? rec->len + RESYNC_BLOCK : RESYNC_PIECE;
	uint8_t *cur = malloc(cap);
	int ret = 0;

	if (!cur)
		return -ENOMEM;
	for (; po < end && !ret; po = pe) {
		pe = (po / RESYNC_BLOCK) * RESYNC_BLOCK + cap;
		if (pe > end)
			pe = end;
		ret = resync_piece(a, fd, rec, payload, cur, po, pe);
	}
	free(cur);
	return ret;
}

static void count_resync(struct hrl_apply *a, const struct hrl_rec *rec)
{
	a->resync_bytes += HRL_REC_HDR_SIZE + rec->payload_len;
	if (rec->kind == HRL_RESYNC)
		a->resync_data_bytes += rec->payload_len;
	else
		a->resync_zero_bytes += rec->len;
}

static void report_dirty(struct hrl_apply *a, const struct hrl_rec *rec)
{
	a->dirtied++;
	if (a->dirty)
		a->dirty(a->ctx, rec);
}

static int apply_marker(struct hrl_apply *a, const struct hrl_rec *rec,
			const void *payload)
{
	struct hrl_tag tag;

	if (rec->kind != HRL_TAG)
		return 0;
	if (rec->seq < a->pos) {
		a->skipped++;
		return 0;
	}
	if (hrl_tag_decode(payload, rec->payload_len, &tag))
		return -EBADMSG;
	a->last_tag = tag;
	a->last_tag_seq = rec->seq;
	a->tags++;
	return 0;
}

int hrl_apply_record(struct hrl_apply *a, const struct hrl_rec *rec,
		     const void *payload)
{
	bool resync = rec->kind == HRL_RESYNC || rec->kind == HRL_RESYNC_ZERO;
	int fd, ret = 0;

	if (rec->kind == HRL_TAG || rec->kind == HRL_FLUSH)
		return apply_marker(a, rec, payload);
	if (resync)
		count_resync(a, rec);
	if (rec->seq < a->pos) {
		if (resync)
			report_dirty(a, rec);	/* older than the replica */
		else
			a->skipped++;
		return 0;
	}
	if (rec->kind == HRL_METADATA) {
		report_dirty(a, rec);
		a->pos = rec->seq + 1;
		return 0;
	}
	fd = a->image_fd(a->ctx, rec->disk_id);
	if (fd < 0)
		return fd;
	if (resync) {
		ret = apply_resync(a, fd, rec, rec->kind == HRL_RESYNC ?
				   payload : NULL);
	} else if (rec->kind == HRL_WRITE) {
		ret = pwrite_all(fd, payload, rec->len, rec->offset);
		a->bytes += ret ? 0 : rec->len;
	} else {
		ret = zero_range(fd, rec->offset, rec->len, a->flags);
	}
	if (ret)
		return ret;
	a->applied++;
	if (hrl_kind_consumes_seq(rec->kind))
		a->pos = rec->seq + 1;
	return 0;
}

static int apply_pass(struct hrl_apply *a, int fd, struct hrl_error *err)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *payload;
	int ret;

	ret = hrl_reader_init_fd(&r, fd);
	if (ret) {
		hrl_set_error(err, ret, 0, -1, "out of memory");
		return ret;
	}
	while ((ret = hrl_reader_next(&r, &rec, &payload)) == HRL_NEXT_RECORD) {
		ret = hrl_apply_record(a, &rec, payload);
		if (ret)
			break;
	}
	if (ret > 0 && ret != HRL_NEXT_END)
		ret = -EPIPE;
	if (ret > 0) {
		ret = 0;
	} else if (ret < 0 && r.err.code) {
		*err = r.err;	/* the file changed since it was verified */
	} else if (ret < 0) {
		hrl_set_error(err, ret, rec.seg_offset, rec.index,
			      "apply %s to disk %u at offset %llu: %s",
			      hrl_kind_name(rec.kind), rec.disk_id,
			      (unsigned long long)rec.offset, strerror(-ret));
	}
	hrl_reader_free(&r);
	return ret;
}

int hrl_apply_fd(struct hrl_apply *a, int fd, struct hrl_error *err)
{
	struct hrl_seg_info info;
	struct hrl_seg_end end;
	int ret;

	if (lseek(fd, 0, SEEK_SET) < 0) {
		hrl_set_error(err, -errno, 0, -1, "seek: %s", strerror(errno));
		return err->code;
	}
	ret = hrl_verify_fd(fd, &info, &end, err);
	if (ret)
		return ret;
	if (!a->have_pos) {
		a->pos = info.start_seq;
		a->have_pos = true;
	}
	if (info.start_seq > a->pos && !(a->flags & HRL_APPLY_ALLOW_GAP)) {
		hrl_set_error(err, -ERANGE, 0, -1,
			      "segment starts at seq %llu but the replica is at %llu: an earlier segment is missing",
			      (unsigned long long)info.start_seq,
			      (unsigned long long)a->pos);
		return -ERANGE;
	}
	if (lseek(fd, 0, SEEK_SET) < 0) {
		hrl_set_error(err, -errno, 0, -1, "seek: %s", strerror(errno));
		return err->code;
	}
	return apply_pass(a, fd, err);
}
