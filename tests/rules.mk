# Unit (cmocka), integration and fuzz programs: one .mk per group.
include $(wildcard tests/unit/*.mk tests/integration/*.mk tests/fuzz/*.mk \
	tests/vm/kernels/*.mk)
