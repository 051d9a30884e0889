# libFuzzer targets for the hrl reader and writer and every protobuf
# message (clang, ASan + UBSan), built by 'make fuzzers' into $(B)/fuzz.
# tests/fuzz/run BUILD SECONDS runs them: 'make fuzz' for 600 s, 'make
# check' for a bounded time through the integ-fuzz program.
FUZZ_CC		:= clang
FUZZ_DIR	:= $(B)/fuzz
FUZZ_CFLAGS	:= -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror \
		   -Wno-unused-parameter -fno-omit-frame-pointer \
		   -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CPPFLAGS	:= -Ilib/include -Ilib -Ikmod/include/uapi -I$(B)/proto -Itests/unit \
		   -Itests/fuzz
FUZZ_PROTO_C	:= $(patsubst proto/%.proto,$(B)/proto/%.pb-c.c,$(wildcard proto/*.proto))
FUZZ_LIB_OBJS	:= $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,lib/crc32c.c \
		   $(wildcard lib/hrl_*.c) tests/unit/hrl_sample.c) \
		   $(FUZZ_PROTO_C:$(B)/proto/%.c=$(FUZZ_DIR)/obj/proto/%.o) \
		   $(FUZZ_DIR)/obj/proto_table.o

FUZZERS		+= fuzz-hrl-reader fuzz-hrl-records fuzz-hrl-decode fuzz-proto
fuzz-hrl-reader_SRCS	:= tests/fuzz/hrl_reader.c
fuzz-hrl-records_SRCS	:= tests/fuzz/hrl_records.c
fuzz-hrl-decode_SRCS	:= tests/fuzz/hrl_decode.c
fuzz-proto_SRCS		:= tests/fuzz/proto.c

.PHONY: fuzzers
fuzzers: $(addprefix $(FUZZ_DIR)/,$(FUZZERS) fuzz-seeds)

$(FUZZ_DIR)/obj/%.o: %.c | $(FUZZ_PROTO_C:.c=.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/proto/%.o: $(B)/proto/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# Every message descriptor of every generated schema.
$(FUZZ_DIR)/obj/proto_table.c: $(FUZZ_PROTO_C:.c=.h)
	@mkdir -p $(dir $@)
	{ for h in $(notdir $^); do echo "#include \"$$h\""; done; \
	  echo 'const ProtobufCMessageDescriptor *const fuzz_proto_messages[] = {'; \
	  sed -n 's/^extern const ProtobufCMessageDescriptor \([a-z0-9_]*\);/\t\&\1,/p' $^; \
	  echo '};'; \
	  echo 'const size_t fuzz_proto_nr_messages = sizeof(fuzz_proto_messages) / sizeof(fuzz_proto_messages[0]);'; \
	} > $@

$(FUZZ_DIR)/obj/proto_table.o: $(FUZZ_DIR)/obj/proto_table.c
	$(FUZZ_CC) $(FUZZ_CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/fuzz-seeds: $(FUZZ_DIR)/obj/tests/fuzz/seeds.o $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -o $@ $^ -lprotobuf-c -pthread

define fuzzer
$(FUZZ_DIR)/$(1): $$($(1)_SRCS:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_LIB_OBJS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $$@ $$^ -lprotobuf-c -pthread
endef
$(foreach f,fuzz-hrl-reader fuzz-hrl-records fuzz-hrl-decode fuzz-proto,$(eval $(call fuzzer,$(f))))

# make check: a bounded run of every target (tests/fuzz/integ-fuzz).
$(BIN)/integ-fuzz: tests/fuzz/integ-fuzz fuzzers
	@mkdir -p $(dir $@)
	install -m 755 $< $@
check check-integration: $(BIN)/integ-fuzz

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)
