// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-ps network side: listen, one thread per TLS connection (at most
 * PS_MAX_CONNS), HTTP/1.1 keep-alive loop, routing, and the per-source
 * rate limit on authentication failures.
 *
 * Why threads and our own HTTP: a segment body is streamed to disk and
 * through the validating reader in 1 MiB chunks, never held whole in
 * memory; evhttp buffers whole bodies.  A connection carries one machine's
 * uploads in order, so a thread per connection is the natural shape; the
 * work per byte is TLS decryption, crc32c and write(), not dispatching.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ferry/tls.h>

#include "conn.h"

void ps_log(const char *fmt, ...)
{
	char msg[1024], ts[32];
	struct timespec now;
	struct tm tm;
	va_list ap;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s.%03ldZ ferry-ps: %s\n", ts, now.tv_nsec / 1000000,
		msg);
}

/* ---- rate limit: token bucket per source address -------------------- */

#define RL_SLOTS	256
#define RL_BURST	5.0	/* failures allowed at once */
#define RL_RATE		0.2	/* failures per second regained */

static struct rl_slot {
	char ip[48];
	double tokens;
	double at;
} rl_table[RL_SLOTS];
static pthread_mutex_t rl_lock = PTHREAD_MUTEX_INITIALIZER; /* rl_table */

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static struct rl_slot *rl_find(const char *ip)
{
	unsigned int h = 5381;
	const char *p;
	struct rl_slot *s;

	for (p = ip; *p; p++)
		h = h * 33 + (unsigned char)*p;
	s = &rl_table[h % RL_SLOTS];
	if (strcmp(s->ip, ip)) {	/* a collision evicts: fail open, bounded */
		snprintf(s->ip, sizeof(s->ip), "%s", ip);
		s->tokens = RL_BURST;
		s->at = now_s();
	}
	s->tokens += (now_s() - s->at) * RL_RATE;
	if (s->tokens > RL_BURST)
		s->tokens = RL_BURST;
	s->at = now_s();
	return s;
}

bool ps_ratelimit_blocked(struct ps_server *srv, const char *ip, int *retry_s)
{
	struct rl_slot *s;
	bool blocked;

	(void)srv;
	pthread_mutex_lock(&rl_lock);
	s = rl_find(ip);
	blocked = s->tokens < 1.0;
	if (blocked)
		*retry_s = (int)((1.0 - s->tokens) / RL_RATE) + 1;
	pthread_mutex_unlock(&rl_lock);
	return blocked;
}

void ps_ratelimit_fail(struct ps_server *srv, const char *ip)
{
	(void)srv;
	pthread_mutex_lock(&rl_lock);
	rl_find(ip)->tokens -= 1.0;
	pthread_mutex_unlock(&rl_lock);
}

/* ---- connection I/O ------------------------------------------------- */

static int ssl_write_all(struct ps_conn *c, const void *p, size_t n)
{
	while (n) {
		int w = SSL_write(c->ssl, p, n > (1 << 30) ? 1 << 30 : (int)n);

		if (w <= 0)
			return -EIO;
		p = (const char *)p + w;
		n -= w;
	}
	return 0;
}

ssize_t ps_conn_read_body(struct ps_conn *c, void *dst, size_t n)
{
	int r;

	if (n > c->body_left)
		n = c->body_left;
	if (!n)
		return 0;
	if (c->boff < c->blen) {
		if (n > c->blen - c->boff)
			n = c->blen - c->boff;
		memcpy(dst, c->buf + c->boff, n);
		c->boff += n;
		c->body_left -= n;
		return n;
	}
	r = SSL_read(c->ssl, dst, n > INT32_MAX ? INT32_MAX : (int)n);
	if (r <= 0) {
		c->close_after = true;
		return -EPIPE;
	}
	c->body_left -= r;
	return r;
}

int ps_conn_read_all(struct ps_conn *c, size_t max, uint8_t **out, size_t *len)
{
	size_t n = c->body_left, got = 0;
	uint8_t *buf;

	if (n > max)
		return -EFBIG;
	buf = malloc(n ? n : 1);
	if (!buf)
		return -ENOMEM;
	while (got < n) {
		ssize_t r = ps_conn_read_body(c, buf + got, n - got);

		if (r <= 0) {
			free(buf);
			return r ? (int)r : -EPIPE;
		}
		got += r;
	}
	*out = buf;
	*len = n;
	return 0;
}

int ps_conn_reply(struct ps_conn *c, int status, const char *type,
		  const void *body, size_t len)
{
	char head[512];
	int n;

	/* A body we did not read makes the connection unusable. */
	if (c->body_left)
		c->close_after = true;
	n = http_format_head(head, sizeof(head), status, type, len,
			     !c->close_after);
	if (n < 0 || ssl_write_all(c, head, n) ||
	    (len && ssl_write_all(c, body, len))) {
		c->close_after = true;
		return -EIO;
	}
	return 0;
}

int ps_conn_error(struct ps_conn *c, int status, const char *fmt, ...)
{
	char msg[768], body[800];
	va_list ap;
	int n;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps_log("%s: %s %s: %d %s", c->peer, c->req.method, c->req.path,
	       status, msg);
	n = snprintf(body, sizeof(body), "ferry-ps: %s\n", msg);
	ps_conn_reply(c, status, "text/plain", body, n);
	return -1;
}

/* ---- routing --------------------------------------------------------- */

/* A valid certificate for this machine passes; failures are rate-limited. */
static int check_auth(struct ps_conn *c, const char *id)
{
	int retry;

	if (!c->auth_rc && !strcmp(c->machine, id))
		return 0;
	if (ps_ratelimit_blocked(c->srv, c->ip, &retry))
		return ps_conn_error(c, 429, "too many failed authentications "
				     "from %s; retry in %d s", c->ip, retry);
	ps_ratelimit_fail(c->srv, c->ip);
	if (c->auth_rc)
		return ps_conn_error(c, 401, "%s", c->auth_err);
	return ps_conn_error(c, 403, "certificate is for machine %s, not %s",
			     c->machine, id);
}

static void peer_sha256(struct ps_conn *c)
{
	X509 *peer = SSL_get1_peer_certificate(c->ssl);

	if (!peer || tls_cert_sha256(peer, c->cert_sha)) {
		c->auth_rc = -EACCES;
		snprintf(c->auth_err, sizeof(c->auth_err), "client certificate "
			 "unreadable");
	}
	X509_free(peer);
}

/* Is this the certificate last issued to m?  Re-registering revokes. */
static bool cert_current(struct ps_conn *c, struct ps_machine *m)
{
	bool ok;

	pthread_mutex_lock(&m->lock);
	ok = !m->have_cert || !memcmp(m->cert_sha, c->cert_sha, 32);
	pthread_mutex_unlock(&m->lock);
	if (!ok) {
		ps_ratelimit_fail(c->srv, c->ip);
		ps_conn_error(c, 401, "client certificate refused: machine %s "
			      "registered again since it was issued", m->id);
	}
	return ok;
}

static int route(struct ps_conn *c)
{
	const struct http_req *r = &c->req;
	struct ps_machine *m;

	if (r->nparts == 2 && !strcmp(r->parts[0], "v1") &&
	    !strcmp(r->parts[1], "register")) {
		if (strcmp(r->method, "POST"))
			return ps_conn_error(c, 405, "use POST for %s", r->path);
		return ps_handle_register(c);
	}
	if (r->nparts < 4 || strcmp(r->parts[0], "v1") ||
	    strcmp(r->parts[1], "machines"))
		return ps_conn_error(c, 404, "no such resource: %s", r->path);
	if (!ps_id_valid(r->parts[2]))
		return ps_conn_error(c, 400, "invalid machine id in %s: use "
				     "1-64 of [A-Za-z0-9_.:-]", r->path);
	if (check_auth(c, r->parts[2]))
		return -1;
	m = ps_machine_get(c->srv, r->parts[2], true);
	if (!m)
		return ps_conn_error(c, 500, "machine %s: cannot open its "
				     "directory", r->parts[2]);
	if (!cert_current(c, m))
		return -1;
	if (r->nparts == 4 && !strcmp(r->parts[3], "segments")) {
		if (strcmp(r->method, "PUT"))
			return ps_conn_error(c, 405, "use PUT for %s", r->path);
		return ps_handle_upload(c, m);
	}
	if (r->nparts == 4 && !strcmp(r->parts[3], "state")) {
		if (strcmp(r->method, "GET"))
			return ps_conn_error(c, 405, "use GET for %s", r->path);
		return ps_handle_state(c, m);
	}
	if (r->nparts == 6 && !strcmp(r->parts[3], "disks") &&
	    !strcmp(r->parts[5], "hashes")) {
		if (strcmp(r->method, "GET"))
			return ps_conn_error(c, 405, "use GET for %s", r->path);
		if (!ps_id_valid(r->parts[4]))
			return ps_conn_error(c, 400, "invalid disk id in %s",
					     r->path);
		return ps_handle_hashes(c, m, r->parts[4]);
	}
	return ps_conn_error(c, 404, "no such resource: %s", r->path);
}

/* Read one request head; 1 when the peer closed cleanly between requests. */
static int read_head(struct ps_conn *c, char *err, size_t errlen)
{
	long end;

	/* keep bytes of a pipelined next request */
	memmove(c->buf, c->buf + c->boff, c->blen - c->boff);
	c->blen -= c->boff;
	c->boff = 0;
	while ((end = http_head_end(c->buf, c->blen)) == 0) {
		int r = SSL_read(c->ssl, c->buf + c->blen,
				 (int)(sizeof(c->buf) - c->blen));

		if (r <= 0)
			return c->blen ? -EPIPE : 1;
		c->blen += r;
	}
	if (end < 0) {
		snprintf(err, errlen, "request head larger than %d bytes",
			 HTTP_HEAD_MAX);
		return 431;
	}
	c->boff = end;
	return http_parse_head(c->buf, end, &c->req, err, errlen);
}

static void serve_requests(struct ps_conn *c)
{
	char err[256];

	while (!c->close_after) {
		int rc = read_head(c, err, sizeof(err));

		if (rc == 1 || rc == -EPIPE)
			break;
		c->body_left = c->req.content_length;
		if (rc) {
			c->close_after = true;
			ps_conn_error(c, rc, "%s", err);
			break;
		}
		if (!c->req.keep_alive)
			c->close_after = true;
		if (c->req.expect_continue &&
		    ssl_write_all(c, "HTTP/1.1 100 Continue\r\n\r\n", 25))
			break;
		route(c);
	}
}

static void *conn_main(void *arg)
{
	struct ps_conn *c = arg;
	struct ps_server *srv = c->srv;

	c->ssl = SSL_new(srv->ctx);
	if (c->ssl && SSL_set_fd(c->ssl, c->fd) == 1 && SSL_accept(c->ssl) == 1) {
		c->auth_rc = tls_peer_check(c->ssl, c->machine,
					    sizeof(c->machine), c->auth_err,
					    sizeof(c->auth_err));
		if (!c->auth_rc)
			peer_sha256(c);
		serve_requests(c);
		SSL_shutdown(c->ssl);
	} else {
		ps_log("%s: TLS handshake failed: %s", c->peer, tls_errstr());
	}
	SSL_free(c->ssl);
	close(c->fd);
	pthread_mutex_lock(&srv->lock);
	srv->nconns--;
	pthread_mutex_unlock(&srv->lock);
	free(c);
	return NULL;
}

static int listen_on(const char *addr, char *bound, size_t blen)
{
	struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICHOST,
				  .ai_socktype = SOCK_STREAM }, *ai;
	char host[256], *port;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1, rc;

	snprintf(host, sizeof(host), "%s", addr);
	port = strrchr(host, ':');
	if (!port) {
		fprintf(stderr, "ferry-ps: --listen %s: expected ADDR:PORT\n", addr);
		return -EINVAL;
	}
	*port++ = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "ferry-ps: --listen %s: %s\n", addr,
			gai_strerror(rc));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 64)) {
		fprintf(stderr, "ferry-ps: listen on %s: %s\n", addr,
			strerror(errno));
		freeaddrinfo(ai);
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	freeaddrinfo(ai);
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL, 0,
		    NI_NUMERICHOST);
	snprintf(bound, blen, "%s:%u", host, ss.ss_family == AF_INET6 ?
		 ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) :
		 ntohs(((struct sockaddr_in *)&ss)->sin_port));
	return fd;
}

static void start_conn(struct ps_server *srv, int fd, struct sockaddr_storage *ss,
		       socklen_t sl)
{
	struct timeval tv = { .tv_sec = PS_IO_TIMEOUT_S };
	struct ps_conn *c;
	char port[16];
	pthread_t t;
	pthread_attr_t attr;
	int one = 1;

	pthread_mutex_lock(&srv->lock);
	if (srv->nconns >= PS_MAX_CONNS) {
		pthread_mutex_unlock(&srv->lock);
		ps_log("refusing a connection: %d connections open", PS_MAX_CONNS);
		close(fd);
		return;
	}
	srv->nconns++;
	pthread_mutex_unlock(&srv->lock);
	c = calloc(1, sizeof(*c));
	if (!c)
		goto out_unconn;
	c->srv = srv;
	c->fd = fd;
	getnameinfo((struct sockaddr *)ss, sl, c->ip, sizeof(c->ip), port,
		    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(c->peer, sizeof(c->peer), "%s:%s", c->ip, port);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, conn_main, c) == 0) {
		pthread_attr_destroy(&attr);
		return;
	}
	pthread_attr_destroy(&attr);
	free(c);
out_unconn:
	close(fd);
	pthread_mutex_lock(&srv->lock);
	srv->nconns--;
	pthread_mutex_unlock(&srv->lock);
}

int ps_serve(struct ps_server *srv, const char *listen_addr)
{
	char bound[300];

	signal(SIGPIPE, SIG_IGN);
	srv->listenfd = listen_on(listen_addr, bound, sizeof(bound));
	if (srv->listenfd < 0)
		return 1;
	ps_log("listening on %s, data in %s", bound, srv->data);
	printf("listening %s\n", bound);
	fflush(stdout);
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(srv->listenfd, (struct sockaddr *)&ss, &sl,
				 SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE || errno == ENFILE)
				continue;
			ps_log("accept: %s", strerror(errno));
			return 1;
		}
		start_conn(srv, fd, &ss, sl);
	}
}
