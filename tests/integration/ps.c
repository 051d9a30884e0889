// SPDX-License-Identifier: GPL-2.0
/*
 * integ-ps: ferry-ps and the agent's client over real TLS on 127.0.0.1.
 *
 *  registration; refusals (wrong passphrase, no certificate, a certificate
 *  from another CA, an expired one, another machine's URL); upload,
 *  idempotent re-upload, a gap refused; a corrupted segment rejected and
 *  never stored or applied; apply to the replica, a tag point, export at
 *  it; SIGKILL of the server in the middle of an upload, restart, nothing
 *  lost; peers that close before the answer (the server must not die of
 *  SIGPIPE); the rate limit on failed registrations; the resync window
 *  and resync accounting (ps_resync.c).
 */
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <ferry/ps_auth.h>
#include <ferry/ps_client.h>
#include <ferry/tls.h>

#include "ps_harness.h"

#define SEG_CAP		(4u << 20)

static struct t_server srv;
static char creds[600], pass[PS_PASSPHRASE_MAX];
static uint8_t *img, *img_at_tag, *seg;
static uint64_t next_seq = 1000;

static void path_of(char *buf, size_t len, const char *dir, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static struct ps_client *client(const char *dir)
{
	struct ps_client_conf cc = {
		.server = srv.addr, .dir = dir, .machine_id = T_MACHINE,
		.timeout_s = 30,
	};
	struct ps_client *c;
	char err[PS_ERR_LEN];

	CHECK(ps_client_open(&cc, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

static int upload_buf(struct ps_client *c, const void *buf, size_t len,
		      struct ps_ack *ack, char *err, size_t errlen)
{
	char path[600];
	int fd, ret;

	path_of(path, sizeof(path), t_scratch(), "seg.hrl");
	CHECK(t_write_file(path, buf, len) == 0, "write %s", path);
	fd = open(path, O_RDONLY);
	ret = ps_client_upload(c, fd, len, ack, err, errlen);
	close(fd);
	return ret;
}

static void t_register(void)
{
	char err[PS_ERR_LEN], path[700], pfile[600];
	struct stat st;
	const char *argv[] = { t_bin("ferry-ps"), "passphrase", "--data",
			       srv.data, NULL };

	path_of(pfile, sizeof(pfile), t_scratch(), "passphrase");
	CHECK(t_run(argv, pfile) == 0, "ferry-ps passphrase");
	CHECK(ps_passphrase_read(pfile, pass, sizeof(pass), err,
				 sizeof(err)) == 0, "%s", err);

	path_of(creds, sizeof(creds), t_scratch(), "creds");
	mkdir(creds, 0700);
	CHECK(ps_register(srv.addr, "not-the-passphrase-at-all", T_MACHINE,
			  creds, err, sizeof(err)) == -EACCES,
	      "wrong passphrase accepted");
	CHECK(strstr(err, "wrong registration passphrase"), "message: %s", err);
	path_of(path, sizeof(path), creds, PS_FILE_CA);
	CHECK(access(path, F_OK) != 0, "CA pinned after a refusal");

	CHECK(ps_register(srv.addr, pass, "../../etc", creds, err,
			  sizeof(err)) == -EPROTO, "bad machine id: %s", err);
	CHECK(ps_register(srv.addr, pass, T_MACHINE, creds, err,
			  sizeof(err)) == 0, "register: %s", err);
	path_of(path, sizeof(path), creds, PS_FILE_KEY);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	      "client key mode");
	printf("ok register (and wrong passphrase, bad id refused)\n");
}

/* A plain HTTPS GET without a client certificate. */
static void t_no_cert(void)
{
	char url[300], cafile[700];
	CURL *h = curl_easy_init();
	long code = 0;
	FILE *sink = fopen("/dev/null", "w");

	snprintf(url, sizeof(url), "https://%s/v1/machines/%s/state", srv.addr,
		 T_MACHINE);
	path_of(cafile, sizeof(cafile), creds, PS_FILE_CA);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	CHECK(curl_easy_perform(h) == CURLE_OK, "request without cert");
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	CHECK(code == 401, "no certificate: HTTP %ld", code);
	curl_easy_cleanup(h);
	fclose(sink);
	printf("ok no client certificate refused (401)\n");
}

/* creds/ps-ca.crt with a client certificate made by (ca, cakey). */
static void make_creds(const char *dir, X509 *ca, EVP_PKEY *cakey,
		       long not_after)
{
	char err[TLS_ERR_LEN], path[700], src[700];
	EVP_PKEY *key = tls_key_new(err, sizeof(err));
	X509_REQ *req = tls_csr_new(key, T_MACHINE, err, sizeof(err));
	X509 *crt = tls_sign(req, ca, cakey, T_MACHINE, TLS_ROLE_CLIENT,
			     -7200, not_after, err, sizeof(err));
	uint8_t buf[8192];
	ssize_t n;

	CHECK(crt, "%s", err);
	mkdir(dir, 0700);
	path_of(path, sizeof(path), dir, PS_FILE_KEY);
	CHECK(tls_key_save(key, path, err, sizeof(err)) == 0, "%s", err);
	path_of(path, sizeof(path), dir, PS_FILE_CERT);
	CHECK(tls_cert_save(crt, path, err, sizeof(err)) == 0, "%s", err);
	path_of(src, sizeof(src), creds, PS_FILE_CA);
	n = t_read_file(src, buf, sizeof(buf));
	path_of(path, sizeof(path), dir, PS_FILE_CA);
	CHECK(n > 0 && t_write_file(path, buf, n) == 0, "copy CA");
	X509_free(crt);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
}

static void expect_refused(const char *dir, const char *what, const char *msg)
{
	struct ps_client *c = client(dir);
	struct ps_remote_state st;
	char err[PS_ERR_LEN];
	int ret = ps_client_state(c, &st, err, sizeof(err));

	CHECK(ret == -EACCES, "%s: accepted (%d: %s)", what, ret, err);
	CHECK(strstr(err, msg), "%s: message '%s' lacks '%s'", what, err, msg);
	ps_client_close(c);
	printf("ok %s refused: %s\n", what, err);
}

static void t_foreign_and_expired(void)
{
	char err[TLS_ERR_LEN], dir[600], path[700];
	EVP_PKEY *k = tls_key_new(err, sizeof(err)), *ck;
	X509 *other = tls_ca_create(k, "ferry-ps CA", 30, err, sizeof(err)), *ca;

	path_of(dir, sizeof(dir), t_scratch(), "foreign");
	make_creds(dir, other, k, 86400);
	expect_refused(dir, "certificate from another CA", "not issued by this server");

	snprintf(path, sizeof(path), "%s/tls/ca.crt", srv.data);
	ca = tls_cert_load(path, err, sizeof(err));
	snprintf(path, sizeof(path), "%s/tls/ca.key", srv.data);
	ck = tls_key_load(path, err, sizeof(err));
	CHECK(ca && ck, "%s", err);
	path_of(dir, sizeof(dir), t_scratch(), "expired");
	make_creds(dir, ca, ck, -3600);
	expect_refused(dir, "expired certificate", "expired");
	X509_free(ca);
	X509_free(other);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ck);
}

static void t_other_machine(void)
{
	struct ps_client_conf cc = {
		.server = srv.addr, .dir = creds,
		.machine_id = "ffffffffffffffffffffffffffffffff",
	};
	struct ps_remote_state st;
	struct ps_client *c;
	char err[PS_ERR_LEN];

	CHECK(ps_client_open(&cc, &c, err, sizeof(err)) == 0, "%s", err);
	CHECK(ps_client_state(c, &st, err, sizeof(err)) == -EACCES,
	      "another machine's resource served: %s", err);
	ps_client_close(c);
	printf("ok another machine's resource refused: %s\n", err);
}

static void t_upload(struct ps_client *c)
{
	char err[PS_ERR_LEN];
	struct ps_remote_state st;
	struct ps_ack ack;
	uint64_t end, end2;
	size_t n;

	n = t_segment(seg, SEG_CAP, next_seq, 20, NULL, img, &end);
	CHECK(upload_buf(c, seg, n, &ack, err, sizeof(err)) == 0, "%s", err);
	CHECK(!ack.duplicate && ack.start_seq == next_seq && ack.end_seq == end,
	      "first upload ack %d %lu-%lu", ack.duplicate,
	      (unsigned long)ack.start_seq, (unsigned long)ack.end_seq);
	CHECK(upload_buf(c, seg, n, &ack, err, sizeof(err)) == 0, "%s", err);
	CHECK(ack.duplicate, "re-upload not reported as duplicate");
	next_seq = end;

	/* a segment that skips part of the stream is refused */
	n = t_segment(seg, SEG_CAP, next_seq + 5, 3, NULL, NULL, &end2);
	CHECK(upload_buf(c, seg, n, &ack, err, sizeof(err)) == -EPROTO,
	      "gap accepted: %s", err);
	CHECK(strstr(err, "does not continue"), "gap message: %s", err);

	n = t_segment(seg, SEG_CAP, next_seq, 30, "t1", img, &end);
	CHECK(upload_buf(c, seg, n, &ack, err, sizeof(err)) == 0, "%s", err);
	memcpy(img_at_tag, img, T_DISK_SIZE);
	next_seq = end;

	/* an agent re-draining its ring after a crash repeats some records */
	n = t_segment(seg, SEG_CAP, next_seq - 5, 12, NULL, img, &end);
	CHECK(upload_buf(c, seg, n, &ack, err, sizeof(err)) == 0, "%s", err);
	CHECK(!ack.duplicate, "overlapping segment reported duplicate");
	next_seq = end;
	CHECK(ps_client_state(c, &st, err, sizeof(err)) == 0, "%s", err);
	CHECK(st.stored_seq == next_seq, "stored %lu != %lu",
	      (unsigned long)st.stored_seq, (unsigned long)next_seq);
	printf("ok upload, idempotent re-upload, overlap accepted, gap "
	       "refused\n");
}

static void t_corrupt(struct ps_client *c)
{
	char err[PS_ERR_LEN], segdir[700], cmd[800];
	struct ps_ack ack;
	uint8_t shadow[1];
	uint64_t end;
	size_t n;

	n = t_segment(seg, SEG_CAP, next_seq, 10, NULL, NULL, &end);
	seg[n / 2] ^= 0x40;	/* inside some record's payload */
	CHECK(upload_buf(c, seg, n, &ack, err, sizeof(err)) == -EBADMSG,
	      "corrupt segment accepted: %s", err);
	CHECK(strstr(err, "rejected"), "message: %s", err);
	snprintf(segdir, sizeof(segdir), "%s/machines/%s/segments", srv.data,
		 T_MACHINE);
	snprintf(cmd, sizeof(cmd), "ls %s | grep -q '^%020lu-'", segdir,
		 (unsigned long)next_seq);
	CHECK(system(cmd) != 0, "corrupt segment stored");
	(void)shadow;
	printf("ok corrupted segment rejected: %s\n", err);
}

/*
 * A TLS connection with the registered client certificate, raw; TLS 1.2
 * at most when max_tls12 (no session tickets left unread after the
 * handshake, so closing sends a FIN, not a reset).
 */
static BIO *raw_connect(SSL_CTX **ctxp, bool max_tls12)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	char path[700];
	BIO *b;

	if (max_tls12)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	path_of(path, sizeof(path), creds, PS_FILE_CERT);
	CHECK(SSL_CTX_use_certificate_file(ctx, path, SSL_FILETYPE_PEM) == 1,
	      "client cert");
	path_of(path, sizeof(path), creds, PS_FILE_KEY);
	CHECK(SSL_CTX_use_PrivateKey_file(ctx, path, SSL_FILETYPE_PEM) == 1,
	      "client key");
	b = BIO_new_ssl_connect(ctx);
	BIO_set_conn_hostname(b, srv.addr);
	CHECK(BIO_do_connect(b) == 1, "raw TLS connect");
	*ctxp = ctx;
	return b;
}

static void raw_send_head(BIO *b, size_t len)
{
	char head[512];

	snprintf(head, sizeof(head), "PUT /v1/machines/%s/segments HTTP/1.1\r\n"
		 "Host: x\r\nContent-Length: %zu\r\n\r\n", T_MACHINE, len);
	CHECK(BIO_write(b, head, strlen(head)) > 0, "send head");
}

struct bg_upload {
	const uint8_t *buf;
	size_t len;
	int ret;
	struct ps_ack ack;
	char err[PS_ERR_LEN];
};

static void *bg_upload_main(void *arg)
{
	struct bg_upload *u = arg;
	struct ps_client *c = client(creds);
	char path[600];
	int fd;

	path_of(path, sizeof(path), t_scratch(), "bg.hrl");
	CHECK(t_write_file(path, u->buf, u->len) == 0, "write %s", path);
	fd = open(path, O_RDONLY);
	u->ret = ps_client_upload(c, fd, u->len, &u->ack, u->err,
				  sizeof(u->err));
	close(fd);
	ps_client_close(c);
	return NULL;
}

/*
 * Two uploads in flight on two connections, the later segment complete
 * first: it waits for its predecessor, then both are stored in order.
 */
static void t_two_in_flight(void)
{
	uint8_t *first = malloc(SEG_CAP), *second = malloc(SEG_CAP);
	struct bg_upload bg = { .buf = second };
	uint64_t end1, end2;
	size_t n1;
	pthread_t t;
	SSL_CTX *ctx;
	char resp[256] = "";
	BIO *b;

	n1 = t_segment(first, SEG_CAP, next_seq, 40, NULL, img, &end1);
	bg.len = t_segment(second, SEG_CAP, end1, 40, NULL, img, &end2);
	b = raw_connect(&ctx, false);
	raw_send_head(b, n1);
	CHECK(BIO_write(b, first, n1 / 2) > 0, "send first half");
	BIO_flush(b);
	CHECK(pthread_create(&t, NULL, bg_upload_main, &bg) == 0, "thread");
	usleep(300000);
	CHECK(BIO_write(b, first + n1 / 2, n1 - n1 / 2) > 0, "send rest");
	BIO_flush(b);
	CHECK(BIO_read(b, resp, sizeof(resp) - 1) > 0, "first: no answer");
	CHECK(!strncmp(resp, "HTTP/1.1 201", 12), "first: %.40s", resp);
	pthread_join(t, NULL);
	CHECK(bg.ret == 0 && !bg.ack.duplicate, "second: %d %s", bg.ret, bg.err);
	next_seq = end2;
	BIO_free_all(b);
	SSL_CTX_free(ctx);
	free(first);
	free(second);
	printf("ok two uploads in flight, the later one first: both stored "
	       "in order\n");
}

static void wait_applied(struct ps_client *c, uint64_t want)
{
	struct ps_remote_state st = { 0 };
	char err[PS_ERR_LEN];
	int i;

	for (i = 0; i < 300; i++) {
		CHECK(ps_client_state(c, &st, err, sizeof(err)) == 0, "%s", err);
		if (st.applied_seq >= want)
			return;
		usleep(100000);
	}
	CHECK(0, "applied %lu, want %lu after 30 s",
	      (unsigned long)st.applied_seq, (unsigned long)want);
}

static void compare_file(const char *path, const uint8_t *want, const char *what)
{
	uint8_t *got = malloc(T_DISK_SIZE + 1);
	ssize_t n = t_read_file(path, got, T_DISK_SIZE + 1);

	CHECK(n == T_DISK_SIZE, "%s: %s has %zd bytes", what, path, n);
	CHECK(!memcmp(got, want, T_DISK_SIZE), "%s: %s differs", what, path);
	free(got);
}

/* Points and replica hashes as the agent queries them. */
static void t_queries(struct ps_client *c)
{
	uint8_t (*got)[32] = calloc(PS_HASHES_MAX, 32), want[32];
	struct ps_remote_point *pts;
	char err[PS_ERR_LEN];
	uint64_t applied;
	size_t n, i;
	bool tag = false;
	unsigned int len = 32;

	CHECK(ps_client_points(c, &pts, &n, err, sizeof(err)) == 0, "%s", err);
	for (i = 0; i < n; i++)
		tag |= pts[i].tag && !strcmp(pts[i].name, "t1");
	CHECK(tag, "tag point t1 not among %zu points", n);
	free(pts);
	CHECK(ps_client_hashes(c, T_DISK_NAME, 65536, 0, PS_HASHES_MAX, got, &n,
			       &applied, err, sizeof(err)) == 0, "%s", err);
	CHECK(n == T_DISK_SIZE / 65536 && applied == next_seq,
	      "%zu hashes at seq %lu", n, (unsigned long)applied);
	for (i = 0; i < n; i++) {
		EVP_Digest(img + i * 65536, 65536, want, &len, EVP_sha256(), NULL);
		CHECK(!memcmp(want, got[i], 32), "chunk %zu hash differs", i);
	}
	CHECK(ps_client_hashes(c, T_DISK_NAME, 1000, 0, 1, got, &n, &applied,
			       err, sizeof(err)) == -EPROTO, "bad chunk accepted");
	CHECK(ps_client_hashes(c, "../x", 4096, 0, 1, got, &n, &applied, err,
			       sizeof(err)) == -EINVAL, "bad disk id accepted");
	free(got);
	printf("ok points and replica chunk hashes match the source\n");
}

static void t_apply_export(struct ps_client *c)
{
	char path[700], out[700], list[700], line[512], pid[32] = "";
	const char *argv[] = { t_bin("ferry-ps"), "points", "--data", srv.data,
			       T_MACHINE, NULL };
	FILE *f;

	wait_applied(c, next_seq);
	snprintf(path, sizeof(path), "%s/machines/%s/disks/%s/replica.img",
		 srv.data, T_MACHINE, T_DISK_NAME);
	compare_file(path, img, "replica");
	t_queries(c);

	path_of(list, sizeof(list), t_scratch(), "points.txt");
	CHECK(t_run(argv, list) == 0, "ferry-ps points");
	f = fopen(list, "r");
	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, " tag ") && strstr(line, "t1"))
			sscanf(line, "%31s", pid);
	if (f)
		fclose(f);
	CHECK(pid[0], "no tag point t1 in ferry-ps points");
	path_of(out, sizeof(out), t_scratch(), "export.img");
	{
		const char *ex[] = { t_bin("ferry-ps"), "export", "--data",
				     srv.data, T_MACHINE, T_DISK_NAME, "--point",
				     pid, "--out", out, NULL };

		CHECK(t_run(ex, NULL) == 0, "ferry-ps export");
	}
	compare_file(out, img_at_tag, "export at tag");
	printf("ok applied replica equals source; export at point %s equal\n",
	       pid);
}

/* Send half a segment over raw TLS, then SIGKILL the server. */
static void t_kill_mid_upload(struct ps_client **c)
{
	char err[PS_ERR_LEN], path[700], tmpdir[700], cmd[800];
	struct ps_remote_state st;
	struct ps_ack ack;
	uint64_t end, before = next_seq;
	SSL_CTX *ctx;
	size_t n;
	BIO *b;
	int i;

	/* > 2 MiB, so half of it is more than the server's 1 MiB chunk */
	n = t_segment(seg, SEG_CAP, next_seq, 600, NULL, img, &end);
	b = raw_connect(&ctx, false);
	raw_send_head(b, n);
	CHECK(BIO_write(b, seg, n / 2) > 0, "send half");
	BIO_flush(b);
	snprintf(tmpdir, sizeof(tmpdir), "%s/machines/%s/tmp", srv.data,
		 T_MACHINE);
	snprintf(cmd, sizeof(cmd), "test -n \"$(find %s -name 'up-*' "
		 "-size +4k)\"", tmpdir);
	for (i = 0; i < 200 && system(cmd) != 0; i++)
		usleep(50000);
	CHECK(i < 200, "partial upload never reached the server");
	t_server_kill(&srv);
	BIO_free_all(b);
	SSL_CTX_free(ctx);
	ps_client_close(*c);

	t_server_start(&srv);
	*c = client(creds);
	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A %s)\"", tmpdir);
	CHECK(system(cmd) == 0, "partial upload left in %s", tmpdir);
	CHECK(ps_client_state(*c, &st, err, sizeof(err)) == 0, "%s", err);
	CHECK(st.stored_seq == before, "after restart stored %lu, want %lu",
	      (unsigned long)st.stored_seq, (unsigned long)before);
	CHECK(upload_buf(*c, seg, n, &ack, err, sizeof(err)) == 0, "%s", err);
	CHECK(!ack.duplicate, "resent segment reported duplicate");
	next_seq = end;
	wait_applied(*c, next_seq);
	snprintf(path, sizeof(path), "%s/machines/%s/disks/%s/replica.img",
		 srv.data, T_MACHINE, T_DISK_NAME);
	compare_file(path, img, "replica after SIGKILL and restart");
	printf("ok SIGKILL mid-upload: partial discarded, nothing lost, "
	       "resend applied\n");
}

/*
 * Retention on a second server (2 s window, a point per segment): two old
 * segments and a fresh one; the old points go, every segment up to the
 * oldest kept point is folded into base.img and deleted, and the export at
 * the kept point is still exact.
 */
static void t_retention(void)
{
	struct t_server s2 = { .extra = { "--retention=2", "--point-interval=0" } };
	char err[PS_ERR_LEN], dir[600], pfile[600], pw[PS_PASSPHRASE_MAX];
	char path[700], out[700], cmd[2000];
	uint8_t *img2 = calloc(1, T_DISK_SIZE);
	struct ps_client_conf cc = { .machine_id = T_MACHINE, .timeout_s = 30 };
	struct ps_client *c;
	struct ps_ack ack;
	uint64_t seq = 1, end;
	const char *pts[] = { t_bin("ferry-ps"), "points", "--data", NULL,
			      T_MACHINE, NULL };
	size_t n;
	int i;

	snprintf(s2.data, sizeof(s2.data), "%s/data2", t_scratch());
	t_server_start(&s2);
	{
		const char *argv[] = { t_bin("ferry-ps"), "passphrase", "--data",
				       s2.data, NULL };

		path_of(pfile, sizeof(pfile), t_scratch(), "passphrase2");
		CHECK(t_run(argv, pfile) == 0, "ferry-ps passphrase");
	}
	CHECK(ps_passphrase_read(pfile, pw, sizeof(pw), err, sizeof(err)) == 0,
	      "%s", err);
	path_of(dir, sizeof(dir), t_scratch(), "creds2");
	mkdir(dir, 0700);
	CHECK(ps_register(s2.addr, pw, T_MACHINE, dir, err, sizeof(err)) == 0,
	      "%s", err);
	cc.server = s2.addr;
	cc.dir = dir;
	CHECK(ps_client_open(&cc, &c, err, sizeof(err)) == 0, "%s", err);
	for (i = 0; i < 3; i++) {
		if (i == 2)
			sleep(3);	/* the first two points age out */
		n = t_segment(seg, SEG_CAP, seq, 10, NULL, img2, &end);
		CHECK(upload_buf(c, seg, n, &ack, err, sizeof(err)) == 0, "%s",
		      err);
		seq = end;
	}
	snprintf(path, sizeof(path), "%s/machines/%s", s2.data, T_MACHINE);
	snprintf(cmd, sizeof(cmd), "test -f %s/disks/%s/base.img && "
		 "test -z \"$(ls -A %s/segments)\"", path, T_DISK_NAME, path);
	for (i = 0; i < 150 && system(cmd) != 0; i++)
		usleep(100000);
	CHECK(i < 150, "segments not folded into base.img within 15 s");
	path_of(out, sizeof(out), t_scratch(), "points2.txt");
	pts[3] = s2.data;
	CHECK(t_run(pts, out) == 0, "ferry-ps points");
	snprintf(cmd, sizeof(cmd), "test $(wc -l < %s) = 2", out);
	CHECK(system(cmd) == 0, "old points not dropped (%s)", out);
	path_of(out, sizeof(out), t_scratch(), "export2.img");
	{
		const char *ex[] = { t_bin("ferry-ps"), "export", "--data",
				     s2.data, T_MACHINE, T_DISK_NAME, "--point",
				     "latest", "--out", out, NULL };

		CHECK(t_run(ex, NULL) == 0, "ferry-ps export");
	}
	compare_file(out, img2, "export from base.img after retention");
	ps_client_close(c);
	t_server_kill(&s2);
	free(img2);
	printf("ok retention: old points dropped, segments folded into "
	       "base.img, export exact\n");
}

/* Close b's connection with a reset, without a TLS close_notify. */
static void raw_reset(BIO *b, SSL_CTX *ctx)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	SSL *ssl = NULL;
	int fd = -1;

	BIO_get_ssl(b, &ssl);
	BIO_get_fd(b, &fd);
	CHECK(ssl && fd >= 0, "raw connection");
	SSL_set_quiet_shutdown(ssl, 1);
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	BIO_free_all(b);
	SSL_CTX_free(ctx);
}

/*
 * Peers that vanish: one resets the connection in the middle of an
 * upload, so the server's read fails and what it writes next (its TLS
 * close) goes to a dead socket; one sends requests and closes at once,
 * so the answers do.  Either way the server must not die of SIGPIPE.
 */
static void t_peer_gone(struct ps_client *c)
{
	char req[8192], err[PS_ERR_LEN];
	struct ps_remote_state st;
	SSL_CTX *ctx;
	size_t n = 0;
	uint64_t end;
	int i, k;
	BIO *b;

	n = t_segment(seg, SEG_CAP, next_seq, 40, NULL, NULL, &end);
	for (i = 0; i < 10; i++) {
		b = raw_connect(&ctx, false);
		raw_send_head(b, n);
		CHECK(BIO_write(b, seg, n / 2) > 0, "send half");
		BIO_flush(b);
		usleep(20000);
		raw_reset(b, ctx);
	}
	for (i = 0; i < 10; i++) {
		b = raw_connect(&ctx, true);
		for (k = 0, n = 0; k < 16; k++)
			n += snprintf(req + n, sizeof(req) - n, "GET /v1/machines/"
				      "%s/disks/%s/hashes?chunk=4096&count=256 "
				      "HTTP/1.1\r\nHost: x\r\n\r\n", T_MACHINE,
				      T_DISK_NAME);
		CHECK(BIO_write(b, req, n) == (int)n, "send requests");
		BIO_flush(b);
		BIO_free_all(b);
		SSL_CTX_free(ctx);
	}
	usleep(300000);
	CHECK(waitpid(srv.pid, NULL, WNOHANG) == 0, "ferry-ps died (log %s)",
	      srv.log);
	CHECK(ps_client_state(c, &st, err, sizeof(err)) == 0, "after peers "
	      "left: %s", err);
	printf("ok 20 peers vanished mid-upload or before their answers: "
	       "server alive\n");
}

/* Registering again revokes the certificate issued before. */
static void t_reregister(void)
{
	char err[PS_ERR_LEN], dir[600];
	struct ps_remote_state st;
	struct ps_client *c;

	path_of(dir, sizeof(dir), t_scratch(), "creds-new");
	mkdir(dir, 0700);
	CHECK(ps_register(srv.addr, pass, T_MACHINE, dir, err, sizeof(err)) == 0,
	      "%s", err);
	expect_refused(creds, "certificate replaced by a new registration",
		       "registered again");
	c = client(dir);
	CHECK(ps_client_state(c, &st, err, sizeof(err)) == 0, "new: %s", err);
	ps_client_close(c);
}

static void t_rate_limit(void)
{
	char err[PS_ERR_LEN], dir[600];
	int i, ret = 0;

	path_of(dir, sizeof(dir), t_scratch(), "rl");
	mkdir(dir, 0700);
	for (i = 0; i < 10; i++) {
		ret = ps_register(srv.addr, "still-not-the-passphrase", T_MACHINE,
				  dir, err, sizeof(err));
		if (ret == -EAGAIN)
			break;
		CHECK(ret == -EACCES, "wrong passphrase: %d %s", ret, err);
	}
	CHECK(ret == -EAGAIN && strstr(err, "429"), "no rate limit after %d "
	      "failures: %s", i, err);
	printf("ok failed registrations rate-limited after %d: %s\n", i, err);
}

static void at_exit(void)
{
	t_server_kill(&srv);
	t_cleanup();
}

int main(void)
{
	struct ps_client *c;

	alarm(240);
	/* refusal tests write to connections the server has closed */
	signal(SIGPIPE, SIG_IGN);
	srandom(getpid());
	img = calloc(1, T_DISK_SIZE);
	img_at_tag = calloc(1, T_DISK_SIZE);
	seg = malloc(SEG_CAP);
	CHECK(img && img_at_tag && seg, "memory");
	snprintf(srv.data, sizeof(srv.data), "%s/data", t_scratch());
	t_server_start(&srv);
	atexit(at_exit);

	t_register();
	t_no_cert();
	t_foreign_and_expired();
	t_other_machine();
	c = client(creds);
	t_upload(c);
	t_corrupt(c);
	t_two_in_flight();
	t_apply_export(c);
	t_kill_mid_upload(&c);
	t_peer_gone(c);
	ps_client_close(c);
	t_retention();
	t_reregister();
	t_rate_limit();
	t_resync_window();

	printf("integ-ps: all passed\n");
	return 0;
}
