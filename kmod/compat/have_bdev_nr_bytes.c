/* v5.16 ("block: add a bdev_nr_bytes helper") */
#include <linux/blkdev.h>

loff_t probe(struct block_device *bdev)
{
	return bdev_nr_bytes(bdev);
}
