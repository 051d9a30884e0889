// SPDX-License-Identifier: GPL-2.0
/*
 * hrl_ring: a ring record (struct ferry_rec, kmod/include/uapi/ferry.h) as
 * an hrl record.  The mapping is part of docs/hrl-format.md.
 */
#include <errno.h>
#include <string.h>
#include <ferry.h>
#include <ferry/hrl.h>

static int kind_from_op(const struct ferry_rec *fr)
{
	switch (fr->op) {
	case FERRY_OP_WRITE:
		return fr->flags & FERRY_REC_NODATA ? HRL_METADATA : HRL_WRITE;
	case FERRY_OP_DISCARD:
	case FERRY_OP_SECURE_ERASE:
		return HRL_DISCARD;
	case FERRY_OP_WRITE_ZEROES:
		return HRL_WRITE_ZEROES;
	case FERRY_OP_FLUSH:
		return HRL_FLUSH;
	case FERRY_OP_DIRTY:
		return HRL_METADATA;
	default:
		return -EINVAL;
	}
}

int hrl_rec_from_ferry(struct hrl_rec *rec, const struct ferry_rec *fr)
{
	int kind = kind_from_op(fr);

	if (kind < 0)
		return kind;
	memset(rec, 0, sizeof(*rec));
	rec->kind = kind;
	rec->seq = fr->seq;
	rec->time_ns = fr->time_ns;
	rec->disk_id = fr->disk_id;
	rec->flags = fr->flags & (FERRY_REC_FUA | FERRY_REC_PREFLUSH);
	if (kind != HRL_FLUSH) {
		rec->offset = fr->offset;
		rec->len = fr->len;
	}
	if (kind == HRL_WRITE) {
		rec->payload_len = fr->len;
		rec->data_crc = fr->crc;
	}
	return 0;
}
