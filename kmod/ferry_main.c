// SPDX-License-Identifier: GPL-2.0
/*
 * ferry: block write capture for disaster recovery.
 *
 * /dev/ferry (root only) is the control device and the ring.  The ring is
 * one vmalloc_user() area, created by FERRY_IOC_RING_SETUP and kept until
 * FERRY_IOC_RING_TEARDOWN or unload, whoever has the device open:
 *
 *   offset 0            PAGE_SIZE                      PAGE_SIZE + data_size
 *   +-------------------+----------------------------------------------+
 *   | ferry_ring_hdr    | records: [ferry_rec][payload][pad] ...       |
 *   | magic "FRRY", v1  | each FERRY_REC_ALIGN aligned, never wrapping |
 *   +-------------------+----------------------------------------------+
 *
 * It is mapped read-only (VM_WRITE refused, VM_MAYWRITE cleared): userspace
 * can only read, and hands back positions with FERRY_IOC_CONSUME, which
 * ferry_ring_consume() validates.  poll() reports EPOLLIN once per batch of
 * records published since the caller's previous readable poll.
 *
 * Control operations are serialised by ferry.lock.  Each ioctl copies its
 * argument in, validates it in one place (reserved fields zero, flags
 * known), and copies the result out.  See docs/kmod.md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include "ferry_priv.h"

struct ferry_state ferry = {
	.lock = __MUTEX_INITIALIZER(ferry.lock),
	.poll_wq = __WAIT_QUEUE_HEAD_INITIALIZER(ferry.poll_wq),
};

static unsigned int ring_mb = 64;
module_param(ring_mb, uint, 0444);
MODULE_PARM_DESC(ring_mb,
		 "ring data size when FERRY_IOC_RING_SETUP passes 0 (MiB, default 64, power of two, 1..4096)");

#define FERRY_RING_MIN		(64ULL << 10)
#define FERRY_RING_MAX		(4ULL << 30)
#define FERRY_FEATURES		(FERRY_FEAT_DATA_MODE | FERRY_FEAT_STACKED | \
				 FERRY_FEAT_EXCLUDE | FERRY_FEAT_METADATA | \
				 FERRY_FEAT_BITMAP)

/* Per open file: the commit count seen by its last readable poll. */
struct ferry_file {
	u64 seen;
};

static bool ferry_zeroed(const void *p, size_t len)
{
	return !memchr_inv(p, 0, len);
}

/* -- ring ---------------------------------------------------------------- */

static int ferry_ring_bytes_check(u64 bytes)
{
	if (bytes < FERRY_RING_MIN || bytes > FERRY_RING_MAX ||
	    (bytes & (bytes - 1)))
		return -EINVAL;
	if (bytes >> PAGE_SHIFT > totalram_pages() / 2)
		return -ENOMEM;		/* never more than half of RAM */
	return 0;
}

static int ferry_ring_create(u64 bytes)
{
	struct ferry_ring *ring;
	void *mem;
	int ret;

	ret = ferry_ring_bytes_check(bytes);
	if (ret)
		return ret;
	ring = kzalloc(sizeof(*ring), GFP_KERNEL);
	if (!ring)
		return -ENOMEM;
	mem = vmalloc_user(PAGE_SIZE + bytes);
	if (!mem) {
		kfree(ring);
		return -ENOMEM;
	}
	ferry_ring_init(ring, mem, PAGE_SIZE, bytes);
	ferry.ring_mem = mem;
	ferry.ring_bytes = bytes;
	ferry.ring = ring;
	pr_info("ring of %llu KiB ready\n", bytes >> 10);
	return 0;
}

static int ferry_ring_destroy(void)
{
	if (!ferry.ring)
		return -ENOBUFS;
	if (ferry.nr_disks || atomic_read(&ferry.mmaps))
		return -EBUSY;
	vfree(ferry.ring_mem);
	kfree(ferry.ring);
	ferry.ring = NULL;
	ferry.ring_mem = NULL;
	ferry.ring_bytes = 0;
	return 0;
}

/* -- ioctls ---------------------------------------------------------------- */

static long ferry_ioc_info(void __user *arg)
{
	struct ferry_info info = {
		.version = FERRY_UAPI_VERSION,
		.features = FERRY_FEATURES,
		.ring_bytes = ferry.ring_bytes,
		.max_disks = FERRY_MAX_DISKS,
		.nr_disks = ferry.nr_disks,
	};

	return copy_to_user(arg, &info, sizeof(info)) ? -EFAULT : 0;
}

static long ferry_ioc_ring_setup(void __user *arg)
{
	struct ferry_ring_setup rs;
	int ret;

	if (copy_from_user(&rs, arg, sizeof(rs)))
		return -EFAULT;
	if (rs.flags || rs.hdr_size || !ferry_zeroed(rs.reserved, sizeof(rs.reserved)))
		return -EINVAL;
	if (ferry.ring)
		return -EBUSY;
	if (!rs.ring_bytes)
		rs.ring_bytes = (u64)ring_mb << 20;
	ret = ferry_ring_create(rs.ring_bytes);
	if (ret)
		return ret;
	rs.hdr_size = PAGE_SIZE;
	return copy_to_user(arg, &rs, sizeof(rs)) ? -EFAULT : 0;
}

static long ferry_ioc_attach(void __user *arg)
{
	struct ferry_attach at;
	int ret;

	if (copy_from_user(&at, arg, sizeof(at)))
		return -EFAULT;
	if (at.flags || at.disk_id || at.size_bytes || at.lbs ||
	    at.reserved0 || !ferry_zeroed(at.reserved, sizeof(at.reserved)))
		return -EINVAL;
	if (at.major >= (1U << (32 - MINORBITS)) || at.minor > MINORMASK)
		return -EINVAL;
	ret = ferry_disk_attach(MKDEV(at.major, at.minor), &at);
	if (ret)
		return ret;
	/* The disk stays attached: userspace learns its id from LIST. */
	return copy_to_user(arg, &at, sizeof(at)) ? -EFAULT : 0;
}

static long ferry_ioc_detach(void __user *arg)
{
	struct ferry_detach dt;

	if (copy_from_user(&dt, arg, sizeof(dt)))
		return -EFAULT;
	if (dt.flags || !ferry_zeroed(dt.reserved, sizeof(dt.reserved)))
		return -EINVAL;
	return ferry_disk_detach(dt.disk_id);
}

/* Disks in metadata mode return to data mode once the ring has room. */
static void ferry_relax_all(void)
{
	unsigned int i;

	for (i = 0; i < FERRY_MAX_DISKS; i++)
		if (ferry.disks[i])
			ferry_mode_relax(ferry.disks[i]);
}

static long ferry_ioc_consume(void __user *arg)
{
	struct ferry_consume c;
	int ret;

	if (copy_from_user(&c, arg, sizeof(c)))
		return -EFAULT;
	if (!ferry_zeroed(c.reserved, sizeof(c.reserved)))
		return -EINVAL;
	if (!ferry.ring)
		return -ENOBUFS;
	ret = ferry_ring_consume(ferry.ring, c.pos);
	if (!ret)
		ferry_relax_all();
	return ret;
}

static void ferry_global_stats(struct ferry_stats *st)
{
	unsigned long flags;
	unsigned int i;

	spin_lock_irqsave(&ferry.ring->lock, flags);
	st->records = ferry.gone_records;
	st->bytes = ferry.gone_bytes;
	for (i = 0; i < FERRY_MAX_DISKS; i++) {
		struct ferry_disk *disk = ferry.disks[i];

		if (disk && !test_bit(FERRY_DF_RELEASED, &disk->flags)) {
			st->records += disk->counts.records;
			st->bytes += disk->counts.bytes;
		}
	}
	spin_unlock_irqrestore(&ferry.ring->lock, flags);
	for (i = 0; i < FERRY_MAX_DISKS; i++) {
		struct ferry_disk *disk = ferry.disks[i];

		if (!disk)
			continue;
		st->inflight += atomic_read(&disk->inflight);
		/* the most degraded disk's mode; bits and memory of all */
		st->mode = max_t(u32, st->mode, READ_ONCE(disk->mode));
		st->dirty_bits += max_t(s64, 0, atomic64_read(&disk->dirty));
		st->bitmap_bytes += ferry_bitmap_bytes(disk);
	}
	st->drops = atomic64_read(&ferry.drops);
	st->drop_bytes = atomic64_read(&ferry.drop_bytes);
	st->errors = atomic64_read(&ferry.errors);
	st->mode_changes = atomic64_read(&ferry.mode_changes);
	st->to_metadata = atomic64_read(&ferry.to_metadata);
	st->to_bitmap = atomic64_read(&ferry.to_bitmap);
	st->nodata_records = atomic64_read(&ferry.nodata_records);
}

static long ferry_ioc_stats(void __user *arg)
{
	struct ferry_stats st;
	u32 id;

	if (copy_from_user(&st, arg, sizeof(st)))
		return -EFAULT;
	id = st.disk_id;
	if (!ferry_zeroed((u8 *)&st + sizeof(st.disk_id),
			  sizeof(st) - sizeof(st.disk_id)))
		return -EINVAL;
	ferry_disk_check_gone();
	if (ferry.ring)
		ferry_relax_all();
	if (id == FERRY_DISK_ALL) {
		if (ferry.ring)
			ferry_global_stats(&st);
	} else {
		struct ferry_disk *disk = ferry_disk_find(id);

		if (!disk)
			return -ENOENT;
		ferry_disk_stats(disk, &st);
	}
	if (ferry.ring) {
		st.ring_used = ferry_ring_used(ferry.ring);
		st.ring_size = ferry.ring_bytes;
	}
	return copy_to_user(arg, &st, sizeof(st)) ? -EFAULT : 0;
}

static long ferry_ioc_list(void __user *arg)
{
	struct ferry_list l;
	struct ferry_list_entry __user *uent;
	unsigned int i, n = 0;

	if (copy_from_user(&l, arg, sizeof(l)))
		return -EFAULT;
	if (l.total || !ferry_zeroed(l.reserved, sizeof(l.reserved)) ||
	    l.count > FERRY_MAX_DISKS)
		return -EINVAL;
	ferry_disk_check_gone();
	uent = u64_to_user_ptr(l.entries);
	for (i = 0; i < FERRY_MAX_DISKS; i++) {
		struct ferry_disk *disk = ferry.disks[i];
		struct ferry_list_entry e;

		if (!disk)
			continue;
		if (n < l.count) {
			e.disk_id = disk->id;
			e.major = MAJOR(disk->dev);
			e.minor = MINOR(disk->dev);
			e.state = ferry_disk_state(disk);
			if (copy_to_user(&uent[n], &e, sizeof(e)))
				return -EFAULT;
			n++;
		}
	}
	l.count = n;
	l.total = ferry.nr_disks;
	return copy_to_user(arg, &l, sizeof(l)) ? -EFAULT : 0;
}

static long ferry_ioc_exclude(void __user *arg)
{
	struct ferry_exclude ex;

	if (copy_from_user(&ex, arg, sizeof(ex)))
		return -EFAULT;
	if (!ferry_zeroed(ex.reserved, sizeof(ex.reserved)))
		return -EINVAL;
	return ferry_disk_exclude(ex.disk_id, ex.count,
				  u64_to_user_ptr(ex.extents));
}

static long ferry_ioc_clear_resync(void __user *arg)
{
	struct ferry_clear_resync cr;
	struct ferry_disk *disk;

	if (copy_from_user(&cr, arg, sizeof(cr)))
		return -EFAULT;
	if (cr.flags || !ferry_zeroed(cr.reserved, sizeof(cr.reserved)))
		return -EINVAL;
	disk = ferry_disk_find(cr.disk_id);
	if (!disk)
		return -ENOENT;
	if (test_bit(FERRY_DF_GONE, &disk->flags))
		return -ENODEV;
	clear_bit(FERRY_DF_RESYNC, &disk->flags);
	return 0;
}

/*
 * The disk a FETCH_DIRTY or PARK names.  A removed disk's bits can still
 * be fetched; it cannot be parked.
 */
static struct ferry_disk *ferry_ioc_disk(u32 id, bool attached, int *err)
{
	struct ferry_disk *disk = ferry_disk_find(id);

	*err = -ENOENT;
	if (!disk)
		return NULL;
	*err = -ENODEV;
	if (attached && !test_bit(FERRY_DF_PUBLISHED, &disk->flags))
		return NULL;
	return disk;
}

static long ferry_ioc_fetch_dirty(void __user *arg)
{
	struct ferry_fetch_dirty fd;
	struct ferry_disk *disk;
	int ret;

	if (copy_from_user(&fd, arg, sizeof(fd)))
		return -EFAULT;
	if ((fd.flags & ~FERRY_FETCH_KEEP_MODE) || fd.granule || fd.nbits ||
	    fd.taken || fd.mode || fd.reserved0 ||
	    !ferry_zeroed(fd.reserved, sizeof(fd.reserved)))
		return -EINVAL;
	ferry_disk_check_gone();
	disk = ferry_ioc_disk(fd.disk_id, false, &ret);
	if (!disk)
		return ret;
	ret = ferry_fetch_dirty(disk, &fd);
	if (ret)
		return ret;
	return copy_to_user(arg, &fd, sizeof(fd)) ? -EFAULT : 0;
}

static long ferry_ioc_park(void __user *arg)
{
	struct ferry_park pk;
	struct ferry_disk *disk;
	int ret;

	if (copy_from_user(&pk, arg, sizeof(pk)))
		return -EFAULT;
	if (pk.flags || !ferry_zeroed(pk.reserved, sizeof(pk.reserved)))
		return -EINVAL;
	disk = ferry_ioc_disk(pk.disk_id, true, &ret);
	if (!disk)
		return ret;
	ferry_park(disk);
	return 0;
}

static long ferry_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	long ret;

	if (_IOC_TYPE(cmd) != FERRY_IOC_MAGIC)
		return -ENOTTY;
	mutex_lock(&ferry.lock);
	switch (cmd) {
	case FERRY_IOC_INFO:
		ret = ferry_ioc_info(uarg);
		break;
	case FERRY_IOC_RING_SETUP:
		ret = ferry_ioc_ring_setup(uarg);
		break;
	case FERRY_IOC_RING_TEARDOWN:
		ret = ferry_ring_destroy();
		break;
	case FERRY_IOC_ATTACH:
		ret = ferry_ioc_attach(uarg);
		break;
	case FERRY_IOC_DETACH:
		ret = ferry_ioc_detach(uarg);
		break;
	case FERRY_IOC_CONSUME:
		ret = ferry_ioc_consume(uarg);
		break;
	case FERRY_IOC_STATS:
		ret = ferry_ioc_stats(uarg);
		break;
	case FERRY_IOC_LIST:
		ret = ferry_ioc_list(uarg);
		break;
	case FERRY_IOC_CLEAR_RESYNC:
		ret = ferry_ioc_clear_resync(uarg);
		break;
	case FERRY_IOC_EXCLUDE:
		ret = ferry_ioc_exclude(uarg);
		break;
	case FERRY_IOC_FETCH_DIRTY:
		ret = ferry_ioc_fetch_dirty(uarg);
		break;
	case FERRY_IOC_PARK:
		ret = ferry_ioc_park(uarg);
		break;
	default:
		ret = -ENOTTY;
		break;
	}
	mutex_unlock(&ferry.lock);
	return ret;
}

/* -- mmap, poll, open ---------------------------------------------------- */

static void ferry_vma_open(struct vm_area_struct *vma)
{
	atomic_inc(&ferry.mmaps);
}

static void ferry_vma_close(struct vm_area_struct *vma)
{
	atomic_dec(&ferry.mmaps);
}

static const struct vm_operations_struct ferry_vm_ops = {
	.open = ferry_vma_open,
	.close = ferry_vma_close,
};

static int ferry_mmap(struct file *file, struct vm_area_struct *vma)
{
	unsigned long len = vma->vm_end - vma->vm_start;
	int ret = -ENOBUFS;

	if (vma->vm_flags & VM_WRITE)
		return -EPERM;
	mutex_lock(&ferry.lock);
	if (!ferry.ring)
		goto out_unlock;
	ret = -EINVAL;
	if (vma->vm_pgoff || len > PAGE_SIZE + ferry.ring_bytes)
		goto out_unlock;
	ret = remap_vmalloc_range(vma, ferry.ring_mem, 0);
	if (ret)
		goto out_unlock;
	ferry_vma_make_readonly(vma);
	vma->vm_ops = &ferry_vm_ops;
	ferry_vma_open(vma);
out_unlock:
	mutex_unlock(&ferry.lock);
	return ret;
}

static __poll_t ferry_poll(struct file *file, poll_table *wait)
{
	struct ferry_file *ff = file->private_data;
	u64 commits;

	poll_wait(file, &ferry.poll_wq, wait);
	commits = atomic64_read(&ferry.commits);
	if (commits == READ_ONCE(ff->seen))
		return 0;
	WRITE_ONCE(ff->seen, commits);
	return EPOLLIN | EPOLLRDNORM;
}

static int ferry_open(struct inode *inode, struct file *file)
{
	struct ferry_file *ff = kzalloc(sizeof(*ff), GFP_KERNEL);

	if (!ff)
		return -ENOMEM;
	file->private_data = ff;
	return 0;
}

static int ferry_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static const struct file_operations ferry_fops = {
	.owner = THIS_MODULE,
	.open = ferry_open,
	.release = ferry_release,
	.unlocked_ioctl = ferry_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = ferry_mmap,
	.poll = ferry_poll,
	.llseek = noop_llseek,
};

/* -- sysfs: /sys/class/misc/ferry/ --------------------------------------- */

static ssize_t features_show(struct device *dev, struct device_attribute *attr,
			     char *buf)
{
	return sysfs_emit(buf, "version=%u data stacked exclude metadata bitmap\n",
			  FERRY_UAPI_VERSION);
}
static DEVICE_ATTR_RO(features);

static ssize_t stats_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct ferry_stats st = { };

	mutex_lock(&ferry.lock);
	if (ferry.ring) {
		ferry_global_stats(&st);
		st.ring_used = ferry_ring_used(ferry.ring);
		st.ring_size = ferry.ring_bytes;
	}
	mutex_unlock(&ferry.lock);
	return sysfs_emit(buf,
			  "records %llu\nbytes %llu\ndrops %llu\ndrop_bytes %llu\nerrors %llu\ninflight %llu\nring_used %llu\nring_size %llu\nmode %s\nmode_changes %llu\nto_metadata %llu\nto_bitmap %llu\nnodata_records %llu\ndirty_bits %llu\nbitmap_bytes %llu\n",
			  st.records, st.bytes, st.drops, st.drop_bytes,
			  st.errors, st.inflight, st.ring_used, st.ring_size,
			  ferry_mode_name(st.mode), st.mode_changes,
			  st.to_metadata, st.to_bitmap, st.nodata_records,
			  st.dirty_bits, st.bitmap_bytes);
}
static DEVICE_ATTR_RO(stats);

static struct attribute *ferry_dev_attrs[] = {
	&dev_attr_features.attr,
	&dev_attr_stats.attr,
	NULL,
};
ATTRIBUTE_GROUPS(ferry_dev);

static struct miscdevice ferry_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "ferry",
	.fops = &ferry_fops,
	.mode = 0600,
	.groups = ferry_dev_groups,
};

/* -- module -------------------------------------------------------------- */

static int __init ferry_init(void)
{
	int ret;

	if (ring_mb < 1 || ring_mb > 4096 || (ring_mb & (ring_mb - 1))) {
		pr_err("ring_mb=%u: must be a power of two in 1..4096\n",
		       ring_mb);
		return -EINVAL;
	}
	timer_setup(&ferry.wake_timer, ferry_wake_fn, 0);
	ret = ferry_crc_init();
	if (ret) {
		pr_err("no crc32c implementation (%d)\n", ret);
		return ret;
	}
	ret = ferry_hook_init();
	if (ret)
		goto out_crc_exit;
	ret = misc_register(&ferry_misc);
	if (ret)
		goto out_hook_exit;
	ret = ferry_disk_init(&ferry_misc.this_device->kobj);
	if (ret)
		goto out_misc_deregister;
	pr_info("version %u loaded\n", FERRY_UAPI_VERSION);
	return 0;

out_misc_deregister:
	misc_deregister(&ferry_misc);
out_hook_exit:
	ferry_hook_exit();
out_crc_exit:
	ferry_crc_exit();
	return ret;
}

static void __exit ferry_exit(void)
{
	ferry_disk_exit();
	misc_deregister(&ferry_misc);
	mutex_lock(&ferry.lock);
	ferry_ring_destroy();
	mutex_unlock(&ferry.lock);
	ferry_hook_exit();
	ferry_crc_exit();
	timer_delete_sync(&ferry.wake_timer);
}

module_init(ferry_init);
module_exit(ferry_exit);
MODULE_DESCRIPTION("ferry: block write capture for disaster recovery");
MODULE_LICENSE("GPL");
