/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ship: the threads that upload sealed spool segments to ferry-ps in spool
 * order, two in flight on two kept-alive mutual-TLS connections, and
 * acknowledge each to the spool (spool_ack) only after the server said it
 * is durable.  Failures are retried with exponential backoff (100 ms to
 * 30 s) and reported through spool_set_ship_state() for ferryctl status.
 *
 * Credentials come from ferryctl register: STATE_DIR/ps-ca.crt,
 * client.crt, client.key; the server from ferryd.conf's server key, else
 * STATE_DIR/ps-server.
 */
#ifndef FERRYD_SHIP_H
#define FERRYD_SHIP_H

#include <stdint.h>

#include "config.h"
#include "spool.h"

#define SHIP_LAG_BUCKETS	10001

struct ship_stats {
	uint64_t segments;	/* acknowledged */
	uint64_t duplicates;	/* of which the server already had */
	uint64_t bytes;		/* segment bytes acknowledged */
	uint64_t failures;	/* failed attempts */
	/* lag: oldest record's time to acknowledgement; 1 ms buckets,
	 * the last one collects everything from SHIP_LAG_BUCKETS - 1 ms */
	uint32_t lag_ms_hist[SHIP_LAG_BUCKETS];
	uint64_t lag_max_ms;
};

/* The registration ferryd talks to ferry-ps with (see above). */
struct ship_ident {
	char server[256];		/* host:port */
	char dir[FERRYD_PATH_MAX];	/* STATE_DIR: the PS_FILE_* files */
	char machine[65];		/* the certificate's CN */
};

/* Fill id from conf and STATE_DIR.  0 or -errno with err. */
int ship_identity(const struct ferryd_conf *conf, struct ship_ident *id,
		  char *err, size_t len);

int ship_start(struct spool *sp, const struct ferryd_conf *conf);
void ship_stop(void);
void ship_get_stats(struct ship_stats *st);
/* Lag quantile q (0..1) in ms from the histogram. */
uint64_t ship_lag_quantile_ms(const struct ship_stats *st, double q);

#endif /* FERRYD_SHIP_H */
