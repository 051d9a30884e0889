/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TLS helpers shared by ferry-ps and the agent: keys, the server's private
 * CA, certificate requests and signing, and SSL_CTX set-up.
 *
 * Keys are EC P-256.  Certificates carry an extendedKeyUsage of either
 * serverAuth (the process server) or clientAuth (a registered machine), so a
 * machine's certificate, although signed by the same CA, can never pose as
 * the server and the reverse.  A machine certificate's subject CN is the
 * machine id; the server takes the identity from there and nowhere else.
 *
 * Errors: functions return NULL or a negative errno and, when err is not
 * NULL, write a message naming the object and the reason into err.
 */
#ifndef FERRY_TLS_H
#define FERRY_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define TLS_ERR_LEN	256

enum tls_role {
	TLS_ROLE_CA,
	TLS_ROLE_SERVER,
	TLS_ROLE_CLIENT,
};

EVP_PKEY *tls_key_new(char *err, size_t errlen);
int tls_key_save(EVP_PKEY *key, const char *path, char *err, size_t errlen);
EVP_PKEY *tls_key_load(const char *path, char *err, size_t errlen);

int tls_cert_save(X509 *cert, const char *path, char *err, size_t errlen);
X509 *tls_cert_load(const char *path, char *err, size_t errlen);

/* PEM <-> object; tls_*_pem return malloc'd NUL-terminated text. */
char *tls_cert_pem(X509 *cert);
X509 *tls_cert_from_pem(const void *pem, size_t len);
char *tls_csr_pem(X509_REQ *req);
X509_REQ *tls_csr_from_pem(const void *pem, size_t len);

/* A self-signed CA certificate for key, valid for days. */
X509 *tls_ca_create(EVP_PKEY *key, const char *cn, int days,
		    char *err, size_t errlen);

/* A certificate request for key with subject CN=cn. */
X509_REQ *tls_csr_new(EVP_PKEY *key, const char *cn, char *err, size_t errlen);

/*
 * Sign req's public key with the CA, for role, subject CN=cn (the request's
 * own subject is ignored: the signer decides the identity).  Validity runs
 * from now + not_before_s to now + not_after_s (seconds; tests use negative
 * values to make expired certificates).
 */
X509 *tls_sign(X509_REQ *req, X509 *ca, EVP_PKEY *ca_key, const char *cn,
	       enum tls_role role, long not_before_s, long not_after_s,
	       char *err, size_t errlen);

/* The subject CN of cert into buf; -ENOENT if none, -ENAMETOOLONG. */
int tls_cert_cn(X509 *cert, char *buf, size_t len);

/* SHA-256 of the certificate's DER encoding. */
int tls_cert_sha256(X509 *cert, unsigned char out[32]);

/*
 * Server context: cert/key, client certificates requested (not required: the
 * registration endpoint has none) and checked against ca.  The handshake
 * does not fail on a bad client certificate; the caller asks
 * tls_peer_check() per request so the client gets a readable refusal.
 */
SSL_CTX *tls_server_ctx(X509 *cert, EVP_PKEY *key, X509 *ca,
			char *err, size_t errlen);

/*
 * After the handshake on a server connection: 0 and the machine id (cert CN)
 * in id when the peer presented a valid certificate issued by our CA for a
 * client; otherwise -EACCES with the reason in err.
 */
int tls_peer_check(SSL *ssl, char *id, size_t idlen, char *err, size_t errlen);

/* The OpenSSL error queue as one line, cleared; for messages. */
const char *tls_errstr(void);

#endif /* FERRY_TLS_H */
