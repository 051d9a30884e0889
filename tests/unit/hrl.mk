# unit-hrl: format round trip, exhaustive corruption and truncation, reader
# modes.  unit-hrl-apply: idempotent, ordered apply.  unit-crc32c.
UNIT_TESTS += unit-hrl unit-hrl-apply unit-crc32c
unit-hrl_SRCS := tests/unit/hrl.c tests/unit/hrl_sample.c
unit-hrl_LDLIBS := -lcmocka
unit-hrl-apply_SRCS := tests/unit/hrl_apply.c tests/unit/hrl_sample.c
unit-hrl-apply_LDLIBS := -lcmocka
unit-crc32c_SRCS := tests/unit/crc32c.c
unit-crc32c_LDLIBS := -lcmocka

# bench-hrl: encode/verify rates beside memcpy, run by tests/bench/hrl.sh
# (make bench); built with the programs, never run by make check.
BINS += bench-hrl
bench-hrl_SRCS := tests/bench/hrl_bench.c
