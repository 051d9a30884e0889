// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-hrl-decode: the protobuf parts of a segment.  The first byte picks
 * the path: SegmentHeader (wrapped in a prefix with a correct crc, through
 * the header decoder and its rules) or ConsistencyTag.  Whatever decodes
 * must encode and decode again to the same value.
 */
#include <errno.h>
#include <string.h>
#include <ferry/crc32c.h>
#include <ferry/hrl.h>
#include "hrl_wire.h"
#include "fuzz.h"

static void header_path(const uint8_t *pb, size_t len)
{
	static uint8_t hdr[HRL_MAX_HDR_SIZE], again[HRL_MAX_HDR_SIZE];
	struct hrl_seg_info info, info2;
	uint32_t hdr_size, pb_len, crc, crc2;
	char why[128];
	long n;

	if (len > HRL_MAX_HDR_SIZE - 32)
		return;
	hdr_size = (32 + len + HRL_BLOCK - 1) & ~(HRL_BLOCK - 1);
	memset(hdr, 0, hdr_size);
	memcpy(hdr, "FERRYHRL", 8);
	hdr[8] = HRL_VERSION;
	memcpy(hdr + 12, &hdr_size, 4);
	pb_len = len;
	memcpy(hdr + 16, &pb_len, 4);
	memcpy(hdr + 32, pb, len);
	crc = crc32c(crc32c(0, hdr, 28), hdr + 32, len);
	memcpy(hdr + 28, &crc, 4);
	FUZZ_CHECK(hrl_prefix_decode(hdr, &hdr_size, &pb_len, why, sizeof(why)) == 0);
	if (hrl_hdr_decode(hdr, hdr_size, pb_len, &info, &crc, why, sizeof(why))) {
		FUZZ_CHECK(why[0]);
		return;
	}
	n = hrl_hdr_encode(again, sizeof(again), &info, &crc2, why, sizeof(why));
	FUZZ_CHECK(n > 0);
	FUZZ_CHECK(hrl_prefix_decode(again, &hdr_size, &pb_len, why, sizeof(why)) == 0);
	FUZZ_CHECK(hrl_hdr_decode(again, hdr_size, pb_len, &info2, &crc2, why,
				  sizeof(why)) == 0);
	FUZZ_CHECK(!memcmp(&info, &info2, sizeof(info)));
}

static void tag_path(const uint8_t *pb, size_t len)
{
	struct hrl_tag tag, tag2;
	uint8_t buf[HRL_MAX_TAG_PAYLOAD];
	long n;

	memset(&tag, 0, sizeof(tag));
	if (hrl_tag_decode(pb, len, &tag))
		return;
	n = hrl_tag_encode(&tag, buf, sizeof(buf));
	/* a name with an embedded NUL decodes shorter: still encodable */
	FUZZ_CHECK(n >= 0);
	memset(&tag2, 0, sizeof(tag2));
	FUZZ_CHECK(hrl_tag_decode(buf, n, &tag2) == 0);
	FUZZ_CHECK(!memcmp(&tag, &tag2, sizeof(tag)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	if (data[0] & 1)
		tag_path(data + 1, size - 1);
	else
		header_path(data + 1, size - 1);
	return 0;
}
