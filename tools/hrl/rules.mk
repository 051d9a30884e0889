# hrl: inspect, verify and apply .hrl segments.
BINS += hrl
hrl_SRCS := tools/hrl/hrl.c tools/hrl/dump.c tools/hrl/apply.c
