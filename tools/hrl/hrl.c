// SPDX-License-Identifier: GPL-2.0
/*
 * hrl: inspect, verify and apply ferry .hrl change-log segments.
 *
 * One subcommand per job (dump, stat, verify, apply), each in its own
 * function; everything about the format comes from libferry's hrl_*.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "hrl.h"

static const char usage_main[] =
"Usage: hrl COMMAND [OPTION]... SEGMENT...\n"
"Inspect, verify and apply ferry .hrl change-log segments.\n"
"\n"
"Commands:\n"
"  dump [--json] SEGMENT...     print every record of each segment\n"
"  stat [--json] SEGMENT...     summarise each segment and the set\n"
"  verify [-q] SEGMENT...       check every checksum and rule\n"
"  apply [OPTION]... SEGMENT... IMAGE\n"
"  apply [OPTION]... --disk ID=IMAGE... SEGMENT...\n"
"                               write the changes into disk images\n"
"\n"
"A SEGMENT of '-' is standard input (dump, stat, verify).\n"
"'hrl COMMAND --help' describes a command.  The format is specified in\n"
"docs/hrl-format.md.\n"
"\n"
"Exit status: 0 success (segments valid), 1 a segment is corrupt, torn or\n"
"unreadable, or applying failed, 2 usage error.\n";

static const char usage_dump[] =
"Usage: hrl dump [--json] SEGMENT...\n"
"Print each segment's header, every record and the trailer, validating as it\n"
"reads; on a bad segment, print the records before the fault, then the\n"
"error.\n"
"\n"
"  --json    one JSON array, one object per segment: \"file\", header fields,\n"
"            \"records\" (index, at, kind, seq, disk, offset, len, flags,\n"
"            time_ns, payload_len, data_crc, and \"tag\" for tags), \"end\"\n"
"            (the trailer) or \"error\"\n"
"\n"
"Human output, one line per record:\n"
"  #INDEX @SEGMENT-OFFSET seq SEQ KIND disk ID offset OFF len LEN [flags]\n";

static const char usage_stat[] =
"Usage: hrl stat [--json] SEGMENT...\n"
"Summarise each segment (records and bytes per kind and per disk, sequence\n"
"range, size, overhead) and, for several segments, the whole set, noting gaps\n"
"and overlaps between consecutive segments (sorted by start sequence).\n";

static const char usage_verify[] =
"Usage: hrl verify [-q] SEGMENT...\n"
"Check every segment completely: header, every record header and payload\n"
"checksum, the ordering rules, the trailer and the whole-segment chain\n"
"checksum, zero padding, and that the file ends where the segment does.\n"
"Prints 'FILE: ok (...)' per valid segment, or on stderr\n"
"'hrl: FILE: record N at offset OFF: REASON'.\n"
"\n"
"  -q, --quiet   print only errors\n"
"\n"
"Exit status: 0 every segment valid, 1 one is corrupt, torn or unreadable.\n";

static const char usage_apply[] =
"Usage: hrl apply [OPTION]... SEGMENT... IMAGE\n"
"       hrl apply [OPTION]... --disk ID=IMAGE [--disk ID=IMAGE]... SEGMENT...\n"
"Apply segments to disk images (files or block devices) in sequence order:\n"
"segments are sorted by start sequence, each is verified completely before\n"
"any of it is written, records already applied are skipped, so applying a\n"
"set twice changes nothing.  Writes are written, discards and write-zeroes\n"
"make their range read as zeros (hole punched); resync chunks (resync,\n"
"resync-zero) are compared with the image 4 KiB block by block and only\n"
"differing blocks are written; resync chunks older than the images and\n"
"metadata-only ranges are reported as needing resync.  Images are created\n"
"if missing and synced at the end.\n"
"\n"
"The first form is for segments of a single disk: every record must name\n"
"the same disk.  The second maps disk ids to images; a record of an\n"
"unmapped disk is an error.\n"
"\n"
"  --disk ID=IMAGE  apply the records of disk ID to IMAGE\n"
"  --pos SEQ        the images already hold every change before SEQ\n"
"                   (default: the first segment's start sequence).  The\n"
"                   position is not stored between runs: to continue a\n"
"                   replica, pass the 'position' the last run printed\n"
"  --allow-gap      accept a segment that starts after the position\n"
"  --write-zeros    write zeros instead of punching holes\n"
"  -q, --quiet      print only errors and resync warnings\n";

void usage_cmd(FILE *f, const char *cmd)
{
	if (!strcmp(cmd, "dump"))
		fputs(usage_dump, f);
	else if (!strcmp(cmd, "stat"))
		fputs(usage_stat, f);
	else if (!strcmp(cmd, "verify"))
		fputs(usage_verify, f);
	else if (!strcmp(cmd, "apply"))
		fputs(usage_apply, f);
	else
		fputs(usage_main, f);
}

void report_error(const char *file, const struct hrl_error *err)
{
	char msg[256];

	fprintf(stderr, "hrl: %s: %s\n", file, hrl_strerror(err, msg, sizeof(msg)));
}

int open_segment(const char *file)
{
	int fd = strcmp(file, "-") ? open(file, O_RDONLY | O_CLOEXEC) :
		 fcntl(STDIN_FILENO, F_DUPFD_CLOEXEC, 0);

	if (fd < 0)
		fprintf(stderr, "hrl: %s: %s\n", file, strerror(errno));
	return fd;
}

void hex16(char out[33], const uint8_t id[16])
{
	int i;

	for (i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
}

void format_time(char *buf, size_t len, uint64_t ns)
{
	time_t s = ns / 1000000000;
	struct tm tm;

	if (!gmtime_r(&s, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm))
		snprintf(buf, len, "?");
	else
		snprintf(buf + strlen(buf), len - strlen(buf), ".%09lluZ",
			 (unsigned long long)(ns % 1000000000));
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "dump", cmd_dump },
		{ "stat", cmd_stat },
		{ "verify", cmd_verify },
		{ "apply", cmd_apply },
	};
	size_t i;

	if (argc < 2) {
		fputs(usage_main, stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		if (argc > 2)
			usage_cmd(stdout, argv[2]);
		else
			fputs(usage_main, stdout);
		return 0;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "hrl: unknown command '%s'; see 'hrl --help'\n", argv[1]);
	return 2;
}
