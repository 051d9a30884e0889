// SPDX-License-Identifier: GPL-2.0
/*
 * POST /v1/register: a machine proves the registration passphrase and gets
 * a client certificate signed by the server's CA, plus the CA certificate
 * and the server's own proof (protocol in ferry/ps_auth.h and
 * docs/server.md).  Failures count against the source's rate limit.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ferry/tls.h>

#include "conn.h"
#include "ps.pb-c.h"

#define CLIENT_CERT_DAYS	3650

static int machine_id_ok(const char *id)
{
	size_t i;

	if (strlen(id) != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			return 0;
	return 1;
}

static int issue(struct ps_conn *c, const Ferry__Ps__RegisterRequest *rq,
		 char **cert_pem)
{
	struct ps_server *srv = c->srv;
	char err[TLS_ERR_LEN], path[PATH_MAX];
	struct ps_machine *m;
	X509_REQ *req;
	X509 *cert;
	int ret;

	req = tls_csr_from_pem(rq->csr_pem.data, rq->csr_pem.len);
	if (!req)
		return ps_conn_error(c, 400, "register %s: certificate request "
				     "is not PEM", rq->machine_id);
	cert = tls_sign(req, srv->ca, srv->ca_key, rq->machine_id,
			TLS_ROLE_CLIENT, -300, CLIENT_CERT_DAYS * 86400L,
			err, sizeof(err));
	X509_REQ_free(req);
	if (!cert)
		return ps_conn_error(c, 400, "register %s: %s", rq->machine_id,
				     err);
	m = ps_machine_get(srv, rq->machine_id, true);
	if (!m) {
		X509_free(cert);
		return ps_conn_error(c, 500, "register %s: cannot create the "
				     "machine directory", rq->machine_id);
	}
	snprintf(path, sizeof(path), "%s/machines/%s/cert.pem", srv->data,
		 rq->machine_id);
	ret = tls_cert_save(cert, path, err, sizeof(err));
	if (!ret)	/* from now on the previous certificate is refused */
		ps_machine_set_cert(m, cert);
	*cert_pem = ret ? NULL : tls_cert_pem(cert);
	X509_free(cert);
	if (!*cert_pem)
		return ps_conn_error(c, 500, "register %s: %s", rq->machine_id,
				     ret ? err : "out of memory");
	return 0;
}

static int respond(struct ps_conn *c, const Ferry__Ps__RegisterRequest *rq,
		   char *cert_pem)
{
	Ferry__Ps__RegisterResponse rs = FERRY__PS__REGISTER_RESPONSE__INIT;
	uint8_t proof[PS_PROOF_LEN], *buf;
	char *ca_pem = tls_cert_pem(c->srv->ca);
	size_t len;
	int ret = -1;

	if (!ca_pem || ps_proof_server(c->srv->passphrase, rq->client_nonce.data,
				       ca_pem, strlen(ca_pem), cert_pem,
				       strlen(cert_pem), proof))
		goto out;
	rs.ca_pem.data = (uint8_t *)ca_pem;
	rs.ca_pem.len = strlen(ca_pem);
	rs.cert_pem.data = (uint8_t *)cert_pem;
	rs.cert_pem.len = strlen(cert_pem);
	rs.proof.data = proof;
	rs.proof.len = sizeof(proof);
	len = ferry__ps__register_response__get_packed_size(&rs);
	buf = malloc(len);
	if (buf) {
		ferry__ps__register_response__pack(&rs, buf);
		ret = ps_conn_reply(c, 200, "application/x-protobuf", buf, len);
		free(buf);
	}
out:
	free(ca_pem);
	if (ret)
		ps_conn_error(c, 500, "register %s: cannot build the answer",
			      rq->machine_id);
	return ret;
}

int ps_handle_register(struct ps_conn *c)
{
	Ferry__Ps__RegisterRequest *rq;
	uint8_t *body, proof[PS_PROOF_LEN];
	char *cert_pem = NULL;
	size_t len;
	int retry, ret;

	if (ps_ratelimit_blocked(c->srv, c->ip, &retry))
		return ps_conn_error(c, 429, "too many failed registrations "
				     "from %s; retry in %d s", c->ip, retry);
	ret = ps_conn_read_all(c, PS_MAX_CONTROL, &body, &len);
	if (ret)
		return ps_conn_error(c, ret == -EFBIG ? 413 : 400,
				     "register: request body: %s",
				     strerror(-ret));
	rq = ferry__ps__register_request__unpack(NULL, len, body);
	free(body);
	if (!rq)
		return ps_conn_error(c, 400, "register: body is not a "
				     "RegisterRequest message");
	if (!machine_id_ok(rq->machine_id)) {
		ps_conn_error(c, 400, "register: machine id '%.64s' must be 32 "
			      "lowercase hex digits (as /etc/machine-id)",
			      rq->machine_id);
	} else if (rq->client_nonce.len != PS_NONCE_LEN ||
		   rq->proof.len != PS_PROOF_LEN) {
		ps_conn_error(c, 400, "register %s: nonce and proof must be "
			      "%d bytes", rq->machine_id, PS_NONCE_LEN);
	} else if (ps_proof_client(c->srv->passphrase, rq->client_nonce.data,
				   rq->machine_id, rq->csr_pem.data,
				   rq->csr_pem.len, proof) ||
		   ps_proof_cmp(proof, rq->proof.data, PS_PROOF_LEN)) {
		ps_ratelimit_fail(c->srv, c->ip);
		ps_conn_error(c, 403, "register %s: wrong registration "
			      "passphrase", rq->machine_id);
	} else if (!issue(c, rq, &cert_pem) && !respond(c, rq, cert_pem)) {
		ps_log("%s: registered machine %s (%.64s)", c->peer,
		       rq->machine_id, rq->hostname);
	}
	free(cert_pem);
	ferry__ps__register_request__free_unpacked(rq, NULL);
	return 0;
}
