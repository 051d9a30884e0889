/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferry-ps HTTP/1.1: the request-head parser and response writer.
 *
 * Grammar accepted (a strict subset of RFC 9112):
 *
 *   request-line = method SP origin-form SP "HTTP/1.1" CRLF
 *   method       = "GET" / "PUT" / "POST" / "DELETE"
 *   origin-form  = 1*( "/" segment ) [ "?" query ]   ; visible ASCII only
 *   header-field = token ":" OWS value OWS CRLF       ; no obs-fold
 *   head ends with an empty line; whole head <= HTTP_HEAD_MAX bytes.
 *
 * Bodies are framed by Content-Length only: Transfer-Encoding is refused
 * (501), a repeated or malformed Content-Length is refused (400).  Only the
 * headers the server uses are kept; others are checked for syntax and
 * skipped.  Nothing here allocates, so the parser can be fuzzed alone.
 */
#ifndef FERRY_PS_HTTP_H
#define FERRY_PS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX		8192
#define HTTP_PATH_MAX		512
#define HTTP_MAX_HEADERS	64
#define HTTP_MAX_PARTS		8

struct http_req {
	char method[8];
	char path[HTTP_PATH_MAX];	/* without the query */
	char query[HTTP_PATH_MAX];
	/* path split at '/', pointing into parts_buf */
	char parts_buf[HTTP_PATH_MAX];
	const char *parts[HTTP_MAX_PARTS];
	int nparts;
	uint64_t content_length;
	bool has_length;
	bool keep_alive;
	bool expect_continue;
};

/*
 * Find the end of the head in buf[0..len): the offset just past the blank
 * line, 0 if not complete yet, -1 if HTTP_HEAD_MAX is exceeded.
 */
long http_head_end(const char *buf, size_t len);

/*
 * Parse a complete head of len bytes.  0 on success; otherwise the HTTP
 * status to answer (400, 414, 431, 501, 505) with the reason in err.
 */
int http_parse_head(const char *buf, size_t len, struct http_req *req,
		    char *err, size_t errlen);

/* A query parameter's value ("chunk=4096&x=1"); false if absent. */
bool http_query_get(const struct http_req *req, const char *name,
		    char *out, size_t outlen);

/* Standard reason phrase for status. */
const char *http_reason(int status);

/* Format a response head into buf; returns its length or -1. */
int http_format_head(char *buf, size_t len, int status,
		     const char *content_type, uint64_t content_length,
		     bool keep_alive);

#endif /* FERRY_PS_HTTP_H */
