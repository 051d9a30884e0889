/* removed in v5.18 73bd66d9c834 "scsi: block: Remove REQ_OP_WRITE_SAME support" */
#include <linux/blk_types.h>

int probe = REQ_OP_WRITE_SAME;
