// SPDX-License-Identifier: GPL-2.0
/*
 * ferryctl capture DISK FILE: attach DISK, drain every write it completes
 * from /dev/ferry into .hrl segments, detach, and write them to FILE (then
 * FILE.1, FILE.2, ... when one segment of --segment-bytes is not enough).
 * `hrl apply FILE IMAGE` replays them onto a copy of the disk taken after
 * the attach.  It is the kernel module's test and diagnostic tool: ferryd
 * is the product's consumer, and /dev/ferry must not be in use by it.
 *
 * Ring space is released as soon as records are copied into the segment
 * buffer, which stays in memory until capture ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <ferry/hrl.h>
#include <ferry/ring.h>

#include "ferryctl.h"
#include <ferry/disk.h>

struct capture {
	const char *disk;	/* as given */
	const char *file;
	uint64_t ring_bytes;
	uint64_t seg_bytes;
	uint64_t max_records;	/* 0: no limit */
	unsigned int seconds;	/* 0: no limit */
	const char *ready;	/* created once attached */

	struct disk_id id;
	struct ferry_dev dev;
	struct ferry_attach at;
	struct hrl_seg_info info;
	struct hrl_writer w;
	void *buf;
	bool started;		/* writer initialised */
	unsigned int segments;	/* written so far */
	uint64_t records;	/* captured */
	uint64_t skipped;	/* records of other disks */
	uint64_t dirty;		/* ranges the stream lacks */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int capture_usage(void)
{
	fprintf(stderr,
		"usage: ferryctl capture [--count N] [--seconds S] [--ring-bytes B]\n"
		"                        [--segment-bytes B] [--ready PATH] DISK FILE\n");
	return FERRYCTL_EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -EINVAL : 0;
}

static int capture_args(struct capture *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "ring-bytes", required_argument, NULL, 'r' },
		{ "segment-bytes", required_argument, NULL, 'g' },
		{ "ready", required_argument, NULL, 'R' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int opt;

	c->seg_bytes = 256ull << 20;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 'R') {
			c->ready = optarg;
			continue;
		}
		if (opt == '?' || parse_u64(optarg, &v)) {
			fprintf(stderr, "ferryctl capture: bad value for option\n");
			return -EINVAL;
		}
		if (opt == 'n')
			c->max_records = v;
		else if (opt == 's')
			c->seconds = (unsigned int)v;
		else if (opt == 'r')
			c->ring_bytes = v;
		else if (v < 4 * HRL_BLOCK || v % HRL_BLOCK) {
			fprintf(stderr, "ferryctl capture: --segment-bytes %" PRIu64
				": not a multiple of %u of at least %u\n",
				v, HRL_BLOCK, 4 * HRL_BLOCK);
			return -EINVAL;
		} else {
			c->seg_bytes = v;
		}
	}
	if (argc - optind != 2)
		return -EINVAL;
	c->disk = argv[optind];
	c->file = argv[optind + 1];
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* ---- segments ------------------------------------------------------- */

static int segment_start(struct capture *c, uint64_t start_seq)
{
	int ret;

	c->info.start_seq = start_seq;
	c->info.created_ns = now_ns();
	if (getrandom(c->info.segment_id, sizeof(c->info.segment_id), 0) < 0)
		return -errno;
	ret = hrl_writer_init(&c->w, c->buf, c->seg_bytes, &c->info);
	if (ret)
		fprintf(stderr, "ferryctl capture: cannot start a segment: %s\n",
			strerror(-ret));
	c->started = !ret;
	return ret;
}

static int segment_write(struct capture *c, uint64_t *end_seq)
{
	struct hrl_seg_end end;
	char path[4096];
	size_t bytes;
	int fd, ret;

	ret = hrl_writer_finish(&c->w, &bytes, &end);
	if (ret)
		return ret;
	*end_seq = end.end_seq;
	if (c->segments)
		snprintf(path, sizeof(path), "%s.%u", c->file, c->segments);
	else
		snprintf(path, sizeof(path), "%s", c->file);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, c->buf, bytes) != (ssize_t)bytes || fsync(fd)) {
		ret = -errno;
		fprintf(stderr, "ferryctl capture: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret ? ret : -EIO;
	}
	close(fd);
	c->segments++;
	c->started = false;
	printf("ferryctl capture: %s: %" PRIu64 " records, %zu bytes\n", path,
	       end.records, bytes);
	return 0;
}

/* Add one ring record; a full segment is written out and a new one begun. */
static int capture_record(struct capture *c, const struct ferry_rec *fr)
{
	struct hrl_rec rec;
	void *payload;
	uint64_t end_seq;
	int ret;

	if (hrl_rec_from_ferry(&rec, fr))
		return -EBADMSG;
	if (fr->op == FERRY_OP_DIRTY || (fr->flags & FERRY_REC_NODATA))
		c->dirty++;
	if (!c->started && (ret = segment_start(c, fr->seq)))
		return ret;
	ret = hrl_writer_reserve(&c->w, &rec, &payload);
	if (ret == -ENOSPC && hrl_writer_records(&c->w)) {
		ret = segment_write(c, &end_seq);
		if (!ret)
			ret = segment_start(c, end_seq);
		if (!ret)
			ret = hrl_writer_reserve(&c->w, &rec, &payload);
	}
	if (ret) {
		fprintf(stderr, "ferryctl capture: record seq %" PRIu64
			" (%s, %u bytes at %" PRIu64 "): %s\n", (uint64_t)fr->seq,
			hrl_kind_name(rec.kind) ?: "?", fr->len, (uint64_t)fr->offset,
			ret == -ENOSPC ? "larger than --segment-bytes" :
			strerror(-ret));
		return ret;
	}
	if (rec.payload_len)
		memcpy(payload, ring_rec_payload(fr), rec.payload_len);
	c->records++;
	return hrl_writer_commit_crc(&c->w, fr->crc);
}

/* Copy every committed record into segments, then release the ring. */
static int capture_drain(struct capture *c)
{
	const struct ferry_rec *fr;
	int ret;

	while ((ret = ring_reader_next(&c->dev.rd, &fr)) > 0) {
		if (fr->disk_id != c->at.disk_id) {
			c->skipped++;
			continue;
		}
		ret = capture_record(c, fr);
		if (ret)
			return ret;
	}
	if (ret < 0) {
		fprintf(stderr, "ferryctl capture: ring at %" PRIu64 ": %s\n",
			ring_reader_pos(&c->dev.rd), strerror(-ret));
		return ret;
	}
	ret = ferry_dev_consume(&c->dev, ring_reader_pos(&c->dev.rd));
	if (ret)
		fprintf(stderr, "ferryctl capture: consume %" PRIu64 ": %s\n",
			ring_reader_pos(&c->dev.rd), strerror(-ret));
	return ret;
}

/* ---- set-up and teardown ------------------------------------------- */

static int capture_open(struct capture *c)
{
	struct ferry_list_entry e[FERRY_MAX_DISKS];
	char why[512];
	int ret;

	ret = disk_resolve("/sys", c->disk, &c->id, why, sizeof(why));
	if (ret) {
		fprintf(stderr, "ferryctl capture: %s\n", why);
		return ret;
	}
	ret = ferry_dev_open(&c->dev, NULL, c->ring_bytes);
	if (ret) {
		fprintf(stderr, "ferryctl capture: %s: %s%s\n", FERRY_DEVICE_PATH,
			strerror(-ret), ret == -ENOENT ?
			" (is ferry.ko loaded?)" : "");
		return ret;
	}
	ret = ferry_dev_list(&c->dev, e, FERRY_MAX_DISKS);
	if (ret > 0) {
		fprintf(stderr, "ferryctl capture: %s is in use: %d disks attached (is ferryd running?)\n",
			FERRY_DEVICE_PATH, ret);
		return -EBUSY;
	}
	/* Leftovers of an earlier session belong to no attached disk. */
	c->at.disk_id = FERRY_DISK_ALL;
	return ret < 0 ? ret : capture_drain(c);
}

static int capture_attach(struct capture *c)
{
	int ret = ferry_dev_attach(&c->dev, c->id.dev, &c->at);

	if (ret) {
		fprintf(stderr, "ferryctl capture: attach %s: %s\n", c->disk,
			ret == -EEXIST ? "already attached" : strerror(-ret));
		return ret;
	}
	c->info.nr_disks = 1;
	c->info.disks[0].id = c->at.disk_id;
	memcpy(c->info.disks[0].uuid, c->id.uuid, sizeof(c->id.uuid));
	c->info.disks[0].size_bytes = c->at.size_bytes;
	c->info.disks[0].lbs = c->at.lbs;
	printf("ferryctl capture: attached %s (%s) as disk %u, %" PRIu64 " bytes\n",
	       c->disk, c->id.name, c->at.disk_id, (uint64_t)c->at.size_bytes);
	fflush(stdout);
	if (c->ready) {
		int fd = open(c->ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);

		if (fd >= 0)
			close(fd);
	}
	return 0;
}

/* Detach (in-flight writes are recorded first), drain, report losses. */
static int capture_finish(struct capture *c)
{
	struct ferry_stats st;
	uint64_t end_seq;
	int ret, lost = 0;

	ret = ferry_dev_detach(&c->dev, c->at.disk_id);
	if (ret)
		fprintf(stderr, "ferryctl capture: detach %s: %s\n", c->disk,
			strerror(-ret));
	if (!ferry_dev_stats(&c->dev, c->at.disk_id, &st))
		lost = st.drops || (st.state & FERRY_DISK_RESYNC);
	if (!ret)
		ret = capture_drain(c);
	if (!ret && !c->started)
		ret = segment_start(c, c->dev.rd.hdr->next_seq);
	if (!ret)
		ret = segment_write(c, &end_seq);
	if (lost)
		fprintf(stderr, "ferryctl capture: %s: %" PRIu64 " writes (%" PRIu64
			" bytes) were not captured (ring full); the stream is incomplete\n",
			c->disk, (uint64_t)st.drops, (uint64_t)st.drop_bytes);
	if (c->dirty)
		fprintf(stderr, "ferryctl capture: %s: %" PRIu64
			" ranges failed or lack data; the stream is incomplete\n",
			c->disk, c->dirty);
	printf("ferryctl capture: %s: %" PRIu64 " records in %u segments\n",
	       c->disk, c->records, c->segments);
	return ret ? ret : (lost || c->dirty) ? -ENODATA : 0;
}

static int capture_loop(struct capture *c)
{
	uint64_t deadline = c->seconds ? now_ns() + c->seconds * 1000000000ull : 0;
	int ret;

	while (!stop) {
		if (c->max_records && c->records >= c->max_records)
			break;
		if (deadline && now_ns() >= deadline)
			break;
		ret = ferry_dev_wait(&c->dev, 200);
		if (ret < 0 && ret != -EINTR)
			return ret;
		ret = capture_drain(c);
		if (ret)
			return ret;
	}
	return 0;
}

int cmd_capture(int argc, char **argv)
{
	struct capture c = { .dev.fd = -1 };
	int ret;

	if (capture_args(&c, argc, argv))
		return capture_usage();
	c.buf = mmap(NULL, c.seg_bytes, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c.buf == MAP_FAILED) {
		fprintf(stderr, "ferryctl capture: %" PRIu64 " bytes of segment buffer: %s\n",
			c.seg_bytes, strerror(errno));
		return FERRYCTL_EXIT_ERROR;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (getrandom(c.info.machine_id, sizeof(c.info.machine_id), 0) < 0)
		memset(c.info.machine_id, 0x5a, sizeof(c.info.machine_id));

	ret = capture_open(&c);
	if (!ret)
		ret = capture_attach(&c);
	if (!ret) {
		int loop = capture_loop(&c);

		ret = capture_finish(&c);
		ret = loop ? loop : ret;
	}
	ferry_dev_close(&c.dev);
	munmap(c.buf, c.seg_bytes);
	return ret ? FERRYCTL_EXIT_ERROR : FERRYCTL_EXIT_OK;
}
