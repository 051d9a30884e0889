// SPDX-License-Identifier: GPL-2.0
/*
 * TLS helpers: key and certificate files, PEM conversion, the server
 * SSL_CTX and the per-request check of a client certificate.  Certificate
 * creation and signing live in tls_ca.c.
 *
 * Private keys are written 0600 through a temporary file, fsync and rename,
 * so a crash never leaves a half-written or world-readable key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <ferry/tls.h>

#define seterr(err, len, ...) \
	do { if (err) snprintf(err, len, __VA_ARGS__); } while (0)

const char *tls_errstr(void)
{
	static __thread char buf[TLS_ERR_LEN];
	unsigned long e;
	size_t off = 0;

	buf[0] = '\0';
	while ((e = ERR_get_error()) != 0 && off < sizeof(buf) - 2) {
		if (off)
			buf[off++] = ';';
		ERR_error_string_n(e, buf + off, sizeof(buf) - off);
		off += strlen(buf + off);
	}
	if (!off)
		snprintf(buf, sizeof(buf), "unknown TLS library error");
	return buf;
}

/* Write through path.tmp with mode, fsync, rename: all or nothing. */
static int save_pem(const char *path, mode_t mode, int (*wr)(BIO *, void *),
		    void *obj, char *err, size_t errlen)
{
	char tmp[4096];
	BIO *bio;
	FILE *f;
	int fd, ok;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		seterr(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		return -errno;
	}
	f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	bio = BIO_new_fp(f, BIO_NOCLOSE);
	ok = bio && wr(bio, obj);
	BIO_free(bio);
	ok = ok && fflush(f) == 0 && fsync(fd) == 0;
	fclose(f);
	if (!ok || rename(tmp, path)) {
		seterr(err, errlen, "%s: write failed: %s", path,
		       ok ? strerror(errno) : tls_errstr());
		unlink(tmp);
		return -EIO;
	}
	return 0;
}

static int wr_key(BIO *b, void *o)
{
	return PEM_write_bio_PrivateKey(b, o, NULL, NULL, 0, NULL, NULL);
}

static int wr_cert(BIO *b, void *o)
{
	return PEM_write_bio_X509(b, o);
}

int tls_key_save(EVP_PKEY *key, const char *path, char *err, size_t errlen)
{
	return save_pem(path, 0600, wr_key, key, err, errlen);
}

int tls_cert_save(X509 *cert, const char *path, char *err, size_t errlen)
{
	return save_pem(path, 0644, wr_cert, cert, err, errlen);
}

static BIO *open_pem(const char *path, char *err, size_t errlen)
{
	BIO *bio = BIO_new_file(path, "r");

	if (!bio)
		seterr(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
	ERR_clear_error();
	return bio;
}

EVP_PKEY *tls_key_load(const char *path, char *err, size_t errlen)
{
	BIO *bio = open_pem(path, err, errlen);
	EVP_PKEY *key;

	if (!bio)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	if (!key)
		seterr(err, errlen, "%s: not a PEM private key: %s", path,
		       tls_errstr());
	BIO_free(bio);
	return key;
}

X509 *tls_cert_load(const char *path, char *err, size_t errlen)
{
	BIO *bio = open_pem(path, err, errlen);
	X509 *cert;

	if (!bio)
		return NULL;
	cert = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (!cert)
		seterr(err, errlen, "%s: not a PEM certificate: %s", path,
		       tls_errstr());
	BIO_free(bio);
	return cert;
}

static char *bio_text(BIO *bio)
{
	char *data, *out = NULL;
	long n = BIO_get_mem_data(bio, &data);

	if (n > 0 && (out = malloc(n + 1))) {
		memcpy(out, data, n);
		out[n] = '\0';
	}
	BIO_free(bio);
	return out;
}

char *tls_cert_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (!bio || !PEM_write_bio_X509(bio, cert)) {
		BIO_free(bio);
		return NULL;
	}
	return bio_text(bio);
}

char *tls_csr_pem(X509_REQ *req)
{
	BIO *bio = BIO_new(BIO_s_mem());

	if (!bio || !PEM_write_bio_X509_REQ(bio, req)) {
		BIO_free(bio);
		return NULL;
	}
	return bio_text(bio);
}

X509 *tls_cert_from_pem(const void *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509 *cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return cert;
}

X509_REQ *tls_csr_from_pem(const void *pem, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509_REQ *req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;

	BIO_free(bio);
	return req;
}

int tls_cert_cn(X509 *cert, char *buf, size_t len)
{
	X509_NAME *name = X509_get_subject_name(cert);
	int n;

	if (!name)
		return -ENOENT;
	n = X509_NAME_get_text_by_NID(name, NID_commonName, NULL, 0);
	if (n < 0)
		return -ENOENT;
	if ((size_t)n >= len)
		return -ENAMETOOLONG;
	X509_NAME_get_text_by_NID(name, NID_commonName, buf, (int)len);
	return 0;
}

int tls_cert_sha256(X509 *cert, unsigned char out[32])
{
	unsigned int n = 32;

	return X509_digest(cert, EVP_sha256(), out, &n) ? 0 : -EINVAL;
}

/*
 * Accept the handshake whatever the client certificate says; the verdict
 * stays in SSL_get_verify_result() for tls_peer_check().  This lets the
 * server answer "certificate expired" in plain HTTP instead of a bare alert.
 */
static int verify_keep_going(int ok, X509_STORE_CTX *ctx)
{
	(void)ctx;
	(void)ok;
	return 1;
}

SSL_CTX *tls_server_ctx(X509 *cert, EVP_PKEY *key, X509 *ca,
			char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	X509_STORE *store;

	if (!ctx)
		goto out_err;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto out_free_ctx;
	store = SSL_CTX_get_cert_store(ctx);
	if (X509_STORE_add_cert(store, ca) != 1)
		goto out_free_ctx;
	/* Ask for a client certificate issued by our CA only. */
	{
		STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();

		if (!names || !sk_X509_NAME_push(names,
				X509_NAME_dup(X509_get_subject_name(ca)))) {
			sk_X509_NAME_pop_free(names, X509_NAME_free);
			goto out_free_ctx;
		}
		SSL_CTX_set_client_CA_list(ctx, names);
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_keep_going);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)"ferry-ps", 8);
	return ctx;

out_free_ctx:
	SSL_CTX_free(ctx);
out_err:
	seterr(err, errlen, "server TLS context: %s", tls_errstr());
	return NULL;
}

int tls_peer_check(SSL *ssl, char *id, size_t idlen, char *err, size_t errlen)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	long vr;
	int ret = 0;

	if (!peer) {
		seterr(err, errlen, "no client certificate presented; register "
		       "the machine first (ferryctl register)");
		return -EACCES;
	}
	vr = SSL_get_verify_result(ssl);
	if (vr != X509_V_OK) {
		seterr(err, errlen, "client certificate refused: %s%s",
		       X509_verify_cert_error_string(vr),
		       vr == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY ||
		       vr == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
		       vr == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT ?
		       " (not issued by this server's CA)" : "");
		ret = -EACCES;
	} else if (tls_cert_cn(peer, id, idlen)) {
		seterr(err, errlen, "client certificate has no usable subject CN");
		ret = -EACCES;
	}
	X509_free(peer);
	return ret;
}
