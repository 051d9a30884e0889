# ferry-ps, hrl, ferry-push.
include $(wildcard tools/*/rules.mk)
