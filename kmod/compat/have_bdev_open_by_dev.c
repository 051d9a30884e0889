/* v6.7 e719b4d15674 "block: Provide bdev_open_* functions" */
#include <linux/blkdev.h>

struct bdev_handle *probe(dev_t dev)
{
	return bdev_open_by_dev(dev, BLK_OPEN_READ, NULL, NULL);
}
