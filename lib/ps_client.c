// SPDX-License-Identifier: GPL-2.0
/*
 * libcurl client of ferry-ps; API and error classes in ferry/ps_client.h,
 * protocol in docs/server.md.  One easy handle per client keeps the TLS
 * connection alive between requests.  The server certificate is verified
 * against the pinned CA; the host name is not checked, because the CA is
 * private to one server and server and client certificates differ in
 * extendedKeyUsage (a machine's certificate cannot pose as the server).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/rand.h>

#include <ferry/ps_auth.h>
#include <ferry/ps_client.h>
#include <ferry/tls.h>

#include "ps.pb-c.h"

#define RESP_MAX	(256 * 1024)

struct resp {
	char buf[RESP_MAX + 1];
	size_t len;
};

struct ps_client {
	CURL *curl;
	char url[512];		/* https://server/v1/machines/<id> */
	char server[256];
	struct resp resp;
	char errbuf[CURL_ERROR_SIZE];
};

struct upload_src {
	int fd;
	uint64_t off, len;
};

static size_t on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct resp *r = arg;
	size_t k = sz * n, room = RESP_MAX - r->len;

	memcpy(r->buf + r->len, p, k < room ? k : room);
	r->len += k < room ? k : room;
	r->buf[r->len] = '\0';
	return k;
}

static size_t on_read(char *p, size_t sz, size_t n, void *arg)
{
	struct upload_src *s = arg;
	size_t want = sz * n;
	ssize_t got;

	if (want > s->len - s->off)
		want = s->len - s->off;
	if (!want)
		return 0;
	got = pread(s->fd, p, want, s->off);
	if (got <= 0)
		return CURL_READFUNC_ABORT;
	s->off += got;
	return got;
}

static int curl_init_once(void)
{
	static int done;

	if (!__atomic_exchange_n(&done, 1, __ATOMIC_SEQ_CST))
		return curl_global_init(CURL_GLOBAL_DEFAULT) ? -EIO : 0;
	return 0;
}

static void base_opts(CURL *h, struct resp *r, char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
	/* fewer, larger reads and TLS writes for multi-MiB segments */
	curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 1L << 20);
}

/* Run the request; 0 for 2xx, else a classified -errno with err filled. */
static int perform(CURL *h, struct resp *r, char *errbuf, const char *what,
		   const char *server, long *status, char *err, size_t errlen)
{
	CURLcode cc;
	long code = 0;

	r->len = 0;
	r->buf[0] = '\0';
	errbuf[0] = '\0';
	cc = curl_easy_perform(h);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s %s: %s", what, server,
			 errbuf[0] ? errbuf : curl_easy_strerror(cc));
		return cc == CURLE_PEER_FAILED_VERIFICATION ||
		       cc == CURLE_SSL_CERTPROBLEM ? -EACCES : -EAGAIN;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	*status = code;
	if (code >= 200 && code < 300)
		return 0;
	r->buf[strcspn(r->buf, "\n")] = '\0';
	snprintf(err, errlen, "%s %s: HTTP %ld: %s", what, server, code,
		 strncmp(r->buf, "ferry-ps: ", 10) ? r->buf : r->buf + 10);
	if (code == 401 || code == 403)
		return -EACCES;
	if (code == 422)
		return -EBADMSG;
	if (code == 429 || code >= 500)
		return -EAGAIN;
	return -EPROTO;
}

/* ---- registration ----------------------------------------------------- */

static int write_file(const char *dir, const char *name, const char *text,
		      mode_t mode, char *err, size_t errlen)
{
	char path[4096], tmp[4200];
	size_t n = strlen(text);
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	close(fd);
	if (!ok || rename(tmp, path)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

/* Check the server's proof, then keep what it sent. */
static int finish_register(const Ferry__Ps__RegisterResponse *rs,
			   const char *passphrase, const uint8_t *nonce,
			   const char *server, const char *dir, char *err,
			   size_t errlen)
{
	uint8_t want[PS_PROOF_LEN];
	char *ca = strndup((char *)rs->ca_pem.data, rs->ca_pem.len);
	char *crt = strndup((char *)rs->cert_pem.data, rs->cert_pem.len);
	X509 *ca_x = NULL;
	int ret = -EACCES;

	if (!ca || !crt)
		goto out;
	if (rs->proof.len != PS_PROOF_LEN ||
	    ps_proof_server(passphrase, nonce, ca, strlen(ca), crt, strlen(crt),
			    want) ||
	    ps_proof_cmp(want, rs->proof.data, PS_PROOF_LEN)) {
		snprintf(err, errlen, "register with %s: the server could not "
			 "prove it knows the passphrase; not trusting it",
			 server);
		goto out;
	}
	ca_x = tls_cert_from_pem(ca, strlen(ca));
	if (!ca_x) {
		snprintf(err, errlen, "register with %s: bad CA certificate",
			 server);
		goto out;
	}
	if (!(ret = write_file(dir, PS_FILE_CA, ca, 0644, err, errlen)) &&
	    !(ret = write_file(dir, PS_FILE_CERT, crt, 0644, err, errlen))) {
		char line[300];

		snprintf(line, sizeof(line), "%s\n", server);
		ret = write_file(dir, PS_FILE_SERVER, line, 0644, err, errlen);
	}
	if (!ret) {
		char from[4096], to[4096];

		snprintf(from, sizeof(from), "%s/%s.new", dir, PS_FILE_KEY);
		snprintf(to, sizeof(to), "%s/%s", dir, PS_FILE_KEY);
		if (rename(from, to)) {
			snprintf(err, errlen, "%s: %s", to, strerror(errno));
			ret = -errno;
		}
	}
out:
	X509_free(ca_x);
	free(ca);
	free(crt);
	return ret;
}

static int build_request(const char *passphrase, const char *machine_id,
			 const char *dir, uint8_t *nonce, uint8_t **body,
			 size_t *len, char *err, size_t errlen)
{
	Ferry__Ps__RegisterRequest rq = FERRY__PS__REGISTER_REQUEST__INIT;
	char host[256] = "", path[4096];
	uint8_t proof[PS_PROOF_LEN];
	EVP_PKEY *key;
	X509_REQ *req = NULL;
	char *csr = NULL;
	int ret = -EIO;

	key = tls_key_new(err, errlen);
	if (key) {
		snprintf(path, sizeof(path), "%s/%s.new", dir, PS_FILE_KEY);
		if (tls_key_save(key, path, err, errlen))
			goto out;
		req = tls_csr_new(key, machine_id, err, errlen);
	}
	if (!req || !(csr = tls_csr_pem(req)) ||
	    RAND_bytes(nonce, PS_NONCE_LEN) != 1 ||
	    ps_proof_client(passphrase, nonce, machine_id, csr, strlen(csr),
			    proof))
		goto out;
	gethostname(host, sizeof(host) - 1);
	rq.machine_id = (char *)machine_id;
	rq.hostname = host;
	rq.csr_pem.data = (uint8_t *)csr;
	rq.csr_pem.len = strlen(csr);
	rq.client_nonce.data = nonce;
	rq.client_nonce.len = PS_NONCE_LEN;
	rq.proof.data = proof;
	rq.proof.len = PS_PROOF_LEN;
	*len = ferry__ps__register_request__get_packed_size(&rq);
	*body = malloc(*len);
	if (*body) {
		ferry__ps__register_request__pack(&rq, *body);
		ret = 0;
	}
out:
	if (ret && !err[0])
		snprintf(err, errlen, "register: cannot build the request: %s",
			 tls_errstr());
	free(csr);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	return ret;
}

int ps_register(const char *server, const char *passphrase,
		const char *machine_id, const char *dir,
		char *err, size_t errlen)
{
	Ferry__Ps__RegisterResponse *rs;
	struct resp *r = calloc(1, sizeof(*r));
	char url[512], errbuf[CURL_ERROR_SIZE];
	uint8_t nonce[PS_NONCE_LEN], *body = NULL;
	struct curl_slist *hdrs = NULL;
	size_t len;
	long status = 0;
	CURL *h = NULL;
	int ret;

	err[0] = '\0';
	if (!r || curl_init_once() || !(h = curl_easy_init())) {
		snprintf(err, errlen, "register: out of memory");
		ret = -ENOMEM;
		goto out;
	}
	ret = build_request(passphrase, machine_id, dir, nonce, &body, &len,
			    err, errlen);
	if (ret)
		goto out;
	snprintf(url, sizeof(url), "https://%s/v1/register", server);
	base_opts(h, r, errbuf);
	/* The CA is not known yet: the server proves itself with the HMAC. */
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/x-protobuf");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	ret = perform(h, r, errbuf, "register with", server, &status, err,
		      errlen);
	if (ret)
		goto out;
	rs = ferry__ps__register_response__unpack(NULL, r->len,
						  (uint8_t *)r->buf);
	if (!rs) {
		snprintf(err, errlen, "register with %s: answer is not a "
			 "RegisterResponse", server);
		ret = -EPROTO;
		goto out;
	}
	ret = finish_register(rs, passphrase, nonce, server, dir, err, errlen);
	ferry__ps__register_response__free_unpacked(rs, NULL);
out:
	if (ret) {
		char path[4096];

		snprintf(path, sizeof(path), "%s/%s.new", dir, PS_FILE_KEY);
		unlink(path);
	}
	curl_slist_free_all(hdrs);
	if (h)
		curl_easy_cleanup(h);
	free(body);
	free(r);
	return ret;
}

/* ---- mutual TLS requests ---------------------------------------------- */

int ps_client_open(const struct ps_client_conf *conf, struct ps_client **out,
		   char *err, size_t errlen)
{
	struct ps_client *c;
	char path[4096];

	if (!ps_id_valid(conf->machine_id)) {
		snprintf(err, errlen, "machine id '%s' is not valid",
			 conf->machine_id);
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (!c || curl_init_once() || !(c->curl = curl_easy_init())) {
		free(c);
		snprintf(err, errlen, "ps client: out of memory");
		return -ENOMEM;
	}
	snprintf(c->server, sizeof(c->server), "%s", conf->server);
	snprintf(c->url, sizeof(c->url), "https://%s/v1/machines/%s",
		 conf->server, conf->machine_id);
	base_opts(c->curl, &c->resp, c->errbuf);
	if (conf->connect_timeout_s)
		curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT,
				 conf->connect_timeout_s);
	if (conf->timeout_s)
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, conf->timeout_s);
	snprintf(path, sizeof(path), "%s/%s", conf->dir, PS_FILE_CA);
	curl_easy_setopt(c->curl, CURLOPT_CAINFO, path);
	curl_easy_setopt(c->curl, CURLOPT_CAPATH, NULL);
	snprintf(path, sizeof(path), "%s/%s", conf->dir, PS_FILE_CERT);
	curl_easy_setopt(c->curl, CURLOPT_SSLCERT, path);
	snprintf(path, sizeof(path), "%s/%s", conf->dir, PS_FILE_KEY);
	curl_easy_setopt(c->curl, CURLOPT_SSLKEY, path);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c->curl, CURLOPT_SSL_VERIFYHOST, 0L);
	*out = c;
	return 0;
}

void ps_client_close(struct ps_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

int ps_client_upload(struct ps_client *c, int fd, uint64_t len,
		     struct ps_ack *ack, char *err, size_t errlen)
{
	struct upload_src src = { .fd = fd, .len = len };
	struct curl_slist *hdrs = NULL;
	Ferry__Ps__SegmentAck *a;
	char url[600];
	long status = 0;
	int ret;

	/* spool segments were written with O_DIRECT: start reading ahead */
	posix_fadvise(fd, 0, len, POSIX_FADV_WILLNEED);
	posix_fadvise(fd, 0, len, POSIX_FADV_SEQUENTIAL);
	snprintf(url, sizeof(url), "%s/segments", c->url);
	hdrs = curl_slist_append(hdrs, "Expect:");
	hdrs = curl_slist_append(hdrs, "Content-Type: application/x-ferry-hrl");
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 0L);
	curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(c->curl, CURLOPT_READDATA, &src);
	curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, hdrs);
	ret = perform(c->curl, &c->resp, c->errbuf, "upload to", c->server,
		      &status, err, errlen);
	curl_easy_setopt(c->curl, CURLOPT_UPLOAD, 0L);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (ret)
		return ret;
	a = ferry__ps__segment_ack__unpack(NULL, c->resp.len,
					   (uint8_t *)c->resp.buf);
	if (!a) {
		snprintf(err, errlen, "upload to %s: answer is not a "
			 "SegmentAck", c->server);
		return -EPROTO;
	}
	ack->start_seq = a->first_seq;
	ack->end_seq = a->last_seq;
	ack->bytes = a->bytes;
	ack->records = a->records;
	ack->duplicate = a->duplicate;
	ferry__ps__segment_ack__free_unpacked(a, NULL);
	return 0;
}

int ps_client_state(struct ps_client *c, struct ps_remote_state *st,
		    char *err, size_t errlen)
{
	Ferry__Ps__MachineState *ms;
	char url[600];
	long status = 0;
	int ret;

	snprintf(url, sizeof(url), "%s/state", c->url);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	ret = perform(c->curl, &c->resp, c->errbuf, "state from", c->server,
		      &status, err, errlen);
	if (ret)
		return ret;
	ms = ferry__ps__machine_state__unpack(NULL, c->resp.len,
					      (uint8_t *)c->resp.buf);
	if (!ms) {
		snprintf(err, errlen, "state from %s: answer is not a "
			 "MachineState", c->server);
		return -EPROTO;
	}
	memset(st, 0, sizeof(*st));
	st->stored_seq = ms->stored_seq;
	st->applied_seq = ms->applied_seq;
	st->resync_window_open = ms->resync_window_open;
	st->resync_window_open_seq = ms->resync_window_open_seq;
	st->resync_window_close_seq = ms->resync_window_close_seq;
	st->resync_windows = ms->resync_windows;
	st->resync_bytes = ms->resync_bytes;
	st->resync_data_bytes = ms->resync_data_bytes;
	st->resync_zero_bytes = ms->resync_zero_bytes;
	st->resync_diff_bytes = ms->resync_diff_bytes;
	ferry__ps__machine_state__free_unpacked(ms, NULL);
	return 0;
}

static int get(struct ps_client *c, const char *path, const char *what,
	       char *err, size_t errlen)
{
	char url[800];
	long status = 0;

	snprintf(url, sizeof(url), "%s/%s", c->url, path);
	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_HTTPGET, 1L);
	return perform(c->curl, &c->resp, c->errbuf, what, c->server, &status,
		       err, errlen);
}

int ps_client_points(struct ps_client *c, struct ps_remote_point **pts,
		     size_t *n, char *err, size_t errlen)
{
	Ferry__Ps__MachineState *ms;
	size_t i;
	int ret;

	ret = get(c, "state", "points from", err, errlen);
	if (ret)
		return ret;
	ms = ferry__ps__machine_state__unpack(NULL, c->resp.len,
					      (uint8_t *)c->resp.buf);
	if (!ms) {
		snprintf(err, errlen, "points from %s: answer is not a "
			 "MachineState", c->server);
		return -EPROTO;
	}
	*pts = calloc(ms->n_points ? ms->n_points : 1, sizeof(**pts));
	if (!*pts) {
		ferry__ps__machine_state__free_unpacked(ms, NULL);
		return -ENOMEM;
	}
	for (i = 0; i < ms->n_points; i++) {
		const Ferry__Ps__Point *p = ms->points[i];

		(*pts)[i].id = p->id;
		(*pts)[i].seq = p->seq;
		(*pts)[i].time_ns = p->time_ns;
		(*pts)[i].tag = p->kind == FERRY__PS__POINT_KIND__POINT_TAG;
		snprintf((*pts)[i].name, sizeof((*pts)[i].name), "%s", p->tag);
	}
	*n = ms->n_points;
	ferry__ps__machine_state__free_unpacked(ms, NULL);
	return 0;
}

int ps_client_hashes(struct ps_client *c, const char *disk, uint64_t chunk,
		     uint64_t offset, uint32_t count, uint8_t (*out)[32],
		     size_t *n, uint64_t *applied_seq, char *err, size_t errlen)
{
	Ferry__Ps__ChunkHashes *h;
	char path[256];
	size_t i;
	int ret;

	if (!ps_id_valid(disk) || count > PS_HASHES_MAX) {
		snprintf(err, errlen, "hashes of %s: invalid request", disk);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "disks/%s/hashes?chunk=%llu&offset=%llu"
		 "&count=%u", disk, (unsigned long long)chunk,
		 (unsigned long long)offset, count);
	ret = get(c, path, "hashes from", err, errlen);
	if (ret == -EPROTO) {
		long code = 0;

		curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code == 404)
			return -ENOENT;
	}
	if (ret)
		return ret;
	h = ferry__ps__chunk_hashes__unpack(NULL, c->resp.len,
					    (uint8_t *)c->resp.buf);
	if (!h || h->n_sha256 > count) {
		snprintf(err, errlen, "hashes from %s: bad ChunkHashes answer",
			 c->server);
		if (h)
			ferry__ps__chunk_hashes__free_unpacked(h, NULL);
		return -EPROTO;
	}
	for (i = 0; i < h->n_sha256; i++) {
		if (h->sha256[i].len != 32) {
			ferry__ps__chunk_hashes__free_unpacked(h, NULL);
			snprintf(err, errlen, "hashes from %s: bad digest",
				 c->server);
			return -EPROTO;
		}
		memcpy(out[i], h->sha256[i].data, 32);
	}
	*n = h->n_sha256;
	*applied_seq = h->applied_seq;
	ferry__ps__chunk_hashes__free_unpacked(h, NULL);
	return 0;
}

void ps_disk_name(const struct hrl_disk *d, char *buf, size_t len)
{
	static const uint8_t zero[16];
	int i, n = 0;

	if (!memcmp(d->uuid, zero, 16)) {
		snprintf(buf, len, "disk%u", d->id);
		return;
	}
	for (i = 0; i < 16 && n + 3 <= (int)len; i++)
		n += snprintf(buf + n, len - n, "%02x", d->uuid[i]);
}
