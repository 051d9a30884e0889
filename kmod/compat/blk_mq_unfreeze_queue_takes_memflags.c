/*
 * v6.14 1e1a9cecfab3 "block: force noio scope in blk_mq_freeze_queue":
 * freeze returns the saved memalloc flags, unfreeze takes them back.
 */
#include <linux/blk-mq.h>

void probe(struct request_queue *q)
{
	unsigned int memflags = blk_mq_freeze_queue(q);

	blk_mq_unfreeze_queue(q, memflags);
}
