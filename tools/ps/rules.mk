# ferry-ps: the process server.
BINS += ferry-ps
ferry-ps_SRCS := $(addprefix tools/ps/,main.c server.c http.c register.c \
	upload.c query.c store.c points.c replay.c apply.c export.c \
	status.c)

# bench-ps: end-to-end churn driver for tests/bench/ps.sh (make bench only):
# a real spool and ferryd's shipper against a running ferry-ps.
BINS += bench-ps
bench-ps_SRCS := tests/bench/ps_bench.c agent/ferryd/ship.c agent/ferryd/spool.c
