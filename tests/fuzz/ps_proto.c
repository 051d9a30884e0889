// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-ps-proto: every proto/ps.proto message the server or the agent
 * decodes from the network (RegisterRequest on the server; the answers on
 * the agent), then re-encoded: neither decode nor encode may crash, and
 * the encoding has the size get_packed_size promised.  (Re-decoding is not
 * required to succeed: protobuf-c keeps unknown fields verbatim, including
 * ones it would refuse on a second decode.)
 */
#include <stdlib.h>

#include "ps.pb-c.h"
#include "fuzz.h"

#define ROUND_TRIP(type, prefix)					\
	do {								\
		type *m = prefix##__unpack(NULL, size, data);		\
		if (m) {						\
			size_t n = prefix##__get_packed_size(m);	\
			uint8_t *b = malloc(n ? n : 1);			\
			FUZZ_CHECK(b);					\
			FUZZ_CHECK(prefix##__pack(m, b) == n);		\
			free(b);					\
			prefix##__free_unpacked(m, NULL);		\
		}							\
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ROUND_TRIP(Ferry__Ps__RegisterRequest, ferry__ps__register_request);
	ROUND_TRIP(Ferry__Ps__RegisterResponse, ferry__ps__register_response);
	ROUND_TRIP(Ferry__Ps__SegmentAck, ferry__ps__segment_ack);
	ROUND_TRIP(Ferry__Ps__MachineState, ferry__ps__machine_state);
	return 0;
}
