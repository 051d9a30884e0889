// SPDX-License-Identifier: GPL-2.0
/*
 * ferryd: the mobility agent daemon.  Setup (config, spool, ring, disks,
 * exclusion), the drain loop, teardown.  docs/agent.md describes it.
 *
 *   ferryd [-c FILE]                 run (foreground; systemd Type=notify)
 *   ferryd -c FILE --check-config    parse the config and exit
 *   ferryd -c FILE --exit-when-drained   drain until the ring is empty, exit
 *   ferryd -c FILE export-spool DIR  copy unacknowledged segments to DIR as
 *                                    seg-ID.hrl (ferryd must be stopped)
 *   ferryd -c FILE spool-extents     the spool files' extents on their
 *                                    whole disk: "OFFSET LENGTH" in bytes
 *   ferryd -c FILE early-attach      ring + configured disks (initramfs)
 *   ferryd -c FILE shutdown-save     save the dirty bitmaps at shutdown
 *                                    (docs/boot.md)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ferry/fs.h>
#include <ferry/machine_id.h>

#include "bootstate.h"
#include "ferryd.h"
#include "hashcmp.h"
#include "resync.h"

#if __has_include("ship.h")
#include "ship.h"
#define HAVE_SHIP 1
#endif

#define ERRLEN	512

static struct ferryd *the_daemon;

static void on_signal(int sig)
{
	(void)sig;
	if (the_daemon)
		the_daemon->stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ferryd [-c FILE] [--check-config] [--exit-when-drained]\n"
		"       ferryd [-c FILE] export-spool DIR\n"
		"       ferryd [-c FILE] spool-extents\n"
		"       ferryd [-c FILE] early-attach|shutdown-save\n"
		"  -c FILE  configuration (default %s)\n", FERRYD_CONF_PATH);
}

static int open_spool(struct ferryd *fd, char *why)
{
	struct spool_conf sc = {
		.dir = fd->conf.spool_dir,
		.size = fd->conf.spool_size,
		.seg_size = fd->conf.seg_size,
		.ack_mode = fd->conf.ship,
	};

	return spool_open(&sc, &fd->sp, why, ERRLEN);
}

static int export_spool(struct ferryd *fd, const char *dir)
{
	char why[ERRLEN], path[512];
	struct spool_seg seg;
	uint64_t after = 0, n = 0;
	int r, out;

	r = open_spool(fd, why);
	if (r) {
		fprintf(stderr, "ferryd: %s\n", why);
		return 1;
	}
	ferry_mkdir_p(dir, 0700);
	while (!spool_next_unacked(fd->sp, after, &seg)) {
		char *buf = malloc(seg.bytes);

		snprintf(path, sizeof(path), "%s/seg-%016llu.hrl", dir,
			 (unsigned long long)seg.id);
		out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (!buf || out < 0 ||
		    pread(seg.fd, buf, seg.bytes, 0) != (ssize_t)seg.bytes ||
		    write(out, buf, seg.bytes) != (ssize_t)seg.bytes ||
		    fsync(out)) {
			fprintf(stderr, "ferryd: export %s -> %s: %s\n",
				seg.path, path, strerror(errno ? errno : EIO));
			free(buf);
			spool_close(fd->sp);
			return 1;
		}
		close(out);
		free(buf);
		after = seg.id;
		n++;
	}
	printf("exported %llu segments to %s\n", (unsigned long long)n, dir);
	spool_close(fd->sp);
	return 0;
}

static int spool_extents(struct ferryd *fd)
{
	struct ferry_extent *ext = calloc(FERRY_MAX_EXCLUDE, sizeof(*ext));
	char why[ERRLEN];
	unsigned int i, n = 0;
	int r;

	r = ext ? open_spool(fd, why) : -ENOMEM;
	if (!r) {
		r = dev_spool_extents("/sys", fd->sp, ext, &n, why, ERRLEN);
		spool_close(fd->sp);
	}
	if (r) {
		fprintf(stderr, "ferryd: %s\n", why);
		free(ext);
		return 1;
	}
	for (i = 0; i < n; i++)
		printf("%llu %llu\n", (unsigned long long)ext[i].offset,
		       (unsigned long long)ext[i].len);
	free(ext);
	return 0;
}

static void on_resync_flag(struct dev *dv, uint32_t kid)
{
	hashcmp_request(dv->owner, kid);
}

static bool hashcmp_busy(struct dev *dv)
{
	struct hashcmp_stat st;

	hashcmp_get_stat(dv->owner, &st);
	return st.active;
}

/* The re-read engine: its reads run on the drain's io_uring. */
static int resync_setup(struct ferryd *fd, char *why, size_t len)
{
	struct resync_conf rc = {
		.block_size = fd->conf.resync_block,
		.queue_depth = fd->conf.resync_qd,
		.state_dir = fd->conf.state_dir,
	};
	int r = resync_create(&fd->rsync, &rc, why, len);

	if (r)
		return r;
	fd->dv.rsync = fd->dr.rsync = fd->rsync;
	fd->dv.owner = fd;
	fd->dv.on_resync_flag = on_resync_flag;
	fd->dv.busy = hashcmp_busy;
	return 0;
}

static int setup(struct ferryd *fd, char *why)
{
	char id[FERRY_MACHINE_ID_HEX + 1];
	unsigned int i;
	int r;

	r = open_spool(fd, why);
	if (!r)
		r = bootstate_prepare(fd, why, ERRLEN);
	if (r)
		return r;
	r = dev_open(&fd->dv, fd->conf.device, fd->conf.ring_size, why,
		     ERRLEN);
	if (r)
		return r;
	fd->dv.sp = fd->sp;
	r = resync_setup(fd, why, ERRLEN);
	if (r)
		return r;
	for (i = 0; i < fd->conf.nr_disks; i++) {
		r = dev_attach(&fd->dv, fd->conf.disks[i], why, ERRLEN);
		if (r)
			return r;
		fprintf(stderr, "ferryd: protecting %s (/dev/%s, %s), %u spool extents excluded\n",
			fd->conf.disks[i], fd->dv.disks[i].id.name,
			fd->dv.disks[i].id.ident, fd->dv.disks[i].nr_excluded);
	}
	r = ferry_machine_id(fd->conf.state_dir, id);
	if (r) {
		snprintf(why, ERRLEN, "machine id (%s/machine-id): %s",
			 fd->conf.state_dir, strerror(-r));
		return r;
	}
	ferry_machine_id_bytes(id, fd->dr.machine_id);
	fd->dr.stop = &fd->stop;
	/* poll_ms matters only for ring sources without poll() wakeups */
	r = drain_init(&fd->dr, &fd->dv.rs, fd->sp, fd->conf.seal_ms, 2,
		       why, ERRLEN);
	if (r)
		return r;
	fprintf(stderr, "ferryd: %s\n", fd->dr.st.io);
	r = hashcmp_init(fd, why, ERRLEN);
	if (r)
		return r;
	return ctl_start(fd, why, ERRLEN);
}

static void teardown(struct ferryd *fd)
{
	ctl_stop(fd);
	hashcmp_stop(fd);
	if (fd->dr.buf)
		drain_fini(&fd->dr);
	resync_destroy(fd->rsync);	/* saves what is left to re-read */
	fd->rsync = NULL;
	dev_close(&fd->dv);
	spool_close(fd->sp);
}

static int run(struct ferryd *fd)
{
	struct sigaction sa = { .sa_handler = on_signal };
	char why[ERRLEN] = "";
	int r;

	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd->dv.kdev.fd = -1;
	fd->ctl_fd = -1;
	bootstate_probe(fd);
	r = setup(fd, why);
	if (!r)
		r = bootstate_start(fd, fd->rsync, why, sizeof(why));
	if (r) {
		fprintf(stderr, "ferryd: %s\n", why[0] ? why : strerror(-r));
		teardown(fd);
		return 1;
	}
#ifdef HAVE_SHIP
	if (fd->conf.ship == SPOOL_ACK_SERVER && ship_start(fd->sp, &fd->conf))
		fprintf(stderr, "ferryd: shipping did not start\n");
#else
	if (fd->conf.ship == SPOOL_ACK_SERVER)
		spool_set_ship_state(fd->sp, false,
				     "this ferryd was built without shipping");
#endif
	notify_systemd("READY=1\nSTATUS=draining");
	r = drain_run(&fd->dr, why, sizeof(why));
	notify_systemd("STOPPING=1");
	if (!r && !fd->dr.exit_when_idle && fd->conf.stop_park)
		r = bootstate_stop(fd, why, sizeof(why));
	if (r)
		fprintf(stderr, "ferryd: %s\n", why);
	fd->stop = 1;
#ifdef HAVE_SHIP
	ship_stop();
#endif
	/* every spool write is done (drain_run landed the last one) */
	if (!r)
		dev_unexclude_all(&fd->dv);
	teardown(fd);
	return r ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "exit-when-drained", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL }
	};
	static struct ferryd fd;
	char why[ERRLEN];
	bool check = false, given = false;
	int c;

	fd.conf_path = FERRYD_CONF_PATH;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': fd.conf_path = optarg; given = true; break;
		case 'C': check = true; break;
		case 'E': fd.dr.exit_when_idle = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (ferryd_conf_load(&fd.conf, fd.conf_path, !given, why, sizeof(why))) {
		fprintf(stderr, "ferryd: %s\n", why);
		return 1;
	}
	if (check)
		return 0;
	srandom(time(NULL) ^ getpid());
	fd.started_ns = (uint64_t)time(NULL) * 1000000000ull;
	if (optind < argc && !strcmp(argv[optind], "export-spool") &&
	    optind + 2 == argc)
		return export_spool(&fd, argv[optind + 1]);
	if (optind + 1 == argc && !strcmp(argv[optind], "spool-extents"))
		return spool_extents(&fd);
	if (optind + 1 == argc && !strcmp(argv[optind], "early-attach"))
		return bootstate_early_attach(&fd);
	if (optind + 1 == argc && !strcmp(argv[optind], "shutdown-save"))
		return bootstate_shutdown_save(&fd);
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	the_daemon = &fd;
	return run(&fd);
}
