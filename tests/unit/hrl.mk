# unit-hrl: format round trip, exhaustive corruption and truncation, reader
# modes.  unit-hrl-apply: idempotent, ordered apply.  unit-crc32c.
# unit-hrl-tool: the hrl program's commands, exit codes and messages.
UNIT_TESTS += unit-hrl unit-hrl-apply unit-crc32c unit-hrl-tool
unit-hrl_SRCS := tests/unit/hrl.c tests/unit/hrl_sample.c
unit-hrl_LDLIBS := -lcmocka
unit-hrl-apply_SRCS := tests/unit/hrl_apply.c tests/unit/hrl_sample.c
unit-hrl-apply_LDLIBS := -lcmocka
unit-crc32c_SRCS := tests/unit/crc32c.c
unit-crc32c_LDLIBS := -lcmocka
# unit-hrl-tool runs the hrl program beside it.
unit-hrl-tool_SRCS := tests/unit/hrl_tool.c tests/unit/hrl_sample.c
unit-hrl-tool_LDLIBS := -lcmocka
$(BIN)/unit-hrl-tool: | $(BIN)/hrl

# bench-hrl: encode/verify rates beside memcpy, run by tests/bench/hrl.sh
# (make bench); built with the programs, never run by make check.
BINS += bench-hrl
bench-hrl_SRCS := tests/bench/hrl_bench.c
