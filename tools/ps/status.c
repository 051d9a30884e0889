// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-ps status MACHINE: a machine's persisted state as the applier left
 * it (DATA/machines/<m>/state), one "key value" line each, the same keys
 * as the state file so scripts read either with awk:
 *
 *   applied_pos 1234
 *   resync_window open|closed
 *   resync_window_open_seq 1000     where the open (or last) window opened
 *   resync_window_close_seq 1100    where the last window closed
 *   resync_bytes 4259840            resync chunks received (payload +
 *   ...                             64-byte headers), diff: blocks that
 *                                   differed from the replica
 *
 * followed by one sentence on the window and the resync ratio.  Reads the
 * data directory only, so it works while the server runs.
 */
#include <inttypes.h>
#include <stdio.h>

#include "ps.h"

int ps_cmd_status(struct ps_server *srv, const char *machine)
{
	struct ps_machine *m = ps_machine_get(srv, machine, false);
	const struct ps_state *st;

	if (!m) {
		fprintf(stderr, "ferry-ps: machine %s: not known in %s\n",
			machine, srv->data);
		return 1;
	}
	st = &m->st;
	printf("machine %s\n", m->id);
	if (st->have_applied)
		printf("applied_pos %" PRIu64 "\n", st->applied_pos);
	if (st->applied_seg[0])
		printf("applied_seg %s\n", st->applied_seg);
	printf("last_point_seq %" PRIu64 "\n", st->last_point_seq);
	printf("resync_window %s\nresync_window_open_seq %" PRIu64
	       "\nresync_window_close_seq %" PRIu64 "\nresync_windows %" PRIu64
	       "\n", st->resync_open ? "open" : "closed", st->resync_open_seq,
	       st->resync_close_seq, st->resync_windows);
	printf("resync_bytes %" PRIu64 "\nresync_data_bytes %" PRIu64
	       "\nresync_zero_bytes %" PRIu64 "\nresync_diff_bytes %" PRIu64
	       "\n", st->resync_bytes, st->resync_data_bytes,
	       st->resync_zero_bytes, st->resync_diff_bytes);
	if (st->resync_open)
		printf("resync window open since seq %" PRIu64
		       ": no recovery point until it closes\n",
		       st->resync_open_seq);
	else if (st->resync_windows)
		printf("last resync window: seq %" PRIu64 " to %" PRIu64 "\n",
		       st->resync_open_seq, st->resync_close_seq);
	if (st->resync_diff_bytes)
		printf("resync: %.3f bytes received per byte that differed\n",
		       (double)st->resync_bytes / st->resync_diff_bytes);
	return 0;
}
