// SPDX-License-Identifier: GPL-2.0
/*
 * ferry: attaching and detaching disks, hot removal, per-disk sysfs.
 *
 * Every function here runs under ferry.lock (the control mutex) unless said
 * otherwise.  The I/O path never takes that mutex: it finds attached disks
 * in an RCU-published array, double-buffered so that no allocation is
 * needed to detach:
 *
 *   ferry.lookup --> lookup_buf[i] { nr, disks[FERRY_MAX_DISKS] }
 *   update: fill lookup_buf[!i], publish it, synchronize_rcu(); afterwards
 *   no reader can still see lookup_buf[i], which the next update reuses.
 *
 * Attach: open a read reference on the whole disk (no exclusive claim, so
 * mkfs, LVM and md keep working), preallocate the tracker pool and the
 * dirty bitmap (the disk's fixed memory), publish, then drain the queue once: writes that passed the
 * hook before publication complete before ATTACH returns, so an initial
 * copy started afterwards sees them.
 *
 * Detach and removal: unpublish, synchronize_rcu() (no new trackers), wait
 * for inflight == 0 (trackers still complete and record normally; user
 * writes never wait for this), synchronize_rcu() again (the completion path
 * has left its read-side section), then close the disk and free the pool.
 * The dirty bitmap stays until DETACH: a removed disk's bits can still be
 * fetched.
 * A disk whose gendisk died (del_gendisk: hot removal) is found by a check
 * every second and at each STATS/LIST, released the same way and kept as
 * FERRY_DISK_GONE until userspace detaches it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/slab.h>
#include <linux/mm.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include "ferry_priv.h"

unsigned int ferry_pool_size = 4096;
module_param_named(max_inflight, ferry_pool_size, uint, 0444);
MODULE_PARM_DESC(max_inflight,
		 "writes tracked in flight per disk, preallocated at attach (count, default 4096, 64..65536); more are dropped and flag the disk for resync");

static struct ferry_lookup ferry_lookup_buf[2];
static unsigned int ferry_lookup_cur;

static void ferry_gone_fn(struct work_struct *work);
static DECLARE_DELAYED_WORK(ferry_gone_work, ferry_gone_fn);

static int ferry_pool_size_check(void)
{
	if (ferry_pool_size < 64 || ferry_pool_size > 65536) {
		pr_err("max_inflight=%u out of range 64..65536\n",
		       ferry_pool_size);
		return -EINVAL;
	}
	return 0;
}

/* Publish the set of attached disks that have FERRY_DF_PUBLISHED set. */
static void ferry_lookup_update(void)
{
	struct ferry_lookup *lk = &ferry_lookup_buf[!ferry_lookup_cur];
	unsigned int i;

	lk->nr = 0;
	for (i = 0; i < FERRY_MAX_DISKS; i++) {
		struct ferry_disk *disk = ferry.disks[i];

		if (disk && test_bit(FERRY_DF_PUBLISHED, &disk->flags))
			lk->disks[lk->nr++] = disk;
	}
	rcu_assign_pointer(ferry.lookup, lk);
	ferry_lookup_cur = !ferry_lookup_cur;
	synchronize_rcu();
}

u32 ferry_disk_state(struct ferry_disk *disk)
{
	return (test_bit(FERRY_DF_PUBLISHED, &disk->flags) ?
		FERRY_DISK_ATTACHED : 0) |
	       (test_bit(FERRY_DF_RESYNC, &disk->flags) ? FERRY_DISK_RESYNC : 0) |
	       (test_bit(FERRY_DF_GONE, &disk->flags) ? FERRY_DISK_GONE : 0);
}

static unsigned int ferry_nr_published(void)
{
	return rcu_dereference_protected(ferry.lookup,
					 lockdep_is_held(&ferry.lock))->nr;
}

static void ferry_disk_unpublish(struct ferry_disk *disk)
{
	clear_bit(FERRY_DF_PUBLISHED, &disk->flags);
	ferry_lookup_update();
	if (!ferry_nr_published() && ferry.hooked) {
		ferry_hook_unregister();
		ferry.hooked = false;
		cancel_delayed_work(&ferry_gone_work);
	}
}

/* Unpublished disk: wait for its writes in flight, then free its memory. */
static void ferry_disk_release(struct ferry_disk *disk)
{
	unsigned long flags;

	wait_event(disk->idle_wq, !atomic_read(&disk->inflight));
	synchronize_rcu();

	spin_lock_irqsave(&ferry.ring->lock, flags);
	ferry.gone_records += disk->counts.records;
	ferry.gone_bytes += disk->counts.bytes;
	spin_unlock_irqrestore(&ferry.ring->lock, flags);

	ferry_bdev_close(&disk->ref);
	kvfree(disk->trackers);
	disk->trackers = NULL;
	kvfree(rcu_dereference_protected(disk->excl, true));
	RCU_INIT_POINTER(disk->excl, NULL);
	set_bit(FERRY_DF_RELEASED, &disk->flags);
}

void ferry_disk_check_gone(void)
{
	unsigned int i;

	for (i = 0; i < FERRY_MAX_DISKS; i++) {
		struct ferry_disk *disk = ferry.disks[i];

		if (!disk || !test_bit(FERRY_DF_PUBLISHED, &disk->flags) ||
		    ferry_disk_live(disk->gd))
			continue;
		pr_warn("disk %u (%u:%u) was removed; capture stopped, detach it\n",
			disk->id, MAJOR(disk->dev), MINOR(disk->dev));
		set_bit(FERRY_DF_GONE, &disk->flags);
		set_bit(FERRY_DF_RESYNC, &disk->flags);
		ferry_disk_unpublish(disk);
		ferry_disk_release(disk);
	}
}

static void ferry_gone_fn(struct work_struct *work)
{
	/* Never wait for the mutex: detach cancels this work holding it. */
	if (mutex_trylock(&ferry.lock)) {
		ferry_disk_check_gone();
		mutex_unlock(&ferry.lock);
	}
	if (READ_ONCE(ferry.hooked))
		schedule_delayed_work(&ferry_gone_work, HZ);
}

struct ferry_disk *ferry_disk_find(u32 id)
{
	unsigned int i;

	for (i = 0; i < FERRY_MAX_DISKS; i++)
		if (ferry.disks[i] && ferry.disks[i]->id == id)
			return ferry.disks[i];
	return NULL;
}

void ferry_disk_stats(struct ferry_disk *disk, struct ferry_stats *st)
{
	unsigned long flags;

	st->state = ferry_disk_state(disk);
	st->major = MAJOR(disk->dev);
	st->minor = MINOR(disk->dev);
	st->mode = READ_ONCE(disk->mode);
	spin_lock_irqsave(&ferry.ring->lock, flags);
	st->records = disk->counts.records;
	st->bytes = disk->counts.bytes;
	spin_unlock_irqrestore(&ferry.ring->lock, flags);
	st->drops = atomic64_read(&disk->drops);
	st->drop_bytes = atomic64_read(&disk->drop_bytes);
	st->errors = atomic64_read(&disk->errors);
	st->inflight = atomic_read(&disk->inflight);
	st->mode_changes = atomic64_read(&disk->mode_changes);
	st->to_metadata = atomic64_read(&disk->to_metadata);
	st->to_bitmap = atomic64_read(&disk->to_bitmap);
	st->nodata_records = atomic64_read(&disk->nodata_records);
	/* a fetch subtracts before a racing writer adds: never below 0 */
	st->dirty_bits = max_t(s64, 0, atomic64_read(&disk->dirty));
	st->bitmap_granule = 1ULL << disk->granule_shift;
	st->bitmap_bytes = ferry_bitmap_bytes(disk);
}

/* -- exclusion (the agent's spool, invariant 7) -------------------------- */

static int ferry_extent_cmp(const void *a, const void *b)
{
	const struct ferry_extent *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Sort, check (non-empty, inside the disk), merge overlaps.  -EINVAL. */
static int ferry_excl_normalise(struct ferry_disk *disk, struct ferry_excl *ex)
{
	u32 i, n = 0;

	for (i = 0; i < ex->nr; i++)
		if (!ex->ext[i].len || ex->ext[i].offset > disk->size_bytes ||
		    ex->ext[i].len > disk->size_bytes - ex->ext[i].offset)
			return -EINVAL;
	sort(ex->ext, ex->nr, sizeof(ex->ext[0]), ferry_extent_cmp, NULL);
	for (i = 0; i < ex->nr; i++) {
		struct ferry_extent *last = n ? &ex->ext[n - 1] : NULL;

		if (last && ex->ext[i].offset <= last->offset + last->len)
			last->len = max(last->len, ex->ext[i].offset +
					ex->ext[i].len - last->offset);
		else
			ex->ext[n++] = ex->ext[i];
	}
	ex->nr = n;
	return 0;
}

/* Replace the disk's exclusion set with count extents from userspace. */
int ferry_disk_exclude(u32 id, u32 count, const struct ferry_extent __user *uext)
{
	struct ferry_disk *disk = ferry_disk_find(id);
	struct ferry_excl *ex = NULL, *old;
	int ret;

	if (!disk)
		return -ENOENT;
	if (!test_bit(FERRY_DF_PUBLISHED, &disk->flags))
		return -ENODEV;
	if (count > FERRY_MAX_EXCLUDE)
		return -EINVAL;
	if (count) {
		ex = kvmalloc(struct_size(ex, ext, count), GFP_KERNEL);
		if (!ex)
			return -ENOMEM;
		ex->nr = count;
		ret = -EFAULT;
		if (copy_from_user(ex->ext, uext, count * sizeof(ex->ext[0])))
			goto out_free;
		ret = ferry_excl_normalise(disk, ex);
		if (ret)
			goto out_free;
	}
	old = rcu_replace_pointer(disk->excl, ex, lockdep_is_held(&ferry.lock));
	synchronize_rcu();
	kvfree(old);
	return 0;

out_free:
	kvfree(ex);
	return ret;
}

/* Under rcu_read_lock(): is [offset, offset + len) wholly excluded? */
bool ferry_disk_excluded(struct ferry_disk *disk, u64 offset, u64 len)
{
	struct ferry_excl *ex = rcu_dereference(disk->excl);
	u32 lo = 0, hi;

	if (!ex)
		return false;
	hi = ex->nr;
	while (lo < hi) {		/* first extent starting after offset */
		u32 mid = lo + (hi - lo) / 2;

		if (ex->ext[mid].offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && offset + len <= ex->ext[lo - 1].offset + ex->ext[lo - 1].len;
}

/* -- sysfs: /sys/class/misc/ferry/disks/<id>/ ---------------------------- */

enum ferry_disk_attr_id {
	FDA_DEV, FDA_STATE, FDA_MODE, FDA_RECORDS, FDA_BYTES, FDA_DROPS,
	FDA_DROP_BYTES, FDA_ERRORS, FDA_INFLIGHT, FDA_SIZE, FDA_MODE_CHANGES,
	FDA_TO_METADATA, FDA_TO_BITMAP, FDA_NODATA_RECORDS, FDA_DIRTY_BITS,
	FDA_BITMAP_GRANULE, FDA_BITMAP_BYTES,
};

struct ferry_disk_attr {
	struct attribute attr;
	enum ferry_disk_attr_id id;
};

static ssize_t ferry_disk_attr_show(struct kobject *kobj,
				    struct attribute *attr, char *buf)
{
	struct ferry_disk *disk = container_of(kobj, struct ferry_disk, kobj);
	enum ferry_disk_attr_id id =
		container_of(attr, struct ferry_disk_attr, attr)->id;
	struct ferry_stats st = { };
	u32 state;

	ferry_disk_stats(disk, &st);
	state = st.state;
	switch (id) {
	case FDA_DEV:
		return sysfs_emit(buf, "%u:%u\n", st.major, st.minor);
	case FDA_STATE:
		return sysfs_emit(buf, "%s%s%s%s\n",
				  state & FERRY_DISK_ATTACHED ? "attached" : "detached",
				  state & FERRY_DISK_RESYNC ? " resync" : "",
				  state & FERRY_DISK_GONE ? " gone" : "", "");
	case FDA_MODE:
		return sysfs_emit(buf, "%s\n", ferry_mode_name(st.mode));
	case FDA_RECORDS:
		return sysfs_emit(buf, "%llu\n", st.records);
	case FDA_BYTES:
		return sysfs_emit(buf, "%llu\n", st.bytes);
	case FDA_DROPS:
		return sysfs_emit(buf, "%llu\n", st.drops);
	case FDA_DROP_BYTES:
		return sysfs_emit(buf, "%llu\n", st.drop_bytes);
	case FDA_ERRORS:
		return sysfs_emit(buf, "%llu\n", st.errors);
	case FDA_INFLIGHT:
		return sysfs_emit(buf, "%llu\n", st.inflight);
	case FDA_SIZE:
		return sysfs_emit(buf, "%llu\n", disk->size_bytes);
	case FDA_MODE_CHANGES:
		return sysfs_emit(buf, "%llu\n", st.mode_changes);
	case FDA_TO_METADATA:
		return sysfs_emit(buf, "%llu\n", st.to_metadata);
	case FDA_TO_BITMAP:
		return sysfs_emit(buf, "%llu\n", st.to_bitmap);
	case FDA_NODATA_RECORDS:
		return sysfs_emit(buf, "%llu\n", st.nodata_records);
	case FDA_DIRTY_BITS:
		return sysfs_emit(buf, "%llu\n", st.dirty_bits);
	case FDA_BITMAP_GRANULE:
		return sysfs_emit(buf, "%llu\n", st.bitmap_granule);
	case FDA_BITMAP_BYTES:
		return sysfs_emit(buf, "%llu\n", st.bitmap_bytes);
	}
	return -EINVAL;
}

#define FERRY_DISK_ATTR(_name, _id) \
	static struct ferry_disk_attr ferry_disk_attr_##_name = { \
		.attr = { .name = #_name, .mode = 0444 }, .id = _id }

FERRY_DISK_ATTR(dev, FDA_DEV);
FERRY_DISK_ATTR(state, FDA_STATE);
FERRY_DISK_ATTR(mode, FDA_MODE);
FERRY_DISK_ATTR(records, FDA_RECORDS);
FERRY_DISK_ATTR(bytes, FDA_BYTES);
FERRY_DISK_ATTR(drops, FDA_DROPS);
FERRY_DISK_ATTR(drop_bytes, FDA_DROP_BYTES);
FERRY_DISK_ATTR(errors, FDA_ERRORS);
FERRY_DISK_ATTR(inflight, FDA_INFLIGHT);
FERRY_DISK_ATTR(size_bytes, FDA_SIZE);
FERRY_DISK_ATTR(mode_changes, FDA_MODE_CHANGES);
FERRY_DISK_ATTR(to_metadata, FDA_TO_METADATA);
FERRY_DISK_ATTR(to_bitmap, FDA_TO_BITMAP);
FERRY_DISK_ATTR(nodata_records, FDA_NODATA_RECORDS);
FERRY_DISK_ATTR(dirty_bits, FDA_DIRTY_BITS);
FERRY_DISK_ATTR(bitmap_granule, FDA_BITMAP_GRANULE);
FERRY_DISK_ATTR(bitmap_bytes, FDA_BITMAP_BYTES);

static struct attribute *ferry_disk_attrs[] = {
	&ferry_disk_attr_dev.attr, &ferry_disk_attr_state.attr,
	&ferry_disk_attr_mode.attr, &ferry_disk_attr_records.attr,
	&ferry_disk_attr_bytes.attr, &ferry_disk_attr_drops.attr,
	&ferry_disk_attr_drop_bytes.attr, &ferry_disk_attr_errors.attr,
	&ferry_disk_attr_inflight.attr, &ferry_disk_attr_size_bytes.attr,
	&ferry_disk_attr_mode_changes.attr, &ferry_disk_attr_to_metadata.attr,
	&ferry_disk_attr_to_bitmap.attr, &ferry_disk_attr_nodata_records.attr,
	&ferry_disk_attr_dirty_bits.attr, &ferry_disk_attr_bitmap_granule.attr,
	&ferry_disk_attr_bitmap_bytes.attr,
	NULL,
};
ATTRIBUTE_GROUPS(ferry_disk);

static void ferry_disk_kobj_release(struct kobject *kobj)
{
	kfree(container_of(kobj, struct ferry_disk, kobj));
}

static const struct sysfs_ops ferry_disk_sysfs_ops = {
	.show = ferry_disk_attr_show,
};

static struct kobj_type ferry_disk_ktype = {
	.release = ferry_disk_kobj_release,
	.sysfs_ops = &ferry_disk_sysfs_ops,
	.default_groups = ferry_disk_groups,
};

/* -- attach / detach ----------------------------------------------------- */

static int ferry_disk_open(struct ferry_disk *disk, dev_t dev)
{
	struct block_device *bdev;
	int ret;

	ret = ferry_bdev_open(dev, &disk->ref);
	if (ret)
		return ret;
	bdev = disk->ref.bdev;
	if (ferry_bdev_is_partition(bdev))
		ret = -EINVAL;		/* attach the whole disk */
	else if (bdev_is_zoned(bdev))
		ret = -EOPNOTSUPP;	/* zone append offsets come late */
	if (ret) {
		ferry_bdev_close(&disk->ref);
		return ret;
	}
	disk->dev = dev;
	disk->gd = bdev->bd_disk;
	disk->size_bytes = ferry_bdev_nr_bytes(bdev);
	disk->lbs = bdev_logical_block_size(bdev);
	return 0;
}

static int ferry_disk_alloc_pool(struct ferry_disk *disk)
{
	u32 i;

	disk->pool_size = ferry_pool_size;
	disk->trackers = kvcalloc(disk->pool_size, sizeof(*disk->trackers),
				  GFP_KERNEL);
	if (!disk->trackers)
		return -ENOMEM;
	for (i = 0; i < disk->pool_size; i++) {
		disk->trackers[i].next = disk->free_list;
		disk->free_list = &disk->trackers[i];
	}
	return 0;
}

static int ferry_free_slot(dev_t dev)
{
	int i, slot = -ENOSPC;

	for (i = FERRY_MAX_DISKS - 1; i >= 0; i--) {
		struct ferry_disk *disk = ferry.disks[i];

		if (!disk)
			slot = i;
		else if (disk->dev == dev &&
			 !test_bit(FERRY_DF_RELEASED, &disk->flags))
			return -EEXIST;
	}
	return slot;
}

int ferry_disk_attach(dev_t dev, struct ferry_attach *out)
{
	struct ferry_disk *disk;
	int slot, ret;

	if (!ferry.ring)
		return -ENOBUFS;
	slot = ferry_free_slot(dev);
	if (slot < 0)
		return slot;
	disk = kzalloc(sizeof(*disk), GFP_KERNEL);
	if (!disk)
		return -ENOMEM;
	spin_lock_init(&disk->pool_lock);
	spin_lock_init(&disk->mode_lock);
	init_waitqueue_head(&disk->idle_wq);
	kobject_init(&disk->kobj, &ferry_disk_ktype);

	ret = ferry_disk_open(disk, dev);
	if (ret)
		goto out_put_kobj;
	ret = ferry_disk_alloc_pool(disk);
	if (ret)
		goto out_close;
	ret = ferry_bitmap_alloc(disk);
	if (ret)
		goto out_free_pool;
	disk->id = ++ferry.next_id;
	ret = kobject_add(&disk->kobj, ferry.disks_kobj, "%u", disk->id);
	if (ret)
		goto out_free_bitmap;
	if (!ferry.hooked) {
		ret = ferry_hook_register();
		if (ret)
			goto out_del_kobj;
		ferry.hooked = true;
		schedule_delayed_work(&ferry_gone_work, HZ);
	}

	ferry.disks[slot] = disk;
	ferry.nr_disks++;
	set_bit(FERRY_DF_PUBLISHED, &disk->flags);
	ferry_lookup_update();
	ferry_queue_drain(bdev_get_queue(disk->ref.bdev));
	__module_get(THIS_MODULE);

	out->disk_id = disk->id;
	out->size_bytes = disk->size_bytes;
	out->lbs = disk->lbs;
	pr_info("attached disk %u (%u:%u, %llu bytes)\n", disk->id,
		MAJOR(dev), MINOR(dev), disk->size_bytes);
	return 0;

out_del_kobj:
	kobject_del(&disk->kobj);
out_free_bitmap:
	ferry_bitmap_free(disk);
out_free_pool:
	kvfree(disk->trackers);
out_close:
	ferry_bdev_close(&disk->ref);
out_put_kobj:
	kobject_put(&disk->kobj);	/* frees disk */
	return ret;
}

int ferry_disk_detach(u32 id)
{
	struct ferry_disk *disk = ferry_disk_find(id);
	unsigned int i;

	if (!disk)
		return -ENOENT;
	if (test_bit(FERRY_DF_PUBLISHED, &disk->flags))
		ferry_disk_unpublish(disk);
	if (!test_bit(FERRY_DF_RELEASED, &disk->flags))
		ferry_disk_release(disk);

	for (i = 0; i < FERRY_MAX_DISKS; i++)
		if (ferry.disks[i] == disk)
			ferry.disks[i] = NULL;
	ferry.nr_disks--;
	ferry_bitmap_free(disk);
	pr_info("detached disk %u (%u:%u)\n", disk->id, MAJOR(disk->dev),
		MINOR(disk->dev));
	kobject_del(&disk->kobj);
	kobject_put(&disk->kobj);
	module_put(THIS_MODULE);
	return 0;
}

int ferry_disk_init(struct kobject *parent)
{
	int ret = ferry_pool_size_check();

	if (ret)
		return ret;
	rcu_assign_pointer(ferry.lookup, &ferry_lookup_buf[0]);
	ferry.disks_kobj = kobject_create_and_add("disks", parent);
	return ferry.disks_kobj ? 0 : -ENOMEM;
}

/* Module exit: no disk can be attached (each holds a module reference). */
void ferry_disk_exit(void)
{
	cancel_delayed_work_sync(&ferry_gone_work);
	kobject_put(ferry.disks_kobj);
}
