// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-ps data directory: creation on first start (CA, server certificate,
 * registration passphrase), machines and their persisted state.  Every
 * path is opened relative to the data directory's fd with ids that
 * ps_id_valid() accepted, so nothing is ever written outside it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/rand.h>

#include <ferry/tls.h>

#include "ps.h"

int ps_fsync_dir(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

int ps_write_file_atomic(int dirfd, const char *name, const void *buf,
			 size_t len, mode_t mode)
{
	char tmp[PATH_MAX];
	int fd, ret = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd))
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && renameat(dirfd, tmp, dirfd, name))
		ret = -errno;
	if (!ret)
		ret = ps_fsync_dir(dirfd, ".");
	if (ret)
		unlinkat(dirfd, tmp, 0);
	return ret;
}

static int mkdir_at(int dirfd, const char *name, mode_t mode)
{
	if (mkdirat(dirfd, name, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* A random passphrase: 32 characters from a 64-letter alphabet (192 bits). */
static int make_passphrase(char *out, size_t len)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijkl"
				  "mnopqrstuvwxyz0123456789-_";
	unsigned char raw[32];
	size_t i;

	if (len < sizeof(raw) + 1 || RAND_bytes(raw, sizeof(raw)) != 1)
		return -EIO;
	for (i = 0; i < sizeof(raw); i++)
		out[i] = abc[raw[i] & 63];
	out[sizeof(raw)] = '\0';
	return 0;
}

static int create_tls(struct ps_server *srv)
{
	char err[TLS_ERR_LEN], pass[64], path[PATH_MAX];
	EVP_PKEY *ca_key = NULL, *srv_key = NULL;
	X509 *ca = NULL, *crt = NULL;
	X509_REQ *req = NULL;
	int ret = -EIO;

	ca_key = tls_key_new(err, sizeof(err));
	ca = ca_key ? tls_ca_create(ca_key, "ferry-ps CA", 3650, err,
				    sizeof(err)) : NULL;
	srv_key = ca ? tls_key_new(err, sizeof(err)) : NULL;
	req = srv_key ? tls_csr_new(srv_key, "ferry-ps", err, sizeof(err)) : NULL;
	crt = req ? tls_sign(req, ca, ca_key, "ferry-ps", TLS_ROLE_SERVER,
			     -3600, 3650L * 86400, err, sizeof(err)) : NULL;
	if (!crt)
		goto out;
#define P(n) (snprintf(path, sizeof(path), "%s/tls/" n, srv->data), path)
	if (tls_key_save(ca_key, P("ca.key"), err, sizeof(err)) ||
	    tls_cert_save(ca, P("ca.crt"), err, sizeof(err)) ||
	    tls_key_save(srv_key, P("server.key"), err, sizeof(err)) ||
	    tls_cert_save(crt, P("server.crt"), err, sizeof(err)))
		goto out;
#undef P
	if (make_passphrase(pass, sizeof(pass))) {
		snprintf(err, sizeof(err), "random passphrase: no entropy");
		goto out;
	}
	strcat(pass, "\n");
	ret = ps_write_file_atomic(srv->datafd, "tls/passphrase", pass,
				   strlen(pass), 0600);
	if (ret)
		snprintf(err, sizeof(err), "%s/tls/passphrase: %s", srv->data,
			 strerror(-ret));
	else
		ps_log("created CA, server certificate and registration "
		       "passphrase in %s/tls", srv->data);
out:
	if (ret)
		fprintf(stderr, "ferry-ps: %s\n", err);
	X509_REQ_free(req);
	X509_free(crt);
	X509_free(ca);
	EVP_PKEY_free(srv_key);
	EVP_PKEY_free(ca_key);
	return ret;
}

int ps_data_open(struct ps_server *srv, bool create)
{
	int ret;

	if (create && mkdir(srv->data, 0700) && errno != EEXIST) {
		fprintf(stderr, "ferry-ps: %s: %s\n", srv->data, strerror(errno));
		return -errno;
	}
	srv->datafd = open(srv->data, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srv->datafd < 0) {
		fprintf(stderr, "ferry-ps: data directory %s: %s\n", srv->data,
			strerror(errno));
		return -errno;
	}
	if (!create)
		return faccessat(srv->datafd, "tls/ca.crt", R_OK, 0) ? 
		       (fprintf(stderr, "ferry-ps: %s: not a ferry-ps data "
				"directory (no tls/ca.crt)\n", srv->data), -ENOENT) : 0;
	if ((ret = mkdir_at(srv->datafd, "tls", 0700)) ||
	    (ret = mkdir_at(srv->datafd, "machines", 0700))) {
		fprintf(stderr, "ferry-ps: %s: %s\n", srv->data, strerror(-ret));
		return ret;
	}
	if (faccessat(srv->datafd, "tls/passphrase", R_OK, 0) == 0)
		return 0;
	return create_tls(srv);
}

int ps_data_load_tls(struct ps_server *srv)
{
	char err[TLS_ERR_LEN], path[PATH_MAX];
	EVP_PKEY *key;
	X509 *crt;

#define P(n) (snprintf(path, sizeof(path), "%s/tls/" n, srv->data), path)
	srv->ca = tls_cert_load(P("ca.crt"), err, sizeof(err));
	srv->ca_key = srv->ca ? tls_key_load(P("ca.key"), err, sizeof(err)) : NULL;
	crt = srv->ca_key ? tls_cert_load(P("server.crt"), err, sizeof(err)) : NULL;
	key = crt ? tls_key_load(P("server.key"), err, sizeof(err)) : NULL;
	if (key && ps_passphrase_read(P("passphrase"), srv->passphrase,
				      sizeof(srv->passphrase), err, sizeof(err)))
		EVP_PKEY_free(key), key = NULL;
#undef P
	if (key)
		srv->ctx = tls_server_ctx(crt, key, srv->ca, err, sizeof(err));
	X509_free(crt);
	EVP_PKEY_free(key);
	if (!srv->ctx) {
		fprintf(stderr, "ferry-ps: %s\n", err);
		return -EINVAL;
	}
	return 0;
}

/* The directory 'name' below dirfd as a DIR stream; NULL with errno set. */
static DIR *opendir_at(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d;

	if (fd < 0)
		return NULL;
	d = fdopendir(fd);
	if (!d) {
		int err = errno;

		close(fd);
		errno = err;
	}
	return d;
}

/* Remove uploads that were in flight when the server stopped. */
static void clean_tmp(int mdirfd)
{
	struct dirent *de;
	DIR *d = opendir_at(mdirfd, "tmp");

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

int ps_seg_cmp(const struct ps_seg *x, const struct ps_seg *y)
{
	return x->n < y->n ? -1 : x->n > y->n;
}

static int cmp_seg(const void *a, const void *b)
{
	return ps_seg_cmp(a, b);
}

int ps_seg_name(char *buf, size_t len, const struct ps_seg *s)
{
	int i, n = snprintf(buf, len, "segments/%020" PRIu64 "-%020" PRIu64
			    "-%020" PRIu64 "-", s->n, s->start, s->end);

	for (i = 0; i < 16; i++)
		n += snprintf(buf + n, len - n, "%02x", s->uuid[i]);
	return n + snprintf(buf + n, len - n, ".hrl");
}

/* "<n>-<start>-<end>-<uuid>.hrl", every number 20 digits. */
bool ps_seg_parse(const char *name, struct ps_seg *s)
{
	uint64_t *f[3] = { &s->n, &s->start, &s->end };
	const char *p = name;
	char *e;
	size_t i;

	for (i = 0; i < 3; i++) {
		*f[i] = strtoull(p, &e, 10);
		if (e - p != 20 || *e != '-')
			return false;
		p = e + 1;
	}
	if (strlen(p) != 32 + 4 || strcmp(p + 32, ".hrl"))
		return false;
	for (i = 0; i < 16; i++)
		if (sscanf(p + 2 * i, "%2hhx", &s->uuid[i]) != 1)
			return false;
	snprintf(s->name, sizeof(s->name), "segments/%s", name);
	return s->end >= s->start;
}

/* Every stored segment in stream order. */
int ps_seg_list(struct ps_machine *m, struct ps_seg **segs, size_t *n)
{
	size_t cap = 0, cnt = 0;
	struct ps_seg *v = NULL;
	struct dirent *de;
	DIR *d = opendir_at(m->dirfd, "segments");

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (cnt == cap) {
			struct ps_seg *nv = realloc(v, (cap = cap ? 2 * cap : 64) *
						    sizeof(*v));
			if (!nv) {
				free(v);
				closedir(d);
				return -ENOMEM;
			}
			v = nv;
		}
		if (ps_seg_parse(de->d_name, &v[cnt]))
			cnt++;
	}
	closedir(d);
	qsort(v, cnt, sizeof(*v), cmp_seg);
	*segs = v;
	*n = cnt;
	return 0;
}

/* Append to the applier's queue.  Under m->lock (or before it is shared). */
int ps_pending_add(struct ps_machine *m, const struct ps_seg *s)
{
	if (m->npending == m->pending_cap) {
		size_t cap = m->pending_cap ? 2 * m->pending_cap : 64;
		struct ps_seg *v = realloc(m->pending, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		m->pending = v;
		m->pending_cap = cap;
	}
	m->pending[m->npending++] = *s;
	return 0;
}

/*
 * The newest stored segment tells where the next upload must start; those
 * after the applied cursor are queued for the applier.  The only listing
 * of segments/ outside retention and export.
 */
static int load_stored(struct ps_machine *m)
{
	struct ps_seg *segs, cur;
	bool have_cur;
	size_t i, n;
	int ret;

	ret = ps_seg_list(m, &segs, &n);
	if (ret)
		return ret;
	if (n) {
		m->have_stored = true;
		m->stored_end = segs[n - 1].end;
		m->stored_n = segs[n - 1].n;
		memcpy(m->stored_uuid, segs[n - 1].uuid, 16);
	}
	have_cur = m->st.applied_seg[0] && ps_seg_parse(m->st.applied_seg, &cur);
	for (i = 0; i < n && !ret; i++)
		if (!have_cur || ps_seg_cmp(&segs[i], &cur) > 0)
			ret = ps_pending_add(m, &segs[i]);
	free(segs);
	return ret;
}

/* The certificate last issued to m is the only one m may use. */
void ps_machine_set_cert(struct ps_machine *m, X509 *cert)
{
	pthread_mutex_lock(&m->lock);
	m->have_cert = !tls_cert_sha256(cert, m->cert_sha);
	pthread_mutex_unlock(&m->lock);
}

static void load_cert(struct ps_server *srv, struct ps_machine *m)
{
	char path[PATH_MAX];
	X509 *cert;

	snprintf(path, sizeof(path), "%s/machines/%s/cert.pem", srv->data,
		 m->id);
	cert = tls_cert_load(path, NULL, 0);
	if (cert)
		ps_machine_set_cert(m, cert);
	X509_free(cert);
}

static int machine_open(struct ps_server *srv, struct ps_machine *m, bool create)
{
	char path[128];
	int ret;

	snprintf(path, sizeof(path), "machines/%s", m->id);
	if (create && (ret = mkdir_at(srv->datafd, path, 0700)))
		return ret;
	m->dirfd = openat(srv->datafd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->dirfd < 0)
		return -errno;
	if (srv->readonly)	/* the running server owns tmp/ */
		return ps_state_load(m);
	if ((ret = mkdir_at(m->dirfd, "segments", 0700)) ||
	    (ret = mkdir_at(m->dirfd, "tmp", 0700)) ||
	    (ret = mkdir_at(m->dirfd, "disks", 0700)))
		return ret;
	clean_tmp(m->dirfd);
	load_cert(srv, m);
	if ((ret = ps_state_load(m)))
		return ret;
	m->replica_pos = m->st.applied_pos;
	return load_stored(m);
}

struct ps_machine *ps_machine_get(struct ps_server *srv, const char *id,
				  bool create)
{
	struct ps_machine *m;

	if (!ps_id_valid(id))
		return NULL;
	pthread_mutex_lock(&srv->lock);
	for (m = srv->machines; m; m = m->next)
		if (!strcmp(m->id, id))
			goto out;
	m = calloc(1, sizeof(*m));
	if (!m)
		goto out;
	snprintf(m->id, sizeof(m->id), "%s", id);
	pthread_mutex_init(&m->lock, NULL);
	pthread_mutex_init(&m->apply_lock, NULL);
	pthread_cond_init(&m->stored, NULL);
	if (machine_open(srv, m, create)) {
		if (m->dirfd > 0)
			close(m->dirfd);
		free(m);
		m = NULL;
		goto out;
	}
	m->next = srv->machines;
	srv->machines = m;
out:
	pthread_mutex_unlock(&srv->lock);
	return m;
}

/* Keys of the state file that are plain numbers, and where they go. */
static uint64_t *state_u64(struct ps_state *st, const char *key)
{
	static const struct { const char *key; size_t off; } keys[] = {
#define K(f) { #f, offsetof(struct ps_state, f) }
		K(last_point_ns), K(last_point_seq), K(next_point_id),
		K(resync_windows), K(resync_bytes), K(resync_data_bytes),
		K(resync_zero_bytes), K(resync_diff_bytes),
#undef K
		{ "resync_window_open_seq", offsetof(struct ps_state, resync_open_seq) },
		{ "resync_window_close_seq", offsetof(struct ps_state, resync_close_seq) },
	};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(key, keys[i].key))
			return (uint64_t *)((char *)st + keys[i].off);
	return NULL;
}

int ps_state_load(struct ps_machine *m)
{
	struct ps_state *st = &m->st;
	char buf[4096], key[32], val[128];
	unsigned long long v;
	const char *p;
	uint64_t *f;
	int fd, n;
	ssize_t len;

	memset(st, 0, sizeof(*st));
	fd = openat(m->dirfd, "state", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len < 0)
		return -EIO;
	buf[len] = '\0';
	for (p = buf; sscanf(p, "%31s %127s%n", key, val, &n) == 2; p += n) {
		v = strtoull(val, NULL, 10);
		if (!strcmp(key, "applied_seg"))
			snprintf(st->applied_seg, sizeof(st->applied_seg), "%s",
				 val);
		else if (!strcmp(key, "applied_pos"))
			st->applied_pos = v, st->have_applied = true;
		else if (!strcmp(key, "base_pos"))
			st->base_pos = v, st->have_base = true;
		else if (!strcmp(key, "resync_window"))
			st->resync_open = !strcmp(val, "open");
		else if ((f = state_u64(st, key)))
			*f = v;
	}
	return 0;
}

int ps_state_save(struct ps_machine *m)
{
	const struct ps_state *st = &m->st;
	char buf[4096];
	int n = 0;

	if (st->applied_seg[0])
		n += snprintf(buf + n, sizeof(buf) - n, "applied_seg %s\n",
			      st->applied_seg);
	if (st->have_applied)
		n += snprintf(buf + n, sizeof(buf) - n, "applied_pos %" PRIu64 "\n",
			      st->applied_pos);
	if (st->have_base)
		n += snprintf(buf + n, sizeof(buf) - n, "base_pos %" PRIu64 "\n",
			      st->base_pos);
	n += snprintf(buf + n, sizeof(buf) - n,
		      "last_point_ns %" PRIu64 "\nlast_point_seq %" PRIu64
		      "\nnext_point_id %" PRIu64 "\n", st->last_point_ns,
		      st->last_point_seq, st->next_point_id);
	n += snprintf(buf + n, sizeof(buf) - n,
		      "resync_window %s\nresync_window_open_seq %" PRIu64
		      "\nresync_window_close_seq %" PRIu64
		      "\nresync_windows %" PRIu64 "\nresync_bytes %" PRIu64
		      "\nresync_data_bytes %" PRIu64 "\nresync_zero_bytes %"
		      PRIu64 "\nresync_diff_bytes %" PRIu64 "\n",
		      st->resync_open ? "open" : "closed", st->resync_open_seq,
		      st->resync_close_seq, st->resync_windows,
		      st->resync_bytes, st->resync_data_bytes,
		      st->resync_zero_bytes, st->resync_diff_bytes);
	return ps_write_file_atomic(m->dirfd, "state", buf, n, 0600);
}

void ps_machines_load(struct ps_server *srv)
{
	struct dirent *de;
	DIR *d = opendir_at(srv->datafd, "machines");

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && ps_id_valid(de->d_name) &&
		    !ps_machine_get(srv, de->d_name, false))
			ps_log("machine %s: cannot open its directory",
			       de->d_name);
	closedir(d);
}
