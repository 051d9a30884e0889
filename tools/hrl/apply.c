// SPDX-License-Identifier: GPL-2.0
/* hrl verify and hrl apply. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "hrl.h"

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct hrl_seg_end end;
	struct hrl_error err;
	bool quiet = false;
	int c, i, fd, status = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		if (c == 'q') {
			quiet = true;
		} else if (c == 'h') {
			usage_cmd(stdout, "verify");
			return 0;
		} else {
			usage_cmd(stderr, "verify");
			return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "hrl verify: no segment given\n");
		return 2;
	}
	for (i = optind; i < argc; i++) {
		fd = open_segment(argv[i]);
		if (fd < 0) {
			status = 1;
			continue;
		}
		if (hrl_verify_fd(fd, NULL, &end, &err)) {
			report_error(argv[i], &err);
			status = 1;
		} else if (!quiet) {
			printf("%s: ok (%llu records, seq [%llu, %llu), %llu bytes)\n",
			       argv[i], (unsigned long long)end.records,
			       (unsigned long long)end.first_seq,
			       (unsigned long long)end.end_seq,
			       (unsigned long long)end.seg_bytes);
		}
		close(fd);
	}
	return status;
}

/* disk id -> image; id HRL_DISK_ALL is the single-disk form's image. */
struct image {
	uint32_t id;
	const char *path;
	int fd;
};

struct apply_ctx {
	struct image img[HRL_MAX_DISKS];
	int n;
	bool single;		/* first form: one image, one disk */
	bool single_bound;
	uint32_t single_id;
	const char *seg;	/* segment being applied, for messages */
};

struct seg_file {
	const char *path;
	uint64_t start_seq;
	int fd;
};

static int image_open(struct image *im)
{
	if (im->fd < 0) {
		im->fd = open(im->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
		if (im->fd < 0) {
			fprintf(stderr, "hrl: %s: %s\n", im->path, strerror(errno));
			return -EIO;
		}
	}
	return im->fd;
}

static int image_fd(void *ctx, uint32_t disk_id)
{
	struct apply_ctx *a = ctx;
	int i;

	if (a->single) {
		if (a->single_bound && disk_id != a->single_id) {
			fprintf(stderr, "hrl: %s: records of disks %u and %u; "
				"map each with --disk ID=IMAGE\n", a->seg,
				a->single_id, disk_id);
			return -EINVAL;
		}
		a->single_bound = true;
		a->single_id = disk_id;
		return image_open(&a->img[0]);
	}
	for (i = 0; i < a->n; i++)
		if (a->img[i].id == disk_id)
			return image_open(&a->img[i]);
	fprintf(stderr, "hrl: %s: no image for disk %u; add --disk %u=IMAGE\n",
		a->seg, disk_id, disk_id);
	return -ENOENT;
}

static void on_dirty(void *ctx, const struct hrl_rec *rec)
{
	struct apply_ctx *a = ctx;

	fprintf(stderr, "hrl: %s: record %llu: disk %u bytes %llu+%u %s: needs resync\n",
		a->seg, (unsigned long long)rec->index, rec->disk_id,
		(unsigned long long)rec->offset, rec->len,
		rec->kind == HRL_METADATA ? "changed but not captured" :
		"resync chunk older than the images");
}

static int parse_disk(struct apply_ctx *a, const char *arg)
{
	char *end;
	unsigned long id = strtoul(arg, &end, 10);

	if (end == arg || *end != '=' || !end[1] || id >= HRL_DISK_ALL) {
		fprintf(stderr, "hrl apply: --disk %s: expected ID=IMAGE\n", arg);
		return -1;
	}
	if (a->n == HRL_MAX_DISKS) {
		fprintf(stderr, "hrl apply: at most %u --disk options\n", HRL_MAX_DISKS);
		return -1;
	}
	a->img[a->n].id = id;
	a->img[a->n].path = end + 1;
	a->img[a->n].fd = -1;
	a->n++;
	return 0;
}

static int by_start(const void *x, const void *y)
{
	const struct seg_file *a = x, *b = y;

	return a->start_seq < b->start_seq ? -1 : a->start_seq > b->start_seq;
}

/*
 * The single-image form: every data record of every segment must name the
 * same disk, checked before anything is written.  0, or -1 with a message.
 */
static int check_one_disk(struct apply_ctx *a, struct seg_file *s)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	const void *payload;
	int ret = 0;

	if (lseek(s->fd, 0, SEEK_SET) || hrl_reader_init_fd(&r, s->fd))
		return -1;
	while (!ret && hrl_reader_next(&r, &rec, &payload) == HRL_NEXT_RECORD) {
		if (rec.disk_id == HRL_DISK_ALL || rec.kind == HRL_FLUSH)
			continue;
		if (a->single_bound && rec.disk_id != a->single_id) {
			fprintf(stderr, "hrl: %s: record %llu is for disk %u, "
				"others for disk %u: map each with --disk ID=IMAGE\n",
				s->path, (unsigned long long)rec.index,
				rec.disk_id, a->single_id);
			ret = -1;
		}
		a->single_bound = true;
		a->single_id = rec.disk_id;
	}
	hrl_reader_free(&r);
	return ret;
}

/* Open and verify every segment, sorted by start_seq.  -1 on any error. */
static int load_segments(struct apply_ctx *a, struct seg_file *s,
			 char **paths, int n)
{
	struct hrl_seg_info info;
	struct hrl_error err;
	int i, status = 0;

	for (i = 0; i < n; i++) {
		s[i].path = paths[i];
		s[i].fd = open_segment(paths[i]);
		if (s[i].fd < 0) {
			status = -1;
			continue;
		}
		if (hrl_verify_fd(s[i].fd, &info, NULL, &err)) {
			report_error(paths[i], &err);
			status = -1;
			continue;
		}
		s[i].start_seq = info.start_seq;
		if (a->single && check_one_disk(a, &s[i]))
			status = -1;
	}
	qsort(s, n, sizeof(*s), by_start);
	return status;
}

struct apply_opts {
	struct hrl_apply ha;
	bool quiet;
};

static int parse_apply(int argc, char **argv, struct apply_ctx *a,
		       struct apply_opts *o)
{
	static const struct option opts[] = {
		{ "disk", required_argument, NULL, 'd' },
		{ "pos", required_argument, NULL, 'p' },
		{ "allow-gap", no_argument, NULL, 'g' },
		{ "write-zeros", no_argument, NULL, 'z' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	char *end;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (parse_disk(a, optarg))
				return -1;
			break;
		case 'p':
			o->ha.pos = strtoull(optarg, &end, 10);
			if (end == optarg || *end) {
				fprintf(stderr, "hrl apply: --pos %s: not a number\n", optarg);
				return -1;
			}
			o->ha.have_pos = true;
			break;
		case 'g':
			o->ha.flags |= HRL_APPLY_ALLOW_GAP;
			break;
		case 'z':
			o->ha.flags |= HRL_APPLY_WRITE_ZEROS;
			break;
		case 'q':
			o->quiet = true;
			break;
		case 'h':
			usage_cmd(stdout, "apply");
			exit(0);
		default:
			usage_cmd(stderr, "apply");
			return -1;
		}
	}
	if (!a->n) {
		if (argc - optind < 2) {
			fprintf(stderr, "hrl apply: need SEGMENT... IMAGE (or --disk ID=IMAGE)\n");
			return -1;
		}
		a->single = true;
		a->img[0].path = argv[--argc];
		a->img[0].fd = -1;
		a->n = 1;
	} else if (optind >= argc) {
		fprintf(stderr, "hrl apply: no segment given\n");
		return -1;
	}
	return argc;
}

/* Sync and close every image; -1 if one fails. */
static int images_close(struct apply_ctx *a)
{
	int i, status = 0;

	for (i = 0; i < a->n; i++) {
		if (a->img[i].fd < 0)
			continue;
		if (fdatasync(a->img[i].fd) && errno != EINVAL) {
			fprintf(stderr, "hrl: %s: sync: %s\n", a->img[i].path, strerror(errno));
			status = -1;
		}
		close(a->img[i].fd);
	}
	return status;
}

static void print_summary(const struct hrl_apply *ha)
{
	printf("applied %llu records (%llu bytes), skipped %llu already applied, "
	       "%llu ranges need resync; position %llu\n",
	       (unsigned long long)ha->applied, (unsigned long long)ha->bytes,
	       (unsigned long long)ha->skipped, (unsigned long long)ha->dirtied,
	       (unsigned long long)ha->pos);
	if (ha->resync_bytes)
		printf("resync: %llu bytes received (%llu data, %llu zero "
		       "ranges), %llu bytes in blocks that differed\n",
		       (unsigned long long)ha->resync_bytes,
		       (unsigned long long)ha->resync_data_bytes,
		       (unsigned long long)ha->resync_zero_bytes,
		       (unsigned long long)ha->resync_diff_bytes);
	if (ha->tags)
		printf("last consistency tag: %llu '%s' at seq %llu\n",
		       (unsigned long long)ha->last_tag.id, ha->last_tag.name,
		       (unsigned long long)ha->last_tag_seq);
}

int cmd_apply(int argc, char **argv)
{
	static struct apply_ctx a;
	struct apply_opts o = { 0 };
	struct seg_file *segs;
	struct hrl_error err;
	int i, n, status = 0;

	argc = parse_apply(argc, argv, &a, &o);
	if (argc < 0)
		return 2;
	n = argc - optind;
	segs = calloc(n, sizeof(*segs));
	if (!segs)
		return 1;
	o.ha.image_fd = image_fd;
	o.ha.dirty = on_dirty;
	o.ha.ctx = &a;
	if (load_segments(&a, segs, argv + optind, n))
		status = 1;
	for (i = 0; i < n && !status; i++) {
		a.seg = segs[i].path;
		if (hrl_apply_fd(&o.ha, segs[i].fd, &err)) {
			report_error(segs[i].path, &err);
			status = 1;
		}
	}
	for (i = 0; i < n; i++)
		if (segs[i].fd >= 0)
			close(segs[i].fd);
	if (images_close(&a))
		status = 1;
	if (!o.quiet && !status)
		print_summary(&o.ha);
	free(segs);
	return status;
}
