/* SPDX-License-Identifier: GPL-2.0 */
/* hrl tool: the subcommands and what they share. */
#ifndef FERRY_TOOLS_HRL_H
#define FERRY_TOOLS_HRL_H

#include <stdio.h>
#include <ferry/hrl.h>

int cmd_dump(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_apply(int argc, char **argv);

/* Print a command's help to f. */
void usage_cmd(FILE *f, const char *cmd);

/* "hrl: FILE: where: why" on stderr. */
void report_error(const char *file, const struct hrl_error *err);

/* Open a segment for reading; prints the error and returns -1. */
int open_segment(const char *file);

void hex16(char out[33], const uint8_t id[16]);
void format_time(char *buf, size_t len, uint64_t ns);

#endif
