// SPDX-License-Identifier: GPL-2.0
/*
 * ferry: shims for kernel APIs whose shape changed across releases (see
 * ferry_compat.h).  Opening a disk: ferry holds a plain, non-exclusive read
 * reference for as long as it is attached, which keeps the gendisk allocated
 * across hot removal without getting in the way of mkfs, LVM or md.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/err.h>
#include <crypto/hash.h>
#include "ferry_compat.h"

#if defined(COMPAT_HAVE_BDEV_FILE_OPEN_BY_DEV)
int ferry_bdev_open(dev_t dev, struct ferry_bdev *ref)
{
	struct file *file = bdev_file_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);

	if (IS_ERR(file))
		return PTR_ERR(file);
	ref->handle = file;
	ref->bdev = file_bdev(file);
	return 0;
}

void ferry_bdev_close(struct ferry_bdev *ref)
{
	fput(ref->handle);
}
#elif defined(COMPAT_HAVE_BDEV_OPEN_BY_DEV)
int ferry_bdev_open(dev_t dev, struct ferry_bdev *ref)
{
	struct bdev_handle *h = bdev_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);

	if (IS_ERR(h))
		return PTR_ERR(h);
	ref->handle = h;
	ref->bdev = h->bdev;
	return 0;
}

void ferry_bdev_close(struct ferry_bdev *ref)
{
	bdev_release(ref->handle);
}
#elif defined(COMPAT_BLKDEV_GET_BY_DEV_TAKES_HOLDER_OPS)
int ferry_bdev_open(dev_t dev, struct ferry_bdev *ref)
{
	struct block_device *bdev = blkdev_get_by_dev(dev, BLK_OPEN_READ,
						      NULL, NULL);

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	ref->handle = NULL;
	ref->bdev = bdev;
	return 0;
}

void ferry_bdev_close(struct ferry_bdev *ref)
{
	blkdev_put(ref->bdev, NULL);
}
#else
int ferry_bdev_open(dev_t dev, struct ferry_bdev *ref)
{
	struct block_device *bdev = blkdev_get_by_dev(dev, FMODE_READ, NULL);

	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	ref->handle = NULL;
	ref->bdev = bdev;
	return 0;
}

void ferry_bdev_close(struct ferry_bdev *ref)
{
	blkdev_put(ref->bdev, FMODE_READ);
}
#endif

#ifndef COMPAT_HAVE_BUILTIN_CRC32C
static struct crypto_shash *ferry_crc_tfm;

int ferry_crc_init(void)
{
	ferry_crc_tfm = crypto_alloc_shash("crc32c", 0, 0);
	if (IS_ERR(ferry_crc_tfm)) {
		int ret = PTR_ERR(ferry_crc_tfm);

		ferry_crc_tfm = NULL;
		return ret;
	}
	return 0;
}

void ferry_crc_exit(void)
{
	crypto_free_shash(ferry_crc_tfm);
}

/* Any context: the crc32c shash is synchronous and keeps no state. */
u32 ferry_crc32c(u32 crc, const void *p, unsigned int len)
{
	SHASH_DESC_ON_STACK(desc, ferry_crc_tfm);
	u32 *ctx = (u32 *)shash_desc_ctx(desc);

	desc->tfm = ferry_crc_tfm;
	*ctx = crc;
	crypto_shash_update(desc, p, len);
	return *ctx;
}
#endif
