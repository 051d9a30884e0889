/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hrl internals shared by writer, reader and apply: the on-disk structures
 * (docs/hrl-format.md) converted between little-endian bytes and host
 * structs in exactly one place (hrl_wire.c), and the rules both writer and
 * reader enforce.  Not a public header.
 */
#ifndef FERRY_HRL_WIRE_H
#define FERRY_HRL_WIRE_H

#include <stdarg.h>
#include <ferry/hrl.h>

#define HRL_PREFIX_SIZE		32u
#define HRL_MAGIC		"FERRYHRL"
#define HRL_REC_MAGIC		0x43455248u	/* "HREC" */
#define HRL_END_MAGIC		0x444e4548u	/* "HEND" */

/*
 * Encode the prefix, SegmentHeader and zero padding into buf[0..cap).
 * Returns hdr_size (> 0) and sets *seg_crc, or -EINVAL / -ENOSPC with the
 * reason in why.
 */
long hrl_hdr_encode(uint8_t *buf, size_t cap, const struct hrl_seg_info *info,
		    uint32_t *seg_crc, char *why, size_t whylen);

/* Prefix: check magic, version, sizes; 0 or -EBADMSG with why. */
int hrl_prefix_decode(const uint8_t *p, uint32_t *hdr_size, uint32_t *pb_len,
		      char *why, size_t whylen);

/* Whole header area hdr[0..hdr_size): crc, protobuf, padding, rules. */
int hrl_hdr_decode(const uint8_t *hdr, uint32_t hdr_size, uint32_t pb_len,
		   struct hrl_seg_info *info, uint32_t *seg_crc,
		   char *why, size_t whylen);

int hrl_info_check(const struct hrl_seg_info *info, char *why, size_t whylen);

/* Record header: encode returns rec_crc; decode checks magic, reserved, crc. */
uint32_t hrl_rec_encode(uint8_t *p, const struct hrl_rec *rec, uint32_t seg_crc);
int hrl_rec_decode(const uint8_t *p, struct hrl_rec *rec, uint32_t seg_crc,
		   uint32_t *rec_crc, char *why, size_t whylen);

/*
 * The per-kind rules of a record against its segment: kind, flags, disk,
 * len/payload_len, and ordering (seq >= *next and >= *last; a consuming
 * record moves *next to seq + 1).  Updates *next and *last only on success.
 */
int hrl_rec_check(const struct hrl_seg_info *info, const struct hrl_rec *rec,
		  uint64_t *next, uint64_t *last, char *why, size_t whylen);

void hrl_trailer_encode(uint8_t *p, const struct hrl_seg_end *end,
			uint32_t chain, uint32_t seg_crc);
int hrl_trailer_decode(const uint8_t *p, struct hrl_seg_end *end,
		       uint32_t *chain, uint32_t seg_crc, char *why,
		       size_t whylen);

/* ConsistencyTag payload: encode returns its length or -EINVAL. */
long hrl_tag_encode(const struct hrl_tag *tag, uint8_t *buf, size_t cap);

/* Chain crc: started from the segment crc, fed one rec_crc at a time. */
uint32_t hrl_chain_start(uint32_t seg_crc);
uint32_t hrl_chain_add(uint32_t chain, uint32_t rec_crc);

/* Offset of the trailer's end for a record list ending at pos. */
static inline uint64_t hrl_seg_end_for(uint64_t pos)
{
	return (pos + HRL_TRAILER_SIZE + HRL_BLOCK - 1) & ~(uint64_t)(HRL_BLOCK - 1);
}

/* Index of the first nonzero byte in p[0..len), or len. */
size_t hrl_first_nonzero(const uint8_t *p, size_t len);

void hrl_vset_error(struct hrl_error *err, int code, uint64_t offset,
		    int64_t record, const char *fmt, va_list ap);
void hrl_set_error(struct hrl_error *err, int code, uint64_t offset,
		   int64_t record, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

#endif /* FERRY_HRL_WIRE_H */
