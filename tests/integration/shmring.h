/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A ferry ring in shared memory, produced by ferry.ko's ring code compiled
 * in userspace (kshim.h), and drained by ferryd's drain loop in a forked
 * child: the harness of integ-agent-drain and bench-agent.
 *
 *   parent: ferry_ring_reserve/commit, shmring_wake(), shmring_serve()
 *   child:  shmring_drain(): spool + drain over a ring_src whose consume
 *           asks the parent over a pipe (so a SIGKILLed child never dies
 *           holding the ring's lock) and whose wakeups come on a pipe
 */
#ifndef SHMRING_H
#define SHMRING_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#include "kshim.h"
#include "../../kmod/ferry_ring.h"

#include "../../agent/ferryd/drain.h"
#include "../../agent/ferryd/spool.h"

#define SHMRING_HDR	4096u

struct shmring {
	void *mem;		/* header + data, shared */
	uint64_t data_size;
	struct ferry_ring *ring;	/* producer state, shared */
	int wake[2];		/* parent -> child: records published */
	pid_t pid;		/* the drain child, 0 if none */
	int req, rep;		/* parent's ends of the consume pipes */
};

int shmring_init(struct shmring *s, uint64_t data_size);
void shmring_fini(struct shmring *s);

/* After ferry_ring_commit(): wake the drain. */
void shmring_wake(struct shmring *s);

/*
 * Fork the drain: a spool per sc, the disks from disks(), seal_ms; it
 * runs until SIGTERM.  0 or -errno.
 */
int shmring_fork(struct shmring *s, const struct spool_conf *sc,
		 int (*disks)(struct ring_src *, struct hrl_disk *, unsigned int),
		 uint64_t seal_ms);

/* Answer pending consume requests; wait up to timeout_ms for the first. */
void shmring_serve(struct shmring *s, int timeout_ms);

/*
 * Send sig (0: none) to the child and serve it until it exits; returns
 * its wait status.  Requests written before it died are still honoured,
 * as an ioctl in flight completes when its caller is killed.
 */
int shmring_reap(struct shmring *s, int sig);

#endif /* SHMRING_H */
