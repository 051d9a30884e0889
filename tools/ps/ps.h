/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferry-ps internals shared by its files.  The data directory layout, the
 * HTTP API and the policies are documented in docs/server.md:
 *
 *   DATA/
 *     tls/ca.key ca.crt server.key server.crt passphrase    (keys 0600)
 *     machines/<machine>/
 *       cert.pem                  the certificate last issued to it
 *       segments/<n>-<start>-<end>-<uuid>.hrl
 *                                 acknowledged segments: acceptance number
 *                                 (stream order), sequence range [start,
 *                                 end), each %020; segment uuid in hex
 *       tmp/                      uploads in flight (emptied at start)
 *       disks/<disk>/replica.img  the replica at applied_pos (sparse)
 *       disks/<disk>/base.img     the replica at base_pos (retention floor)
 *       state                     applied_pos, base_pos, resync window
 *                                 and counters, ... (atomic)
 *       points                    recovery points, one per line
 */
#ifndef FERRY_PS_H
#define FERRY_PS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include <ferry/hrl.h>
#include <ferry/ps_auth.h>
#include <ferry/ps_client.h>

#define PS_DEFAULT_LISTEN	"0.0.0.0:9443"
#define PS_ID_MAX		65
#define PS_MAX_CONNS		64
#define PS_MAX_SEGMENT		(1ull << 30)
#define PS_MAX_CONTROL		(64 * 1024)
#define PS_IO_TIMEOUT_S		60
#define PS_ORDER_WAIT_S		10	/* a segment that arrives before its
					   predecessor waits this long for it */

struct ps_policy {
	uint64_t point_interval_s;	/* crash-consistent point at least every */
	uint64_t retention_s;		/* points and segments kept this long */
};

/* One recovery point. */
struct ps_point {
	uint64_t id;
	uint64_t seq;		/* state after every record with seq < this */
	uint64_t time_ns;	/* source time of the newest record in it */
	int kind;		/* PS_POINT_TAG or PS_POINT_CRASH */
	char tag[HRL_MAX_TAG_NAME + 1];
};

#define PS_POINT_TAG	0
#define PS_POINT_CRASH	1

/* A stored segment, from its file name. */
struct ps_seg {
	uint64_t n;		/* order of acceptance: the stream order */
	uint64_t start;
	uint64_t end;
	uint8_t uuid[16];
	char name[128];		/* relative to the machine directory */
};

/* Persisted per-machine apply state (DATA/machines/<m>/state). */
struct ps_state {
	uint64_t applied_pos;	/* replica has every record with seq < this */
	bool have_applied;
	uint64_t base_pos;	/* base.img has every record with seq < this */
	bool have_base;
	uint64_t last_point_ns;	/* time_ns of the newest point */
	uint64_t last_point_seq;
	uint64_t next_point_id;
	char applied_seg[128];	/* file name of the last applied segment */
	/*
	 * Resync window: open while the last applied segment carries
	 * HRL_SEG_RESYNC; no recovery point is made while it is open.
	 */
	bool resync_open;
	uint64_t resync_open_seq;	/* where the open (or last) window opened */
	uint64_t resync_close_seq;	/* where the last window closed */
	uint64_t resync_windows;	/* windows opened so far */
	/* resync chunks applied so far (struct hrl_apply's counters) */
	uint64_t resync_bytes;
	uint64_t resync_data_bytes;
	uint64_t resync_zero_bytes;
	uint64_t resync_diff_bytes;
};

struct ps_machine {
	struct ps_machine *next;
	char id[PS_ID_MAX];
	int dirfd;		/* DATA/machines/<id>, O_PATH-free O_DIRECTORY */
	pthread_mutex_t apply_lock;	/* held while the replica changes;
					   protects replica_pos */
	uint64_t replica_pos;	/* stream position of replica.img's content */
	pthread_mutex_t lock;	/* protects every field below */
	bool have_stored;
	uint64_t stored_end;	/* newest stored end_seq: next upload's start */
	uint64_t stored_n;	/* its acceptance number */
	uint8_t stored_uuid[16];	/* its segment uuid */
	int inflight;		/* uploads of this machine in progress */
	bool have_cert;		/* cert.pem exists: only it is accepted */
	uint8_t cert_sha[32];	/* SHA-256 of its DER */
	/* stored, not yet applied, in stream order: the applier's queue */
	struct ps_seg *pending;
	size_t npending, pending_cap;
	pthread_cond_t stored;	/* signalled when stored_end or inflight move */
	struct ps_state st;	/* written by the applier only */
	uint64_t bytes_stored;	/* since start, for the log */
};

struct ps_server {
	const char *data;
	int datafd;
	SSL_CTX *ctx;
	X509 *ca;
	EVP_PKEY *ca_key;
	char passphrase[PS_PASSPHRASE_MAX];
	struct ps_policy policy;
	int listenfd;
	bool readonly;		/* a command reading the data directory while
				   the server may run: create and clean nothing */

	pthread_mutex_t lock;	/* protects machines list and nconns */
	struct ps_machine *machines;
	int nconns;

	pthread_mutex_t apply_lock;	/* protects apply_kick, stopping */
	pthread_cond_t apply_cond;
	bool apply_kick;
	bool stopping;
	pthread_t applier;
};

/* store.c: data directory */
int ps_data_open(struct ps_server *srv, bool create);
int ps_data_load_tls(struct ps_server *srv);
struct ps_machine *ps_machine_get(struct ps_server *srv, const char *id,
				  bool create);
void ps_machines_load(struct ps_server *srv);
void ps_machine_set_cert(struct ps_machine *m, X509 *cert);
int ps_state_load(struct ps_machine *m);
int ps_state_save(struct ps_machine *m);
int ps_write_file_atomic(int dirfd, const char *name, const void *buf,
			 size_t len, mode_t mode);
int ps_fsync_dir(int dirfd, const char *name);
int ps_seg_name(char *buf, size_t len, const struct ps_seg *s);
int ps_seg_list(struct ps_machine *m, struct ps_seg **segs, size_t *n);
bool ps_seg_parse(const char *name, struct ps_seg *s);
int ps_pending_add(struct ps_machine *m, const struct ps_seg *s);
int ps_seg_cmp(const struct ps_seg *a, const struct ps_seg *b);

/* points.c */
int ps_points_load(struct ps_machine *m, struct ps_point **pts, size_t *n);
int ps_point_append(struct ps_machine *m, const struct ps_point *p);
int ps_points_rewrite(struct ps_machine *m, const struct ps_point *pts,
		      size_t n);

/* server.c */
int ps_serve(struct ps_server *srv, const char *listen_addr);
void ps_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* apply.c */
int ps_applier_start(struct ps_server *srv);
void ps_applier_kick(struct ps_server *srv);
void ps_applier_stop(struct ps_server *srv);

/* export.c */
int ps_cmd_points(struct ps_server *srv, const char *machine, bool json);
int ps_cmd_export(struct ps_server *srv, const char *machine,
		  const char *disk, const char *point, const char *out);
int ps_cmd_status(struct ps_server *srv, const char *machine);

#endif /* FERRY_PS_H */
