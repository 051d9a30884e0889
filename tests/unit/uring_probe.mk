UNIT_TESTS += unit-uring-probe
unit-uring-probe_SRCS := tests/unit/uring_probe.c
unit-uring-probe_LDLIBS := -lcmocka
