// SPDX-License-Identifier: GPL-2.0
/* Helpers of the hash-compare integration tests; see hashcmp_replica.h. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ferry/hrl.h>
#include <ferry/ps_auth.h>

#include "hashcmp_replica.h"

#define MIB		(1ull << 20)
#define SEG_DATA	(8 * MIB)	/* image bytes per segment */

struct ps_client *hc_register(struct t_server *srv, char *state_dir,
			      size_t len)
{
	char err[PS_ERR_LEN], pfile[600], pass[PS_PASSPHRASE_MAX];
	const char *argv[] = { t_bin("ferry-ps"), "passphrase", "--data",
			       srv->data, NULL };
	struct ps_client_conf cc = { 0 };
	struct ps_client *pc;

	snprintf(pfile, sizeof(pfile), "%s/pass", t_scratch());
	CHECK(t_run(argv, pfile) == 0, "ferry-ps passphrase");
	CHECK(ps_passphrase_read(pfile, pass, sizeof(pass), err,
				 sizeof(err)) == 0, "%s", err);
	snprintf(state_dir, len, "%s/state", t_scratch());
	mkdir(state_dir, 0700);
	CHECK(ps_register(srv->addr, pass, T_MACHINE, state_dir, err,
			  sizeof(err)) == 0, "%s", err);
	cc.server = srv->addr;
	cc.dir = state_dir;
	cc.machine_id = T_MACHINE;
	CHECK(ps_client_open(&cc, &pc, err, sizeof(err)) == 0, "%s", err);
	return pc;
}

static void seg_info(struct hrl_seg_info *info, uint64_t seq, uint64_t size,
		     uint32_t kid, const uint8_t uuid[16])
{
	int i;

	memset(info, 0, sizeof(*info));
	for (i = 0; i < 16; i++) {
		sscanf(T_MACHINE + 2 * i, "%2hhx", &info->machine_id[i]);
		info->segment_id[i] = (uint8_t)random();
	}
	info->created_ns = time(NULL) * 1000000000ull;
	info->start_seq = seq;
	info->nr_disks = 1;
	info->disks[0].id = kid;
	memcpy(info->disks[0].uuid, uuid, 16);
	info->disks[0].size_bytes = size;
	info->disks[0].lbs = 512;
}

uint64_t hc_upload_image(struct ps_client *pc, const uint8_t *img,
			 uint64_t size, uint32_t kid, const uint8_t uuid[16])
{
	size_t cap = SEG_DATA + 2 * MIB, bytes;
	uint8_t *buf = malloc(cap);
	char path[600], err[PS_ERR_LEN];
	uint64_t off = 0, seq = 1;
	struct hrl_seg_info info;
	struct hrl_seg_end e;
	struct hrl_writer w;
	struct ps_ack ack;
	int fd;

	CHECK(buf, "malloc");
	snprintf(path, sizeof(path), "%s/seg.hrl", t_scratch());
	while (off < size) {
		uint64_t seg_end = off + SEG_DATA < size ? off + SEG_DATA : size;

		seg_info(&info, seq, size, kid, uuid);
		CHECK(hrl_writer_init(&w, buf, cap, &info) == 0, "writer_init");
		while (off < seg_end) {
			uint64_t len = seg_end - off < MIB ? seg_end - off : MIB;
			struct hrl_rec r = {
				.seq = seq++, .kind = HRL_WRITE, .disk_id = kid,
				.offset = off, .len = len,
				.time_ns = info.created_ns,
			};

			CHECK(hrl_writer_add(&w, &r, img + off) == 0,
			      "hrl_writer_add at %" PRIu64, off);
			off += len;
		}
		CHECK(hrl_writer_finish(&w, &bytes, &e) == 0, "writer_finish");
		CHECK(t_write_file(path, buf, bytes) == 0, "write %s", path);
		fd = open(path, O_RDONLY);
		CHECK(fd >= 0, "open %s", path);
		CHECK(ps_client_upload(pc, fd, bytes, &ack, err,
				       sizeof(err)) == 0, "upload: %s", err);
		close(fd);
		seq = e.end_seq;
	}
	free(buf);
	return seq;
}

uint8_t *hc_image(uint64_t size)
{
	uint8_t *img = malloc(size);
	uint64_t i;

	CHECK(img, "malloc");
	for (i = 0; i < size; i += 8) {
		uint64_t v = i * 0x9e3779b97f4a7c15ull;

		memcpy(img + i, &v, 8);
	}
	memset(img + 8192, 0, 4096);		/* one zero block */
	return img;
}
