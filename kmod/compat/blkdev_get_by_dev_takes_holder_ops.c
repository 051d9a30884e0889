/*
 * v6.5 0718afd47f70 "block: introduce holder ops" (and 05bdb9965305
 * "block: replace fmode_t with a block-specific type for block open flags")
 */
#include <linux/blkdev.h>

struct block_device *probe(dev_t dev)
{
	return blkdev_get_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
}
