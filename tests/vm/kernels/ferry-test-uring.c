// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-uring FILE: print what the running kernel's io_uring offers
 * and exercise, for real, the operations ferryd relies on:
 *
 *   POLL_ADD on a pipe   no completion while empty, POLLIN once written
 *   WRITE (O_DIRECT)     64 KiB into FILE, linked (IOSQE_IO_LINK) to
 *   FSYNC (DATASYNC)     of FILE, as ferryd makes spool data durable
 *   READ (O_DIRECT)      the data back, compared with what was written
 *
 * What the kernel offers and which setup flags are used is logged once by
 * ferry_uring_queue_init(), as ferryd does.
 * FILE should live on a real disk (O_DIRECT must reach the device).  Exit
 * 0 when everything worked, 1 on any failure, 77 when the kernel has no
 * io_uring at all.  The VM kernel matrix runs it on every kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ferry/uring_probe.h>

#define PROG	"ferry-test-uring"
#define BLK	4096
#define NBLK	16
enum { UD_WRITE, UD_FSYNC, UD_READ, UD_NR };

#define WANTED	(IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | \
		 IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | \
		 IORING_SETUP_CLAMP)

static int fail(const char *what, int err)
{
	fprintf(stderr, PROG ": %s: %s\n", what, strerror(err < 0 ? -err : err));
	return 1;
}

/* Submit what is queued and reap n completions into res[user_data]. */
static int submit_reap(struct io_uring *ring, int n, int *res)
{
	struct io_uring_cqe *cqe;
	int ret;

	ret = io_uring_submit(ring);
	if (ret < 0)
		return fail("submit", ret);
	while (n--) {
		ret = io_uring_wait_cqe(ring, &cqe);
		if (ret < 0)
			return fail("wait", ret);
		if (cqe->user_data < UD_NR)
			res[cqe->user_data] = cqe->res;
		io_uring_cqe_seen(ring, cqe);
	}
	return 0;
}

static int test_poll(struct io_uring *ring)
{
	struct __kernel_timespec ts = { .tv_nsec = 100 * 1000 * 1000 };
	struct io_uring_cqe *cqe;
	int p[2], ret, res = 0;

	if (pipe(p))
		return fail("pipe", errno);
	/* As ferryd's wait_ring(): arm, then submit and wait, bounded. */
	io_uring_prep_poll_add(io_uring_get_sqe(ring), p[0], POLLIN);
	/* liburing 2.3 returns the number submitted, later ones -ETIME. */
	ret = io_uring_submit_and_wait_timeout(ring, &cqe, 1, &ts, NULL);
	if (ret < 0 && ret != -ETIME)
		return fail("poll: submit and wait", ret);
	if (!io_uring_peek_cqe(ring, &cqe)) {
		fprintf(stderr, PROG ": poll: completed (%d) on an empty pipe\n",
			cqe->res);
		return 1;
	}
	if (write(p[1], "x", 1) != 1)
		return fail("pipe write", errno);
	ret = io_uring_wait_cqe(ring, &cqe);
	if (ret < 0)
		return fail("poll: wait", ret);
	res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	close(p[0]);
	close(p[1]);
	if (res < 0)
		return fail("poll", res);
	if (!(res & POLLIN)) {
		fprintf(stderr, PROG ": poll: revents %#x without POLLIN\n", res);
		return 1;
	}
	printf(PROG ": POLL_ADD on a pipe: ok\n");
	return 0;
}

static int test_direct(struct io_uring *ring, const char *path)
{
	struct io_uring_sqe *sqe;
	char *wbuf, *rbuf;
	int fd, res[UD_NR] = { 0 }, i, err = 1;

	if (posix_memalign((void **)&wbuf, BLK, BLK * NBLK) ||
	    posix_memalign((void **)&rbuf, BLK, BLK * NBLK))
		return fail("posix_memalign", ENOMEM);
	for (i = 0; i < BLK * NBLK; i++)
		wbuf[i] = (char)(i * 131 + i / BLK);
	memset(rbuf, 0, BLK * NBLK);

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_DIRECT, 0600);
	if (fd < 0) {
		fprintf(stderr, PROG ": %s: open O_DIRECT: %s\n", path,
			strerror(errno));
		goto out_free;
	}
	/* As ferryd's write_durable(): WRITE linked to FSYNC(DATASYNC). */
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_write(sqe, fd, wbuf, BLK * NBLK, 0);
	sqe->flags |= IOSQE_IO_LINK;
	sqe->user_data = UD_WRITE;
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
	sqe->user_data = UD_FSYNC;
	if (submit_reap(ring, 2, res))
		goto out_close;
	if (res[UD_WRITE] != BLK * NBLK) {
		fprintf(stderr, PROG ": %s: O_DIRECT write returned %d (%s)\n",
			path, res[UD_WRITE],
			res[UD_WRITE] < 0 ? strerror(-res[UD_WRITE]) : "short");
		goto out_close;
	}
	if (res[UD_FSYNC]) {
		fprintf(stderr, PROG ": %s: linked fdatasync: %s\n", path,
			strerror(-res[UD_FSYNC]));
		goto out_close;
	}
	sqe = io_uring_get_sqe(ring);
	io_uring_prep_read(sqe, fd, rbuf, BLK * NBLK, 0);
	sqe->user_data = UD_READ;
	if (submit_reap(ring, 1, res))
		goto out_close;
	if (res[UD_READ] != BLK * NBLK || memcmp(wbuf, rbuf, BLK * NBLK)) {
		fprintf(stderr, PROG ": %s: O_DIRECT read back %d bytes, %s\n",
			path, res[UD_READ], res[UD_READ] < 0 ?
			strerror(-res[UD_READ]) : "data differs");
		goto out_close;
	}
	printf(PROG ": O_DIRECT WRITE linked to FSYNC(DATASYNC), READ back, of %s: ok\n",
	       path);
	err = 0;
out_close:
	close(fd);
	unlink(path);
out_free:
	free(wbuf);
	free(rbuf);
	return err;
}

int main(int argc, char **argv)
{
	struct ferry_uring_caps caps;
	struct io_uring ring;
	char why[128], line[1024];
	uint32_t used;
	int ret;

	if (argc != 2) {
		fprintf(stderr, "usage: " PROG " FILE\n");
		return 2;
	}
	ret = ferry_uring_probe(&caps);
	if (ret == -ENOSYS) {
		printf(PROG ": skip: kernel built without io_uring\n");
		return 77;
	}
	if (ret < 0)
		return fail("io_uring_setup", ret);
	if (ferry_uring_check_required(&caps, why, sizeof(why))) {
		ferry_uring_describe(&caps, 0, line, sizeof(line));
		fprintf(stderr, PROG ": %s; kernel offers %s\n", why, line);
		return 1;
	}
	ret = ferry_uring_queue_init(&ring, 8, WANTED, &caps, PROG, &used);
	if (ret < 0)
		return fail("io_uring_queue_init", ret);
	ret = test_poll(&ring) || test_direct(&ring, argv[1]);
	io_uring_queue_exit(&ring);
	return ret;
}
