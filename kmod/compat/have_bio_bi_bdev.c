/* v5.12 309dca309fc3 "block: store a block_device pointer in struct bio" */
#include <linux/bio.h>

struct block_device *probe(struct bio *bio)
{
	return bio->bi_bdev;
}
