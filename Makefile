# ferry: top-level build.  Non-recursive for userspace: every directory adds
# its sources and programs through its rules.mk; the kernel module is built by
# kbuild in a copy under $(B)/kmod so that the source tree stays as cloned.
#
#   make            build ferry.ko and every userspace program
#   make check      unit, integration and VM tests
#   make demo       replicate a QEMU guest's disks to a local process server
#   make bench      performance ratios (never part of check)
#   make deps       install build and test dependencies (apt-get)

B	?= build
O	:= $(B)/obj
BIN	:= $(B)/bin

# The kernel the VM tests boot: Debian's cloud kernel from linux-image-cloud-amd64.
KVER	?= $(shell scripts/kver)

CC	?= gcc
CFLAGS	?= -O2 -g
CFLAGS	+= -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -pthread
CPPFLAGS += -Ilib/include -Ikmod/include/uapi -I$(B)/proto
LDLIBS	+= -luring -lcurl -lssl -lcrypto -lprotobuf-c -pthread

# Filled in by the rules.mk files.
LIB_SRCS :=
BINS :=
UNIT_TESTS :=
INTEG_TESTS :=
INTEG_SCRIPTS :=
FUZZERS :=
PROTOS :=

include proto/rules.mk
include lib/rules.mk
include agent/rules.mk
include tools/rules.mk
include tests/rules.mk

LIB	:= $(O)/libferry.a
LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
PROTO_C	:= $(PROTOS:proto/%.proto=$(B)/proto/%.pb-c.c)
PROTO_H	:= $(PROTO_C:.c=.h)
PROTO_OBJS := $(PROTO_C:$(B)/%.c=$(O)/%.o)

.PHONY: all deps kmod userspace check check-unit check-integration check-vm \
	check-kernels demo bench fuzz deb clean sparse
.DEFAULT_GOAL := all

all: deps kmod userspace

deps:
	@scripts/deps.sh

kmod: deps
	$(MAKE) -C kmod KVER=$(KVER) B=$(abspath $(B))

sparse: deps
	$(MAKE) -C kmod KVER=$(KVER) B=$(abspath $(B)) C=1

userspace: $(addprefix $(BIN)/,$(BINS))

$(B)/proto/%.pb-c.c $(B)/proto/%.pb-c.h: proto/%.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=proto --c_out=$(B)/proto $<

$(O)/proto/%.pb-c.o: $(B)/proto/%.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-unused-parameter -c -o $@ $<

$(O)/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJS) $(PROTO_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# $(1): program name; $(1)_SRCS its sources, $(1)_LDLIBS extra libraries.
define program
$(BIN)/$(1): $$($(1)_SRCS:%.c=$(O)/%.o) $(LIB)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LDLIBS) $$(LDLIBS)
endef
$(foreach p,$(BINS) $(UNIT_TESTS) $(INTEG_TESTS),$(eval $(call program,$(p))))

check: all $(addprefix $(BIN)/,$(UNIT_TESTS) $(INTEG_TESTS) $(INTEG_SCRIPTS))
	@tests/run-all $(abspath $(B)) $(KVER)

check-unit: deps $(addprefix $(BIN)/,$(UNIT_TESTS))
	@tests/run-unit $(abspath $(B))

check-integration: deps userspace $(addprefix $(BIN)/,$(INTEG_TESTS) $(INTEG_SCRIPTS))
	@tests/run-integration $(abspath $(B))

check-vm: all
	@tests/vm/run-all $(abspath $(B)) $(KVER)

check-kernels: all
	@tests/vm/run-kernels $(abspath $(B)) full

demo: all
	@tests/vm/demo $(abspath $(B)) $(KVER)

bench: all
	@tests/bench/run $(abspath $(B)) $(KVER)

fuzz: deps
	@tests/fuzz/run $(abspath $(B)) 600

deb: all
	@packaging/build-deb $(abspath $(B))

clean:
	rm -rf $(B)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
