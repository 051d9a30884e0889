// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-ringfull DISK: a full ring never blocks or fails a writer and
 * loses no write: the disk degrades to metadata mode, then bitmap mode.
 *
 *   1. 1 MiB ring, DISK attached, nobody consuming
 *   2. write 16 MiB to DISK (O_DIRECT, 64 KiB writes): every write succeeds
 *   3. stats: metadata mode (one transition), NODATA records, no drop, no
 *      FERRY_DISK_RESYNC; the ring holds exactly the records counted, whole
 *      and committed, the NODATA ones after the ones with data
 *   4. consume everything: data mode again, the next write is captured with
 *      its payload
 *   5. 4 KiB writes until the metadata room is gone: bitmap mode, one
 *      NODATA marker for the write that found the ring full, dirty bits;
 *      every write succeeded, still no drop
 *   6. consume, FETCH_DIRTY: data mode, the bits cover every 4 KiB block
 *      written in bitmap mode; detach, teardown
 * Exit 0 when all of this held, 1 naming what did not.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ferry/ring.h>

#define WRITE_SIZE	(64u << 10)
#define TOTAL		(16u << 20)
#define SMALL_MAX	40000u		/* 4 KiB writes allowed to fill it */

static int fail(const char *what)
{
	fprintf(stderr, "ferry-test-ringfull: %s\n", what);
	return 1;
}

static int write_at(int fd, void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

struct drained {
	int records, nodata, data_after_nodata;
	uint64_t last_off;	/* of the last WRITE */
};

/* Read every committed record, check it, consume; returns how many. */
static int drain(struct ferry_dev *d, uint32_t id, struct drained *dr)
{
	const struct ferry_rec *r;
	int ret;

	memset(dr, 0, sizeof(*dr));
	while ((ret = ring_reader_next(&d->rd, &r)) > 0) {
		if (r->disk_id != id || ring_rec_verify(r))
			return -EBADMSG;
		if (r->op == FERRY_OP_WRITE) {	/* not fdatasync's FLUSH */
			dr->last_off = r->offset;
			if (r->flags & FERRY_REC_NODATA)
				dr->nodata++;
			else if (dr->nodata)
				dr->data_after_nodata++;
		}
		dr->records++;
	}
	if (ret < 0)
		return ret;
	ret = ferry_dev_consume(d, ring_reader_pos(&d->rd));
	return ret ? ret : dr->records;
}

static void show(const char *when, const struct ferry_stats *st)
{
	printf("%s: mode %u records %" PRIu64 " nodata %" PRIu64
	       " to_metadata %" PRIu64 " to_bitmap %" PRIu64 " dirty_bits %"
	       PRIu64 " drops %" PRIu64 " ring_used %" PRIu64 " state %#x\n",
	       when, st->mode, (uint64_t)st->records,
	       (uint64_t)st->nodata_records, (uint64_t)st->to_metadata,
	       (uint64_t)st->to_bitmap, (uint64_t)st->dirty_bits,
	       (uint64_t)st->drops, (uint64_t)st->ring_used, st->state);
}

/*
 * 4 KiB writes at 4 KiB steps until the disk is in bitmap mode, then 16
 * more; the blocks written from the first bitmap-mode one on must all have
 * their bit.  *first gets the index of that block.
 */
static int to_bitmap(struct ferry_dev *d, uint32_t id, int fd, void *buf,
		     uint64_t disk_size, unsigned int *first, unsigned int *end)
{
	struct ferry_stats st;
	unsigned int n;

	*first = 0;
	for (n = 0; n < SMALL_MAX; n++) {
		if (write_at(fd, buf, 4096, (off_t)((n * 4096ull) % disk_size)))
			return fail("a 4 KiB write failed with the ring full");
		if (n % 16)
			continue;
		if (ferry_dev_stats(d, id, &st))
			return fail("stats failed");
		if (st.mode == FERRY_MODE_BITMAP && !*first)
			*first = n + 1;
		if (*first && n >= *first + 16)
			break;
	}
	*end = n;
	if (!*first)
		return fail("no bitmap mode after the metadata room was used");
	return 0;
}

int main(int argc, char **argv)
{
	struct ferry_fetch_dirty fdr = { 0 };
	struct ferry_stats st, st2;
	struct drained dr;
	unsigned int first, end, n;
	uint8_t *bm;
	struct ferry_attach at;
	struct ferry_dev d;
	struct stat sb;
	uint64_t off;
	void *buf;
	int fd;

	if (argc != 2 || stat(argv[1], &sb))
		return fail("usage: ferry-test-ringfull DISK");
	if (ferry_dev_open(&d, NULL, 1 << 20))
		return fail("cannot open /dev/ferry with a 1 MiB ring");
	if (d.rd.size != 1 << 20)
		return fail("a ring of another size exists already");
	if (ferry_dev_attach(&d, sb.st_rdev, &at))
		return fail("attach failed");
	fd = open(argv[1], O_WRONLY | O_DIRECT);
	if (fd < 0 || posix_memalign(&buf, 4096, WRITE_SIZE))
		return fail("cannot open the disk");
	memset(buf, 0x3c, WRITE_SIZE);

	for (off = 0; off < TOTAL; off += WRITE_SIZE)
		if (write_at(fd, buf, WRITE_SIZE, off))
			return fail("a write failed with the ring full");
	if (ferry_dev_stats(&d, at.disk_id, &st))
		return fail("stats failed");
	show("ring full", &st);
	if (st.mode != FERRY_MODE_METADATA || st.to_metadata != 1 ||
	    st.to_bitmap || !st.nodata_records)
		return fail("the disk did not turn to metadata mode (only)");
	if (st.drops || (st.state & FERRY_DISK_RESYNC))
		return fail("writes were dropped although the ring took metadata");
	if (st.ring_used > st.ring_size || !st.records)
		return fail("ring accounting wrong");
	if (drain(&d, at.disk_id, &dr) != (int)st.records ||
	    dr.nodata != (int)st.nodata_records)
		return fail("the ring does not hold exactly the records counted");
	if (dr.data_after_nodata)
		return fail("a record with data after a NODATA one, ring never drained");

	if (write_at(fd, buf, 4096, 1 << 20) || fdatasync(fd))
		return fail("write after consume failed");
	if (drain(&d, at.disk_id, &dr) < 1 || dr.last_off != 1 << 20 ||
	    dr.nodata)
		return fail("capture with data did not resume after consume");
	if (ferry_dev_stats(&d, at.disk_id, &st2) ||
	    st2.mode != FERRY_MODE_DATA)
		return fail("not back in data mode after consume");
	printf("data mode again: records %" PRIu64 "\n", (uint64_t)st2.records);

	if (to_bitmap(&d, at.disk_id, fd, buf, at.size_bytes, &first, &end) ||
	    ferry_dev_stats(&d, at.disk_id, &st2))
		return 1;
	show("bitmap", &st2);
	if (st2.to_bitmap != 1 || !st2.dirty_bits || st2.drops ||
	    (st2.state & FERRY_DISK_RESYNC))
		return fail("bitmap mode counters wrong, or writes dropped");
	if (drain(&d, at.disk_id, &dr) < 1 ||
	    dr.nodata != (int)(st2.nodata_records - st.nodata_records))
		return fail("the ring does not hold the NODATA records counted");
	bm = calloc(1, st2.bitmap_bytes);
	fdr.disk_id = at.disk_id;
	fdr.bitmap = (uintptr_t)bm;
	fdr.bytes = st2.bitmap_bytes;
	if (!bm || ioctl(d.fd, FERRY_IOC_FETCH_DIRTY, &fdr) ||
	    fdr.taken != st2.dirty_bits || fdr.mode != FERRY_MODE_DATA)
		return fail("FETCH_DIRTY did not take the bits and return to data mode");
	for (n = first; n <= end; n++) {
		uint64_t bit = (n * 4096ull) % at.size_bytes / fdr.granule;

		if (!(bm[bit / 8] & (1u << (bit % 8))))
			return fail("a block written in bitmap mode has no bit");
	}
	printf("fetched %" PRIu64 " bits, blocks %u..%u all marked\n",
	       (uint64_t)fdr.taken, first, end);
	free(bm);

	close(fd);
	if (ferry_dev_detach(&d, at.disk_id))
		return fail("detach failed");
	munmap(d.map, d.map_len);
	d.map = NULL;
	if (ioctl(d.fd, FERRY_IOC_RING_TEARDOWN))
		return fail("teardown failed");
	ferry_dev_close(&d);
	printf("ferry-test-ringfull: ok\n");
	return 0;
}
