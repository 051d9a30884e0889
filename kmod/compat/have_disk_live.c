/* v5.15 ("block: add a disk_live helper") */
#include <linux/blkdev.h>

bool probe(struct gendisk *disk)
{
	return disk_live(disk);
}
