# integ-hashcmp: ferryd's hash-compare against a real ferry-ps over TLS on
# 127.0.0.1: a replica uploaded as segments, a local file with known
# blocks changed; the queued ranges must be exactly those blocks.
INTEG_TESTS += integ-hashcmp
integ-hashcmp_SRCS := tests/integration/hashcmp.c \
	tests/integration/ps_harness.c agent/ferryd/hashcmp.c
