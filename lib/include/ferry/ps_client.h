/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Client of ferry-ps (docs/server.md): registration and, after it, mutual
 * TLS requests over one reused libcurl connection (keep-alive; TLS 1.3 when
 * both sides have it; the server certificate checked against the CA pinned
 * at registration).  One struct ps_client per thread.
 *
 * Errors: -errno with a message naming the server and the reason in err.
 *   -EAGAIN     transient: network, timeout, 5xx, 429; retry with backoff
 *   -EACCES     refused: certificate or passphrase (401, 403)
 *   -EBADMSG    the server found the segment corrupt (422)
 *   -EPROTO     any other answer
 */
#ifndef FERRY_PS_CLIENT_H
#define FERRY_PS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ferry/hrl.h>

#define PS_ERR_LEN	512

/* Files a registration leaves in its directory (/etc/ferry by default). */
#define PS_FILE_CA	"ps-ca.crt"
#define PS_FILE_CERT	"client.crt"
#define PS_FILE_KEY	"client.key"
#define PS_FILE_SERVER	"ps-server"

struct ps_client;

struct ps_client_conf {
	const char *server;	/* "host:port" */
	const char *dir;	/* holds PS_FILE_* from ps_register() */
	const char *machine_id;	/* must be the certificate's */
	long connect_timeout_s;	/* default 10 */
	long timeout_s;		/* per request, default 120 */
};

struct ps_ack {
	uint64_t start_seq;
	uint64_t end_seq;
	uint64_t bytes;
	uint64_t records;
	bool duplicate;
};

struct ps_remote_state {
	uint64_t stored_seq;	/* every segment up to here is durable */
	uint64_t applied_seq;
	bool resync_window_open;	/* no recovery point while set */
	uint64_t resync_window_open_seq;	/* open (or last) window from */
	uint64_t resync_window_close_seq;	/* last window closed at */
	uint64_t resync_windows;
	/* resync chunks applied so far, measured by the server */
	uint64_t resync_bytes;		/* received: payloads + headers */
	uint64_t resync_data_bytes;
	uint64_t resync_zero_bytes;
	uint64_t resync_diff_bytes;	/* 4 KiB blocks that differed */
};

struct ps_remote_point {
	uint64_t id;
	uint64_t seq;		/* state after every record with seq < this */
	uint64_t time_ns;
	bool tag;		/* a consistency tag, else crash-consistent */
	char name[256];
};

#define PS_HASHES_MAX	4096	/* chunks per request */

/*
 * Register machine_id with the server using the passphrase; on success
 * write the pinned CA, the client key (0600) and certificate and the
 * server address into dir.  The server's proof of the passphrase is
 * checked before anything is written: a wrong server is refused.
 */
int ps_register(const char *server, const char *passphrase,
		const char *machine_id, const char *dir,
		char *err, size_t errlen);

int ps_client_open(const struct ps_client_conf *conf, struct ps_client **out,
		   char *err, size_t errlen);
void ps_client_close(struct ps_client *c);

/* Upload the segment in fd[0..len), streamed; fills ack on success. */
int ps_client_upload(struct ps_client *c, int fd, uint64_t len,
		     struct ps_ack *ack, char *err, size_t errlen);

int ps_client_state(struct ps_client *c, struct ps_remote_state *st,
		    char *err, size_t errlen);

/* The machine's recovery points, oldest first; *pts is malloc'd. */
int ps_client_points(struct ps_client *c, struct ps_remote_point **pts,
		     size_t *n, char *err, size_t errlen);

/*
 * SHA-256 of count chunks of chunk bytes of the replica of disk from
 * offset (chunk a multiple of 4096, at most 64 MiB; count at most
 * PS_HASHES_MAX).  *n gets how many came back (fewer at the disk's end),
 * *applied_seq the stream position of the replica hashed.  -ENOENT: the
 * server has no replica of disk (yet).
 */
int ps_client_hashes(struct ps_client *c, const char *disk, uint64_t chunk,
		     uint64_t offset, uint32_t count, uint8_t (*out)[32],
		     size_t *n, uint64_t *applied_seq, char *err, size_t errlen);

/* The server's name of a disk: its uuid in hex, or "disk<ring id>". */
void ps_disk_name(const struct hrl_disk *d, char *buf, size_t len);

#endif /* FERRY_PS_CLIENT_H */
