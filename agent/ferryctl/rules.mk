# ferryctl: the agent's command line; one file per subcommand.
BINS += ferryctl
ferryctl_SRCS := $(wildcard agent/ferryctl/*.c)
