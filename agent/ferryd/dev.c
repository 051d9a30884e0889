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
	struct ferry_consume c = { .pos = pos };

	return ioctl(dv->fd, FERRY_IOC_CONSUME, &c) ? -errno : 0;
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
	struct ferry_list l = { .count = FERRY_MAX_DISKS,
				.entries = (uintptr_t)ents };
	unsigned int i, j, n = 0;

	if (ioctl(dv->fd, FERRY_IOC_LIST, &l))
		return -errno;
	pthread_mutex_lock(&dv->lock);
	for (i = 0; i < l.count && n < max; i++) {
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

static int map_ring(struct dev *dv, char *why, size_t len)
{
	const struct ferry_ring_hdr *h;
	size_t pg = sysconf(_SC_PAGESIZE);

	h = mmap(NULL, pg, PROT_READ, MAP_SHARED, dv->fd, 0);
	if (h == MAP_FAILED) {
		snprintf(why, len, "mmap ring header: %s", strerror(errno));
		return -errno;
	}
	if (h->magic != FERRY_RING_MAGIC || h->version != FERRY_UAPI_VERSION) {
		snprintf(why, len, "ring: magic %#x version %u, this ferryd speaks version %u",
			 h->magic, h->version, FERRY_UAPI_VERSION);
		munmap((void *)h, pg);
		return -EPROTO;
	}
	dv->map_len = h->hdr_size + h->data_size;
	munmap((void *)h, pg);
	dv->map = mmap(NULL, dv->map_len, PROT_READ, MAP_SHARED, dv->fd, 0);
	if (dv->map == MAP_FAILED) {
		dv->map = NULL;
		snprintf(why, len, "mmap ring (%zu bytes): %s", dv->map_len,
			 strerror(errno));
		return -errno;
	}
	h = dv->map;
	dv->rs.hdr = h;
	dv->rs.data = (const uint8_t *)dv->map + h->hdr_size;
	return 0;
}

int dev_open(struct dev *dv, const char *path, uint64_t ring_bytes,
	     char *why, size_t len)
{
	struct ferry_info info;
	int r;

	memset(dv, 0, sizeof(*dv));
	pthread_mutex_init(&dv->lock, NULL);
	dv->sysfs = "/sys";
	dv->fd = open(path, O_RDWR | O_CLOEXEC);
	if (dv->fd < 0) {
		snprintf(why, len, "%s: %s%s", path, strerror(errno),
			 errno == ENOENT ? " (is ferry.ko loaded?)" : "");
		return -errno;
	}
	memset(&info, 0, sizeof(info));
	if (ioctl(dv->fd, FERRY_IOC_INFO, &info)) {
		r = -errno;
		snprintf(why, len, "%s: FERRY_IOC_INFO: %s", path, strerror(errno));
		goto out_close;
	}
	if (!info.ring_bytes) {
		struct ferry_ring_setup rs = { .ring_bytes = ring_bytes };

		if (ioctl(dv->fd, FERRY_IOC_RING_SETUP, &rs) && errno != EBUSY) {
			r = -errno;
			snprintf(why, len, "%s: ring of %llu bytes: %s", path,
				 (unsigned long long)ring_bytes, strerror(errno));
			goto out_close;
		}
	}
	r = map_ring(dv, why, len);
	if (r)
		goto out_close;
	dv->rs.poll_fd = dv->fd;
	dv->rs.consume = dev_consume;
	dv->rs.disks = dev_disks;
	dv->rs.ctx = dv;
	return 0;

out_close:
	close(dv->fd);
	dv->fd = -1;
	return r;
}

void dev_close(struct dev *dv)
{
	if (dv->map)
		munmap(dv->map, dv->map_len);
	if (dv->fd >= 0)
		close(dv->fd);
	dv->fd = -1;
	dv->map = NULL;
}

int dev_stats(struct dev *dv, uint32_t kid, struct ferry_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->disk_id = kid;
	return ioctl(dv->fd, FERRY_IOC_STATS, st) ? -errno : 0;
}

/* The ring disk_id the kernel gave dev, when already attached. */
static int find_attached(struct dev *dv, dev_t dev, uint32_t *kid)
{
	struct ferry_list_entry ents[FERRY_MAX_DISKS];
	struct ferry_list l = { .count = FERRY_MAX_DISKS,
				.entries = (uintptr_t)ents };
	unsigned int i;

	if (ioctl(dv->fd, FERRY_IOC_LIST, &l))
		return -errno;
	for (i = 0; i < l.count; i++) {
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
	a.major = major(dd.id.dev);
	a.minor = minor(dd.id.dev);
	if (!ioctl(dv->fd, FERRY_IOC_ATTACH, &a)) {
		dd.kid = a.disk_id;
		dd.size_bytes = a.size_bytes;
		dd.lbs = a.lbs;
	} else if ((errno == EEXIST || errno == EBUSY) &&
		   !find_attached(dv, dd.id.dev, &dd.kid)) {
		sysfs_geometry(dv, &dd);	/* adopted after a restart */
	} else {
		r = -errno;
		snprintf(why, len, "attach %s (/dev/%s): %s", spec, dd.id.name,
			 strerror(errno));
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
	r = dev_exclude_spool(dv, slot, why, len);
	return r < 0 ? r : 0;
}

int dev_detach(struct dev *dv, const char *spec, char *why, size_t len)
{
	struct ferry_detach dt;
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
	memset(&dt, 0, sizeof(dt));
	dt.disk_id = kid;
	if (ioctl(dv->fd, FERRY_IOC_DETACH, &dt)) {
		r = -errno;
		snprintf(why, len, "detach %s (/dev/%s): %s", spec, id.name,
			 strerror(errno));
		return r;
	}
	pthread_mutex_lock(&dv->lock);
	dd = find_disk(dv, id.dev);
	if (dd)
		*dd = dv->disks[--dv->nr_disks];
	pthread_mutex_unlock(&dv->lock);
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

int dev_exclude_spool(struct dev *dv, struct dev_disk *dd, char *why,
		      size_t len)
{
	struct ferry_exclude ex;
	struct excl *x;
	struct stat st;
	dev_t whole;
	uint64_t start;
	int r;

	if (!dv->sp || spool_for_each_file(dv->sp, stat_first, &st) != 1)
		return 0;
	if (disk_whole(dv->sysfs, st.st_dev, &whole, &start))
		return 0;	/* not a block device we know (tmpfs, ...) */
	if (whole != dd->id.dev) {
		char name[32];

		if (!disk_name(dv->sysfs, st.st_dev, name, sizeof(name)) &&
		    (!strncmp(name, "dm-", 3) || !strncmp(name, "md", 2)))
			fprintf(stderr,
				"ferryd: spool on /dev/%s (stacked): its writes cannot be excluded and are tracked if %s is below it\n",
				name, dd->spec);
		return 0;
	}
	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->part_start = start;
	x->why = why;
	x->len = len;
	r = spool_for_each_file(dv->sp, fiemap_file, x);
	if (!r) {
		memset(&ex, 0, sizeof(ex));
		ex.disk_id = dd->kid;
		ex.count = x->n;
		ex.extents = (uintptr_t)x->ext;
		if (ioctl(dv->fd, FERRY_IOC_EXCLUDE, &ex)) {
			r = -errno;
			snprintf(why, len, "exclude the spool on %s: %s",
				 dd->spec, strerror(errno));
		} else {
			r = x->n;
			dd->nr_excluded = x->n;
		}
	}
	free(x);
	return r;
}
