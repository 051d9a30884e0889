# integ-agent-drain: ferryd's drain loop fed by ferry.ko's ring producer
# compiled in userspace, with kill -9 of the drain at random moments.
# kshim.h (the kernel shim for ring code in userspace) comes with integ-ring.
ifneq ($(wildcard tests/integration/kshim.h),)
INTEG_TESTS += integ-agent-drain
integ-agent-drain_SRCS := tests/integration/agent_drain.c \
	tests/integration/shmring.c agent/ferryd/drain.c agent/ferryd/spool.c \
	agent/ferryd/resync.c
endif

# integ-agent-resync: re-read chunks (initial copy, metadata-only records)
# merged into the stream under concurrent overlapping writes.
ifneq ($(wildcard tests/integration/kshim.h),)
INTEG_TESTS += integ-agent-resync
integ-agent-resync_SRCS := tests/integration/agent_resync.c \
	agent/ferryd/drain.c agent/ferryd/spool.c agent/ferryd/resync.c
endif

# make bench: tests/bench/agent.sh
ifneq ($(wildcard tests/integration/kshim.h),)
BINS += bench-agent
bench-agent_SRCS := tests/bench/agent_bench.c tests/integration/shmring.c \
	agent/ferryd/drain.c agent/ferryd/spool.c \
	agent/ferryd/resync.c
endif

# make bench: tests/bench/initcopy.sh (the initial copy without a VM)
ifneq ($(wildcard tests/integration/kshim.h),)
BINS += bench-initcopy
bench-initcopy_SRCS := tests/bench/initcopy_bench.c \
	agent/ferryd/drain.c agent/ferryd/spool.c agent/ferryd/resync.c
endif
