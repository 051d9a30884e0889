// SPDX-License-Identifier: GPL-2.0
/* hrl dump and hrl stat: read segments and print what they hold. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "hrl.h"

/* Per-segment summary, filled while reading. */
struct seg_stat {
	const char *file;
	struct hrl_seg_info info;
	struct hrl_seg_end end;
	uint64_t kind_records[HRL_KIND_MAX + 1];
	uint64_t kind_bytes[HRL_KIND_MAX + 1];	/* bytes on disk (len) */
	bool ok;
};

struct walk {
	bool json;
	bool print;		/* dump: print every record */
	bool first_rec;
	struct seg_stat st;
};

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void print_flags(unsigned int flags, bool json)
{
	const char *sep = json ? "\"" : "";

	if (json)
		printf(", \"flags\": [");
	if (flags & HRL_REC_FUA)
		printf("%s%sfua%s", json ? "" : " ", sep, sep);
	if (flags & HRL_REC_PREFLUSH)
		printf("%s%spreflush%s", json ? (flags & HRL_REC_FUA ? ", " : "") : " ",
		       sep, sep);
	if (json)
		printf("]");
}

static void print_header(const char *file, const struct hrl_seg_info *info,
			 bool json)
{
	char mid[33], sid[33], when[64], uuid[33];
	uint32_t i;

	hex16(mid, info->machine_id);
	hex16(sid, info->segment_id);
	format_time(when, sizeof(when), info->created_ns);
	if (!json) {
		printf("%s: segment %s machine %s\n", file, sid, mid);
		printf("  created %s start_seq %llu%s disks", when,
		       (unsigned long long)info->start_seq,
		       info->flags & HRL_SEG_RESYNC ? " resync" : "");
		for (i = 0; i < info->nr_disks; i++)
			printf(" %u", info->disks[i].id);
		printf("\n");
		return;
	}
	printf("\"machine_id\": \"%s\", \"segment_id\": \"%s\", \"created_ns\": %llu, "
	       "\"created\": \"%s\", \"start_seq\": %llu, \"resync\": %s, \"disks\": [",
	       mid, sid, (unsigned long long)info->created_ns, when,
	       (unsigned long long)info->start_seq,
	       info->flags & HRL_SEG_RESYNC ? "true" : "false");
	for (i = 0; i < info->nr_disks; i++) {
		hex16(uuid, info->disks[i].uuid);
		printf("%s{\"id\": %u, \"uuid\": \"%s\", \"size_bytes\": %llu, \"lbs\": %u}",
		       i ? ", " : "", info->disks[i].id, uuid,
		       (unsigned long long)info->disks[i].size_bytes,
		       info->disks[i].lbs);
	}
	printf("], \"records\": [");
}

static void print_tag(const struct hrl_rec *rec, const void *payload, bool json)
{
	struct hrl_tag tag;

	if (rec->kind != HRL_TAG || hrl_tag_decode(payload, rec->payload_len, &tag))
		return;
	if (json) {
		printf(", \"tag\": {\"id\": %llu, \"time_ns\": %llu, \"name\": ",
		       (unsigned long long)tag.id, (unsigned long long)tag.time_ns);
		json_str(tag.name);
		printf("}");
	} else {
		printf(" tag %llu '%s'", (unsigned long long)tag.id, tag.name);
	}
}

static void print_record(struct walk *w, const struct hrl_rec *rec,
			 const void *payload)
{
	if (!w->json) {
		printf("  #%llu @%llu seq %llu %s", (unsigned long long)rec->index,
		       (unsigned long long)rec->seg_offset,
		       (unsigned long long)rec->seq, hrl_kind_name(rec->kind));
		if (rec->disk_id != HRL_DISK_ALL)
			printf(" disk %u", rec->disk_id);
		if (rec->len)
			printf(" offset %llu len %u", (unsigned long long)rec->offset,
			       rec->len);
		if (rec->payload_len)
			printf(" crc 0x%08x", rec->data_crc);
		print_flags(rec->flags, false);
		print_tag(rec, payload, false);
		printf("\n");
		return;
	}
	printf("%s\n    {\"index\": %llu, \"at\": %llu, \"kind\": \"%s\", \"seq\": %llu, "
	       "\"disk\": %lld, \"offset\": %llu, \"len\": %u, \"time_ns\": %llu, "
	       "\"payload_len\": %u, \"data_crc\": %u",
	       w->first_rec ? "" : ",", (unsigned long long)rec->index,
	       (unsigned long long)rec->seg_offset, hrl_kind_name(rec->kind),
	       (unsigned long long)rec->seq,
	       rec->disk_id == HRL_DISK_ALL ? -1LL : (long long)rec->disk_id,
	       (unsigned long long)rec->offset, rec->len,
	       (unsigned long long)rec->time_ns, rec->payload_len, rec->data_crc);
	print_flags(rec->flags, true);
	print_tag(rec, payload, true);
	printf("}");
	w->first_rec = false;
}

static void print_end(const struct hrl_seg_end *e, bool json)
{
	if (json) {
		printf("], \"end\": {\"records\": %llu, \"first_seq\": %llu, "
		       "\"end_seq\": %llu, \"seg_bytes\": %llu, \"payload_bytes\": %llu}",
		       (unsigned long long)e->records,
		       (unsigned long long)e->first_seq,
		       (unsigned long long)e->end_seq,
		       (unsigned long long)e->seg_bytes,
		       (unsigned long long)e->payload_bytes);
		return;
	}
	printf("  end: %llu records, seq [%llu, %llu), %llu bytes, %llu payload\n",
	       (unsigned long long)e->records, (unsigned long long)e->first_seq,
	       (unsigned long long)e->end_seq, (unsigned long long)e->seg_bytes,
	       (unsigned long long)e->payload_bytes);
}

/* The file must end where the segment does. */
static int check_size(int fd, uint64_t consumed, struct hrl_error *err)
{
	struct stat st;

	if (fstat(fd, &st) || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size == consumed)
		return 0;
	err->code = -EBADMSG;
	err->offset = consumed;
	err->record = -1;
	snprintf(err->reason, sizeof(err->reason),
		 "%llu bytes of data after the end of the segment",
		 (unsigned long long)(st.st_size - consumed));
	return -EBADMSG;
}

/* Read one segment, printing and counting as w says.  0 or -errno. */
static int walk_segment(struct walk *w, const char *file)
{
	struct hrl_reader r;
	struct hrl_rec rec;
	struct hrl_error err;
	const void *payload;
	bool header = false;
	int fd, ret;

	memset(&w->st, 0, sizeof(w->st));
	w->st.file = file;
	w->first_rec = true;
	fd = open_segment(file);
	if (fd < 0)
		return -EIO;
	if (hrl_reader_init_fd(&r, fd)) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ret = hrl_reader_next(&r, &rec, &payload);
		if (!header && hrl_reader_info(&r) && w->print)
			print_header(file, hrl_reader_info(&r), w->json);
		header = hrl_reader_info(&r) != NULL;
		if (ret != HRL_NEXT_RECORD)
			break;
		w->st.kind_records[rec.kind]++;
		w->st.kind_bytes[rec.kind] += rec.len;
		if (w->print)
			print_record(w, &rec, payload);
	}
	if (ret == HRL_NEXT_END)
		ret = check_size(fd, hrl_reader_consumed(&r), &err);
	else
		err = *hrl_reader_error(&r);
	if (!ret) {
		w->st.info = *hrl_reader_info(&r);
		w->st.end = *hrl_reader_end(&r);
		w->st.ok = true;
		if (w->print)
			print_end(&w->st.end, w->json);
	} else {
		char msg[256];

		if (w->json && w->print) {
			if (!hrl_reader_info(&r))
				printf("\"records\": [");
			printf("], \"error\": ");
			json_str(hrl_strerror(&err, msg, sizeof(msg)));
		}
		report_error(file, &err);
	}
	hrl_reader_free(&r);
	close(fd);
	return ret;
}

static int parse_json_opt(int argc, char **argv, const char *cmd, bool *json)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		if (c == 'j') {
			*json = true;
		} else if (c == 'h') {
			usage_cmd(stdout, cmd);
			exit(0);
		} else {
			usage_cmd(stderr, cmd);
			return -1;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "hrl %s: no segment given\n", cmd);
		return -1;
	}
	return optind;
}

int cmd_dump(int argc, char **argv)
{
	struct walk w = { .print = true };
	int i, first, status = 0;

	first = parse_json_opt(argc, argv, "dump", &w.json);
	if (first < 0)
		return 2;
	if (w.json)
		printf("[");
	for (i = first; i < argc; i++) {
		if (w.json) {
			printf("%s\n  {\"file\": ", i > first ? "," : "");
			json_str(argv[i]);
			printf(", ");
		}
		if (walk_segment(&w, argv[i]))
			status = 1;
		if (w.json)
			printf("}");
	}
	if (w.json)
		printf("\n]\n");
	return status;
}

static void print_stat(const struct seg_stat *s, bool json)
{
	uint64_t payload = s->end.payload_bytes, bytes = s->end.seg_bytes;
	unsigned int k;

	if (json) {
		printf("{\"file\": ");
		json_str(s->file);
		printf(", \"start_seq\": %llu, \"end_seq\": %llu, \"records\": %llu, "
		       "\"seg_bytes\": %llu, \"payload_bytes\": %llu, \"kinds\": {",
		       (unsigned long long)s->info.start_seq,
		       (unsigned long long)s->end.end_seq,
		       (unsigned long long)s->end.records,
		       (unsigned long long)bytes, (unsigned long long)payload);
		for (k = 1; k <= HRL_KIND_MAX; k++)
			printf("%s\"%s\": {\"records\": %llu, \"bytes\": %llu}",
			       k > 1 ? ", " : "", hrl_kind_name(k),
			       (unsigned long long)s->kind_records[k],
			       (unsigned long long)s->kind_bytes[k]);
		printf("}}");
		return;
	}
	printf("%s: seq [%llu, %llu), %llu records, %llu bytes, %llu payload (%.1f%% overhead)%s\n",
	       s->file, (unsigned long long)s->info.start_seq,
	       (unsigned long long)s->end.end_seq,
	       (unsigned long long)s->end.records, (unsigned long long)bytes,
	       (unsigned long long)payload,
	       payload ? 100.0 * (bytes - payload) / payload : 0.0,
	       s->info.flags & HRL_SEG_RESYNC ? ", resync" : "");
	for (k = 1; k <= HRL_KIND_MAX; k++)
		if (s->kind_records[k])
			printf("  %-12s %8llu records %12llu bytes\n", hrl_kind_name(k),
			       (unsigned long long)s->kind_records[k],
			       (unsigned long long)s->kind_bytes[k]);
}

static int by_start(const void *a, const void *b)
{
	const struct seg_stat *x = a, *y = b;

	return x->info.start_seq < y->info.start_seq ? -1 :
	       x->info.start_seq > y->info.start_seq;
}

/* Gaps and overlaps between consecutive segments of a set. */
static void print_set(struct seg_stat *s, int n)
{
	uint64_t records = 0, bytes = 0;
	int i, m = 0;

	for (i = 0; i < n; i++)
		if (s[i].ok)
			s[m++] = s[i];
	qsort(s, m, sizeof(*s), by_start);
	for (i = 0; i < m; i++) {
		records += s[i].end.records;
		bytes += s[i].end.seg_bytes;
		if (i && s[i].info.start_seq > s[i - 1].end.end_seq)
			printf("gap: seq [%llu, %llu) between %s and %s\n",
			       (unsigned long long)s[i - 1].end.end_seq,
			       (unsigned long long)s[i].info.start_seq,
			       s[i - 1].file, s[i].file);
		else if (i && s[i].info.start_seq < s[i - 1].end.end_seq)
			printf("overlap: %s starts at seq %llu, before %s ends (%llu)\n",
			       s[i].file, (unsigned long long)s[i].info.start_seq,
			       s[i - 1].file, (unsigned long long)s[i - 1].end.end_seq);
	}
	if (m)
		printf("total: %d segments, seq [%llu, %llu), %llu records, %llu bytes\n",
		       m, (unsigned long long)s[0].info.start_seq,
		       (unsigned long long)s[m - 1].end.end_seq,
		       (unsigned long long)records, (unsigned long long)bytes);
}

int cmd_stat(int argc, char **argv)
{
	struct walk w = { .print = false };
	struct seg_stat *all;
	bool json = false;
	int i, first, n = 0, printed = 0, status = 0;

	first = parse_json_opt(argc, argv, "stat", &json);
	if (first < 0)
		return 2;
	all = calloc(argc, sizeof(*all));
	if (!all)
		return 1;
	if (json)
		printf("[");
	for (i = first; i < argc; i++) {
		if (walk_segment(&w, argv[i]))
			status = 1;
		all[n++] = w.st;
		if (!w.st.ok)
			continue;
		if (json)
			printf("%s\n  ", printed ? "," : "");
		print_stat(&w.st, json);
		printed++;
	}
	if (json)
		printf("\n]\n");
	else if (n > 1)
		print_set(all, n);
	free(all);
	return status;
}
