// SPDX-License-Identifier: GPL-2.0
/*
 * Run-time detection of io_uring opcodes, features and setup flags; see
 * <ferry/uring_probe.h>.  Only ferry_uring_probe() and
 * ferry_uring_queue_init() talk to the kernel.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <ferry/uring_probe.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Names for the opcodes of this build's liburing; newer ones print as opN. */
static const char *const op_names[] = {
	[IORING_OP_NOP] = "NOP",
	[IORING_OP_READV] = "READV",
	[IORING_OP_WRITEV] = "WRITEV",
	[IORING_OP_FSYNC] = "FSYNC",
	[IORING_OP_READ_FIXED] = "READ_FIXED",
	[IORING_OP_WRITE_FIXED] = "WRITE_FIXED",
	[IORING_OP_POLL_ADD] = "POLL_ADD",
	[IORING_OP_POLL_REMOVE] = "POLL_REMOVE",
	[IORING_OP_SYNC_FILE_RANGE] = "SYNC_FILE_RANGE",
	[IORING_OP_SENDMSG] = "SENDMSG",
	[IORING_OP_RECVMSG] = "RECVMSG",
	[IORING_OP_TIMEOUT] = "TIMEOUT",
	[IORING_OP_TIMEOUT_REMOVE] = "TIMEOUT_REMOVE",
	[IORING_OP_ACCEPT] = "ACCEPT",
	[IORING_OP_ASYNC_CANCEL] = "ASYNC_CANCEL",
	[IORING_OP_LINK_TIMEOUT] = "LINK_TIMEOUT",
	[IORING_OP_CONNECT] = "CONNECT",
	[IORING_OP_FALLOCATE] = "FALLOCATE",
	[IORING_OP_OPENAT] = "OPENAT",
	[IORING_OP_CLOSE] = "CLOSE",
	[IORING_OP_FILES_UPDATE] = "FILES_UPDATE",
	[IORING_OP_STATX] = "STATX",
	[IORING_OP_READ] = "READ",
	[IORING_OP_WRITE] = "WRITE",
	[IORING_OP_FADVISE] = "FADVISE",
	[IORING_OP_MADVISE] = "MADVISE",
	[IORING_OP_SEND] = "SEND",
	[IORING_OP_RECV] = "RECV",
	[IORING_OP_OPENAT2] = "OPENAT2",
	[IORING_OP_EPOLL_CTL] = "EPOLL_CTL",
	[IORING_OP_SPLICE] = "SPLICE",
	[IORING_OP_PROVIDE_BUFFERS] = "PROVIDE_BUFFERS",
	[IORING_OP_REMOVE_BUFFERS] = "REMOVE_BUFFERS",
	[IORING_OP_TEE] = "TEE",
	[IORING_OP_SHUTDOWN] = "SHUTDOWN",
	[IORING_OP_RENAMEAT] = "RENAMEAT",
	[IORING_OP_UNLINKAT] = "UNLINKAT",
	[IORING_OP_MKDIRAT] = "MKDIRAT",
	[IORING_OP_SYMLINKAT] = "SYMLINKAT",
	[IORING_OP_LINKAT] = "LINKAT",
	[IORING_OP_MSG_RING] = "MSG_RING",
	[IORING_OP_FSETXATTR] = "FSETXATTR",
	[IORING_OP_SETXATTR] = "SETXATTR",
	[IORING_OP_FGETXATTR] = "FGETXATTR",
	[IORING_OP_GETXATTR] = "GETXATTR",
	[IORING_OP_SOCKET] = "SOCKET",
	[IORING_OP_URING_CMD] = "URING_CMD",
	[IORING_OP_SEND_ZC] = "SEND_ZC",
	[IORING_OP_SENDMSG_ZC] = "SENDMSG_ZC",
};

static const char *const feature_names[] = {
	"SINGLE_MMAP", "NODROP", "SUBMIT_STABLE", "RW_CUR_POS",
	"CUR_PERSONALITY", "FAST_POLL", "POLL_32BITS", "SQPOLL_NONFIXED",
	"EXT_ARG", "NATIVE_WORKERS", "RSRC_TAGS", "CQE_SKIP", "LINKED_FILE",
};

static const char *const setup_names[] = {
	"IOPOLL", "SQPOLL", "SQ_AFF", "CQSIZE", "CLAMP", "ATTACH_WQ",
	"R_DISABLED", "SUBMIT_ALL", "COOP_TASKRUN", "TASKRUN_FLAG", "SQE128",
	"CQE32", "SINGLE_ISSUER", "DEFER_TASKRUN",
};

/*
 * Setup flags worth trying one at a time; a flag that only works with
 * another one is tried together with it.  SQPOLL and IOPOLL are left out:
 * ferryd does not use them and SQPOLL would start a kernel thread.
 */
static const uint32_t setup_trials[] = {
	IORING_SETUP_CQSIZE,
	IORING_SETUP_CLAMP,
	IORING_SETUP_R_DISABLED,
	IORING_SETUP_SUBMIT_ALL,
	IORING_SETUP_COOP_TASKRUN,
	IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
	IORING_SETUP_SINGLE_ISSUER,
	IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
};

const char *ferry_uring_op_name(unsigned int op)
{
	return op < ARRAY_SIZE(op_names) ? op_names[op] : NULL;
}

static int try_setup(uint32_t flags, struct io_uring_params *out)
{
	struct io_uring_params p = { .flags = flags };
	struct io_uring ring;
	int ret;

	if (flags & IORING_SETUP_CQSIZE)
		p.cq_entries = 16;
	ret = io_uring_queue_init_params(4, &ring, &p);
	if (ret < 0)
		return ret;
	if (out)
		*out = p;
	io_uring_queue_exit(&ring);
	return 0;
}

static void probe_ops(struct ferry_uring_caps *caps)
{
	struct io_uring_probe *probe = io_uring_get_probe();
	unsigned int i;

	/* NULL before 5.6, which has no IORING_REGISTER_PROBE: no op known. */
	if (!probe)
		return;
	caps->last_op = probe->last_op + 1;
	for (i = 0; i < probe->ops_len && i < FERRY_URING_MAX_OPS; i++)
		if (probe->ops[i].flags & IO_URING_OP_SUPPORTED)
			ferry_uring_set_op(caps, probe->ops[i].op);
	io_uring_free_probe(probe);
}

int ferry_uring_probe(struct ferry_uring_caps *caps)
{
	struct io_uring_params p;
	unsigned int i;
	int ret;

	memset(caps, 0, sizeof(*caps));
	ret = try_setup(0, &p);
	if (ret < 0)
		return ret;
	caps->features = p.features;
	probe_ops(caps);
	for (i = 0; i < ARRAY_SIZE(setup_trials); i++) {
		caps->setup_tried |= setup_trials[i];
		if (try_setup(setup_trials[i], NULL) == 0)
			caps->setup_flags |= setup_trials[i];
	}
	return 0;
}

int ferry_uring_check_required(const struct ferry_uring_caps *caps,
			       char *why, size_t len)
{
	static const unsigned int required[] = FERRY_URING_OPS_REQUIRED;
	const char *first = NULL;
	unsigned int i, missing = 0;

	for (i = 0; i < ARRAY_SIZE(required); i++) {
		if (ferry_uring_has_op(caps, required[i]))
			continue;
		if (!missing++)
			first = ferry_uring_op_name(required[i]);
	}
	if (!missing)
		return 0;
	if (missing == 1)
		snprintf(why, len, "io_uring lacks IORING_OP_%s", first);
	else
		snprintf(why, len, "io_uring lacks IORING_OP_%s (and %u more)",
			 first, missing - 1);
	return -EOPNOTSUPP;
}

uint32_t ferry_uring_setup_flags(const struct ferry_uring_caps *caps,
				 uint32_t wanted)
{
	uint32_t f = wanted & caps->setup_flags;

	if (!(f & IORING_SETUP_SINGLE_ISSUER))
		f &= ~IORING_SETUP_DEFER_TASKRUN;
	if (!(f & IORING_SETUP_COOP_TASKRUN))
		f &= ~IORING_SETUP_TASKRUN_FLAG;
	return f;
}

/* Append " NAME" for every set bit of mask; unnamed bits print as prefixN. */
static size_t put_bits(char *buf, size_t len, size_t at, uint32_t mask,
		       const char *const *names, size_t nnames,
		       const char *prefix)
{
	unsigned int bit;
	int n;

	for (bit = 0; bit < 32; bit++) {
		if (!(mask & (1U << bit)))
			continue;
		if (bit < nnames)
			n = snprintf(buf + at, at < len ? len - at : 0, " %s",
				     names[bit]);
		else
			n = snprintf(buf + at, at < len ? len - at : 0, " %s%u",
				     prefix, bit);
		at += n;
	}
	return at;
}

int ferry_uring_describe(const struct ferry_uring_caps *caps, uint32_t used,
			 char *buf, size_t len)
{
	unsigned int op, nops = 0;
	const char *name, *sep = "";
	size_t at;

	for (op = 0; op < FERRY_URING_MAX_OPS; op++)
		nops += ferry_uring_has_op(caps, op);
#define PUT(...) (at += snprintf(buf + at, at < len ? len - at : 0, __VA_ARGS__))
	at = 0;
	PUT("ops %u/%u (", nops, caps->last_op);
	for (op = 0; op < FERRY_URING_MAX_OPS; op++) {
		if (!ferry_uring_has_op(caps, op))
			continue;
		name = ferry_uring_op_name(op);
		if (name)
			PUT("%s%s", sep, name);
		else
			PUT("%sop%u", sep, op);
		sep = " ";
	}
	PUT("); features");
	at = put_bits(buf, len, at, caps->features, feature_names,
		      ARRAY_SIZE(feature_names), "feat");
	PUT("; setup");
	at = put_bits(buf, len, at, caps->setup_flags, setup_names,
		      ARRAY_SIZE(setup_names), "flag");
	PUT("; using");
	if (!used)
		PUT(" no optional flag");
	at = put_bits(buf, len, at, used, setup_names,
		      ARRAY_SIZE(setup_names), "flag");
#undef PUT
	return (int)at;
}

int ferry_uring_queue_init(struct io_uring *ring, unsigned int entries,
			   uint32_t wanted, const struct ferry_uring_caps *caps,
			   const char *prog, uint32_t *used)
{
	static atomic_flag logged = ATOMIC_FLAG_INIT;
	struct io_uring_params p = { 0 };
	char line[1024];
	int ret;

	p.flags = ferry_uring_setup_flags(caps, wanted);
	ret = io_uring_queue_init_params(entries, ring, &p);
	if (ret == -EINVAL && p.flags) {
		memset(&p, 0, sizeof(p));
		ret = io_uring_queue_init_params(entries, ring, &p);
	}
	if (ret < 0)
		return ret;
	if (used)
		*used = p.flags;
	if (!atomic_flag_test_and_set(&logged)) {
		ferry_uring_describe(caps, p.flags, line, sizeof(line));
		fprintf(stderr, "%s: io_uring: %s\n", prog, line);
	}
	return 0;
}
