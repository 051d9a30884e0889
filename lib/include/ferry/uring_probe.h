/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the running kernel's io_uring offers, found at run time.
 *
 * ferryd drains the ring with io_uring: POLL_ADD on /dev/ferry, WRITE with
 * O_DIRECT into the spool, FSYNC before releasing ring space.  Kernels differ
 * a lot: 5.10 knows about 40 opcodes and none of the newer setup flags, 6.1
 * and later add DEFER_TASKRUN and friends.  ferry_uring_probe() asks the
 * kernel once (IORING_REGISTER_PROBE for opcodes, trial io_uring_setup()
 * calls for setup flags) and fills a plain struct; everything else here is
 * pure and works on that struct, so it is tested without a kernel.
 */
#ifndef FERRY_URING_PROBE_H
#define FERRY_URING_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <liburing.h>

#define FERRY_URING_MAX_OPS	256

struct ferry_uring_caps {
	uint64_t ops[FERRY_URING_MAX_OPS / 64];	/* bit n: IORING_OP n works */
	unsigned int last_op;		/* highest opcode the kernel knows + 1 */
	uint32_t features;		/* IORING_FEAT_* from io_uring_setup() */
	uint32_t setup_flags;		/* IORING_SETUP_* flags it accepts */
	uint32_t setup_tried;		/* the flags ferry_uring_probe() tried */
};

/* The opcodes ferryd cannot work without, and the ones it uses if present. */
#define FERRY_URING_OPS_REQUIRED \
	{ IORING_OP_POLL_ADD, IORING_OP_WRITE, IORING_OP_READ, IORING_OP_FSYNC }

/* Ask the kernel.  0, or -errno when io_uring itself is unusable. */
int ferry_uring_probe(struct ferry_uring_caps *caps);

static inline bool ferry_uring_has_op(const struct ferry_uring_caps *caps,
				      unsigned int op)
{
	return op < FERRY_URING_MAX_OPS &&
	       (caps->ops[op / 64] >> (op % 64)) & 1;
}

static inline void ferry_uring_set_op(struct ferry_uring_caps *caps,
				      unsigned int op)
{
	if (op < FERRY_URING_MAX_OPS)
		caps->ops[op / 64] |= 1ULL << (op % 64);
}

/* "POLL_ADD", "WRITE", ... or NULL for an opcode this build has no name for. */
const char *ferry_uring_op_name(unsigned int op);

/*
 * 0 when every opcode ferryd needs is there; otherwise -EOPNOTSUPP and
 * "io_uring lacks IORING_OP_X (and N more)" in why.
 */
int ferry_uring_check_required(const struct ferry_uring_caps *caps,
			       char *why, size_t len);

/*
 * The subset of wanted setup flags this kernel accepts, with the flags
 * that depend on another one dropped together with it (DEFER_TASKRUN needs
 * SINGLE_ISSUER, TASKRUN_FLAG needs COOP_TASKRUN).
 */
uint32_t ferry_uring_setup_flags(const struct ferry_uring_caps *caps,
				 uint32_t wanted);

/*
 * One line for the log: "ops 40/40 (POLL_ADD READ ...); features
 * FAST_POLL ...; setup COOP_TASKRUN ...".  Returns what snprintf would.
 */
int ferry_uring_describe(const struct ferry_uring_caps *caps, uint32_t used,
			 char *buf, size_t len);

/*
 * io_uring_queue_init_params() with the wanted setup flags this kernel
 * supports; on EINVAL it retries with no optional flag at all.  *used gets
 * the flags in effect.  The first successful call of the process logs,
 * once, to stderr what prog is using.
 */
int ferry_uring_queue_init(struct io_uring *ring, unsigned int entries,
			   uint32_t wanted, const struct ferry_uring_caps *caps,
			   const char *prog, uint32_t *used);

#endif /* FERRY_URING_PROBE_H */
