# unit-hashcmp: ferryd's hash-compare with both sides in memory and a
# resync_queue() that records the ranges.
UNIT_TESTS += unit-hashcmp
unit-hashcmp_SRCS := tests/unit/hashcmp.c agent/ferryd/hashcmp.c
unit-hashcmp_LDLIBS := -lcmocka
