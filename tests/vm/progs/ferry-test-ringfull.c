// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-ringfull DISK: a full ring never blocks or fails a writer.
 *
 *   1. 1 MiB ring, DISK attached, nobody consuming
 *   2. write 16 MiB to DISK (O_DIRECT, 64 KiB writes): every write succeeds
 *   3. the disk's stats show drops (records and bytes) and FERRY_DISK_RESYNC,
 *      the ring holds only whole committed records, none beyond its size
 *   4. consume everything: the next write is captured again (a record with
 *      its offset and payload crc), the drop counters stop growing
 *   5. CLEAR_RESYNC clears the flag; detach, teardown
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

static int fail(const char *what)
{
	fprintf(stderr, "ferry-test-ringfull: %s\n", what);
	return 1;
}

static int write_at(int fd, void *buf, size_t len, off_t off)
{
	return pwrite(fd, buf, len, off) == (ssize_t)len ? 0 : -1;
}

/* Read every committed record, check it, consume; returns how many. */
static int drain(struct ferry_dev *d, uint32_t id, uint64_t *last_off)
{
	const struct ferry_rec *r;
	int n = 0, ret;

	while ((ret = ring_reader_next(&d->rd, &r)) > 0) {
		if (r->disk_id != id || ring_rec_verify(r))
			return -EBADMSG;
		if (r->op == FERRY_OP_WRITE)	/* not fdatasync's FLUSH */
			*last_off = r->offset;
		n++;
	}
	if (ret < 0)
		return ret;
	ret = ferry_dev_consume(d, ring_reader_pos(&d->rd));
	return ret ? ret : n;
}

int main(int argc, char **argv)
{
	struct ferry_clear_resync cr = { 0 };
	struct ferry_stats st, st2;
	struct ferry_attach at;
	struct ferry_dev d;
	struct stat sb;
	uint64_t last = 0, off;
	void *buf;
	int fd, n;

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
	printf("ring full: records %" PRIu64 " drops %" PRIu64 " drop_bytes %" PRIu64
	       " ring_used %" PRIu64 " state %#x\n", (uint64_t)st.records,
	       (uint64_t)st.drops, (uint64_t)st.drop_bytes,
	       (uint64_t)st.ring_used, st.state);
	if (!st.drops || st.drop_bytes < st.drops * WRITE_SIZE)
		return fail("no drops counted");
	if (!(st.state & FERRY_DISK_RESYNC))
		return fail("FERRY_DISK_RESYNC not set after drops");
	if (st.ring_used > st.ring_size || !st.records)
		return fail("ring accounting wrong");
	n = drain(&d, at.disk_id, &last);
	if (n != (int)st.records)
		return fail("the ring does not hold exactly the records counted");

	if (write_at(fd, buf, 4096, 1 << 20) || fdatasync(fd))
		return fail("write after consume failed");
	n = drain(&d, at.disk_id, &last);
	if (n < 1 || last != 1 << 20)
		return fail("capture did not resume after the consumer freed space");
	if (ferry_dev_stats(&d, at.disk_id, &st2) || st2.drops != st.drops)
		return fail("drops grew although the ring had room");
	printf("capture resumed: records %" PRIu64 "\n", (uint64_t)st2.records);

	cr.disk_id = at.disk_id;
	if (ioctl(d.fd, FERRY_IOC_CLEAR_RESYNC, &cr) ||
	    ferry_dev_stats(&d, at.disk_id, &st2) ||
	    (st2.state & FERRY_DISK_RESYNC))
		return fail("CLEAR_RESYNC did not clear the flag");
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
