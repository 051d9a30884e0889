// SPDX-License-Identifier: GPL-2.0
/* Helpers for the ferry-ps integration tests; see ps_harness.h. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>
#include <ferry/hrl.h>
#include <ferry/ps_auth.h>
#include <ferry/ps_client.h>

#include "ps_harness.h"

static char scratch[256];

const char *t_scratch(void)
{
	if (!scratch[0]) {
		snprintf(scratch, sizeof(scratch), "/tmp/integ-ps.XXXXXX");
		CHECK(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
	}
	return scratch;
}

static int rm_one(const char *p, const struct stat *sb, int flag,
		  struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	remove(p);
	return 0;
}

void t_cleanup(void)
{
	if (getenv("FERRY_KEEP")) {
		fprintf(stderr, "kept %s\n", scratch);
		return;
	}
	if (scratch[0])
		nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

const char *t_bin(const char *name)
{
	static char path[4][600];
	static int i;
	char self[512];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	CHECK(n > 0, "readlink /proc/self/exe");
	self[n] = '\0';
	i = (i + 1) % 4;
	snprintf(path[i], sizeof(path[i]), "%s/%s", dirname(self), name);
	return path[i];
}

void t_server_start(struct t_server *s)
{
	char line[256] = "";
	int pfd[2], fd;
	size_t got = 0;

	snprintf(s->log, sizeof(s->log), "%s.log", s->data);
	CHECK(pipe(pfd) == 0, "pipe");
	s->pid = fork();
	CHECK(s->pid >= 0, "fork");
	if (s->pid == 0) {
		/* as from a shell: the test's own SIG_IGN is not inherited */
		signal(SIGPIPE, SIG_DFL);
		fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		dup2(pfd[1], 1);
		dup2(fd, 2);
		close(pfd[0]);
		execl(t_bin("ferry-ps"), "ferry-ps", "serve", "--listen",
		      "127.0.0.1:0", "--data", s->data,
		      s->extra[0] ? s->extra[0] : "--retention=86400",
		      s->extra[1] ? s->extra[1] : "--point-interval=60",
		      (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	while (!strchr(line, '\n') && got < sizeof(line) - 1) {
		struct pollfd p = { .fd = pfd[0], .events = POLLIN };
		ssize_t n;

		CHECK(poll(&p, 1, 20000) == 1, "ferry-ps did not start "
		      "(log %s)", s->log);
		n = read(pfd[0], line + got, sizeof(line) - 1 - got);
		CHECK(n > 0, "ferry-ps exited at start (log %s)", s->log);
		got += n;
		line[got] = '\0';
	}
	close(pfd[0]);
	CHECK(sscanf(line, "listening 127.0.0.1:%d", &s->port) == 1,
	      "unexpected first line '%s'", line);
	snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", s->port);
}

void t_server_kill(struct t_server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

int t_run(const char *const *argv, const char *out_path)
{
	int st;
	pid_t pid = fork();

	CHECK(pid >= 0, "fork");
	if (pid == 0) {
		if (out_path) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			dup2(fd, 1);
		}
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	CHECK(waitpid(pid, &st, 0) == pid, "waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void fill(uint8_t *p, size_t n, uint64_t seq)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(seq * 151 + i * 13 + (i >> 9));
}

size_t t_segment(uint8_t *buf, size_t cap, uint64_t start, int nrec,
		 const char *tag, uint8_t *img, uint64_t *end)
{
	struct hrl_seg_info info = { 0 };
	struct hrl_writer w;
	struct hrl_seg_end e;
	static uint8_t data[4096];
	struct timespec now;
	size_t bytes;
	int i;

	clock_gettime(CLOCK_REALTIME, &now);
	for (i = 0; i < 16; i++) {
		sscanf(T_MACHINE + 2 * i, "%2hhx", &info.machine_id[i]);
		info.segment_id[i] = (uint8_t)random();
	}
	info.created_ns = now.tv_sec * 1000000000ull + now.tv_nsec;
	info.start_seq = start;
	info.nr_disks = 1;
	info.disks[0].id = T_DISK_ID;
	info.disks[0].size_bytes = T_DISK_SIZE;
	info.disks[0].lbs = 512;
	CHECK(hrl_writer_init(&w, buf, cap, &info) == 0, "hrl_writer_init");
	for (i = 0; i < nrec; i++) {
		uint64_t seq = start + i;
		struct hrl_rec r = {
			.seq = seq, .kind = HRL_WRITE, .disk_id = T_DISK_ID,
			.offset = (seq * 7 % (T_DISK_SIZE / 4096)) * 4096,
			.len = 4096, .time_ns = info.created_ns,
		};

		fill(data, sizeof(data), seq);
		CHECK(hrl_writer_add(&w, &r, data) == 0, "hrl_writer_add");
		if (img)
			memcpy(img + r.offset, data, 4096);
	}
	if (tag) {
		struct hrl_tag t = { .id = start, .time_ns = info.created_ns };

		snprintf(t.name, sizeof(t.name), "%s", tag);
		CHECK(hrl_writer_add_tag(&w, start + nrec, &t) == 0, "add_tag");
	}
	CHECK(hrl_writer_finish(&w, &bytes, &e) == 0, "hrl_writer_finish");
	*end = e.end_seq;
	return bytes;
}

struct ps_client *t_server_register(struct t_server *s, const char *name)
{
	char err[PS_ERR_LEN], dir[600], pfile[700], pw[PS_PASSPHRASE_MAX];
	const char *argv[] = { t_bin("ferry-ps"), "passphrase", "--data",
			       s->data, NULL };

	t_server_start(s);
	snprintf(dir, sizeof(dir), "%s/%s", t_scratch(), name);
	mkdir(dir, 0700);
	snprintf(pfile, sizeof(pfile), "%s/passphrase", dir);
	CHECK(t_run(argv, pfile) == 0, "ferry-ps passphrase");
	CHECK(ps_passphrase_read(pfile, pw, sizeof(pw), err, sizeof(err)) == 0,
	      "%s", err);
	CHECK(ps_register(s->addr, pw, T_MACHINE, dir, err, sizeof(err)) == 0,
	      "%s", err);
	return t_client(s, name);
}

struct ps_client *t_client(const struct t_server *s, const char *name)
{
	struct ps_client_conf cc = {
		.server = s->addr, .machine_id = T_MACHINE, .timeout_s = 30,
	};
	char err[PS_ERR_LEN], dir[600];
	struct ps_client *c;

	snprintf(dir, sizeof(dir), "%s/%s", t_scratch(), name);
	cc.dir = dir;
	CHECK(ps_client_open(&cc, &c, err, sizeof(err)) == 0, "%s", err);
	return c;
}

int t_write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int ok = fd >= 0 && write(fd, buf, len) == (ssize_t)len;

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

ssize_t t_read_file(const char *path, void *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n, got = 0;

	if (fd < 0)
		return -1;
	while ((size_t)got < cap && (n = read(fd, (char *)buf + got,
					     cap - got)) > 0)
		got += n;
	close(fd);
	return got;
}
