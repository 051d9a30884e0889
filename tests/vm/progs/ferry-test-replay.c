// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-replay IMAGE SEGMENT...: apply .hrl segments, in order, to one
 * disk image with the library's verified apply (every segment is checked
 * completely before anything of it is written).  The capture scenarios run
 * it on the host over the attach-time copy of a disk; the result must equal
 * the source.  Exits 1 naming the segment, record and reason on any error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <ferry/hrl.h>

static int image_fd(void *ctx, uint32_t disk_id)
{
	(void)disk_id;
	return *(int *)ctx;
}

static void dirty(void *ctx, const struct hrl_rec *rec)
{
	(void)ctx;
	fprintf(stderr, "ferry-test-replay: record seq %" PRIu64
		": range %" PRIu64 "+%u has no data\n", rec->seq, rec->offset,
		rec->len);
}

int main(int argc, char **argv)
{
	struct hrl_apply a = { .image_fd = image_fd, .dirty = dirty };
	struct hrl_error err;
	char buf[256];
	int img, i;

	if (argc < 3) {
		fprintf(stderr, "usage: %s IMAGE SEGMENT...\n", argv[0]);
		return 2;
	}
	img = open(argv[1], O_RDWR);
	if (img < 0) {
		fprintf(stderr, "ferry-test-replay: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	a.ctx = &img;
	for (i = 2; i < argc; i++) {
		int fd = open(argv[i], O_RDONLY);
		int ret;

		if (fd < 0) {
			fprintf(stderr, "ferry-test-replay: %s: %s\n", argv[i],
				strerror(errno));
			return 1;
		}
		memset(&err, 0, sizeof(err));
		ret = hrl_apply_fd(&a, fd, &err);
		close(fd);
		if (ret) {
			fprintf(stderr, "ferry-test-replay: %s: %s\n", argv[i],
				err.reason[0] ? hrl_strerror(&err, buf, sizeof(buf)) :
				strerror(-ret));
			return 1;
		}
	}
	if (fsync(img)) {
		perror("ferry-test-replay: fsync");
		return 1;
	}
	printf("ferry-test-replay: %" PRIu64 " records applied, %" PRIu64
	       " skipped, %" PRIu64 " bytes, %" PRIu64 " ranges without data\n",
	       a.applied, a.skipped, a.bytes, a.dirtied);
	return a.dirtied ? 1 : 0;
}
