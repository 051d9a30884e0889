// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz-ps-http: ferry-ps's HTTP/1.1 request-head parser (tools/ps/http.c),
 * the code that faces the network before authentication.  Checks, beyond
 * the sanitizers: a parse succeeds only on a complete head, yields a
 * NUL-terminated path that starts with '/', and bounded components.
 */
#include <stdint.h>
#include <string.h>

#include "../../tools/ps/http.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req req;
	char err[256], val[64];
	long end = http_head_end((const char *)data, size);
	int rc, i;

	if (end <= 0)
		return 0;
	rc = http_parse_head((const char *)data, end, &req, err, sizeof(err));
	if (rc) {
		FUZZ_CHECK(rc >= 400 && rc < 600);
		FUZZ_CHECK(memchr(err, '\0', sizeof(err)));
		return 0;
	}
	FUZZ_CHECK(req.path[0] == '/');
	FUZZ_CHECK(strlen(req.path) < sizeof(req.path));
	FUZZ_CHECK(req.nparts >= 1 && req.nparts <= HTTP_MAX_PARTS);
	for (i = 0; i < req.nparts; i++)
		FUZZ_CHECK(!strchr(req.parts[i], '/'));
	http_query_get(&req, "chunk", val, sizeof(val));
	return 0;
}
