// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-ps HTTP/1.1 request-head parser and response-head writer; the
 * grammar is in http.h.  Every field is bounded and every byte checked:
 * this code faces the network before any authentication.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"

#define seterr(...) snprintf(err, errlen, __VA_ARGS__)

long http_head_end(const char *buf, size_t len)
{
	size_t i, lim = len < HTTP_HEAD_MAX ? len : HTTP_HEAD_MAX;

	for (i = 3; i < lim; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' &&
		    buf[i - 2] == '\n' && buf[i - 3] == '\r')
			return (long)i + 1;
	return len >= HTTP_HEAD_MAX ? -1 : 0;
}

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

static bool is_vchar(unsigned char c)
{
	return c > 0x20 && c < 0x7f;
}

static int parse_target(const char *t, size_t n, struct http_req *req,
			char *err, size_t errlen)
{
	const char *q = memchr(t, '?', n);
	size_t plen = q ? (size_t)(q - t) : n, i;
	char *p;

	if (plen >= sizeof(req->path) || (q && n - plen - 1 >= sizeof(req->query))) {
		seterr("request target longer than %d bytes", HTTP_PATH_MAX - 1);
		return 414;
	}
	if (plen == 0 || t[0] != '/') {
		seterr("request target must be an absolute path");
		return 400;
	}
	for (i = 0; i < n; i++) {
		if (!is_vchar(t[i]) || t[i] == '%' || t[i] == '\\') {
			seterr("request target: byte 0x%02x at %zu not allowed",
			       (unsigned char)t[i], i);
			return 400;
		}
	}
	memcpy(req->path, t, plen);
	req->path[plen] = '\0';
	if (q) {
		memcpy(req->query, q + 1, n - plen - 1);
		req->query[n - plen - 1] = '\0';
	}
	memcpy(req->parts_buf, t + 1, plen - 1);
	req->parts_buf[plen - 1] = '\0';
	req->nparts = 0;
	for (p = req->parts_buf; ; ) {
		char *slash = strchr(p, '/');

		if (req->nparts == HTTP_MAX_PARTS) {
			seterr("request path has more than %d components",
			       HTTP_MAX_PARTS);
			return 404;
		}
		req->parts[req->nparts++] = p;
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return 0;
}

static int parse_request_line(const char *l, size_t n, struct http_req *req,
			      char *err, size_t errlen)
{
	const char *sp1 = memchr(l, ' ', n), *sp2;
	size_t mlen;

	if (!sp1) {
		seterr("malformed request line");
		return 400;
	}
	mlen = sp1 - l;
	sp2 = memchr(sp1 + 1, ' ', n - mlen - 1);
	if (!sp2) {
		seterr("malformed request line");
		return 400;
	}
	if (mlen == 0 || mlen >= sizeof(req->method)) {
		seterr("method not supported");
		return 501;
	}
	memcpy(req->method, l, mlen);
	req->method[mlen] = '\0';
	if (strcmp(req->method, "GET") && strcmp(req->method, "PUT") &&
	    strcmp(req->method, "POST") && strcmp(req->method, "DELETE")) {
		seterr("method not supported");
		return 501;
	}
	if ((size_t)(l + n - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7)) {
		seterr("malformed HTTP version");
		return 400;
	}
	if (sp2[8] != '1') {
		seterr("only HTTP/1.1 is spoken here");
		return 505;
	}
	return parse_target(sp1 + 1, sp2 - sp1 - 1, req, err, errlen);
}

static bool value_is(const char *v, size_t n, const char *want)
{
	return strlen(want) == n && !strncasecmp(v, want, n);
}

static int parse_length(const char *v, size_t n, struct http_req *req,
			char *err, size_t errlen)
{
	uint64_t x = 0;
	size_t i;

	if (req->has_length) {
		seterr("repeated Content-Length");
		return 400;
	}
	if (n == 0 || n > 19) {
		seterr("bad Content-Length");
		return 400;
	}
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			seterr("bad Content-Length");
			return 400;
		}
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	req->content_length = x;
	req->has_length = true;
	return 0;
}

static int parse_header(const char *l, size_t n, struct http_req *req,
			char *err, size_t errlen)
{
	const char *colon = memchr(l, ':', n), *v, *end = l + n;
	size_t i, nlen;

	if (!colon || colon == l) {
		seterr("malformed header line");
		return 400;
	}
	nlen = colon - l;
	for (i = 0; i < nlen; i++)
		if (!is_tchar(l[i])) {
			seterr("malformed header name");
			return 400;
		}
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (i = 0; v + i < end; i++)
		if (!is_vchar(v[i]) && v[i] != ' ' && v[i] != '\t') {
			seterr("header value: byte 0x%02x not allowed",
			       (unsigned char)v[i]);
			return 400;
		}
	if (value_is(l, nlen, "content-length"))
		return parse_length(v, end - v, req, err, errlen);
	if (value_is(l, nlen, "transfer-encoding")) {
		seterr("Transfer-Encoding not supported; send Content-Length");
		return 501;
	}
	if (value_is(l, nlen, "connection")) {
		if (value_is(v, end - v, "close"))
			req->keep_alive = false;
		else if (value_is(v, end - v, "keep-alive"))
			req->keep_alive = true;
	} else if (value_is(l, nlen, "expect")) {
		if (!value_is(v, end - v, "100-continue")) {
			seterr("unsupported expectation");
			return 417;
		}
		req->expect_continue = true;
	}
	return 0;
}

int http_parse_head(const char *buf, size_t len, struct http_req *req,
		    char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len;
	int nheaders = 0, rc;

	memset(req, 0, sizeof(*req));
	req->keep_alive = true;
	if (len > HTTP_HEAD_MAX) {
		seterr("request head larger than %d bytes", HTTP_HEAD_MAX);
		return 431;
	}
	for (;;) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n;

		if (!nl || nl == p || nl[-1] != '\r') {
			seterr("malformed line ending in request head");
			return 400;
		}
		n = nl - 1 - p;
		if (p == buf)
			rc = parse_request_line(p, n, req, err, errlen);
		else if (n == 0)
			return nl + 1 == end ? 0 :
			       (seterr("data after request head"), 400);
		else if (++nheaders > HTTP_MAX_HEADERS)
			rc = (seterr("more than %d headers", HTTP_MAX_HEADERS), 431);
		else
			rc = parse_header(p, n, req, err, errlen);
		if (rc)
			return rc;
		p = nl + 1;
		if (p >= end) {
			seterr("request head not terminated");
			return 400;
		}
	}
}

bool http_query_get(const struct http_req *req, const char *name,
		    char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *p = req->query;

	while (*p) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n > nlen && p[nlen] == '=' && !strncmp(p, name, nlen)) {
			if (n - nlen - 1 >= outlen)
				return false;
			memcpy(out, p + nlen + 1, n - nlen - 1);
			out[n - nlen - 1] = '\0';
			return true;
		}
		p += n + (amp ? 1 : 0);
	}
	return false;
}

const char *http_reason(int status)
{
	switch (status) {
	case 100: return "Continue";
	case 200: return "OK";
	case 201: return "Created";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 417: return "Expectation Failed";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	case 507: return "Insufficient Storage";
	}
	return "Unknown";
}

int http_format_head(char *buf, size_t len, int status,
		     const char *content_type, uint64_t content_length,
		     bool keep_alive)
{
	int n = snprintf(buf, len,
			 "HTTP/1.1 %d %s\r\n"
			 "Server: ferry-ps\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %" PRIu64 "\r\n"
			 "Connection: %s\r\n\r\n",
			 status, http_reason(status), content_type,
			 content_length, keep_alive ? "keep-alive" : "close");

	return n < 0 || (size_t)n >= len ? -1 : n;
}
