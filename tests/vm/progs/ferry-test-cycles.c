// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-cycles cycles DISK N: attach DISK, let writes be captured for
 *   a moment, detach; N times, draining and checking every record (disk
 *   id, payload crc, seq strictly increasing) and consuming as it goes.
 *   Afterwards no disk is attached and the ring is torn down.
 * ferry-test-cycles gone DISK REMOVE: attach DISK, write "1" into REMOVE
 *   (a sysfs 'remove' file that unplugs the device), wait until ferry
 *   reports the disk FERRY_DISK_GONE, then detach it.
 * ferry-test-cycles drain DISK SECONDS: attach DISK and consume whatever
 *   arrives (checking nothing but the headers) for SECONDS or until
 *   SIGTERM/SIGINT, detach, print records and drops: the consumer beside
 *   the benchmark's fio.
 * Exit 0 on success, 1 naming the failed step.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ferry/ring.h>

static uint64_t last_seq, records;

static int fail(const char *what, int err)
{
	fprintf(stderr, "ferry-test-cycles: %s%s%s\n", what, err ? ": " : "",
		err ? strerror(-err) : "");
	return 1;
}

static int drain(struct ferry_dev *d)
{
	const struct ferry_rec *r;
	int ret;

	while ((ret = ring_reader_next(&d->rd, &r)) > 0) {
		if (ring_rec_verify(r))
			return -EBADMSG;
		if (r->seq <= last_seq)
			return -EILSEQ;
		last_seq = r->seq;
		records++;
	}
	return ret < 0 ? ret : ferry_dev_consume(d, ring_reader_pos(&d->rd));
}

static int cycles(struct ferry_dev *d, dev_t dev, int n)
{
	struct ferry_attach at;
	int i, ret;

	for (i = 0; i < n; i++) {
		ret = ferry_dev_attach(d, dev, &at);
		if (ret)
			return fail("attach", ret);
		usleep(20000 + (i % 5) * 10000);
		ret = drain(d);
		if (ret)
			return fail("drain while attached", ret);
		ret = ferry_dev_detach(d, at.disk_id);
		if (ret)
			return fail("detach", ret);
		ret = drain(d);
		if (ret)
			return fail("drain after detach", ret);
	}
	if (ferry_dev_list(d, NULL, 0) != 0)
		return fail("disks still attached after the cycles", 0);
	printf("ferry-test-cycles: %d attach/detach cycles, %" PRIu64
	       " records checked\n", n, records);
	return 0;
}

static int gone(struct ferry_dev *d, dev_t dev, const char *remove)
{
	struct ferry_attach at;
	struct ferry_stats st;
	int i, fd, ret;

	ret = ferry_dev_attach(d, dev, &at);
	if (ret)
		return fail("attach", ret);
	fd = open(remove, O_WRONLY);
	if (fd < 0 || write(fd, "1", 1) != 1)
		return fail("cannot remove the device", -errno);
	close(fd);
	for (i = 0; i < 100; i++) {
		ret = ferry_dev_stats(d, at.disk_id, &st);
		if (ret)
			return fail("stats", ret);
		if (st.state & FERRY_DISK_GONE)
			break;
		usleep(100000);
	}
	if (!(st.state & FERRY_DISK_GONE) || (st.state & FERRY_DISK_ATTACHED))
		return fail("the removed disk is not reported gone", 0);
	ret = drain(d);
	if (ret)
		return fail("drain", ret);
	ret = ferry_dev_detach(d, at.disk_id);
	if (ret)
		return fail("detach of the removed disk", ret);
	printf("ferry-test-cycles: removed disk reported gone (state %#x) and detached\n",
	       st.state);
	return 0;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int drain_only(struct ferry_dev *d, dev_t dev, int seconds)
{
	time_t end = time(NULL) + seconds;
	const struct ferry_rec *r;
	struct ferry_attach at;
	struct ferry_stats st;
	int ret;

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	ret = ferry_dev_attach(d, dev, &at);
	if (ret)
		return fail("attach", ret);
	while (!stop && time(NULL) < end) {
		ferry_dev_wait(d, 100);
		while ((ret = ring_reader_next(&d->rd, &r)) > 0)
			records++;
		if (ret < 0 || (ret = ferry_dev_consume(d, ring_reader_pos(&d->rd))))
			return fail("drain", ret);
	}
	ret = ferry_dev_stats(d, at.disk_id, &st);
	if (!ret)
		ret = ferry_dev_detach(d, at.disk_id);
	if (ret)
		return fail("detach", ret);
	while (ring_reader_next(&d->rd, &r) > 0)
		records++;
	ferry_dev_consume(d, ring_reader_pos(&d->rd));
	printf("ferry-test-cycles: drained %" PRIu64 " records, %" PRIu64
	       " bytes, %" PRIu64 " drops\n", records, (uint64_t)st.bytes,
	       (uint64_t)st.drops);
	return 0;
}

int main(int argc, char **argv)
{
	struct ferry_dev d;
	struct stat sb;
	int ret;

	if (argc != 4 || stat(argv[2], &sb) || !S_ISBLK(sb.st_mode)) {
		fprintf(stderr, "usage: ferry-test-cycles cycles DISK N | gone DISK REMOVE | drain DISK SECONDS\n");
		return 2;
	}
	ret = ferry_dev_open(&d, NULL, strcmp(argv[1], "drain") ? 4 << 20 : 0);
	if (ret)
		return fail("open /dev/ferry", ret);
	if (!strcmp(argv[1], "cycles"))
		ret = cycles(&d, sb.st_rdev, atoi(argv[3]));
	else if (!strcmp(argv[1], "drain"))
		ret = drain_only(&d, sb.st_rdev, atoi(argv[3]));
	else
		ret = gone(&d, sb.st_rdev, argv[3]);
	munmap(d.map, d.map_len);
	d.map = NULL;
	if (!ret && ioctl(d.fd, FERRY_IOC_RING_TEARDOWN))
		ret = fail("teardown", -errno);
	ferry_dev_close(&d);
	return ret;
}
