// SPDX-License-Identifier: GPL-2.0
/*
 * ferry-test-blkops DEV OFFSET LEN COUNT SEED: COUNT random BLKDISCARD,
 * BLKZEROOUT and BLKSECDISCARD calls on 4 KiB-aligned ranges inside
 * [OFFSET, OFFSET + LEN) of DEV, one at a time, so that the capture tests
 * see discards and write-zeroes beside fio's writes.  An operation the
 * device does not support (EOPNOTSUPP) is counted and skipped; any other
 * error fails.  Prints what it did.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static const struct {
	const char *name;
	unsigned long req;
} ops[] = {
	{ "discard", BLKDISCARD },
	{ "zeroout", BLKZEROOUT },
	{ "secdiscard", BLKSECDISCARD },
};

int main(int argc, char **argv)
{
	uint64_t off, len, done[3] = { 0 }, unsup[3] = { 0 };
	unsigned long count, i;
	int fd;

	if (argc != 6) {
		fprintf(stderr, "usage: %s DEV OFFSET LEN COUNT SEED\n", argv[0]);
		return 2;
	}
	off = strtoull(argv[2], NULL, 0);
	len = strtoull(argv[3], NULL, 0);
	count = strtoul(argv[4], NULL, 0);
	srandom(strtoul(argv[5], NULL, 0));
	if (len < 4096 || off % 4096 || len % 4096) {
		fprintf(stderr, "%s: OFFSET and LEN must be 4 KiB multiples\n",
			argv[0]);
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "%s: %s: %s\n", argv[0], argv[1], strerror(errno));
		return 1;
	}
	for (i = 0; i < count; i++) {
		unsigned int op = random() % 8 < 4 ? 0 : random() % 8 < 7 ? 1 : 2;
		uint64_t blocks = len / 4096;
		uint64_t start = random() % blocks;
		uint64_t n = 1 + random() % (blocks - start < 256 ? blocks - start : 256);
		uint64_t range[2] = { off + start * 4096, n * 4096 };

		if (ioctl(fd, ops[op].req, range) == 0) {
			done[op]++;
		} else if (errno == EOPNOTSUPP) {
			unsup[op]++;
		} else {
			fprintf(stderr, "%s: %s %s at %" PRIu64 "+%" PRIu64 ": %s\n",
				argv[0], argv[1], ops[op].name, range[0], range[1],
				strerror(errno));
			return 1;
		}
	}
	close(fd);
	for (i = 0; i < 3; i++)
		printf("%s: %s %" PRIu64 " done, %" PRIu64 " not supported\n",
		       argv[1], ops[i].name, done[i], unsup[i]);
	return 0;
}
