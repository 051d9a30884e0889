// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-pool DISK -- WRITER [ARGS...]: with more writes in flight than
 * the disk has trackers (ferry.ko loaded with a small max_inflight), the
 * writes without a tracker are dropped, never failed, and each leaves a
 * trace in the stream.
 *
 *   1. 4 MiB ring, DISK attached; WRITER (fio at a high queue depth) must
 *      exit 0
 *   2. stats: drops > 0 and FERRY_DISK_RESYNC
 *   3. the ring holds FERRY_OP_DIRTY records for dropped writes: at least
 *      one, at most one per drop, each inside the disk
 *   4. CLEAR_RESYNC, detach, teardown
 * Exit 0 when all of this held, 1 naming what did not.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ferry/ring.h>

static int fail(const char *what)
{
	fprintf(stderr, "ferry-test-pool: %s\n", what);
	return 1;
}

static int run(char **argv)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (!pid) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFEXITED(status) && !WEXITSTATUS(status) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct ferry_clear_resync cr = { 0 };
	const struct ferry_rec *r;
	struct ferry_attach at;
	struct ferry_stats st;
	struct ferry_dev d;
	struct stat sb;
	uint64_t dirty = 0, records = 0;
	int ret;

	if (argc < 4 || strcmp(argv[2], "--") || stat(argv[1], &sb))
		return fail("usage: ferry-test-pool DISK -- WRITER [ARGS...]");
	if (ferry_dev_open(&d, NULL, 4 << 20))
		return fail("cannot open /dev/ferry with a 4 MiB ring");
	if (ferry_dev_attach(&d, sb.st_rdev, &at))
		return fail("attach failed");
	if (run(argv + 3))
		return fail("the writer failed");
	if (ferry_dev_stats(&d, at.disk_id, &st))
		return fail("stats failed");
	printf("pool: drops %" PRIu64 " drop_bytes %" PRIu64 " records %" PRIu64
	       " mode %u state %#x\n", (uint64_t)st.drops,
	       (uint64_t)st.drop_bytes, (uint64_t)st.records, st.mode,
	       st.state);
	if (!st.drops || !(st.state & FERRY_DISK_RESYNC))
		return fail("no drop with the tracker pool exhausted");

	while ((ret = ring_reader_next(&d.rd, &r)) > 0) {
		if (r->disk_id != at.disk_id || ring_rec_verify(r))
			return fail("a record of another disk or with a bad crc");
		records++;
		if (r->op != FERRY_OP_DIRTY)
			continue;
		if (!r->len || r->offset > at.size_bytes ||
		    r->len > at.size_bytes - r->offset)
			return fail("a DIRTY record outside the disk");
		dirty++;
	}
	if (ret < 0 || ferry_dev_consume(&d, ring_reader_pos(&d.rd)))
		return fail("reading the ring failed");
	printf("pool: %" PRIu64 " records, %" PRIu64 " DIRTY for %" PRIu64
	       " drops\n", records, dirty, (uint64_t)st.drops);
	if (!dirty || dirty > st.drops)
		return fail("dropped writes have no DIRTY record in the stream");

	cr.disk_id = at.disk_id;
	if (ioctl(d.fd, FERRY_IOC_CLEAR_RESYNC, &cr))
		return fail("CLEAR_RESYNC failed");
	if (ferry_dev_detach(&d, at.disk_id))
		return fail("detach failed");
	munmap(d.map, d.map_len);
	d.map = NULL;
	if (ioctl(d.fd, FERRY_IOC_RING_TEARDOWN))
		return fail("teardown failed");
	ferry_dev_close(&d);
	printf("ferry-test-pool: ok\n");
	return 0;
}
