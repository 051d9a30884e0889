// SPDX-License-Identifier: GPL-2.0
/*
 * The process server's private CA: key generation, the self-signed CA
 * certificate, certificate requests and signing.
 *
 *   CA        CN=<name>, basicConstraints CA:TRUE, keyUsage keyCertSign,cRLSign
 *   server    CN=ferry-ps, EKU serverAuth, keyUsage digitalSignature
 *   client    CN=<machine id>, EKU clientAuth, keyUsage digitalSignature
 *
 * Serial numbers are 128 random bits.  The subject of a request is ignored
 * when signing: the signer passes the identity it has checked.
 */
#include <errno.h>
#include <stdio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <ferry/tls.h>

#define seterr(err, len, ...) \
	do { if (err) snprintf(err, len, __VA_ARGS__); } while (0)

EVP_PKEY *tls_key_new(char *err, size_t errlen)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");

	if (!key)
		seterr(err, errlen, "key generation: %s", tls_errstr());
	return key;
}

static int set_name(X509_NAME *name, const char *cn)
{
	return X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
			(const unsigned char *)"ferry", -1, -1, 0) &&
	       X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
			(const unsigned char *)cn, -1, -1, 0);
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	if (!ext)
		return 0;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok;
}

static int set_serial(X509 *cert)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return 0;
	raw[0] &= 0x7f;		/* positive */
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	ok = bn && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert));
	BN_free(bn);
	return !!ok;
}

static int add_role_exts(X509 *cert, X509 *issuer, enum tls_role role)
{
	switch (role) {
	case TLS_ROLE_CA:
		return add_ext(cert, issuer, NID_basic_constraints,
			       "critical,CA:TRUE,pathlen:0") &&
		       add_ext(cert, issuer, NID_key_usage,
			       "critical,keyCertSign,cRLSign") &&
		       add_ext(cert, issuer, NID_subject_key_identifier, "hash");
	case TLS_ROLE_SERVER:
	case TLS_ROLE_CLIENT:
		return add_ext(cert, issuer, NID_basic_constraints,
			       "critical,CA:FALSE") &&
		       add_ext(cert, issuer, NID_key_usage,
			       "critical,digitalSignature") &&
		       add_ext(cert, issuer, NID_ext_key_usage,
			       role == TLS_ROLE_SERVER ? "serverAuth" :
			       "clientAuth") &&
		       add_ext(cert, issuer, NID_authority_key_identifier,
			       "keyid:always");
	}
	return 0;
}

/* A certificate for pub with subject CN=cn, issued by (issuer, ikey). */
static X509 *make_cert(EVP_PKEY *pub, const char *cn, X509 *issuer,
		       EVP_PKEY *ikey, enum tls_role role, long nb, long na)
{
	X509 *cert = X509_new();

	if (!cert)
		return NULL;
	if (!X509_set_version(cert, 2) || !set_serial(cert) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), nb) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), na) ||
	    !X509_set_pubkey(cert, pub) ||
	    !set_name(X509_get_subject_name(cert), cn) ||
	    !X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) :
				  X509_get_subject_name(cert)) ||
	    !add_role_exts(cert, issuer ? issuer : cert, role) ||
	    !X509_sign(cert, ikey, EVP_sha256())) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

X509 *tls_ca_create(EVP_PKEY *key, const char *cn, int days,
		    char *err, size_t errlen)
{
	X509 *cert = make_cert(key, cn, NULL, key, TLS_ROLE_CA,
			       -3600, (long)days * 86400);

	if (!cert)
		seterr(err, errlen, "CA certificate %s: %s", cn, tls_errstr());
	return cert;
}

X509_REQ *tls_csr_new(EVP_PKEY *key, const char *cn, char *err, size_t errlen)
{
	X509_REQ *req = X509_REQ_new();

	if (!req || !X509_REQ_set_version(req, 0) ||
	    !set_name(X509_REQ_get_subject_name(req), cn) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_sign(req, key, EVP_sha256())) {
		seterr(err, errlen, "certificate request for %s: %s", cn,
		       tls_errstr());
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}

X509 *tls_sign(X509_REQ *req, X509 *ca, EVP_PKEY *ca_key, const char *cn,
	       enum tls_role role, long not_before_s, long not_after_s,
	       char *err, size_t errlen)
{
	EVP_PKEY *pub = X509_REQ_get0_pubkey(req);
	X509 *cert;

	if (!pub || X509_REQ_verify(req, pub) != 1) {
		seterr(err, errlen, "certificate request for %s: bad "
		       "self-signature: %s", cn, tls_errstr());
		return NULL;
	}
	cert = make_cert(pub, cn, ca, ca_key, role, not_before_s, not_after_s);
	if (!cert)
		seterr(err, errlen, "signing certificate for %s: %s", cn,
		       tls_errstr());
	return cert;
}
