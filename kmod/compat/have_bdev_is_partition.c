/* v5.10 ("block: add a bdev_is_partition helper") */
#include <linux/blkdev.h>

bool probe(struct block_device *bdev)
{
	return bdev_is_partition(bdev);
}
