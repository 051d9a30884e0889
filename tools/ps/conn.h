/* SPDX-License-Identifier: GPL-2.0 */
/* One HTTPS connection of ferry-ps and the request handlers it calls. */
#ifndef FERRY_PS_CONN_H
#define FERRY_PS_CONN_H

#include <stdarg.h>
#include <sys/types.h>

#include "http.h"
#include "ps.h"

struct ps_conn {
	struct ps_server *srv;
	SSL *ssl;
	int fd;
	char peer[64];		/* "ip:port" */
	char ip[48];
	/* bytes read past the request head: the start of the body */
	char buf[HTTP_HEAD_MAX];
	size_t blen, boff;
	struct http_req req;
	uint64_t body_left;	/* body bytes not yet read */
	bool close_after;
	/* client certificate verdict, from tls_peer_check() */
	int auth_rc;
	char machine[PS_ID_MAX];
	uint8_t cert_sha[32];	/* of the client certificate */
	char auth_err[256];
};

/* Read up to n body bytes; 0 at the end of the body, -errno on error. */
ssize_t ps_conn_read_body(struct ps_conn *c, void *dst, size_t n);
/* Read the whole body (<= max) into a malloc'd buffer. */
int ps_conn_read_all(struct ps_conn *c, size_t max, uint8_t **out, size_t *len);

int ps_conn_reply(struct ps_conn *c, int status, const char *type,
		  const void *body, size_t len);
/* Reply text/plain "ferry-ps: <message>\n" and log it with the peer. */
int ps_conn_error(struct ps_conn *c, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Authentication failures: true when the source may not try again yet. */
bool ps_ratelimit_blocked(struct ps_server *srv, const char *ip, int *retry_s);
void ps_ratelimit_fail(struct ps_server *srv, const char *ip);

int ps_handle_register(struct ps_conn *c);
int ps_handle_upload(struct ps_conn *c, struct ps_machine *m);
int ps_handle_state(struct ps_conn *c, struct ps_machine *m);
int ps_handle_hashes(struct ps_conn *c, struct ps_machine *m,
		     const char *disk);

#endif /* FERRY_PS_CONN_H */
