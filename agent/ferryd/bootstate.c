// SPDX-License-Identifier: GPL-2.0
/*
 * The boot-state file: what ferryd needs at boot to resume protection
 * without a full resync (docs/boot.md).  SPOOL_DIR/bootstate, made by
 * spool_bootstate_open() (preallocated, zero-filled, excluded from capture
 * with the spool), native-endian (it never leaves the machine):
 *
 *   0                                 table_bytes   bitmap_off of disk 1
 *   +--------+---------+---------+----+-------------+-------------+--
 *   | header | disk 0  | disk 1  |... | bitmap 0    | bitmap 1    | ...
 *   +--------+---------+---------+----+-------------+-------------+--
 *
 *   header (128 bytes): magic "FRYBOOT1" | version | state | nr_disks |
 *          table_bytes | file_bytes | time_ns | machine_id[16] |
 *          boot_id[16] | seq_base | zero | crc32c of the table with this
 *          field 0
 *   disk (64 bytes): uuid[16] | size | granule | nbits | bitmap_off |
 *          bitmap_bytes u32 | crc32c of the bitmap u32 | bits set
 *
 * States: RUNNING (ferryd started in boot_id), PARKED (ferryd stopped
 * cleanly in boot_id: disks parked, ring drained and sealed), CLEAN
 * (shutdown-save took the bitmaps at the very end of boot_id).  Only CLEAN
 * saves bitmaps.  The table is written after the bitmaps are durable, and
 * its crc covers all of it: a torn write reads as unreadable, which counts
 * as an unclean shutdown.
 *
 * At shutdown the spool's file system is read-only or unmounted, so
 * shutdown-save writes through the whole disk at the file's extents:
 * FIEMAP when the file is still reachable, else the extents ferryd left
 * in BS_MAP (in /run, which stays mounted until the end).
 */
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <ferry/crc32c.h>
#include <ferry/disk.h>
#include <ferry/ring.h>

#include "bootstate.h"
#include "ferryd.h"
#include "hashcmp.h"
#include "resync.h"

#define BS_MAGIC	"FRYBOOT1"
#define BS_VERSION	1u
#define BS_ALIGN	4096u
#define BS_MAX_BITS	(8ull << 20)	/* ferry.ko: at most 8 Mi bits a disk */
#define BS_MAX_FILE	(FERRY_MAX_DISKS * ((1ull << 20) + BS_ALIGN) + \
			 2 * BS_ALIGN)
#define BS_MAP		"/run/ferry-bootstate.map"
#define BS_ERRLEN	512

enum bs_state {
	BS_RUNNING	= 1,
	BS_PARKED	= 2,
	BS_CLEAN	= 3,
};

struct bs_hdr {
	char magic[8];
	uint32_t version;
	uint32_t state;
	uint32_t nr_disks;
	uint32_t table_bytes;
	uint64_t file_bytes;
	uint64_t time_ns;
	uint8_t machine_id[16];
	uint8_t boot_id[16];
	uint64_t seq_base;	/* ring seq + seq_base = stream seq, this boot */
	uint8_t zero[44];
	uint32_t crc;
};

struct bs_disk {
	uint8_t uuid[16];
	uint64_t size_bytes;
	uint64_t granule;
	uint64_t nbits;
	uint64_t bitmap_off;
	uint32_t bitmap_bytes;
	uint32_t bitmap_crc;
	uint64_t taken;
};

_Static_assert(sizeof(struct bs_hdr) == 128, "boot-state header is 128 bytes");
_Static_assert(sizeof(struct bs_disk) == 64, "boot-state disk entry is 64 bytes");

/* Where the file lies: its whole disk and extents, in file order. */
struct bs_where {
	dev_t whole;
	char dev_path[64];
	uint64_t file_bytes;
	struct ferry_extent ext[FERRY_MAX_EXCLUDE];
	unsigned int n;
};

/* The daemon's: the file between start and stop, disks attached early. */
static struct {
	int fd;
	uint64_t seq_base;
	dev_t early[FERRY_MAX_DISKS];
	unsigned int nr_early;
} bs = { .fd = -1 };

static uint64_t align_up(uint64_t v)
{
	return (v + BS_ALIGN - 1) & ~(uint64_t)(BS_ALIGN - 1);
}

static uint64_t table_bytes(unsigned int nr_disks)
{
	return align_up(sizeof(struct bs_hdr) +
			(uint64_t)nr_disks * sizeof(struct bs_disk));
}

static const char *state_name(uint32_t s)
{
	switch (s) {
	case BS_RUNNING:	return "RUNNING";
	case BS_PARKED:		return "PARKED";
	case BS_CLEAN:		return "CLEAN";
	}
	return "unknown";
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void *bs_alloc(uint64_t len)
{
	void *p;

	if (posix_memalign(&p, BS_ALIGN, align_up(len ? len : 1)))
		return NULL;
	memset(p, 0, align_up(len ? len : 1));
	return p;
}

/* This boot's id (the kernel's random boot_id, as 16 bytes). */
static void boot_id(uint8_t out[16])
{
	char buf[64];
	unsigned int i, n = 0;
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	memset(out, 0, 16);
	if (!f)
		return;
	if (fgets(buf, sizeof(buf), f)) {
		for (i = 0; buf[i] && n < 32; i++) {
			unsigned int v;

			if (sscanf(&buf[i], "%1x", &v) != 1)
				continue;
			out[n / 2] |= v << (n % 2 ? 0 : 4);
			n++;
		}
	}
	fclose(f);
}

static bool same_boot(const struct bs_hdr *h)
{
	uint8_t id[16];

	boot_id(id);
	return !memcmp(h->boot_id, id, 16);
}

static uint32_t table_crc(struct bs_hdr *h)
{
	uint32_t saved = h->crc, c;

	h->crc = 0;
	c = crc32c(0, h, h->table_bytes);
	h->crc = saved;
	return c;
}

static void hdr_init(struct bs_hdr *h, enum bs_state state,
		     const uint8_t machine_id[16], uint64_t file_bytes)
{
	memcpy(h->magic, BS_MAGIC, 8);
	h->version = BS_VERSION;
	h->state = state;
	h->table_bytes = table_bytes(h->nr_disks);
	h->file_bytes = file_bytes;
	h->time_ns = now_ns();
	memcpy(h->machine_id, machine_id, 16);
	boot_id(h->boot_id);
}

static struct bs_disk *hdr_disks(struct bs_hdr *h)
{
	return (struct bs_disk *)(h + 1);
}

/* Check a file image buf[0..size).  0, or -EBADMSG with why. */
static int bs_check(void *buf, uint64_t size, char *why, size_t len)
{
	struct bs_hdr *h = buf;
	struct bs_disk *d = hdr_disks(h);
	unsigned int i;

	if (size < BS_ALIGN || memcmp(h->magic, BS_MAGIC, 8)) {
		snprintf(why, len, "no boot state recorded (never written)");
		return -ENODATA;
	}
	if (h->version != BS_VERSION) {
		snprintf(why, len, "version %u, expected %u", h->version,
			 BS_VERSION);
		return -EBADMSG;
	}
	if (h->nr_disks > FERRY_MAX_DISKS || h->table_bytes % BS_ALIGN ||
	    h->table_bytes > size || table_bytes(h->nr_disks) > h->table_bytes) {
		snprintf(why, len, "table of %u disks in %u bytes: damaged",
			 h->nr_disks, h->table_bytes);
		return -EBADMSG;
	}
	if (table_crc(h) != h->crc) {
		snprintf(why, len, "crc mismatch in its table (torn write?)");
		return -EBADMSG;
	}
	for (i = 0; i < h->nr_disks; i++) {
		if (d[i].bitmap_off % BS_ALIGN ||
		    d[i].bitmap_off < h->table_bytes ||
		    d[i].bitmap_off + d[i].bitmap_bytes > size ||
		    (uint64_t)d[i].bitmap_bytes * 8 < d[i].nbits ||
		    !d[i].granule) {
			snprintf(why, len, "disk entry %u: bad geometry", i);
			return -EBADMSG;
		}
		if (crc32c(0, (char *)buf + d[i].bitmap_off,
			   d[i].bitmap_bytes) != d[i].bitmap_crc) {
			snprintf(why, len, "disk entry %u: bitmap crc mismatch", i);
			return -EBADMSG;
		}
	}
	return 0;
}

/* The file through the file system.  0 with *out (free it) or -errno. */
static int bs_read_file(const char *path, void **out, uint64_t *size,
			char *why, size_t len)
{
	struct stat st;
	void *buf = NULL;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(why, len, "%s", errno == ENOENT ? "no boot-state file" :
			 strerror(errno));
		return r;
	}
	if (fstat(fd, &st) || st.st_size < BS_ALIGN ||
	    (uint64_t)st.st_size > BS_MAX_FILE || st.st_size % BS_ALIGN) {
		snprintf(why, len, "size %lld is not a boot-state file's",
			 (long long)st.st_size);
		r = -EBADMSG;
	} else if (!(buf = bs_alloc(st.st_size))) {
		r = -ENOMEM;
	} else if (pread(fd, buf, st.st_size, 0) != st.st_size) {
		snprintf(why, len, "read: %s", strerror(errno ? errno : EIO));
		r = -EIO;
	}
	close(fd);
	if (!r)
		r = bs_check(buf, st.st_size, why, len);
	if (r) {
		free(buf);
		return r;
	}
	*out = buf;
	*size = st.st_size;
	return 0;
}

/* ---- the file's place on its disk ------------------------------------ */

static int where_from_file(struct ferryd *fd, const char *path,
			   struct bs_where *w, char *why, size_t len)
{
	char name[32];
	struct stat st;
	int f, r;

	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f < 0) {
		r = -errno;
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return r;
	}
	r = fstat(f, &st) ? -errno : 0;
	if (!r)
		r = dev_file_extents(fd->dv.sysfs ? fd->dv.sysfs : "/sys", path,
				     f, w->ext, &w->n, &w->whole, why, len);
	close(f);
	if (r)
		return r;
	w->file_bytes = st.st_size;
	if (disk_name("/sys", w->whole, name, sizeof(name))) {
		snprintf(why, len, "%s: no name for its disk %u:%u", path,
			 major(w->whole), minor(w->whole));
		return -ENODEV;
	}
	snprintf(w->dev_path, sizeof(w->dev_path), "/dev/%s", name);
	return 0;
}

/* BS_MAP: what shutdown-save needs when the file system is gone. */
static int where_save(const struct bs_where *w, const char *path)
{
	char tmp[] = BS_MAP ".new";
	unsigned int i;
	FILE *f = fopen(tmp, "we");

	if (!f)
		return -errno;
	fprintf(f, "file %s\nbytes %llu\ndisk %u:%u %s\n", path,
		(unsigned long long)w->file_bytes, major(w->whole),
		minor(w->whole), w->dev_path);
	for (i = 0; i < w->n; i++)
		fprintf(f, "extent %llu %llu\n",
			(unsigned long long)w->ext[i].offset,
			(unsigned long long)w->ext[i].len);
	if (fclose(f) || rename(tmp, BS_MAP)) {
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static int where_load(const char *path, struct bs_where *w, char *why,
		      size_t len)
{
	char line[300], file[256] = "";
	unsigned long long a, b;
	unsigned int ma, mi;
	FILE *f = fopen(BS_MAP, "re");

	if (!f) {
		snprintf(why, len, "%s unreachable and no %s: %s", path, BS_MAP,
			 strerror(errno));
		return -ENOENT;
	}
	w->n = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "file %255s", file) == 1)
			continue;
		if (sscanf(line, "bytes %llu", &a) == 1)
			w->file_bytes = a;
		else if (sscanf(line, "disk %u:%u %63s", &ma, &mi,
				w->dev_path) == 3)
			w->whole = makedev(ma, mi);
		else if (sscanf(line, "extent %llu %llu", &a, &b) == 2 &&
			 w->n < FERRY_MAX_EXCLUDE) {
			w->ext[w->n].offset = a;
			w->ext[w->n++].len = b;
		}
	}
	fclose(f);
	if (strcmp(file, path) || !w->n || !w->file_bytes) {
		snprintf(why, len, "%s: not about %s", BS_MAP, path);
		return -EINVAL;
	}
	return 0;
}

/*
 * The file's bytes [off, off + len) on the disk: the file has no holes
 * (preallocated and written), so extent i starts in the file where the
 * lengths before it end.  rw: 1 write, 0 read.  0 or -errno.
 */
static int bdev_io(int bfd, const struct bs_where *w, void *buf,
		   uint64_t off, uint64_t len, int rw)
{
	uint64_t lpos = 0, a, b;
	unsigned int i;
	ssize_t n;

	for (i = 0; i < w->n && len; i++) {
		a = off > lpos ? off : lpos;
		b = off + len < lpos + w->ext[i].len ? off + len :
		    lpos + w->ext[i].len;
		if (a < b) {
			void *p = (char *)buf + (a - off);
			uint64_t dpos = w->ext[i].offset + (a - lpos);

			n = rw ? pwrite(bfd, p, b - a, dpos) :
				 pread(bfd, p, b - a, dpos);
			if (n != (ssize_t)(b - a))
				return n < 0 ? -errno : -EIO;
		}
		lpos += w->ext[i].len;
	}
	return lpos >= off + len ? 0 : -ERANGE;
}

/* ---- ferryd early-attach ---------------------------------------------- */

int bootstate_early_attach(struct ferryd *fd)
{
	char why[BS_ERRLEN];
	unsigned int i, ok = 0;
	int r;

	r = dev_open(&fd->dv, fd->conf.device, fd->conf.ring_size, why,
		     sizeof(why));
	if (r) {
		fprintf(stderr, "ferryd: early-attach: %s\n", why);
		return 1;
	}
	for (i = 0; i < fd->conf.nr_disks; i++) {
		r = dev_attach(&fd->dv, fd->conf.disks[i], why, sizeof(why));
		if (r) {
			fprintf(stderr, "ferryd: early-attach: %s\n", why);
			continue;
		}
		ok++;
	}
	fprintf(stderr, "ferryd: early-attach: %u of %u disks attached, ring %llu bytes\n",
		ok, fd->conf.nr_disks,
		(unsigned long long)fd->dv.kdev.rd.size);
	dev_close(&fd->dv);
	return ok == fd->conf.nr_disks ? 0 : 1;
}

/* ---- ferryd shutdown-save --------------------------------------------- */

/* Why the end of this boot is not clean, "" when it is. */
static void clean_check(struct ferry_dev *kd, const struct bs_hdr *prev,
			char *why, size_t len)
{
	struct ferry_stats st;

	why[0] = 0;
	if (!prev)
		snprintf(why, len, "ferryd did not start in this boot");
	else if (!same_boot(prev))
		snprintf(why, len, "ferryd did not run in this boot (the file says %s of an earlier one)",
			 state_name(prev->state));
	else if (prev->state != BS_PARKED)
		snprintf(why, len, "ferryd did not stop cleanly (%s)",
			 state_name(prev->state));
	else if (kd->fd < 0)
		snprintf(why, len, "no ferry.ko");
	else if (ferry_dev_stats(kd, FERRY_DISK_ALL, &st))
		snprintf(why, len, "ferry.ko statistics: %s", strerror(errno));
	else if (st.ring_used)
		snprintf(why, len, "the ring still holds %llu bytes that are in no spool",
			 (unsigned long long)st.ring_used);
}

/* The attached ring disk of dev; 0 or -ENOENT. */
static int kid_of(struct ferry_dev *kd, dev_t dev, uint32_t *kid)
{
	struct ferry_list_entry e[FERRY_MAX_DISKS];
	int i, n = ferry_dev_list(kd, e, FERRY_MAX_DISKS);

	for (i = 0; i < n && i < (int)FERRY_MAX_DISKS; i++) {
		if (makedev(e[i].major, e[i].minor) == dev) {
			*kid = e[i].disk_id;
			return 0;
		}
	}
	return -ENOENT;
}

static uint64_t disk_bytes(const struct disk_id *id)
{
	char path[64];
	uint64_t size = 0;
	int f;

	snprintf(path, sizeof(path), "/dev/%s", id->name);
	f = open(path, O_RDONLY | O_CLOEXEC);
	if (f >= 0 && ioctl(f, BLKGETSIZE64, &size))
		size = 0;
	if (f >= 0)
		close(f);
	return size;
}

/*
 * Take configured disk i's bitmap into the image at *off (advanced).
 * 0 saved, or -errno with why (the disk then has no entry: unclean).
 */
static int save_disk(struct ferryd *fd, struct ferry_dev *kd, unsigned int i,
		     void *img, uint64_t *off, uint64_t *bits, char *why,
		     size_t len)
{
	struct bs_hdr *h = img;
	struct bs_disk *d = &hdr_disks(h)[h->nr_disks];
	struct ferry_fetch_dirty fr;
	struct ferry_stats st;
	struct disk_id id;
	uint64_t bytes;
	uint32_t kid;
	int r;

	r = disk_resolve("/sys", fd->conf.disks[i], &id, why, len);
	if (r)
		return r;
	if (kid_of(kd, id.dev, &kid)) {
		snprintf(why, len, "%s: not attached", fd->conf.disks[i]);
		return -ENOENT;
	}
	r = ferry_dev_stats(kd, kid, &st) ? -errno : 0;
	if (!r && st.mode != FERRY_MODE_BITMAP) {
		snprintf(why, len, "%s: not parked (mode %u)", fd->conf.disks[i],
			 st.mode);
		return -EBUSY;
	}
	bytes = align_up(st.bitmap_bytes);
	if (!r && (!st.bitmap_bytes || *off + bytes > h->file_bytes)) {
		snprintf(why, len, "%s: its bitmap (%llu bytes) does not fit the file",
			 fd->conf.disks[i],
			 (unsigned long long)st.bitmap_bytes);
		return -ENOSPC;
	}
	if (!r)
		r = ferry_dev_fetch_dirty(kd, kid, FERRY_FETCH_KEEP_MODE,
					  (char *)img + *off, bytes, &fr);
	if (r) {
		snprintf(why, len, "%s: %s", fd->conf.disks[i],
			 ferry_dev_ioc_strerror(r));
		return r;
	}
	memcpy(d->uuid, id.uuid, 16);
	d->size_bytes = disk_bytes(&id);
	d->granule = fr.granule;
	d->nbits = fr.nbits;
	d->bitmap_off = *off;
	d->bitmap_bytes = bytes;
	d->bitmap_crc = crc32c(0, (char *)img + *off, bytes);
	d->taken = fr.taken;
	*bits += fr.taken * fr.granule;
	*off += bytes;
	h->nr_disks++;
	return 0;
}

/* Write the image (bitmaps, then the table) and read it back. */
static int bdev_store(const struct bs_where *w, void *img, char *why,
		      size_t len)
{
	struct bs_hdr *h = img;
	void *back = bs_alloc(w->file_bytes);
	int bfd, r;

	bfd = open(w->dev_path, O_RDWR | O_DIRECT | O_CLOEXEC);
	if (bfd < 0 || !back) {
		snprintf(why, len, "%s: %s", w->dev_path,
			 bfd < 0 ? strerror(errno) : "out of memory");
		free(back);
		if (bfd >= 0)
			close(bfd);
		return -EIO;
	}
	r = bdev_io(bfd, w, (char *)img + h->table_bytes, h->table_bytes,
		    w->file_bytes - h->table_bytes, 1);
	if (!r)
		r = fsync(bfd) ? -errno : 0;
	if (!r)
		r = bdev_io(bfd, w, img, 0, h->table_bytes, 1);
	if (!r)
		r = fsync(bfd) ? -errno : 0;
	if (r)
		snprintf(why, len, "write %s: %s", w->dev_path, strerror(-r));
	if (!r) {
		r = bdev_io(bfd, w, back, 0, w->file_bytes, 0);
		if (!r && memcmp(back, img, w->file_bytes))
			r = -EIO;
		if (r)
			snprintf(why, len, "%s: read back differs from what was written",
				 w->dev_path);
	}
	close(bfd);
	free(back);
	return r;
}

/* The previous table, read from the disk.  NULL if unreadable. */
static struct bs_hdr *bdev_prev(const struct bs_where *w)
{
	char why[BS_ERRLEN];
	void *buf = bs_alloc(w->file_bytes);
	int bfd = open(w->dev_path, O_RDONLY | O_DIRECT | O_CLOEXEC);

	if (bfd < 0 || !buf || bdev_io(bfd, w, buf, 0, w->file_bytes, 0) ||
	    bs_check(buf, w->file_bytes, why, sizeof(why))) {
		free(buf);
		buf = NULL;
	}
	if (bfd >= 0)
		close(bfd);
	return buf;
}

int bootstate_shutdown_save(struct ferryd *fd)
{
	static struct bs_where w;
	char why[BS_ERRLEN], path[300], unclean[BS_ERRLEN];
	struct ferry_dev kd = { .fd = -1 };
	struct bs_hdr *prev, *h;
	uint64_t off, bits = 0;
	unsigned int i;
	void *img;
	int r;

	snprintf(path, sizeof(path), "%s/" SPOOL_BOOTSTATE,
		 fd->conf.spool_dir);
	r = where_from_file(fd, path, &w, why, sizeof(why));
	if (r)
		r = where_load(path, &w, why, sizeof(why));
	if (r || w.file_bytes % BS_ALIGN || w.file_bytes > BS_MAX_FILE) {
		fprintf(stderr, "ferryd: shutdown-save: %s: nothing saved, the next boot hash-compares\n",
			r ? why : "bad file size");
		return 1;
	}
	img = bs_alloc(w.file_bytes);
	if (!img)
		return 1;
	prev = bdev_prev(&w);
	if (prev && prev->state == BS_CLEAN && same_boot(prev)) {
		fprintf(stderr, "ferryd: shutdown-save: already saved in this boot (CLEAN), kept\n");
		free(prev);
		free(img);
		return 0;
	}
	kd.fd = open(fd->conf.device, O_RDWR | O_CLOEXEC);
	clean_check(&kd, prev, unclean, sizeof(unclean));
	h = img;
	h->file_bytes = w.file_bytes;
	off = table_bytes(fd->conf.nr_disks);
	for (i = 0; !unclean[0] && i < fd->conf.nr_disks; i++) {
		if (save_disk(fd, &kd, i, img, &off, &bits, why, sizeof(why)))
			snprintf(unclean, sizeof(unclean), "%s", why);
	}
	if (unclean[0]) {
		memset(img, 0, w.file_bytes);
		h->nr_disks = 0;
	}
	hdr_init(h, unclean[0] ? BS_RUNNING : BS_CLEAN,
		 prev ? prev->machine_id : (uint8_t[16]){ 0 }, w.file_bytes);
	h->table_bytes = unclean[0] ? BS_ALIGN : table_bytes(fd->conf.nr_disks);
	h->seq_base = prev ? prev->seq_base : 0;
	h->crc = table_crc(h);
	r = bdev_store(&w, img, why, sizeof(why));
	if (kd.fd >= 0)
		close(kd.fd);
	if (r)
		fprintf(stderr, "ferryd: shutdown-save: %s\n", why);
	else if (unclean[0])
		fprintf(stderr, "ferryd: shutdown-save: not clean: %s; saved as RUNNING, the next boot hash-compares\n",
			unclean);
	else
		fprintf(stderr, "ferryd: shutdown-save: CLEAN: %u disks, %llu bytes marked dirty, saved to %s (%s, %u extents) and verified\n",
			h->nr_disks, (unsigned long long)bits, path,
			w.dev_path, w.n);
	free(prev);
	free(img);
	return r || unclean[0] ? 1 : 0;
}

/* ---- ferryd start and stop -------------------------------------------- */

void bootstate_probe(struct ferryd *fd)
{
	struct ferry_list_entry e[FERRY_MAX_DISKS];
	struct ferry_dev kd;
	int i, n;

	kd.fd = open(fd->conf.device, O_RDWR | O_CLOEXEC);
	if (kd.fd < 0)
		return;
	n = ferry_dev_list(&kd, e, FERRY_MAX_DISKS);
	for (i = 0; i < n && i < (int)FERRY_MAX_DISKS; i++)
		bs.early[bs.nr_early++] = makedev(e[i].major, e[i].minor);
	close(kd.fd);
}

static bool attached_early(dev_t dev)
{
	unsigned int i;

	for (i = 0; i < bs.nr_early; i++)
		if (bs.early[i] == dev)
			return true;
	return false;
}

/* Queue the set bits of a saved bitmap as ranges.  Bytes queued. */
static uint64_t queue_bits(struct resync *rs, uint32_t kid,
			   const struct bs_disk *d, const uint8_t *bm)
{
	uint64_t i, start, total = 0, end;

	for (i = 0; i < d->nbits; i++) {
		if (!(bm[i / 8] & (1u << (i % 8))))
			continue;
		start = i;
		while (i + 1 < d->nbits && (bm[(i + 1) / 8] & (1u << ((i + 1) % 8))))
			i++;
		end = (i + 1) * d->granule;
		if (end > d->size_bytes)
			end = d->size_bytes;
		if (end <= start * d->granule)
			continue;
		if (!resync_queue(rs, kid, start * d->granule,
				  end - start * d->granule, RESYNC_SHUTDOWN))
			total += end - start * d->granule;
	}
	return total;
}

static const struct bs_disk *find_entry(struct bs_hdr *h,
					const struct dev_disk *dd)
{
	unsigned int i;

	for (i = 0; h && h->state == BS_CLEAN && i < h->nr_disks; i++)
		if (!memcmp(hdr_disks(h)[i].uuid, dd->id.uuid, 16) &&
		    hdr_disks(h)[i].size_bytes == dd->size_bytes)
			return &hdr_disks(h)[i];
	return NULL;
}

/* Act on what the last shutdown left for disk dd. */
static void resume_disk(struct ferryd *fd, struct resync *rs,
			struct bs_hdr *prev, const char *prev_why,
			const struct dev_disk *dd, uint64_t *clean_bytes,
			unsigned int *clean_disks)
{
	const struct bs_disk *e = find_entry(prev, dd);
	const char *why;

	if (e && attached_early(dd->id.dev)) {
		*clean_bytes += queue_bits(rs, dd->kid, e,
					   (uint8_t *)prev + e->bitmap_off);
		(*clean_disks)++;
		return;
	}
	if (prev && same_boot(prev) && !e)
		return;		/* restarted in this boot: the ring kept all */
	if (!resync_initial_done(rs, dd->kid))
		return;		/* the initial copy does (or resumes) it all */
	if (e)
		why = "attached only now, not at boot: writes since boot are unknown";
	else if (prev && prev->state == BS_CLEAN)
		why = "not in the state saved at shutdown";
	else if (prev)
		why = prev->state == BS_PARKED ?
		      "stopped cleanly but the state was not saved at shutdown" :
		      "the last boot ended with ferryd running";
	else
		why = prev_why;
	fprintf(stderr, "ferryd: unclean shutdown detected on %s (%s): hash-compare resync\n",
		dd->spec, why);
	if (hashcmp_request(fd, dd->kid))
		fprintf(stderr, "ferryd: %s: hash-compare could not be queued\n",
			dd->spec);
}

/*
 * The ring of a new boot numbers its records from 0 again, while the
 * stream (spool, server) must go on: its records get seq_base added, the
 * end of what the spool sealed.  A restart within the boot keeps the base
 * it had (from the file).
 */
static void set_seq_base(struct ferryd *fd, const struct bs_hdr *prev)
{
	struct spool_stat ss;

	if (prev && same_boot(prev)) {
		bs.seq_base = prev->seq_base;
	} else {
		spool_get_stat(fd->sp, &ss);
		bs.seq_base = ss.end_seq;
	}
	fd->dr.seq_base = bs.seq_base;
	if (bs.seq_base)
		fprintf(stderr, "ferryd: stream: this boot's ring seq + %llu\n",
			(unsigned long long)bs.seq_base);
}

/* Bytes the file needs for the disks attached now. */
static uint64_t needed_bytes(struct ferryd *fd)
{
	struct ferry_stats st;
	uint64_t total = table_bytes(fd->dv.nr_disks), g, bm;
	unsigned int i;

	for (i = 0; i < fd->dv.nr_disks; i++) {
		bm = 0;
		if (!dev_stats(&fd->dv, fd->dv.disks[i].kid, &st))
			bm = st.bitmap_bytes;
		for (g = 4096; !bm && (fd->dv.disks[i].size_bytes + g - 1) / g >
		     BS_MAX_BITS; g <<= 1)
			;
		if (!bm)
			bm = ((fd->dv.disks[i].size_bytes + g - 1) / g + 7) / 8;
		total += align_up(bm);
	}
	return total;
}

static int write_state(enum bs_state state, const uint8_t machine_id[16],
		       char *why, size_t len)
{
	struct bs_hdr *h = bs_alloc(BS_ALIGN);
	struct stat st;
	int r = 0;

	if (!h)
		return -ENOMEM;
	if (fstat(bs.fd, &st))
		r = -errno;
	if (!r) {
		hdr_init(h, state, machine_id, st.st_size);
		h->seq_base = bs.seq_base;
		h->crc = table_crc(h);
		if (pwrite(bs.fd, h, BS_ALIGN, 0) != BS_ALIGN ||
		    fdatasync(bs.fd))
			r = errno ? -errno : -EIO;
	}
	if (r)
		snprintf(why, len, "boot-state file: writing %s: %s",
			 state_name(state), strerror(-r));
	free(h);
	return r;
}

int bootstate_prepare(struct ferryd *fd, char *why, size_t len)
{
	uint64_t n = fd->conf.nr_disks;
	char path[300];
	int r;

	snprintf(path, sizeof(path), "%s/" SPOOL_BOOTSTATE,
		 fd->conf.spool_dir);
	if (!access(path, F_OK))
		return 0;	/* bootstate_start() reads it first */
	r = spool_bootstate_open(fd->sp, table_bytes(n) +
				 n * align_up(BS_MAX_BITS / 8));
	if (r < 0) {
		snprintf(why, len, "boot-state file %s: %s", path,
			 strerror(-r));
		return r;
	}
	close(r);
	return 0;
}

int bootstate_start(struct ferryd *fd, struct resync *rs, char *why,
		    size_t len)
{
	static struct bs_where w;
	char path[300], prev_why[BS_ERRLEN] = "";
	struct bs_hdr *prev = NULL;
	uint64_t size = 0, clean_bytes = 0;
	unsigned int i, clean_disks = 0;
	void *buf = NULL;
	int r;

	snprintf(path, sizeof(path), "%s/" SPOOL_BOOTSTATE,
		 fd->conf.spool_dir);
	if (!bs_read_file(path, &buf, &size, prev_why, sizeof(prev_why)))
		prev = buf;
	if (prev)
		fprintf(stderr, "ferryd: boot state: %s, written %llu s ago%s, %u disks saved\n",
			state_name(prev->state),
			(unsigned long long)((now_ns() - prev->time_ns) / 1000000000ull),
			same_boot(prev) ? " in this boot" : " in an earlier boot",
			prev->nr_disks);
	else
		fprintf(stderr, "ferryd: boot state: %s\n", prev_why);
	if (!rs)
		fprintf(stderr, "ferryd: boot state: no resync engine: nothing re-read, nothing compared\n");
	set_seq_base(fd, prev);
	for (i = 0; rs && i < fd->dv.nr_disks; i++)
		resume_disk(fd, rs, prev, prev_why, &fd->dv.disks[i],
			    &clean_bytes, &clean_disks);
	if (clean_disks)
		fprintf(stderr, "ferryd: clean shutdown: %llu bytes marked dirty at shutdown queued for resync on %u disks; no full resync\n",
			(unsigned long long)clean_bytes, clean_disks);
	free(buf);
	r = spool_bootstate_open(fd->sp, needed_bytes(fd));
	if (r < 0) {
		snprintf(why, len, "boot-state file %s: %s", path, strerror(-r));
		return r;
	}
	bs.fd = r;
	/* a new file must be excluded like the spool before it is written */
	for (i = 0; i < fd->dv.nr_disks; i++) {
		r = dev_exclude_spool(&fd->dv, &fd->dv.disks[i], why, len);
		if (r < 0)
			return r;
	}
	r = write_state(BS_RUNNING, fd->dr.machine_id, why, len);
	if (r)
		return r;
	if (where_from_file(fd, path, &w, prev_why, sizeof(prev_why)) ||
	    where_save(&w, path))
		fprintf(stderr, "ferryd: boot-state file: its extents are not recorded in %s (%s): shutdown-save needs the file system then\n",
			BS_MAP, prev_why);
	return 0;
}

static volatile sig_atomic_t *stop_flag;
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig)
{
	(void)sig;
	alarmed = 1;
	if (stop_flag)
		*stop_flag = 1;
}

#define BS_DRAIN_S	60	/* longest the drain after the park may take */

int bootstate_stop(struct ferryd *fd, char *why, size_t len)
{
	struct sigaction sa = { .sa_handler = on_alarm };
	struct hashcmp_stat hs;
	struct spool_stat ss;
	struct ferry_stats st = { 0 };
	unsigned int i, tries;
	int r;

	if (bs.fd < 0 || !fd->dv.nr_disks)
		return 0;
	spool_get_stat(fd->sp, &ss);
	if (ss.full_since_ns) {
		fprintf(stderr, "ferryd: stop: the spool is full: disks not parked, the next boot hash-compares\n");
		return 0;
	}
	fd->dv.parked = true;	/* the drain's tick must not fetch the bits */
	for (i = 0; i < fd->dv.nr_disks; i++) {
		r = ferry_dev_park(&fd->dv.kdev, fd->dv.disks[i].kid);
		if (r) {
			snprintf(why, len, "park %s: %s", fd->dv.disks[i].spec,
				 ferry_dev_ioc_strerror(r));
			return r;
		}
	}
	fprintf(stderr, "ferryd: stop: %u disks parked, draining the ring\n",
		fd->dv.nr_disks);
	/* writes from here on are bits; drain what the ring holds, within
	 * BS_DRAIN_S (SIGALRM stops the drain like SIGTERM did) */
	stop_flag = &fd->stop;
	sigaction(SIGALRM, &sa, NULL);
	alarmed = 0;
	alarm(BS_DRAIN_S);
	for (tries = 0; tries < 10 && !alarmed; tries++) {
		fd->stop = 0;
		fd->dr.exit_when_idle = true;
		r = drain_run(&fd->dr, why, len);
		if (r || dev_stats(&fd->dv, FERRY_DISK_ALL, &st) ||
		    !st.ring_used)
			break;
	}
	alarm(0);
	if (r)
		return r;
	if (alarmed || st.ring_used) {
		fprintf(stderr, "ferryd: stop: the ring still holds %llu bytes (or re-reading did not finish) after %d s: not parked cleanly, the next boot compares\n",
			(unsigned long long)st.ring_used, BS_DRAIN_S);
		return 0;
	}
	hashcmp_get_stat(fd, &hs);
	if (hs.active || hs.pending) {
		fprintf(stderr, "ferryd: stop: a hash-compare did not finish: the next boot compares again\n");
		return 0;
	}
	r = write_state(BS_PARKED, fd->dr.machine_id, why, len);
	if (!r)
		fprintf(stderr, "ferryd: clean stop: %u disks parked, the ring drained to the spool\n",
			fd->dv.nr_disks);
	close(bs.fd);
	bs.fd = -1;
	return r;
}
