/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers for the ferry-ps integration tests: a real ferry-ps process on
 * 127.0.0.1 with an ephemeral port, scratch directories, and .hrl segments
 * built with the hrl writer together with the image they should produce.
 */
#ifndef FERRY_TEST_PS_HARNESS_H
#define FERRY_TEST_PS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define T_MACHINE	"00112233445566778899aabbccddeeff"
#define T_DISK_ID	7
#define T_DISK_NAME	"disk7"
#define T_DISK_SIZE	(1u << 20)

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
		fprintf(stderr, __VA_ARGS__);				\
		fputc('\n', stderr);					\
		exit(1);						\
	}								\
} while (0)

struct t_server {
	pid_t pid;
	int port;
	char addr[64];		/* "127.0.0.1:PORT" */
	char data[512];
	char log[600];
	const char *extra[2];	/* extra options, e.g. "--point-interval=0" */
};

/* Scratch directory for this test run, removed by t_cleanup(). */
const char *t_scratch(void);
void t_cleanup(void);
/* Path of a program next to this test binary. */
const char *t_bin(const char *name);

void t_server_start(struct t_server *s);
void t_server_kill(struct t_server *s);
/* Run ferry-ps with args (NULL-terminated); its exit status. */
int t_run(const char *const *argv, const char *out_path);

/* A segment of nrec 4 KiB writes from start, optionally ending with a
 * tag; the writes are also applied to img (T_DISK_SIZE bytes). */
size_t t_segment(uint8_t *buf, size_t cap, uint64_t start, int nrec,
		 const char *tag, uint8_t *img, uint64_t *end);

/*
 * Start s (s->data set), register T_MACHINE with it into the scratch
 * directory 'name' and open a client with those credentials.
 */
struct ps_client;
struct ps_client *t_server_register(struct t_server *s, const char *name);
/* Another client with the credentials t_server_register() put in 'name'. */
struct ps_client *t_client(const struct t_server *s, const char *name);

int t_write_file(const char *path, const void *buf, size_t len);
/* ps_resync.c: the resync window and accounting, on a server of its own. */
void t_resync_window(void);
/* Read a whole file into buf (at most cap); its length or -1. */
ssize_t t_read_file(const char *path, void *buf, size_t cap);

#endif
