# libferry: the one userspace library agent and tools link.
LIB_SRCS += $(wildcard lib/*.c)
