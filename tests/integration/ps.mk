# integ-ps: ferry-ps and the agent's client over real TLS on 127.0.0.1
# (registration, refusals, upload, corruption, apply, export, SIGKILL,
# peers closing mid-answer, the resync window and resync accounting).
INTEG_TESTS += integ-ps
integ-ps_SRCS := tests/integration/ps.c tests/integration/ps_harness.c \
	tests/integration/ps_resync.c

# integ-ps-ship: ferryd's shipper and a real spool against ferry-ps, from a
# cold start with a queue, and across a server restart.
INTEG_TESTS += integ-ps-ship
integ-ps-ship_SRCS := tests/integration/ps_ship.c tests/integration/ps_harness.c \
	agent/ferryd/ship.c agent/ferryd/spool.c
