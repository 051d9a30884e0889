// SPDX-License-Identifier: GPL-2.0
/* unit-ps-http: ferry-ps's request-head parser, case by case. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "../../tools/ps/http.h"

static int parse(const char *head, struct http_req *r)
{
	char err[256];
	long end = http_head_end(head, strlen(head));

	if (end <= 0)
		return (int)end;
	return http_parse_head(head, end, r, err, sizeof(err));
}

static void test_upload_head(void **state)
{
	struct http_req r;
	char v[16];

	(void)state;
	assert_int_equal(parse("PUT /v1/machines/ab/segments?x=1&chunk=4096 HTTP/1.1\r\n"
			       "Host: h\r\nContent-Length: 8192\r\n"
			       "Expect: 100-continue\r\n\r\n", &r), 0);
	assert_string_equal(r.method, "PUT");
	assert_string_equal(r.path, "/v1/machines/ab/segments");
	assert_int_equal(r.nparts, 4);
	assert_string_equal(r.parts[2], "ab");
	assert_true(r.has_length);
	assert_int_equal(r.content_length, 8192);
	assert_true(r.keep_alive);
	assert_true(r.expect_continue);
	assert_true(http_query_get(&r, "chunk", v, sizeof(v)));
	assert_string_equal(v, "4096");
	assert_false(http_query_get(&r, "chun", v, sizeof(v)));
}

static void test_refusals(void **state)
{
	struct http_req r;
	char longpath[700] = "GET /";

	(void)state;
	assert_int_equal(parse("PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", &r), 501);
	assert_int_equal(parse("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", &r), 400);
	assert_int_equal(parse("PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", &r), 400);
	assert_int_equal(parse("PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", &r), 400);
	assert_int_equal(parse("GET / HTTP/1.0\r\n\r\n", &r), 505);
	assert_int_equal(parse("BREW / HTTP/1.1\r\n\r\n", &r), 501);
	assert_int_equal(parse("GET v1 HTTP/1.1\r\n\r\n", &r), 400);
	assert_int_equal(parse("GET /a%2e%2e HTTP/1.1\r\n\r\n", &r), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\nBad Header: x\r\n\r\n", &r), 400);
	assert_int_equal(parse("GET / HTTP/1.1\r\n folded\r\n\r\n", &r), 400);
	assert_int_equal(parse("GET / HTTP/1.1\nHost: x\r\n\r\n", &r), 400);
	assert_int_equal(parse("GET /a/b/c/d/e/f/g/h/i HTTP/1.1\r\n\r\n", &r), 404);
	memset(longpath + 5, 'a', 600);
	strcpy(longpath + 605, " HTTP/1.1\r\n\r\n");
	assert_int_equal(parse(longpath, &r), 414);
}

static void test_head_end(void **state)
{
	static char big[HTTP_HEAD_MAX + 10];

	(void)state;
	assert_int_equal(http_head_end("GET / HTTP/1.1\r\n", 16), 0);
	assert_int_equal(http_head_end("GET / HTTP/1.1\r\n\r\nBODY", 22), 18);
	memset(big, 'a', sizeof(big));
	assert_int_equal(http_head_end(big, sizeof(big)), -1);
}

static void test_connection_close(void **state)
{
	struct http_req r;
	char buf[256];
	int n;

	(void)state;
	assert_int_equal(parse("GET /v1/x HTTP/1.1\r\nConnection: close\r\n\r\n", &r), 0);
	assert_false(r.keep_alive);
	n = http_format_head(buf, sizeof(buf), 422, "text/plain", 10, false);
	assert_true(n > 0);
	assert_non_null(strstr(buf, "HTTP/1.1 422 Unprocessable Content\r\n"));
	assert_non_null(strstr(buf, "Content-Length: 10\r\nConnection: close\r\n\r\n"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_upload_head),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_head_end),
		cmocka_unit_test(test_connection_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
