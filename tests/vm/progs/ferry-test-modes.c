// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-modes DISK -- WRITER [ARGS...]: degraded modes lose no write.
 *
 *   1. 1 MiB ring, DISK attached, nobody consuming; a copy of DISK is taken
 *   2. WRITER runs (fio) and must exit 0
 *   3. stats: to_metadata >= 1, to_bitmap >= 1, nodata_records > 0,
 *      dirty_bits > 0, mode bitmap, no drops
 *   4. invariant 1 at kernel level: on the copy, apply the ring's records in
 *      order (payload written; NODATA, DIRTY, discard and zeroes ranges re-
 *      read from DISK), consume, FETCH_DIRTY and re-read every set bit's
 *      range: the copy equals DISK (sha256 printed)
 *   5. the disk is back in data mode, no dirty bit left; a write is captured
 *      with its payload
 *   6. PARK: bitmap mode; a write sets a bit and puts nothing in the ring;
 *      FETCH_DIRTY(KEEP_MODE) takes that bit and leaves bitmap mode on;
 *      a plain FETCH_DIRTY returns to data mode
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
#include <sys/wait.h>
#include <unistd.h>
#include <openssl/evp.h>

#include <ferry/ring.h>

#define RING_BYTES	(1u << 20)

static struct ferry_dev d;
static uint32_t id;
static int disk_fd;
static uint64_t disk_size;
static uint8_t *copy;		/* the disk as the stream rebuilds it */

static int fail(const char *what)
{
	fprintf(stderr, "ferry-test-modes: %s\n", what);
	return 1;
}

/* O_DIRECT read of [off, off + len) of the disk into the copy. */
static int reread(uint64_t off, uint64_t len)
{
	while (len) {
		ssize_t n = pread(disk_fd, copy + off, len, (off_t)off);

		if (n <= 0)
			return -1;
		off += (uint64_t)n;
		len -= (uint64_t)n;
	}
	return 0;
}

/* The disk's sysfs attribute 'name' is 'want' (first line). */
static int sysfs_is(const char *name, const char *want)
{
	char path[128], line[64] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/misc/ferry/disks/%u/%s",
		 id, name);
	f = fopen(path, "r");
	if (!f || !fgets(line, sizeof(line), f))
		line[0] = 0;
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = 0;
	if (!strcmp(line, want))
		return 0;
	fprintf(stderr, "ferry-test-modes: %s is '%s', want '%s'\n", path,
		line, want);
	return -1;
}

static void sha256_hex(const void *p, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int i;

	EVP_Digest(p, len, md, NULL, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", md[i]);
}

static int run(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

struct replay_counts {
	uint64_t data, nodata, reread, flush, first_nodata_seq;
};

/* Apply every record in the ring to the copy, then consume them. */
static int replay(struct replay_counts *c)
{
	const struct ferry_rec *r;
	int ret;

	memset(c, 0, sizeof(*c));
	while ((ret = ring_reader_next(&d.rd, &r)) > 0) {
		if (r->disk_id != id || ring_rec_verify(r))
			return fail("a record of another disk or with a bad crc");
		if (r->offset > disk_size || r->len > disk_size - r->offset)
			return fail("a record beyond the end of the disk");
		if (r->op == FERRY_OP_FLUSH) {
			c->flush++;
			continue;
		}
		if (r->op == FERRY_OP_WRITE && !(r->flags & FERRY_REC_NODATA)) {
			memcpy(copy + r->offset, ring_rec_payload(r), r->len);
			c->data++;
			continue;
		}
		if (r->flags & FERRY_REC_NODATA) {
			if (!c->nodata++)
				c->first_nodata_seq = r->seq;
		}
		if (reread(r->offset, r->len))
			return fail("cannot re-read a NODATA/DIRTY range");
		c->reread++;
	}
	if (ret < 0)
		return fail("ring reader error");
	if (ferry_dev_consume(&d, ring_reader_pos(&d.rd)))
		return fail("consume failed");
	return 0;
}

static int fetch(uint32_t flags, void *bm, uint64_t bytes,
		 struct ferry_fetch_dirty *fd)
{
	memset(fd, 0, sizeof(*fd));
	fd->disk_id = id;
	fd->flags = flags;
	fd->bitmap = (uintptr_t)bm;
	fd->bytes = bytes;
	return ioctl(d.fd, FERRY_IOC_FETCH_DIRTY, fd);
}

/* Re-read the range of every set bit into the copy. */
static int apply_bits(const uint8_t *bm, const struct ferry_fetch_dirty *fd)
{
	uint64_t i;

	for (i = 0; i < fd->nbits; i++) {
		uint64_t off = i * fd->granule, len = fd->granule;

		if (!(bm[i / 8] & (1u << (i % 8))))
			continue;
		if (len > disk_size - off)
			len = disk_size - off;
		if (reread(off, len))
			return fail("cannot re-read a bitmap range");
	}
	return 0;
}

static int degraded(struct ferry_stats *st)
{
	struct replay_counts c;
	struct ferry_fetch_dirty fd;
	uint8_t *bm, *now;
	char h1[65], h2[65];

	if (ferry_dev_stats(&d, id, st))
		return fail("stats failed");
	printf("after the writer: mode %u mode_changes %llu to_metadata %llu to_bitmap %llu nodata_records %llu dirty_bits %llu granule %llu bitmap_bytes %llu records %llu drops %llu\n",
	       st->mode, (unsigned long long)st->mode_changes,
	       (unsigned long long)st->to_metadata,
	       (unsigned long long)st->to_bitmap,
	       (unsigned long long)st->nodata_records,
	       (unsigned long long)st->dirty_bits,
	       (unsigned long long)st->bitmap_granule,
	       (unsigned long long)st->bitmap_bytes,
	       (unsigned long long)st->records, (unsigned long long)st->drops);
	if (st->to_metadata < 1 || st->to_bitmap < 1 || !st->nodata_records ||
	    !st->dirty_bits || st->mode != FERRY_MODE_BITMAP)
		return fail("the disk did not go through metadata and bitmap mode");
	if (st->drops || (st->state & FERRY_DISK_RESYNC))
		return fail("writes were dropped or the disk needs a resync");
	if (sysfs_is("mode", "bitmap") || sysfs_is("to_bitmap", "1"))
		return fail("sysfs does not show bitmap mode");
	if (st->bitmap_granule != 4096 ||
	    st->bitmap_bytes < (disk_size / 4096 + 7) / 8)
		return fail("bitmap granule or size wrong");

	if (replay(&c))
		return 1;
	printf("ring: %llu records with data, %llu NODATA (first seq %llu), %llu ranges re-read, %llu flushes\n",
	       (unsigned long long)c.data, (unsigned long long)c.nodata,
	       (unsigned long long)c.first_nodata_seq,
	       (unsigned long long)c.reread, (unsigned long long)c.flush);
	if (!c.data || c.nodata != st->nodata_records)
		return fail("the ring does not hold the records counted");

	bm = calloc(1, st->bitmap_bytes);
	if (!bm || fetch(0, bm, st->bitmap_bytes, &fd))
		return fail("FETCH_DIRTY failed");
	printf("fetched %llu bits of %llu bytes, mode %u\n",
	       (unsigned long long)fd.taken, (unsigned long long)fd.granule,
	       fd.mode);
	if (fd.taken != st->dirty_bits || fd.mode != FERRY_MODE_DATA)
		return fail("FETCH_DIRTY did not take every bit or stayed degraded");
	if (apply_bits(bm, &fd))
		return 1;
	free(bm);

	now = aligned_alloc(4096, disk_size);
	if (!now)
		return fail("no memory");
	memcpy(now, copy, disk_size);	/* copy is reread into below */
	if (reread(0, disk_size))
		return fail("cannot read the disk");
	sha256_hex(now, disk_size, h1);
	sha256_hex(copy, disk_size, h2);
	printf("rebuilt from the stream %s\ndisk now               %s\n", h1, h2);
	free(now);
	if (strcmp(h1, h2))
		return fail("the stream does not rebuild the disk: a write was lost");
	return 0;
}

static int write_block(uint64_t off)
{
	void *buf;
	int fd = open(getenv("FERRY_MODES_DISK"), O_WRONLY | O_DIRECT);
	int ret = -1;

	if (fd < 0 || posix_memalign(&buf, 4096, 4096))
		return -1;
	memset(buf, 0x5a, 4096);
	if (pwrite(fd, buf, 4096, (off_t)off) == 4096 && !fdatasync(fd))
		ret = 0;
	free(buf);
	close(fd);
	return ret;
}

static int data_again_then_park(const struct ferry_stats *before)
{
	struct ferry_park pk = { .disk_id = id };
	struct ferry_fetch_dirty fd;
	struct replay_counts c;
	struct ferry_stats st;
	uint8_t *bm = calloc(1, before->bitmap_bytes);

	if (!bm || ferry_dev_stats(&d, id, &st))
		return fail("stats failed");
	if (st.mode != FERRY_MODE_DATA || st.dirty_bits)
		return fail("not back in data mode after consume and FETCH_DIRTY");
	if (sysfs_is("mode", "data") || sysfs_is("dirty_bits", "0") ||
	    sysfs_is("bitmap_granule", "4096"))
		return fail("sysfs does not show data mode");
	if (write_block(0) || replay(&c) || c.data < 1)
		return fail("a write in data mode was not captured with its data");

	if (ioctl(d.fd, FERRY_IOC_PARK, &pk) || ferry_dev_stats(&d, id, &st) ||
	    st.mode != FERRY_MODE_BITMAP || st.to_bitmap != before->to_bitmap + 1)
		return fail("PARK did not turn the disk to bitmap mode");
	if (write_block(1 << 20) || replay(&c) || c.data || c.reread)
		return fail("a parked disk's write went to the ring");
	if (ferry_dev_stats(&d, id, &st) || st.dirty_bits != 1)
		return fail("a parked disk's write did not set one bit");
	if (fetch(FERRY_FETCH_KEEP_MODE, bm, before->bitmap_bytes, &fd) ||
	    fd.taken != 1 || fd.mode != FERRY_MODE_BITMAP ||
	    !(bm[(1 << 20) / 4096 / 8] & (1u << ((1 << 20) / 4096 % 8))))
		return fail("FETCH_DIRTY(KEEP_MODE) did not take the bit in bitmap mode");
	if (ferry_dev_stats(&d, id, &st) || st.mode != FERRY_MODE_BITMAP ||
	    st.dirty_bits)
		return fail("KEEP_MODE left bitmap mode or a bit");
	if (fetch(0, bm, before->bitmap_bytes, &fd) || fd.taken ||
	    fd.mode != FERRY_MODE_DATA)
		return fail("FETCH_DIRTY after PARK did not return to data mode");
	printf("park: bitmap mode, 1 bit fetched with KEEP_MODE, data mode after a plain fetch\n");
	free(bm);
	return 0;
}

int main(int argc, char **argv)
{
	struct ferry_stats st;
	struct ferry_attach at;
	struct stat sb;

	if (argc < 4 || strcmp(argv[2], "--") || stat(argv[1], &sb))
		return fail("usage: ferry-test-modes DISK -- WRITER [ARGS...]");
	setenv("FERRY_MODES_DISK", argv[1], 1);
	if (ferry_dev_open(&d, NULL, RING_BYTES) || d.rd.size != RING_BYTES)
		return fail("cannot set up a 1 MiB ring");
	if (ferry_dev_attach(&d, sb.st_rdev, &at))
		return fail("attach failed");
	id = at.disk_id;
	disk_size = at.size_bytes;
	disk_fd = open(argv[1], O_RDONLY | O_DIRECT);
	copy = aligned_alloc(4096, disk_size);
	if (disk_fd < 0 || !copy || reread(0, disk_size))
		return fail("cannot copy the disk at attach");
	if (run(argv + 3))
		return fail("the writer failed");
	if (degraded(&st) || data_again_then_park(&st))
		return 1;
	if (ferry_dev_detach(&d, id))
		return fail("detach failed");
	munmap(d.map, d.map_len);
	d.map = NULL;
	if (ioctl(d.fd, FERRY_IOC_RING_TEARDOWN))
		return fail("teardown failed");
	ferry_dev_close(&d);
	printf("ferry-test-modes: ok\n");
	return 0;
}
