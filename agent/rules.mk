# ferryd and ferryctl.
include $(wildcard agent/*/rules.mk)
