// SPDX-License-Identifier: GPL-2.0
/*
 * Registration proofs, passphrase files and id validation shared by ferry-ps
 * and ferryctl; the protocol is described in ferry/ps_auth.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <ferry/ps_auth.h>

struct mac_part {
	const void *p;
	size_t n;
};

static int hmac_parts(const char *key, const struct mac_part *parts,
		      int nparts, uint8_t out[PS_PROOF_LEN])
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *ctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						 "SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	size_t outl = 0;
	int i, ok;

	ok = ctx && EVP_MAC_init(ctx, (const unsigned char *)key,
				 strlen(key), params);
	for (i = 0; ok && i < nparts; i++) {
		uint64_t n = parts[i].n;
		unsigned char le[8];
		int b;

		for (b = 0; b < 8; b++)
			le[b] = (unsigned char)(n >> (8 * b));
		ok = EVP_MAC_update(ctx, le, 8) &&
		     EVP_MAC_update(ctx, parts[i].p, parts[i].n);
	}
	ok = ok && EVP_MAC_final(ctx, out, &outl, PS_PROOF_LEN) &&
	     outl == PS_PROOF_LEN;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	return ok ? 0 : -EIO;
}

int ps_proof_client(const char *passphrase, const uint8_t *nonce,
		    const char *machine_id, const void *csr, size_t csr_len,
		    uint8_t out[PS_PROOF_LEN])
{
	static const char label[] = "ferry-register-v1 client";
	struct mac_part parts[] = {
		{ label, sizeof(label) - 1 },
		{ nonce, PS_NONCE_LEN },
		{ machine_id, strlen(machine_id) },
		{ csr, csr_len },
	};

	return hmac_parts(passphrase, parts, 4, out);
}

int ps_proof_server(const char *passphrase, const uint8_t *nonce,
		    const void *ca, size_t ca_len,
		    const void *cert, size_t cert_len,
		    uint8_t out[PS_PROOF_LEN])
{
	static const char label[] = "ferry-register-v1 server";
	struct mac_part parts[] = {
		{ label, sizeof(label) - 1 },
		{ nonce, PS_NONCE_LEN },
		{ ca, ca_len },
		{ cert, cert_len },
	};

	return hmac_parts(passphrase, parts, 4, out);
}

int ps_proof_cmp(const uint8_t *a, const uint8_t *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len);
}

int ps_passphrase_read(const char *path, char *out, size_t outlen,
		       char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fgets(out, (int)outlen, f))
		out[0] = '\0';
	fclose(f);
	n = strlen(out);
	while (n && (out[n - 1] == '\n' || out[n - 1] == '\r' ||
		     out[n - 1] == ' ' || out[n - 1] == '\t'))
		out[--n] = '\0';
	if (n < 16 || n >= outlen - 1) {
		snprintf(err, errlen, "%s: passphrase must be one line of 16 "
			 "to %zu characters", path, outlen - 2);
		return -EINVAL;
	}
	return 0;
}

int ps_id_valid(const char *id)
{
	size_t i, n = strnlen(id, 65);

	if (n == 0 || n > 64 || !strcmp(id, ".") || !strcmp(id, ".."))
		return 0;
	for (i = 0; i < n; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-' || c == ':'))
			return 0;
	}
	return 1;
}
