# integ-hashcmp: ferryd's hash-compare against a real ferry-ps over TLS on
# 127.0.0.1: a replica uploaded as segments, a local file with known
# blocks changed; the queued ranges must be exactly those blocks.
INTEG_TESTS += integ-hashcmp
integ-hashcmp_SRCS := tests/integration/hashcmp.c \
	tests/integration/hashcmp_replica.c tests/integration/ps_harness.c \
	agent/ferryd/hashcmp.c

# integ-hashcmp-thread: the thread and "resync DISK [full]" with a loop
# device as the protected disk (root and loop devices, else skipped).
INTEG_TESTS += integ-hashcmp-thread
integ-hashcmp-thread_SRCS := tests/integration/hashcmp_thread.c \
	tests/integration/hashcmp_replica.c tests/integration/ps_harness.c \
	agent/ferryd/hashcmp.c agent/ferryd/hashcmp_thread.c \
	agent/ferryd/ship.c agent/ferryd/spool.c agent/ferryd/dev.c
