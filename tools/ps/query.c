// SPDX-License-Identifier: GPL-2.0
/*
 * Read-only requests of a registered machine:
 *
 *   GET /v1/machines/{id}/state
 *       MachineState: stored and applied stream positions, recovery points
 *   GET /v1/machines/{id}/disks/{disk}/hashes?chunk=B&offset=B&count=N
 *       ChunkHashes: SHA-256 of N chunks of B bytes of the replica from
 *       offset B, taken while the applier is held, so they describe one
 *       replica state (applied_seq: the position of the replica's content,
 *       set under the same lock); for hash-compare resync.  Chunks that
 *       are holes of the sparse replica are not read: their hash is the
 *       zero chunk's, computed once per request.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "conn.h"
#include "ps.pb-c.h"

#define HASH_CHUNK_MAX	(64ull << 20)
#define HASH_BYTES_MAX	(1ull << 30)	/* per request */

static int reply_msg(struct ps_conn *c, const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(len ? len : 1);
	int ret;

	if (!buf)
		return ps_conn_error(c, 500, "out of memory");
	protobuf_c_message_pack(msg, buf);
	ret = ps_conn_reply(c, 200, "application/x-protobuf", buf, len);
	free(buf);
	return ret;
}

int ps_handle_state(struct ps_conn *c, struct ps_machine *m)
{
	Ferry__Ps__MachineState st = FERRY__PS__MACHINE_STATE__INIT;
	Ferry__Ps__Point *pv = NULL, **pp = NULL;
	struct ps_point *pts = NULL;
	size_t n = 0, i;
	int ret;

	ps_points_load(m, &pts, &n);
	if (n && (!(pv = calloc(n, sizeof(*pv))) || !(pp = calloc(n, sizeof(*pp))))) {
		n = 0;
	}
	for (i = 0; i < n; i++) {
		ferry__ps__point__init(&pv[i]);
		pv[i].id = pts[i].id;
		pv[i].seq = pts[i].seq;
		pv[i].time_ns = pts[i].time_ns;
		pv[i].kind = pts[i].kind == PS_POINT_TAG ?
			     FERRY__PS__POINT_KIND__POINT_TAG :
			     FERRY__PS__POINT_KIND__POINT_CRASH;
		pv[i].tag = pts[i].tag;
		pp[i] = &pv[i];
	}
	st.n_points = n;
	st.points = pp;
	pthread_mutex_lock(&m->lock);
	st.machine_id = m->id;
	st.stored_seq = m->stored_end;
	st.applied_seq = m->st.applied_pos;
	st.resync_window_open = m->st.resync_open;
	st.resync_window_open_seq = m->st.resync_open_seq;
	st.resync_window_close_seq = m->st.resync_close_seq;
	st.resync_windows = m->st.resync_windows;
	st.resync_bytes = m->st.resync_bytes;
	st.resync_data_bytes = m->st.resync_data_bytes;
	st.resync_zero_bytes = m->st.resync_zero_bytes;
	st.resync_diff_bytes = m->st.resync_diff_bytes;
	pthread_mutex_unlock(&m->lock);
	ret = reply_msg(c, &st.base);
	free(pp);
	free(pv);
	free(pts);
	return ret;
}

static bool query_u64(struct ps_conn *c, const char *name, uint64_t *v)
{
	char buf[24], *end;

	if (!http_query_get(&c->req, name, buf, sizeof(buf)) || !buf[0])
		return false;
	*v = strtoull(buf, &end, 10);
	return !*end;
}

/* SHA-256 of len bytes at off (short at the end of the file). */
static int hash_chunk(int fd, uint64_t off, uint64_t len, uint8_t *buf,
		      size_t bufsz, uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int olen = 32;
	int ret = -EIO;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto out;
	while (len) {
		ssize_t n = pread(fd, buf, len < bufsz ? len : bufsz, off);

		if (n < 0)
			goto out;
		if (n == 0)
			break;
		EVP_DigestUpdate(md, buf, n);
		off += n;
		len -= n;
	}
	ret = EVP_DigestFinal_ex(md, out, &olen) ? 0 : -EIO;
out:
	EVP_MD_CTX_free(md);
	return ret;
}

/*
 * Is [off, off + len) a hole of the sparse replica?  Then it reads as
 * zeros and its hash is the zero chunk's: no need to read it.
 */
static bool is_hole(int fd, uint64_t off, uint64_t len)
{
	off_t data = lseek(fd, off, SEEK_DATA);

	return (data < 0 && errno == ENXIO) ||
	       (data >= 0 && (uint64_t)data >= off + len);
}

struct zero_hash {
	uint64_t len;		/* of the chunk hashed, 0: none yet */
	uint8_t sha[32];
};

/* SHA-256 of len zero bytes, computed once per length per request. */
static void zero_chunk_hash(struct zero_hash *z, uint64_t len, uint8_t *buf,
			    size_t bufsz, uint8_t out[32])
{
	EVP_MD_CTX *md;
	unsigned int olen = 32;
	uint64_t left;

	if (z->len != len) {
		md = EVP_MD_CTX_new();
		memset(buf, 0, bufsz);
		EVP_DigestInit_ex(md, EVP_sha256(), NULL);
		for (left = len; left; left -= left < bufsz ? left : bufsz)
			EVP_DigestUpdate(md, buf, left < bufsz ? left : bufsz);
		EVP_DigestFinal_ex(md, z->sha, &olen);
		EVP_MD_CTX_free(md);
		z->len = len;
	}
	memcpy(out, z->sha, 32);
}

/*
 * Fill h->sha256 (digests in *dig); 0, -ENOMEM, or -EIO with *bad the
 * offset that could not be read.  Answers nothing: the caller holds the
 * apply lock and must not wait for the network meanwhile.
 */
static int hash_range(int fd, Ferry__Ps__ChunkHashes *h, uint64_t count,
		      uint8_t (**dig)[32], uint64_t *bad)
{
	uint64_t size = h->disk_size, i;
	struct zero_hash zh[2] = { { 0 } };
	uint8_t *buf = malloc(1 << 20);
	int ret = 0;

	h->sha256 = calloc(count ? count : 1, sizeof(*h->sha256));
	*dig = calloc(count ? count : 1, 32);
	if (!buf || !h->sha256 || !*dig) {
		ret = -ENOMEM;
		goto out;
	}
	for (i = 0; i < count && h->offset + i * h->chunk_size < size; i++) {
		uint64_t off = h->offset + i * h->chunk_size;
		uint64_t len = size - off < h->chunk_size ? size - off :
			       h->chunk_size;

		if (is_hole(fd, off, len)) {
			zero_chunk_hash(&zh[len != h->chunk_size], len, buf,
					1 << 20, (*dig)[i]);
		} else if (hash_chunk(fd, off, len, buf, 1 << 20, (*dig)[i])) {
			*bad = off;
			ret = -EIO;
			goto out;
		}
		h->sha256[i].data = (*dig)[i];
		h->sha256[i].len = 32;
		h->n_sha256++;
	}
out:
	free(buf);
	return ret;
}

int ps_handle_hashes(struct ps_conn *c, struct ps_machine *m, const char *disk)
{
	Ferry__Ps__ChunkHashes h = FERRY__PS__CHUNK_HASHES__INIT;
	uint64_t chunk, offset = 0, count, bad = 0;
	uint8_t (*dig)[32] = NULL;
	struct stat st;
	char path[128];
	int fd, ret;

	if (!query_u64(c, "chunk", &chunk) || !query_u64(c, "count", &count) ||
	    (http_query_get(&c->req, "offset", path, sizeof(path)) &&
	     !query_u64(c, "offset", &offset)))
		return ps_conn_error(c, 400, "hashes: need chunk=BYTES&count=N"
				     "[&offset=BYTES]");
	if (!chunk || chunk % 4096 || chunk > HASH_CHUNK_MAX ||
	    count > PS_HASHES_MAX || chunk * count > HASH_BYTES_MAX ||
	    offset % chunk)
		return ps_conn_error(c, 400, "hashes: chunk must be a multiple "
				     "of 4096 up to 64 MiB, count at most %d, "
				     "at most 1 GiB per request, offset a "
				     "multiple of chunk", PS_HASHES_MAX);
	snprintf(path, sizeof(path), "disks/%s/replica.img", disk);
	fd = openat(m->dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ps_conn_error(c, 404, "machine %s: no replica of disk %s",
				     m->id, disk);
	h.disk = (char *)disk;
	h.chunk_size = chunk;
	h.offset = offset;
	/* one replica state: the applier waits until the hashes are taken */
	pthread_mutex_lock(&m->apply_lock);
	h.applied_seq = m->replica_pos;
	h.disk_size = fstat(fd, &st) ? 0 : st.st_size;
	posix_fadvise(fd, offset, chunk * count, POSIX_FADV_SEQUENTIAL);
	ret = hash_range(fd, &h, count, &dig, &bad);
	pthread_mutex_unlock(&m->apply_lock);
	close(fd);
	/* answered outside the lock: the client may be slow */
	if (ret == -EIO)
		ret = ps_conn_error(c, 500, "machine %s disk %s: read error at "
				    "%" PRIu64, m->id, disk, bad);
	else if (ret)
		ret = ps_conn_error(c, 500, "out of memory");
	else
		ret = reply_msg(c, &h.base);
	free(dig);
	free(h.sha256);
	return ret;
}
