# ferry-ps: the process server.
BINS += ferry-ps
ferry-ps_SRCS := $(addprefix tools/ps/,main.c server.c http.c register.c \
	upload.c store.c points.c replay.c apply.c export.c)
