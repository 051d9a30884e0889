// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/ferry for ferryd: ring mapping, attach/detach by stable identity,
 * and invariant 7: the spool's own writes are excluded from capture.
 *
 * Exclusion: the spool files are preallocated and zero-filled once, so on
 * ext4 and xfs their extents never move afterwards.  FIEMAP gives them
 * relative to the file system's block device; a partition adds its start
 * to make them whole-disk offsets.  A spool on a stacked device (LVM, md)
 * cannot be mapped this way: ferryd says so and its writes stay tracked.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dev.h"

#define FIEMAP_BATCH	128

static int dev_consume(struct ring_src *rs, uint64_t pos)
{
	struct dev *dv = rs->ctx;

	return ferry_dev_consume(&dv->kdev, pos);
}

static void fill_hrl_disk(const struct dev_disk *dd, struct hrl_disk *hd)
{
	memset(hd, 0, sizeof(*hd));
	hd->id = dd->kid;
	memcpy(hd->uuid, dd->id.uuid, sizeof(hd->uuid));
	hd->size_bytes = dd->size_bytes;
	hd->lbs = dd->lbs;
}

/* Disks for a segment header: every disk the kernel has attached. */
static int dev_disks(struct ring_src *rs, struct hrl_disk *out,
		     unsigned int max)
{
	struct dev *dv = rs->ctx;
	struct ferry_list_entry ents[FERRY_MAX_DISKS];
	unsigned int i, j, n = 0;
	int nr;

	nr = ferry_dev_list(&dv->kdev, ents, FERRY_MAX_DISKS);
	if (nr < 0)
		return nr;
	if (nr > (int)FERRY_MAX_DISKS)
		nr = FERRY_MAX_DISKS;
	pthread_mutex_lock(&dv->lock);
	for (i = 0; i < (unsigned int)nr && n < max; i++) {
		for (j = 0; j < dv->nr_disks; j++)
			if (dv->disks[j].kid == ents[i].disk_id)
				break;
		if (j < dv->nr_disks) {
			fill_hrl_disk(&dv->disks[j], &out[n++]);
		} else {
			/* attached by someone else: id only */
			memset(&out[n], 0, sizeof(out[n]));
			out[n++].id = ents[i].disk_id;
		}
	}
	pthread_mutex_unlock(&dv->lock);
	return n;
}

int dev_open(struct dev *dv, const char *path, uint64_t ring_bytes,
	     char *why, size_t len)
{
	int r;

	memset(dv, 0, sizeof(*dv));
	pthread_mutex_init(&dv->lock, NULL);
	dv->sysfs = "/sys";
	r = ferry_dev_open(&dv->kdev, path, ring_bytes);
	if (r) {
		dv->kdev.fd = -1;
		snprintf(why, len, "%s: %s%s", path, strerror(-r),
			 r == -ENOENT ? " (is ferry.ko loaded?)" :
			 r == -EPROTO ? " (ferry.ko speaks another version)" : "");
		return r;
	}
	dv->rs.rd = &dv->kdev.rd;
	dv->rs.poll_fd = dv->kdev.fd;
	dv->rs.consume = dev_consume;
	dv->rs.disks = dev_disks;
	dv->rs.tick = dev_tick;
	dv->rs.ctx = dv;
	return 0;
}

void dev_close(struct dev *dv)
{
	if (dv->kdev.fd >= 0)
		ferry_dev_close(&dv->kdev);
	free(dv->bitmap);
	dv->bitmap = NULL;
	dv->bitmap_len = 0;
	dv->kdev.fd = -1;
}

int dev_stats(struct dev *dv, uint32_t kid, struct ferry_stats *st)
{
	memset(st, 0, sizeof(*st));
	return ferry_dev_stats(&dv->kdev, kid, st);
}

/* The ring disk_id the kernel gave dev, when already attached. */
static int find_attached(struct dev *dv, dev_t dev, uint32_t *kid)
{
	struct ferry_list_entry ents[FERRY_MAX_DISKS];
	int i, nr;

	nr = ferry_dev_list(&dv->kdev, ents, FERRY_MAX_DISKS);
	if (nr < 0)
		return nr;
	for (i = 0; i < nr && i < (int)FERRY_MAX_DISKS; i++) {
		if (ents[i].major == major(dev) && ents[i].minor == minor(dev)) {
			*kid = ents[i].disk_id;
			return 0;
		}
	}
	return -ENOENT;
}

static void sysfs_geometry(struct dev *dv, struct dev_disk *dd)
{
	char path[128], buf[32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/dev/block/%u:%u/size", dv->sysfs,
		 major(dd->id.dev), minor(dd->id.dev));
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f))
		dd->size_bytes = strtoull(buf, NULL, 10) * 512;
	if (f)
		fclose(f);
	snprintf(path, sizeof(path),
		 "%s/dev/block/%u:%u/queue/logical_block_size", dv->sysfs,
		 major(dd->id.dev), minor(dd->id.dev));
	f = fopen(path, "re");
	if (f && fgets(buf, sizeof(buf), f))
		dd->lbs = strtoul(buf, NULL, 10);
	if (f)
		fclose(f);
}

static struct dev_disk *find_disk(struct dev *dv, dev_t dev)
{
	unsigned int i;

	for (i = 0; i < dv->nr_disks; i++)
		if (dv->disks[i].id.dev == dev)
			return &dv->disks[i];
	return NULL;
}

/* Read back from the whole disk; a first protection starts its copy. */
static int dev_resync_add(struct dev *dv, const struct dev_disk *dd,
			  char *why, size_t len)
{
	char path[64];

	if (!dv->rsync)
		return 0;
	snprintf(path, sizeof(path), "/dev/%s", dd->id.name);
	return resync_add_disk(dv->rsync, dd->kid, path, dd->size_bytes,
			       dd->id.uuid, why, len);
}

int dev_attach(struct dev *dv, const char *spec, char *why, size_t len)
{
	struct ferry_attach a;
	struct dev_disk dd, *slot;
	int r;

	memset(&dd, 0, sizeof(dd));
	r = disk_resolve(dv->sysfs, spec, &dd.id, why, len);
	if (r)
		return r;
	snprintf(dd.spec, sizeof(dd.spec), "%s", spec);
	memset(&a, 0, sizeof(a));
	r = ferry_dev_attach(&dv->kdev, dd.id.dev, &a);
	if (!r) {
		dd.kid = a.disk_id;
		dd.size_bytes = a.size_bytes;
		dd.lbs = a.lbs;
	} else if ((r == -EEXIST || r == -EBUSY) &&
		   !find_attached(dv, dd.id.dev, &dd.kid)) {
		sysfs_geometry(dv, &dd);	/* adopted after a restart */
	} else {
		snprintf(why, len, "attach %s (/dev/%s): %s", spec, dd.id.name,
			 strerror(-r));
		return r;
	}
	pthread_mutex_lock(&dv->lock);
	slot = find_disk(dv, dd.id.dev);
	if (!slot && dv->nr_disks < 64)
		slot = &dv->disks[dv->nr_disks++];
	if (slot)
		*slot = dd;
	pthread_mutex_unlock(&dv->lock);
	if (!slot) {
		snprintf(why, len, "attach %s: ferryd tracks 64 disks at most",
			 spec);
		return -E2BIG;
	}
	/* exclusion first: the spool's writes must not reach the ring */
	r = dev_exclude_spool(dv, slot, why, len);
	if (r < 0)
		return r;
	r = dev_resync_add(dv, &dd, why, len);
	if (r || !slot->nr_excluded || !dv->rsync)
		return r;
	/* again, now that resync knows the disk: it must skip them too */
	r = dev_exclude_spool(dv, slot, why, len);
	return r < 0 ? r : 0;
}

int dev_detach(struct dev *dv, const char *spec, char *why, size_t len)
{
	struct disk_id id;
	struct dev_disk *dd;
	uint32_t kid;
	int r;

	r = disk_resolve(dv->sysfs, spec, &id, why, len);
	if (r)
		return r;
	r = find_attached(dv, id.dev, &kid);
	if (r) {
		snprintf(why, len, "detach %s (/dev/%s): not attached", spec,
			 id.name);
		return -ENOENT;
	}
	r = ferry_dev_detach(&dv->kdev, kid);
	if (r) {
		snprintf(why, len, "detach %s (/dev/%s): %s", spec, id.name,
			 strerror(-r));
		return r;
	}
	pthread_mutex_lock(&dv->lock);
	dd = find_disk(dv, id.dev);
	if (dd)
		*dd = dv->disks[--dv->nr_disks];
	pthread_mutex_unlock(&dv->lock);
	if (dv->rsync)
		resync_remove_disk(dv->rsync, kid);
	return 0;
}

/* Extents being gathered for one disk. */
struct excl {
	struct ferry_extent ext[FERRY_MAX_EXCLUDE];
	unsigned int n;
	uint64_t part_start;
	char *why;
	size_t len;
};

static int add_extent(struct excl *x, uint64_t off, uint64_t len)
{
	struct ferry_extent *last = x->n ? &x->ext[x->n - 1] : NULL;

	if (last && last->offset + last->len == off) {
		last->len += len;
		return 0;
	}
	if (x->n == FERRY_MAX_EXCLUDE)
		return -E2BIG;
	x->ext[x->n].offset = off;
	x->ext[x->n++].len = len;
	return 0;
}

#define FIEMAP_BAD (FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | \
		    FIEMAP_EXTENT_ENCODED | FIEMAP_EXTENT_DATA_INLINE | \
		    FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_UNWRITTEN | \
		    FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_NOT_ALIGNED)

static int fiemap_file(const char *path, int fd, void *arg)
{
	struct excl *x = arg;
	size_t sz = sizeof(struct fiemap) +
		    FIEMAP_BATCH * sizeof(struct fiemap_extent);
	struct fiemap *fm = malloc(sz);
	uint64_t start = 0;
	unsigned int i;
	int r = 0;
	bool last = false;

	if (!fm)
		return -ENOMEM;
	while (!last && !r) {
		memset(fm, 0, sz);
		fm->fm_start = start;
		fm->fm_length = FIEMAP_MAX_OFFSET - start;
		fm->fm_flags = FIEMAP_FLAG_SYNC;
		fm->fm_extent_count = FIEMAP_BATCH;
		if (ioctl(fd, FS_IOC_FIEMAP, fm)) {
			r = -errno;
			snprintf(x->why, x->len, "%s: FIEMAP: %s", path,
				 strerror(errno));
			break;
		}
		if (!fm->fm_mapped_extents)
			break;
		for (i = 0; i < fm->fm_mapped_extents && !r; i++) {
			struct fiemap_extent *e = &fm->fm_extents[i];

			if (e->fe_flags & FIEMAP_BAD) {
				snprintf(x->why, x->len,
					 "%s: extent at %llu has flags %#x: cannot be excluded (use ext4 or xfs)",
					 path, (unsigned long long)e->fe_logical,
					 e->fe_flags);
				r = -EOPNOTSUPP;
				break;
			}
			r = add_extent(x, x->part_start + e->fe_physical,
				       e->fe_length);
			if (r)
				snprintf(x->why, x->len,
					 "spool: more than %u extents; use fewer, larger slots",
					 FERRY_MAX_EXCLUDE);
			last = e->fe_flags & FIEMAP_EXTENT_LAST;
			start = e->fe_logical + e->fe_length;
		}
	}
	free(fm);
	return r;
}

static int stat_first(const char *path, int fd, void *arg)
{
	(void)path;
	return fstat(fd, arg) ? -errno : 1;
}

int dev_spool_disk(const char *sysfs, struct spool *sp, dev_t *fs_dev,
		   dev_t *whole, uint64_t *start)
{
	struct stat st;

	if (spool_for_each_file(sp, stat_first, &st) != 1)
		return -EIO;
	*fs_dev = st.st_dev;
	return disk_whole(sysfs, st.st_dev, whole, start);
}

/* FIEMAP what walk() hands to fiemap_file(), partition start added. */
static int gather(uint64_t start, int (*walk)(void *ctx, struct excl *x),
		  void *ctx, struct ferry_extent *ext, unsigned int *n,
		  char *why, size_t len)
{
	struct excl *x = calloc(1, sizeof(*x));
	int r;

	if (!x)
		return -ENOMEM;
	x->part_start = start;
	x->why = why;
	x->len = len;
	r = walk(ctx, x);
	if (!r) {
		memcpy(ext, x->ext, x->n * sizeof(*ext));
		*n = x->n;
	}
	free(x);
	return r;
}

static int walk_spool(void *ctx, struct excl *x)
{
	return spool_for_each_file(ctx, fiemap_file, x);
}

int dev_spool_extents(const char *sysfs, struct spool *sp,
		      struct ferry_extent *ext, unsigned int *n,
		      char *why, size_t len)
{
	dev_t fs_dev, whole;
	uint64_t start;
	int r;

	r = dev_spool_disk(sysfs, sp, &fs_dev, &whole, &start);
	if (r) {
		snprintf(why, len, "spool: not on a block device ferryd knows");
		return r;
	}
	return gather(start, walk_spool, sp, ext, n, why, len);
}

struct one_file {
	const char *path;
	int fd;
};

static int walk_one(void *ctx, struct excl *x)
{
	struct one_file *f = ctx;

	return fiemap_file(f->path, f->fd, x);
}

int dev_file_extents(const char *sysfs, const char *path, int fd,
		     struct ferry_extent *ext, unsigned int *n, dev_t *whole,
		     char *why, size_t len)
{
	struct one_file f = { .path = path, .fd = fd };
	struct stat st;
	uint64_t start;
	int r;

	if (fstat(fd, &st)) {
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return -errno;
	}
	r = disk_whole(sysfs, st.st_dev, whole, &start);
	if (r) {
		snprintf(why, len, "%s: not on a block device ferryd knows",
			 path);
		return r;
	}
	return gather(start, walk_one, &f, ext, n, why, len);
}

int dev_exclude_spool(struct dev *dv, struct dev_disk *dd, char *why,
		      size_t len)
{
	struct ferry_exclude ex;
	struct ferry_extent *ext;
	dev_t fs_dev, whole;
	uint64_t start;
	unsigned int n = 0;
	int r;

	if (!dv->sp ||
	    dev_spool_disk(dv->sysfs, dv->sp, &fs_dev, &whole, &start))
		return 0;	/* not on a block device (tmpfs, ...) */
	if (whole != dd->id.dev) {
		char name[32];

		if (!disk_name(dv->sysfs, fs_dev, name, sizeof(name)) &&
		    (!strncmp(name, "dm-", 3) || !strncmp(name, "md", 2)))
			fprintf(stderr,
				"ferryd: spool on /dev/%s (stacked): its writes cannot be excluded and are tracked if %s is below it\n",
				name, dd->spec);
		return 0;
	}
	ext = calloc(FERRY_MAX_EXCLUDE, sizeof(*ext));
	if (!ext)
		return -ENOMEM;
	r = dev_spool_extents(dv->sysfs, dv->sp, ext, &n, why, len);
	if (!r) {
		memset(&ex, 0, sizeof(ex));
		ex.disk_id = dd->kid;
		ex.count = n;
		ex.extents = (uintptr_t)ext;
		if (ioctl(dv->kdev.fd, FERRY_IOC_EXCLUDE, &ex)) {
			r = -errno;
			if (r == -EOPNOTSUPP || r == -ENOTTY)
				snprintf(why, len,
					 "%s holds the spool, and this ferry.ko cannot exclude ranges (no FERRY_FEAT_EXCLUDE): its writes would be tracked; move spool.dir to another disk or update ferry.ko",
					 dd->spec);
			else
				snprintf(why, len, "exclude the spool on %s: %s",
					 dd->spec, strerror(errno));
		} else {
			r = n;
			dd->nr_excluded = n;
			/* nor re-read: the replica keeps its own blocks there */
			if (dv->rsync)
				resync_set_exclude(dv->rsync, dd->kid, ext, n);
		}
	}
	free(ext);
	return r;
}

void dev_unexclude_all(struct dev *dv)
{
	struct ferry_exclude ex;
	unsigned int i;

	pthread_mutex_lock(&dv->lock);
	for (i = 0; i < dv->nr_disks; i++) {
		if (!dv->disks[i].nr_excluded)
			continue;
		memset(&ex, 0, sizeof(ex));
		ex.disk_id = dv->disks[i].kid;
		if (ioctl(dv->kdev.fd, FERRY_IOC_EXCLUDE, &ex))
			fprintf(stderr, "ferryd: %s: clearing the spool's exclusion: %s\n",
				dv->disks[i].spec, strerror(errno));
		else
			dv->disks[i].nr_excluded = 0;
	}
	pthread_mutex_unlock(&dv->lock);
}

/* ---- degraded modes: the drain thread's look at the kernel ------------ */

/* Queue the runs of set bits of a fetched bitmap. */
static void queue_bits(struct dev *dv, uint32_t kid,
		       const struct ferry_fetch_dirty *f)
{
	uint64_t i = 0, start;

	while (i < f->nbits) {
		if (!(dv->bitmap[i / 8] & (1u << (i % 8)))) {
			i++;
			continue;
		}
		for (start = i; i < f->nbits &&
		     (dv->bitmap[i / 8] & (1u << (i % 8))); i++)
			;
		resync_queue(dv->rsync, kid, start * f->granule,
			     (i - start) * f->granule, RESYNC_BITMAP);
	}
}

static void fetch_dirty(struct dev *dv, uint32_t kid,
			const struct ferry_stats *ks)
{
	struct ferry_fetch_dirty f;
	int r;

	if (ks->bitmap_bytes > dv->bitmap_len) {
		uint8_t *b = realloc(dv->bitmap, ks->bitmap_bytes);

		if (!b)
			return;		/* the bits stay set: next time */
		dv->bitmap = b;
		dv->bitmap_len = ks->bitmap_bytes;
	}
	memset(dv->bitmap, 0, dv->bitmap_len);
	r = ferry_dev_fetch_dirty(&dv->kdev, kid, 0, dv->bitmap,
				  dv->bitmap_len, &f);
	if (r) {
		fprintf(stderr, "ferryd: disk %u: fetching the dirty bitmap: %s\n",
			kid, ferry_dev_ioc_strerror(r));
		return;
	}
	if (f.taken)
		queue_bits(dv, kid, &f);
}

unsigned int dev_tick(struct ring_src *rs, bool *hold)
{
	struct dev *dv = rs->ctx;
	uint32_t kids[64];
	struct ferry_stats ks;
	unsigned int i, n;
	bool degraded = false, busy = false;

	pthread_mutex_lock(&dv->lock);
	for (n = 0; n < dv->nr_disks; n++)
		kids[n] = dv->disks[n].kid;
	pthread_mutex_unlock(&dv->lock);
	for (i = 0; i < n; i++) {
		if (dev_stats(dv, kids[i], &ks))
			continue;
		if (ks.mode != FERRY_MODE_DATA)
			degraded = true;
		if (ks.mode != FERRY_MODE_DATA || ks.dirty_bits ||
		    (ks.state & FERRY_DISK_RESYNC))
			busy = true;
		if ((ks.dirty_bits || ks.mode == FERRY_MODE_BITMAP) &&
		    dv->rsync && !dv->parked)
			fetch_dirty(dv, kids[i], &ks);
		if ((ks.state & FERRY_DISK_RESYNC) &&
		    !ferry_dev_clear_resync(&dv->kdev, kids[i])) {
			fprintf(stderr, "ferryd: disk %u: writes could not be tracked: hash-compare resync requested\n",
				kids[i]);
			if (dv->on_resync_flag)
				dv->on_resync_flag(dv, kids[i]);
		}
	}
	if (dv->busy && dv->busy(dv))
		busy = true;
	dv->degraded = degraded;
	*hold = busy;
	return degraded || busy ? 100 : 1000;
}
