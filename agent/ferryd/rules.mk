# ferryd: the agent daemon.  ship.c (shipping to ferry-ps) joins by wildcard.
BINS += ferryd
ferryd_SRCS := $(wildcard agent/ferryd/*.c)
