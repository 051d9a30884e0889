// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-proto: every message of every schema in proto/.  The table of message
 * descriptors is generated from the protobuf-c headers at build time, so a
 * message added to any schema is fuzzed without touching this file.  The
 * first byte picks the message; what unpacks must pack and unpack again
 * to the same bytes.
 */
#include <string.h>
#include <protobuf-c/protobuf-c.h>
#include "fuzz.h"

extern const ProtobufCMessageDescriptor *const fuzz_proto_messages[];
extern const size_t fuzz_proto_nr_messages;

/* Unknown fields anywhere in m, nested messages included. */
static int has_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d = m->descriptor;
	unsigned int i;
	size_t j;

	if (m->n_unknown_fields)
		return 1;
	for (i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(base + f->quantifier_offset);
			ProtobufCMessage *const *v =
				*(ProtobufCMessage *const *const *)(base + f->offset);

			for (j = 0; j < n; j++)
				if (has_unknown(v[j]))
					return 1;
		} else {
			const ProtobufCMessage *sub =
				*(const ProtobufCMessage *const *)(base + f->offset);

			if (sub && has_unknown(sub))
				return 1;
		}
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	ProtobufCMessage *m, *m2;
	uint8_t *buf, *buf2;
	size_t len, len2;

	if (!size || !fuzz_proto_nr_messages)
		return 0;
	d = fuzz_proto_messages[data[0] % fuzz_proto_nr_messages];
	m = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
	if (!m)
		return 0;
	FUZZ_CHECK(protobuf_c_message_check(m));
	len = protobuf_c_message_get_packed_size(m);
	buf = malloc(len + 1);
	FUZZ_CHECK(protobuf_c_message_pack(m, buf) == len);
	m2 = protobuf_c_message_unpack(d, NULL, len, buf);
	if (!m2) {
		/*
		 * protobuf-c keeps unknown fields verbatim, including ones it
		 * should have refused (field number 0 in an overlong varint),
		 * and refuses them when they come back.  Known fields must
		 * always survive the round trip.
		 */
		FUZZ_CHECK(has_unknown(m));
		free(buf);
		protobuf_c_message_free_unpacked(m, NULL);
		return 0;
	}
	len2 = protobuf_c_message_get_packed_size(m2);
	buf2 = malloc(len2 + 1);
	FUZZ_CHECK(protobuf_c_message_pack(m2, buf2) == len2);
	FUZZ_CHECK(len == len2 && !memcmp(buf, buf2, len));
	free(buf);
	free(buf2);
	protobuf_c_message_free_unpacked(m, NULL);
	protobuf_c_message_free_unpacked(m2, NULL);
	return 0;
}
