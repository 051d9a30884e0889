/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Registration proofs between a machine and ferry-ps (docs/server.md).
 *
 * Both sides hold the server's registration passphrase.  The machine proves
 * it with
 *     HMAC-SHA256(passphrase, "ferry-register-v1 client" || nonce ||
 *                 machine_id || csr_pem)
 * and the server answers with the CA and the signed certificate and proves
 * it too, bound to the machine's fresh nonce and to what it returns:
 *     HMAC-SHA256(passphrase, "ferry-register-v1 server" || nonce ||
 *                 ca_pem || cert_pem)
 * The machine pins the CA only when that proof checks, so an impostor on
 * the first connection is detected.  Every field is length-prefixed
 * (64-bit little-endian) inside the MAC so no two inputs collide.
 */
#ifndef FERRY_PS_AUTH_H
#define FERRY_PS_AUTH_H

#include <stddef.h>
#include <stdint.h>

#define PS_NONCE_LEN		32
#define PS_PROOF_LEN		32
#define PS_PASSPHRASE_MAX	256

int ps_proof_client(const char *passphrase, const uint8_t *nonce,
		    const char *machine_id, const void *csr, size_t csr_len,
		    uint8_t out[PS_PROOF_LEN]);
int ps_proof_server(const char *passphrase, const uint8_t *nonce,
		    const void *ca, size_t ca_len,
		    const void *cert, size_t cert_len,
		    uint8_t out[PS_PROOF_LEN]);

/* Constant-time comparison of two proofs; 0 when equal. */
int ps_proof_cmp(const uint8_t *a, const uint8_t *b, size_t len);

/*
 * Read a passphrase file: first line, trailing whitespace stripped, 16 to
 * PS_PASSPHRASE_MAX - 1 bytes.  Returns 0 or -errno with err filled.
 */
int ps_passphrase_read(const char *path, char *out, size_t outlen,
		       char *err, size_t errlen);

/* A valid machine or disk id: [A-Za-z0-9_.:-]{1,64}, not "." or "..". */
int ps_id_valid(const char *id);

#endif /* FERRY_PS_AUTH_H */
