# Unit (cmocka), integration and fuzz programs.
include $(wildcard tests/unit/rules.mk tests/integration/rules.mk tests/fuzz/rules.mk)
