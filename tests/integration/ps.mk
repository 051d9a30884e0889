# integ-ps: ferry-ps and the agent's client over real TLS on 127.0.0.1
# (registration, refusals, upload, corruption, apply, export, SIGKILL).
INTEG_TESTS += integ-ps
integ-ps_SRCS := tests/integration/ps.c tests/integration/ps_harness.c
