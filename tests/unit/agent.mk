# ferryd's parts, one program per concern.
UNIT_TESTS += unit-spool unit-conf unit-disk
unit-spool_SRCS := tests/unit/spool.c agent/ferryd/spool.c
unit-spool_LDLIBS := -lcmocka
unit-conf_SRCS := tests/unit/conf.c agent/ferryd/config.c
unit-conf_LDLIBS := -lcmocka
unit-disk_SRCS := tests/unit/disk.c
unit-disk_LDLIBS := -lcmocka
UNIT_TESTS += unit-resync
unit-resync_SRCS := tests/unit/resync.c agent/ferryd/resync.c
unit-resync_LDLIBS := -lcmocka
